// Conv, ConvTranspose and ConvInteger.
//
// float32 fast paths (2-D and 1-D, 1-D being 2-D with height 1):
//  - depthwise (one input channel per group): a direct kernel over a zero-padded copy of each plane, no GEMM;
//  - 1x1 stride-1 unpadded: the input already is the GEMM's B matrix, so a direct sgemm;
//  - everything else: im2col over a tile of output rows (so the column buffer stays cache-sized) + sgemm.
// Other ranks use a generic N-D im2col + sgemm. GEMMs go to single-threaded OpenBLAS (see gemm_util.hpp for
// why not oneDNN); parallelism comes from splitting batch/group/row tiles over qf::parallel_for.
// float16 and double are computed through float32.
#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "executor/op_registry.hpp"
#include "executor/ops/conv_geometry.hpp"
#include "executor/ops/gemm_util.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

using conv::Geometry;

// Per-thread scratch reused across calls so the hot path does not allocate.
float* scratch(std::vector<float>& buf, size_t n) {
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// ---------------------------------------------------------------------------------------------------------
// 2-D geometry (1-D is mapped onto it with a unit height).
struct Geo2 {
  int64_t H, W, Ho, Wo, kh, kw, sh, sw, dh, dw, pt, pl;
};

Geo2 to_geo2(const Geometry& g) {
  Geo2 q{};
  if (g.nd == 1) {
    q = {1, g.in_sp[0], 1, g.out_sp[0], 1, g.kernel[0], 1, g.strides[0], 1, g.dilations[0], 0, g.pad_begin[0]};
  } else {
    q = {g.in_sp[0],   g.in_sp[1],   g.out_sp[0],    g.out_sp[1],    g.kernel[0],    g.kernel[1],
         g.strides[0], g.strides[1], g.dilations[0], g.dilations[1], g.pad_begin[0], g.pad_begin[1]};
  }
  return q;
}

// Output columns [ox_lo, ox_hi) whose input column ox*stride + offset lies inside [0, width).
inline void valid_range(int64_t offset, int64_t stride, int64_t width, int64_t out_w, int64_t& lo, int64_t& hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = offset >= width ? 0 : (width - 1 - offset) / stride + 1;
  lo = std::min(lo, out_w);
  hi = std::clamp(hi, lo, out_w);
}

// im2col for output rows [oy0, oy1) of one group: rows (c, ky, kx), columns (oy, ox) of the tile.
void im2col_rows(const float* x, int64_t channels, const Geo2& q, int64_t oy0, int64_t oy1, float* col) {
  const int64_t ncols = (oy1 - oy0) * q.Wo;
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * q.H * q.W;
    for (int64_t ky = 0; ky < q.kh; ++ky) {
      for (int64_t kx = 0; kx < q.kw; ++kx) {
        float* dst = col + ((c * q.kh + ky) * q.kw + kx) * ncols;
        const int64_t x_off = kx * q.dw - q.pl;
        int64_t lo, hi;
        valid_range(x_off, q.sw, q.W, q.Wo, lo, hi);
        for (int64_t oy = oy0; oy < oy1; ++oy, dst += q.Wo) {
          const int64_t iy = oy * q.sh - q.pt + ky * q.dh;
          if (iy < 0 || iy >= q.H) {
            std::memset(dst, 0, sizeof(float) * static_cast<size_t>(q.Wo));
            continue;
          }
          const float* src = xc + iy * q.W + x_off;
          for (int64_t ox = 0; ox < lo; ++ox) dst[ox] = 0.f;
          if (q.sw == 1) {
            std::memcpy(dst + lo, src + lo, sizeof(float) * static_cast<size_t>(hi - lo));
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) dst[ox] = src[ox * q.sw];
          }
          for (int64_t ox = hi; ox < q.Wo; ++ox) dst[ox] = 0.f;
        }
      }
    }
  }
}

// Writes bias[r] into row r, so a following GEMM with beta = 1 adds onto it: OpenBLAS then skips its own
// pass that zeroes C for beta = 0, and the separate bias pass disappears.
void fill_bias_rows(float* y, int64_t rows, int64_t cols, int64_t ld, const float* bias) {
  for (int64_t r = 0; r < rows; ++r) std::fill(y + r * ld, y + r * ld + cols, bias[r]);
}

