// Shared plumbing for the op-kernel unit tests: attribute builders, a node builder and run_op, which calls a
// kernel from OpRegistry::builtin() directly (no graph, no executor).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "executor/op_context.hpp"
#include "executor/op_registry.hpp"
#include "ir/graph.hpp"
#include "ir/tensor.hpp"
#include "util/error.hpp"

namespace qf::test {

// ---- Attribute builders ----

inline Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Int;
  a.i = v;
  return a;
}
inline Attribute float_attr(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Float;
  a.f = v;
  return a;
}
inline Attribute str_attr(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::String;
  a.s = v;
  return a;
}
inline Attribute ints_attr(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Ints;
  a.ints = std::move(v);
  return a;
}
inline Attribute floats_attr(const std::string& name, std::vector<float> v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Floats;
  a.floats = std::move(v);
  return a;
}
inline Attribute strings_attr(const std::string& name, std::vector<std::string> v) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Strings;
  a.strings = std::move(v);
  return a;
}
inline Attribute tensor_attr(const std::string& name, Tensor t) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Tensor;
  a.t = std::move(t);
  return a;
}
inline Attribute graph_attr(const std::string& name, std::shared_ptr<Graph> g) {
  Attribute a;
  a.name = name;
  a.kind = Attribute::Kind::Graph;
  a.g = std::move(g);
  return a;
}

// ---- Nodes, kernels, running one op ----

// The builtin kernel for (domain, op) at `opset`. A missing kernel fails the test even inside EXPECT_THROW,
// so "op not registered" cannot pass for the error a test expects.
inline const OpKernel& kernel(const std::string& op, int64_t opset, const std::string& domain = "") {
  const OpEntry* e = OpRegistry::builtin().find(domain, op, opset);
  if (!e) {
    ADD_FAILURE() << "no kernel for " << domain << (domain.empty() ? "" : "::") << op << " at opset " << opset;
    throw Error("no kernel for " + op);
  }
  return e->kernel;
}

// A node named "n" with outputs y0..y{num_outputs-1}. Inputs are left empty: kernels see inputs through
// OpContext only.
inline Node make_node(const std::string& op, size_t num_outputs, std::vector<Attribute> attrs = {},
                      const std::string& domain = "") {
  Node n;
  n.name = "n";
  n.op_type = op;
  n.domain = domain;
  n.attributes = std::move(attrs);
  for (size_t i = 0; i < num_outputs; ++i) n.outputs.push_back("y" + std::to_string(i));
  return n;
}

// Runs one kernel and returns its outputs. A null input pointer is an absent optional input. Ops with
// subgraphs (If/Loop/Scan) need a SubgraphRunner: build the OpContext in the test with make_node + kernel.
inline std::vector<Tensor> run_op(const std::string& op, int64_t opset, const std::vector<const Tensor*>& ins,
                                  std::vector<Attribute> attrs = {}, size_t n_out = 1, const std::string& domain = "") {
  Node n = make_node(op, n_out, std::move(attrs), domain);
  for (size_t i = 0; i < ins.size(); ++i) n.inputs.push_back(ins[i] ? "x" + std::to_string(i) : "");
  const OpKernel& k = kernel(op, opset, domain);
  OpContext ctx(n, opset, ins, nullptr);
  k(ctx);
  return ctx.outputs();
}

// A subgraph with `inputs` float32 inputs in0.. and `outputs` float32 outputs out0.. and no nodes, for
// control-flow tests whose SubgraphRunner computes the body by hand.
inline std::shared_ptr<Graph> graph_with(size_t inputs, size_t outputs) {
  auto g = std::make_shared<Graph>();
  for (size_t i = 0; i < inputs; ++i) g->inputs.push_back(ValueInfo{"in" + std::to_string(i), DType::Float32, {}, ""});
  for (size_t i = 0; i < outputs; ++i)
    g->outputs.push_back(ValueInfo{"out" + std::to_string(i), DType::Float32, {}, ""});
  return g;
}

// ---- Checking values ----

// Elements of any numeric tensor as float.
inline std::vector<float> floats_of(const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = static_cast<float>(t.as_double(i));
  return v;
}

inline void expect_near_all(const Tensor& t, const std::vector<float>& expected, float tol = 1e-5f) {
  const std::vector<float> got = floats_of(t);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], tol) << "index " << i;
}

}  // namespace qf::test
