#include "pipeline/units.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

namespace qf::pipeline {

namespace {

// Producers, readers and constants of a graph, and the matching helpers the recognisers share.
struct Index {
  const Graph& g;
  const std::set<std::string>& control;
  std::map<std::string, size_t> producer;
  std::map<std::string, std::vector<std::pair<size_t, size_t>>> readers;  // tensor -> (node, input)
  std::map<std::string, const Tensor*> constants;                         // initializers and Constant node values
  std::set<std::string> graph_outputs;

  Index(const Graph& graph, const std::set<std::string>& control_set) : g(graph), control(control_set) {
    for (const auto& [name, t] : g.initializers) constants[name] = &t;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      for (const auto& o : n.outputs)
        if (!o.empty()) producer[o] = i;
      for (size_t k = 0; k < n.inputs.size(); ++k)
        if (!n.inputs[k].empty()) readers[n.inputs[k]].push_back({i, k});
      if (n.op_type == "Constant" && n.domain.empty() && n.outputs.size() == 1)
        if (const Attribute* a = n.attr("value"); a && a->kind == Attribute::Kind::Tensor)
          constants[n.outputs[0]] = &a->t;
    }
    for (const auto& o : g.outputs) graph_outputs.insert(o.name);
  }

  const Node& node(size_t i) const { return g.nodes[i]; }
  bool is(size_t i, const char* op) const { return g.nodes[i].domain.empty() && g.nodes[i].op_type == op; }
  std::optional<size_t> made_by(const std::string& t, const char* op) const {
    const auto it = producer.find(t);
    return it != producer.end() && is(it->second, op) ? std::optional<size_t>(it->second) : std::nullopt;
  }
  // The readers of `t` that are `op` nodes (a tensor may feed several ops).
  std::vector<size_t> read_by(const std::string& t, const char* op) const {
    std::vector<size_t> out;
    if (const auto it = readers.find(t); it != readers.end())
      for (const auto& [n, k] : it->second)
        if (is(n, op) && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    return out;
  }
  std::optional<size_t> one_reader(const std::string& t, const char* op) const {
    const auto it = readers.find(t);
    if (it == readers.end() || it->second.size() != 1 || graph_outputs.count(t)) return std::nullopt;
    return is(it->second[0].first, op) ? std::optional<size_t>(it->second[0].first) : std::nullopt;
  }
  // Every element of a float constant within a relative tolerance of v.
  bool const_near(const std::string& t, double v, double tol = 1e-3) const {
    const auto it = constants.find(t);
    if (it == constants.end() || it->second->dtype() != DType::Float32 || it->second->numel() < 1) return false;
    for (int64_t i = 0; i < it->second->numel(); ++i)
      if (std::abs(it->second->as_double(i) - v) > tol * std::max(1.0, std::abs(v))) return false;
    return true;
  }
  bool is_const(const std::string& t) const { return constants.count(t) > 0; }
  // LayerNorm's epsilon: a small positive constant.
  bool is_epsilon(const std::string& t) const {
    const auto it = constants.find(t);
    if (it == constants.end() || it->second->dtype() != DType::Float32 || it->second->numel() != 1) return false;
    const double e = it->second->as_double(0);
    return e > 0 && e <= 1e-2;
  }
  // A constant holding -inf or a large negative value: what an exporter adds to masked scores.
  bool is_mask_constant(const std::string& t) const {
    const auto it = constants.find(t);
    if (it == constants.end() || it->second->dtype() != DType::Float32) return false;
    for (int64_t i = 0; i < it->second->numel(); ++i)
      if (it->second->as_double(i) <= -1e4) return true;
    return false;
  }
  // The other input of a two-input node, "" when `t` is not one of them.
  static std::string other(const Node& n, const std::string& t) {
    if (n.inputs.size() != 2) return "";
    return n.inputs[0] == t ? n.inputs[1] : n.inputs[1] == t ? n.inputs[0] : "";
  }
};

// keepdims=1 and exactly the last axis (attribute, or input 1 from opset 13/18 on). A positive axis is
// checked against the rank of `like` (the unit's input, whose rank every reduced tensor of it shares).
bool reduces_last_axis(const Index& ix, size_t i, const std::string& like) {
  const Node& n = ix.node(i);
  if (n.int_attr("keepdims", 1) == 0) return false;
  std::vector<int64_t> axes;
  if (const Attribute* a = n.attr("axes"); a && a->kind == Attribute::Kind::Ints) axes = a->ints;
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    const auto it = ix.constants.find(n.inputs[1]);
    if (it == ix.constants.end()) return false;
    axes = it->second->to_int64_vector();
  }
  if (axes.size() != 1) return false;
  if (axes[0] == -1) return true;
  const ValueInfo* vi = ix.g.find_value_info(like);
  return vi && vi->shape && axes[0] == static_cast<int64_t>(vi->shape->size()) - 1;
}

// A unit's inner tensors stay inside: each member output but the result is read only by members and is
// no graph output. Otherwise fusing would hide a tensor something else reads.
bool closed(const Index& ix, const Unit& u) {
  for (size_t m : u.nodes)
    for (const auto& o : ix.node(m).outputs) {
      if (o.empty() || o == u.output) continue;
      if (ix.graph_outputs.count(o)) return false;
      if (const auto it = ix.readers.find(o); it != ix.readers.end())
        for (const auto& [r, k] : it->second)
          if (std::find(u.nodes.begin(), u.nodes.end(), r) == u.nodes.end()) return false;
    }
  return true;
}

void add_entries(const Index& ix, Unit& u, const std::string& x) {
  for (size_t m : u.nodes)
    for (size_t k = 0; k < ix.node(m).inputs.size(); ++k)
      if (ix.node(m).inputs[k] == x) u.entries.push_back({m, k});
}

// ---- LayerNorm ---------------------------------------------------------------------------------------

// From the variance: Add(var, eps) -> Sqrt -> Div(d, std) or Reciprocal + Mul(d, 1/std). Appends the
// nodes and returns the normalised tensor.
std::optional<std::string> match_norm_tail(const Index& ix, const std::string& var, const std::string& d,
                                           std::vector<size_t>& nodes) {
  const auto add = ix.one_reader(var, "Add");
  if (!add || !ix.is_epsilon(Index::other(ix.node(*add), var))) return std::nullopt;
  const auto sqrt = ix.one_reader(ix.node(*add).outputs[0], "Sqrt");
  if (!sqrt) return std::nullopt;
  nodes.insert(nodes.end(), {*add, *sqrt});
  const std::string& sd = ix.node(*sqrt).outputs[0];
  if (const auto div = ix.one_reader(sd, "Div"); div && ix.node(*div).inputs[0] == d && ix.node(*div).inputs[1] == sd) {
    nodes.push_back(*div);
    return ix.node(*div).outputs[0];
  }
  const auto rec = ix.one_reader(sd, "Reciprocal");
  if (!rec) return std::nullopt;
  const auto mul = ix.one_reader(ix.node(*rec).outputs[0], "Mul");
  if (!mul || Index::other(ix.node(*mul), ix.node(*rec).outputs[0]) != d) return std::nullopt;
  nodes.insert(nodes.end(), {*rec, *mul});
  return ix.node(*mul).outputs[0];
}

// The optional affine part: Mul(n, gamma) then Add(., beta), each with a constant.
std::string match_affine(const Index& ix, std::string n, std::vector<size_t>& nodes) {
  if (const auto mul = ix.one_reader(n, "Mul"); mul && ix.is_const(Index::other(ix.node(*mul), n))) {
    nodes.push_back(*mul);
    n = ix.node(*mul).outputs[0];
  }
  if (const auto add = ix.one_reader(n, "Add"); add && ix.is_const(Index::other(ix.node(*add), n))) {
    nodes.push_back(*add);
    n = ix.node(*add).outputs[0];
  }
  return n;
}

// d*d as Pow(d, 2) or Mul(d, d), read by a last-axis ReduceMean; returns (square node, mean node).
std::optional<std::pair<size_t, size_t>> match_mean_square(const Index& ix, const std::string& d,
                                                           const std::string& x) {
  std::vector<size_t> squares;
  for (size_t p : ix.read_by(d, "Pow"))
    if (ix.node(p).inputs[0] == d && ix.const_near(ix.node(p).inputs[1], 2.0)) squares.push_back(p);
  for (size_t m : ix.read_by(d, "Mul"))
    if (ix.node(m).inputs[0] == d && ix.node(m).inputs[1] == d) squares.push_back(m);
  for (size_t sq : squares)
    if (const auto r = ix.one_reader(ix.node(sq).outputs[0], "ReduceMean"); r && reduces_last_axis(ix, *r, x))
      return std::make_pair(sq, *r);
  return std::nullopt;
}

// ReduceMean(x) -> Sub(x, mean) -> square -> ReduceMean -> tail -> affine, anchored at the first mean.
std::optional<Unit> match_layernorm(const Index& ix, size_t r1) {
  if (!ix.is(r1, "ReduceMean") || !reduces_last_axis(ix, r1, ix.node(r1).inputs[0])) return std::nullopt;
  const std::string& x = ix.node(r1).inputs[0];
  const std::string& mean = ix.node(r1).outputs[0];
  const auto sub = ix.one_reader(mean, "Sub");
  if (!sub || ix.node(*sub).inputs[0] != x || ix.node(*sub).inputs[1] != mean) return std::nullopt;
  const std::string& d = ix.node(*sub).outputs[0];
  const auto ms = match_mean_square(ix, d, x);
  if (!ms) return std::nullopt;
  Unit u{UnitKind::LayerNorm, {r1, *sub, ms->first, ms->second}, {}, ""};
  const auto n = match_norm_tail(ix, ix.node(ms->second).outputs[0], d, u.nodes);
  if (!n) return std::nullopt;
  u.output = match_affine(ix, *n, u.nodes);
  add_entries(ix, u, x);
  return u;
}

// RMSNorm: square(x) -> ReduceMean -> tail (dividing x itself) -> optional Mul(gamma), anchored at the
// square. A square of a LayerNorm's centred tensor is taken by the LayerNorm first.
std::optional<Unit> match_rmsnorm(const Index& ix, size_t sq) {
  const Node& s = ix.node(sq);
  const bool square = (ix.is(sq, "Pow") && ix.const_near(s.inputs[1], 2.0)) ||
                      (ix.is(sq, "Mul") && s.inputs.size() == 2 && s.inputs[0] == s.inputs[1]);
  if (!square) return std::nullopt;
  const std::string& x = s.inputs[0];
  const auto r = ix.one_reader(s.outputs[0], "ReduceMean");
  if (!r || !reduces_last_axis(ix, *r, x)) return std::nullopt;
  Unit u{UnitKind::LayerNorm, {sq, *r}, {}, ""};
  const auto n = match_norm_tail(ix, ix.node(*r).outputs[0], x, u.nodes);
  if (!n) return std::nullopt;
  u.output = *n;
  if (const auto mul = ix.one_reader(*n, "Mul"); mul && ix.is_const(Index::other(ix.node(*mul), *n))) {
    u.nodes.push_back(*mul);
    u.output = ix.node(*mul).outputs[0];
  }
  add_entries(ix, u, x);
  return u;
}

// ---- GELU --------------------------------------------------------------------------------------------

// x * 0.5 * (1 + f) from o = 1 + f, in the orders exporters write: Mul(x, o) then Mul(., 0.5);
// Mul(Mul(x, 0.5), o); Mul(x, Mul(o, 0.5)). Appends the nodes and returns the result.
std::optional<std::string> match_half_product(const Index& ix, const std::string& x, const std::string& o,
                                              std::vector<size_t>& nodes) {
  const auto m = ix.one_reader(o, "Mul");
  if (!m) return std::nullopt;
  const std::string y = ix.node(*m).outputs[0];
  const std::string partner = Index::other(ix.node(*m), o);
  if (partner == x) {  // (x * o) * 0.5
    const auto half = ix.one_reader(y, "Mul");
    if (!half || !ix.const_near(Index::other(ix.node(*half), y), 0.5)) return std::nullopt;
    nodes.insert(nodes.end(), {*m, *half});
    return ix.node(*half).outputs[0];
  }
  if (const auto h = ix.made_by(partner, "Mul"); h && ix.const_near(Index::other(ix.node(*h), x), 0.5)) {
    nodes.insert(nodes.end(), {*h, *m});
    return y;
  }
  if (ix.const_near(partner, 0.5)) {  // x * (o * 0.5)
    const auto xm = ix.one_reader(y, "Mul");
    if (!xm || Index::other(ix.node(*xm), y) != x) return std::nullopt;
    nodes.insert(nodes.end(), {*m, *xm});
    return ix.node(*xm).outputs[0];
  }
  return std::nullopt;
}

// Erf(x / sqrt(2)) (Div by 1.4142 or Mul by 0.7071) -> Add 1 -> half product, anchored at the Erf.
std::optional<Unit> match_gelu_erf(const Index& ix, size_t e) {
  if (!ix.is(e, "Erf")) return std::nullopt;
  const std::string& arg = ix.node(e).inputs[0];
  std::string x;
  std::optional<size_t> scale = ix.made_by(arg, "Div");
  if (scale && ix.const_near(ix.node(*scale).inputs[1], std::sqrt(2.0))) {
    x = ix.node(*scale).inputs[0];
  } else if ((scale = ix.made_by(arg, "Mul"))) {
    const Node& m = ix.node(*scale);
    x = ix.const_near(m.inputs[1], std::sqrt(0.5))   ? m.inputs[0]
        : ix.const_near(m.inputs[0], std::sqrt(0.5)) ? m.inputs[1]
                                                     : "";
  }
  if (x.empty()) return std::nullopt;
  const auto add = ix.one_reader(ix.node(e).outputs[0], "Add");
  if (!add || !ix.const_near(Index::other(ix.node(*add), ix.node(e).outputs[0]), 1.0)) return std::nullopt;
  Unit u{UnitKind::Gelu, {*scale, e, *add}, {}, ""};
  const auto y = match_half_product(ix, x, ix.node(*add).outputs[0], u.nodes);
  if (!y) return std::nullopt;
  u.output = *y;
  add_entries(ix, u, x);
  return u;
}

// x^3 as Pow(x, 3) or Mul(Mul(x, x), x) (either order); returns x and appends the nodes.
std::string match_cube(const Index& ix, const std::string& t, std::vector<size_t>& nodes) {
  if (const auto p = ix.made_by(t, "Pow"); p && ix.const_near(ix.node(*p).inputs[1], 3.0)) {
    nodes.push_back(*p);
    return ix.node(*p).inputs[0];
  }
  const auto m = ix.made_by(t, "Mul");
  if (!m || ix.node(*m).inputs.size() != 2) return "";
  for (size_t side = 0; side < 2; ++side) {
    const std::string& sq = ix.node(*m).inputs[side];
    const std::string& x = ix.node(*m).inputs[1 - side];
    const auto s = ix.made_by(sq, "Mul");
    if (s && ix.node(*s).inputs[0] == x && ix.node(*s).inputs[1] == x) {
      nodes.insert(nodes.end(), {*s, *m});
      return x;
    }
  }
  return "";
}

// Tanh(sqrt(2/pi) * (x + 0.044715 x^3)) -> Add 1 -> half product, anchored at the Tanh.
std::optional<Unit> match_gelu_tanh(const Index& ix, size_t t) {
  if (!ix.is(t, "Tanh")) return std::nullopt;
  const std::string& arg = ix.node(t).inputs[0];
  const auto scale = ix.made_by(arg, "Mul");
  if (!scale) return std::nullopt;
  const Node& sm = ix.node(*scale);
  const bool c0 = ix.const_near(sm.inputs[0], std::sqrt(2.0 / std::numbers::pi));
  if (!c0 && !ix.const_near(sm.inputs[1], std::sqrt(2.0 / std::numbers::pi))) return std::nullopt;
  const auto sum = ix.made_by(sm.inputs[c0 ? 1 : 0], "Add");
  if (!sum) return std::nullopt;
  Unit u{UnitKind::Gelu, {}, {}, ""};
  std::string x;
  for (size_t side = 0; side < 2 && x.empty(); ++side) {
    const auto cubic = ix.made_by(ix.node(*sum).inputs[side], "Mul");
    if (!cubic) continue;
    const Node& c = ix.node(*cubic);
    const bool k0 = ix.const_near(c.inputs[0], 0.044715);
    if (!k0 && !ix.const_near(c.inputs[1], 0.044715)) continue;
    std::vector<size_t> nodes;
    const std::string cx = match_cube(ix, c.inputs[k0 ? 1 : 0], nodes);
    if (cx.empty() || ix.node(*sum).inputs[1 - side] != cx) continue;
    x = cx;
    u.nodes = nodes;
    u.nodes.insert(u.nodes.end(), {*cubic, *sum, *scale, t});
  }
  if (x.empty()) return std::nullopt;
  const auto add = ix.one_reader(ix.node(t).outputs[0], "Add");
  if (!add || !ix.const_near(Index::other(ix.node(*add), ix.node(t).outputs[0]), 1.0)) return std::nullopt;
  u.nodes.push_back(*add);
  const auto y = match_half_product(ix, x, ix.node(*add).outputs[0], u.nodes);
  if (!y) return std::nullopt;
  u.output = *y;
  add_entries(ix, u, x);
  return u;
}

// ---- Softmax -----------------------------------------------------------------------------------------

// ReduceMax(x) -> Sub(x, max) -> Exp -> ReduceSum -> Div(e, sum), anchored at the ReduceMax.
std::optional<Unit> match_softmax_decomposed(const Index& ix, size_t rm) {
  if (!ix.is(rm, "ReduceMax") || !reduces_last_axis(ix, rm, ix.node(rm).inputs[0])) return std::nullopt;
  const std::string& x = ix.node(rm).inputs[0];
  const auto sub = ix.one_reader(ix.node(rm).outputs[0], "Sub");
  if (!sub || ix.node(*sub).inputs[0] != x) return std::nullopt;
  const auto exp = ix.one_reader(ix.node(*sub).outputs[0], "Exp");
  if (!exp) return std::nullopt;
  const std::string& e = ix.node(*exp).outputs[0];
  const auto sums = ix.read_by(e, "ReduceSum");
  if (sums.size() != 1 || !reduces_last_axis(ix, sums[0], x)) return std::nullopt;
  const auto divs = ix.read_by(e, "Div");
  if (divs.size() != 1 || ix.node(divs[0]).inputs[0] != e || ix.node(divs[0]).inputs[1] != ix.node(sums[0]).outputs[0])
    return std::nullopt;
  Unit u{UnitKind::Softmax, {rm, *sub, *exp, sums[0], divs[0]}, {}, ix.node(divs[0]).outputs[0]};
  add_entries(ix, u, x);
  return u;
}

// The scores input of a masking node whose other operand is a control tensor (or a -inf constant):
// Add/Mul(scores, m) either way round, Sub(scores, m), Where(cond, scores, m) either way round.
std::optional<size_t> masked_scores_input(const Index& ix, size_t n) {
  const Node& node = ix.node(n);
  auto is_mask = [&](const std::string& t, bool constants_count) {
    return ix.control.count(t) > 0 || (constants_count && ix.is_mask_constant(t));
  };
  if (node.inputs.size() == 2 && (ix.is(n, "Add") || ix.is(n, "Mul") || ix.is(n, "Sub"))) {
    const bool constants_count = !ix.is(n, "Mul");  // Mul by a constant is a scale, not a mask
    if (is_mask(node.inputs[1], constants_count) && !is_mask(node.inputs[0], true)) return 0;
    if (!ix.is(n, "Sub") && is_mask(node.inputs[0], constants_count) && !is_mask(node.inputs[1], true)) return 1;
  }
  if (node.inputs.size() == 3 && ix.is(n, "Where")) {
    auto fill = [&](const std::string& t) { return ix.control.count(t) > 0 || ix.is_const(t); };
    if (fill(node.inputs[2]) && !fill(node.inputs[1])) return 1;
    if (fill(node.inputs[1]) && !fill(node.inputs[2])) return 2;
  }
  return std::nullopt;
}

// The masking nodes right before a Softmax join it, so the masked scores (-inf, -1e9) are never quantized.
void extend_with_masks(const Index& ix, Unit& u) {
  for (;;) {
    const std::string x = ix.node(u.entries.front().first).inputs[u.entries.front().second];
    const auto it = ix.producer.find(x);
    if (it == ix.producer.end() || ix.graph_outputs.count(x)) return;
    for (const auto& [r, k] : ix.readers.at(x))
      if (std::find(u.nodes.begin(), u.nodes.end(), r) == u.nodes.end()) return;
    const auto k = masked_scores_input(ix, it->second);
    if (!k) return;
    u.nodes.push_back(it->second);
    u.entries = {{it->second, *k}};
  }
}

std::optional<Unit> match_softmax(const Index& ix, size_t n) {
  std::optional<Unit> u;
  if (ix.is(n, "Softmax")) {
    u = Unit{UnitKind::Softmax, {n}, {{n, 0}}, ix.node(n).outputs[0]};
  } else {
    u = match_softmax_decomposed(ix, n);
  }
  if (u) extend_with_masks(ix, *u);
  if (u && u->nodes.size() < 2) return std::nullopt;  // a lone Softmax has no inner edge
  return u;
}

}  // namespace

