#include "plugin/backend_table.hpp"

#include <qforge/qf_plugin.hpp>

#include <fnmatch.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>

#include "plugin/backend.hpp"
#include "plugin/registry.hpp"
#include "util/error.hpp"
#include "util/regular_file.hpp"
#include "util/strict_json.hpp"

namespace qf::plugin {

extern const char* const kBackendSchemaText;  // generated from plugins/backends/backend.schema.json

namespace {

using table::FusionStep;
using table::OpEntry;
using table::Rule;
using table::TensorRule;
using table::When;
using ShapeMap = std::map<std::string, std::vector<int64_t>, std::less<>>;

constexpr int64_t kEvery = -1;  // "*" in inputs/outputs

// backend.json as read from files and text: no comments (as always), paths as JSON pointers like the schema
// errors, and strings and keys bounded because the schema's patterns run std::regex, which recurses once per
// byte of the string it matches.
StrictJsonOptions backend_json_options() {
  StrictJsonOptions o;
  o.path_style = JsonPathStyle::Pointer;
  o.max_string_bytes = kMaxBackendJsonString;
  return o;
}

// Names are schema-checked before they are read: the SDK's one dtype vocabulary (qf::dtype_from_name).
QfDType dtype_named(const nlohmann::json& name) { return ::qf::dtype_from_name(name.get<std::string>()); }

// valijson's context ("<root>", "[\"ops\"]", "[0]") as a JSON pointer ("/ops/0").
std::string json_pointer(const std::vector<std::string>& context) {
  std::string out;
  for (const std::string& part : context) {
    if (part == "<root>") continue;
    std::string key = part;
    if (key.size() >= 2 && key.front() == '[' && key.back() == ']') key = key.substr(1, key.size() - 2);
    if (key.size() >= 2 && key.front() == '"' && key.back() == '"') key = key.substr(1, key.size() - 2);
    out += "/" + key;
  }
  return out.empty() ? "/" : out;
}

const valijson::Schema& compiled_schema() {
  static const std::unique_ptr<valijson::Schema> schema = [] {
    auto s = std::make_unique<valijson::Schema>();
    const nlohmann::json doc = nlohmann::json::parse(kBackendSchemaText);
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    parser.populateSchema(adapter, *s);
    return s;
  }();
  return *schema;
}

// Schema check; the most specific error (deepest path) names where the file is wrong.
void validate(const nlohmann::json& doc, const std::string& file) {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(doc);
  if (validator.validate(compiled_schema(), adapter, &results)) return;
  const valijson::ValidationResults::Error* best = nullptr;
  for (const auto& e : results)
    if (!best || e.context.size() > best->context.size()) best = &e;
  std::string what = best ? best->description : "does not match the backend.json schema";
  throw Error(file + ": " + (best ? json_pointer(best->context) : "/") + ": " + what);
}

When parse_when(const nlohmann::json& j, const std::string& where, const std::set<std::string>& declared) {
  When w;
  if (!j.is_object()) return w;
  if (j.contains("params"))
    for (const auto& [k, v] : j["params"].items()) {
      if (!declared.count(k)) throw Error(where + "/params/" + k + ": no backend parameter '" + k + "' is declared");
      w.params[k] = v;
    }
  if (j.contains("attrs"))
    for (const auto& [k, v] : j["attrs"].items())
      w.attrs[k] = v.is_array() ? v.get<std::vector<int64_t>>() : std::vector<int64_t>{v.get<int64_t>()};
  if (j.contains("domain")) w.domain = j["domain"].get<std::string>();
  if (j.contains("inputs"))
    for (const auto& [k, v] : j["inputs"].items())
      w.inputs[std::stoul(k)] = v == "initializer" ? table::InputKind::Initializer : table::InputKind::Activation;
  return w;
}

uint32_t dtype_mask(const nlohmann::json& names) {
  uint32_t mask = 0;
  for (const auto& d : names) mask |= QF_DTYPE_MASK(dtype_named(d));
  return mask;
}

TensorRule parse_tensor_rule(const nlohmann::json& j) {
  TensorRule r;
  if (j.contains("dtypes")) r.dtypes = dtype_mask(j["dtypes"]);
  if (j.contains("force")) r.force = dtype_named(j["force"]);
  if (j.contains("per_channel")) {
    r.per_channel_given = true;
    if (j["per_channel"].is_object()) {
      r.per_channel_axis = j["per_channel"]["axis"].get<int64_t>();
      r.per_channel_min_rank = j["per_channel"].value("min_rank", int64_t{0});
    }
  }
  if (j.contains("symmetric")) r.symmetric = j["symmetric"].get<bool>();
  if (j.contains("reduce_range")) r.reduce_range = j["reduce_range"].get<bool>();
  if (j.contains("compensation")) r.int16_ec = !j["compensation"].empty();
  return r;
}

std::map<int64_t, TensorRule> parse_tensor_rules(const nlohmann::json& j) {
  std::map<int64_t, TensorRule> out;
  for (const auto& [k, v] : j.items()) out[k == "*" ? kEvery : std::stoll(k)] = parse_tensor_rule(v);
  return out;
}

Rule parse_rule(const nlohmann::json& j, const std::string& where, const std::set<std::string>& declared) {
  Rule r;
  if (j.contains("when")) r.when = parse_when(j["when"], where + "/when", declared);
  if (j.contains("fallback")) r.fallback = j["fallback"].get<bool>();
  if (j.contains("inputs")) r.inputs = parse_tensor_rules(j["inputs"]);
  if (j.contains("outputs")) r.outputs = parse_tensor_rules(j["outputs"]);
  if (j.contains("requantize")) {
    const std::string q = j["requantize"].get<std::string>();
    r.requantize = q == "shared_input_scale" ? QF_REQUANT_SHARED_INPUT_SCALE
                   : q == "shared_scale"     ? QF_REQUANT_SHARED_SCALE
                                             : QF_REQUANT_NONE;
  }
  if (j.contains("cost"))
    for (const auto& [k, v] : j["cost"].items()) r.cost[::qf::dtype_from_name(k)] = v.get<double>();
  if (j.contains("note")) r.note = j["note"].get<std::string>();
  if (j.contains("native_dtypes")) r.native_dtypes = dtype_mask(j["native_dtypes"]);
  return r;
}

std::vector<std::string> split_alternatives(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t bar; (bar = s.find('|', start)) != std::string::npos; start = bar + 1)
    out.push_back(s.substr(start, bar - start));
  out.push_back(s.substr(start));
  return out;
}

std::vector<table::Fusion> parse_fusions(const nlohmann::json& list, const std::string& file,
                                         const std::set<std::string>& declared) {
  std::vector<table::Fusion> fusions;
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& f = list[i];
    table::Fusion fusion;
    fusion.name = f["name"].get<std::string>();
    if (f.contains("when"))
      fusion.when = parse_when(f["when"], file + ": /fusions/" + std::to_string(i) + "/when", declared);
    for (const auto& s : f["pattern"]) {
      FusionStep step;
      if (s.is_string()) {
        step.ops = split_alternatives(s.get<std::string>());
      } else {
        step.ops = split_alternatives(s["op"].get<std::string>());
        step.optional = s.value("optional", false);
        if (s.contains("input")) step.input = s["input"].get<size_t>();
      }
      fusion.steps.push_back(std::move(step));
    }
    if (fusion.steps.front().optional)
      throw Error(file + ": /fusions/" + std::to_string(i) + "/pattern/0: the first step cannot be optional");
    fusions.push_back(std::move(fusion));
  }
  return fusions;
}

