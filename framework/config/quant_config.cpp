// Parses and validates quant_config JSON (schema: docs/quant_config.md). Every rejected value names its
// JSON path so a user can find it in a large file; the seed toolchain's silent normalisations (num_bin,
// max_num_bin, max_percentile) are kept but logged.
#include "config/quant_config.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include "util/error.hpp"
#include "util/regular_file.hpp"
#include "util/strict_json.hpp"

namespace qf::config {
namespace {

using nlohmann::json;

const char* const kTypeKeysHelp = "qtype, InputType, OutputType, input<k>, InputType<k>, ON";

// A JSON value as it appears in messages, cut short so one-line errors stay one line.
std::string show(const json& value) {
  return printable_for_message(value.dump(), 57);  // whole UTF-8 characters, one line
}

std::string child(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

std::string element(const std::string& path, size_t index) { return path + "[" + std::to_string(index) + "]"; }

std::string fmt_number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// A candidate value's identity for removing duplicates: numbers by value (1 and 1.0 are one candidate, as
// json's operator== says), so lists are deduplicated in linear time instead of comparing every pair.
std::string identity(const json& v) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // An integral float within int64 is the same candidate as that integer.
    if (d == std::trunc(d) && d >= -9.2e18 && d <= 9.2e18) return "i" + std::to_string(static_cast<int64_t>(d));
    char text[32];
    std::snprintf(text, sizeof text, "f%.17g", d);
    return text;
  }
  if (v.is_number_unsigned()) return "i" + std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return "i" + std::to_string(v.get<int64_t>());
  if (v.is_string()) return "s" + v.get<std::string>();
  return v.dump();  // booleans (the values here are scalars)
}
std::string identity(const std::string& v) { return v; }
bool identity(bool v) { return v; }

// Removes repeated values, keeping the first of each in order.
template <class T>
void dedupe(std::vector<T>& values) {
  std::set<decltype(identity(std::declval<const T&>()))> seen;
  std::vector<T> unique;
  for (const auto& v : values)
    if (seen.insert(identity(T(v))).second) unique.push_back(v);  // T(v): vector<bool>'s proxy to bool
  values = std::move(unique);
}

// "k" of "input<k>" / "InputType<k>": a canonical non-negative decimal (no sign, no leading zeros).
std::optional<size_t> input_index(const std::string& key, std::string_view prefix) {
  if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const std::string digits = key.substr(prefix.size());
  if (digits.size() > 6 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return static_cast<size_t>(std::stoul(digits));
}

// Reads typed values out of the document, failing with "<source>: <path>: <what>".
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  const std::string& source() const { return source_; }

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    // A key may hold any character (a newline, megabytes): the message stays one readable line.
    throw Error(source_ + ": " + printable_for_message(path, 300) + ": " + what);
  }

  void warn(const std::string& path, const std::string& what) const { spdlog::warn("{}: {}: {}", source_, path, what); }

  void unknown_key(const std::string& path, const std::string& known) const {
    fail(path, "unknown key (known: " + known + ")");
  }

  const json& object(const json& v, const std::string& path) const {
    if (!v.is_object()) fail(path, "expected an object, got " + show(v));
    return v;
  }

  std::string string(const json& v, const std::string& path) const {
    if (!v.is_string()) fail(path, "expected a string, got " + show(v));
    auto s = v.get<std::string>();
    if (s.empty()) fail(path, "expected a non-empty string");
    return s;
  }

  bool boolean(const json& v, const std::string& path) const {
    if (!v.is_boolean()) fail(path, "expected true or false, got " + show(v));
    return v.get<bool>();
  }

  int64_t integer(const json& v, const std::string& path, int64_t min) const {
    if (!v.is_number_integer()) fail(path, "expected an integer, got " + show(v));
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
      fail(path, "integer " + show(v) + " is too large");
    const auto i = v.get<int64_t>();
    if (i < min) fail(path, "expected an integer >= " + std::to_string(min) + ", got " + show(v));
    return i;
  }

