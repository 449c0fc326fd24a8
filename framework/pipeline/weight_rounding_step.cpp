#include "pipeline/weight_rounding_step.hpp"

#include <spdlog/spdlog.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <chrono>
#include <memory>

#include "pipeline/layer_data.hpp"
#include "pipeline/rounding_loss.hpp"
#include "plugin/weight_rounding.hpp"
#include "quant/calibration_node.hpp"
#include "quant/qf_dtype.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/progress.hpp"

namespace qf::pipeline {

namespace {

// One weight to round: its grid as the calibrated model's node derives it.
struct Job {
  size_t point = 0;
  quant::QuantParams params;
  quant::Grid grid;
  const LayerData* data = nullptr;
  const LayerTarget* target = nullptr;
  std::vector<int32_t> ints;
};

// The weight points the calibrated model quantizes to an integer grid a rounding can choose on (int16-ec's
// two parts are not one grid: it stays rounded to nearest).
std::vector<Job> rounding_jobs(const Model& calibrated, const QuantPlan& plan) {
  std::map<std::string, const Node*> by_name;
  for (const Node& n : calibrated.graph.nodes)
    if (quant::is_calibration_node(n)) by_name[n.name] = &n;
  std::vector<Job> jobs;
  for (size_t p : plan.weight_points()) {
    const auto it = by_name.find(plan.points[p].name);
    if (it == by_name.end()) continue;
    const quant::CalibrationAttrs attrs = quant::read_calibration_attrs(*it->second);
    if (!quant::is_integer(attrs.dtype) || attrs.dtype == quant::QType::Int16Ec) continue;
    Job job;
    job.point = p;
    job.params = attrs.params();
    job.grid = quant::grid(attrs.dtype, attrs.params().symmetric, attrs.reduce_range);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

plugin::LayerDataView layer_view(const LayerTarget& t, const LayerData& d) {
  plugin::LayerDataView v;
  v.layout = t.layout;
  v.out_channels = t.out_channels;
  v.in_features = t.geometry.in_features;
  v.groups = t.geometry.groups;
  v.gram_qq = d.gram_qq.data();
  v.gram_qf = d.gram_qf.data();
  v.num_vectors = d.num_vectors;
  if (d.num_samples) v.sample_q = d.sample_q.data(), v.sample_fp = d.sample_fp.data();
  v.num_samples = d.num_samples;
  v.bias = d.bias.empty() ? nullptr : d.bias.data();
  v.activation = t.relu ? QF_LAYER_ACTIVATION_RELU : QF_LAYER_ACTIVATION_NONE;
  return v;
}

std::vector<int32_t> round_one(plugin::WeightRoundingInstance& rounding, const Model& model, const QuantPlan& plan,
                               const Job& job) {
  const QuantPoint& q = plan.points[job.point];
  const plugin::LayerDataView view = job.data ? layer_view(*job.target, *job.data) : plugin::LayerDataView{};
  const plugin::RoundingTarget t{q.tensor,
                                 quant::qf_dtype_of(job.params.qtype),
                                 static_cast<int32_t>(job.params.axis),
                                 job.params.block_size,
                                 &job.params.scale,
                                 &job.params.zero_point,
                                 job.grid.qmin,
                                 job.grid.qmax,
                                 job.data ? &view : nullptr};
  return rounding.round(model.graph.initializers.at(q.tensor), t);
}

// Rounds every job: in parallel with one instance per thread when the rounding takes layer data (ABI 1.7
// allows it then), else one instance in order.
void round_all(const plugin::Component& component, const plugin::ParamSet& params, const Model& model,
               const QuantPlan& plan, std::vector<Job>& jobs, int threads) {
  if (!plugin::needs_layer_data(component)) {
    plugin::WeightRoundingInstance rounding(component, params);
    for (Job& job : jobs) job.ints = round_one(rounding, model, plan, job);
    return;
  }
  Progress progress("weight rounding", jobs.size());
  tbb::enumerable_thread_specific<std::unique_ptr<plugin::WeightRoundingInstance>> instances;
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, jobs.size(), size_t{1}, [&](size_t j) {
      throw_if_interrupted();
      auto& instance = instances.local();
      if (!instance) instance = std::make_unique<plugin::WeightRoundingInstance>(component, params);
      jobs[j].ints = round_one(*instance, model, plan, jobs[j]);
      progress.tick();
    });
  });
  progress.done();
}

Tensor snapped_weight(const Tensor& w, const Job& job) {
  Tensor snapped(DType::Float32, w.shape());
  float* out = snapped.data<float>();
  const quant::QuantParams& qp = job.params;
  const size_t channels = qp.scale.size();
  size_t inner = 1;
  for (int64_t d = qp.axis + 1; qp.axis >= 0 && d < w.rank(); ++d) inner *= static_cast<size_t>(w.dim(d));
  for (size_t i = 0; i < job.ints.size(); ++i) {
    const size_t e = qp.block_size > 0 ? quant::blocked_param_index(w.shape(), qp.axis, qp.block_size, i)
                     : channels == 1   ? 0
                                       : (i / inner) % channels;
    // The exact float32 step of DequantizeLinear.
    out[i] = static_cast<float>(job.ints[i] - qp.zero_point[e]) * qp.scale[e];
  }
  return snapped;
}

const plugin::Component& find_rounding(const plugin::Registry& registry, const std::string& name,
                                       const std::string& key) {
  const plugin::Component* component = registry.try_find(plugin::Kind::WeightRounding, name);
  if (component) return *component;
  std::string known;
  for (const auto& n : registry.names(plugin::Kind::WeightRounding)) known += (known.empty() ? "" : ", ") + n;
  throw Error(key + ": unknown weight rounding '" + name + "' (known: " + (known.empty() ? "none" : known) + ")");
}

// The layer data of the jobs whose weight feeds one Conv / Gemm / MatMul.
std::map<size_t, LayerData> attach_layer_data(const WeightRoundingInputs& in, const Model* quantized,
                                              std::vector<Job>& jobs, std::vector<LayerTarget>& targets) {
  std::vector<size_t> points;
  for (const Job& job : jobs) points.push_back(job.point);
  targets = layer_targets(*in.model, *in.plan, points);
  std::map<size_t, LayerData> data =
      collect_layer_data(*in.model, quantized, *in.plan, targets, *in.samples, in.threads);
  std::map<size_t, const LayerTarget*> target_of;
  for (const LayerTarget& t : targets) target_of[t.point] = &t;
  for (Job& job : jobs)
    if (const auto it = data.find(job.point); it != data.end() && it->second.num_vectors) {
      job.data = &it->second;
      job.target = target_of.at(job.point);
    }
  return data;
}

report::WeightRoundingSection rounding_section(const std::string& name, const WeightRoundingInputs& in,
                                               const std::vector<Job>& jobs) {
  report::WeightRoundingSection s;
  s.rounding = name;
  s.weights = jobs.size();
  for (const Job& job : jobs) {
    if (!job.data) continue;
    const QuantPoint& q = in.plan->points[job.point];
    const Tensor& w = in.model->graph.initializers.at(q.tensor);
    const Tensor rtn = quant::fake_quantize(w, job.params);
    const Tensor chosen = snapped_weight(w, job);
    s.layers.push_back(report::WeightRoundingLayer{q.tensor, relative_layer_loss(*job.target, *job.data, w, rtn),
                                                   relative_layer_loss(*job.target, *job.data, w, chosen)});
  }
  return s;
}

}  // namespace

