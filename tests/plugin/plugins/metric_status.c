/* Test plugin, plain C ABI: metric "test.status" whose compute returns an error status. */
#include <qforge/qf_plugin.h>

#include <stdlib.h>
#include <string.h>

static QfStatus create(const QfParamList* p, void** inst, QfMessage* m) {
  (void)p, (void)m;
  *inst = malloc(1);
  return QF_STATUS_OK;
}
static void destroy(void* inst) { free(inst); }
static QfStatus compute(const void* inst, const float* r, const float* x, size_t n, double* s, QfMessage* m) {
  (void)inst, (void)r, (void)x, (void)n, (void)s;
  strncpy(m->data, "reference holds a forbidden value", m->capacity - 1);
  m->data[m->capacity - 1] = '\0';
  return QF_STATUS_INVALID_ARGUMENT;
}

static QfStatus register_metric(QfRegistrar* r, const QfHost* h, QfMessage* m) {
  (void)h;
  static QfMetricDesc d;
  memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  d.name = "test.status";
  d.help = "always fails with a status";
  d.title = "Status";
  d.higher_is_better = 1;
  d.aggregation = QF_AGGREGATE_MEAN;
  d.create = create;
  d.destroy = destroy;
  d.compute = compute;
  return r->add_metric(r, &d, m);
}

QF_PLUGIN_EXPORT const QfPluginInfo* qf_plugin_info(void) {
  static const QfPluginInfo info = {QF_PLUGIN_ABI_VERSION, sizeof(QfPluginInfo), "test-metric-status", "1.0.0",
                                    register_metric};
  return &info;
}