const char* unit_kind_name(UnitKind kind) {
  switch (kind) {
    case UnitKind::LayerNorm: return "layernorm";
    case UnitKind::Gelu: return "gelu";
    case UnitKind::Softmax: return "softmax";
  }
  return "unit";
}

std::vector<Unit> find_units(const Graph& g, const std::set<std::string>& control) {
  const Index ix(g, control);
  using Matcher = std::optional<Unit> (*)(const Index&, size_t);
  // LayerNorm before RMSNorm: a LayerNorm's square is not an RMSNorm of its centred input.
  static constexpr Matcher matchers[] = {match_layernorm, match_rmsnorm, match_gelu_erf, match_gelu_tanh,
                                         match_softmax};
  std::vector<Unit> units;
  std::vector<bool> taken(g.nodes.size(), false);
  for (const Matcher match : matchers)
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      if (taken[n]) continue;
      std::optional<Unit> u = match(ix, n);
      if (!u || !closed(ix, *u)) continue;
      if (std::any_of(u->nodes.begin(), u->nodes.end(), [&](size_t m) { return taken[m]; })) continue;
      std::sort(u->nodes.begin(), u->nodes.end());
      for (size_t m : u->nodes) taken[m] = true;
      units.push_back(std::move(*u));
    }
  std::sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) { return a.nodes.front() < b.nodes.front(); });
  return units;
}

