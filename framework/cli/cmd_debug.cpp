// qforge debug: the accuracy debug tool of the seed toolchain on calibrated_model.onnx (framework/debug/):
// sensitivity, accumulate-error, distribution, channelwise and runall (all of them, one report.html).
// Every run writes its files all-or-nothing into --output-dir.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "debug/accumulate_error.hpp"
#include "debug/channelwise.hpp"
#include "debug/debug_metrics.hpp"
#include "debug/debug_model.hpp"
#include "debug/debug_output.hpp"
#include "debug/debug_report.hpp"
#include "debug/distribution.hpp"
#include "debug/name_lists.hpp"
#include "debug/sensitivity.hpp"
#include "pipeline/setup.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/progress.hpp"

namespace qf::cli {

namespace {

const char* kSubcommands[] = {"sensitivity", "accumulate-error", "distribution", "channelwise", "runall"};

struct DebugArgs {
  std::string sub;
  std::string model, calib_data, output_dir;
  std::vector<std::string> metrics;
  std::string metric;
  debug::NodeType node_type = debug::NodeType::node;
  size_t data_num = 1;
  std::vector<std::string> interested, nodes;
  std::optional<std::string> output_node;
  std::optional<std::vector<std::vector<std::string>>> quantize_groups, non_quantize_groups;
  bool average_mode = false;
  std::optional<int64_t> axis;
  size_t top = 5;
  int threads = 0;
  std::vector<std::filesystem::path> plugin_dirs;
};

// Everything the tools share: the model, the samples and the output folder, each checked once.
struct Session {
  std::shared_ptr<const plugin::Registry> plugins;  // loaded once, for every metric of the run
  debug::DebugModel model;
  std::vector<std::map<std::string, Tensor>> samples;
  debug::DebugOutput output;
  std::vector<std::pair<std::string, std::string>> summary;
};

std::string json_text(const nlohmann::json& j) { return j.dump(2) + "\n"; }

debug::SensitivityResult run_sensitivity(const DebugArgs& a, Session& s, const debug::DebugMetrics& metrics) {
  debug::SensitivityOptions o;
  o.type = a.node_type;
  o.interested = a.interested;
  o.threads = a.threads;
  return debug::compute_sensitivity(s.model, s.samples, metrics.instances(), o);
}

std::vector<debug::Curve> curves_of(const DebugArgs& a, const debug::DebugModel& model) {
  std::vector<debug::Curve> curves;
  if (a.quantize_groups) curves = debug::curves_from_groups(model, *a.quantize_groups, true);
  if (a.non_quantize_groups) {
    auto more = debug::curves_from_groups(model, *a.non_quantize_groups, false);
    curves.insert(curves.end(), more.begin(), more.end());
  }
  if (curves.empty()) curves = debug::default_curves(model);
  return curves;
}

// Distribution plots (with their SVG files under `folder`) and the report section.
debug::ReportSection write_distributions(const std::vector<debug::NodeValues>& values, Session& s,
                                         const std::string& folder) {
  std::vector<debug::DistributionPlot> plots;
  nlohmann::json j = nlohmann::json::array();
  for (const auto& v : values) {
    plots.push_back(debug::distribution_of(v));
    j.push_back(debug::distribution_json(plots.back()));
    const auto svgs = debug::distribution_svgs(plots.back(), "distribution-" + debug::file_safe(v.name));
    for (size_t k = 0; k < svgs.size(); ++k)
      s.output.write(folder + debug::file_safe(v.name) + (k ? "_error" : "") + ".svg", svgs[k] + "\n");
  }
  s.output.write(folder + "distribution.json", json_text(j));
  return debug::distribution_section(plots);
}

debug::ReportSection write_channelwise(const std::vector<debug::NodeValues>& values, const DebugArgs& a, Session& s,
                                       const std::string& folder) {
  std::vector<debug::ChannelwisePlot> plots;
  nlohmann::json j = nlohmann::json::array();
  for (const auto& v : values) {
    plots.push_back(debug::channelwise_of(v, a.axis));
    j.push_back(debug::channelwise_json(plots.back()));
    s.output.write(folder + debug::file_safe(v.name) + ".svg",
                   debug::channelwise_svg(plots.back(), debug::channelwise_chart_id(v.name)) + "\n");
  }
  s.output.write(folder + "channelwise.json", json_text(j));
  return debug::channelwise_section(plots);
}

debug::ReportSection write_accumulate_error(const DebugArgs& a, Session& s, const std::string& folder) {
  const debug::DebugMetrics metric(s.plugins, {a.metric});
  const auto curves = curves_of(a, s.model);
  if (curves.empty()) throw Error(a.model + ": no quantized calibration node to build an error curve from");
  const auto result =
      debug::accumulate_error(s.model, s.samples, *metric.instances()[0], curves, a.average_mode, a.threads);
  s.output.write(folder + "accumulate_error.json", json_text(debug::accumulate_error_json(result)));
  s.output.write(folder + "accumulate_error.svg",
                 debug::accumulate_error_svg(result, debug::kAccumulateErrorChartId) + "\n");
  for (size_t c = 0; c < result.curves.size(); ++c)
    std::cout << "accumulated " << result.metric << " at the last node, " << result.curves[c] << ": "
              << (result.values[c].empty() ? std::nan("") : result.values[c].back()) << "\n";
  return debug::accumulate_error_section(result);
}

// runall: weight and activation sensitivity in one scoring batch, their worst `top` each plotted, and the
// weight-only / activation-only error curves.
std::vector<debug::ReportSection> runall(const DebugArgs& a, Session& s, const debug::DebugMetrics& metrics) {
  std::vector<debug::ReportSection> sections;
  debug::SensitivityOptions o;
  o.threads = a.threads;
  for (const size_t p : s.model.quantized_points()) o.interested.push_back(s.model.points()[p].name);
  const auto both = debug::compute_sensitivity(s.model, s.samples, metrics.instances(), o);
  std::vector<std::string> picked;
  for (const char* kind : {"weight", "activation"}) {
    debug::SensitivityResult r = both;
    r.label = kind;
    std::erase_if(r.items, [&](const debug::SensitivityItem& i) { return i.kind != kind; });
    std::cout << debug::format_sensitivity_table(r) << "\n";
    s.output.write(std::string("node_sensitivity/sensitivity_") + kind + ".json",
                   json_text(debug::sensitivity_json(r)));
    s.output.write(std::string("node_sensitivity/sensitivity_") + kind + ".txt", debug::format_sensitivity_table(r));
    for (size_t i = 0; i < r.items.size() && i < a.top; ++i) picked.push_back(r.items[i].name);
    sections.push_back(debug::sensitivity_section(r));
  }
  const auto& nodes = a.nodes.empty() ? picked : a.nodes;
  const auto values = debug::collect_node_values(s.model, s.samples, nodes, a.threads);
  sections.push_back(write_accumulate_error(a, s, "accumulate_error/"));
  sections.push_back(write_distributions(values, s, "data_distribution/"));
  sections.push_back(write_channelwise(values, a, s, "channelwise_distribution/"));
  return sections;
}

DebugArgs parse_args(const std::vector<std::string>& args, bool& help_only) {
  po::options_description desc("options");
  desc.add_options()("model", po::value<std::string>()->required(), "calibrated_model.onnx written by qforge quantize")(
      "calib-data", po::value<std::string>()->required(), "calibration sample folder")(
      "output-dir", po::value<std::string>()->required(), "folder for the results (written all or nothing)")(
      "data-num", po::value<int>()->default_value(1), "samples to use (0: all)")(
      "metrics", po::value<std::string>()->default_value("cosine-similarity"),
      "sensitivity, runall: metrics, comma-separated (cosine-similarity, mse, mre, sqnr, chebyshev, ...)")(
      "node-type", po::value<std::string>()->default_value("node"), "sensitivity: node, weight or activation")(
      "interested-nodes", po::value<std::string>(),
      "sensitivity: only these nodes, e.g. \"[conv1,conv2]\" (overrides --node-type)")(
      "output-node", po::value<std::string>(), "sensitivity: score only this output (a graph output, tensor or node)")(
      "quantize-node", po::value<std::string>(),
      "accumulate-error: curves quantizing only these, \"[a,b]\" or groups \"[[a,b],[c]]\"; weight / activation = all "
      "of that kind")("non-quantize-node", po::value<std::string>(),
                      "accumulate-error: curves quantizing everything but these (same syntax)")(
      "metric", po::value<std::string>()->default_value("cosine-similarity"),
      "accumulate-error: the metric of the curves")("average-mode", "accumulate-error: plot each curve's running mean")(
      "nodes", po::value<std::string>(),
      "distribution, channelwise: nodes to plot (runall: instead of the top sensitive ones)")(
      "axis", po::value<int>(), "channelwise: channel axis (default: 1; a weight calibration node's own axis)")(
      "top", po::value<int>()->default_value(5), "runall: plot the worst N weight and N activation nodes")(
      "threads", po::value<int>()->default_value(0), "worker threads (0: all cores)")(
      "plugin-dir", po::value<std::vector<std::string>>()->composing(),
      "extra folder of plugin libraries (repeatable)");
  add_verbosity_options(desc);
  const std::string synopsis =
      "sensitivity|accumulate-error|distribution|channelwise|runall --model OUT/calibrated_model.onnx "
      "--calib-data DIR --output-dir D [options]";
  DebugArgs a;
  std::vector<std::string> rest = args;
  if (!rest.empty() && rest[0].rfind("-", 0) != 0) {
    a.sub = rest[0];
    rest.erase(rest.begin());
  }
  // The sub-command is checked before the options, so `qforge debug` alone names what is missing first.
  const bool help =
      std::any_of(rest.begin(), rest.end(), [](const std::string& x) { return x == "--help" || x == "-h"; });
  if (a.sub.empty() && !help)
    throw UsageError("missing sub-command: one of sensitivity, accumulate-error, distribution, channelwise, runall");
  if (!a.sub.empty() && std::find(std::begin(kSubcommands), std::end(kSubcommands), a.sub) == std::end(kSubcommands))
    throw UsageError("unknown sub-command '" + a.sub +
                     "' (sensitivity, accumulate-error, distribution, channelwise, runall)");
  auto vm = parse_options("debug", synopsis, desc, rest);
  if (!vm) {
    help_only = true;
    return a;
  }
  apply_verbosity(*vm);
  if (vm->count("quiet")) Progress::set_quiet_default(true);
  a.model = (*vm)["model"].as<std::string>();
  a.calib_data = (*vm)["calib-data"].as<std::string>();
  a.output_dir = (*vm)["output-dir"].as<std::string>();
  const int data_num = (*vm)["data-num"].as<int>();
  if (data_num < 0) throw UsageError("--data-num must be >= 0");
  a.data_num = static_cast<size_t>(data_num);
  a.threads = (*vm)["threads"].as<int>();
  if (a.threads < 0) throw UsageError("--threads must be >= 0");
  const int top = (*vm)["top"].as<int>();
  if (top < 1) throw UsageError("--top must be >= 1");
  a.top = static_cast<size_t>(top);
  if (vm->count("plugin-dir"))
    for (const auto& d : (*vm)["plugin-dir"].as<std::vector<std::string>>()) a.plugin_dirs.emplace_back(d);
  a.metrics = debug::parse_name_list((*vm)["metrics"].as<std::string>(), "--metrics");
  a.metric = (*vm)["metric"].as<std::string>();
  a.node_type = debug::parse_node_type((*vm)["node-type"].as<std::string>());
  if (vm->count("interested-nodes"))
    a.interested = debug::parse_name_list((*vm)["interested-nodes"].as<std::string>(), "--interested-nodes");
  if (vm->count("nodes")) a.nodes = debug::parse_name_list((*vm)["nodes"].as<std::string>(), "--nodes");
  if (vm->count("output-node")) a.output_node = (*vm)["output-node"].as<std::string>();
  if (vm->count("quantize-node"))
    a.quantize_groups = debug::parse_name_groups((*vm)["quantize-node"].as<std::string>(), "--quantize-node");
  if (vm->count("non-quantize-node"))
    a.non_quantize_groups =
        debug::parse_name_groups((*vm)["non-quantize-node"].as<std::string>(), "--non-quantize-node");
  a.average_mode = vm->count("average-mode") > 0;
  if (vm->count("axis")) a.axis = (*vm)["axis"].as<int>();
  if ((a.sub == "distribution" || a.sub == "channelwise") && a.nodes.empty())
    throw UsageError("--nodes is required for 'debug " + a.sub + "'");
  return a;
}

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buffer;
}

}  // namespace

