// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
//
// Both see the scores as [N, C, D] (D = product of the trailing dims, 1 for 2-D input) and the labels
// as [N, D]. Per element: loss = -w[t] * logp[n, t, d] with w[t] = weight[t] (1 without weights) and
// w = 0, loss = 0 where t == ignore_index. Reductions follow the ONNX reference: "sum" adds the
// losses, "mean" divides that sum by the sum of the per-element weights (so ignored elements count
// neither in the numerator nor the denominator; 0/0 gives NaN as in the reference), "none" keeps the
// [N, d1..dk] shape. SoftmaxCrossEntropyLoss first takes log_softmax over axis 1 and can return it.
// float16 is computed in float; sums accumulate in double.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/ops/elementwise_common.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

enum class Reduction { None, Sum, Mean };

Reduction parse_reduction(const OpContext& ctx) {
  const std::string r = ctx.attr_string("reduction", "mean");
  if (r == "none") return Reduction::None;
  if (r == "sum") return Reduction::Sum;
  if (r == "mean") return Reduction::Mean;
  ctx.fail("unknown reduction '" + r + "' (expected none, sum or mean)");
}

struct LossGeometry {
  int64_t n = 0, c = 0, d = 1;
  Shape label_shape;
};

// Checks scores [N, C, d1..dk] against labels [N, d1..dk] and the optional weight [C].
LossGeometry check_shapes(const OpContext& ctx, const Tensor& scores, const Tensor& labels, const Tensor* weight) {
  if (scores.rank() < 2) ctx.fail("input must have rank >= 2 (N, C, ...), got " + shape_str(scores.shape()));
  if (labels.dtype() != DType::Int32 && labels.dtype() != DType::Int64)
    ctx.fail("target must be int32 or int64, got " + dtype_name(labels.dtype()));
  LossGeometry g;
  g.n = scores.dim(0);
  g.c = scores.dim(1);
  Shape expected{g.n};
  for (int64_t i = 2; i < scores.rank(); ++i) {
    expected.push_back(scores.dim(i));
    g.d *= scores.dim(i);
  }
  if (labels.shape() != expected)
    ctx.fail("target shape " + shape_str(labels.shape()) + " does not match input shape " + shape_str(scores.shape()) +
             " (expected " + shape_str(expected) + ")");
  if (weight) {
    if (weight->rank() != 1 || weight->dim(0) != g.c)
      ctx.fail("weight must have shape [" + std::to_string(g.c) + "], got " + shape_str(weight->shape()));
    if (weight->dtype() != scores.dtype())
      ctx.fail("weight type " + dtype_name(weight->dtype()) + " differs from input type " + dtype_name(scores.dtype()));
  }
  g.label_shape = std::move(expected);
  return g;
}

template <class L>
void gather_loss(const OpContext& ctx, const LossGeometry& g, const auto* logp, const L* labels, const auto* weight,
                 std::optional<int64_t> ignore_index, auto* loss, double& sum, double& weight_sum) {
  using T = std::remove_cvref_t<decltype(*logp)>;
  sum = 0;
  weight_sum = 0;
  for (int64_t n = 0; n < g.n; ++n) {
    const T* x = logp + n * g.c * g.d;
    const L* t = labels + n * g.d;
    for (int64_t d = 0; d < g.d; ++d) {
      const int64_t cls = static_cast<int64_t>(t[d]);
      T value = 0;
      if (!(ignore_index && cls == *ignore_index)) {
        if (cls < 0 || cls >= g.c)
          ctx.fail("target value " + std::to_string(cls) + " is out of range [0, " + std::to_string(g.c) + ")");
        const T w = weight ? static_cast<T>(weight[cls]) : T(1);
        value = -x[cls * g.d + d] * w;
        weight_sum += static_cast<double>(w);
      }
      if (loss) loss[n * g.d + d] = value;
      sum += static_cast<double>(value);
    }
  }
}

// Writes the reduced or per-element loss to output 0 (dtype `out_type`, values of type T).
template <class T>
void finish_loss(OpContext& ctx, Reduction red, const LossGeometry& g, std::vector<T>& per_element, double sum,
                 double weight_sum) {
  if (red == Reduction::None) {
    Tensor out = Tensor::from_vector<T>(g.label_shape, per_element);
    ctx.set_output(0, std::move(out));
    return;
  }
  const double value = red == Reduction::Sum ? sum : sum / weight_sum;
  ctx.set_output(0, Tensor::scalar<T>(static_cast<T>(value)));
}

