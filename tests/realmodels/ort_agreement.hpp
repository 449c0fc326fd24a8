// Whether ONNX Runtime's run of quantized_model.onnx agrees with QuantForge's simulation (calibrated_model.onnx
// run by `qforge run`), by rules that hold on any CPU (no cosine floor tuned to one machine's rounding):
//
//  1. Per float output, the disagreement is a small fraction of the quantization error itself:
//       1 - cos(ORT, sim) <= 0.05 * (1 - cos(float, sim)) + 1e-9.
//     The runtimes compute the same quantized arithmetic; they differ only where a float kernel's summation
//     order moves a value across a rounding boundary of the next grid (one step), which is rare. 1e-9 is
//     float32 noise: element errors of a few ulps give 1 - cos around 1e-12.
//  2. Where (1) does not hold for a principled reason: a deep chain of quantized layers amplifies each
//     one-step flip (on GPT-2 a 1.5e-9 LayerNorm difference became 21% of the quantization error), so the
//     outputs say nothing about the export. Then every quantized tensor is exposed in both models and the
//     first one, in graph order, where ORT and the simulation differ must differ by at most one step of its
//     grid (one float16 ulp for float16): everything before it is bit-identical, so the export computes
//     the simulation's numbers and the flip is the runtimes' float rounding. How much a flip grows on the
//     way to an output depends on the model, not on the export (ppocr_v2_cls: one flip after the first Conv
//     ends as 1.16x the quantization error on its 2-class softmax on one Intel Xeon, 7.8x under ORT's fused
//     kernels on an AMD EPYC), so the outputs are held only to a sanity bound that a wrong scale, zero point
//     or fused kernel breaks by far: the noise of every quantized value off by one step. Rounding to the grid
//     leaves an error of variance step^2 / 12 per value; a one-step difference on every value adds at most
//     step^2, 12 times as much, and both travel the same layers to the outputs:
//     1 - cos(ORT, sim) <= 12 * (1 - cos(float, sim)) + 1e-9 (10.8 dB above the quantization noise).
// Exposing the tensors as graph outputs keeps ORT's float fusions but stops its QDQ fusions on them (a DQ
// whose output is a graph output is not fused), so rule 2 checks the Q/DQ arithmetic op by op.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/npy.hpp"
#include "io/sample_folder.hpp"
#include "ir/onnx_io.hpp"
#include "quant/calibration_node.hpp"
#include "realmodels_util.hpp"

namespace qf::realmodels {

constexpr double kFractionOfQuantError = 0.05;
constexpr double kFloatNoise = 1e-9;
constexpr double kSanityMultipleOfQuantError =
    12.0;  // rule 2: ORT vs sim noise at most that of every value off by one step (see above)

// One quantized tensor of the calibrated model: its name (the calibration node's output), the step of its
// grid per channel (one entry when per-tensor; empty for float16, checked by ulp) and the channel axis.
struct ProbedTensor {
  std::string name;
  std::vector<float> step;
  int64_t axis = -1;
};

inline std::vector<ProbedTensor> quantized_tensors(const Model& calibrated) {
  std::vector<ProbedTensor> out;
  for (const Node& n : calibrated.graph.nodes) {
    if (!quant::is_calibration_node(n)) continue;
    const quant::CalibrationAttrs a = quant::read_calibration_attrs(n);
    if (a.dtype == quant::QType::Float32) continue;  // exported as nothing: the tensor does not exist in ORT
    ProbedTensor t{n.outputs.at(0), {}, -1};
    if (quant::is_integer(a.dtype)) {
      const quant::QuantParams p = a.params();
      t.step = p.scale;
      if (a.dtype == quant::QType::Int16Ec)
        for (float& s : t.step) s = quant::ec_low_scale(s);
      t.axis = p.scale.size() > 1 ? p.axis : -1;
    }
    out.push_back(std::move(t));
  }
  return out;
}

// `model` with every tensor of `probes` added as a graph output (float32), saved to `path`.
inline void save_with_probes(const fs::path& model, const std::vector<ProbedTensor>& probes, const fs::path& path) {
  Model m = load_model(model);
  std::set<std::string> outputs;
  for (const ValueInfo& vi : m.graph.outputs) outputs.insert(vi.name);
  for (const ProbedTensor& p : probes) {
    if (outputs.count(p.name)) continue;
    ValueInfo vi;
    vi.name = p.name;
    vi.dtype = DType::Float32;
    m.graph.outputs.push_back(vi);
  }
  save_model(m, path);
}

// One float16 ulp at the magnitude of v.
inline double half_ulp(double v) {
  const double a = std::max(std::abs(v), 6.103515625e-05);  // smallest normal half
  return std::ldexp(1.0, std::ilogb(a) - 10);
}

// How far `got` is from `want` in steps of the probe's grid (0 when bit-identical). float16 (no scale): one
// float16 ulp at the element's magnitude, but at least at 2^-10 of the tensor's largest: a float32 sum's
// rounding error scales with its terms, around the tensor's magnitude, not with a small result (ppocr_v2_cls'
// first Conv at ORT optimisation "all": 2.2e-4 moved by 2.4e-7, two float16 ulps, where the tensor reaches 7.1).
inline double max_steps(const ProbedTensor& p, const Tensor& want, const Tensor& got) {
  double floor = 0;
  for (int64_t i = 0; p.step.empty() && i < want.numel(); ++i)
    if (std::isfinite(want.as_double(i))) floor = std::max(floor, std::abs(want.as_double(i)) / 1024.0);
  size_t inner = static_cast<size_t>(want.numel()), channels = 1;
  if (p.axis >= 0 && p.axis < want.rank()) {
    channels = p.step.size();
    inner = 1;
    for (int64_t d = p.axis + 1; d < want.rank(); ++d) inner *= static_cast<size_t>(want.dim(d));
  }
  double worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double w = want.as_double(i), g = got.as_double(i);
    if (w == g || (std::isnan(w) && std::isnan(g))) continue;
    const double step = p.step.empty() ? half_ulp(std::max({std::abs(w), std::abs(g), floor}))
                                       : p.step[(static_cast<size_t>(i) / inner) % channels];
    worst = std::max(worst, std::abs(w - g) / step);
  }
  return worst;
}

