// The scalar Q/DQ form of per-channel activations (export/per_axis_activation.hpp) in ONNX Runtime, at graph
// optimisation "disabled" and "all": a small model whose per-channel points feed exactly the ops ORT's QDQ
// fusions refused before (Mul -> QLinearMul, Add -> QLinearAdd, AveragePool -> QLinearAveragePool,
// LeakyRelu -> lookup table). The quantized tensors of x, u, a = x * u and b = a + x are graph outputs and
// must be bit-identical to the simulation (their ops are single IEEE operations in both runtimes); y, after
// the AveragePool (a sum whose order the runtimes choose), may differ by one step of p's grid, no more.
// Variants: int8 asymmetric, int16 asymmetric, int16-ec. Missing prerequisites skip.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "../unit/ec_test_model.hpp"
#include "executor/executor.hpp"
#include "export/qdq_export.hpp"
#include "io/npy.hpp"
#include "io/sample_folder.hpp"
#include "ir/onnx_io.hpp"
#include "ort_agreement.hpp"
#include "realmodels_util.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;
using namespace qf::realmodels;
using quant::QType;

Model fusion_model() {
  Model m = *test::parse_model_text(R"(
<ir_version: 7, opset_import: ["" : 13]>
fusions (float[1,3,4,4] x, float[1,3,4,4] u) => (float[1,3,2,2] y, float[1,3,4,4] x_seen, float[1,3,4,4] u_seen,
                                                 float[1,3,4,4] a_seen, float[1,3,4,4] b_seen) {
  a = Mul(x, u)
  b = Add(a, x)
  p = AveragePool <kernel_shape = [2, 2], strides = [2, 2]> (b)
  y = LeakyRelu <alpha = 0.1> (p)
  x_seen = Identity(x)
  u_seen = Identity(u)
  a_seen = Identity(a)
  b_seen = Identity(b)
}
)");
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) m.graph.nodes[i].name = "node" + std::to_string(i);
  return m;
}

// Routes every consumer of `tensor` through calibration node `name`, placed right after its producer.
void calibrate_after_producer(Model& m, const std::string& tensor, const quant::CalibrationAttrs& a) {
  const std::string out = tensor + "_cal";
  auto& nodes = m.graph.nodes;
  size_t at = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (std::string& in : nodes[i].inputs)
      if (in == tensor) in = out;
    for (const std::string& o : nodes[i].outputs)
      if (o == tensor) at = i + 1;
  }
  nodes.insert(nodes.begin() + static_cast<std::ptrdiff_t>(at),
               quant::make_calibration_node("cal_" + tensor, tensor, out, a));
  m.opset_imports[quant::kQforgeDomain] = 1;
}

TEST(ScalarQdqOrt, FusionCandidatesBitIdenticalAtBothLevels) {
  if (const std::string missing = missing_oracle_prerequisites(); !missing.empty())
    GTEST_SKIP() << "ONNX Runtime oracle unavailable, missing: " << missing;
  const std::map<std::string, Tensor> inputs{{"x", ec_test::uniform_tensor({1, 3, 4, 4}, 31, -2.f, 3.f)},
                                             {"u", ec_test::uniform_tensor({1, 3, 4, 4}, 32, -1.f, 1.5f)}};
  const Model float_model = fusion_model();
  std::unordered_map<std::string, Tensor> seen(inputs.begin(), inputs.end());
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor& t) { seen[name] = t.clone(); };
  Executor(std::make_shared<Model>(float_model)).run(inputs, hooks);

  for (const QType dtype : {QType::Int8, QType::Int16, QType::Int16Ec}) {
    SCOPED_TRACE(quant::qtype_name(dtype));
    Model m = float_model;
    quant::CalibrationAttrs p_point;
    for (const char* tensor : {"x", "u", "a", "b", "p"}) {
      // Thresholds 0.9 x the observed range: some values saturate at the storage limits.
      const quant::CalibrationAttrs a = ec_test::point(seen.at(tensor), dtype, false, 1, dtype == QType::Int16Ec, 0.9f);
      if (tensor == std::string("p")) p_point = a;
      calibrate_after_producer(m, tensor, a);
    }
    exporter::ExportInfo info;
    const Model qdq = exporter::export_qdq(m, &info);
    EXPECT_EQ(info.per_axis_activations, 0u);
    EXPECT_EQ(info.scalar_qdq_points, dtype == QType::Int16Ec ? 10u : 5u);
    const fs::path work = fs::path(QF_REALMODELS_WORK_DIR) / ("scalar_qdq_" + std::string(quant::qtype_name(dtype)));
    fs::remove_all(work);
    fs::create_directories(work / "inputs");
    save_model(qdq, work / "quantized_model.onnx");
    for (const auto& [name, t] : inputs) write_npy(work / "inputs" / (name + ".npy"), t);

    const auto sim = Executor(std::make_shared<Model>(m)).run(inputs);
    for (const std::string level : {"disabled", "all"}) {
      std::map<std::string, Tensor> ort;
      try {
        ort = run_onnx_runtime(work / "quantized_model.onnx", work / "inputs", work, level);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "ONNX Runtime (optimisation " << level << ") refused the export: " << e.what();
        continue;
      }
      for (const char* name : {"x_seen", "u_seen", "a_seen", "b_seen"}) {
        ASSERT_TRUE(ort.count(name)) << level << " " << name;
        EXPECT_EQ(max_steps(ProbedTensor{name, {}, -1}, sim.at(name), ort.at(name)), 0.0) << level << " " << name;
      }
      ProbedTensor y{"y", p_point.params().scale, 1};
      if (dtype == QType::Int16Ec)
        for (float& s : y.step) s = quant::ec_low_scale(s);
      EXPECT_LE(max_steps(y, sim.at("y"), ort.at("y")), 1.01) << level;  // 1.01: see first_divergence
    }
  }
}

}  // namespace
}  // namespace qf
