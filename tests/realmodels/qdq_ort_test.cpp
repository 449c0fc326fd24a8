// Faithful QDQ export on real models: a calibrated model (a calibration node on every float input edge of
// every node, thresholds = the observed min/max of that tensor on the sample) is exported as QDQ ONNX and run
// by ONNX Runtime's CPU provider at graph optimisation "disabled" and "all"; its outputs must agree with
// QuantForge's own simulation (the calibrated model run by qf::Executor) by the CPU-independent rules of
// ort_agreement.hpp (a small fraction of the quantization error, else one grid step at the first quantized
// tensor that differs), never by a cosine floor tuned to one CPU. Variants: all int8, all int16, mixed
// int8/int16, float16. Missing prerequisites skip with a message naming what is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "executor/executor.hpp"
#include "export/qdq_export.hpp"
#include "io/sample_folder.hpp"
#include "ir/onnx_io.hpp"
#include "ort_agreement.hpp"
#include "quant/calibration_node.hpp"
#include "realmodels_util.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;
using namespace qf::realmodels;
using quant::QType;

enum class Variant { Int8, Int16, Mixed, Float16 };

const char* variant_name(Variant v) {
  switch (v) {
    case Variant::Int8: return "int8";
    case Variant::Int16: return "int16";
    case Variant::Mixed: return "mixed";
    case Variant::Float16: return "float16";
  }
  return "?";
}

struct QdqCase {
  std::string model;  // stem under ../shared/models
  Variant variant;
};

void PrintTo(const QdqCase& c, std::ostream* os) { *os << c.model << " " << variant_name(c.variant); }

struct MinMax {
  std::vector<float> lo, hi;
};

// Min/max of `t` per channel of `axis` (one channel when axis < 0).
MinMax range_of(const Tensor& t, int64_t axis = -1) {
  const size_t channels = axis < 0 ? 1 : static_cast<size_t>(t.dim(axis));
  size_t inner = static_cast<size_t>(t.numel());
  if (axis >= 0) {
    inner = 1;
    for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= static_cast<size_t>(t.dim(d));
  }
  MinMax r{std::vector<float>(channels, std::numeric_limits<float>::infinity()),
           std::vector<float>(channels, -std::numeric_limits<float>::infinity())};
  const float* x = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const size_t c = (static_cast<size_t>(i) / inner) % channels;
    r.lo[c] = std::min(r.lo[c], x[i]);
    r.hi[c] = std::max(r.hi[c], x[i]);
  }
  return r;
}

// The calibrated model of `variant`: every float input edge of every node goes through its own calibration
// node. Weights (initializers) are symmetric, per output channel for Conv weights; activations asymmetric
// in int8, symmetric in int16; mixed alternates int8 and int16 edge by edge.
Model calibrate_every_edge(const Model& float_model, const std::map<std::string, Tensor>& inputs, Variant variant) {
  std::unordered_map<std::string, MinMax> ranges;
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor& t) {
    if (t.dtype() == DType::Float32 && t.numel() > 0) ranges[name] = range_of(t);
  };
  Executor(std::make_shared<Model>(float_model)).run(inputs, hooks);

  Model m = float_model;
  std::vector<Node> nodes;
  size_t edge = 0;
  for (Node node : float_model.graph.nodes) {
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const std::string tensor = node.inputs[i];
      const auto init = m.graph.initializers.find(tensor);
      const bool weight = init != m.graph.initializers.end();
      if (weight ? init->second.dtype() != DType::Float32 || init->second.numel() == 0 : !ranges.count(tensor))
        continue;
      quant::CalibrationAttrs a;
      a.is_weight = weight;
      a.method = "max";
      const bool int16 = variant == Variant::Int16 || (variant == Variant::Mixed && edge % 2 == 1);
      a.dtype = variant == Variant::Float16 ? QType::Float16 : int16 ? QType::Int16 : QType::Int8;
      a.symmetric = weight || int16;
      a.axis = weight && node.op_type == "Conv" && i == 1 ? 0 : -1;
      const MinMax r = weight ? range_of(init->second, a.axis) : ranges.at(tensor);
      a.threshold_min = r.lo;
      a.threshold_max = r.hi;
      const std::string name = "cal_" + std::to_string(edge) + "_" + node.name;
      const std::string out = tensor + "_cal_" + std::to_string(edge);
      nodes.push_back(quant::make_calibration_node(name, tensor, out, a));
      node.inputs[i] = out;
      ++edge;
    }
    nodes.push_back(std::move(node));
  }
  m.graph.nodes = std::move(nodes);
  m.opset_imports[quant::kQforgeDomain] = 1;
  return m;
}

