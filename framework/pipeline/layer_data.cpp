#include "pipeline/layer_data.hpp"

#include <qforge/qf_plugin.h>

#include <spdlog/spdlog.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <memory>
#include <unordered_map>

#include "executor/executor.hpp"
#include "executor/ops/gemm_util.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/progress.hpp"

namespace qf::pipeline {

namespace {

// A sampled vector pair; the kept ones are those with the smallest keys (a hash of where the vector came from),
// so the subset does not depend on which thread saw which sample.
struct Sampled {
  uint64_t key = 0;
  std::vector<float> q, fp;
  bool operator<(const Sampled& o) const { return key < o.key; }
};

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Keeps the `cap` entries with the smallest keys (a max-heap by key).
void offer(std::vector<Sampled>& heap, size_t cap, Sampled&& s) {
  if (heap.size() < cap) {
    heap.push_back(std::move(s));
    std::push_heap(heap.begin(), heap.end());
  } else if (s.key < heap.front().key) {
    std::pop_heap(heap.begin(), heap.end());
    heap.back() = std::move(s);
    std::push_heap(heap.begin(), heap.end());
  }
}

// One thread's partial sums for one target.
struct Partial {
  std::vector<float> gram_qq, gram_qf;
  uint64_t vectors = 0;
  double energy = 0;
  std::vector<std::vector<Sampled>> samples;  // per group
};

// What one target needs during the pass.
struct Job {
  const LayerTarget* target = nullptr;
  std::string fp_input, q_input;
  std::vector<float> weight;  // groups x rows x K (out-in, for the output energy)
  int64_t groups = 1, rows = 0, k = 0;
};

bool is_relu_like(const Graph& g, const Node& n) {
  if (n.op_type == "Relu") return true;
  if (n.op_type != "Clip") return false;
  if (const Attribute* a = n.attr("min")) return a->f == 0.0f;  // opset < 11
  if (n.inputs.size() < 2 || n.inputs[1].empty() || !g.initializers.count(n.inputs[1])) return false;
  const Tensor& t = g.initializers.at(n.inputs[1]);
  return t.dtype() == DType::Float32 && t.numel() == 1 && t.data<float>()[0] == 0.0f;
}

// The target's bias and whether a Relu follows.
void describe_output(const Graph& g, const Node& n, const std::map<std::string, std::vector<size_t>>& readers,
                     LayerTarget& t) {
  if (n.op_type != "MatMul" && n.inputs.size() > 2 && g.initializers.count(n.inputs[2])) {
    const Tensor& b = g.initializers.at(n.inputs[2]);
    if (b.dtype() == DType::Float32 && b.numel() == t.out_channels) t.bias = n.inputs[2];
  }
  bool graph_output = false;
  for (const auto& o : g.outputs) graph_output = graph_output || o.name == n.outputs[0];
  const auto it = readers.find(n.outputs[0]);
  t.relu = !graph_output && it != readers.end() && it->second.size() == 1 && is_relu_like(g, g.nodes[it->second[0]]);
}

std::vector<float> out_in_weight(const Tensor& w, const LayerTarget& t) {
  const int64_t k = t.geometry.in_features, out = t.out_channels;
  std::vector<float> m(static_cast<size_t>(out * k));
  const float* d = w.data<float>();
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < k; ++j)
      m[static_cast<size_t>(o * k + j)] = t.layout == QF_WEIGHT_LAYOUT_OUT_IN ? d[o * k + j] : d[j * out + o];
  return m;
}

uint64_t target_bytes(const LayerTarget& t) {
  const uint64_t k = static_cast<uint64_t>(t.geometry.in_features), groups = static_cast<uint64_t>(t.geometry.groups);
  return groups * k * (2 * k + (t.relu ? 2 * kLayerSamplesPerGroup : 0)) * sizeof(float);
}

}  // namespace

std::vector<LayerTarget> layer_targets(const Model& optimized, const QuantPlan& plan,
                                       const std::vector<size_t>& points) {
  const Graph& g = optimized.graph;
  std::map<std::string, std::vector<size_t>> readers;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs) readers[in].push_back(i);
  std::vector<LayerTarget> targets;
  for (size_t p : points) {
    const QuantPoint& q = plan.points[p];
    const auto w = g.initializers.find(q.tensor);
    if (q.uses.size() != 1 || q.uses[0].second != 1 || w == g.initializers.end() ||
        w->second.dtype() != DType::Float32 || readers[q.tensor].size() != 1)
      continue;
    const Node& n = g.nodes[q.uses[0].first];
    const auto geometry = layer_geometry(n, w->second.shape());
    if (!geometry || n.outputs.empty()) continue;
    LayerTarget t;
    t.point = p;
    t.node = q.uses[0].first;
    t.geometry = *geometry;
    const Shape& s = w->second.shape();
    const bool out_in = n.op_type == "Conv" || (n.op_type == "Gemm" && n.int_attr("transB", 0) != 0);
    t.layout = out_in ? QF_WEIGHT_LAYOUT_OUT_IN : QF_WEIGHT_LAYOUT_IN_OUT;
    t.out_channels = out_in ? s[0] : s[1];
    describe_output(g, n, readers, t);
    targets.push_back(std::move(t));
  }
  return targets;
}

