/* Test plugin built as an ABI 1.4 library would be: its QfParamDesc elements have the 1.4 size (no flags /
 * min_param tail) and its backend writes only the fixed cost fields of QfNodeSupport. The host must walk the
 * params with the plugin's stride and honour the fixed costs.
 *   metric "test.old_params": params bins (int, default 10, [1, 100]) and scale (float, default 0.5);
 *                             the score is scale * bins.
 *   backend "test.old_costs": every node supported, cost int8 0.5 and int16 3. */
#include <qforge/qf_plugin.h>

#include <stdlib.h>
#include <string.h>

/* QfParamDesc as ABI 1.4 laid it out. */
typedef struct QfParamDesc14 {
  uint32_t struct_size;
  const char* name;
  QfParamType type;
  QfParamValue default_value;
  int32_t has_min;
  int32_t has_max;
  double min_value;
  double max_value;
  const char* choices;
  const char* help;
} QfParamDesc14;

typedef struct {
  int64_t bins;
  double scale;
} Instance;

static QfStatus metric_create(const QfParamList* p, void** inst, QfMessage* m) {
  (void)m;
  Instance* x = (Instance*)calloc(1, sizeof(Instance));
  const size_t stride = p->count ? p->values[0].struct_size : sizeof(QfParamValue);
  for (size_t i = 0; i < p->count; ++i) {
    const QfParamValue* v = (const QfParamValue*)((const char*)p->values + i * stride);
    if (strcmp(p->names[i], "bins") == 0) x->bins = v->int_value;
    if (strcmp(p->names[i], "scale") == 0) x->scale = v->float_value;
  }
  *inst = x;
  return QF_STATUS_OK;
}
static void release(void* inst) { free(inst); }
static QfStatus compute(const void* inst, const float* r, const float* c, size_t n, double* s, QfMessage* m) {
  (void)r, (void)c, (void)n, (void)m;
  const Instance* x = (const Instance*)inst;
  *s = x->scale * (double)x->bins;
  return QF_STATUS_OK;
}

static QfStatus backend_create(const QfParamList* p, void** inst, QfMessage* m) {
  (void)p, (void)m;
  *inst = malloc(1);
  return QF_STATUS_OK;
}
static QfStatus analyze(void* inst, const QfGraphView* g, size_t node, QfNodeSupport* out, QfMessage* m) {
  (void)inst, (void)g, (void)node, (void)m;
  out->supported = 1;
  out->cost_int8 = 0.5;
  out->cost_int16 = 3.0;
  return QF_STATUS_OK;
}

static QfStatus register_all(QfRegistrar* r, const QfHost* h, QfMessage* m) {
  (void)h;
  static QfParamDesc14 params[2];
  memset(params, 0, sizeof params);
  params[0].struct_size = sizeof(QfParamDesc14);
  params[0].name = "bins";
  params[0].type = QF_PARAM_INT;
  params[0].default_value.struct_size = sizeof(QfParamValue);
  params[0].default_value.type = QF_PARAM_INT;
  params[0].default_value.int_value = 10;
  params[0].has_min = params[0].has_max = 1;
  params[0].min_value = 1;
  params[0].max_value = 100;
  params[1].struct_size = sizeof(QfParamDesc14);
  params[1].name = "scale";
  params[1].type = QF_PARAM_FLOAT;
  params[1].default_value.struct_size = sizeof(QfParamValue);
  params[1].default_value.type = QF_PARAM_FLOAT;
  params[1].default_value.float_value = 0.5;

  static QfMetricDesc metric;
  memset(&metric, 0, sizeof metric);
  metric.struct_size = offsetof(QfMetricDesc, compute_shaped); /* 1.3 and older tables end before it */
  metric.name = "test.old_params";
  metric.help = "scale * bins";
  metric.params = (const QfParamDesc*)params;
  metric.num_params = 2;
  metric.title = "Old";
  metric.higher_is_better = 1;
  metric.aggregation = QF_AGGREGATE_MEAN;
  metric.create = metric_create;
  metric.destroy = release;
  metric.compute = compute;
  QfStatus s = r->add_metric(r, &metric, m);
  if (s != QF_STATUS_OK) return s;

  static QfBackendDesc backend;
  memset(&backend, 0, sizeof backend);
  backend.struct_size = sizeof backend;
  backend.name = "test.old_costs";
  backend.help = "fixed cost fields only";
  backend.create = backend_create;
  backend.destroy = release;
  backend.analyze_node = analyze;
  return r->add_backend(r, &backend, m);
}

QF_PLUGIN_EXPORT const QfPluginInfo* qf_plugin_info(void) {
  static const QfPluginInfo info = {(1u << 16) | 4u, sizeof(QfPluginInfo), "test-old-layout", "1.4.0", register_all};
  return &info;
}