void add_bias_rows(float* y, int64_t rows, int64_t cols, int64_t ld, const float* bias) {
  if (!bias) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * ld;
    const float b = bias[r];
    for (int64_t i = 0; i < cols; ++i) row[i] += b;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Depthwise: every output channel reads exactly one input channel. No padded copies: each output row splits
// into border columns (taps checked against the input, scalar) and interior columns whose taps are all
// inside the row (unchecked, vectorizable). Rows above/below the input point at a shared zero row.

// One output column with bounds checks (borders only).
inline float depthwise_checked(const float* const* rows, const Geo2& q, const float* wk, float bias, int64_t ox) {
  float acc = bias;
  const int64_t ix0 = ox * q.sw - q.pl;
  for (int64_t ky = 0; ky < q.kh; ++ky) {
    for (int64_t kx = 0; kx < q.kw; ++kx) {
      const int64_t ix = ix0 + kx * q.dw;
      if (ix >= 0 && ix < q.W) acc += wk[ky * q.kw + kx] * rows[ky][ix];
    }
  }
  return acc;
}

// Interior columns [lo, hi) of a 3x3 kernel with stride S; rows already offset by -pl.
template <int S>
void depthwise_3x3_interior(const float* const* rows, int64_t lo, int64_t hi, const float* wk, float bias,
                            float* __restrict o) {
  const float* __restrict r0 = rows[0];
  const float* __restrict r1 = rows[1];
  const float* __restrict r2 = rows[2];
  const float w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3], w4 = wk[4], w5 = wk[5], w6 = wk[6], w7 = wk[7],
              w8 = wk[8];
  for (int64_t ox = lo; ox < hi; ++ox) {
    const int64_t i = ox * S;
    o[ox] = bias + w0 * r0[i] + w1 * r0[i + 1] + w2 * r0[i + 2] + w3 * r1[i] + w4 * r1[i + 1] + w5 * r1[i + 2] +
            w6 * r2[i] + w7 * r2[i + 1] + w8 * r2[i + 2];
  }
}

void depthwise_interior_generic(const float* const* rows, const Geo2& q, int64_t lo, int64_t hi, const float* wk,
                                float bias, float* __restrict o) {
  for (int64_t ox = lo; ox < hi; ++ox) o[ox] = bias;
  for (int64_t ky = 0; ky < q.kh; ++ky) {
    for (int64_t kx = 0; kx < q.kw; ++kx) {
      const float wv = wk[ky * q.kw + kx];
      const float* __restrict rk = rows[ky] + kx * q.dw;
      if (q.sw == 1) {
        for (int64_t ox = lo; ox < hi; ++ox) o[ox] += wv * rk[ox];
      } else {
        for (int64_t ox = lo; ox < hi; ++ox) o[ox] += wv * rk[ox * q.sw];
      }
    }
  }
}

#if defined(__AVX512F__)
// AVX-512 path: 16 output columns per vector, borders handled by masked loads (masked-out lanes read nothing
// and contribute zeros), so every column runs the same vector code. Stride 2 gathers even columns from two
// loads with a permute.

// Lanes l of a 16-wide load at row offset `base` that fall inside [0, width).
inline __mmask16 row_mask(int64_t base, int64_t width) {
  if (base >= 0 && base + 16 <= width) return 0xFFFF;
  const int64_t lo = std::max<int64_t>(0, -base), hi = std::min<int64_t>(16, width - base);
  if (hi <= lo) return 0;
  return static_cast<__mmask16>(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

// One output row; rows[ky] are input rows (or a zero row), S the horizontal stride. Load masks depend only on
// the column, so they are computed once per block and reused for every kernel row.
template <int S>
void depthwise_row_avx512(const float* const* rows, const Geo2& q, const float* wk, float bias, float* out) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  constexpr int64_t kMaxTaps = 32;
  __mmask16 lo_mask[kMaxTaps], hi_mask[kMaxTaps];
  for (int64_t ox0 = 0; ox0 < q.Wo; ox0 += 16) {
    const int64_t lanes = std::min<int64_t>(16, q.Wo - ox0);
    const __mmask16 store_mask = static_cast<__mmask16>((1u << lanes) - 1u);
    const int64_t base0 = ox0 * S - q.pl;
    for (int64_t kx = 0; kx < q.kw; ++kx) {
      lo_mask[kx] = row_mask(base0 + kx * q.dw, q.W);
      if constexpr (S == 2) hi_mask[kx] = row_mask(base0 + kx * q.dw + 16, q.W);
    }
    __m512 acc = _mm512_set1_ps(bias);
    for (int64_t ky = 0; ky < q.kh; ++ky) {
      const float* r = rows[ky] + base0;
      const float* wr = wk + ky * q.kw;
      for (int64_t kx = 0; kx < q.kw; ++kx) {
        const float* rk = r + kx * q.dw;
        __m512 v;
        if constexpr (S == 1) {
          v = _mm512_maskz_loadu_ps(lo_mask[kx], rk);
        } else {
          v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(lo_mask[kx], rk), even,
                                     _mm512_maskz_loadu_ps(hi_mask[kx], rk + 16));
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(wr[kx]), v, acc);
      }
    }
    _mm512_mask_storeu_ps(out + ox0, store_mask, acc);
  }
}

