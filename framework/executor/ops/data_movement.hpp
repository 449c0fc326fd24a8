// Shared helpers of the data-movement kernels (shape.cpp, tensor.cpp, gather_scatter.cpp, resize.cpp):
// a generic strided copy that works on raw bytes of any element size, and small dtype utilities.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "executor/op_context.hpp"
#include "executor/parallel.hpp"
#include "ir/tensor.hpp"

namespace qf::dm {

// Bytes per element of `t`, failing through ctx for types that cannot be moved as plain bytes.
inline size_t elem_size(const OpContext& ctx, const Tensor& t) {
  if (t.dtype() == DType::String) ctx.fail("unsupported input type string");
  if (t.dtype() == DType::Undefined) ctx.fail("input tensor is undefined");
  return dtype_size(t.dtype());
}

// Calls fn(T{}) with an unsigned integer type of the given byte size; kernels that only move bytes use
// it so one instantiation serves every dtype of that width.
template <class Fn>
void visit_by_size(size_t esize, Fn&& fn) {
  switch (esize) {
    case 1: fn(uint8_t{}); return;
    case 2: fn(uint16_t{}); return;
    case 4: fn(uint32_t{}); return;
    case 8: fn(uint64_t{}); return;
    default: throw Error("unsupported element size " + std::to_string(esize));
  }
}

// Index inputs (Gather, Scatter, ...) may be int32 or int64.
inline void check_index_type(const OpContext& ctx, const Tensor& t, const char* what) {
  if (t.dtype() != DType::Int32 && t.dtype() != DType::Int64)
    ctx.fail(std::string(what) + " must be int32 or int64, got " + dtype_name(t.dtype()));
}

// Reads index i of an int32/int64 tensor.
inline int64_t index_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::Int64 ? static_cast<const int64_t*>(t.raw())[i] : static_cast<const int32_t*>(t.raw())[i];
}

namespace detail {

// Drops unit dims and merges neighbours whose source strides make them one contiguous run, so the
// copy loops below see the fewest, longest dimensions.
inline void simplify(Shape& shape, std::vector<int64_t>& strides) {
  Shape s;
  std::vector<int64_t> st;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!s.empty() && st.back() == strides[i] * shape[i]) {
      s.back() *= shape[i];
      st.back() = strides[i];
    } else {
      s.push_back(shape[i]);
      st.push_back(strides[i]);
    }
  }
  shape = std::move(s);
  strides = std::move(st);
}

// The source dim with unit stride that a tiled transpose should walk, or -1 when the innermost dim is
// already contiguous (or broadcast, or too short to tile).
inline int64_t transpose_dim(const Shape& shape, const std::vector<int64_t>& strides) {
  const int64_t r = static_cast<int64_t>(shape.size());
  const int64_t inner = shape[r - 1], inner_stride = strides[r - 1];
  if (inner_stride == 1 || inner_stride == 0 || inner < 4) return -1;
  for (int64_t i = r - 2; i >= 0; --i)
    if (strides[i] == 1 && shape[i] >= 4) return i;
  return -1;
}

// Tiled 2-D transpose between source dim k (unit stride) and the output's innermost dim, repeated over
// the remaining outer dims.
template <class T>
void transposed_copy_typed(const T* src, T* dst, const Shape& shape, const std::vector<int64_t>& strides, int64_t k) {
  const int64_t r = static_cast<int64_t>(shape.size());
  const int64_t inner = shape[r - 1];
  const int64_t inner_stride = strides[r - 1];
  // Output strides (contiguous) of the collapsed shape.
  std::vector<int64_t> dst_strides(r, 1);
  for (int64_t i = r - 1; i-- > 0;) dst_strides[i] = dst_strides[i + 1] * shape[i + 1];
  std::vector<int64_t> odims, osrc, odst;  // remaining outer dims
  for (int64_t i = 0; i < r - 1; ++i)
    if (i != k) {
      odims.push_back(shape[i]);
      osrc.push_back(strides[i]);
      odst.push_back(dst_strides[i]);
    }
  const int64_t rows = shape[k], cols = inner, row_dst_stride = dst_strides[k];
  constexpr int64_t kBlock = 16;
  const int64_t row_blocks = (rows + kBlock - 1) / kBlock;
  int64_t outer = 1;
  for (int64_t d : odims) outer *= d;
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(1, kBlock * cols));
  parallel_for(0, outer * row_blocks, grain, [&](int64_t b, int64_t e) {
    for (int64_t task = b; task < e; ++task) {
      int64_t o = task / row_blocks;
      const int64_t rb = task % row_blocks;
      int64_t so = 0, dof = 0;
      for (size_t d = odims.size(); d-- > 0;) {
        const int64_t c = o % odims[d];
        o /= odims[d];
        so += c * osrc[d];
        dof += c * odst[d];
      }
      const int64_t i0 = rb * kBlock, i1 = std::min(rows, i0 + kBlock);
      for (int64_t j0 = 0; j0 < cols; j0 += kBlock) {
        const int64_t j1 = std::min(cols, j0 + kBlock);
        for (int64_t i = i0; i < i1; ++i) {
          T* drow = dst + dof + i * row_dst_stride;
          const T* scol = src + so + i;
          for (int64_t j = j0; j < j1; ++j) drow[j] = scol[j * inner_stride];
        }
      }
    }
  });
}

