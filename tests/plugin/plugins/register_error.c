/* Test plugin: register_fn fails with a status and message. */
#include <qforge/qf_plugin.h>

#include <string.h>

static QfStatus register_fails(QfRegistrar* r, const QfHost* h, QfMessage* m) {
  (void)r, (void)h;
  strncpy(m->data, "license file not found", m->capacity - 1);
  m->data[m->capacity - 1] = '\0';
  return QF_STATUS_ERROR;
}

QF_PLUGIN_EXPORT const QfPluginInfo* qf_plugin_info(void) {
  static const QfPluginInfo info = {QF_PLUGIN_ABI_VERSION, sizeof(QfPluginInfo), "test-register-error", "1.0.0",
                                    register_fails};
  return &info;
}
