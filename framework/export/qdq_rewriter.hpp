// Rewrites the calibration nodes of a graph into the Q/DQ forms export_qdq documents (qdq_export.hpp),
// one graph at a time, with node and tensor names unique across the model and counts of what it wrote.
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "export/qdq_export.hpp"
#include "export/tensor_types.hpp"
#include "quant/calibration_node.hpp"

namespace qf::exporter {

class QdqRewriter {
 public:
  // `names`: every node and tensor name in use anywhere in the model. `microsoft_qdq`: the opset could
  // not be upgraded, every Q/DQ goes to com.microsoft.
  QdqRewriter(const TypeMap& types, int64_t model_opset, bool microsoft_qdq, std::unordered_set<std::string> names);

  // Replaces the calibration nodes of `g` (not of its nested graphs: call it on each).
  void rewrite(Graph& g);
  const ExportInfo& info() const { return info_; }

 private:
  struct GraphEdit;     // one graph's rewrite in progress
  struct IntegerPoint;  // what the Q/DQ pairs of one integer calibration node share

  std::string fresh(const std::string& base);
  const TensorType* type_of(const std::string& tensor) const;
  void check(const Node& node, const std::string& x, const quant::QuantParams& p, const Tensor* weight) const;
  void add_value_info(Graph& g, const std::string& tensor, DType dtype, const std::string& like);

  void rewrite_point(GraphEdit& e, const Node& node);
  void write_float32(GraphEdit& e, const std::string& x, const std::string& y, const std::string& base);
  void write_float16(GraphEdit& e, const std::string& x, const std::string& y, const std::string& base);
  void write_integer(GraphEdit& e, const Node& node, const quant::CalibrationAttrs& attrs,
                     const quant::QuantParams& params, const Tensor* weight, const std::string& x, const std::string& y,
                     const std::string& base);
  void write_error_compensated(GraphEdit& e, const IntegerPoint& point, const quant::QuantParams& params,
                               bool stored_weight, const std::string& y);
  void write_pair(GraphEdit& e, const IntegerPoint& point, const std::string& part, const quant::QuantParams& p,
                  const std::string& in, const Tensor* stored, const std::string& out);
  bool write_scalar_pair(GraphEdit& e, const quant::QuantParams& p, const std::string& x, const std::string& domain,
                         const std::string& base, const std::string& in, const std::string& out);
  static void reroute_removed_outputs(GraphEdit& e);
  static void drop_unused_float_weights(GraphEdit& e);

  const TypeMap& types_;
  const int64_t model_opset_;
  const bool microsoft_qdq_;
  std::unordered_set<std::string> names_;
  ExportInfo info_;
};

}  // namespace qf::exporter
