#include "debug/node_values.hpp"

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "executor/executor.hpp"
#include "quant/quant_math.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace qf::debug {

std::map<std::string, std::vector<Tensor>> capture_tensors(std::shared_ptr<const Model> model,
                                                           const std::vector<std::map<std::string, Tensor>>& samples,
                                                           const std::set<std::string>& tensors, int threads) {
  std::map<std::string, std::vector<Tensor>> out;
  for (const auto& t : tensors) out[t].resize(samples.size());
  if (tensors.empty()) return out;
  // Samples run in parallel, one thread each.
  const Executor executor(std::move(model), ExecutorOptions{1});
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  Progress progress("collect values", samples.size(), samples.size() < 2 || Progress::quiet_default());
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, samples.size(), [&](size_t s) {
      executor.run(samples[s], RunHooks{[&](const std::string& name, const Tensor& value) {
                                          auto it = out.find(name);
                                          if (it != out.end()) it->second[s] = value;
                                        },
                                        {}});
      progress.tick();
    });
  });
  return out;
}

namespace {

void require_float(const std::vector<Tensor>& values, const std::string& node, const std::string& tensor) {
  for (const Tensor& t : values) {
    if (!t.defined()) throw Error("node '" + node + "': tensor '" + tensor + "' was not computed");
    if (t.dtype() != DType::Float32)
      throw Error("node '" + node + "': tensor '" + tensor + "' is " + dtype_name(t.dtype()) +
                  ", not float32: nothing to plot");
  }
}

}  // namespace

std::vector<NodeValues> collect_node_values(const DebugModel& model,
                                            const std::vector<std::map<std::string, Tensor>>& samples,
                                            const std::vector<std::string>& names, int threads) {
  const auto& graph = model.calibrated().graph;
  std::vector<NodeValues> out;
  std::set<std::string> float_tensors, quantized_tensors;
  for (const std::string& name : names) {
    NodeValues v;
    v.name = name;
    if (auto p = model.find_point(name)) {
      v.point = &model.points()[*p];
      v.kind = v.point->is_weight ? "weight" : "activation";
      v.op = model.reader_op(*p);
      v.tensor = v.point->input;
      v.label = model.point_label(*p);
      if (!graph.initializers.count(v.tensor)) float_tensors.insert(v.tensor);
    } else if (auto n = model.find_normal_node(name)) {
      v.kind = "node";
      v.op = graph.nodes[*n].op_type;
      v.tensor = model.output_tensor(*n);
      if (v.tensor.empty()) throw Error("node '" + name + "' has no output");
      v.label = name + " output0 (" + v.op + ") [tensor " + v.tensor + "]";
      float_tensors.insert(v.tensor);
      quantized_tensors.insert(v.tensor);
    } else {
      throw Error("node '" + name + "' is not in " + model.source());
    }
    out.push_back(std::move(v));
  }
  auto float_run = capture_tensors(model.float_model(), samples, float_tensors, threads);
  auto quantized_run = capture_tensors(model.fully_quantized(), samples, quantized_tensors, threads);
  for (NodeValues& v : out) {
    if (v.point) {
      auto init = graph.initializers.find(v.tensor);
      v.float_values = init != graph.initializers.end() ? std::vector<Tensor>{init->second} : float_run.at(v.tensor);
      require_float(v.float_values, v.name, v.tensor);
      const quant::QuantParams params = v.point->attrs.params();
      for (const Tensor& t : v.float_values) v.quantized_values.push_back(quant::fake_quantize(t, params));
    } else {
      v.float_values = float_run.at(v.tensor);
      v.quantized_values = quantized_run.at(v.tensor);
      require_float(v.float_values, v.name, v.tensor);
      require_float(v.quantized_values, v.name, v.tensor);
    }
  }
  return out;
}

}  // namespace qf::debug