namespace {

bool enabled(const plugin::UnitPolicy& policy, UnitKind kind) {
  switch (kind) {
    case UnitKind::LayerNorm: return policy.layernorm;
    case UnitKind::Gelu: return policy.gelu;
    case UnitKind::Softmax: return policy.softmax;
  }
  return false;
}

// The unit's data input is what enters the Softmax kernel: it takes the Softmax input's rule.
void softmax_rule_on_entries(const Unit& u, const Graph& g, std::vector<plugin::NodePlacement>& placement) {
  const auto sm = std::find_if(u.nodes.begin(), u.nodes.end(),
                               [&](size_t m) { return g.nodes[m].op_type == "Softmax" && g.nodes[m].domain.empty(); });
  if (sm == u.nodes.end() || placement[*sm].input_dtypes.empty()) return;
  const plugin::NodePlacement& from = placement[*sm];
  for (const auto& [n, k] : u.entries) {
    if (n == *sm || k >= placement[n].input_dtypes.size()) continue;
    plugin::NodePlacement& to = placement[n];
    to.input_dtypes[k] = from.input_dtypes[0];
    to.forced_input_dtype[k] = from.forced_input_dtype[0];
    to.input_channel_axis[k] = from.input_channel_axis[0];
    to.input_flags[k] = from.input_flags[0];
  }
}

}  // namespace