  // A number in (lo, hi] or [lo, hi].
  double number(const json& v, const std::string& path, double lo, bool lo_inclusive, double hi) const {
    if (!v.is_number()) fail(path, "expected a number, got " + show(v));
    const auto d = v.get<double>();
    if (d > hi || d < lo || (!lo_inclusive && d == lo))
      fail(path, std::string("expected a number in ") + (lo_inclusive ? "[" : "(") + fmt_number(lo) + ", " +
                     fmt_number(hi) + "], got " + show(v));
    return d;
  }

  // A dtype. "int16-ec" / "ec" / "dual-int16" (error compensation) read as Int16Ec: on an input it is the
  // compensated int16; on an output, plain int16 (see output_qtype and node_types.cpp).
  quant::QType qtype(const json& v, const std::string& path) const {
    if (!v.is_string()) fail(path, "expected a dtype (int8, int16, int16-ec, float16, float32), got " + show(v));
    const auto name = v.get<std::string>();
    if (auto t = quant::parse_qtype(name)) return *t;
    if (name == "dual-int16") return quant::QType::Int16Ec;
    fail(path, "unknown dtype " + show(v) +
                   " (known: int8, int16, int16-ec, ec, dual-int16, float16, float32, float; case-sensitive)");
  }

  // A dtype for outputs: error compensation applies to operands, so an output asked for int16-ec is int16.
  quant::QType output_qtype(const json& v, const std::string& path) const {
    const quant::QType t = qtype(v, path);
    return t == quant::QType::Int16Ec ? quant::QType::Int16 : t;
  }

  // A scalar or a non-empty list of scalars, each read by `one`; a list means "search these".
  template <class T>
  std::vector<T> list(const json& v, const std::string& path,
                      const std::function<T(const json&, const std::string&)>& one) const {
    std::vector<T> out;
    if (!v.is_array()) {
      out.push_back(one(v, path));
      return out;
    }
    if (v.empty()) fail(path, "empty list (give one value or a list of candidates)");
    for (size_t i = 0; i < v.size(); ++i) out.push_back(one(v[i], element(path, i)));
    dedupe(out);
    return out;
  }

 private:
  std::string source_;
};

// --- model_config.activation ---------------------------------------------------------------------

ActivationConfig parse_activation(const Reader& r, const json& v, const std::string& path) {
  r.object(v, path);
  ActivationConfig a;
  const auto as_string = [&r](const json& x, const std::string& p) { return r.string(x, p); };
  const auto as_bool = [&r](const json& x, const std::string& p) { return r.boolean(x, p); };
  const auto as_scalar = [&r](const json& x, const std::string& p) {
    if (!x.is_number() && !x.is_boolean() && !x.is_string())
      r.fail(p, "expected a number, bool or string (or a list of them) for this calibrator parameter, got " + show(x));
    return x;
  };
  for (const auto& [key, value] : v.items()) {
    const auto p = child(path, key);
    if (key == "calibration_type") {
      a.calibration_type = r.list<std::string>(value, p, as_string);
    } else if (key == "per_channel") {
      a.per_channel = r.list<bool>(value, p, as_bool);
    } else if (key == "asymmetric") {
      a.asymmetric = r.list<bool>(value, p, as_bool);
    } else {
      // A calibrator parameter: its declaration is the one validator (type, range, the seed's soft floors),
      // checked when the candidates are built from the loaded plugins.
      a.calibrator_params[key] = r.list<json>(value, p, as_scalar);
    }
  }
  return a;
}

// --- model_config.weight and the searches --------------------------------------------------------