bool is_onnx_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

bool glob(const std::string& pattern, const std::string& text) {
  return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

bool entry_matches(const OpEntry& e, const Node& n) {
  const bool domain_ok = e.domain_pattern == "*" ||
                         (e.domain_pattern.empty() ? is_onnx_domain(n.domain) : glob(e.domain_pattern, n.domain));
  return domain_ok && glob(e.op_pattern, n.op_type);
}

// An absent input (index past the end or "") is neither an initializer nor an activation.
bool input_is(const Graph& g, const Node& n, size_t k, table::InputKind kind) {
  if (k >= n.inputs.size() || n.inputs[k].empty()) return false;
  return (g.initializers.count(n.inputs[k]) > 0) == (kind == table::InputKind::Initializer);
}

bool when_holds(const When& w, const Graph& g, const Node& n, const std::map<std::string, nlohmann::json>& params) {
  for (const auto& [k, kind] : w.inputs)
    if (!input_is(g, n, k, kind)) return false;
  for (const auto& [k, v] : w.params) {
    const auto it = params.find(k);
    if (it == params.end() || it->second != v) return false;
  }
  for (const auto& [attr, values] : w.attrs) {
    const Attribute* a = n.attr(attr);
    if (!a || a->kind != Attribute::Kind::Int) return false;
    if (std::find(values.begin(), values.end(), a->i) == values.end()) return false;
  }
  if (w.domain && !(*w.domain == n.domain || (w.domain->empty() && is_onnx_domain(n.domain)))) return false;
  return true;
}

int64_t rank_of(const ShapeMap& shapes, const std::string& tensor) {
  const auto it = tensor.empty() ? shapes.end() : shapes.find(tensor);
  return it == shapes.end() ? -1 : static_cast<int64_t>(it->second.size());
}

void apply_tensor_rule(const TensorRule& r, const std::string& tensor, const ShapeMap& shapes, uint32_t& mask,
                       QfDType& forced, int32_t* axis, uint32_t* flags) {
  if (r.dtypes) mask = *r.dtypes;
  if (r.force) forced = *r.force;
  if (axis && r.per_channel_given) {
    if (!r.per_channel_axis) {
      *axis = -1;
    } else {
      // Negative axes count from the end; an unknown rank, an axis the tensor does not have or a rank
      // below min_rank means per-tensor.
      const int64_t rank = rank_of(shapes, tensor);
      int64_t a = *r.per_channel_axis;
      if (a < 0) a += rank;
      *axis = static_cast<int32_t>(rank < 0 || rank < r.per_channel_min_rank || a < 0 || a >= rank ? -1 : a);
    }
  }
  if (flags) {
    auto set = [&](uint32_t bit, bool on) { *flags = on ? (*flags | bit) : (*flags & ~bit); };
    if (r.symmetric) {
      set(QF_INPUT_SYMMETRIC, *r.symmetric);
      set(QF_INPUT_ASYMMETRIC, !*r.symmetric);
    }
    if (r.reduce_range) set(QF_INPUT_REDUCE_RANGE, *r.reduce_range);
    if (r.int16_ec) set(QF_INPUT_INT16_EC, *r.int16_ec);
  }
}

// Applies a rule's "*" entry then its index entries to every input (or output) of the node.
void apply_side(const std::map<int64_t, TensorRule>& rules, const std::vector<std::string>& tensors,
                const ShapeMap& shapes, std::vector<uint32_t>& masks, std::vector<QfDType>& forced,
                std::vector<int32_t>* axes, std::vector<uint32_t>* flags) {
  auto apply_to = [&](const TensorRule& r, size_t k) {
    apply_tensor_rule(r, tensors[k], shapes, masks[k], forced[k], axes ? &(*axes)[k] : nullptr,
                      flags ? &(*flags)[k] : nullptr);
  };
  if (const auto it = rules.find(kEvery); it != rules.end())
    for (size_t k = 0; k < tensors.size(); ++k) apply_to(it->second, k);
  for (const auto& [index, r] : rules)
    if (index >= 0 && static_cast<size_t>(index) < tensors.size()) apply_to(r, static_cast<size_t>(index));
}

void apply_rule(const Rule& r, const Node& n, const ShapeMap& shapes, NodePlacement& p) {
  if (r.fallback) p.supported = !*r.fallback;
  apply_side(r.inputs, n.inputs, shapes, p.input_dtypes, p.forced_input_dtype, &p.input_channel_axis, &p.input_flags);
  apply_side(r.outputs, n.outputs, shapes, p.output_dtypes, p.forced_output_dtype, nullptr, nullptr);
  if (r.requantize) p.requantize = *r.requantize;
  for (const auto& [dtype, cost] : r.cost) p.set_cost(dtype, cost);
  if (!r.note.empty()) p.note = r.note;
  if (r.native_dtypes) p.native_dtypes = *r.native_dtypes;
}

}  // namespace

