#include "executor/executor.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_models.hpp"

namespace qf {
namespace {

// y = Relu(x * w + b); z = y + 1: a small chain to observe, replace and partially re-run.
const char* kChain = R"(
<ir_version: 8, opset_import: ["" : 13]>
chain (float[2] x) => (float[2] z) <float[2] w = {2.0, -3.0}, float[2] b = {1.0, 1.0}, float one = {1.0}> {
  m = Mul(x, w)
  a = Add(m, b)
  y = Relu(a)
  z = Add(y, one)
}
)";

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.numel()); }

TEST(Executor, RunsAChain) {
  Executor ex(test::parse_model_text(kChain));
  auto out = ex.run({{"x", Tensor::from_vector<float>({2}, {1.f, 1.f})}});
  EXPECT_EQ(values(out.at("z")), (std::vector<float>{4.f, 1.f}));  // relu(3)=3 -> 4, relu(-2)=0 -> 1
}

TEST(Executor, ObservesEveryProducedTensor) {
  Executor ex(test::parse_model_text(kChain));
  std::vector<std::string> seen;
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor&) { seen.push_back(name); };
  ex.run({{"x", Tensor::from_vector<float>({2}, {1.f, 1.f})}}, hooks);
  EXPECT_EQ(seen, (std::vector<std::string>{"x", "m", "a", "y", "z"}));
}

TEST(Executor, ReplacesATensorRightAfterItIsProduced) {
  Executor ex(test::parse_model_text(kChain));
  RunHooks hooks;
  hooks.replace = [](const std::string& name, const Tensor& t) -> std::optional<Tensor> {
    if (name != "a") return std::nullopt;
    Tensor r = t.clone();
    r.data<float>()[1] = 5.f;  // what fake quantization will do: swap the value seen downstream
    return r;
  };
  std::vector<float> observed_a;
  hooks.observe = [&](const std::string& name, const Tensor& t) {
    if (name == "a") observed_a = values(t);
  };
  auto out = ex.run({{"x", Tensor::from_vector<float>({2}, {1.f, 1.f})}}, hooks);
  EXPECT_EQ(observed_a, (std::vector<float>{3.f, 5.f}));
  EXPECT_EQ(values(out.at("z")), (std::vector<float>{4.f, 6.f}));
}

TEST(Executor, RerunsOnlyDownstreamNodesFromCache) {
  Executor ex(test::parse_model_text(kChain));
  ValueCache cache;
  ex.run_cached({{"x", Tensor::from_vector<float>({2}, {1.f, 1.f})}}, cache);
  ASSERT_TRUE(cache.count("a"));

  EXPECT_EQ(ex.downstream_nodes({"y"}), (std::vector<size_t>{3}));
  EXPECT_EQ(ex.downstream_nodes({"m"}), (std::vector<size_t>{1, 2, 3}));

  std::vector<std::string> recomputed;
  RunHooks hooks;
  hooks.observe = [&](const std::string& name, const Tensor&) { recomputed.push_back(name); };
  auto out = ex.rerun_from(cache, {{"a", Tensor::from_vector<float>({2}, {-1.f, 7.f})}}, hooks);
  EXPECT_EQ(recomputed, (std::vector<std::string>{"y", "z"}));  // Mul and the first Add did not run
  EXPECT_EQ(values(out.at("z")), (std::vector<float>{1.f, 8.f}));
  EXPECT_EQ(values(cache.at("z")), (std::vector<float>{4.f, 1.f}));  // the cache is left untouched
}

TEST(Executor, RejectsInputOfWrongShapeOrType) {
  Executor ex(test::parse_model_text(kChain));
  try {
    ex.run({{"x", Tensor::from_vector<float>({3}, {1.f, 1.f, 1.f})}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "input 'x': expected float32 [2], got float32 [3]");
  }
  EXPECT_THROW(ex.run({{"x", Tensor::from_vector<int64_t>({2}, {1, 1})}}), Error);
  EXPECT_THROW(ex.run({}), Error);
  EXPECT_THROW(ex.run({{"x", Tensor::from_vector<float>({2}, {1.f, 1.f})}, {"nope", Tensor::scalar(1.f)}}), Error);
}

TEST(Executor, UnsupportedOpIsNamedWithNode) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 13, "acme" : 1]>
g (float[2] x) => (float[2] y) {
  y = acme.Frobnicate <alpha = 1.0> (x)
}
)";
  auto model = test::parse_model_text(text);
  model->graph.nodes[0].name = "frob_1";
  EXPECT_EQ(unsupported_ops(*model), (std::vector<std::string>{"node 'frob_1' (Frobnicate) in domain 'acme'"}));
  try {
    Executor ex(model);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("node 'frob_1' (Frobnicate)"), std::string::npos) << e.what();
  }
}

