// Maps (domain, op_type) to a kernel. Ops are registered through the explicit list in op_list.cpp,
// never through static constructors, so the set of supported ops is visible in one place.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "executor/op_context.hpp"

namespace qf {

using OpKernel = std::function<void(OpContext&)>;

struct OpEntry {
  OpKernel kernel;
  int64_t since_opset = 1;  // earliest opset version the kernel implements
};

class OpRegistry {
 public:
  // The process-wide registry with every built-in op (filled on first use from op_list.cpp).
  static const OpRegistry& builtin();

  void add(const std::string& op_type, OpKernel kernel, int64_t since_opset = 1, const std::string& domain = "");
  // nullptr when the op is unknown (or, for the opset, older than any registered kernel).
  const OpEntry* find(const std::string& domain, const std::string& op_type, int64_t opset) const;
  std::vector<std::pair<std::string, std::string>> all() const;  // (domain, op_type), sorted

 private:
  std::map<std::pair<std::string, std::string>, OpEntry> ops_;
};

// One registration function per op file (or small family of ops); op_list.cpp calls them all.
void register_elementwise_unary_ops(OpRegistry& r);
void register_elementwise_binary_ops(OpRegistry& r);
void register_activation_ops(OpRegistry& r);
void register_logical_ops(OpRegistry& r);
void register_cast_ops(OpRegistry& r);
void register_shape_ops(OpRegistry& r);
void register_tensor_ops(OpRegistry& r);
void register_gather_scatter_ops(OpRegistry& r);
void register_resize_ops(OpRegistry& r);
void register_reduce_ops(OpRegistry& r);
void register_normalization_ops(OpRegistry& r);
void register_softmax_ops(OpRegistry& r);
void register_quantize_ops(OpRegistry& r);
void register_conv_ops(OpRegistry& r);
void register_matmul_ops(OpRegistry& r);
void register_pool_ops(OpRegistry& r);
void register_controlflow_ops(OpRegistry& r);
void register_rnn_ops(OpRegistry& r);
void register_grid_sample_ops(OpRegistry& r);
void register_loss_ops(OpRegistry& r);
void register_detection_ops(OpRegistry& r);
void register_signal_ops(OpRegistry& r);
void register_qforge_ops(OpRegistry& r);  // qforge.Calibration (fake quantization)
void register_text_ops(OpRegistry& r);
void register_qlinear_ops(OpRegistry& r);
void register_training_optimizer_ops(OpRegistry& r);  // ai.onnx.preview.training: Adagrad, Momentum, Adam
void register_einsum_ops(OpRegistry& r);
void register_topk_ops(OpRegistry& r);
void register_cumsum_ops(OpRegistry& r);
void register_unique_ops(OpRegistry& r);
void register_random_ops(OpRegistry& r);
void register_linear_algebra_ops(OpRegistry& r);  // Det

}  // namespace qf
