#include "report/runtime_check.hpp"

#include "report/json_fields.hpp"

namespace qf::report {

using json = nlohmann::json;

namespace {
json number_or_null(const std::optional<double>& v) { return v ? json(*v) : json(); }
}  // namespace

json runtime_check_json(const RuntimeCheckSection& s) {
  json outputs = json::array();
  for (const RuntimeAgreementRow& o : s.outputs)  // non-finite SQNR (identical outputs) is written as null
    outputs.push_back({{"name", o.output},
                       {"cosine_vs_simulation", number_or_null(o.cosine_vs_simulation)},
                       {"sqnr_vs_simulation", number_or_null(o.sqnr_vs_simulation)},
                       {"cosine_vs_float", number_or_null(o.cosine_vs_float)},
                       {"sqnr_vs_float", number_or_null(o.sqnr_vs_float)}});
  return {{"runtime", s.runtime}, {"version", s.version}, {"library", s.library}, {"model", s.model},
          {"samples", s.samples}, {"seconds", s.seconds}, {"outputs", outputs}};
}

RuntimeCheckSection read_runtime_check(const JsonFields& f) {
  RuntimeCheckSection s;
  s.runtime = f.text("runtime").value_or("");
  s.version = f.text("version").value_or("");
  s.library = f.text("library").value_or("");
  s.model = f.text("model").value_or("");
  s.samples = static_cast<size_t>(f.number("samples").value_or(0));
  s.seconds = f.number("seconds").value_or(0);
  if (const json* outputs = f.array("outputs"))
    for (size_t i = 0; i < outputs->size(); ++i) {
      const JsonFields o((*outputs)[i], JsonFields::item_path(f.key_path("outputs"), i));
      s.outputs.push_back({o.required_text("name"), o.number("cosine_vs_simulation"), o.number("sqnr_vs_simulation"),
                           o.number("cosine_vs_float"), o.number("sqnr_vs_float")});
    }
  return s;
}

}  // namespace qf::report
