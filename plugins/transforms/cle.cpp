// cle: cross-layer equalization. For a layer A whose output reaches a layer B only through positively
// homogeneous ops (Relu, LeakyRelu, PRelu, MaxPool, AveragePool: f(x / s) = f(x) / s for s > 0), dividing
// A's output channel i (weights and bias) by s_i and multiplying B's input channel i by s_i keeps the model's
// function. s_i = sqrt(r1_i / r2_i) from the weight ranges makes both ranges sqrt(r1_i * r2_i); a depthwise
// Conv between two layers gets the cube-root scales of AIMET so all three ranges meet. Layers in several
// pairs move each other's ranges, so the scales are iterated until they stop changing. Then, optionally,
// high-bias absorption: where A -> Relu -> B and A's pre-activation never falls below m_i > 0 on the
// calibration data, m_i moves from A's bias into B's bias (exact on that data). See docs/algorithms.md#cle.
#include <qforge/qf_plugin.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "transform_util.hpp"

namespace qt = qf_transforms;

namespace {

// A channel whose range is below this fraction of its layer's largest one is left alone (its scale would
// only amplify rounding noise).
constexpr float kDeadChannel = 1e-6f;
// Homogeneous ops walked between two layers (Conv chains also go through pooling).
constexpr size_t kMaxOpsBetween = 4;

struct Layer {
  size_t node = 0;
  qt::ChannelWeight w;
  qt::LayerBias bias;
  std::vector<qt::LayerBias> offsets;  // Add(constant) ops between this layer and its link's consumer
  bool changed = false;

  bool is_conv_family() const { return w.layout == qt::WeightLayout::ConvOIK; }
  bool depthwise() const { return is_conv_family() && w.groups == w.in_channels && w.in_channels == w.out_channels; }
  // Output channel c of the layer is multiplied by factor[c] (weights and bias).
  void scale_out(const std::vector<float>& factor) {
    w.scale_out(factor);
    for (size_t c = 0; c < bias.values.size(); ++c) bias.values[c] *= factor[c];
    for (auto& o : offsets)
      for (size_t c = 0; c < o.values.size(); ++c) o.values[c] *= factor[c];
    changed = true;
  }
  void scale_in(const std::vector<float>& factor) {
    w.scale_in(factor);
    changed = true;
  }
};

// A -> (homogeneous ops) -> B, as indices into the layer list.
struct Link {
  size_t producer = 0, consumer = 0;
  std::vector<size_t> between;         // node indices of the ops in between
  std::vector<qt::LayerBias> offsets;  // constants of the Add ops among them
};
struct Triplet {
  size_t first = 0, middle = 0, last = 0;  // middle is depthwise
};

bool homogeneous(const qt::GraphIndex& g, size_t node, bool conv_family) {
  const std::string op = g.op(node);
  if (op == "Relu" || op == "LeakyRelu" || op == "PRelu") return true;
  // MaxPool's optional indices output would change meaning with the values: only the plain form.
  return conv_family && (op == "MaxPool" || op == "AveragePool") && g.graph().num_outputs(node) == 1;
}

// Clip(0, 6), from its inputs (opset >= 11) or attributes.
bool is_relu6(const qt::GraphIndex& g, size_t node) {
  if (g.op(node) != "Clip") return false;
  auto bound = [&](size_t input, const char* attr) -> std::optional<float> {
    const std::string name = g.input(node, input);
    if (!name.empty()) {
      const auto v = g.ctx().initializer(name);
      if (!v || v->data.size() != 1) return std::nullopt;
      return v->data[0];
    }
    return g.ctx().attr_float(node, attr);
  };
  const auto lo = bound(1, "min"), hi = bound(2, "max");
  return lo && hi && *lo == 0.f && *hi == 6.f;
}

class Cle : public qf::Transform {
 public:
  static constexpr const char* name = "cle";
  static constexpr const char* help =
      "cross-layer equalization of Conv/Gemm chains and depthwise-separable triplets, with high-bias absorption";
  static std::vector<QfParamDesc> params() {
    return {qf::param_int("max_iterations", 100, 1, 10000, "rounds of rescaling at most"),
            qf::param_float("tolerance", 1e-4, 0.0, 1.0, "stop when no scale changes by more than this (|log s|)"),
            qf::param_float("scale_clamp", 100.0, 1.0, 1e6, "each round's scale is clamped to [1/c, c]"),
            qf::param_string("relu6_to_relu", "auto", "auto|always|never",
                             "Clip(0,6) between layers becomes Relu: auto where 6 is never reached on the "
                             "calibration data (exact there), always (may change the outputs), never"),
            qf::param_bool("absorb_bias", true,
                           "move the part of a bias a following Relu never clips into the next "
                           "layer's bias (exact on the calibration data)")};
  }