WeightRoundingResult apply_weight_rounding(const WeightRoundingInputs& in) {
  const config::QuantConfig& cfg = *in.config;
  const bool weight_only = cfg.weight.weight_only.has_value();
  const std::string& name = weight_only ? cfg.weight.weight_only->rounding : cfg.weight.rounding;
  const nlohmann::json& raw = weight_only ? cfg.weight.weight_only->rounding_params : cfg.weight.rounding_params;
  const std::string key = cfg.source + ": model_config.weight." + (weight_only ? "weight_only." : "") + "rounding";
  const plugin::Component& component = find_rounding(*in.registry, name, key);
  const plugin::ParamSet params = plugin::Registry::validate_params(component, raw);
  WeightRoundingResult result;
  if (name == "rtn") return result;  // the calibration node rounds to nearest itself
  const auto start = std::chrono::steady_clock::now();
  const Model calibrated = build_calibrated_model(*in.model, *in.plan, *in.calibration, *in.candidates, *in.choice);
  std::vector<Job> jobs = rounding_jobs(calibrated, *in.plan);
  std::vector<LayerTarget> targets;
  std::map<size_t, LayerData> data;
  if (plugin::needs_layer_data(component))
    data = attach_layer_data(in, weight_only ? nullptr : &calibrated, jobs, targets);
  round_all(component, params, *in.model, *in.plan, jobs, in.threads);
  for (const Job& job : jobs) {
    const std::string& tensor = in.plan->points[job.point].tensor;
    result.overrides[tensor] = snapped_weight(in.model->graph.initializers.at(tensor), job);
  }
  result.section = rounding_section(name, in, jobs);
  result.section->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("weight rounding '{}': {} weight(s) rounded, {} with layer data, {:.1f} s", name, jobs.size(),
               result.section->layers.size(), result.section->seconds);
  return result;
}

}  // namespace qf::pipeline