// 3x3 stride 2: columns 2l, 2l+1 come from permutes of two loads, column 2l+2 from shifting in one more value.
inline void depthwise_row_3x3s2_avx512(const float* const* rows, const Geo2& q, const __m512* wv, float bias,
                                       float* out) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const __m512i shift_in = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
  for (int64_t ox0 = 0; ox0 < q.Wo; ox0 += 16) {
    const int64_t lanes = std::min<int64_t>(16, q.Wo - ox0);
    const __mmask16 store_mask = static_cast<__mmask16>((1u << lanes) - 1u);
    const int64_t b = 2 * ox0 - q.pl;
    const __mmask16 ma = row_mask(b, q.W), mb = row_mask(b + 16, q.W);
    const __mmask16 mc = static_cast<__mmask16>(row_mask(b + 32, q.W) & 1u);
    __m512 acc = _mm512_set1_ps(bias);
    for (int ky = 0; ky < 3; ++ky) {
      const float* r = rows[ky] + b;
      const __m512 va = _mm512_maskz_loadu_ps(ma, r), vb = _mm512_maskz_loadu_ps(mb, r + 16);
      const __m512 vc = _mm512_maskz_loadu_ps(mc, r + 32);
      const __m512 e0 = _mm512_permutex2var_ps(va, even, vb);
      const __m512 o0 = _mm512_permutex2var_ps(va, odd, vb);
      const __m512 e1 = _mm512_permutex2var_ps(e0, shift_in, vc);  // e0 moved down one lane, vc[0] on top
      acc = _mm512_fmadd_ps(wv[3 * ky], e0, acc);
      acc = _mm512_fmadd_ps(wv[3 * ky + 1], o0, acc);
      acc = _mm512_fmadd_ps(wv[3 * ky + 2], e1, acc);
    }
    _mm512_mask_storeu_ps(out + ox0, store_mask, acc);
  }
}

// 3x3 stride 1 with the nine weights held in registers.
inline void depthwise_row_3x3s1_avx512(const float* const* rows, const Geo2& q, const __m512* wv, float bias,
                                       float* out) {
  const float* r0 = rows[0];
  const float* r1 = rows[1];
  const float* r2 = rows[2];
  for (int64_t ox0 = 0; ox0 < q.Wo; ox0 += 16) {
    const int64_t lanes = std::min<int64_t>(16, q.Wo - ox0);
    const __mmask16 store_mask = static_cast<__mmask16>((1u << lanes) - 1u);
    const int64_t b = ox0 - q.pl;
    const __mmask16 m0 = row_mask(b, q.W), m1 = row_mask(b + 1, q.W), m2 = row_mask(b + 2, q.W);
    __m512 acc = _mm512_set1_ps(bias);
    acc = _mm512_fmadd_ps(wv[0], _mm512_maskz_loadu_ps(m0, r0 + b), acc);
    acc = _mm512_fmadd_ps(wv[1], _mm512_maskz_loadu_ps(m1, r0 + b + 1), acc);
    acc = _mm512_fmadd_ps(wv[2], _mm512_maskz_loadu_ps(m2, r0 + b + 2), acc);
    acc = _mm512_fmadd_ps(wv[3], _mm512_maskz_loadu_ps(m0, r1 + b), acc);
    acc = _mm512_fmadd_ps(wv[4], _mm512_maskz_loadu_ps(m1, r1 + b + 1), acc);
    acc = _mm512_fmadd_ps(wv[5], _mm512_maskz_loadu_ps(m2, r1 + b + 2), acc);
    acc = _mm512_fmadd_ps(wv[6], _mm512_maskz_loadu_ps(m0, r2 + b), acc);
    acc = _mm512_fmadd_ps(wv[7], _mm512_maskz_loadu_ps(m1, r2 + b + 1), acc);
    acc = _mm512_fmadd_ps(wv[8], _mm512_maskz_loadu_ps(m2, r2 + b + 2), acc);
    _mm512_mask_storeu_ps(out + ox0, store_mask, acc);
  }
}
#endif

