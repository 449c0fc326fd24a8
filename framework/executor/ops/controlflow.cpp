// Control flow: If, Loop and Scan. Bodies run through the executor's subgraph runner, which resolves
// outer-scope names itself; these kernels only feed the formal inputs and collect the outputs.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "executor/broadcast.hpp"
#include "executor/op_registry.hpp"

namespace qf {
namespace {

// A single-element condition tensor as a bool.
bool truthy(const OpContext& ctx, const Tensor& t, const char* what) {
  if (t.numel() != 1) ctx.fail(std::string(what) + " must have one element, got shape " + shape_str(t.shape()));
  if (t.dtype() == DType::Bool) return t.data<bool>()[0];
  return t.as_double(0) != 0.0;
}

// The element at `index` along `axis`, with that axis removed.
Tensor slice_axis(const Tensor& t, int64_t axis, int64_t index) {
  const Shape& s = t.shape();
  Shape out_shape;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < t.rank(); ++i) {
    if (i < axis) outer *= s[static_cast<size_t>(i)];
    if (i > axis) inner *= s[static_cast<size_t>(i)];
    if (i != axis) out_shape.push_back(s[static_cast<size_t>(i)]);
  }
  Tensor out(t.dtype(), out_shape);
  const size_t chunk = static_cast<size_t>(inner) * dtype_size(t.dtype());
  const int64_t len = s[static_cast<size_t>(axis)];
  const auto* src = static_cast<const std::byte*>(t.raw());
  auto* dst = static_cast<std::byte*>(out.raw());
  if (chunk == 0) return out;
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + static_cast<size_t>(o) * chunk, src + static_cast<size_t>(o * len + index) * chunk, chunk);
  return out;
}

// Shape/dtype a body output would have per iteration, from its value info (for zero-iteration results).
Tensor empty_stack_from_info(const ValueInfo& info, int64_t axis) {
  Shape shape;
  if (info.shape) {
    for (const Dim& d : *info.shape) {
      if (!d.value) {  // unknown per-iteration shape: fall back to a 1-D empty tensor
        shape.clear();
        axis = 0;
        break;
      }
      shape.push_back(*d.value);
    }
  }
  axis = std::clamp<int64_t>(axis, 0, static_cast<int64_t>(shape.size()));
  shape.insert(shape.begin() + axis, 0);
  return Tensor(info.dtype == DType::Undefined ? DType::Float32 : info.dtype, shape);
}

