// TEMPLATE search strategy: copy, rename the class and "vendor.my_search", fill in the TODOs.
#include <qforge/qf_plugin.hpp>

#include <vector>

class MySearch : public qf::SearchStrategy {
 public:
  static constexpr const char* name = "vendor.my_search";
  static constexpr const char* help = "TODO: one line for `qforge plugins`";
  static std::vector<QfParamDesc> params() { return {qf::param_int("budget", 100, 1, 100000, "max evaluations")}; }

  explicit MySearch(const qf::Params& p) : budget_(p.get_int("budget")) {}

  qf::Assignment run(qf::SearchContext& ctx) override {
    qf::Assignment a = ctx.float_assignment();
    // TODO: propose assignments, score them with ctx.evaluate({...}) (parallel), log with ctx.log_trial();
    // a search trading accuracy for cost reports each accepted assignment with ctx.report_tradeoff(a, scores).
    (void)budget_;
    return a;
  }

 private:
  int64_t budget_;
};

QF_PLUGIN("vendor-my-search", "0.1.0", MySearch)
