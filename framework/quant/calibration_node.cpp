#include "quant/calibration_node.hpp"

#include "util/error.hpp"

namespace qf::quant {

namespace {

[[noreturn]] void fail(const Node& node, const std::string& what) {
  throw Error("calibration node '" + node.name + "': " + what);
}

const Attribute& required(const Node& node, const std::string& name, Attribute::Kind kind) {
  const Attribute* a = node.attr(name);
  if (!a) fail(node, "missing attribute '" + name + "'");
  if (a->kind != kind) fail(node, "attribute '" + name + "' has the wrong type");
  return *a;
}

// An optional 0/1 int attribute: absent is false.
bool optional_flag(const Node& node, const std::string& name) {
  const Attribute* a = node.attr(name);
  if (!a) return false;
  if (a->kind != Attribute::Kind::Int) fail(node, "attribute '" + name + "' has the wrong type (int 0 or 1 expected)");
  if (a->i != 0 && a->i != 1) fail(node, "attribute '" + name + "' is " + std::to_string(a->i) + ", expected 0 or 1");
  return a->i == 1;
}

}  // namespace

bool is_calibration_node(const Node& node) { return node.domain == kQforgeDomain && node.op_type == kCalibrationOp; }

CalibrationAttrs read_calibration_attrs(const Node& node) {
  CalibrationAttrs c;
  const std::string kind = required(node, "kind", Attribute::Kind::String).s;
  if (kind != "activation" && kind != "weight") fail(node, "kind '" + kind + "' is not activation or weight");
  c.is_weight = kind == "weight";
  const std::string dtype = required(node, "dtype", Attribute::Kind::String).s;
  const auto q = parse_any_qtype(dtype);
  if (!q) fail(node, "dtype '" + dtype + "' is not one of int8, int16, int16-ec, int4, uint4, float16, float32");
  c.dtype = *q;
  if (const Attribute* m = node.attr("method"); m && m->kind == Attribute::Kind::String) c.method = m->s;
  if (const Attribute* a = node.attr("axis"); a && a->kind == Attribute::Kind::Int) c.axis = a->i;
  if (const Attribute* s = node.attr("symmetric"); s && s->kind == Attribute::Kind::Int) c.symmetric = s->i != 0;
  c.unsigned_storage = optional_flag(node, "unsigned");
  c.reduce_range = optional_flag(node, "reduce_range");
  if (const Attribute* b = node.attr("block_size")) {
    if (b->kind != Attribute::Kind::Int || b->i < 0) fail(node, "attribute 'block_size' must be an int >= 0");
    c.block_size = b->i;
  }
  if (is_integer(c.dtype)) {
    c.threshold_min = required(node, "threshold_min", Attribute::Kind::Floats).floats;
    c.threshold_max = required(node, "threshold_max", Attribute::Kind::Floats).floats;
    if (c.threshold_min.empty() || c.threshold_min.size() != c.threshold_max.size())
      fail(node, "threshold_min and threshold_max must have the same, non-zero length");
    if ((c.threshold_min.size() > 1 || c.block_size > 0) && c.axis < 0)
      fail(node, c.block_size > 0 ? "block_size needs an axis" : "per-channel thresholds need an axis");
    if (c.block_size > 0 && c.dtype == QType::Int16Ec) fail(node, "int16-ec has no blocked form");
  } else {
    if (const Attribute* a = node.attr("threshold_min")) c.threshold_min = a->floats;
    if (const Attribute* a = node.attr("threshold_max")) c.threshold_max = a->floats;
  }
  return c;
}

Node make_calibration_node(const std::string& name, const std::string& input, const std::string& output,
                           const CalibrationAttrs& attrs) {
  Node n;
  n.name = name;
  n.op_type = kCalibrationOp;
  n.domain = kQforgeDomain;
  n.inputs = {input};
  n.outputs = {output};
  n.attributes = {Attribute::of_string("kind", attrs.is_weight ? "weight" : "activation"),
                  Attribute::of_string("dtype", qtype_name(attrs.dtype)),
                  Attribute::of_string("method", attrs.method),
                  Attribute::of_int("axis", attrs.axis),
                  Attribute::of_int("symmetric", attrs.symmetric ? 1 : 0),
                  Attribute::of_floats("threshold_min", attrs.threshold_min),
                  Attribute::of_floats("threshold_max", attrs.threshold_max)};
  if (attrs.unsigned_storage) n.attributes.push_back(Attribute::of_int("unsigned", 1));
  if (attrs.reduce_range) n.attributes.push_back(Attribute::of_int("reduce_range", 1));
  if (attrs.block_size > 0) n.attributes.push_back(Attribute::of_int("block_size", attrs.block_size));
  return n;
}

}  // namespace qf::quant
