// A backend described by a backend.json file (format: plugins/backends/backend.schema.json, reference:
// docs/backends.md): checked against the schema at load (errors name the file and the JSON path), then
// answered by the host for every node: per-op rules over inputs/outputs, float-fallback ops, fusion
// patterns, requantization rules and costs. A file may extend another backend.json backend and name a
// code hook (a backend plugin that refines the table's answer).
#pragma once

#include <qforge/qf_plugin.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace qf::plugin {

struct NodePlacement;
struct ParamSpec;

// Which transformer blocks the target runs as one kernel (backend.json "units"; docs/backends.md): true
// marks the recognised unit a fusion group (no quantization inside it), false quantizes its ops one by one.
struct UnitPolicy {
  bool layernorm = true;
  bool gelu = true;
  bool softmax = true;
};

namespace table {

// What an input must be for a "when": {"inputs": {...}} condition.
enum class InputKind { Initializer, Activation };

// Conditions of a rule or fusion: every one given must hold.
struct When {
  std::map<std::string, nlohmann::json> params;       // backend parameter -> required value
  std::map<std::string, std::vector<int64_t>> attrs;  // integer attribute -> accepted values
  std::optional<std::string> domain;
  std::map<size_t, InputKind> inputs;  // input index -> an initializer / not one
};

struct TensorRule {
  std::optional<uint32_t> dtypes;  // QF_DTYPE_MASK bits
  std::optional<QfDType> force;
  bool per_channel_given = false;
  std::optional<int64_t> per_channel_axis;  // nullopt with per_channel_given: per-tensor only
  int64_t per_channel_min_rank = 0;
  std::optional<bool> symmetric;
  std::optional<bool> reduce_range;
  std::optional<bool> int16_ec;
};

struct Rule {
  When when;
  std::optional<bool> fallback;
  std::map<int64_t, TensorRule> inputs;  // -1: "*"
  std::map<int64_t, TensorRule> outputs;
  std::optional<uint32_t> requantize;  // QF_REQUANT_*
  std::map<QfDType, double> cost;
  std::string note;
  std::optional<uint32_t> native_dtypes;  // QF_DTYPE_MASK bits the runtime executes natively at these nodes
};

// One "ops" entry: "Op", "domain::Op", '*' wildcards in either part.
struct OpEntry {
  std::string domain_pattern;  // "" ONNX (also "ai.onnx"), "*" any
  std::string op_pattern;
  bool wildcard = false;  // applied before exact entries
  std::vector<Rule> rules;
};

struct FusionStep {
  std::vector<std::string> ops;
  bool optional = false;
  std::optional<size_t> input;
};

struct Fusion {
  std::string name;
  std::vector<FusionStep> steps;
  When when;
};

}  // namespace table

// Longest string or key a backend.json may hold: the schema's patterns run std::regex, whose matcher
// recurses once per byte, so an unbounded name would overflow the stack (docs/backends.md, Limits).
inline constexpr size_t kMaxBackendJsonString = 1024;

class BackendTable {
 public:
  // Reads and validates `path` (only a regular file; a FIFO is refused at once). `find_base` resolves "extends" to an
  // already loaded table (nullptr: unknown, an error naming the file and /extends).
  using BaseLookup = std::shared_ptr<const BackendTable> (*)(const std::string& name, void* context);
  static std::shared_ptr<const BackendTable> load(const std::filesystem::path& path, BaseLookup find_base,
                                                  void* context);
  // The same from the file's text, read with util/strict_json (depth, duplicate keys, entries, size and
  // kMaxBackendJsonString); `file` names it in errors. Every failure is a qf::Error: the fuzzing entry point.
  static std::shared_ptr<const BackendTable> parse_text(const std::string& text, const std::string& file,
                                                        BaseLookup find_base, void* context);
  // The same from a parsed document (from parse_strict_json: the schema check recurses into it).
  static std::shared_ptr<const BackendTable> parse(const nlohmann::json& doc, const std::string& file,
                                                   BaseLookup find_base, void* context);
  // The schema every file is checked against (plugins/backends/backend.schema.json, built in).
  static const std::string& schema_text();
  // Reads only "name" and "extends" (no validation), so a folder's files can be loaded bases first.
  static std::pair<std::string, std::string> peek_name_and_base(const std::filesystem::path& path);

  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const std::string& help() const { return help_; }
  const std::filesystem::path& file() const { return file_; }
  const std::string& hook() const { return hook_; }
  const std::shared_ptr<const BackendTable>& base() const { return base_; }
  // Declared parameters, the base's first (a redeclared one replaces the base's).
  std::vector<ParamSpec> params() const;
  // Allowed model_output_type values (empty: any).
  const std::vector<std::string>& model_output_types() const;
  // "accuracy_target": this file's, else its base's (none: the default target applies).
  std::optional<double> accuracy_target() const;
  // The "units" switches: this file's keys over its base's (all true when no file says).
  UnitPolicy units() const;
  // "native_dtypes" as QF_DTYPE_MASK bits, this file's or its base's (0: not declared, everything native).
  uint32_t native_dtypes() const;

  // Fills placement[n] for every node (arrays sized by the caller) and the fusion groups (renumbered
  // by the caller). `params` holds every declared parameter's value as JSON.
  void analyze(const Graph& graph, const std::map<std::string, std::vector<int64_t>, std::less<>>& shapes,
               const std::map<std::string, nlohmann::json>& params, std::vector<NodePlacement>& placement) const;

 private:
  BackendTable() = default;
  static std::shared_ptr<const BackendTable> parse_validated(const nlohmann::json& doc, const std::string& file,
                                                             BaseLookup find_base, void* context);
  BackendTable(const BackendTable&) = delete;  // chain_ points at this object
  BackendTable& operator=(const BackendTable&) = delete;
  void apply_rules(const Graph& graph, size_t node,
                   const std::map<std::string, std::vector<int64_t>, std::less<>>& shapes,
                   const std::map<std::string, nlohmann::json>& params, NodePlacement& p) const;
  void find_fusions(const Graph& graph, const std::map<std::string, nlohmann::json>& params,
                    std::vector<NodePlacement>& placement) const;
  const std::vector<table::Fusion>& effective_fusions() const;

  std::string name_, version_, help_, hook_;
  std::filesystem::path file_;
  std::shared_ptr<const BackendTable> base_;
  std::vector<nlohmann::json> param_decls_;  // {"name":..., "type":..., "default":..., "help":..., "choices":...}
  std::optional<bool> unlisted_fallback_;
  table::Rule defaults_;
  bool has_defaults_ = false;
  std::vector<table::OpEntry> ops_;
  std::optional<std::vector<table::Fusion>> fusions_;
  std::optional<std::vector<std::string>> model_output_types_;
  std::optional<double> accuracy_target_;
  std::map<std::string, bool> units_;  // "units" keys this file sets
  std::optional<uint32_t> native_dtypes_;
  // Derived once at parse: the extends chain from the root base to this file, and from which link on the
  // ops count as "listed" when unlisted ops fall back (chain.size(): unlisted ops run on the accelerator).
  std::vector<const BackendTable*> chain_;
  size_t listed_from_ = 0;
};

}  // namespace qf::plugin