// weight.weight_only: {"dtype", "block_size", "symmetric", "range", "ops", "rounding", "rounding_params"}.
WeightOnlyConfig parse_weight_only(const Reader& r, const json& v, const std::string& path) {
  r.object(v, path);
  WeightOnlyConfig w;
  std::optional<bool> symmetric;
  std::optional<WeightRange> range;
  for (const auto& [key, value] : v.items()) {
    const auto p = child(path, key);
    if (key == "dtype") {
      const std::string d = r.string(value, p);
      if (d == "int8") w.dtype = quant::QType::Int8;
      else if (d == "int4") w.dtype = quant::QType::Int4;
      else if (d == "uint4") w.dtype = quant::QType::UInt4;
      else r.fail(p, "expected \"int8\", \"int4\" or \"uint4\", got " + show(value));
    } else if (key == "block_size") {
      w.block_size = r.integer(value, p, 0);
      const int64_t b = w.block_size;
      if (b != 0 && (b < 16 || (b & (b - 1)) != 0))
        r.fail(p, "expected 0 (per output channel) or a power of two >= 16, got " + show(value));
    } else if (key == "symmetric") {
      symmetric = r.boolean(value, p);
    } else if (key == "range") {
      const std::string m = r.string(value, p);
      if (m == "max") range = WeightRange::Max;
      else if (m == "mse") range = WeightRange::Mse;
      else r.fail(p, "expected \"max\" or \"mse\", got " + show(value));
    } else if (key == "ops") {
      if (!value.is_array() || value.empty()) r.fail(p, "expected a non-empty list of op types, got " + show(value));
      w.ops.clear();
      for (size_t i = 0; i < value.size(); ++i) {
        const std::string op = r.string(value[i], element(p, i));
        if (op != "MatMul" && op != "Gemm" && op != "Gather")
          r.fail(element(p, i), "expected \"MatMul\", \"Gemm\" or \"Gather\", got " + show(value[i]));
        w.ops.push_back(op);
      }
      dedupe(w.ops);
    } else if (key == "rounding") {
      w.rounding = r.string(value, p);
    } else if (key == "rounding_params") {
      w.rounding_params = r.object(value, p);  // checked against the rounding's declared parameters
    } else {
      r.unknown_key(p, "block_size, dtype, ops, range, rounding, rounding_params, symmetric");
    }
  }
  if (w.dtype == quant::QType::UInt4 && symmetric.value_or(false))
    r.fail(child(path, "symmetric"), "uint4 is asymmetric ([0, 15] with a zero point); use int4 for a symmetric grid");
  w.symmetric = w.dtype != quant::QType::UInt4 && symmetric.value_or(true);
  w.range = range.value_or(default_weight_range(w.dtype));
  return w;
}

// model_config.mixed_range: {"mode": "auto" | "split" | "raise" | "off", "ratio": number > 1}.
MixedRangeConfig parse_mixed_range(const Reader& r, const json& v, const std::string& path) {
  r.object(v, path);
  MixedRangeConfig m;
  for (const auto& [key, value] : v.items()) {
    const auto p = child(path, key);
    if (key == "ratio") {
      m.ratio = r.number(value, p, 1.0, false, 1e12);
    } else if (key == "mode") {
      const std::string mode = r.string(value, p);
      bool known = false;
      for (const MixedRangeMode each :
           {MixedRangeMode::Auto, MixedRangeMode::Split, MixedRangeMode::Raise, MixedRangeMode::Off})
        if (mode == mixed_range_mode_name(each)) {
          m.mode = each;
          known = true;
        }
      if (!known) r.fail(p, "expected \"auto\", \"split\", \"raise\" or \"off\", got " + show(value));
    } else {
      r.unknown_key(p, "mode, ratio");
    }
  }
  return m;
}

// model_config.algorithms: "auto" | "off".
AlgorithmsMode parse_algorithms(const Reader& r, const json& v, const std::string& path) {
  const std::string mode = r.string(v, path);
  for (const AlgorithmsMode each : {AlgorithmsMode::Auto, AlgorithmsMode::Off})
    if (mode == algorithms_mode_name(each)) return each;
  r.fail(path, "expected \"auto\" or \"off\", got " + show(v));
}