  explicit Cle(const qf::Params& p)
      : max_iterations_(static_cast<int>(p.get_int("max_iterations"))),
        tolerance_(p.get_float("tolerance")),
        clamp_(static_cast<float>(p.get_float("scale_clamp"))),
        relu6_(p.get_string("relu6_to_relu")),
        absorb_(p.get_bool("absorb_bias")) {}

  void apply(qf::TransformContext& ctx) override {
    const std::string relu6_note = convert_relu6(ctx);
    qt::GraphIndex g(ctx);
    collect_layers(g);
    find_links(g);
    form_triplets();
    const int rounds = links_.empty() ? 0 : equalize();
    store_changed(g);
    const size_t absorbed = absorb_ ? absorb_bias(g) : 0;
    if (absorbed) store_changed(g);
    ctx.note(summary(rounds, absorbed) + relu6_note);
  }

 private:
  std::string convert_relu6(qf::TransformContext& ctx);
  void collect_layers(const qt::GraphIndex& g);
  void find_links(const qt::GraphIndex& g);
  std::optional<Link> link_from(const qt::GraphIndex& g, size_t producer) const;
  void form_triplets();
  int equalize();
  double equalize_pair(Layer& a, Layer& b) const;
  double equalize_triplet(Layer& a, Layer& d, Layer& b) const;
  float clamped(double s) const { return static_cast<float>(std::clamp(s, 1.0 / clamp_, double(clamp_))); }
  size_t absorb_bias(const qt::GraphIndex& g);
  bool absorbable(const qt::GraphIndex& g, const Link& link) const;
  void store_changed(const qt::GraphIndex& g);
  std::string summary(int rounds, size_t absorbed) const;

