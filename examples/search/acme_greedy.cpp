// acme.greedy: an out-of-tree search strategy. Starts from candidate 0 (int8) everywhere, then, tensor by
// tensor, evaluates every candidate of that tensor in one parallel batch and keeps the best by the first
// metric. `rounds` repeats the sweep.
#include <qforge/qf_plugin.hpp>

#include <string>
#include <vector>

class Greedy : public qf::SearchStrategy {
 public:
  static constexpr const char* name = "acme.greedy";
  static constexpr const char* help = "per-tensor greedy choice of calibration candidate by the first metric";
  static std::vector<QfParamDesc> params() { return {qf::param_int("rounds", 1, 1, 10, "sweeps over all tensors")}; }

  explicit Greedy(const qf::Params& p) : rounds_(p.get_int("rounds")) {}

  qf::Assignment run(qf::SearchContext& ctx) override {
    qf::Assignment best = ctx.float_assignment();
    for (size_t t = 0; t < ctx.num_tensors(); ++t) {
      best.candidate[t] = ctx.num_candidates(t) > 0 ? 0 : -1;
      best.dtype[t] = ctx.num_candidates(t) > 0 ? QF_DTYPE_INT8 : QF_DTYPE_FLOAT32;
    }
    const bool higher = ctx.metric_higher_is_better(0);
    for (int64_t round = 0; round < rounds_; ++round) {
      for (size_t t = 0; t < ctx.num_tensors(); ++t) {
        if (ctx.num_candidates(t) < 2) continue;
        std::vector<qf::Assignment> trials(ctx.num_candidates(t), best);
        for (size_t k = 0; k < trials.size(); ++k) trials[k].candidate[t] = static_cast<int32_t>(k);
        const auto scores = ctx.evaluate(trials);
        size_t pick = 0;
        for (size_t k = 1; k < scores.size(); ++k)
          if (higher ? scores[k][0] > scores[pick][0] : scores[k][0] < scores[pick][0]) pick = k;
        best.candidate[t] = static_cast<int32_t>(pick);
        ctx.log_trial(std::string(ctx.tensor_name(t)) + ": " + std::string(ctx.candidate_name(t, pick)) + " (" +
                      std::string(ctx.metric_name(0)) + " " + std::to_string(scores[pick][0]) + ")");
      }
    }
    return best;
  }

 private:
  int64_t rounds_;
};

QF_PLUGIN("acme-greedy", "1.0.0", Greedy)
