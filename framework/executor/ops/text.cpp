// Text featurisation: TfIdfVectorizer over integer token ids (string tensors are not part of the IR).
#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/ops/size_checks.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

struct NgramHash {
  size_t operator()(const std::vector<int64_t>& v) const {
    uint64_t h = 1469598103934665603ull;
    for (int64_t x : v) h = (h ^ static_cast<uint64_t>(x)) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

// The pool of n-grams, one lookup table per gram length, mapping an n-gram to its output column.
struct NgramPool {
  int64_t min_n = 1, max_n = 1, max_skip = 0, columns = 0;
  std::vector<std::unordered_map<std::vector<int64_t>, int64_t, NgramHash>> by_length;  // index n-1
  std::vector<double> column_weight;
};

NgramPool build_pool(const OpContext& ctx) {
  NgramPool p;
  p.min_n = ctx.attr_int("min_gram_length", 1);
  p.max_n = ctx.attr_int("max_gram_length", 1);
  p.max_skip = ctx.attr_int("max_skip_count", 0);
  if (p.min_n < 1 || p.max_n < p.min_n) ctx.fail("need 1 <= min_gram_length <= max_gram_length");
  if (p.max_skip < 0) ctx.fail("max_skip_count must be >= 0");
  if (!ctx.attr_strings("pool_strings").empty()) ctx.fail("string pools are not supported (no string tensors)");
  const std::vector<int64_t> pool = ctx.attr_ints("pool_int64s");
  const std::vector<int64_t> counts = ctx.attr_ints("ngram_counts");
  const std::vector<int64_t> indexes = ctx.attr_ints("ngram_indexes");
  const std::vector<float> weights = ctx.attr_floats("weights");
  if (indexes.empty()) ctx.fail("ngram_indexes must not be empty");
  for (int64_t c : indexes)
    if (c < 0) ctx.fail("ngram_indexes must be non-negative");
  p.columns = sz::add_dims(ctx, *std::max_element(indexes.begin(), indexes.end()), 1, "ngram_indexes");
  sz::check_output_shape(ctx, 0, DType::Float32, {p.columns});  // before the per-column tables below
  if (!weights.empty() && weights.size() != indexes.size()) ctx.fail("weights must match ngram_indexes");
  p.column_weight.assign(static_cast<size_t>(p.columns), 1.0);
  if (!weights.empty())
    for (size_t s = 0; s < indexes.size(); ++s) p.column_weight[static_cast<size_t>(indexes[s])] = weights[s];

  // ngram_counts[i] is where the (i+1)-grams start in the pool; slots are numbered in pool order. The pool
  // holds no n-gram longer than ngram_counts has entries, so longer lengths would only cost loops.
  p.max_n = std::min(p.max_n, static_cast<int64_t>(counts.size()));
  p.by_length.resize(static_cast<size_t>(p.max_n));
  int64_t slot = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const int64_t n = static_cast<int64_t>(i) + 1;
    const int64_t begin = counts[i];
    const int64_t end = i + 1 < counts.size() ? counts[i + 1] : static_cast<int64_t>(pool.size());
    if (begin < 0 || end < begin || end > static_cast<int64_t>(pool.size()) || (end - begin) % n != 0)
      ctx.fail("ngram_counts do not partition pool_int64s");
    for (int64_t k = begin; k < end; k += n, ++slot) {
      if (slot >= static_cast<int64_t>(indexes.size())) ctx.fail("more pool n-grams than ngram_indexes");
      if (n > p.max_n) continue;
      std::vector<int64_t> gram(pool.begin() + k, pool.begin() + k + n);
      p.by_length[static_cast<size_t>(n - 1)].emplace(std::move(gram), indexes[static_cast<size_t>(slot)]);
    }
  }
  return p;
}

template <class T>
void vectorize(OpContext& ctx, const Tensor& x, const NgramPool& pool, int mode) {
  const bool batched = x.rank() == 2;
  const int64_t rows = batched ? x.dim(0) : 1, len = batched ? x.dim(1) : x.dim(0);
  Tensor& out = ctx.make_output(0, DType::Float32, batched ? Shape{rows, pool.columns} : Shape{pool.columns});
  const T* src = x.data<T>();
  float* dst = out.data<float>();
  parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> gram;
    std::vector<double> counts(static_cast<size_t>(pool.columns));
    for (int64_t r = r0; r < r1; ++r) {
      const T* row = src + r * len;
      std::fill(counts.begin(), counts.end(), 0.0);
      for (int64_t start = 0; start < len; ++start) {
        for (int64_t n = pool.min_n; n <= pool.max_n; ++n) {
          const auto& table = pool.by_length[static_cast<size_t>(n - 1)];
          if (table.empty()) continue;
          // A unigram has no gaps, so only skip 0 counts it.
          // Skips beyond the row length cannot fit a gram (and would overflow the stride arithmetic).
          const int64_t max_skip = n == 1 ? 0 : std::min(pool.max_skip, len);
          for (int64_t skip = 0; skip <= max_skip; ++skip) {
            const int64_t stride = skip + 1;
            if (start + (n - 1) * stride >= len) break;
            gram.clear();
            for (int64_t k = 0; k < n; ++k) gram.push_back(static_cast<int64_t>(row[start + k * stride]));
            const auto it = table.find(gram);
            if (it != table.end()) counts[static_cast<size_t>(it->second)] += 1.0;
          }
        }
      }
      float* o = dst + r * pool.columns;
      for (int64_t c = 0; c < pool.columns; ++c) {
        const double cnt = counts[static_cast<size_t>(c)], w = pool.column_weight[static_cast<size_t>(c)];
        const double v = mode == 0 ? cnt : mode == 1 ? (cnt > 0 ? w : 0.0) : cnt * w;
        o[c] = static_cast<float>(v);
      }
    }
  });
}

void tfidf_vectorizer(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 1 && x.rank() != 2) ctx.fail("input must be [N] or [B, N], got " + shape_str(x.shape()));
  const std::string mode_name = ctx.attr_string("mode", "");
  const int mode = mode_name == "TF" ? 0 : mode_name == "IDF" ? 1 : mode_name == "TFIDF" ? 2 : -1;
  if (mode < 0) ctx.fail("mode must be TF, IDF or TFIDF, got '" + mode_name + "'");
  const NgramPool pool = build_pool(ctx);
  switch (x.dtype()) {
    case DType::Int32: vectorize<int32_t>(ctx, x, pool, mode); break;
    case DType::Int64: vectorize<int64_t>(ctx, x, pool, mode); break;
    default: ctx.fail("unsupported input type " + dtype_name(x.dtype()));
  }
}

}  // namespace

void register_text_ops(OpRegistry& r) { r.add("TfIdfVectorizer", tfidf_vectorizer, 9); }

}  // namespace qf
