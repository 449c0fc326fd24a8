/* Test plugin: built for a newer minor ABI than the host; the host must refuse it. */
#include <qforge/qf_plugin.h>

static QfStatus register_nothing(QfRegistrar* r, const QfHost* h, QfMessage* m) {
  (void)r, (void)h, (void)m;
  return QF_STATUS_OK;
}

QF_PLUGIN_EXPORT const QfPluginInfo* qf_plugin_info(void) {
  static const QfPluginInfo info = {(uint32_t)((QF_PLUGIN_ABI_MAJOR << 16) | (QF_PLUGIN_ABI_MINOR + 1)),
                                    sizeof(QfPluginInfo), "test-abi-newer", "1.0.0", register_nothing};
  return &info;
}