const std::string& BackendTable::schema_text() {
  static const std::string text = kBackendSchemaText;
  return text;
}

std::pair<std::string, std::string> BackendTable::peek_name_and_base(const std::filesystem::path& path) {
  // Errors are reported when the file itself is loaded; here an unreadable file just has no name yet.
  nlohmann::json doc;
  try {
    doc = read_strict_json_file(path, "backend description", backend_json_options());
  } catch (const Error&) {
    return {};
  }
  if (!doc.is_object() || !doc.value("name", nlohmann::json()).is_string() ||
      !doc.value("extends", nlohmann::json("")).is_string())
    return {};
  return {doc.value("name", std::string()), doc.value("extends", std::string())};
}

std::shared_ptr<const BackendTable> BackendTable::load(const std::filesystem::path& path, BaseLookup find_base,
                                                       void* context) {
  // Only a regular file, opened without blocking, within the size limit.
  return parse_text(read_regular_file(path, "backend description", kMaxJsonBytes), path.string(), find_base, context);
}

std::shared_ptr<const BackendTable> BackendTable::parse_text(const std::string& text, const std::string& file,
                                                             BaseLookup find_base, void* context) {
  nlohmann::json doc;
  try {
    doc = parse_strict_json(text, file, backend_json_options());
  } catch (const JsonSyntaxError& e) {
    throw Error(file + ": not valid JSON (byte " + std::to_string(e.byte()) + ")");
  }
  return parse(doc, file, find_base, context);
}

