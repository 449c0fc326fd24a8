// Training optimisers of the ai.onnx.preview.training domain: Adagrad, Adam, Momentum. Each updates any
// number of tensors at once: inputs are R (learning rate), T (step count), then the groups of per-tensor
// inputs (X..., G..., state...), outputs the groups of new values (X_new..., state_new...).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "executor/op_registry.hpp"

namespace qf {
namespace {

const char* const kTrainingDomain = "ai.onnx.preview.training";

// Number of optimised tensors n, checking inputs = 2 + groups * n and outputs = out_groups * n.
int64_t tensor_count(const OpContext& ctx, int64_t in_groups, int64_t out_groups) {
  const int64_t tensors = static_cast<int64_t>(ctx.num_inputs()) - 2;
  if (tensors <= 0 || tensors % in_groups != 0)
    ctx.fail("expected R, T and " + std::to_string(in_groups) + " inputs per optimised tensor");
  const int64_t n = tensors / in_groups;
  if (static_cast<int64_t>(ctx.num_outputs()) != out_groups * n)
    ctx.fail("expected " + std::to_string(out_groups * n) + " outputs");
  return n;
}

double scalar_input(const OpContext& ctx, size_t i, const char* what) {
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1) ctx.fail(std::string(what) + " must be a scalar");
  return t.as_double(0);
}

// Checks that the tensors of one optimised variable agree in shape and are float32/float64.
void check_group(const OpContext& ctx, const std::vector<const Tensor*>& ts) {
  for (const Tensor* t : ts) {
    if (t->dtype() != DType::Float32 && t->dtype() != DType::Float64)
      ctx.fail("unsupported input type " + dtype_name(t->dtype()));
    if (t->shape() != ts[0]->shape() || t->dtype() != ts[0]->dtype())
      ctx.fail("X, G and state tensors must have the same shape and type");
  }
}

// Applies fn(i, x, g, s1, s2, &x_new, &s1_new, &s2_new) per element in double, writing in the input type.
template <class Fn>
void update(OpContext& ctx, int64_t n, int64_t states, Fn&& fn) {
  for (int64_t k = 0; k < n; ++k) {
    std::vector<const Tensor*> group;
    for (int64_t gi = 0; gi < 2 + states; ++gi) group.push_back(&ctx.input(static_cast<size_t>(2 + gi * n + k)));
    check_group(ctx, group);
    const Tensor& x = *group[0];
    std::vector<Tensor*> outs;
    for (int64_t o = 0; o < 1 + states; ++o)
      outs.push_back(&ctx.make_output_uninitialized(static_cast<size_t>(o * n + k), x.dtype(), x.shape()));
    const int64_t numel = x.numel();
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* in[4] = {};
      T* out[3] = {};
      for (size_t i = 0; i < group.size(); ++i) in[i] = group[i]->template data<T>();
      for (size_t i = 0; i < outs.size(); ++i) out[i] = outs[i]->template data<T>();
      for (int64_t i = 0; i < numel; ++i) {
        double r[3] = {0, 0, 0};
        fn(static_cast<double>(in[0][i]), static_cast<double>(in[1][i]), in[2] ? static_cast<double>(in[2][i]) : 0.0,
           in[3] ? static_cast<double>(in[3][i]) : 0.0, r);
        for (size_t o = 0; o < outs.size(); ++o) out[o][i] = static_cast<T>(r[o]);
      }
    };
    if (x.dtype() == DType::Float32) run(float{});
    else run(double{});
  }
}

void adagrad(OpContext& ctx) {
  const int64_t n = tensor_count(ctx, 3, 2);
  const double lr = scalar_input(ctx, 0, "R"), t = scalar_input(ctx, 1, "T");
  const double decay = ctx.attr_float("decay_factor", 0.f), eps = ctx.attr_float("epsilon", 0.f);
  const double norm = ctx.attr_float("norm_coefficient", 0.f);
  const double r = lr / (1.0 + t * decay);
  update(ctx, n, 1, [&](double x, double g, double h, double, double* out) {
    const double gr = norm * x + g;
    const double h_new = h + gr * gr;
    out[0] = x - r * gr / (std::sqrt(h_new) + eps);
    out[1] = h_new;
  });
}

void momentum(OpContext& ctx) {
  const int64_t n = tensor_count(ctx, 3, 2);
  const double lr = scalar_input(ctx, 0, "R"), t = scalar_input(ctx, 1, "T");
  if (!ctx.has_attr("alpha") || !ctx.has_attr("beta") || !ctx.has_attr("mode") || !ctx.has_attr("norm_coefficient"))
    ctx.fail("alpha, beta, mode and norm_coefficient are required");
  const double alpha = ctx.attr_float("alpha", 0.f), norm = ctx.attr_float("norm_coefficient", 0.f);
  // The first step takes the plain gradient as velocity.
  const double beta = t > 0 ? static_cast<double>(ctx.attr_float("beta", 0.f)) : 1.0;
  const std::string mode = ctx.attr_string("mode", "standard");
  if (mode != "standard" && mode != "nesterov") ctx.fail("unknown mode '" + mode + "'");
  const bool nesterov = mode == "nesterov";
  update(ctx, n, 1, [&](double x, double g, double v, double, double* out) {
    const double gr = norm * x + g;
    const double v_new = alpha * v + beta * gr;
    out[0] = nesterov ? x - lr * (gr + alpha * v_new) : x - lr * v_new;
    out[1] = v_new;
  });
}

void adam(OpContext& ctx) {
  const int64_t n = tensor_count(ctx, 4, 3);
  const double lr = scalar_input(ctx, 0, "R"), t = scalar_input(ctx, 1, "T");
  const double alpha = ctx.attr_float("alpha", 0.9f), beta = ctx.attr_float("beta", 0.999f);
  const double eps = ctx.attr_float("epsilon", 1e-6f);
  const double norm = ctx.attr_float("norm_coefficient", 0.f);
  const double norm_post = ctx.attr_float("norm_coefficient_post", 0.f);
  // Bias correction of both moments folded into the step size.
  const double r = t > 0 ? lr * std::sqrt(1.0 - std::pow(beta, t)) / (1.0 - std::pow(alpha, t)) : lr;
  update(ctx, n, 2, [&](double x, double g, double v, double h, double* out) {
    const double gr = norm * x + g;
    const double v_new = alpha * v + (1.0 - alpha) * gr;
    const double h_new = beta * h + (1.0 - beta) * gr * gr;
    const double x_new = x - r * (v_new / (std::sqrt(h_new) + eps));
    out[0] = (1.0 - norm_post) * x_new;
    out[1] = v_new;
    out[2] = h_new;
  });
}

}  // namespace

void register_training_optimizer_ops(OpRegistry& r) {
  r.add("Adagrad", adagrad, 1, kTrainingDomain);
  r.add("Adam", adam, 1, kTrainingDomain);
  r.add("Momentum", momentum, 1, kTrainingDomain);
}

}  // namespace qf
