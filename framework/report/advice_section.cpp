#include "report/advice_section.hpp"

#include "report/html_text.hpp"

namespace qf::report {

namespace {

using nlohmann::json;

std::string score(double value) { return format_fixed(value, 6); }

std::string count(size_t n) { return std::to_string(n); }

std::string ceiling_line(const AdviceSection& a) {
  std::string line;
  if (a.int16_ceiling)
    line = "ceiling: int16 on " + count(a.int16_tensors) + " tensor(s) gives " + score(*a.int16_ceiling);
  else
    line =
        "ceiling: the backend allows int16 on no tensor here; to know the int16 ceiling, quantize with "
        "--backend generic and {\"model_config\": {\"all_node_type\": \"int16\"}}";
  if (a.float16_ceiling)
    line += (a.int16_ceiling ? ", float16 on " : "; float16 on ") + count(a.float16_tensors) + " tensor(s) gives " +
            score(*a.float16_ceiling);
  return line;
}

std::string split_line(const AdviceSection& a) {
  std::string line = "split: weights only (activations float) " + score(*a.weights_only) +
                     ", activations only (weights float) " + score(*a.activations_only);
  if (*a.weights_only < *a.activations_only) return line + ": the weights lose more";
  if (*a.activations_only < *a.weights_only) return line + ": the activations lose more";
  return line;
}

std::string nodes_line(const AdviceSection& a) {
  std::string line = "nodes that matter (" + a.nodes_analysis + "):";
  if (a.nodes.empty()) return line + " none gains on its own";
  for (size_t i = 0; i < a.nodes.size(); ++i)
    line += (i ? ", " : " ") + a.nodes[i].node + " (" + a.nodes[i].op + ") " + score(a.nodes[i].score);
  return line;
}

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

std::vector<std::string> advice_lines(const AdviceSection& advice) {
  std::vector<std::string> lines = {ceiling_line(advice)};
  if (advice.weights_only && advice.activations_only) lines.push_back(split_line(advice));
  if (!advice.nodes_analysis.empty()) lines.push_back(nodes_line(advice));
  if (!advice.next_step.empty()) lines.push_back("next step: " + advice.next_step);
  return lines;
}

json target_json(const TargetSection& t) {
  return {{"value", t.value}, {"metric", t.metric}, {"source", t.source}, {"where", t.where}};
}

TargetSection read_target(const JsonFields& f) {
  return {f.required_number("value"), f.text("metric").value_or("cosine"), f.text("source").value_or("default"),
          f.text("where").value_or("")};
}

json advice_json(const AdviceSection& a) {
  json nodes = json::array();
  for (const AdviceNode& n : a.nodes)
    nodes.push_back({{"node", n.node}, {"op", n.op}, {"tensors", n.tensors}, {"score", n.score}});
  return {{"score", a.score},
          {"int16_ceiling", optional_number(a.int16_ceiling)},
          {"int16_tensors", a.int16_tensors},
          {"float16_ceiling", optional_number(a.float16_ceiling)},
          {"float16_tensors", a.float16_tensors},
          {"weights_only", optional_number(a.weights_only)},
          {"activations_only", optional_number(a.activations_only)},
          {"raise_dtype", a.raise_dtype},
          {"nodes_analysis", a.nodes_analysis},
          {"nodes", nodes},
          {"next_step", a.next_step},
          {"snippet", a.snippet}};
}

AdviceSection read_advice(const json& object, const std::string& path) {
  const JsonFields f(object, path);
  AdviceSection a;
  a.score = f.required_number("score");
  a.int16_ceiling = f.number("int16_ceiling");
  a.int16_tensors = static_cast<size_t>(f.number("int16_tensors").value_or(0));
  a.float16_ceiling = f.number("float16_ceiling");
  a.float16_tensors = static_cast<size_t>(f.number("float16_tensors").value_or(0));
  a.weights_only = f.number("weights_only");
  a.activations_only = f.number("activations_only");
  a.raise_dtype = f.text("raise_dtype").value_or("int16");
  a.nodes_analysis = f.text("nodes_analysis").value_or("");
  if (const json* nodes = f.array("nodes"))
    for (size_t i = 0; i < nodes->size(); ++i) {
      const JsonFields n((*nodes)[i], JsonFields::item_path(f.key_path("nodes"), i));
      a.nodes.push_back(
          {n.required_text("node"), n.text("op").value_or(""), n.strings("tensors"), n.required_number("score")});
    }
  a.next_step = f.text("next_step").value_or("");
  if (f.object("snippet")) a.snippet = object.at("snippet");
  return a;
}

}  // namespace qf::report