std::shared_ptr<const BackendTable> BackendTable::parse(const nlohmann::json& doc, const std::string& file,
                                                        BaseLookup find_base, void* context) {
  // The schema fixes every type read below; a value it lets through that a reader still refuses (an integer
  // beyond 64 bits), or a library exception, is an error naming the file: parse_text must only throw qf::Error.
  try {
    validate(doc, file);
    return parse_validated(doc, file, find_base, context);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(file + ": " + printable_for_message(e.what()));
  }
}

std::shared_ptr<const BackendTable> BackendTable::parse_validated(const nlohmann::json& doc, const std::string& file,
                                                                  BaseLookup find_base, void* context) {
  auto t = std::shared_ptr<BackendTable>(new BackendTable());
  t->file_ = file;
  t->name_ = doc["name"].get<std::string>();
  t->version_ = doc.value("version", std::string("0"));
  t->help_ = doc.value("help", std::string());
  t->hook_ = doc.value("hook", std::string());
  if (doc.contains("extends")) {
    const std::string base = doc["extends"].get<std::string>();
    if (base == t->name_) throw Error(file + ": /extends: a backend cannot extend itself");
    t->base_ = find_base ? find_base(base, context) : nullptr;
    if (!t->base_) throw Error(file + ": /extends: no backend.json backend named '" + base + "' is loaded");
  }

  std::set<std::string> declared;
  for (const ParamSpec& p : t->base_ ? t->base_->params() : std::vector<ParamSpec>{}) declared.insert(p.name);
  if (doc.contains("params"))
    for (const auto& [k, v] : doc["params"].items()) {
      const std::string type = v["type"].get<std::string>();
      const nlohmann::json& d = v["default"];
      const bool ok = (type == "bool" && d.is_boolean()) || (type == "int" && d.is_number_integer()) ||
                      (type == "float" && d.is_number()) || (type == "string" && d.is_string());
      if (!ok) throw Error(file + ": /params/" + k + "/default: not a " + type);
      nlohmann::json decl = v;
      decl["name"] = k;
      t->param_decls_.push_back(decl);
      declared.insert(k);
    }
  if (doc.contains("unlisted_ops")) t->unlisted_fallback_ = doc["unlisted_ops"] == "fallback";
  if (doc.contains("defaults")) {
    t->defaults_ = parse_rule(doc["defaults"], file + ": /defaults", declared);
    t->has_defaults_ = true;
  }
  if (doc.contains("ops"))
    for (const auto& [key, value] : doc["ops"].items()) {
      OpEntry e;
      const size_t sep = key.find("::");
      e.domain_pattern = sep == std::string::npos ? "" : key.substr(0, sep);
      if (e.domain_pattern == "ai.onnx") e.domain_pattern.clear();
      e.op_pattern = sep == std::string::npos ? key : key.substr(sep + 2);
      e.wildcard = key.find('*') != std::string::npos;
      const std::string where = file + ": /ops/" + key;
      if (value.is_array()) {
        for (size_t i = 0; i < value.size(); ++i)
          e.rules.push_back(parse_rule(value[i], where + "/" + std::to_string(i), declared));
      } else {
        e.rules.push_back(parse_rule(value, where, declared));
      }
      t->ops_.push_back(std::move(e));
    }
  // Wildcard entries first, so an exact entry refines what a wildcard says; otherwise file order.
  std::stable_sort(t->ops_.begin(), t->ops_.end(),
                   [](const OpEntry& a, const OpEntry& b) { return a.wildcard && !b.wildcard; });
  if (doc.contains("fusions")) t->fusions_ = parse_fusions(doc["fusions"], file, declared);
  if (doc.contains("model_output_types"))
    t->model_output_types_ = doc["model_output_types"].get<std::vector<std::string>>();
  if (doc.contains("accuracy_target")) t->accuracy_target_ = doc["accuracy_target"].get<double>();
  if (doc.contains("units"))
    for (const auto& [kind, on] : doc["units"].items()) t->units_[kind] = on.get<bool>();
  if (doc.contains("native_dtypes")) t->native_dtypes_ = dtype_mask(doc["native_dtypes"]);

  for (const BackendTable* link = t.get(); link; link = link->base_.get()) t->chain_.insert(t->chain_.begin(), link);
  // unlisted_ops: the nearest file that says decides; its ops and those of the files extending it count.
  t->listed_from_ = t->chain_.size();
  for (size_t i = t->chain_.size(); i-- > 0;)
    if (t->chain_[i]->unlisted_fallback_) {
      if (*t->chain_[i]->unlisted_fallback_) t->listed_from_ = i;
      break;
    }
  return t;
}