  int max_iterations_;
  double tolerance_;
  float clamp_;
  std::string relu6_;
  bool absorb_;
  std::vector<Layer> layers_;
  std::map<size_t, size_t> layer_of_node_;
  std::vector<Link> links_;
  std::vector<Triplet> triplets_;
  std::vector<size_t> pairs_;  // links not inside a triplet
};

// Clip(0, 6) between two layers blocks equalization (it is not homogeneous); Relu is. "auto" turns it into
// Relu only where its input never exceeds 6 on the calibration data, so the model's outputs stay the same.
std::string Cle::convert_relu6(qf::TransformContext& ctx) {
  if (relu6_ == "never") return "";
  qt::GraphIndex g(ctx);
  std::vector<size_t> clips;
  std::vector<std::pair<std::string, int>> requests;
  for (size_t n = 0; n < g.graph().num_nodes(); ++n) {
    if (!is_relu6(g, n)) continue;
    const auto from = g.producer(g.input(n, 0));
    const auto to = g.sole_consumer(g.output(n));
    if (!from || !to || !qt::layer_weight(g, *from) || !qt::layer_weight(g, *to)) continue;
    clips.push_back(n);
    requests.emplace_back(g.input(n, 0), g.op(*from) == "Conv" ? 1 : -1);
  }
  if (clips.empty()) return "";
  std::vector<qf::ChannelStats> stats;
  if (relu6_ == "auto") stats = ctx.channel_stats(requests);
  size_t replaced = 0;
  for (size_t i = 0; i < clips.size(); ++i) {
    if (!stats.empty() && *std::max_element(stats[i].max.begin(), stats[i].max.end()) > 6.f) continue;
    ctx.replace_op(clips[i], "Relu", 1);
    ++replaced;
  }
  return "; relu6 -> relu: " + std::to_string(replaced) + " of " + std::to_string(clips.size()) +
         (relu6_ == "auto" && replaced < clips.size() ? " (the others reach 6 on the calibration data)" : "");
}

void Cle::collect_layers(const qt::GraphIndex& g) {
  for (size_t n = 0; n < g.graph().num_nodes(); ++n) {
    auto w = qt::layer_weight(g, n);
    if (!w) continue;
    const auto bias = qt::layer_bias(g, n, w->out_channels);
    if (!bias) continue;  // a bias that cannot follow a per-channel scale
    layer_of_node_[n] = layers_.size();
    layers_.push_back(Layer{n, std::move(*w), *bias, {}, false});
  }
}

void Cle::find_links(const qt::GraphIndex& g) {
  for (size_t i = 0; i < layers_.size(); ++i)
    if (auto link = link_from(g, i)) {
      layers_[i].offsets = link->offsets;
      links_.push_back(std::move(*link));
    }
}

// The constant of an Add that adds one value per channel of `tensor` (channel axis 1 for Conv chains, the
// last axis for Gemm/MatMul chains): a bias kept apart from its layer, which scales with the layer's outputs.
std::optional<qt::LayerBias> channel_offset(const qt::GraphIndex& g, size_t node, const std::string& tensor,
                                            const Layer& a) {
  if (g.op(node) != "Add") return std::nullopt;
  const std::string other = g.input(node, g.input(node, 0) == tensor ? 1 : 0);
  const auto shape = g.graph().shape(tensor);
  auto c = g.private_initializer(other);
  if (!shape || !c || static_cast<int64_t>(c->data.size()) != a.w.out_channels || c->shape.size() > shape->size())
    return std::nullopt;
  // Right-aligned broadcasting: the constant's channel dim must land on the tensor's channel axis.
  const auto rank = static_cast<int64_t>(shape->size()), crank = static_cast<int64_t>(c->shape.size());
  const int64_t channel_dim = (a.is_conv_family() ? 1 : rank - 1) - (rank - crank);
  if (channel_dim < 0 || c->shape[static_cast<size_t>(channel_dim)] != a.w.out_channels) return std::nullopt;
  return qt::LayerBias{other, std::move(c->data), std::move(c->shape)};
}

// Follows layer `producer`'s output through homogeneous ops (and Adds of a per-channel constant) to the next
// layer; every tensor on the way must be read by one node only and not be a graph output.
std::optional<Link> Cle::link_from(const qt::GraphIndex& g, size_t producer) const {
  const Layer& a = layers_[producer];
  Link link{producer, 0, {}, {}};
  std::string tensor = g.output(a.node);
  for (size_t hops = 0; hops <= kMaxOpsBetween; ++hops) {
    const auto next = g.sole_consumer(tensor);
    if (!next) return std::nullopt;
    if (auto offset = channel_offset(g, *next, tensor, a)) {
      link.offsets.push_back(std::move(*offset));
    } else if (g.input(*next, 0) != tensor) {
      return std::nullopt;
    } else if (const auto layer = layer_of_node_.find(*next); layer != layer_of_node_.end()) {
      const Layer& b = layers_[layer->second];
      if (b.is_conv_family() != a.is_conv_family() || b.w.in_channels != a.w.out_channels) return std::nullopt;
      link.consumer = layer->second;
      return link;
    } else if (!homogeneous(g, *next, a.is_conv_family())) {
      return std::nullopt;
    }
    link.between.push_back(*next);
    tensor = g.output(*next);
  }
  return std::nullopt;
}

// A depthwise Conv that is both the consumer of one link and the producer of another makes a triplet.
void Cle::form_triplets() {
  std::map<size_t, size_t> link_into, link_out_of;  // layer -> link index
  for (size_t i = 0; i < links_.size(); ++i) {
    link_into[links_[i].consumer] = i;
    link_out_of[links_[i].producer] = i;
  }
  std::set<size_t> in_triplet;
  for (const auto& [middle, in] : link_into) {
    const auto out = link_out_of.find(middle);
    if (!layers_[middle].depthwise() || out == link_out_of.end()) continue;
    triplets_.push_back(Triplet{links_[in].producer, middle, links_[out->second].consumer});
    in_triplet.insert(in);
    in_triplet.insert(out->second);
  }
  for (size_t i = 0; i < links_.size(); ++i)
    if (!in_triplet.count(i)) pairs_.push_back(i);
}

// Rounds of rescaling every triplet and pair until the largest |log s| of a round is within tolerance.
int Cle::equalize() {
  int round = 0;
  while (round < max_iterations_) {
    ++round;
    double change = 0;
    for (const Triplet& t : triplets_)
      change = std::max(change, equalize_triplet(layers_[t.first], layers_[t.middle], layers_[t.last]));
    for (size_t i : pairs_)
      change = std::max(change, equalize_pair(layers_[links_[i].producer], layers_[links_[i].consumer]));
    if (change <= tolerance_) break;
  }
  return round;
}

bool live(float r, float largest) { return r > kDeadChannel * largest && std::isfinite(r); }
float largest(const std::vector<float>& r) { return r.empty() ? 0.f : *std::max_element(r.begin(), r.end()); }

// s = sqrt(r1 / r2): A's output channel / s, B's input channel * s; both ranges become sqrt(r1 r2).
double Cle::equalize_pair(Layer& a, Layer& b) const {
  const auto r1 = a.w.out_ranges(), r2 = b.w.in_ranges();
  const float m1 = largest(r1), m2 = largest(r2);
  std::vector<float> s(r1.size(), 1.f), inverse(r1.size(), 1.f);
  double change = 0;
  for (size_t c = 0; c < r1.size(); ++c) {
    if (!live(r1[c], m1) || !live(r2[c], m2)) continue;
    s[c] = clamped(std::sqrt(double(r1[c]) / double(r2[c])));
    inverse[c] = 1.f / s[c];
    change = std::max(change, std::abs(std::log(double(s[c]))));
  }
  if (change == 0) return 0;
  a.scale_out(inverse);
  b.scale_in(s);
  return change;
}

// AIMET's depthwise-separable scales: with c = cbrt(r1 r2 r3), S12 = r1 / c and S23 = c / r3 bring the first
// layer's output range, the depthwise range and the last layer's input range all to c.
double Cle::equalize_triplet(Layer& a, Layer& d, Layer& b) const {
  const auto r1 = a.w.out_ranges(), r2 = d.w.out_ranges(), r3 = b.w.in_ranges();
  const float m1 = largest(r1), m2 = largest(r2), m3 = largest(r3);
  const size_t n = r1.size();
  std::vector<float> s12(n, 1.f), inv12(n, 1.f), s23(n, 1.f), inv23(n, 1.f);
  double change = 0;
  for (size_t c = 0; c < n; ++c) {
    if (!live(r1[c], m1) || !live(r2[c], m2) || !live(r3[c], m3)) continue;
    const double root = std::cbrt(double(r1[c]) * double(r2[c]) * double(r3[c]));
    s12[c] = clamped(double(r1[c]) / root);
    s23[c] = clamped(root / double(r3[c]));
    inv12[c] = 1.f / s12[c];
    inv23[c] = 1.f / s23[c];
    change = std::max({change, std::abs(std::log(double(s12[c]))), std::abs(std::log(double(s23[c])))});
  }
  if (change == 0) return 0;
  a.scale_out(inv12);
  d.scale_in(s12);
  d.scale_out(inv23);
  b.scale_in(s23);
  return change;
}

// Where A -> Relu (LeakyRelu, PRelu) -> B and B reads each input value exactly once per output value (a
// Gemm, or a 1x1 Conv whose output keeps its input's spatial size: stride 1, no padding), a pre-activation
// z_i >= m_i >= 0 on the data gives f(z_i - m_i) = f(z_i) - m_i there, so m_i can move into B's bias. Conv
// pads and strides are list attributes the context does not expose, hence the shape test.
bool Cle::absorbable(const qt::GraphIndex& g, const Link& link) const {
  std::vector<std::string> ops;
  for (size_t n : link.between)
    if (g.op(n) != "Add") ops.push_back(g.op(n));
  if (ops.size() != 1) return false;
  const std::string act = ops.front();
  if (act != "Relu" && act != "LeakyRelu" && act != "PRelu") return false;
  const Layer& a = layers_[link.producer];
  const Layer& b = layers_[link.consumer];
  if (g.op(a.node) == "MatMul" || g.op(b.node) == "MatMul") return false;
  if (g.op(a.node) == "Gemm" && g.attr_float(a.node, "beta", 1.f) == 0.f) return false;
  if (g.op(b.node) == "Gemm") return g.attr_float(b.node, "beta", 1.f) != 0.f;
  if (b.w.kernel != 1) return false;
  const auto in = g.graph().shape(g.input(b.node, 0)), out = g.graph().shape(g.output(b.node));
  if (!in || !out || in->size() != out->size() || in->size() < 3) return false;
  for (size_t d = 2; d < in->size(); ++d)
    if ((*in)[d] < 0 || (*in)[d] != (*out)[d]) return false;
  return true;
}

// One pass over the calibration samples for every absorbable link: m_i = max(0, min z_i); A's bias loses m_i,
// B's bias gains W_B m (Gemm: scaled by its alpha / beta).
size_t Cle::absorb_bias(const qt::GraphIndex& g) {
  std::vector<const Link*> candidates;
  std::vector<std::pair<std::string, int>> requests;
  for (const Link& link : links_) {
    if (!absorbable(g, link)) continue;
    candidates.push_back(&link);
    for (size_t n : link.between)  // what the activation reads (after any Add of a per-channel constant)
      if (g.op(n) != "Add") requests.emplace_back(g.input(n, 0), 1);
  }
  if (candidates.empty()) return 0;
  const auto stats = g.ctx().channel_stats(requests);
  size_t absorbed = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    Layer& a = layers_[candidates[i]->producer];
    Layer& b = layers_[candidates[i]->consumer];
    if (static_cast<int64_t>(stats[i].min.size()) != a.w.out_channels) continue;
    std::vector<double> shift(stats[i].min.size());
    for (size_t c = 0; c < shift.size(); ++c) shift[c] = std::max(0.0, double(stats[i].min[c]));
    if (*std::max_element(shift.begin(), shift.end()) == 0) continue;
    const double beta_a = g.op(a.node) == "Gemm" ? g.attr_float(a.node, "beta", 1.f) : 1.0;
    for (size_t c = 0; c < shift.size(); ++c) a.bias.values[c] -= static_cast<float>(shift[c] / beta_a);
    std::vector<double> delta(static_cast<size_t>(b.w.out_channels), 0.0);
    for (size_t e = 0; e < b.w.value.data.size(); ++e)
      delta[static_cast<size_t>(b.w.out_of(e))] += double(b.w.value.data[e]) * shift[static_cast<size_t>(b.w.in_of(e))];
    const bool gemm = g.op(b.node) == "Gemm";
    const double factor = gemm ? g.attr_float(b.node, "alpha", 1.f) / g.attr_float(b.node, "beta", 1.f) : 1.0;
    for (size_t o = 0; o < delta.size(); ++o) b.bias.values[o] += static_cast<float>(delta[o] * factor);
    a.changed = b.changed = true;
    ++absorbed;
  }
  return absorbed;
}