namespace {

// Adds one sample's vectors of a target into `part`.
void accumulate(const Job& job, const LayerVectors& xq, const LayerVectors& xf, size_t sample, Partial& part) {
  const int64_t k = job.k, n = xq.rows, rows = job.rows;
  if (xf.rows != n) throw Error("layer data: node '" + job.fp_input + "' reads vectors of different counts");
  std::vector<float> y(static_cast<size_t>(n * rows));
  for (int64_t grp = 0; grp < job.groups; ++grp) {
    const float* q = xq.data.data() + grp * n * k;
    const float* f = xf.data.data() + grp * n * k;
    float* gqq = part.gram_qq.data() + grp * k * k;
    gemm::sgemm(true, false, k, k, n, 1.0f, q, k, q, k, 1.0f, gqq, k);
    if (!part.gram_qf.empty())
      gemm::sgemm(true, false, k, k, n, 1.0f, q, k, f, k, 1.0f, part.gram_qf.data() + grp * k * k, k);
    gemm::sgemm(false, true, n, rows, k, 1.0f, f, k, job.weight.data() + grp * rows * k, k, 0.0f, y.data(), rows);
    for (float v : y) part.energy += static_cast<double>(v) * v;
    if (!job.target->relu) continue;
    for (int64_t r = 0; r < n; ++r) {
      const uint64_t key = mix(mix(mix(sample) ^ static_cast<uint64_t>(grp)) ^ static_cast<uint64_t>(r));
      auto& heap = part.samples[static_cast<size_t>(grp)];
      if (heap.size() >= kLayerSamplesPerGroup && key >= heap.front().key) continue;
      offer(
          heap, kLayerSamplesPerGroup,
          Sampled{key, std::vector<float>(q + r * k, q + (r + 1) * k), std::vector<float>(f + r * k, f + (r + 1) * k)});
    }
  }
  part.vectors += static_cast<uint64_t>(n);
}

Partial empty_partial(const Job& job, bool cross) {
  Partial p;
  const size_t gram = static_cast<size_t>(job.groups * job.k * job.k);
  p.gram_qq.assign(gram, 0.0f);
  if (cross) p.gram_qf.assign(gram, 0.0f);
  p.samples.resize(static_cast<size_t>(job.groups));
  return p;
}

// Runs sample `i` through the float (and quantized) model, adding every job's vectors into `parts`.
void run_sample(const Executor& fp_exec, const Executor* q_exec, const std::vector<Job>& jobs, const SampleSet& samples,
                size_t i, std::vector<Partial>& parts) {
  const std::map<std::string, Tensor> inputs = samples.load(i);
  std::unordered_map<std::string, std::vector<size_t>> by_fp, by_q;
  for (size_t j = 0; j < jobs.size(); ++j) by_fp[jobs[j].fp_input].push_back(j), by_q[jobs[j].q_input].push_back(j);
  std::unordered_map<std::string, Tensor> fp_values;
  RunHooks fp_hooks;
  fp_hooks.observe = [&](const std::string& name, const Tensor& value) {
    const auto it = by_fp.find(name);
    if (it == by_fp.end()) return;
    if (q_exec) {
      fp_values[name] = value.clone();  // a kernel may reuse a buffer nobody else holds
      return;
    }
    for (size_t j : it->second) {  // weight-only: x_q = x_fp
      const LayerVectors x = layer_vectors(jobs[j].target->geometry, value, jobs[j].fp_input);
      accumulate(jobs[j], x, x, i, parts[j]);
    }
  };
  fp_exec.run(inputs, fp_hooks);
  if (!q_exec) return;
  RunHooks q_hooks;
  q_hooks.observe = [&](const std::string& name, const Tensor& value) {
    const auto it = by_q.find(name);
    if (it == by_q.end()) return;
    for (size_t j : it->second) {
      const auto f = fp_values.find(jobs[j].fp_input);
      if (f == fp_values.end()) continue;
      accumulate(jobs[j], layer_vectors(jobs[j].target->geometry, value, jobs[j].q_input),
                 layer_vectors(jobs[j].target->geometry, f->second, jobs[j].fp_input), i, parts[j]);
    }
  };
  q_exec->run(inputs, q_hooks);
}

// Sums the threads' partials of job `j` into its LayerData (means over the vectors).
LayerData merge_partials(tbb::enumerable_thread_specific<std::vector<Partial>>& locals, size_t j, const Job& job,
                         bool cross) {
  LayerData d;
  Partial total = empty_partial(job, cross);
  for (auto& parts : locals) {
    Partial& p = parts[j];
    for (size_t e = 0; e < total.gram_qq.size(); ++e) total.gram_qq[e] += p.gram_qq[e];
    for (size_t e = 0; e < total.gram_qf.size(); ++e) total.gram_qf[e] += p.gram_qf[e];
    total.vectors += p.vectors;
    total.energy += p.energy;
    for (size_t g = 0; g < p.samples.size(); ++g)
      for (Sampled& s : p.samples[g]) offer(total.samples[g], kLayerSamplesPerGroup, std::move(s));
  }
  const float inv = total.vectors ? 1.0f / static_cast<float>(total.vectors) : 0.0f;
  for (float& v : total.gram_qq) v *= inv;
  for (float& v : total.gram_qf) v *= inv;
  d.gram_qq = std::move(total.gram_qq);
  d.gram_qf = cross ? std::move(total.gram_qf) : d.gram_qq;
  d.num_vectors = total.vectors;
  d.output_energy = total.vectors ? total.energy / static_cast<double>(total.vectors) : 0.0;
  if (job.target->relu && total.vectors) {
    d.num_samples = total.samples[0].size();
    for (auto& heap : total.samples) {
      std::sort(heap.begin(), heap.end());
      d.num_samples = std::min<uint64_t>(d.num_samples, heap.size());
    }
    for (auto& heap : total.samples)
      for (size_t s = 0; s < d.num_samples; ++s) {
        d.sample_q.insert(d.sample_q.end(), heap[s].q.begin(), heap[s].q.end());
        d.sample_fp.insert(d.sample_fp.end(), heap[s].fp.begin(), heap[s].fp.end());
      }
  }
  return d;
}

std::vector<Job> make_jobs(const Model& optimized, const Model* quantized, const QuantPlan& plan,
                           const std::vector<const LayerTarget*>& batch) {
  std::map<std::string, size_t> q_node;
  if (quantized)
    for (size_t i = 0; i < quantized->graph.nodes.size(); ++i) q_node[quantized->graph.nodes[i].name] = i;
  std::vector<Job> jobs;
  for (const LayerTarget* t : batch) {
    const Node& n = optimized.graph.nodes[t->node];
    Job job;
    job.target = t;
    job.fp_input = n.inputs[0];
    job.q_input = n.inputs[0];
    if (quantized) {
      const auto it = q_node.find(n.name);
      if (it == q_node.end()) throw Error("layer data: node '" + n.name + "' is not in the calibrated model");
      job.q_input = quantized->graph.nodes[it->second].inputs[0];
    }
    job.groups = t->geometry.groups;
    job.rows = t->out_channels / job.groups;
    job.k = t->geometry.in_features;
    job.weight = out_in_weight(optimized.graph.initializers.at(plan.points[t->point].tensor), *t);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

// The targets in batches whose partial sums, one copy per thread plus the merge, fit the budget.
std::vector<std::vector<const LayerTarget*>> batches(const std::vector<LayerTarget>& targets, int threads) {
  const uint64_t copies = static_cast<uint64_t>(threads > 0 ? threads : tbb::this_task_arena::max_concurrency()) + 1;
  std::vector<std::vector<const LayerTarget*>> out(1);
  uint64_t used = 0;
  for (const LayerTarget& t : targets) {
    const uint64_t bytes = target_bytes(t) * copies;
    if (!out.back().empty() && used + bytes > kLayerDataBudgetBytes) out.emplace_back(), used = 0;
    out.back().push_back(&t);
    used += bytes;
  }
  return out;
}

}  // namespace

std::map<size_t, LayerData> collect_layer_data(const Model& optimized, const Model* quantized, const QuantPlan& plan,
                                               const std::vector<LayerTarget>& targets, const SampleSet& samples,
                                               int threads) {
  std::map<size_t, LayerData> out;
  if (targets.empty()) return out;
  const auto passes = batches(targets, threads);
  const Executor fp_exec(std::make_shared<const Model>(optimized), ExecutorOptions{threads});
  std::unique_ptr<Executor> q_exec;
  if (quantized)
    q_exec = std::make_unique<Executor>(std::make_shared<const Model>(*quantized), ExecutorOptions{threads});
  Progress progress("layer data", samples.size() * passes.size());
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  for (const auto& batch : passes) {
    const std::vector<Job> jobs = make_jobs(optimized, quantized, plan, batch);
    tbb::enumerable_thread_specific<std::vector<Partial>> locals([&] {
      std::vector<Partial> parts;
      for (const Job& job : jobs) parts.push_back(empty_partial(job, quantized != nullptr));
      return parts;
    });
    arena.execute([&] {
      tbb::parallel_for(size_t{0}, samples.size(), [&](size_t i) {
        throw_if_interrupted();
        run_sample(fp_exec, q_exec.get(), jobs, samples, i, locals.local());
        progress.tick();
      });
    });
    for (size_t j = 0; j < jobs.size(); ++j) {
      LayerData d = merge_partials(locals, j, jobs[j], quantized != nullptr);
      if (!jobs[j].target->bias.empty()) {
        const Tensor& b = optimized.graph.initializers.at(jobs[j].target->bias);
        d.bias.assign(b.data<float>(), b.data<float>() + b.numel());
      }
      out[jobs[j].target->point] = std::move(d);
    }
  }
  progress.done();
  spdlog::info("layer data: {} layer(s), {} pass(es) over {} sample(s)", targets.size(), passes.size(), samples.size());
  return out;
}

}  // namespace qf::pipeline
