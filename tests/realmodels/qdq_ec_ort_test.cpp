// Error compensation, unsigned storage and reduce_range in ONNX Runtime: the QDQ export of
// (1) the small model of tests/unit/ec_test_model.hpp (int16-ec activation and weight, uint8 activation,
//     reduce_range weight): the calibrated tensors bit-identical to `qforge run`'s simulation, the
//     Conv/MatMul output (runtimes sum in different orders) and
// (2) real models with every float input edge int16-ec (weights per output channel for Conv): every
//     output agreeing with the simulation by the CPU-independent rules of ort_agreement.hpp (a small
//     fraction of the quantization error, else one grid step at the first quantized tensor that differs);
// each with ONNX Runtime's graph optimisation disabled and at "all". Missing prerequisites skip.
#include <gtest/gtest.h>

#include <cstdio>
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
#include "quant/calibration_node.hpp"
#include "realmodels_util.hpp"

namespace qf {
namespace {

namespace fs = std::filesystem;
using namespace qf::realmodels;
using quant::QType;

const std::vector<std::string> kOptLevels = {"disabled", "all"};

// ONNX Runtime on `model` with graph optimisation `level`; outputs by sanitized name.
std::map<std::string, Tensor> run_ort(const fs::path& model, const fs::path& inputs, const fs::path& work,
                                      const std::string& level) {
  const fs::path out_dir = work / ("ort_" + level), log = work / ("ort_" + level + ".log");
  fs::remove_all(out_dir);
  const std::string cmd = onnx_runtime_command(model, inputs, out_dir) + " --opt-level " + level;
  if (run_command(cmd, log) != 0) throw std::runtime_error(cmd + "\n" + tail(log));
  std::map<std::string, Tensor> outputs;
  for (const auto& e : fs::directory_iterator(out_dir))
    if (e.path().extension() == ".npy") outputs[e.path().stem().string()] = read_npy(e.path());
  return outputs;
}

// Outputs keyed like the .npy files ORT writes (sanitized names).
std::map<std::string, Tensor> by_file(const std::map<std::string, Tensor>& outputs) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : outputs) out[sanitize_tensor_name(name)] = t;
  return out;
}

fs::path fresh_work_dir(const std::string& name) {
  const fs::path work = fs::path(QF_REALMODELS_WORK_DIR) / name;
  fs::remove_all(work);
  fs::create_directories(work);
  return work;
}

TEST(QdqEcOrt, SmallModelBitIdentical) {
  if (const std::string missing = missing_oracle_prerequisites(); !missing.empty())
    GTEST_SKIP() << "ONNX Runtime oracle unavailable, missing: " << missing;
  const Model calibrated = ec_test::calibrated_model();
  exporter::ExportInfo info;
  const Model qdq = exporter::export_qdq(calibrated, &info);
  ASSERT_EQ(info.ec_points, 2u);
  const fs::path work = fresh_work_dir("qdq_ec_small");
  save_model(calibrated, work / "calibrated_model.onnx");
  save_model(qdq, work / "quantized_model.onnx");
  const auto inputs = ec_test::inputs();
  fs::create_directories(work / "inputs");
  for (const auto& [name, t] : inputs) write_npy(work / "inputs" / (sanitize_tensor_name(name) + ".npy"), t);

  const auto simulated = Executor(std::make_shared<Model>(calibrated)).run(inputs);
  const auto float_out = Executor(std::make_shared<Model>(ec_test::float_model())).run(inputs);
  for (const std::string& level : kOptLevels) {
    std::map<std::string, Tensor> ort;
    try {
      ort = run_ort(work / "quantized_model.onnx", work / "inputs", work, level);
    } catch (const std::exception& e) {
      FAIL() << "ONNX Runtime (" << level << ") failed on the exported model: " << e.what();
    }
    ASSERT_EQ(ort.size(), simulated.size()) << level;
    for (const std::string& name : ec_test::exact_outputs()) {
      const Tensor& sim = simulated.at(name);
      const Tensor& got = ort.at(sanitize_tensor_name(name));
      ASSERT_EQ(sim.shape(), got.shape()) << name;
      size_t differ = 0;
      for (int64_t i = 0; i < sim.numel(); ++i) differ += sim.data<float>()[i] != got.data<float>()[i] ? 1 : 0;
      EXPECT_EQ(differ, 0u) << level << ": " << name << " differs from the simulation in " << differ << " of "
                            << sim.numel() << " values";
    }
    // y's inputs are bit-identical (above); y itself differs by the runtimes' summation order only.
    const Agreement a = check_agreement(ort, by_file(simulated), by_file(float_out), [&] {
      return first_divergence(QF_CLI_PATH, work / "calibrated_model.onnx", work / "quantized_model.onnx",
                              work / "inputs", work / ("probe_" + level), level);
    });
    for (const std::string& f : a.failures) ADD_FAILURE() << "optimisation " << level << ", output " << f;
    std::printf("[  metric  ] ec small model, ort %s: worst cosine %.9f (%s)\n", level.c_str(), a.worst_cosine,
                a.note.c_str());
  }
}