int cmd_debug(const std::vector<std::string>& args) {
  bool help_only = false;
  const DebugArgs a = parse_args(args, help_only);
  if (help_only) return 0;

  set_interrupt_outcome("nothing was written to " + a.output_dir);
  cancellation_point("load");
  // Cheap checks first: metrics, then the model and its node names, then samples and the output folder.
  std::shared_ptr<const plugin::Registry> plugins = pipeline::load_plugins(a.plugin_dirs);
  const debug::DebugMetrics metrics(plugins, a.metrics);
  if (a.sub == "accumulate-error" || a.sub == "runall") debug::DebugMetrics(plugins, {a.metric});
  debug::DebugModel model = debug::DebugModel::load(a.model);
  if (a.output_node) model.restrict_output(*a.output_node);
  for (const auto& n : a.nodes) model.resolve(n);
  if (a.quantize_groups)
    for (const auto& g : *a.quantize_groups)
      for (const auto& n : g) model.resolve(n, true);
  if (a.non_quantize_groups)
    for (const auto& g : *a.non_quantize_groups)
      for (const auto& n : g) model.resolve(n, true);
  auto samples = debug::load_samples(a.calib_data, model.calibrated(), a.data_num);
  Session s{std::move(plugins), std::move(model), std::move(samples), debug::DebugOutput(a.output_dir), {}};
  s.summary = {
      {"model", a.model},
      {"samples", std::to_string(s.samples.size()) + " from " + a.calib_data},
      {"calibration nodes", std::to_string(s.model.quantized_points(true).size()) + " weight, " +
                                std::to_string(s.model.quantized_points(false).size()) + " activation (quantized)"},
      {"normal nodes", std::to_string(s.model.normal_nodes().size())},
      {"created", now_text()}};

  cancellation_point(a.sub);
  std::vector<debug::ReportSection> sections;
  if (a.sub == "sensitivity") {
    const auto r = run_sensitivity(a, s, metrics);
    std::cout << debug::format_sensitivity_table(r);
    const std::string base = "sensitivity_" + r.label;
    s.output.write(base + ".json", json_text(debug::sensitivity_json(r)));
    s.output.write(base + ".txt", debug::format_sensitivity_table(r));
    sections.push_back(debug::sensitivity_section(r));
  } else if (a.sub == "accumulate-error") {
    sections.push_back(write_accumulate_error(a, s, ""));
  } else if (a.sub == "distribution") {
    sections.push_back(write_distributions(debug::collect_node_values(s.model, s.samples, a.nodes, a.threads), s, ""));
  } else if (a.sub == "channelwise") {
    sections.push_back(write_channelwise(debug::collect_node_values(s.model, s.samples, a.nodes, a.threads), a, s, ""));
  } else {
    sections = runall(a, s, metrics);
  }
  cancellation_point("report");
  s.output.write("report.html", debug::render_debug_report("qforge debug " + a.sub, s.summary, sections));
  s.output.commit();
  set_interrupt_outcome("the results in " + a.output_dir + " are complete");
  log_result("wrote the debug results to " + a.output_dir);
  return 0;
}

}  // namespace qf::cli