std::map<int32_t, UnitKind> add_unit_groups(const std::vector<Unit>& units, const plugin::UnitPolicy& policy,
                                            const Graph& g, std::vector<plugin::NodePlacement>& placement) {
  int32_t next = 0;
  for (const auto& p : placement) next = std::max(next, p.fusion_group + 1);
  std::map<int32_t, UnitKind> added;
  for (const Unit& u : units) {
    if (!enabled(policy, u.kind)) continue;
    const auto island = std::find_if(u.nodes.begin(), u.nodes.end(), [&](size_t m) { return !placement[m].supported; });
    if (island != u.nodes.end()) {
      // No kernel for part of the unit: the target runs all of it off the accelerator.
      const std::string note =
          std::string("in a ") + unit_kind_name(u.kind) + " unit whose " + g.nodes[*island].op_type + " runs in float";
      for (size_t m : u.nodes)
        if (placement[m].supported && placement[m].fusion_group < 0) {
          placement[m].make_float_island();
          placement[m].note = note;
        }
      continue;
    }
    std::vector<size_t> free;
    for (size_t m : u.nodes)
      if (placement[m].fusion_group < 0) free.push_back(m);
    if (free.size() < 2) continue;
    for (size_t m : free) placement[m].fusion_group = next;
    if (u.kind == UnitKind::Softmax) softmax_rule_on_entries(u, g, placement);
    added[next++] = u.kind;
  }
  return added;
}

}  // namespace qf::pipeline