// Row by row over the innermost dim: memcpy when it is contiguous, fill when it is broadcast.
template <class T>
void row_copy_typed(const T* src, T* dst, const Shape& shape, const std::vector<int64_t>& strides) {
  const int64_t r = static_cast<int64_t>(shape.size());
  const int64_t inner = shape[r - 1];
  const int64_t inner_stride = strides[r - 1];
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  const int64_t outer = total / inner;
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / static_cast<int64_t>(inner * sizeof(T)));
  parallel_for(0, outer, grain, [&](int64_t b, int64_t e) {
    // Odometer over the outer dims, started at row b.
    std::vector<int64_t> idx(static_cast<size_t>(r - 1), 0);
    int64_t off = 0;
    int64_t rem = b;
    for (int64_t d = r - 1; d-- > 0;) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
      off += idx[d] * strides[d];
    }
    for (int64_t row = b; row < e; ++row) {
      T* drow = dst + row * inner;
      const T* s = src + off;
      if (inner_stride == 1) {
        std::memcpy(drow, s, static_cast<size_t>(inner) * sizeof(T));
      } else if (inner_stride == 0) {
        std::fill(drow, drow + inner, *s);
      } else {
        for (int64_t j = 0; j < inner; ++j) drow[j] = s[j * inner_stride];
      }
      for (int64_t d = r - 2; d >= 0; --d) {
        off += strides[d];
        if (++idx[d] < shape[d]) break;
        off -= strides[d] * shape[d];
        idx[d] = 0;
      }
    }
  });
}

template <class T>
void strided_copy_typed(const T* src, T* dst, const Shape& shape, const std::vector<int64_t>& strides) {
  if (shape.empty()) {
    dst[0] = src[0];
    return;
  }
  // Tiled 2-D transpose when the source's unit-stride dim is not the output's innermost one.
  const int64_t k = transpose_dim(shape, strides);
  if (k >= 0) transposed_copy_typed(src, dst, shape, strides, k);
  else row_copy_typed(src, dst, shape, strides);
}

}  // namespace detail

// Copies the strided view of `src` (element strides per dim, may be 0 or negative) with shape `shape`
// into the contiguous buffer `dst`. Works for any element size; parallel for large copies.
inline void strided_copy(const void* src, void* dst, size_t esize, Shape shape, std::vector<int64_t> strides) {
  for (int64_t d : shape)
    if (d == 0) return;
  detail::simplify(shape, strides);
  visit_by_size(esize, [&](auto tag) {
    using T = decltype(tag);
    detail::strided_copy_typed(static_cast<const T*>(src), static_cast<T*>(dst), shape, strides);
  });
}

// Row-major contiguous element strides.
inline std::vector<int64_t> row_major_strides(const Shape& s) {
  std::vector<int64_t> strides(s.size(), 1);
  for (size_t k = s.size(); k-- > 1;) strides[k - 1] = strides[k] * s[k];
  return strides;
}

// Copies `bytes` bytes in parallel chunks (large tensor clones).
inline void parallel_memcpy(void* dst, const void* src, size_t bytes) {
  constexpr int64_t kChunk = 1 << 18;
  const int64_t chunks = static_cast<int64_t>((bytes + kChunk - 1) / kChunk);
  parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    const size_t begin = static_cast<size_t>(b * kChunk);
    const size_t end = std::min(bytes, static_cast<size_t>(e * kChunk));
    std::memcpy(static_cast<std::byte*>(dst) + begin, static_cast<const std::byte*>(src) + begin, end - begin);
  });
}

}  // namespace qf::dm