void conv2d_depthwise(const Geometry& g, const float* x, const float* w, const float* bias, float* y) {
  const Geo2 q = to_geo2(g);
  const int64_t multiplier = g.out_channels / g.group;  // output channels per input channel
  const bool is3x3 = q.kh == 3 && q.kw == 3 && q.dh == 1 && q.dw == 1;
  const bool s1 = is3x3 && q.sw == 1, s2 = is3x3 && q.sw == 2;
  // Interior columns: every tap ox*sw - pl + kx*dw lies in [0, W).
  const int64_t lo = std::min(q.Wo, (q.pl + q.sw - 1) / q.sw);
  const int64_t span = q.W - 1 - (q.kw - 1) * q.dw + q.pl;
  const int64_t hi = span < 0 ? lo : std::clamp(span / q.sw + 1, lo, q.Wo);
  const int64_t planes = g.batch * g.in_channels;
  const int64_t work = q.Ho * q.Wo * q.kh * q.kw * multiplier;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work));
  parallel_for(0, planes, grain, [&](int64_t p0, int64_t p1) {
    static thread_local std::vector<float> zeros;
    if (zeros.size() < static_cast<size_t>(q.W)) zeros.assign(static_cast<size_t>(q.W), 0.f);
    const float* zero_row = zeros.data();
    constexpr int64_t kMaxRows = 16;
    std::vector<const float*> heap_rows, heap_shifted;
    const float* stack_rows[kMaxRows];
    const float* stack_shifted[kMaxRows];
    const float** rows = stack_rows;
    const float** shifted = stack_shifted;
    if (q.kh > kMaxRows) {
      heap_rows.resize(static_cast<size_t>(q.kh));
      heap_shifted.resize(static_cast<size_t>(q.kh));
      rows = heap_rows.data();
      shifted = heap_shifted.data();
    }
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % g.in_channels, n = p / g.in_channels;
      const float* plane = x + p * q.H * q.W;
      for (int64_t oy = 0; oy < q.Ho; ++oy) {
        for (int64_t ky = 0; ky < q.kh; ++ky) {
          const int64_t iy = oy * q.sh - q.pt + ky * q.dh;
          rows[ky] = iy >= 0 && iy < q.H ? plane + iy * q.W : zero_row;
          shifted[ky] = rows[ky] - q.pl;  // interior columns index from ox*sw without the pad offset
        }
        for (int64_t j = 0; j < multiplier; ++j) {
          const int64_t m = c * multiplier + j;
          const float* wk = w + m * q.kh * q.kw;
          const float b = bias ? bias[m] : 0.f;
          float* out = y + ((n * g.out_channels + m) * q.Ho + oy) * q.Wo;
#if defined(__AVX512F__)
          if (s1 && q.sh == 1) {
            __m512 wv[9];
            for (int t = 0; t < 9; ++t) wv[t] = _mm512_set1_ps(wk[t]);
            depthwise_row_3x3s1_avx512(rows, q, wv, b, out);
          } else if (s2) {
            __m512 wv[9];
            for (int t = 0; t < 9; ++t) wv[t] = _mm512_set1_ps(wk[t]);
            depthwise_row_3x3s2_avx512(rows, q, wv, b, out);
          } else if (q.sw == 1 && q.kw <= 32) {
            depthwise_row_avx512<1>(rows, q, wk, b, out);
          } else if (q.sw == 2 && q.kw <= 32) {
            depthwise_row_avx512<2>(rows, q, wk, b, out);
          } else
#endif
          {
            for (int64_t ox = 0; ox < lo; ++ox) out[ox] = depthwise_checked(rows, q, wk, b, ox);
            if (s1) depthwise_3x3_interior<1>(shifted, lo, hi, wk, b, out);
            else if (s2) depthwise_3x3_interior<2>(shifted, lo, hi, wk, b, out);
            else depthwise_interior_generic(shifted, q, lo, hi, wk, b, out);
            for (int64_t ox = hi; ox < q.Wo; ++ox) out[ox] = depthwise_checked(rows, q, wk, b, ox);
          }
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// GEMM-based 2-D conv.

void conv2d_gemm(const Geometry& g, const float* x, const float* w, const float* bias, float* y) {
  const Geo2 q = to_geo2(g);
  const int64_t cg = g.in_per_group(), mg = g.out_per_group();
  const int64_t k = cg * q.kh * q.kw;
  const int64_t in_plane = q.H * q.W, out_plane = q.Ho * q.Wo;
  const bool pointwise =
      q.kh == 1 && q.kw == 1 && q.sh == 1 && q.sw == 1 && q.pt == 0 && q.pl == 0 && q.Ho == q.H && q.Wo == q.W;
  const int64_t images = g.batch * g.group;
  if (pointwise) {
    // The input plane block already is B (cg x H*W).
    auto one = [&](int64_t i, bool split) {
      const int64_t n = i / g.group, gi = i % g.group;
      const float* xb = x + (n * g.in_channels + gi * cg) * in_plane;
      float* yb = y + (n * g.out_channels + gi * mg) * out_plane;
      const float* wb = w + gi * mg * k;
      if (bias) fill_bias_rows(yb, mg, out_plane, out_plane, bias + gi * mg);
      const float beta = bias ? 1.f : 0.f;
      if (split) gemm::sgemm_parallel(false, false, mg, out_plane, k, 1.f, wb, k, xb, in_plane, beta, yb, out_plane);
      else gemm::sgemm(false, false, mg, out_plane, k, 1.f, wb, k, xb, in_plane, beta, yb, out_plane);
    };
    if (images == 1) {
      one(0, true);
    } else {
      parallel_for(0, images, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) one(i, false);
      });
    }
    return;
  }
  // Tile output rows so the column buffer holds ~512 KiB, but keep >= ~256 GEMM columns per tile.
  int64_t rows = std::max<int64_t>(1, (128 * 1024) / std::max<int64_t>(1, k * q.Wo));
  rows = std::max(rows, (256 + q.Wo - 1) / q.Wo);
  rows = std::min(rows, q.Ho);
  // With several threads make sure there are enough tiles to share.
  const int64_t threads = gemm::arena_threads();
  if (threads > 1 && images * ((q.Ho + rows - 1) / rows) < 2 * threads && q.Ho > 1)
    rows = std::max<int64_t>(1, q.Ho / (2 * threads / std::max<int64_t>(1, images) + 1));
  const int64_t tiles = (q.Ho + rows - 1) / rows;
  parallel_for(0, images * tiles, 1, [&](int64_t t0, int64_t t1) {
    static thread_local std::vector<float> buf;
    float* col = scratch(buf, static_cast<size_t>(k * rows * q.Wo));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i = t / tiles, tile = t % tiles;
      const int64_t n = i / g.group, gi = i % g.group;
      const int64_t oy0 = tile * rows, oy1 = std::min(q.Ho, oy0 + rows);
      const int64_t ncols = (oy1 - oy0) * q.Wo;
      im2col_rows(x + (n * g.in_channels + gi * cg) * in_plane, cg, q, oy0, oy1, col);
      float* yb = y + (n * g.out_channels + gi * mg) * out_plane + oy0 * q.Wo;
      if (bias) fill_bias_rows(yb, mg, ncols, out_plane, bias + gi * mg);
      gemm::sgemm(false, false, mg, ncols, k, 1.f, w + gi * mg * k, k, col, ncols, bias ? 1.f : 0.f, yb, out_plane);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Generic N-D im2col / col2im (3-D convs and ConvTranspose): rows (c, kernel offset), columns (output pos).

// Calls fn(col_row_offset, input_offset_or_-1) for each (kernel offset, output position) of one channel,
// walking the innermost output dim in a tight loop.
template <class Fn>
void for_each_tap(const std::vector<int64_t>& in_sp, const std::vector<int64_t>& out_sp,
                  const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                  const std::vector<int64_t>& dilations, const std::vector<int64_t>& pad_begin, Fn&& fn) {
  const size_t nd = in_sp.size();
  const int64_t ksize = Geometry::product(kernel), osize = Geometry::product(out_sp);
  const int64_t out_last = out_sp[nd - 1], in_last = in_sp[nd - 1];
  const int64_t outer = out_last ? osize / out_last : 0;
  std::vector<int64_t> kpos(nd), opos(nd);
  for (int64_t kk = 0; kk < ksize; ++kk) {
    for (size_t d = nd, rem = static_cast<size_t>(kk); d-- > 0;) {
      kpos[d] = static_cast<int64_t>(rem) % kernel[d];
      rem /= static_cast<size_t>(kernel[d]);
    }
    const int64_t x_off = kpos[nd - 1] * dilations[nd - 1] - pad_begin[nd - 1];
    for (int64_t o = 0; o < outer; ++o) {
      int64_t rem = o, in_off = 0;
      bool valid = true;
      for (size_t d = nd - 1; d-- > 0;) {
        opos[d] = rem % out_sp[d];
        rem /= out_sp[d];
      }
      for (size_t d = 0; d + 1 < nd; ++d) {
        const int64_t ip = opos[d] * strides[d] - pad_begin[d] + kpos[d] * dilations[d];
        if (ip < 0 || ip >= in_sp[d]) valid = false;
        in_off = in_off * in_sp[d] + ip;
      }
      const int64_t col_base = kk * osize + o * out_last;
      for (int64_t ox = 0; ox < out_last; ++ox) {
        const int64_t ix = ox * strides[nd - 1] + x_off;
        fn(col_base + ox, valid && ix >= 0 && ix < in_last ? in_off * in_last + ix : -1);
      }
    }
  }
}

void conv_nd_gemm(const Geometry& g, const float* x, const float* w, const float* bias, float* y) {
  const int64_t cg = g.in_per_group(), mg = g.out_per_group();
  const int64_t ksize = g.kernel_size(), k = cg * ksize;
  const int64_t in_size = g.in_size(), out_size = g.out_size();
  parallel_for(0, g.batch * g.group, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> col(static_cast<size_t>(k * out_size));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / g.group, gi = i % g.group;
      for (int64_t c = 0; c < cg; ++c) {
        const float* xc = x + (n * g.in_channels + gi * cg + c) * in_size;
        float* colc = col.data() + c * ksize * out_size;
        for_each_tap(g.in_sp, g.out_sp, g.kernel, g.strides, g.dilations, g.pad_begin,
                     [&](int64_t ci, int64_t xi) { colc[ci] = xi >= 0 ? xc[xi] : 0.f; });
      }
      float* yb = y + (n * g.out_channels + gi * mg) * out_size;
      gemm::sgemm(false, false, mg, out_size, k, 1.f, w + gi * mg * k, k, col.data(), out_size, 0.f, yb, out_size);
      if (bias) add_bias_rows(yb, mg, out_size, out_size, bias + gi * mg);
    }
  });
}

void conv_f32(const Geometry& g, const float* x, const float* w, const float* bias, float* y) {
  if (g.batch == 0 || g.out_channels == 0 || g.out_size() == 0) return;
  if (g.nd <= 2) {
    if (g.group > 1 && g.in_per_group() == 1) conv2d_depthwise(g, x, w, bias, y);
    else conv2d_gemm(g, x, w, bias, y);
  } else {
    conv_nd_gemm(g, x, w, bias, y);
  }
}

// Runs a float32 kernel on float16/double tensors by converting through float32.
bool is_float_like(DType t) { return t == DType::Float32 || t == DType::Float16 || t == DType::Float64; }

Tensor as_f32(const Tensor& t) { return t.dtype() == DType::Float32 ? t : t.cast(DType::Float32); }

void conv_kernel(OpContext& ctx) {
  const Tensor& x_in = ctx.input(0);
  const Tensor& w_in = ctx.input(1);
  if (!is_float_like(x_in.dtype())) ctx.fail("unsupported input type " + dtype_name(x_in.dtype()));
  if (w_in.dtype() != x_in.dtype()) ctx.fail("X and W types differ");
  const Geometry g = conv::conv_geometry(ctx, x_in.shape(), w_in.shape());
  const Tensor x = as_f32(x_in), w = as_f32(w_in);
  Tensor b;
  if (ctx.has_input(2)) {
    b = as_f32(ctx.input(2));
    if (b.numel() != g.out_channels) ctx.fail("bias must have " + std::to_string(g.out_channels) + " values");
  }
  Tensor y(DType::Float32, g.out_shape());
  conv_f32(g, x.data<float>(), w.data<float>(), b.defined() ? b.data<float>() : nullptr, y.data<float>());
  ctx.set_output(0, x_in.dtype() == DType::Float32 ? y : y.cast(x_in.dtype()));
}

// ---------------------------------------------------------------------------------------------------------
// ConvTranspose: X [N, C, d..], W [C, M/group, k..]; per image and group col = W_g^T * X_g, then col2im.

Geometry conv_transpose_geometry(const OpContext& ctx, const Shape& x, const Shape& w) {
  if (x.size() < 3) ctx.fail("input must have rank >= 3, got " + shape_str(x));
  if (w.size() != x.size()) ctx.fail("weight rank " + shape_str(w) + " does not match input " + shape_str(x));
  Geometry g;
  g.nd = x.size() - 2;
  g.batch = x[0];
  g.in_channels = x[1];
  g.group = ctx.attr_int("group", 1);
  if (g.group < 1 || g.in_channels % g.group != 0) ctx.fail("group does not divide the input channels");
  if (w[0] != g.in_channels) ctx.fail("weight " + shape_str(w) + " does not match input channels");
  g.out_channels = w[1] * g.group;
  g.in_sp.assign(x.begin() + 2, x.end());
  conv::read_kernel_attrs(ctx, w, g);
  const std::vector<int64_t> pads = conv::read_pads(ctx, g.nd);
  g.out_pad = ctx.attr_ints("output_padding", std::vector<int64_t>(g.nd, 0));
  if (g.out_pad.size() != g.nd) ctx.fail("output_padding must have one value per spatial dimension");
  std::vector<int64_t> out_shape = ctx.attr_ints("output_shape");
  if (out_shape.size() == g.nd + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (!out_shape.empty() && out_shape.size() != g.nd) ctx.fail("output_shape must have one value per spatial dim");
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (!same && auto_pad != "NOTSET" && auto_pad != "VALID" && !auto_pad.empty())
    ctx.fail("unknown auto_pad '" + auto_pad + "'");
  g.out_sp.resize(g.nd);
  g.pad_begin.resize(g.nd);
  g.pad_end.resize(g.nd);
  for (size_t i = 0; i < g.nd; ++i) {
    const int64_t in = g.in_sp[i], s = g.strides[i];
    const int64_t dk = sz::dilated_extent(ctx, g.kernel[i], g.dilations[i]);
    sz::window_attr(ctx, g.out_pad[i], 0, "output_padding");
    // s * (in - 1), checked; an empty input keeps the formula's -s.
    const int64_t strided = in > 0 ? sz::mul_dims(ctx, s, in - 1, "strided input") : -s;
    const int64_t full = strided + g.out_pad[i] + dk;
    if (!out_shape.empty() || same) {
      const int64_t out = !out_shape.empty() ? out_shape[i] : in * s;
      if (out < 0) ctx.fail("negative output_shape");
      // Extra output beyond the full result is zero-filled at the end (total padding clamps at 0).
      const int64_t total = std::max<int64_t>(0, full - out);
      // As the ONNX reference: SAME_UPPER puts the odd pad at the end, SAME_LOWER at the start.
      g.pad_begin[i] = auto_pad == "SAME_LOWER" ? total - total / 2 : total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
      g.out_sp[i] = out;
    } else {
      g.pad_begin[i] = auto_pad == "VALID" ? 0 : pads[i];
      g.pad_end[i] = auto_pad == "VALID" ? 0 : pads[i + g.nd];
      g.out_sp[i] = full - g.pad_begin[i] - g.pad_end[i];
      if (g.out_sp[i] < 0) ctx.fail("pads are larger than the output");
    }
  }
  return g;
}

void conv_transpose_f32(const Geometry& g, const float* x, const float* w, const float* bias, float* y) {
  const int64_t cg = g.in_per_group(), mg = g.out_per_group();
  const int64_t ksize = g.kernel_size(), k = mg * ksize;
  const int64_t in_size = g.in_size(), out_size = g.out_size();
  // In col2im terms the roles flip: ConvTranspose's output is the "input" of the equivalent conv.
  parallel_for(0, g.batch * g.group, 1, [&](int64_t i0, int64_t i1) {
    std::vector<float> col(static_cast<size_t>(k * in_size));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / g.group, gi = i % g.group;
      const float* xb = x + (n * g.in_channels + gi * cg) * in_size;
      gemm::sgemm(true, false, k, in_size, cg, 1.f, w + gi * cg * k, k, xb, in_size, 0.f, col.data(), in_size);
      float* yb = y + (n * g.out_channels + gi * mg) * out_size;
      std::fill(yb, yb + mg * out_size, 0.f);
      for (int64_t m = 0; m < mg; ++m) {
        float* ym = yb + m * out_size;
        const float* colm = col.data() + m * ksize * in_size;
        for_each_tap(g.out_sp, g.in_sp, g.kernel, g.strides, g.dilations, g.pad_begin, [&](int64_t ci, int64_t yi) {
          if (yi >= 0) ym[yi] += colm[ci];
        });
      }
      if (bias) add_bias_rows(yb, mg, out_size, out_size, bias + gi * mg);
    }
  });
}

void conv_transpose_kernel(OpContext& ctx) {
  const Tensor& x_in = ctx.input(0);
  const Tensor& w_in = ctx.input(1);
  if (!is_float_like(x_in.dtype())) ctx.fail("unsupported input type " + dtype_name(x_in.dtype()));
  if (w_in.dtype() != x_in.dtype()) ctx.fail("X and W types differ");
  const Geometry g = conv_transpose_geometry(ctx, x_in.shape(), w_in.shape());
  const Tensor x = as_f32(x_in), w = as_f32(w_in);
  Tensor b;
  if (ctx.has_input(2)) {
    b = as_f32(ctx.input(2));
    if (b.numel() != g.out_channels) ctx.fail("bias must have " + std::to_string(g.out_channels) + " values");
  }
  Tensor y(DType::Float32, g.out_shape());
  if (y.numel() > 0)
    conv_transpose_f32(g, x.data<float>(), w.data<float>(), b.defined() ? b.data<float>() : nullptr, y.data<float>());
  ctx.set_output(0, x_in.dtype() == DType::Float32 ? y : y.cast(x_in.dtype()));
}

// ---------------------------------------------------------------------------------------------------------
// ConvInteger: int32 accumulation of (x - x_zp) * (w - w_zp); a plain im2col loop (not a hot path).

template <class TX, class TW>
void conv_integer_typed(OpContext& ctx, const Geometry& g, const Tensor& xt, const Tensor& wt) {
  const TX* x = xt.data<TX>();
  const TW* w = wt.data<TW>();
  int32_t x_zp = 0;
  if (ctx.has_input(2)) {
    const Tensor& z = ctx.input(2);
    if (z.numel() != 1) ctx.fail("x_zero_point must be a scalar");
    x_zp = static_cast<int32_t>(z.as_int64(0));
  }
  std::vector<int32_t> w_zp(static_cast<size_t>(g.out_channels), 0);
  if (ctx.has_input(3)) {
    const Tensor& z = ctx.input(3);
    if (z.numel() != 1 && z.numel() != g.out_channels) ctx.fail("w_zero_point must be scalar or per channel");
    for (int64_t m = 0; m < g.out_channels; ++m) w_zp[m] = static_cast<int32_t>(z.as_int64(z.numel() == 1 ? 0 : m));
  }
  Tensor& yt = ctx.make_output(0, DType::Int32, g.out_shape());
  int32_t* y = yt.data<int32_t>();
  const int64_t cg = g.in_per_group(), mg = g.out_per_group();
  const int64_t ksize = g.kernel_size(), in_size = g.in_size(), out_size = g.out_size();
  std::vector<int32_t> col(static_cast<size_t>(cg * ksize * out_size));
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t gi = 0; gi < g.group; ++gi) {
      for (int64_t c = 0; c < cg; ++c) {
        const TX* xc = x + (n * g.in_channels + gi * cg + c) * in_size;
        int32_t* colc = col.data() + c * ksize * out_size;
        for_each_tap(g.in_sp, g.out_sp, g.kernel, g.strides, g.dilations, g.pad_begin, [&](int64_t ci, int64_t xi) {
          colc[ci] = xi >= 0 ? static_cast<int32_t>(xc[xi]) - x_zp : 0;  // padding holds the zero point
        });
      }
      for (int64_t mi = 0; mi < mg; ++mi) {
        const int64_t m = gi * mg + mi;
        const TW* wm = w + m * cg * ksize;
        int32_t* ym = y + (n * g.out_channels + m) * out_size;
        for (int64_t o = 0; o < out_size; ++o) ym[o] = 0;
        for (int64_t r = 0; r < cg * ksize; ++r) {
          const int32_t wv = static_cast<int32_t>(wm[r]) - w_zp[m];
          const int32_t* cr = col.data() + r * out_size;
          for (int64_t o = 0; o < out_size; ++o) ym[o] += wv * cr[o];
        }
      }
    }
  }
}

void conv_integer_kernel(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Geometry g = conv::conv_geometry(ctx, x.shape(), w.shape());
  const DType tx = x.dtype(), tw = w.dtype();
  if (tx == DType::UInt8 && tw == DType::UInt8) conv_integer_typed<uint8_t, uint8_t>(ctx, g, x, w);
  else if (tx == DType::UInt8 && tw == DType::Int8) conv_integer_typed<uint8_t, int8_t>(ctx, g, x, w);
  else if (tx == DType::Int8 && tw == DType::UInt8) conv_integer_typed<int8_t, uint8_t>(ctx, g, x, w);
  else if (tx == DType::Int8 && tw == DType::Int8) conv_integer_typed<int8_t, int8_t>(ctx, g, x, w);
  else ctx.fail("unsupported input types " + dtype_name(tx) + "/" + dtype_name(tw));
}

}  // namespace

void register_conv_ops(OpRegistry& r) {
  r.add("Conv", conv_kernel, 1);
  r.add("ConvTranspose", conv_transpose_kernel, 1);
  r.add("ConvInteger", conv_integer_kernel, 10);
}

}  // namespace qf