WeightConfig parse_weight(const Reader& r, const json& v, const std::string& path) {
  r.object(v, path);
  WeightConfig w;
  std::vector<std::string> conflicts;  // keys that do not apply in weight-only mode
  for (const auto& [key, value] : v.items()) {
    const auto p = child(path, key);
    if (key != "weight_only") conflicts.push_back(key);
    if (key == "weight_only") {
      w.weight_only = parse_weight_only(r, value, p);
    } else if (key == "bias_correction") {
      r.object(value, p);
      BiasCorrectionConfig bc;
      for (const auto& [bkey, bvalue] : value.items()) {
        const auto bp = child(p, bkey);
        if (bkey == "num_sample") bc.num_sample = r.integer(bvalue, bp, 1);
        else if (bkey == "metric") bc.metric = r.string(bvalue, bp);
        else if (bkey == "mode" && (bvalue == "layerwise" || bvalue == "per_layer"))
          bc.mode = bvalue.get<std::string>();
        else if (bkey == "mode") r.fail(bp, "expected \"layerwise\" or \"per_layer\", got " + show(bvalue));
        else r.unknown_key(bp, "metric, mode, num_sample");
      }
      w.bias_correction = bc;
    } else if (key == "max_percentile") {
      w.max_percentile = r.number(value, p, 0.5, true, 1);
    } else if (key == "per_channel") {
      w.per_channel = r.boolean(value, p);
    } else if (key == "rounding") {
      w.rounding = r.string(value, p);
    } else if (key == "rounding_params") {
      w.rounding_params = r.object(value, p);  // checked against the rounding's declared parameters
    } else {
      r.unknown_key(p, "bias_correction, max_percentile, per_channel, rounding, rounding_params, weight_only");
    }
  }
  // Weight-only ranges are exact min/max per channel or block, and the weights carry no bias error model.
  if (w.weight_only && !conflicts.empty())
    r.fail(child(path, conflicts.front()),
           "cannot be combined with weight_only (its block_size chooses the granularity)");
  return w;
}

// --- plugin sections (the search, its metric, the backend) -------------------------------------------

// {"plugin": NAME, <the plugin's parameters>}. A seed alias (layerwise_search, ...) names its plugin by its
// key (`implied`); its keys are all parameters. The parameters are checked by the plugin's declarations.
PluginChoice parse_plugin_section(const Reader& r, const json& v, const std::string& path, const std::string& implied) {
  r.object(v, path);
  PluginChoice c{implied, json::object(), path};
  for (const auto& [key, value] : v.items()) {
    if (key != "plugin") {
      c.params[key] = value;
      continue;
    }
    if (!implied.empty())
      r.fail(child(path, key),
             "this section's key names its plugin ('" + implied + "'); use model_config.search to pick another search");
    c.plugin = r.string(value, child(path, key));
  }
  if (c.plugin.empty()) r.fail(path, "missing key \"plugin\" (the plugin's name; `qforge plugins` lists them)");
  return c;
}

// A metric: its name, or a section {"plugin": NAME, <the metric's parameters>}.
PluginChoice parse_metric(const Reader& r, const json& v, const std::string& path) {
  if (v.is_object()) return parse_plugin_section(r, v, path, "");
  return PluginChoice{r.string(v, path), json::object(), path};
}

// model_config.transforms: a list of transforms, each a name or {"plugin": NAME, <its parameters>}.
std::vector<PluginChoice> parse_transforms(const Reader& r, const json& v, const std::string& path) {
  if (!v.is_array()) r.fail(path, "expected a list of transforms (names or {\"plugin\": NAME, ...}), got " + show(v));
  std::vector<PluginChoice> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = element(path, i);
    if (!v[i].is_object() && !v[i].is_string())
      r.fail(p, "expected a transform name or {\"plugin\": NAME, ...}, got " + show(v[i]));
    out.push_back(parse_metric(r, v[i], p));
  }
  return out;
}

SearchConfig parse_search(const Reader& r, const json& v, const std::string& path, const std::string& implied) {
  SearchConfig s;
  s.search = parse_plugin_section(r, v, path, implied);
  s.metric.path = child(path, "metric");
  if (const auto it = s.search.params.find("metric"); it != s.search.params.end()) {
    s.metric = parse_metric(r, *it, child(path, "metric"));
    s.search.params.erase(it);
  }
  return s;
}

// --- dtype settings (op_config / subgraph_config / node_config) ------------------------------------

