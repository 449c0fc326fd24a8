// Single-threaded OpenBLAS sgemm plus a helper that splits one GEMM into blocks for qf::parallel_for.
//
// Why OpenBLAS and not oneDNN: Debian's oneDNN is built on OpenMP, which would bring a second thread
// scheduler next to oneTBB and oversubscribe the cores. OpenBLAS is pinned to one thread here, and every
// parallel split is done by us through qf::parallel_for, so oneTBB stays the only scheduler.
#pragma once

#include <cblas.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "executor/parallel.hpp"

namespace qf::gemm {

// OpenBLAS must never fan out on its own: each of our tasks calls it single-threaded.
inline void ensure_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

// Threads the current arena may use (the executor sizes the arena by --threads).
inline int64_t arena_threads() { return std::max(1, tbb::this_task_arena::max_concurrency()); }

// C[MxN] = alpha * op(A) * op(B) + beta * C, row-major, single-threaded.
inline void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // empty reduction: C = beta * C
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.f ? 0.f : beta * c[i * ldc + j];
    return;
  }
  ensure_single_threaded_blas();
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

// Same GEMM, split into row or column blocks run as parallel tasks when it is big enough to pay off.
inline void sgemm_parallel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const int64_t threads = arena_threads();
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  // Below ~1 MFLOP a split costs more in scheduling and packing than it saves.
  if (threads <= 1 || flops < 1.0e6) {
    sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const int64_t max_blocks = std::max<int64_t>(1, static_cast<int64_t>(flops / 5.0e5));
  const int64_t blocks_wanted = std::min<int64_t>(threads * 4, max_blocks);
  if (m >= n || m >= 16 * blocks_wanted) {
    // Split rows of C (rows of op(A)); keep blocks a multiple of 16 rows for the micro-kernel.
    int64_t rows = (m + blocks_wanted - 1) / blocks_wanted;
    rows = std::max<int64_t>(16, (rows + 15) / 16 * 16);
    const int64_t nblocks = (m + rows - 1) / rows;
    parallel_for(0, nblocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t blk = b0; blk < b1; ++blk) {
        const int64_t r0 = blk * rows, r1 = std::min(m, r0 + rows);
        const float* a_blk = trans_a ? a + r0 : a + r0 * lda;
        sgemm(trans_a, trans_b, r1 - r0, n, k, alpha, a_blk, lda, b, ldb, beta, c + r0 * ldc, ldc);
      }
    });
  } else {
    int64_t cols = (n + blocks_wanted - 1) / blocks_wanted;
    cols = std::max<int64_t>(64, (cols + 63) / 64 * 64);
    const int64_t nblocks = (n + cols - 1) / cols;
    parallel_for(0, nblocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t blk = b0; blk < b1; ++blk) {
        const int64_t c0 = blk * cols, c1 = std::min(n, c0 + cols);
        const float* b_blk = trans_b ? b + c0 * ldb : b + c0;
        sgemm(trans_a, trans_b, m, c1 - c0, k, alpha, a, lda, b_blk, ldb, beta, c + c0, ldc);
      }
    });
  }
}

}  // namespace qf::gemm
