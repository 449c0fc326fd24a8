/* Test plugin: a calibrator table offering histogram_bins without range_from_histogram (ABI 1.8 asks for
 * both, with needs_global_range). The host must refuse it at registration, naming the calibrator. */
#include <qforge/qf_plugin.h>

#include <stdlib.h>

static QfStatus create(const QfParamList* p, const QfTensorInfo* t, void** state, QfMessage* m) {
  (void)p, (void)t, (void)m;
  *state = malloc(1);
  return QF_STATUS_OK;
}
static void destroy(void* state) { free(state); }
static QfStatus observe(void* state, const QfBatch* b, QfMessage* m) {
  (void)state, (void)b, (void)m;
  return QF_STATUS_OK;
}
static QfStatus merge(void* state, const void* other, QfMessage* m) {
  (void)state, (void)other, (void)m;
  return QF_STATUS_OK;
}
static QfStatus range(void* state, float* lo, float* hi, size_t n, QfMessage* m) {
  (void)state, (void)m;
  for (size_t c = 0; c < n; ++c) lo[c] = -1.f, hi[c] = 1.f;
  return QF_STATUS_OK;
}
static QfStatus bins(const QfParamList* p, const QfTensorInfo* t, size_t* out, QfMessage* m) {
  (void)p, (void)t, (void)m;
  *out = 256;
  return QF_STATUS_OK;
}

static QfStatus register_all(QfRegistrar* r, const QfHost* h, QfMessage* m) {
  (void)h;
  QfCalibratorDesc d = {0};
  d.struct_size = sizeof d;
  d.name = "test.half_histogram";
  d.help = "histogram_bins without range_from_histogram";
  d.needs_global_range = 1;
  d.create = create;
  d.destroy = destroy;
  d.observe = observe;
  d.merge = merge;
  d.compute_range = range;
  d.histogram_bins = bins;
  return r->add_calibrator(r, &d, m);
}

QF_PLUGIN_EXPORT const QfPluginInfo* qf_plugin_info(void) {
  static const QfPluginInfo info = {QF_PLUGIN_ABI_VERSION, sizeof(QfPluginInfo), "test-half-histogram", "1.0.0",
                                    register_all};
  return &info;
}
