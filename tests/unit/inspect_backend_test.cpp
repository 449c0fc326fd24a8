// `qforge inspect --backend`: the placement table of the optimized graph on a backend, with the dtypes
// the quantization plan gives every node input and output.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "quantize_test_util.hpp"

namespace qf {
namespace {

using qtest::run_cli;
using qtest::TempDir;

// x[N,3,4,4] -> Conv(conv) -> Relu(relu) -> Add(add, + a constant) = a -> Reshape(reshape) to [N, -1],
// the target shape built from Shape(shape)[0:1] ++ [-1] by Concat(concat) -> MatMul(matmul) -> y[N,2].
// The batch dim is symbolic, so the optimizer cannot fold the Shape path away.
Model placement_model() {
  auto proto = test::parse_model_proto(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[N,3,4,4] x) => (float[N,2] y) {
  c = Conv<pads = [1, 1, 1, 1]>(x, w, b)
  r = Relu(c)
  a = Add(r, k)
  s = Shape<end = 1>(a)
  t = Concat<axis = 0>(s, minus_one)
  f = Reshape(a, t)
  y = MatMul(f, wm)
}
)");
  const char* names[] = {"conv", "relu", "add", "shape", "concat", "reshape", "matmul"};
  for (int i = 0; i < proto.graph().node_size(); ++i) proto.mutable_graph()->mutable_node(i)->set_name(names[i]);
  Model m = model_from_proto(proto);
  qtest::Rng rng(3);
  auto& init = m.graph.initializers;
  init["w"] = Tensor::from_vector<float>({4, 3, 3, 3}, rng.vec(4 * 27, -0.5f, 0.5f));
  init["b"] = Tensor::from_vector<float>({4}, rng.vec(4, -0.1f, 0.1f));
  init["k"] = Tensor::from_vector<float>({4, 1, 1}, rng.vec(4, -0.3f, 0.3f));
  init["minus_one"] = Tensor::from_vector<int64_t>({1}, {-1});
  init["wm"] = Tensor::from_vector<float>({64, 2}, rng.vec(128, -0.2f, 0.2f));
  return m;
}

struct TextRow {
  std::string op, placement, group, dtypes, tensors;
};

// Parses the table rows "<node>  <op>  <placement>  <group>  in: ... out: ...  tensors: ..." by node name.
std::map<std::string, TextRow> text_rows(const std::string& out) {
  std::map<std::string, TextRow> rows;
  std::istringstream lines(out);
  std::string line;
  const std::vector<std::string> placements = {"accelerator", "float fallback", "float (config)"};
  while (std::getline(lines, line)) {
    const size_t in = line.find("  in: ");
    if (in == std::string::npos) continue;
    std::istringstream words(line.substr(0, in));
    TextRow r;
    std::string node;
    words >> node >> r.op;
    std::string rest;
    std::getline(words, rest);
    for (const auto& p : placements)
      if (rest.find(p) != std::string::npos) r.placement = p;
    std::istringstream tail(rest.substr(rest.find(r.placement) + r.placement.size()));
    tail >> r.group;
    const size_t tensors = line.find("  tensors: ", in);
    r.dtypes = line.substr(in + 2, tensors == std::string::npos ? std::string::npos : tensors - in - 2);
    r.dtypes.erase(r.dtypes.find_last_not_of(' ') + 1);  // the column is padded
    if (tensors != std::string::npos) r.tensors = line.substr(tensors + 11);
    rows[node] = r;
  }
  return rows;
}

class InspectBackend : public ::testing::Test {
 protected:
  void SetUp() override { save_model(placement_model(), model_path()); }
  std::filesystem::path model_path() const { return dir_ / "m.onnx"; }
  TempDir dir_;
};

TEST_F(InspectBackend, TextTableShowsPlacementGroupsAndPlannedDtypes) {
  const auto r = run_cli("inspect --model " + model_path().string() + " --backend generic", dir_.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto rows = text_rows(r.out);
  ASSERT_EQ(rows.size(), 7u) << r.out;
  // Conv + Relu fuse (the Conv output is read only by the Relu): the tensor between them is internal.
  EXPECT_EQ(rows.at("conv").op, "Conv");
  EXPECT_EQ(rows.at("conv").placement, "accelerator");
  EXPECT_EQ(rows.at("conv").group, "g0");
  EXPECT_EQ(rows.at("conv").dtypes, "in: int8,int8(w),float32 out: fused");  // bias stays float
  // Each input by its node_config key and tensor name, so a row can be pasted into node_config.
  EXPECT_EQ(rows.at("conv").tensors, "input0 x, input1 w, input2 b; output0 c");
  EXPECT_EQ(rows.at("add").tensors, "input0 r, input1 k; output0 a");
  EXPECT_EQ(rows.at("relu").group, "g0");
  EXPECT_EQ(rows.at("relu").dtypes, "in: fused out: int8");
  EXPECT_EQ(rows.at("add").group, "-");
  // A constant added to an activation is not a weight (only Conv/ConvTranspose/Gemm/MatMul read weights):
  // it stays exact.
  EXPECT_EQ(rows.at("add").dtypes, "in: int8,float32 out: int8");
  // The shape path keeps its real dtypes: Shape reads data it does not compute on.
  EXPECT_EQ(rows.at("shape").dtypes, "in: float32 out: int64");
  EXPECT_EQ(rows.at("concat").dtypes, "in: int64,int64 out: int64");
  EXPECT_EQ(rows.at("reshape").dtypes, "in: int8,int64 out: int8");
  // Graph outputs stay float without model_output_type.
  EXPECT_EQ(rows.at("matmul").dtypes, "in: int8,int8(w) out: float32");
  for (const auto& [name, row] : rows) EXPECT_EQ(row.placement, "accelerator") << name;
  // Rows come in graph order.
  EXPECT_LT(r.out.find("conv "), r.out.find("relu "));
  EXPECT_LT(r.out.find("reshape "), r.out.find("matmul "));
  EXPECT_NE(r.out.find("7 nodes: 7 on the accelerator, 0 in float fallback, 0 in float by config; 1 fusion group\n"),
            std::string::npos)
      << r.out;
}

TEST_F(InspectBackend, JsonHasTheSameRows) {
  const auto r = run_cli("inspect --model " + model_path().string() + " --backend generic --json", dir_.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["backend"], "generic");
  ASSERT_EQ(j["nodes"].size(), 7u);
  const auto& conv = j["nodes"][0];
  EXPECT_EQ(conv["node"], "conv");
  EXPECT_EQ(conv["op"], "Conv");
  EXPECT_EQ(conv["placement"], "accelerator");
  EXPECT_EQ(conv["fusion_group"], 0);
  ASSERT_EQ(conv["inputs"].size(), 3u);
  EXPECT_EQ(conv["inputs"][0]["name"], "x");
  EXPECT_EQ(conv["inputs"][0]["slot"], "input0");
  EXPECT_EQ(conv["inputs"][2]["slot"], "input2");
  EXPECT_EQ(conv["outputs"][0]["slot"], "output0");
  EXPECT_EQ(conv["inputs"][0]["dtype"], "int8");
  EXPECT_EQ(conv["inputs"][1]["name"], "w");
  EXPECT_EQ(conv["inputs"][1]["weight"], true);
  EXPECT_EQ(conv["inputs"][2]["dtype"], "float32");
  EXPECT_EQ(conv["outputs"][0]["name"], "c");
  EXPECT_EQ(conv["outputs"][0]["dtype"], "fused");
  const auto& shape = j["nodes"][3];
  EXPECT_EQ(shape["node"], "shape");
  EXPECT_TRUE(shape["fusion_group"].is_null());
  EXPECT_EQ(shape["outputs"][0]["dtype"], "int64");
  EXPECT_EQ(j["nodes"][6]["outputs"][0]["dtype"], "float32");
  EXPECT_EQ(j["summary"]["accelerator"], 7);
  EXPECT_EQ(j["summary"]["float_fallback"], 0);
  EXPECT_EQ(j["summary"]["fusion_groups"], 1);
}

TEST_F(InspectBackend, ConfigFloatNodeAndInt16) {
  qtest::write_text(dir_ / "cfg.json", R"({
    "model_config": {"all_node_type": "int16"},
    "node_config": {"add": {"qtype": "float32"}}
  })");
  const auto r = run_cli(
      "inspect --model " + model_path().string() + " --backend generic --config " + (dir_ / "cfg.json").string(),
      dir_.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto rows = text_rows(r.out);
  ASSERT_EQ(rows.size(), 7u) << r.out;
  EXPECT_EQ(rows.at("add").placement, "float (config)");
  EXPECT_EQ(rows.at("add").dtypes, "in: float32,float32 out: float32");
  // The generic backend allows int16 everywhere: the rest follows all_node_type.
  EXPECT_EQ(rows.at("conv").placement, "accelerator");
  EXPECT_EQ(rows.at("conv").dtypes, "in: int16,int16(w),float32 out: fused");
  EXPECT_EQ(rows.at("relu").dtypes, "in: fused out: int16");
  EXPECT_EQ(rows.at("reshape").dtypes, "in: int16,int64 out: int16");
  EXPECT_NE(r.out.find("6 on the accelerator, 0 in float fallback, 1 in float by config"), std::string::npos) << r.out;
}

// nash: the Conv weight and MatMul input 1 stay int8 under all_node_type int16 and the table says ec is
// available for them; with dual-int16 they become int16-ec. The Conv+Relu pair is one nash kernel.
TEST_F(InspectBackend, NashInt8OnlyInputsAndErrorCompensation) {
  qtest::write_text(dir_ / "i16.json", R"({"model_config": {"all_node_type": "int16"}})");
  auto r =
      run_cli("inspect --model " + model_path().string() + " --backend nash --config " + (dir_ / "i16.json").string(),
              dir_.path());
  ASSERT_EQ(r.status, 0) << r.err;
  auto rows = text_rows(r.out);
  EXPECT_EQ(rows.at("conv").dtypes, "in: int16,int8(w),float32 out: fused");
  EXPECT_EQ(rows.at("relu").group, rows.at("conv").group);
  EXPECT_EQ(rows.at("matmul").dtypes.substr(0, 16), "in: int16,int8(w") << rows.at("matmul").dtypes;
  EXPECT_NE(r.out.find("2 int8-only inputs offer int16-ec"), std::string::npos) << r.out;

  qtest::write_text(dir_ / "ec.json", R"({"model_config": {"all_node_type": "dual-int16"}})");
  r = run_cli(
      "inspect --json --model " + model_path().string() + " --backend nash --config " + (dir_ / "ec.json").string(),
      dir_.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["summary"]["int8_inputs_with_ec"], 0);
  for (const auto& n : j["nodes"])
    if (n["node"] == "conv" || n["node"] == "matmul") {
      EXPECT_EQ(n["inputs"][1]["dtype"], "int16-ec") << n.dump();
      EXPECT_EQ(n["inputs"][0]["dtype"], "int16") << n.dump();
    }
}

// ONNX Runtime stores activations as uint8 (asymmetric, QLinear kernels) and weights as int8: the table shows
// the storage dtype, not the precision class.
TEST_F(InspectBackend, OnnxruntimeShowsUint8Storage) {
  const auto r = run_cli("inspect --model " + model_path().string() + " --backend onnxruntime", dir_.path());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto rows = text_rows(r.out);
  ASSERT_EQ(rows.size(), 7u) << r.out;
  EXPECT_EQ(rows.at("conv").dtypes.rfind("in: uint8,int8(w)", 0), 0u) << r.out;
}

TEST_F(InspectBackend, BadInput) {
  auto r = run_cli("inspect --model " + model_path().string() + " --backend nosuch", dir_.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("unknown backend 'nosuch'; known backends: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("generic"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  qtest::write_text(dir_ / "bad.json", R"({"model_config": {"all_node_typ": "int8"}})");
  r = run_cli(
      "inspect --model " + model_path().string() + " --backend generic --config " + (dir_ / "bad.json").string(),
      dir_.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("all_node_typ"), std::string::npos) << r.err;

  qtest::write_text(dir_ / "ghost.json", R"({"node_config": {"ghost": {"qtype": "int16"}}})");
  r = run_cli(
      "inspect --model " + model_path().string() + " --backend generic --config " + (dir_ / "ghost.json").string(),
      dir_.path());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("ghost"), std::string::npos) << r.err;

  // --config without --backend is a usage error (exit 2); --shapes is the other view.
  r = run_cli("inspect --model " + model_path().string() + " --config " + (dir_ / "bad.json").string(), dir_.path());
  EXPECT_EQ(r.status, 2);
  r = run_cli("inspect --model " + model_path().string() + " --backend generic --shapes", dir_.path());
  EXPECT_EQ(r.status, 2);
}

}  // namespace
}  // namespace qf