// uint16 storage (com.microsoft Q/DQ at opset 13): u's values bit-identical at both optimisation levels.
TEST(QdqEcOrt, Uint16ActivationBitIdentical) {
  if (const std::string missing = missing_oracle_prerequisites(); !missing.empty())
    GTEST_SKIP() << "ONNX Runtime oracle unavailable, missing: " << missing;
  Model m = ec_test::float_model();
  const auto inputs = ec_test::inputs();
  quant::CalibrationAttrs a = ec_test::point(inputs.at("u"), QType::Int16, false, -1, false);
  a.unsigned_storage = true;
  ec_test::calibrate(m, "u", "cal_u", a);
  const fs::path work = fresh_work_dir("qdq_uint16_small");
  save_model(exporter::export_qdq(m), work / "quantized_model.onnx");
  fs::create_directories(work / "inputs");
  for (const auto& [name, t] : inputs) write_npy(work / "inputs" / (sanitize_tensor_name(name) + ".npy"), t);
  const Tensor sim = Executor(std::make_shared<Model>(m)).run(inputs).at("u_seen");
  for (const std::string& level : kOptLevels) {
    std::map<std::string, Tensor> ort;
    try {
      ort = run_ort(work / "quantized_model.onnx", work / "inputs", work, level);
    } catch (const std::exception& e) {
      FAIL() << "ONNX Runtime (" << level << ") failed on the exported model: " << e.what();
    }
    const Tensor& got = ort.at("u_seen");
    for (int64_t i = 0; i < sim.numel(); ++i)
      ASSERT_EQ(sim.data<float>()[i], got.data<float>()[i]) << level << " " << i;
  }
}

// Every float input edge of every node through an int16-ec calibration node with the tensor's observed
// range (weights per output channel for Conv, per tensor otherwise).
Model calibrate_every_edge_ec(const Model& float_model, const std::map<std::string, Tensor>& inputs) {
  std::unordered_map<std::string, Tensor> seen;
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor& t) {
    if (t.dtype() == DType::Float32 && t.numel() > 0) seen[name] = t.clone();
  };
  Executor(std::make_shared<Model>(float_model)).run(inputs, hooks);
  for (const auto& [name, t] : inputs) seen[name] = t;

  Model m = float_model;
  std::vector<Node> nodes;
  size_t edge = 0;
  for (Node node : float_model.graph.nodes) {
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const std::string tensor = node.inputs[i];
      const auto init = m.graph.initializers.find(tensor);
      const bool weight = init != m.graph.initializers.end();
      const Tensor* value = weight ? &init->second : (seen.count(tensor) ? &seen.at(tensor) : nullptr);
      if (!value || value->dtype() != DType::Float32 || value->numel() == 0) continue;
      const int64_t axis = weight && node.op_type == "Conv" && i == 1 ? 0 : -1;
      quant::CalibrationAttrs a = ec_test::point(*value, QType::Int16Ec, weight, axis, true);
      const std::string out = tensor + "_cal_" + std::to_string(edge);
      nodes.push_back(quant::make_calibration_node("cal_" + std::to_string(edge) + "_" + node.name, tensor, out, a));
      node.inputs[i] = out;
      ++edge;
    }
    nodes.push_back(std::move(node));
  }
  m.graph.nodes = std::move(nodes);
  m.opset_imports[quant::kQforgeDomain] = 1;
  return m;
}

class QdqEcOrtRealModel : public ::testing::TestWithParam<std::string> {};

TEST_P(QdqEcOrtRealModel, MatchesSimulation) {
  const std::string model = GetParam();
  if (const std::string missing = missing_oracle_prerequisites(); !missing.empty())
    GTEST_SKIP() << "ONNX Runtime oracle unavailable, missing: " << missing;
  const fs::path model_path = shared_models_dir() / (model + ".onnx");
  const auto samples = sample_folders(shared_models_dir() / "inputs" / model);
  if (!fs::exists(model_path) || samples.empty())
    GTEST_SKIP() << "shared model or sample missing: " << model_path << " (set QF_SHARED_DIR)";

  const Model float_model = load_model(model_path);
  std::vector<std::string> input_names;
  for (const ValueInfo* vi : float_model.graph.runtime_inputs()) input_names.push_back(vi->name);
  const Sample sample = load_single_sample(samples.front(), input_names);
  const Model calibrated = calibrate_every_edge_ec(float_model, sample.inputs);
  exporter::ExportInfo info;
  const Model qdq = exporter::export_qdq(calibrated, &info);
  EXPECT_GT(info.ec_points, 0u);
  const fs::path work = fresh_work_dir("qdq_ec_" + model);
  save_model(calibrated, work / "calibrated_model.onnx");
  save_model(qdq, work / "quantized_model.onnx");

  const auto simulated = Executor(std::make_shared<Model>(calibrated)).run(sample.inputs);
  const auto float_out = Executor(std::make_shared<Model>(float_model)).run(sample.inputs);
  for (const std::string& level : kOptLevels) {
    std::map<std::string, Tensor> ort;
    try {
      ort = run_ort(work / "quantized_model.onnx", samples.front(), work, level);
    } catch (const std::exception& e) {
      FAIL() << "ONNX Runtime (" << level << ") failed on the exported model: " << e.what();
    }
    ASSERT_EQ(ort.size(), simulated.size());
    const Agreement a = check_agreement(ort, by_file(simulated), by_file(float_out), [&] {
      return first_divergence(QF_CLI_PATH, work / "calibrated_model.onnx", work / "quantized_model.onnx",
                              samples.front(), work / ("probe_" + level), level);
    });
    for (const std::string& f : a.failures) ADD_FAILURE() << "optimisation " << level << ", output " << f;
    std::printf("[  metric  ] %s int16-ec, ort %s: worst cosine %.9f (%s)\n", model.c_str(), level.c_str(),
                a.worst_cosine, a.note.c_str());
  }
}

INSTANTIATE_TEST_SUITE_P(SharedModels, QdqEcOrtRealModel, ::testing::Values("mnist_8", "super_resolution"));

}  // namespace
}  // namespace qf