// Reads one dtype key into `s`; false when `key` is not a dtype key. `on` collects "ON" for later.
bool parse_type_key(const Reader& r, const std::string& key, const json& value, const std::string& path, TypeSetting& s,
                    std::optional<quant::QType>& on) {
  if (key == "qtype") {
    s.qtype = r.qtype(value, path);
  } else if (key == "InputType") {
    s.inputs = r.qtype(value, path);
  } else if (key == "OutputType") {
    s.outputs = r.output_qtype(value, path);
  } else if (key == "ON") {
    // The seed's node_info placement: CPU runs in float, BPU in int8.
    const auto where = value.is_string() ? value.get<std::string>() : std::string();
    if (where == "CPU") on = quant::QType::Float32;
    else if (where == "BPU") on = quant::QType::Int8;
    else r.fail(path, "expected \"CPU\" or \"BPU\", got " + show(value));
  } else if (auto k = input_index(key, "input"); k || (k = input_index(key, "InputType"))) {
    const auto t = r.qtype(value, path);
    if (auto it = s.input.find(*k); it != s.input.end() && it->second != t)
      r.fail(path, "conflicts with the other per-input key for input " + std::to_string(*k) + " (input" +
                       std::to_string(*k) + " and InputType" + std::to_string(*k) + " are the same setting)");
    s.input[*k] = t;
  } else {
    return false;
  }
  return true;
}

// "ON" is the coarsest way to say the input dtype: explicit qtype / InputType win over it.
void apply_on(TypeSetting& s, const std::optional<quant::QType>& on) {
  if (on && !s.inputs && !s.qtype) s.inputs = on;
}

TypeSetting parse_type_setting(const Reader& r, const json& v, const std::string& path) {
  r.object(v, path);
  TypeSetting s;
  std::optional<quant::QType> on;
  for (const auto& [key, value] : v.items())
    if (!parse_type_key(r, key, value, child(path, key), s, on)) r.unknown_key(child(path, key), kTypeKeysHelp);
  apply_on(s, on);
  return s;
}

SubgraphSetting parse_subgraph(const Reader& r, const json& v, const std::string& path) {
  r.object(v, path);
  SubgraphSetting sg;
  std::optional<quant::QType> on;
  const auto as_string = [&r](const json& x, const std::string& p) { return r.string(x, p); };
  const auto tensor_list = [&](const json& value, const std::string& p) {
    if (!value.is_array()) r.fail(p, "expected a list of tensor names, got " + show(value));
    return r.list<std::string>(value, p, as_string);
  };
  for (const auto& [key, value] : v.items()) {
    const auto p = child(path, key);
    if (key == "inputs") sg.inputs = tensor_list(value, p);
    else if (key == "outputs") sg.outputs = tensor_list(value, p);
    else if (!parse_type_key(r, key, value, p, sg.setting, on))
      r.unknown_key(p, std::string("inputs, outputs, ") + kTypeKeysHelp);
  }
  if (sg.inputs.empty()) r.fail(path, "missing key \"inputs\" (the tensors where the subgraph starts)");
  if (sg.outputs.empty()) r.fail(path, "missing key \"outputs\" (the tensors where the subgraph ends)");
  apply_on(sg.setting, on);
  return sg;
}

// --- top level -----------------------------------------------------------------------------------

// Sections that the seed's J6 guide places at the top level while its code nests them in model_config:
// both placements are accepted, once.
struct ModelSections {
  std::map<std::string, std::string> where;      // section key -> the path it was given at
  std::map<std::string, SearchConfig> searches;  // "search" and the seed aliases, by key
};

// The seed aliases of model_config.search, strongest first (the seed toolchain runs the layer-wise search
// when both of its sections are given), with the plugin each names.
const std::vector<std::pair<std::string, std::string>>& search_aliases() {
  static const std::vector<std::pair<std::string, std::string>> aliases = {
      {"mixed_precision_search", "mixed_precision"},
      {"layerwise_search", "layerwise"},
      {"modelwise_search", "modelwise"}};
  return aliases;
}

std::optional<std::string> alias_plugin(const std::string& key) {
  for (const auto& [alias, plugin] : search_aliases())
    if (alias == key) return plugin;
  return std::nullopt;
}

