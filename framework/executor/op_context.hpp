// What an op kernel sees: its node, resolved inputs, attributes, opset and a way to run subgraphs.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.hpp"
#include "ir/tensor.hpp"

namespace qf {

// Runs a subgraph (If/Loop bodies). `inputs` are the subgraph's formal inputs in order; names from the
// enclosing scopes are resolved by the runner. Returns the subgraph's outputs in order.
using SubgraphRunner = std::function<std::vector<Tensor>(const Graph& body, const std::vector<Tensor>& inputs)>;

class OpContext {
 public:
  OpContext(const Node& node, int64_t opset, std::vector<const Tensor*> inputs, SubgraphRunner runner)
      : node_(node), opset_(opset), inputs_(std::move(inputs)), runner_(std::move(runner)) {
    outputs_.resize(node.outputs.size());
  }

  const Node& node() const { return node_; }
  // Opset version imported for this node's domain.
  int64_t opset() const { return opset_; }

  size_t num_inputs() const { return inputs_.size(); }
  // True when input i is present (not beyond the list and not an empty name).
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  // Throws a qf::Error naming the node when input i is missing.
  const Tensor& input(size_t i) const;

  size_t num_outputs() const { return outputs_.size(); }
  // True when the graph consumes output i (its name is not empty); kernels may skip unused optional outputs.
  bool wants_output(size_t i) const { return i < node_.outputs.size() && !node_.outputs[i].empty(); }
  void set_output(size_t i, Tensor t);
  // Allocates output i with the given dtype/shape and returns it for filling.
  Tensor& make_output(size_t i, DType dtype, Shape shape);
  // Same, without zero-filling: only for kernels that write every element of the output.
  Tensor& make_output_uninitialized(size_t i, DType dtype, Shape shape);
  std::vector<Tensor>& outputs() { return outputs_; }

  // Attribute accessors: the default is returned when the attribute is absent.
  bool has_attr(const std::string& name) const { return node_.attr(name) != nullptr; }
  int64_t attr_int(const std::string& name, int64_t dflt) const;
  float attr_float(const std::string& name, float dflt) const;
  std::string attr_string(const std::string& name, const std::string& dflt) const;
  std::vector<int64_t> attr_ints(const std::string& name, const std::vector<int64_t>& dflt = {}) const;
  std::vector<float> attr_floats(const std::string& name, const std::vector<float>& dflt = {}) const;
  std::vector<std::string> attr_strings(const std::string& name) const;
  const Tensor* attr_tensor(const std::string& name) const;  // nullptr when absent
  const Graph* attr_graph(const std::string& name) const;    // nullptr when absent

  // Runs a subgraph attribute of this node (If branches, Loop body).
  std::vector<Tensor> run_subgraph(const Graph& body, const std::vector<Tensor>& inputs) const {
    return runner_(body, inputs);
  }

  // Throws qf::Error("node '<name>' (<op>): <msg>").
  [[noreturn]] void fail(const std::string& msg) const;

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor> outputs_;
  SubgraphRunner runner_;
};

}  // namespace qf