// Stacks equally shaped parts along a new axis `axis` (in [0, rank]). `parts` must not be empty.
Tensor stack_axis(const OpContext& ctx, const std::vector<Tensor>& parts, int64_t axis, bool reversed) {
  const Tensor& first = parts.front();
  for (const Tensor& p : parts)
    if (p.shape() != first.shape() || p.dtype() != first.dtype())
      ctx.fail("scan output changes shape or type between iterations: " + shape_str(first.shape()) + " vs " +
               shape_str(p.shape()));
  Shape shape = first.shape();
  shape.insert(shape.begin() + axis, static_cast<int64_t>(parts.size()));
  Tensor out(first.dtype(), shape);
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= first.shape()[static_cast<size_t>(i)];
  const size_t part_bytes = first.nbytes();
  const size_t chunk = outer == 0 ? 0 : part_bytes / static_cast<size_t>(outer);
  if (chunk == 0) return out;
  const int64_t count = static_cast<int64_t>(parts.size());
  auto* dst = static_cast<std::byte*>(out.raw());
  for (int64_t k = 0; k < count; ++k) {
    const auto* src = static_cast<const std::byte*>(parts[static_cast<size_t>(reversed ? count - 1 - k : k)].raw());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + static_cast<size_t>(o * count + k) * chunk, src + static_cast<size_t>(o) * chunk, chunk);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

void if_kernel(OpContext& ctx) {
  const bool cond = truthy(ctx, ctx.input(0), "cond");
  const Graph* branch = ctx.attr_graph(cond ? "then_branch" : "else_branch");
  if (!branch) ctx.fail(std::string("missing ") + (cond ? "then_branch" : "else_branch"));
  std::vector<Tensor> outs = ctx.run_subgraph(*branch, {});
  if (outs.size() != ctx.num_outputs())
    ctx.fail("branch produced " + std::to_string(outs.size()) + " outputs, node has " +
             std::to_string(ctx.num_outputs()));
  for (size_t i = 0; i < outs.size(); ++i) ctx.set_output(i, std::move(outs[i]));
}

void loop_kernel(OpContext& ctx) {
  const Graph* body = ctx.attr_graph("body");
  if (!body) ctx.fail("missing body");
  const bool has_trip_count = ctx.has_input(0);
  const bool has_cond = ctx.has_input(1);
  int64_t trip_count = std::numeric_limits<int64_t>::max();
  if (has_trip_count) {
    if (ctx.input(0).numel() != 1) ctx.fail("M must have one element, got " + shape_str(ctx.input(0).shape()));
    trip_count = ctx.input(0).as_int64(0);
  }
  bool cond = has_cond ? truthy(ctx, ctx.input(1), "cond") : true;

  const size_t num_carried = ctx.num_inputs() > 2 ? ctx.num_inputs() - 2 : 0;
  if (body->inputs.size() != num_carried + 2)
    ctx.fail("body has " + std::to_string(body->inputs.size()) + " inputs, expected " +
             std::to_string(num_carried + 2));
  if (body->outputs.size() < num_carried + 1)
    ctx.fail("body has " + std::to_string(body->outputs.size()) + " outputs, expected at least " +
             std::to_string(num_carried + 1));
  const size_t num_scan = body->outputs.size() - 1 - num_carried;

  std::vector<Tensor> body_inputs(num_carried + 2);
  for (size_t i = 0; i < num_carried; ++i) body_inputs[i + 2] = ctx.input(i + 2);
  std::vector<std::vector<Tensor>> scans(num_scan);
  int64_t iter = 0;
  for (; iter < trip_count && cond; ++iter) {
    body_inputs[0] = Tensor::scalar<int64_t>(iter);
    body_inputs[1] = Tensor::scalar<bool>(cond);
    std::vector<Tensor> outs = ctx.run_subgraph(*body, body_inputs);
    if (outs.size() != body->outputs.size())
      ctx.fail("body returned " + std::to_string(outs.size()) + " values, expected " +
               std::to_string(body->outputs.size()));
    if (has_cond) cond = truthy(ctx, outs[0], "body condition output");  // ignored without a cond input
    for (size_t i = 0; i < num_carried; ++i) body_inputs[i + 2] = std::move(outs[i + 1]);
    for (size_t k = 0; k < num_scan; ++k) scans[k].push_back(std::move(outs[1 + num_carried + k]));
  }

  for (size_t i = 0; i < num_carried && i < ctx.num_outputs(); ++i) ctx.set_output(i, body_inputs[i + 2]);
  for (size_t k = 0; k < num_scan && num_carried + k < ctx.num_outputs(); ++k) {
    Tensor stacked = scans[k].empty() ? empty_stack_from_info(body->outputs[1 + num_carried + k], 0)
                                      : stack_axis(ctx, scans[k], 0, false);
    ctx.set_output(num_carried + k, std::move(stacked));
  }
}

// Runs one scan over `length` steps. Scan inputs are sliced along their axes (reversed when the
// direction is 1); returns final states and, per scan output, the per-iteration values in step order.
struct ScanResult {
  std::vector<Tensor> states;
  std::vector<std::vector<Tensor>> outputs;
};

ScanResult run_scan(const OpContext& ctx, const Graph& body, std::vector<Tensor> states,
                    const std::vector<Tensor>& inputs, const std::vector<int64_t>& input_axes,
                    const std::vector<int64_t>& input_dirs, int64_t length) {
  const size_t num_states = states.size();
  const size_t num_inputs = inputs.size();
  if (body.inputs.size() != num_states + num_inputs)
    ctx.fail("body has " + std::to_string(body.inputs.size()) + " inputs, expected " +
             std::to_string(num_states + num_inputs));
  if (body.outputs.size() < num_states) ctx.fail("body has fewer outputs than state variables");
  const size_t num_outputs = body.outputs.size() - num_states;
  ScanResult result;
  result.outputs.resize(num_outputs);
  std::vector<Tensor> body_inputs(num_states + num_inputs);
  for (size_t i = 0; i < num_states; ++i) body_inputs[i] = std::move(states[i]);
  for (int64_t t = 0; t < length; ++t) {
    for (size_t j = 0; j < num_inputs; ++j) {
      const int64_t index = input_dirs[j] != 0 ? length - 1 - t : t;
      body_inputs[num_states + j] = slice_axis(inputs[j], input_axes[j], index);
    }
    std::vector<Tensor> outs = ctx.run_subgraph(body, body_inputs);
    if (outs.size() != body.outputs.size())
      ctx.fail("body returned " + std::to_string(outs.size()) + " values, expected " +
               std::to_string(body.outputs.size()));
    for (size_t i = 0; i < num_states; ++i) body_inputs[i] = std::move(outs[i]);
    for (size_t k = 0; k < num_outputs; ++k) result.outputs[k].push_back(std::move(outs[num_states + k]));
  }
  result.states.assign(body_inputs.begin(), body_inputs.begin() + static_cast<std::ptrdiff_t>(num_states));
  return result;
}

// Per-input attribute list with a default, checked for length.
std::vector<int64_t> per_item_attr(const OpContext& ctx, const char* name, size_t count, int64_t dflt) {
  std::vector<int64_t> v = ctx.attr_ints(name, std::vector<int64_t>(count, dflt));
  if (v.size() != count)
    ctx.fail(std::string(name) + " has " + std::to_string(v.size()) + " entries, expected " + std::to_string(count));
  return v;
}

// Scan opset 9+: no batch axis, per-input/output axes and directions.
void scan9_kernel(OpContext& ctx) {
  const Graph* body = ctx.attr_graph("body");
  if (!body) ctx.fail("missing body");
  const int64_t num_scan_inputs = ctx.attr_int("num_scan_inputs", -1);
  if (num_scan_inputs < 1 || static_cast<size_t>(num_scan_inputs) > ctx.num_inputs())
    ctx.fail("num_scan_inputs is missing or out of range");
  const size_t num_inputs = static_cast<size_t>(num_scan_inputs);
  const size_t num_states = ctx.num_inputs() - num_inputs;
  if (body->outputs.size() < num_states) ctx.fail("body has fewer outputs than state variables");
  const size_t num_outputs = body->outputs.size() - num_states;

  std::vector<int64_t> in_axes = per_item_attr(ctx, "scan_input_axes", num_inputs, 0);
  const std::vector<int64_t> in_dirs = per_item_attr(ctx, "scan_input_directions", num_inputs, 0);
  std::vector<int64_t> out_axes = per_item_attr(ctx, "scan_output_axes", num_outputs, 0);
  const std::vector<int64_t> out_dirs = per_item_attr(ctx, "scan_output_directions", num_outputs, 0);

  std::vector<Tensor> states, inputs;
  for (size_t i = 0; i < num_states; ++i) states.push_back(ctx.input(i));
  int64_t length = -1;
  for (size_t j = 0; j < num_inputs; ++j) {
    const Tensor& in = ctx.input(num_states + j);
    in_axes[j] = normalize_axis(in_axes[j], in.rank());
    if (in.rank() == 0) ctx.fail("scan input " + std::to_string(j) + " is a scalar");
    const int64_t len = in.dim(in_axes[j]);
    if (length >= 0 && len != length)
      ctx.fail("scan inputs have different sequence lengths (" + std::to_string(length) + " vs " + std::to_string(len) +
               ")");
    length = len;
    inputs.push_back(in);
  }

  ScanResult r = run_scan(ctx, *body, std::move(states), inputs, in_axes, in_dirs, length);
  for (size_t i = 0; i < num_states && i < ctx.num_outputs(); ++i) ctx.set_output(i, r.states[i]);
  for (size_t k = 0; k < num_outputs && num_states + k < ctx.num_outputs(); ++k) {
    Tensor stacked;
    if (r.outputs[k].empty()) {
      const ValueInfo& info = body->outputs[num_states + k];
      const int64_t rank = info.shape ? static_cast<int64_t>(info.shape->size()) : 0;
      stacked = empty_stack_from_info(info, out_axes[k] < 0 ? out_axes[k] + rank + 1 : out_axes[k]);
    } else {
      const int64_t axis = normalize_axis(out_axes[k], r.outputs[k].front().rank() + 1);
      stacked = stack_axis(ctx, r.outputs[k], axis, out_dirs[k] != 0);
    }
    ctx.set_output(num_states + k, std::move(stacked));
  }
}

// Scan opset 8: axis 0 of every input is a batch axis, axis 1 the sequence; optional sequence_lens.
void scan8_kernel(OpContext& ctx) {
  const Graph* body = ctx.attr_graph("body");
  if (!body) ctx.fail("missing body");
  const int64_t num_scan_inputs = ctx.attr_int("num_scan_inputs", -1);
  if (num_scan_inputs < 1 || static_cast<size_t>(num_scan_inputs) + 1 > ctx.num_inputs())
    ctx.fail("num_scan_inputs is missing or out of range");
  const size_t num_inputs = static_cast<size_t>(num_scan_inputs);
  const size_t num_states = ctx.num_inputs() - 1 - num_inputs;
  if (body->outputs.size() < num_states) ctx.fail("body has fewer outputs than state variables");
  const size_t num_outputs = body->outputs.size() - num_states;
  const std::vector<int64_t> dirs = per_item_attr(ctx, "directions", num_inputs, 0);

  int64_t batch = -1, max_len = -1;
  auto check_batch = [&](const Tensor& t, int64_t min_rank) {
    if (t.rank() < min_rank) ctx.fail("Scan-8 input " + shape_str(t.shape()) + " lacks batch/sequence axes");
    if (batch >= 0 && t.dim(0) != batch) ctx.fail("inputs disagree on the batch size");
    batch = t.dim(0);
  };
  for (size_t i = 0; i < num_states; ++i) check_batch(ctx.input(1 + i), 1);
  for (size_t j = 0; j < num_inputs; ++j) {
    const Tensor& in = ctx.input(1 + num_states + j);
    check_batch(in, 2);
    if (max_len >= 0 && in.dim(1) != max_len) ctx.fail("scan inputs have different sequence lengths");
    max_len = in.dim(1);
  }
  std::vector<int64_t> lengths(static_cast<size_t>(batch), max_len);
  if (ctx.has_input(0)) {
    lengths = ctx.input(0).to_int64_vector();
    if (static_cast<int64_t>(lengths.size()) != batch) ctx.fail("sequence_lens must have batch_size elements");
    for (int64_t len : lengths)
      if (len < 0 || len > max_len) ctx.fail("sequence_lens value " + std::to_string(len) + " is out of range");
  }

  std::vector<std::vector<Tensor>> final_states(num_states);
  std::vector<std::vector<Tensor>> outputs(num_outputs);  // per batch, [max_len, ...] (zero padded)
  const std::vector<int64_t> axes(num_inputs, 0);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Tensor> states, inputs;
    for (size_t i = 0; i < num_states; ++i) states.push_back(slice_axis(ctx.input(1 + i), 0, b));
    for (size_t j = 0; j < num_inputs; ++j) {
      // Keep only this row's valid prefix so reverse scanning starts at its last valid step.
      Tensor row = slice_axis(ctx.input(1 + num_states + j), 0, b);
      const int64_t len = lengths[static_cast<size_t>(b)];
      if (len != max_len) {
        Shape s = row.shape();
        s[0] = len;
        Tensor prefix(row.dtype(), s);
        std::memcpy(prefix.raw(), row.raw(), prefix.nbytes());
        row = prefix;
      }
      inputs.push_back(row);
    }
    ScanResult r = run_scan(ctx, *body, std::move(states), inputs, axes, dirs, lengths[static_cast<size_t>(b)]);
    for (size_t i = 0; i < num_states; ++i) final_states[i].push_back(r.states[i]);
    for (size_t k = 0; k < num_outputs; ++k) {
      if (r.outputs[k].empty()) ctx.fail("Scan-8 with an empty sequence is not supported");
      Tensor seq = stack_axis(ctx, r.outputs[k], 0, false);
      if (seq.dim(0) != max_len) {
        Shape s = seq.shape();
        s[0] = max_len;
        Tensor padded(seq.dtype(), s);
        std::memcpy(padded.raw(), seq.raw(), seq.nbytes());
        seq = padded;
      }
      outputs[k].push_back(seq);
    }
  }
  if (batch == 0) ctx.fail("Scan-8 with batch size 0 is not supported");
  for (size_t i = 0; i < num_states && i < ctx.num_outputs(); ++i)
    ctx.set_output(i, stack_axis(ctx, final_states[i], 0, false));
  for (size_t k = 0; k < num_outputs && num_states + k < ctx.num_outputs(); ++k)
    ctx.set_output(num_states + k, stack_axis(ctx, outputs[k], 0, false));
}

void scan_kernel(OpContext& ctx) {
  if (ctx.opset() >= 9) scan9_kernel(ctx);
  else scan8_kernel(ctx);
}

}  // namespace

void register_controlflow_ops(OpRegistry& r) {
  r.add("If", if_kernel, 1);
  r.add("Loop", loop_kernel, 1);
  r.add("Scan", scan_kernel, 8);
}

}  // namespace qf