fs::path first_sample(const std::string& model) {
  const fs::path dir = shared_models_dir() / "inputs" / model;
  std::vector<fs::path> samples;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory()) samples.push_back(e.path());
  std::sort(samples.begin(), samples.end());
  return samples.empty() ? fs::path() : samples.front();
}

class QdqExportOrt : public ::testing::TestWithParam<QdqCase> {};

TEST_P(QdqExportOrt, MatchesSimulation) {
  const QdqCase& c = GetParam();
  if (const std::string missing = missing_oracle_prerequisites(); !missing.empty())
    GTEST_SKIP() << "ONNX Runtime oracle unavailable, missing: " << missing;
  const fs::path model_path = shared_models_dir() / (c.model + ".onnx");
  const fs::path sample_dir = first_sample(c.model);
  if (!fs::exists(model_path) || sample_dir.empty())
    GTEST_SKIP() << "shared model or sample missing: " << model_path << " (set QF_SHARED_DIR)";

  const Model float_model = load_model(model_path);
  std::vector<std::string> input_names;
  for (const ValueInfo* vi : float_model.graph.runtime_inputs()) input_names.push_back(vi->name);
  const Sample sample = load_single_sample(sample_dir, input_names);

  const Model calibrated = calibrate_every_edge(float_model, sample.inputs, c.variant);
  exporter::ExportInfo info;
  const Model qdq = exporter::export_qdq(calibrated, &info);
  const fs::path work = fs::path(QF_REALMODELS_WORK_DIR) / ("qdq_" + c.model + "_" + variant_name(c.variant));
  fs::remove_all(work);
  fs::create_directories(work);
  save_model(calibrated, work / "calibrated_model.onnx");
  save_model(qdq, work / "quantized_model.onnx");
  std::printf("[  export  ] %s %s: opset %lld, %zu Q, %zu DQ, %zu Cast, com.microsoft %d\n", c.model.c_str(),
              variant_name(c.variant), static_cast<long long>(info.opset), info.quantize_nodes, info.dequantize_nodes,
              info.casts, info.used_com_microsoft ? 1 : 0);
  if (c.variant == Variant::Float16) {
    EXPECT_GT(info.casts, 0u);
  } else {
    EXPECT_GT(info.dequantize_nodes, 0u);
  }

  const auto simulated = Executor(std::make_shared<Model>(calibrated)).run(sample.inputs);
  const auto float_out = Executor(std::make_shared<Model>(float_model)).run(sample.inputs);
  std::map<std::string, Tensor> sim, float_by_file;  // keyed like the .npy files ORT writes
  for (const auto& [name, t] : simulated) sim[sanitize_tensor_name(name)] = t;
  for (const auto& [name, t] : float_out) float_by_file[sanitize_tensor_name(name)] = t;
  for (const std::string level : {"disabled", "all"}) {
    std::map<std::string, Tensor> ort;
    try {
      ort = run_onnx_runtime(work / "quantized_model.onnx", sample_dir, work, level);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "ONNX Runtime (optimisation " << level << ") refused the exported model: " << e.what();
      continue;
    }
    EXPECT_EQ(ort.size(), simulated.size()) << level;
    const Agreement a = check_agreement(ort, sim, float_by_file, [&] {
      return first_divergence(QF_CLI_PATH, work / "calibrated_model.onnx", work / "quantized_model.onnx", sample_dir,
                              work / ("probe_" + level), level);
    });
    for (const std::string& f : a.failures) ADD_FAILURE() << "optimisation " << level << ", output " << f;
    std::printf("[  metric  ] %s %s optimisation %s: worst cosine %.9f (%s)\n", c.model.c_str(),
                variant_name(c.variant), level.c_str(), a.worst_cosine, a.note.c_str());
  }
}

std::vector<QdqCase> cases() {
  std::vector<QdqCase> out;
  for (const char* model : {"mnist_8", "super_resolution"})
    for (Variant v : {Variant::Int8, Variant::Int16, Variant::Mixed, Variant::Float16}) out.push_back({model, v});
  return out;
}

std::string case_name(const ::testing::TestParamInfo<QdqCase>& info) {
  return info.param.model + "_" + variant_name(info.param.variant);
}

INSTANTIATE_TEST_SUITE_P(SharedModels, QdqExportOrt, ::testing::ValuesIn(cases()), case_name);

}  // namespace
}  // namespace qf
