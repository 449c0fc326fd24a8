#include "pipeline/transform_step.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>

#include "executor/executor.hpp"
#include "pipeline/transform_context.hpp"
#include "plugin/transform.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace qf::pipeline {

namespace {

std::string known_transforms(const plugin::Registry& registry) {
  std::string known;
  for (const auto& n : registry.names(plugin::Kind::Transform)) known += (known.empty() ? "" : ", ") + n;
  return known.empty() ? "none" : known;
}

// One run on the first sample: the outputs, and every tensor's shape for the graph view.
struct Run {
  std::map<std::string, Tensor> outputs;
  std::map<std::string, Shape> shapes;
};

Run run_once(const Model& model, const std::map<std::string, Tensor>& inputs, int threads) {
  Run r;
  Executor executor(std::make_shared<const Model>(model), ExecutorOptions{threads});
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor& value) { r.shapes[name] = value.shape(); };
  r.outputs = executor.run(inputs, hooks);
  return r;
}

bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float16 || t == DType::Float64; }

// max|after - before| / max|before| of one output; infinite when the shapes differ or a value is not finite.
double relative_error(const Tensor& before, const Tensor& after) {
  if (before.shape() != after.shape()) return std::numeric_limits<double>::infinity();
  const Tensor b = before.dtype() == DType::Float32 ? before : before.cast(DType::Float32);
  const Tensor a = after.dtype() == DType::Float32 ? after : after.cast(DType::Float32);
  const float* pb = b.data<float>();
  const float* pa = a.data<float>();
  double diff = 0.0, ref = 0.0;
  const int64_t n = b.numel();
  for (int64_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(pa[i]) - pb[i]);
    if (std::isnan(d)) return std::numeric_limits<double>::infinity();
    diff = std::max(diff, d);
    ref = std::max(ref, std::fabs(static_cast<double>(pb[i])));
  }
  if (diff == 0.0) return 0.0;
  return ref > 0.0 ? diff / ref : std::numeric_limits<double>::infinity();
}

std::string error_text(double e) {
  if (std::isinf(e)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", e);
  return buf;
}

// Runs one transform on `model` and checks it against `reference` (the run before it); `reference` becomes
// the run after it.
report::TransformRecord apply_one(Model& model, const SelectedTransform& t, const SampleSet& samples,
                                  const std::map<std::string, Tensor>& inputs, Run& reference, int threads) {
  const auto start = std::chrono::steady_clock::now();
  const plugin::Component& c = *t.component;
  TransformContext context(model, samples, threads, reference.shapes);
  try {
    plugin::TransformInstance instance(c, t.params);
    instance.apply(context.c_context());
  } catch (const Error& e) {
    throw_if_interrupted();  // a signal during channel_stats reached the plugin as an error status
    throw Error(t.where + ": " + e.what());
  }
  throw_if_interrupted();
  Run after;
  try {
    after = run_once(model, inputs, threads);
  } catch (const Error& e) {
    throw Error(t.where + ": " + c.where() + " left a model that does not run: " + e.what());
  }
  const FloatCheck check = compare_outputs(reference.outputs, after.outputs);
  if (!(check.error <= kFloatCheckLimit))
    throw Error(t.where + ": " + c.where() + " changed the model's function: output '" + check.output +
                "' has relative error " + error_text(check.error) + " (max|after - before| / max|before| on sample '" +
                samples.id(0) + "'; the limit is 1e-4)");
  reference = std::move(after);
  report::TransformRecord record{
      c.name, nlohmann::json::object(), context.notes(), check.error, check.output, context.statistics_passes(), 0.0};
  for (size_t i = 0; i < t.params.names().size(); ++i)
    record.params[t.params.names()[i]] = t.params.values()[i].to_json();
  record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return record;
}

void log_record(const report::TransformRecord& r) {
  std::string notes;
  for (const std::string& n : r.notes) notes += (notes.empty() ? "" : "; ") + n;
  spdlog::info("transform '{}': {} (float check {} on '{}', {:.2f} s)", r.name,
               notes.empty() ? "no changes noted" : notes, error_text(r.float_error), r.worst_output, r.seconds);
}

}  // namespace

std::vector<SelectedTransform> select_transforms(const config::QuantConfig& cfg, const plugin::Registry& registry) {
  std::vector<SelectedTransform> out;
  for (const config::PluginChoice& choice : cfg.transforms) {
    const std::string where = cfg.source + ": " + choice.path;
    const plugin::Component* c = registry.try_find(plugin::Kind::Transform, choice.plugin);
    if (!c)
      throw Error(where + ": unknown transform '" + choice.plugin + "' (known: " + known_transforms(registry) + ")");
    out.push_back({c, plugin::validate_params(*c, choice.params, where), where});
  }
  return out;
}

FloatCheck compare_outputs(const std::map<std::string, Tensor>& before, const std::map<std::string, Tensor>& after) {
  FloatCheck worst;
  for (const auto& [name, b] : before) {
    if (!is_floating(b.dtype())) continue;
    const auto it = after.find(name);
    const double e = it == after.end() || it->second.dtype() != b.dtype() ? std::numeric_limits<double>::infinity()
                                                                          : relative_error(b, it->second);
    if (worst.output.empty() || e > worst.error) worst = {e, name};
  }
  return worst;
}

std::vector<report::TransformRecord> apply_transforms(Model& model, const std::vector<SelectedTransform>& transforms,
                                                      const SampleSet& samples, int threads) {
  std::vector<report::TransformRecord> records;
  if (transforms.empty()) return records;
  const std::map<std::string, Tensor> inputs = samples.load(0);
  Run reference = run_once(model, inputs, threads);
  for (const SelectedTransform& t : transforms) {
    records.push_back(apply_one(model, t, samples, inputs, reference, threads));
    log_record(records.back());
  }
  return records;
}

}  // namespace qf::pipeline