bool parse_model_section(const Reader& r, const std::string& key, const json& value, const std::string& path,
                         QuantConfig& c, ModelSections& seen) {
  const std::optional<std::string> alias = alias_plugin(key);
  if (key != "activation" && key != "weight" && key != "search" && !alias) return false;
  if (const auto it = seen.where.find(key); it != seen.where.end())
    r.fail(path, "given twice (also at " + it->second + "); keep the one in model_config");
  seen.where[key] = path;
  if (key == "activation") c.activation = parse_activation(r, value, path);
  else if (key == "weight") c.weight = parse_weight(r, value, path);
  else seen.searches[key] = parse_search(r, value, path, alias.value_or(""));
  return true;
}

// model_config.search, or the strongest seed alias given (a weaker one is ignored, as the seed does).
void choose_search(const Reader& r, QuantConfig& c, const ModelSections& seen) {
  if (seen.searches.empty()) return;
  const auto generic = seen.searches.find("search");
  const SearchConfig* chosen = generic == seen.searches.end() ? nullptr : &generic->second;
  for (const auto& [alias, plugin] : search_aliases()) {
    const auto it = seen.searches.find(alias);
    if (it == seen.searches.end()) continue;
    if (generic != seen.searches.end())
      r.fail(seen.where.at(alias), "given together with " + seen.where.at("search") + "; keep one search section");
    if (chosen)
      spdlog::info("{}: {} is not used: {} names the search", r.source(), seen.where.at(alias), chosen->search.path);
    else chosen = &it->second;
  }
  c.search = *chosen;
}

void parse_model_config(const Reader& r, const json& v, QuantConfig& c, ModelSections& seen) {
  const std::string path = "model_config";
  r.object(v, path);
  for (const auto& [key, value] : v.items()) {
    const auto p = child(path, key);
    if (key == "all_node_type") c.all_node_type = r.qtype(value, p);
    else if (key == "model_output_type") c.model_output_type = r.output_qtype(value, p);
    else if (key == "accuracy_target") c.accuracy_target = r.number(value, p, 0.0, false, 1.0);
    else if (key == "mixed_range") c.mixed_range = parse_mixed_range(r, value, p);
    else if (key == "transforms") {
      c.transforms = parse_transforms(r, value, p);
      c.transforms_given = true;
    } else if (key == "algorithms") c.algorithms = parse_algorithms(r, value, p);
    else if (!parse_model_section(r, key, value, p, c, seen))
      r.unknown_key(p,
                    "accuracy_target, activation, algorithms, all_node_type, layerwise_search, mixed_precision_search, "
                    "mixed_range, "
                    "model_output_type, modelwise_search, search, transforms, weight");
  }
}

// "backend": a name, or a section {"plugin": NAME, <the backend's parameters>} (then without
// "backend_params", which is the seed-style place for the same parameters).
void parse_backend(const Reader& r, const json& v, bool has_backend_params, QuantConfig& c) {
  if (!v.is_object()) {
    c.backend = r.string(v, "backend");
    return;
  }
  const PluginChoice section = parse_plugin_section(r, v, "backend", "");
  if (has_backend_params && !section.params.empty())
    r.fail("backend_params", "given together with parameters in the \"backend\" section; keep one");
  c.backend = section.plugin;
  c.backend_params.update(section.params);
}

// tensor_config.<name>: {"activation": {...}}, one candidate: a list is refused (a pin is not a search).
TensorSetting parse_tensor_setting(const Reader& r, const json& v, const std::string& path) {
  r.object(v, path);
  TensorSetting s;
  for (const auto& [key, value] : v.items()) {
    const auto p = child(path, key);
    if (key != "activation") r.unknown_key(p, "activation");
    r.object(value, p);
    for (const auto& [akey, avalue] : value.items())
      if (avalue.is_array())
        r.fail(child(p, akey), "expected one value: a tensor's calibration is one candidate, not a search");
    s.activation = parse_activation(r, value, p);
    if (s.activation->calibration_type.empty()) r.fail(p, "missing key \"calibration_type\"");
  }
  return s;
}

