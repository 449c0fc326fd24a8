// com.microsoft.MatMulNBits export of 4-bit blocked MatMul weights (ONNX Runtime's contrib operator):
//   Y = A @ dequant(B)   with B given transposed and packed: uint8 [N, n_blocks, block_size / 2], the codes
//   of column n, block b, low nibble first along K; scales float [N * n_blocks]; zero points (optional,
//   default 8) uint8 [N * ceil(n_blocks / 2)], packed the same way; attributes K, N, bits = 4, block_size,
//   accuracy_level 0 (A stays float32, so ORT dequantizes and computes in float).
// Codes are unsigned: int4 q in [-8, 7] with zero point z is stored as q + 8 with zero point z + 8, which
// dequantizes to the same (q - z) * scale.
#include <algorithm>
#include <map>
#include <set>

#include "export/weight_only_export.hpp"
#include "quant/calibration_node.hpp"
#include "util/error.hpp"

namespace qf::exporter {

namespace {

constexpr int64_t kBits = 4;

struct Packed {
  Tensor b, scales, zero_points;  // zero_points undefined when every one is the default 8
};

// Packs weight [K, N] (4-bit blocked along axis 0) for MatMulNBits.
Packed pack_matmul_nbits(const Tensor& w, const quant::QuantParams& p) {
  const int64_t k = w.dim(0), n = w.dim(1), bs = p.block_size, nb = quant::num_blocks(k, bs);
  const bool is_signed = p.qtype == quant::QType::Int4;
  const int32_t shift = is_signed ? 8 : 0;
  const Tensor q = quantize_blocked_weight(w, p, is_signed ? DType::Int8 : DType::UInt8);
  Packed out{Tensor(DType::UInt8, {n, nb, bs / 2}), Tensor(DType::Float32, {n * nb}), Tensor()};
  uint8_t* b = out.b.data<uint8_t>();
  float* s = out.scales.data<float>();
  std::vector<uint8_t> zp(static_cast<size_t>(n * nb));
  bool default_zp = true;
  for (int64_t c = 0; c < n; ++c)
    for (int64_t blk = 0; blk < nb; ++blk) {
      const size_t e = static_cast<size_t>(blk * n + c);  // the blocked layout [nb, N]
      s[c * nb + blk] = p.scale[e];
      const int32_t z = p.zero_point[e] + shift;
      zp[static_cast<size_t>(c * nb + blk)] = static_cast<uint8_t>(z);
      default_zp = default_zp && z == 8;
      for (int64_t j = 0; j < bs; ++j) {
        const int64_t row = blk * bs + j;
        // Rows past K (the last block's padding) get the zero point's code: they dequantize to 0.
        const int32_t code =
            row < k ? (is_signed ? q.data<int8_t>()[row * n + c] : q.data<uint8_t>()[row * n + c]) + shift : z;
        uint8_t& byte = b[(c * nb + blk) * (bs / 2) + j / 2];
        byte = static_cast<uint8_t>(byte | ((code & 0x0F) << (4 * (j % 2))));
      }
    }
  if (!default_zp) {
    const int64_t per_col = (nb + 1) / 2;
    out.zero_points = Tensor(DType::UInt8, {n * per_col});
    uint8_t* z = out.zero_points.data<uint8_t>();
    for (int64_t c = 0; c < n; ++c)
      for (int64_t blk = 0; blk < nb; ++blk)
        z[c * per_col + blk / 2] = static_cast<uint8_t>(
            z[c * per_col + blk / 2] | ((zp[static_cast<size_t>(c * nb + blk)] & 0x0F) << (4 * (blk % 2))));
  }
  return out;
}

// The 4-bit blocked [K, N] weight calibration nodes (blocks along K), by output tensor.
std::map<std::string, size_t> nbits_candidates(const Graph& g) {
  std::map<std::string, size_t> out;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!quant::is_calibration_node(n) || n.inputs.size() != 1 || n.outputs.size() != 1) continue;
    const auto a = quant::read_calibration_attrs(n);
    const auto w = g.initializers.find(n.inputs[0]);
    if (!a.is_weight || !quant::is_4bit(a.dtype) || a.block_size < 16 || a.axis != 0 || w == g.initializers.end() ||
        w->second.rank() != 2 || w->second.dtype() != DType::Float32)
      continue;
    out[n.outputs[0]] = i;
  }
  // Only when every reader is a MatMul's input 1: other readers still need the calibration node.
  for (const Node& n : g.nodes)
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (out.count(n.inputs[k]) && !(n.op_type == "MatMul" && n.domain.empty() && k == 1)) out.erase(n.inputs[k]);
  return out;
}

}  // namespace