std::vector<ParamSpec> BackendTable::params() const {
  std::vector<ParamSpec> out = base_ ? base_->params() : std::vector<ParamSpec>{};
  for (const nlohmann::json& d : param_decls_) {
    ParamSpec s;
    s.name = d["name"].get<std::string>();
    const std::string type = d["type"].get<std::string>();
    s.help = d.value("help", std::string());
    const nlohmann::json& def = d["default"];
    if (type == "bool") {
      s.type = QF_PARAM_BOOL;
      s.default_value.bool_value = def.get<bool>();
    } else if (type == "int") {
      s.type = QF_PARAM_INT;
      s.default_value.int_value = def.get<int64_t>();
    } else if (type == "float") {
      s.type = QF_PARAM_FLOAT;
      s.default_value.float_value = def.get<double>();
    } else {
      s.type = QF_PARAM_STRING;
      s.default_value.string_value = def.get<std::string>();
      if (d.contains("choices")) s.choices = d["choices"].get<std::vector<std::string>>();
    }
    s.default_value.type = s.type;
    std::erase_if(out, [&](const ParamSpec& p) { return p.name == s.name; });
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> BackendTable::accuracy_target() const {
  return accuracy_target_ ? accuracy_target_ : base_ ? base_->accuracy_target() : std::nullopt;
}

const std::vector<std::string>& BackendTable::model_output_types() const {
  static const std::vector<std::string> any;
  if (model_output_types_) return *model_output_types_;
  return base_ ? base_->model_output_types() : any;
}

uint32_t BackendTable::native_dtypes() const {
  if (native_dtypes_) return *native_dtypes_;
  return base_ ? base_->native_dtypes() : 0;
}

UnitPolicy BackendTable::units() const {
  UnitPolicy p = base_ ? base_->units() : UnitPolicy{};
  for (const auto& [kind, on] : units_) {
    if (kind == "layernorm") p.layernorm = on;
    if (kind == "gelu") p.gelu = on;
    if (kind == "softmax") p.softmax = on;
  }
  return p;
}

const std::vector<table::Fusion>& BackendTable::effective_fusions() const {
  static const std::vector<table::Fusion> none;
  if (fusions_) return *fusions_;
  return base_ ? base_->effective_fusions() : none;
}

void BackendTable::apply_rules(const Graph& graph, size_t node, const ShapeMap& shapes,
                               const std::map<std::string, nlohmann::json>& params, NodePlacement& p) const {
  // All defaults of the chain first, then all op rules, so a base's op-specific rule (a control input
  // kept float) is not undone by a derived file's defaults.
  const Node& n = graph.nodes[node];
  for (const BackendTable* t : chain_)
    if (t->has_defaults_ && when_holds(t->defaults_.when, graph, n, params)) apply_rule(t->defaults_, n, shapes, p);
  for (const BackendTable* t : chain_)
    for (const OpEntry& e : t->ops_)
      if (entry_matches(e, n))
        for (const Rule& r : e.rules)
          if (when_holds(r.when, graph, n, params)) apply_rule(r, n, shapes, p);

  if (listed_from_ < chain_.size()) {
    bool listed = false;
    for (size_t i = listed_from_; i < chain_.size() && !listed; ++i)
      for (const OpEntry& e : chain_[i]->ops_) listed = listed || entry_matches(e, n);
    if (!listed) {
      p.supported = false;
      if (p.note.empty()) p.note = "not an op of this target";
    }
  }
  if (!p.supported) p.make_float_island();
}

void BackendTable::find_fusions(const Graph& graph, const std::map<std::string, nlohmann::json>& params,
                                std::vector<NodePlacement>& placement) const {
  const auto& fusions = effective_fusions();
  if (fusions.empty()) return;
  const size_t n = graph.nodes.size();
  std::map<std::string, std::vector<std::pair<size_t, size_t>>, std::less<>> consumers;  // tensor -> (node, input)
  for (size_t m = 0; m < n; ++m)
    for (size_t i = 0; i < graph.nodes[m].inputs.size(); ++i)
      if (!graph.nodes[m].inputs[i].empty()) consumers[graph.nodes[m].inputs[i]].push_back({m, i});
  std::set<std::string, std::less<>> graph_outputs;
  for (const ValueInfo& o : graph.outputs) graph_outputs.insert(o.name);

  auto op_in = [](const FusionStep& s, const Node& node) {
    return is_onnx_domain(node.domain) && std::find(s.ops.begin(), s.ops.end(), node.op_type) != s.ops.end();
  };
  int32_t next_group = 0;
  for (size_t head = 0; head < n; ++head) {
    const Node& h = graph.nodes[head];
    if (placement[head].fusion_group >= 0 || !placement[head].supported) continue;
    for (const table::Fusion& f : fusions) {
      if (!op_in(f.steps[0], h) || !when_holds(f.when, graph, h, params)) continue;
      std::vector<size_t> members = {head};
      size_t current = head;
      bool complete = true;
      for (size_t s = 1; s < f.steps.size(); ++s) {
        const FusionStep& step = f.steps[s];
        const Node& cur = graph.nodes[current];
        // The intermediate must stay inside the kernel: one reader, not a graph output.
        std::optional<std::pair<size_t, size_t>> next;
        if (!cur.outputs.empty() && !cur.outputs[0].empty() && !graph_outputs.count(cur.outputs[0]))
          if (const auto it = consumers.find(cur.outputs[0]); it != consumers.end() && it->second.size() == 1)
            next = it->second.front();
        const bool matches = next && placement[next->first].fusion_group < 0 && placement[next->first].supported &&
                             op_in(step, graph.nodes[next->first]) && (!step.input || *step.input == next->second);
        if (matches) {
          members.push_back(next->first);
          current = next->first;
        } else if (!step.optional) {
          complete = false;
          break;
        }
      }
      if (!complete || members.size() < 2) continue;
      for (size_t m : members) placement[m].fusion_group = next_group;
      ++next_group;
      break;
    }
  }
}

void BackendTable::analyze(const Graph& graph, const ShapeMap& shapes,
                           const std::map<std::string, nlohmann::json>& params,
                           std::vector<NodePlacement>& placement) const {
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    placement[n].native_dtypes = native_dtypes();
    apply_rules(graph, n, shapes, params, placement[n]);
  }
  find_fusions(graph, params, placement);
}

}  // namespace qf::plugin
