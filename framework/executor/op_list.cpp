// The explicit list of built-in op families: adding a family means adding one line here.
#include "executor/op_registry.hpp"

namespace qf {

const OpRegistry& OpRegistry::builtin() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_elementwise_unary_ops(r);
    register_elementwise_binary_ops(r);
    register_activation_ops(r);
    register_logical_ops(r);
    register_cast_ops(r);
    register_shape_ops(r);
    register_tensor_ops(r);
    register_gather_scatter_ops(r);
    register_resize_ops(r);
    register_grid_sample_ops(r);
    register_reduce_ops(r);
    register_normalization_ops(r);
    register_softmax_ops(r);
    register_quantize_ops(r);
    register_conv_ops(r);
    register_matmul_ops(r);
    register_pool_ops(r);
    register_controlflow_ops(r);
    register_rnn_ops(r);
    register_loss_ops(r);
    register_detection_ops(r);
    register_signal_ops(r);
    register_qforge_ops(r);
    register_text_ops(r);
    register_qlinear_ops(r);
    register_training_optimizer_ops(r);
    register_einsum_ops(r);
    register_topk_ops(r);
    register_cumsum_ops(r);
    register_unique_ops(r);
    register_random_ops(r);
    register_linear_algebra_ops(r);
    return r;
  }();
  return registry;
}

}  // namespace qf