// One packed weight: its initializer names and the MatMulNBits attributes.
struct NBitsWeight {
  std::string b, scales, zero_points;  // zero_points empty: the default 8
  int64_t k = 0, n = 0, block_size = 0;
};

std::optional<NBitsExport> export_matmul_nbits(const Model& calibrated) {
  Model m = calibrated;
  Graph& g = m.graph;
  const std::map<std::string, size_t> candidates = nbits_candidates(g);
  if (candidates.empty()) return std::nullopt;
  std::map<std::string, NBitsWeight> packed_of;  // calibration output -> packed weight
  for (const auto& [output, index] : candidates) {
    const Node& cal = g.nodes[index];
    const quant::QuantParams p = quant::read_calibration_attrs(cal).params();
    const Tensor& w = g.initializers.at(cal.inputs[0]);
    const Packed packed = pack_matmul_nbits(w, p);
    const std::string base = cal.name + "_nbits";
    NBitsWeight nw{base + "_B", base + "_scales", packed.zero_points.defined() ? base + "_zero_points" : "",
                   w.dim(0),    w.dim(1),         p.block_size};
    g.initializers[nw.b] = packed.b;
    g.initializers[nw.scales] = packed.scales;
    if (!nw.zero_points.empty()) g.initializers[nw.zero_points] = packed.zero_points;
    packed_of[output] = nw;
  }
  NBitsExport out;
  std::vector<Node> nodes;
  for (Node& n : g.nodes) {
    if (quant::is_calibration_node(n) && candidates.count(n.outputs[0])) continue;  // folded into MatMulNBits
    const auto it = n.op_type == "MatMul" && n.domain.empty() && n.inputs.size() == 2 ? packed_of.find(n.inputs[1])
                                                                                      : packed_of.end();
    if (it == packed_of.end()) {
      nodes.push_back(std::move(n));
      continue;
    }
    const NBitsWeight& nw = it->second;
    n.op_type = "MatMulNBits";
    n.domain = "com.microsoft";
    n.inputs = {n.inputs[0], nw.b, nw.scales};
    if (!nw.zero_points.empty()) n.inputs.push_back(nw.zero_points);
    n.attributes = {Attribute::of_int("K", nw.k), Attribute::of_int("N", nw.n), Attribute::of_int("bits", kBits),
                    Attribute::of_int("block_size", nw.block_size), Attribute::of_int("accuracy_level", 0)};
    nodes.push_back(std::move(n));
    ++out.matmul_nbits;
  }
  g.nodes = std::move(nodes);
  // The float weights now packed go away unless something else reads them.
  std::set<std::string> read;
  for (const Node& n : g.nodes) read.insert(n.inputs.begin(), n.inputs.end());
  for (const auto& [output, index] : candidates)
    if (const std::string& w = calibrated.graph.nodes[index].inputs[0]; !read.count(w)) g.initializers.erase(w);
  m.opset_imports["com.microsoft"] = std::max<int64_t>(m.opset("com.microsoft"), 1);
  out.model = export_qdq(m, &out.info);
  return out;
}

}  // namespace qf::exporter