// A tensor name no initializer or node output uses yet.
std::string fresh_name(const qt::GraphIndex& g, const std::string& base) {
  std::string name = base;
  for (int k = 1; g.ctx().initializer(name) || g.producer(name); ++k) name = base + "_" + std::to_string(k);
  return name;
}

// Writes the rescaled weights and biases; a layer that had no bias and now needs one gets a new initializer.
void Cle::store_changed(const qt::GraphIndex& g) {
  for (Layer& l : layers_) {
    if (!l.changed) continue;
    qt::store(g.ctx(), l.w);
    const bool nonzero = std::any_of(l.bias.values.begin(), l.bias.values.end(), [](float v) { return v != 0.f; });
    if (l.bias.name.empty() && nonzero && g.op(l.node) != "MatMul") {
      l.bias.name = fresh_name(g, l.w.name + "_cle_bias");
      g.ctx().set_initializer(l.bias.name, qf::Initializer{l.bias.values, l.bias.shape});
      g.ctx().set_input(l.node, 2, l.bias.name);
    } else if (!l.bias.name.empty()) {
      g.ctx().set_initializer(l.bias.name, qf::Initializer{l.bias.values, l.bias.shape});
    }
    for (const auto& o : l.offsets) g.ctx().set_initializer(o.name, qf::Initializer{o.values, o.shape});
    l.changed = false;
  }
}

std::string Cle::summary(int rounds, size_t absorbed) const {
  if (links_.empty()) return "found no Conv/Gemm/MatMul pair to equalize";
  std::string s = "equalized " + qt::count_of(pairs_.size(), "pair", "pairs") + " and " +
                  qt::count_of(triplets_.size(), "depthwise triplet", "depthwise triplets") + " in " +
                  qt::count_of(static_cast<size_t>(rounds), "round", "rounds");
  if (absorb_) s += ", absorbed bias in " + qt::count_of(absorbed, "pair", "pairs");
  return s;
}

}  // namespace

QF_PLUGIN("qf-transform-cle", "1.0.0", Cle)