template <class T>
void loss_typed(OpContext& ctx, const Tensor& scores, const Tensor& labels, const Tensor* weight, bool softmax) {
  const LossGeometry g = check_shapes(ctx, scores, labels, weight);
  const Reduction red = parse_reduction(ctx);
  std::optional<int64_t> ignore_index;
  if (ctx.has_attr("ignore_index")) ignore_index = ctx.attr_int("ignore_index", 0);

  const T* x = scores.data<T>();
  Tensor log_prob;
  if (softmax) {
    // log_softmax over axis 1 of [N, C, D]: rows of D columns, so the loops run along d.
    log_prob = Tensor::uninitialized(scores.dtype(), scores.shape());
    T* lp = log_prob.data<T>();
    const int64_t cd = g.c * g.d;
    parallel_for(0, g.n, std::max<int64_t>(1, 16384 / std::max<int64_t>(cd, 1)), [&](int64_t b, int64_t e) {
      std::vector<T> acc(static_cast<size_t>(g.d));
      for (int64_t n = b; n < e; ++n) {
        const T* xs = x + n * cd;
        T* ys = lp + n * cd;
        std::fill(acc.begin(), acc.end(), -std::numeric_limits<T>::infinity());
        for (int64_t c = 0; c < g.c; ++c)
          for (int64_t d = 0; d < g.d; ++d) acc[d] = std::max(acc[d], xs[c * g.d + d]);
        for (int64_t c = 0; c < g.c; ++c)
          for (int64_t d = 0; d < g.d; ++d) ys[c * g.d + d] = xs[c * g.d + d] - acc[d];
        std::fill(acc.begin(), acc.end(), T(0));
        for (int64_t c = 0; c < g.c; ++c)
          for (int64_t d = 0; d < g.d; ++d) acc[d] += ew::math::exp(ys[c * g.d + d]);
        for (int64_t d = 0; d < g.d; ++d) acc[d] = ew::math::log(acc[d]);
        for (int64_t c = 0; c < g.c; ++c)
          for (int64_t d = 0; d < g.d; ++d) ys[c * g.d + d] -= acc[d];
      }
    });
    x = log_prob.data<T>();
  }

  std::vector<T> per_element(red == Reduction::None ? static_cast<size_t>(g.n * g.d) : 0);
  double sum = 0, weight_sum = 0;
  const T* w = weight ? weight->data<T>() : nullptr;
  T* loss = red == Reduction::None ? per_element.data() : nullptr;
  if (labels.dtype() == DType::Int64)
    gather_loss(ctx, g, x, labels.data<int64_t>(), w, ignore_index, loss, sum, weight_sum);
  else gather_loss(ctx, g, x, labels.data<int32_t>(), w, ignore_index, loss, sum, weight_sum);
  finish_loss(ctx, red, g, per_element, sum, weight_sum);
  if (softmax && ctx.num_outputs() > 1 && ctx.wants_output(1)) ctx.set_output(1, log_prob);
}

void loss_kernel(OpContext& ctx, bool softmax) {
  const Tensor& scores = ctx.input(0);
  const Tensor& labels = ctx.input(1);
  const Tensor* weight = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  switch (scores.dtype()) {
    case DType::Float32: loss_typed<float>(ctx, scores, labels, weight, softmax); return;
    case DType::Float64: loss_typed<double>(ctx, scores, labels, weight, softmax); return;
    case DType::Float16: {
      // Compute in float, then round the outputs back to half.
      const Tensor s32 = scores.cast(DType::Float32);
      Tensor w32;
      if (weight) {
        if (weight->dtype() != DType::Float16) ctx.fail("weight type differs from input type float16");
        w32 = weight->cast(DType::Float32);
      }
      loss_typed<float>(ctx, s32, labels, weight ? &w32 : nullptr, softmax);
      for (auto& out : ctx.outputs())
        if (out.defined()) out = out.cast(DType::Float16);
      return;
    }
    default: ctx.fail("unsupported input type " + dtype_name(scores.dtype()));
  }
}

}  // namespace

void register_loss_ops(OpRegistry& r) {
  r.add(
      "NegativeLogLikelihoodLoss", [](OpContext& ctx) { loss_kernel(ctx, false); }, 12);
  r.add(
      "SoftmaxCrossEntropyLoss", [](OpContext& ctx) { loss_kernel(ctx, true); }, 12);
}

}  // namespace qf