// Removes every "//" key (a comment, documented in docs/quant_config.md) from the objects of `v`.
void strip_comment_keys(json& v) {
  if (v.is_object()) v.erase("//");
  if (v.is_structured())
    for (auto& child_value : v) strip_comment_keys(child_value);
}

template <class T>
std::map<std::string, T> parse_named(const Reader& r, const json& v, const std::string& path,
                                     T (*one)(const Reader&, const json&, const std::string&)) {
  r.object(v, path);
  std::map<std::string, T> out;
  for (const auto& [key, value] : v.items()) {
    if (key.empty()) r.fail(path, "empty name");
    out.emplace(key, one(r, value, child(path, key)));
  }
  return out;
}

}  // namespace

const char* weight_range_name(WeightRange r) { return r == WeightRange::Mse ? "mse" : "max"; }

const char* algorithms_mode_name(AlgorithmsMode m) { return m == AlgorithmsMode::Off ? "off" : "auto"; }

const char* mixed_range_mode_name(MixedRangeMode m) {
  switch (m) {
    case MixedRangeMode::Split: return "split";
    case MixedRangeMode::Raise: return "raise";
    case MixedRangeMode::Off: return "off";
    default: return "auto";
  }
}

// 4-bit grids have so few levels that clipping a block's rare extremes buys more resolution than it costs;
// at int8 the searched clipping hardly moves the error (docs/weight-only.md, Measured).
WeightRange default_weight_range(quant::QType dtype) {
  return quant::is_4bit(dtype) ? WeightRange::Mse : WeightRange::Max;
}

QuantConfig parse_quant_config(std::string_view text, const std::string& source) {
  const Reader r(source);
  StrictJsonOptions options;
  options.allow_comments = true;
  json doc = parse_strict_json(text, source, options);
  strip_comment_keys(doc);
  if (!doc.is_object()) throw Error(source + ": expected a JSON object at the top level, got " + show(doc));

  QuantConfig c;
  c.source = source;
  c.document = doc;
  ModelSections seen;
  // model_config first so that its sections are the ones a duplicate at the top level is reported against.
  if (doc.contains("model_config")) parse_model_config(r, doc.at("model_config"), c, seen);
  for (const auto& [key, value] : doc.items()) {
    if (key == "model_config") continue;
    if (key == "op_config") c.op_config = parse_named<TypeSetting>(r, value, key, parse_type_setting);
    else if (key == "subgraph_config") c.subgraph_config = parse_named<SubgraphSetting>(r, value, key, parse_subgraph);
    else if (key == "node_config") c.node_config = parse_named<TypeSetting>(r, value, key, parse_type_setting);
    else if (key == "tensor_config") c.tensor_config = parse_named<TensorSetting>(r, value, key, parse_tensor_setting);
    else if (key == "backend") parse_backend(r, value, doc.contains("backend_params"), c);
    else if (key == "backend_params") c.backend_params.update(r.object(value, key));
    else if (key == "plugin_dirs") {
      if (!value.is_array()) r.fail(key, "expected a list of folders, got " + show(value));
      for (size_t i = 0; i < value.size(); ++i) c.plugin_dirs.push_back(r.string(value[i], element(key, i)));
    } else if (key == "max_samples") c.max_samples = r.integer(value, key, 1);
    else if (key == "eval_samples") c.eval_samples = r.integer(value, key, 1);
    else if (key == "cache_memory_mb") c.cache_memory_mb = r.integer(value, key, 1);
    else if (!parse_model_section(r, key, value, key, c, seen))
      r.unknown_key(key,
                    "model_config, op_config, subgraph_config, node_config, tensor_config, backend, backend_params, "
                    "plugin_dirs, max_samples, eval_samples, cache_memory_mb");
  }
  choose_search(r, c, seen);
  return c;
}

QuantConfig load_quant_config(const std::filesystem::path& path) {
  // Only a regular file, opened without blocking: `--config` naming a FIFO fails at once.
  const std::string text = read_regular_file(path, "quant_config", kMaxJsonBytes);
  return parse_quant_config(text, path.string());
}

}  // namespace qf::config
