#include "pipeline/layer_vectors.hpp"

#include "util/error.hpp"

namespace qf::pipeline {

namespace {

std::vector<int64_t> ints_attr(const Node& node, const std::string& name, std::vector<int64_t> fallback) {
  const Attribute* a = node.attr(name);
  return a && !a->ints.empty() ? a->ints : fallback;
}

std::optional<LayerGeometry> conv_geometry(const Node& node, const Shape& w) {
  if (w.size() < 3) return std::nullopt;
  const size_t nd = w.size() - 2;
  LayerGeometry g;
  g.conv = true;
  g.groups = node.int_attr("group", 1);
  g.kernel.assign(w.begin() + 2, w.end());
  g.in_features = w[1];
  for (int64_t k : g.kernel) g.in_features *= k;
  g.strides = ints_attr(node, "strides", std::vector<int64_t>(nd, 1));
  g.dilations = ints_attr(node, "dilations", std::vector<int64_t>(nd, 1));
  const std::vector<int64_t> pads = ints_attr(node, "pads", std::vector<int64_t>(2 * nd, 0));
  if (g.strides.size() != nd || g.dilations.size() != nd || pads.size() != 2 * nd || g.groups < 1 ||
      w[0] % g.groups != 0)
    return std::nullopt;
  g.pad_begin.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(nd));
  g.pad_end.assign(pads.begin() + static_cast<std::ptrdiff_t>(nd), pads.end());
  if (const Attribute* a = node.attr("auto_pad"); a && !a->s.empty()) g.auto_pad = a->s;
  return g;
}

// Resolves auto_pad for an input of spatial size `in` (ONNX: SAME_UPPER puts the extra pad at the end).
void resolve_pads(const LayerGeometry& g, const std::vector<int64_t>& in, std::vector<int64_t>& begin,
                  std::vector<int64_t>& end) {
  begin = g.pad_begin, end = g.pad_end;
  if (g.auto_pad == "NOTSET") return;
  for (size_t d = 0; d < in.size(); ++d) {
    if (g.auto_pad == "VALID") {
      begin[d] = end[d] = 0;
      continue;
    }
    const int64_t out = (in[d] + g.strides[d] - 1) / g.strides[d];
    const int64_t extent = (g.kernel[d] - 1) * g.dilations[d] + 1;
    const int64_t total = std::max<int64_t>(0, (out - 1) * g.strides[d] + extent - in[d]);
    begin[d] = g.auto_pad == "SAME_LOWER" ? (total + 1) / 2 : total / 2;
    end[d] = total - begin[d];
  }
}

// Copies the patch of output position `out_index` (row-major over `out`) into `dst` for channels [c0, c0 + cg).
void copy_patch(const float* x, const std::vector<int64_t>& in, const std::vector<int64_t>& out, int64_t out_index,
                const LayerGeometry& g, const std::vector<int64_t>& pad, int64_t c0, int64_t cg, float* dst) {
  const size_t nd = in.size();
  std::vector<int64_t> origin(nd), pos(nd);
  for (size_t d = nd; d-- > 0;) {
    origin[d] = (out_index % out[d]) * g.strides[d] - pad[d];
    out_index /= out[d];
  }
  int64_t in_size = 1, kernel_size = 1;
  for (size_t d = 0; d < nd; ++d) in_size *= in[d], kernel_size *= g.kernel[d];
  for (int64_t kk = 0; kk < kernel_size; ++kk) {
    int64_t rest = kk, offset = 0;
    bool inside = true;
    for (size_t d = nd; d-- > 0;) {
      pos[d] = origin[d] + (rest % g.kernel[d]) * g.dilations[d];
      rest /= g.kernel[d];
      inside = inside && pos[d] >= 0 && pos[d] < in[d];
    }
    for (size_t d = 0; inside && d < nd; ++d) offset = offset * in[d] + pos[d];
    for (int64_t c = 0; c < cg; ++c) dst[c * kernel_size + kk] = inside ? x[(c0 + c) * in_size + offset] : 0.0f;
  }
}

LayerVectors conv_vectors(const LayerGeometry& g, const Tensor& input, const std::string& node) {
  const Shape& s = input.shape();
  const size_t nd = g.kernel.size();
  int64_t kernel_size = 1;
  for (int64_t k : g.kernel) kernel_size *= k;
  if (s.size() != nd + 2 || s[1] % g.groups != 0 || s[1] / g.groups * kernel_size != g.in_features)
    throw Error("node '" + node + "': input " + shape_str(s) + " does not match its weight");
  const std::vector<int64_t> in(s.begin() + 2, s.end());
  std::vector<int64_t> begin, end, out(nd);
  resolve_pads(g, in, begin, end);
  int64_t positions = 1;
  for (size_t d = 0; d < nd; ++d) {
    out[d] = (in[d] + begin[d] + end[d] - ((g.kernel[d] - 1) * g.dilations[d] + 1)) / g.strides[d] + 1;
    positions *= std::max<int64_t>(out[d], 0);
  }
  const int64_t batch = s[0], cg = s[1] / g.groups, K = g.in_features;
  int64_t in_size = 1;
  for (int64_t d : in) in_size *= d;
  LayerVectors v;
  v.rows = batch * positions;
  v.data.resize(static_cast<size_t>(g.groups * v.rows * K));
  const float* x = input.data<float>();
  for (int64_t grp = 0; grp < g.groups; ++grp)
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t p = 0; p < positions; ++p)
        copy_patch(x + n * s[1] * in_size, in, out, p, g, begin, grp * cg, cg,
                   v.data.data() + ((grp * v.rows) + n * positions + p) * K);
  return v;
}

}  // namespace

std::optional<LayerGeometry> layer_geometry(const Node& node, const Shape& w) {
  if (node.op_type == "Conv") return conv_geometry(node, w);
  if (w.size() != 2) return std::nullopt;
  LayerGeometry g;
  if (node.op_type == "MatMul") {
    g.in_features = w[0];
    return g;
  }
  if (node.op_type != "Gemm" || node.int_attr("transA", 0) != 0) return std::nullopt;
  g.in_features = node.int_attr("transB", 0) != 0 ? w[1] : w[0];
  return g;
}

LayerVectors layer_vectors(const LayerGeometry& g, const Tensor& input, const std::string& node) {
  if (input.dtype() != DType::Float32) throw Error("node '" + node + "': float32 input expected");
  if (g.conv) return conv_vectors(g, input, node);
  const Shape& s = input.shape();
  if (s.empty() || s.back() != g.in_features)
    throw Error("node '" + node + "': input " + shape_str(s) + " does not match its weight");
  LayerVectors v;
  v.rows = input.numel() / g.in_features;
  v.data.assign(input.data<float>(), input.data<float>() + input.numel());
  return v;
}

}  // namespace qf::pipeline
