#include <string>
#include <vector>

#include "export/graph_helpers.hpp"
#include "export/qdq_export.hpp"
#include "export/qdq_tensors.hpp"
#include "quant/calibration_node.hpp"
#include "util/error.hpp"

namespace qf::exporter {

using quant::CalibrationAttrs;
using quant::QType;

nlohmann::json quant_params_json(const Model& calibrated) {
  nlohmann::json tensors = nlohmann::json::object();
  for_each_const_graph(calibrated.graph, [&](const Graph& g) {
    for (const Node& n : g.nodes) {
      if (!quant::is_calibration_node(n)) continue;
      if (n.inputs.size() != 1 || n.outputs.size() != 1) fail(n, "needs exactly one input and one output");
      const CalibrationAttrs attrs = quant::read_calibration_attrs(n);
      nlohmann::json entry = {{"node", n.name},
                              {"kind", attrs.is_weight ? "weight" : "activation"},
                              {"dtype", quant::qtype_name(attrs.dtype)}};
      if (quant::is_integer(attrs.dtype)) {
        quant::QuantParams p;
        try {
          p = attrs.params();
        } catch (const Error& e) {
          fail(n, e.what());
        }
        entry["method"] = attrs.method;
        entry["axis"] = per_channel(p) ? p.axis : int64_t{-1};
        entry["symmetric"] = attrs.symmetric;
        entry["threshold_min"] = attrs.threshold_min;
        entry["threshold_max"] = attrs.threshold_max;
        entry["unsigned"] = attrs.unsigned_storage;
        entry["reduce_range"] = attrs.reduce_range;
        if (attrs.block_size > 0) entry["block_size"] = attrs.block_size;  // blocks along "axis"
        entry["scale"] = p.scale;
        // The zero point as stored in quantized_model.onnx (shifted when unsigned).
        const int32_t offset =
            quant::is_4bit(attrs.dtype)
                ? 0
                : storage_offset(quant::storage_dtype(attrs.dtype, attrs.symmetric, attrs.unsigned_storage));
        std::vector<int32_t> zero_point = p.zero_point;
        for (int32_t& z : zero_point) z += offset;
        entry["zero_point"] = zero_point;
        if (attrs.dtype == QType::Int16Ec) {
          std::vector<float> scale_low = p.scale;
          for (float& s : scale_low) s = quant::ec_low_scale(s);
          entry["scale_low"] = scale_low;  // the low int8 part's scale; both parts have zero point 0
        }
      }
      // Keyed by the quantized tensor; a second calibration node on the same tensor is keyed by its output.
      const std::string key = tensors.contains(n.inputs[0]) ? n.outputs[0] : n.inputs[0];
      tensors[key] = std::move(entry);
    }
  });
  return {{"tensors", std::move(tensors)}};
}

}  // namespace qf::exporter
