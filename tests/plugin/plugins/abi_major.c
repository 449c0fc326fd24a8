/* Test plugin: claims ABI major 2; the host must refuse it naming both versions. */
#include <qforge/qf_plugin.h>

static QfStatus register_nothing(QfRegistrar* r, const QfHost* h, QfMessage* m) {
  (void)r, (void)h, (void)m;
  return QF_STATUS_OK;
}

QF_PLUGIN_EXPORT const QfPluginInfo* qf_plugin_info(void) {
  static const QfPluginInfo info = {(uint32_t)((QF_PLUGIN_ABI_MAJOR + 1) << 16), sizeof(QfPluginInfo), "test-abi-major",
                                    "9.9.9", register_nothing};
  return &info;
}