TEST(Executor, IfBranchReadsOuterScope) {
  const char* text = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2] x) => (float[2] y) {
  y = If (c) <then_branch = then_g () => (float[2] t) { t = Neg(x) },
              else_branch = else_g () => (float[2] e) { e = Abs(x) }>
}
)";
  Executor ex(test::parse_model_text(text));
  auto x = Tensor::from_vector<float>({2}, {-1.f, 2.f});
  EXPECT_EQ(values(ex.run({{"c", Tensor::scalar(true)}, {"x", x}}).at("y")), (std::vector<float>{1.f, -2.f}));
  EXPECT_EQ(values(ex.run({{"c", Tensor::scalar(false)}, {"x", x}}).at("y")), (std::vector<float>{1.f, 2.f}));
}

TEST(OnnxIO, SaveAndLoadRoundTripKeepsNamesAndBehaviour) {
  auto model = test::parse_model_text(kChain);
  for (size_t i = 0; i < model->graph.nodes.size(); ++i) model->graph.nodes[i].name = "n" + std::to_string(i);
  const auto path = std::filesystem::temp_directory_path() / "qf_roundtrip.onnx";
  save_model(*model, path);
  auto loaded = std::make_shared<Model>(load_model(path));
  ASSERT_EQ(loaded->graph.nodes.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(loaded->graph.nodes[i].name, "n" + std::to_string(i));
  EXPECT_EQ(loaded->opset(), 13);
  auto x = Tensor::from_vector<float>({2}, {0.5f, -1.f});
  EXPECT_EQ(values(Executor(loaded).run({{"x", x}}).at("z")), values(Executor(model).run({{"x", x}}).at("z")));
  std::filesystem::remove(path);
}

TEST(OnnxIO, ExternalDataIsReadAndMissingFileIsNamed) {
  auto proto = test::parse_model_proto(kChain);
  const auto dir = std::filesystem::temp_directory_path() / "qf_external";
  std::filesystem::create_directories(dir);
  // Move initializer w into an external file.
  auto* w = proto.mutable_graph()->mutable_initializer(0);
  ASSERT_EQ(w->name(), "w");
  const float wv[2] = {2.f, -3.f};
  {
    std::ofstream f(dir / "weights.bin", std::ios::binary);
    f.write("pad!", 4);
    f.write(reinterpret_cast<const char*>(wv), sizeof wv);
  }
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto add = [&](const char* k, const char* v) {
    auto* e = w->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", "weights.bin");
  add("offset", "4");
  add("length", "8");
  {
    std::ofstream f(dir / "m.onnx", std::ios::binary);
    proto.SerializeToOstream(&f);
  }
  auto model = std::make_shared<Model>(load_model(dir / "m.onnx"));
  EXPECT_EQ(values(model->graph.initializers.at("w")), (std::vector<float>{2.f, -3.f}));
  std::filesystem::remove(dir / "weights.bin");
  try {
    load_model(dir / "m.onnx");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("weights.bin"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(OnnxIO, TruncatedOrForeignFileIsAnError) {
  const auto dir = std::filesystem::temp_directory_path();
  {
    std::ofstream f(dir / "qf_garbage.onnx");
    f << "this is not a model";
  }
  EXPECT_THROW(load_model(dir / "qf_garbage.onnx"), Error);
  const std::string bytes = test::parse_model_proto(kChain).SerializeAsString();
  EXPECT_THROW(parse_model(bytes.substr(0, bytes.size() / 2), "half.onnx"), Error);
  EXPECT_THROW(load_model(dir / "qf_does_not_exist.onnx"), Error);
  std::filesystem::remove(dir / "qf_garbage.onnx");
}

}  // namespace
}  // namespace qf