// Rule 2: the first quantized tensor where ORT (at `level`) and the simulation differ. Returns a one-line
// verdict; `ok` tells whether it differs by at most one step (or nowhere).
struct Divergence {
  bool ok = true;
  std::string detail;
};
inline Divergence first_divergence(const fs::path& cli, const fs::path& calibrated, const fs::path& quantized,
                                   const fs::path& sample, const fs::path& work, const std::string& level) {
  const std::vector<ProbedTensor> probes = quantized_tensors(load_model(calibrated));
  fs::create_directories(work);
  save_with_probes(calibrated, probes, work / "probe_calibrated.onnx");
  save_with_probes(quantized, probes, work / "probe_quantized.onnx");
  const auto sim = run_qforge(cli, work / "probe_calibrated.onnx", sample, work / "probe_sim");
  const auto ort = run_onnx_runtime(work / "probe_quantized.onnx", sample, work / "probe", level);
  // Every intermediate tensor twice: up to 1.3 GB on one model. They are in memory now; keep the disk free.
  fs::remove_all(work);
  for (const ProbedTensor& p : probes) {
    const std::string key = qf::sanitize_tensor_name(p.name);
    const auto s = sim.find(key), o = ort.find(key);
    if (s == sim.end() || o == ort.end()) return {false, "probe " + p.name + " missing"};
    if (s->second.shape() != o->second.shape()) return {false, "probe " + p.name + " shapes differ"};
    const double steps = max_steps(p, s->second, o->second);
    if (steps == 0) continue;
    char text[160];
    std::snprintf(text, sizeof text, "first divergence at %s: at most %.4g grid steps", p.name.c_str(), steps);
    // 1.01: (q - zp) * s is rounded to float32, 2^-24 of up to 32768 steps (int16) on each side: 0.004 step.
    return {steps <= 1.01, text};
  }
  return {true, "every quantized tensor bit-identical"};
}

// Rules 1 and 2 on every float output of one ORT run. `probe` runs rule 2 (first_divergence); it is called
// at most once, only when some output misses rule 1. Outputs near zero on both sides (max|x| <= 1e-4, e.g. a
// wake-word head at 1e-11, whose cosine is rounding noise) are held to max|diff| <= 1e-6 instead.
struct Agreement {
  std::vector<std::string> failures;  // one line per output that breaks the rules
  double worst_cosine = 1.0;          // cos(ORT, sim), worst float output
  std::string note;                   // which rule decided, for the test's log line
};
inline Agreement check_agreement(const std::map<std::string, Tensor>& ort, const std::map<std::string, Tensor>& sim,
                                 const std::map<std::string, Tensor>& float_out,
                                 const std::function<Divergence()>& probe) {
  Agreement r;
  std::optional<Divergence> divergence;
  for (const auto& [name, got] : ort) {
    if (!is_float(got.dtype())) continue;
    const auto s = sim.find(name), f = float_out.find(name);
    if (s == sim.end() || s->second.shape() != got.shape()) {
      r.failures.push_back(name + ": the simulation has no output of this shape");
      continue;
    }
    const Metrics m = compare(s->second, got), back = compare(got, s->second);
    if (m.max_abs_ref <= 1e-4 && back.max_abs_ref <= 1e-4) {
      if (m.max_abs_diff > 1e-6)
        r.failures.push_back(name + ": near zero, max|diff| " + std::to_string(m.max_abs_diff));
      continue;
    }
    r.worst_cosine = std::min(r.worst_cosine, m.cosine);
    const double quant_error = f != float_out.end() && f->second.shape() == got.shape()
                                   ? std::max(0.0, 1.0 - compare(f->second, s->second).cosine)
                                   : 0.0;
    const double disagreement = 1.0 - m.cosine;
    if (disagreement <= kFractionOfQuantError * quant_error + kFloatNoise) continue;
    char text[200];
    std::snprintf(text, sizeof text, ": 1-cos(ORT, sim) %.3g, 1-cos(float, sim) %.3g", disagreement, quant_error);
    if (!divergence) divergence = probe();
    r.note = (divergence->ok ? "rule 2, " : "FAILED, ") + divergence->detail;
    if (disagreement > kSanityMultipleOfQuantError * quant_error + kFloatNoise)
      r.failures.push_back(name + text + " (beyond 12x the quantization error); " + divergence->detail);
    else if (!divergence->ok) r.failures.push_back(name + text + "; " + divergence->detail);
  }
  if (r.note.empty()) r.note = "rule 1";
  if (!r.failures.empty() && divergence && divergence->ok) r.note = "FAILED, " + r.note;
  return r;
}

}  // namespace qf::realmodels
