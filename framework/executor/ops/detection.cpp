// Detection post-processing: NonMaxSuppression and RoiAlign.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "executor/op_registry.hpp"
#include "executor/ops/dtype_dispatch.hpp"
#include "executor/parallel.hpp"

namespace qf {
namespace {

// Reads element i of a float32/float64/float16 tensor as float.
float float_at(const OpContext& ctx, const Tensor& t, int64_t i) {
  float v = 0.f;
  ops::dispatch<ops::FloatTypes>(t.dtype(), ctx, [&](auto tag) { v = static_cast<float>(t.data<decltype(tag)>()[i]); });
  return v;
}

// A box as [y1, x1, y2, x2] with y1 <= y2 and x1 <= x2.
struct Box {
  float y1, x1, y2, x2;
  float area() const { return (y2 - y1) * (x2 - x1); }
};

Box read_box(const float* p, bool center_point) {
  if (center_point) {  // [x_center, y_center, width, height]
    const float hw = p[2] / 2.f, hh = p[3] / 2.f;
    return {p[1] - hh, p[0] - hw, p[1] + hh, p[0] + hw};
  }
  // Corners may come in either order (diagonal pairs).
  return {std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]), std::max(p[1], p[3])};
}

// True when the overlap of a and b exceeds the threshold (IoU > threshold).
bool suppresses(const Box& a, const Box& b, float iou_threshold) {
  const float area_a = a.area(), area_b = b.area();
  if (area_a <= 0.f || area_b <= 0.f) return false;
  const float iy1 = std::max(a.y1, b.y1), ix1 = std::max(a.x1, b.x1);
  const float iy2 = std::min(a.y2, b.y2), ix2 = std::min(a.x2, b.x2);
  const float inter = std::max(0.f, iy2 - iy1) * std::max(0.f, ix2 - ix1);
  if (inter <= 0.f) return false;
  const float uni = area_a + area_b - inter;
  if (uni <= 0.f) return false;
  return inter / uni > iou_threshold;
}

void non_max_suppression(OpContext& ctx) {
  const Tensor& boxes_t = ctx.input(0);
  const Tensor& scores_t = ctx.input(1);
  if (boxes_t.rank() != 3 || boxes_t.dim(2) != 4)
    ctx.fail("boxes must be [num_batches, spatial_dimension, 4], got " + shape_str(boxes_t.shape()));
  if (scores_t.rank() != 3)
    ctx.fail("scores must be [num_batches, num_classes, spatial_dimension], got " + shape_str(scores_t.shape()));
  const int64_t batches = boxes_t.dim(0), num_boxes = boxes_t.dim(1), classes = scores_t.dim(1);
  if (scores_t.dim(0) != batches || scores_t.dim(2) != num_boxes)
    ctx.fail("scores " + shape_str(scores_t.shape()) + " do not match boxes " + shape_str(boxes_t.shape()));

  int64_t max_per_class = 0;
  if (ctx.has_input(2) && ctx.input(2).numel() > 0) max_per_class = ctx.input(2).as_int64(0);
  float iou_threshold = 0.f;
  if (ctx.has_input(3) && ctx.input(3).numel() > 0) iou_threshold = static_cast<float>(ctx.input(3).as_double(0));
  const bool has_score_threshold = ctx.has_input(4) && ctx.input(4).numel() > 0;
  const float score_threshold = has_score_threshold ? static_cast<float>(ctx.input(4).as_double(0)) : 0.f;
  if (iou_threshold < 0.f || iou_threshold > 1.f) ctx.fail("iou_threshold must be in [0, 1]");
  const int64_t center_point_box = ctx.attr_int("center_point_box", 0);
  if (center_point_box != 0 && center_point_box != 1) ctx.fail("center_point_box must be 0 or 1");

  // Convert inputs to float once.
  std::vector<float> boxes(static_cast<size_t>(boxes_t.numel())), scores(static_cast<size_t>(scores_t.numel()));
  for (int64_t i = 0; i < boxes_t.numel(); ++i) boxes[static_cast<size_t>(i)] = float_at(ctx, boxes_t, i);
  for (int64_t i = 0; i < scores_t.numel(); ++i) scores[static_cast<size_t>(i)] = float_at(ctx, scores_t, i);

  std::vector<int64_t> selected;  // triples (batch, class, box)
  std::vector<Box> decoded(static_cast<size_t>(num_boxes));
  std::vector<int64_t> order;
  std::vector<int64_t> kept;
  for (int64_t b = 0; b < batches && max_per_class > 0; ++b) {
    for (int64_t i = 0; i < num_boxes; ++i)
      decoded[static_cast<size_t>(i)] =
          read_box(&boxes[static_cast<size_t>((b * num_boxes + i) * 4)], center_point_box);
    for (int64_t c = 0; c < classes; ++c) {
      const float* sc = &scores[static_cast<size_t>((b * classes + c) * num_boxes)];
      order.clear();
      for (int64_t i = 0; i < num_boxes; ++i)
        if (!has_score_threshold || sc[i] > score_threshold) order.push_back(i);
      // Highest score first; ties keep the lower index first.
      std::stable_sort(order.begin(), order.end(), [&](int64_t l, int64_t r) { return sc[l] > sc[r]; });
      kept.clear();
      for (int64_t cand : order) {
        if (static_cast<int64_t>(kept.size()) >= max_per_class) break;
        bool keep = true;
        for (int64_t k : kept)
          if (suppresses(decoded[static_cast<size_t>(k)], decoded[static_cast<size_t>(cand)], iou_threshold)) {
            keep = false;
            break;
          }
        if (keep) kept.push_back(cand);
      }
      for (int64_t k : kept) selected.insert(selected.end(), {b, c, k});
    }
  }
  Tensor& out = ctx.make_output_uninitialized(0, DType::Int64, {static_cast<int64_t>(selected.size() / 3), 3});
  std::copy(selected.begin(), selected.end(), out.data<int64_t>());
}

// Bilinear sample positions and weights of one RoiAlign sampling point (precomputed per bin row/column).
struct Sample {
  int64_t lo = 0, hi = 0;
  float w_lo = 0.f, w_hi = 0.f;
  bool valid = false;
};

// One axis of a sampling point: mirrors the usual RoiAlign bilinear rule (points beyond one pixel outside
// contribute nothing; points in [-1, 0) clamp to 0; the last row/column clamps).
Sample axis_sample(float v, int64_t size) {
  Sample s;
  if (v < -1.f || v > static_cast<float>(size)) return s;
  if (v <= 0.f) v = 0.f;
  s.lo = static_cast<int64_t>(v);
  if (s.lo >= size - 1) {
    s.lo = s.hi = size - 1;
    v = static_cast<float>(s.lo);
  } else {
    s.hi = s.lo + 1;
  }
  const float l = v - static_cast<float>(s.lo);
  s.w_lo = 1.f - l;
  s.w_hi = l;
  s.valid = true;
  return s;
}

// Sampling points per bin, per axis, of RoiAlign: enough for any real feature map, and a bound that keeps
// hostile rois or attributes from making the sampling loops endless.
constexpr int64_t kMaxRoiGrid = 1 << 16;

// The attribute when positive, else ceil(roi extent / bins) from the rois (data: huge or NaN values fail
// here instead of an undefined cast and an endless loop).
// The sampling points of all bins of one axis are precomputed: bounded too.
constexpr int64_t kMaxRoiSamples = int64_t{1} << 26;

int64_t grid_points(const OpContext& ctx, int64_t sampling_ratio, float roi_extent, int64_t bins) {
  int64_t grid = sampling_ratio;
  if (grid <= 0) {
    const double g = std::ceil(static_cast<double>(roi_extent) / static_cast<double>(bins));
    if (!(g <= static_cast<double>(kMaxRoiGrid)))
      ctx.fail("a roi of extent " + std::to_string(roi_extent) + " needs more than " + std::to_string(kMaxRoiGrid) +
               " sampling points per bin");
    grid = g > 0 ? static_cast<int64_t>(g) : 0;
  }
  if (grid * bins > kMaxRoiSamples)  // grid <= 2^16 and bins within the tensor limit: no overflow
    ctx.fail(std::to_string(bins) + " bins of " + std::to_string(grid) + " sampling points are more than " +
             std::to_string(kMaxRoiSamples));
  return grid;
}

// RoiAlign's attributes, checked.
struct RoiAlignParams {
  int64_t out_h = 1, out_w = 1;
  int64_t sampling_ratio = 0;
  float spatial_scale = 1.f;
  bool half_pixel = true;  // coordinate_transformation_mode half_pixel (else output_half_pixel)
  bool max_mode = false;   // mode max (else avg)
};

RoiAlignParams roi_align_params(const OpContext& ctx) {
  RoiAlignParams p;
  p.out_h = ctx.attr_int("output_height", 1);
  p.out_w = ctx.attr_int("output_width", 1);
  p.sampling_ratio = ctx.attr_int("sampling_ratio", 0);
  p.spatial_scale = ctx.attr_float("spatial_scale", 1.f);
  const std::string mode = ctx.attr_string("mode", "avg");
  // Opset 10 had no attribute and behaved like output_half_pixel; opset 16 defaults to half_pixel.
  const std::string ctm =
      ctx.attr_string("coordinate_transformation_mode", ctx.opset() >= 16 ? "half_pixel" : "output_half_pixel");
  if (p.out_h < 1 || p.out_w < 1) ctx.fail("output_height and output_width must be positive");
  if (p.sampling_ratio < 0 || p.sampling_ratio > kMaxRoiGrid)
    ctx.fail("sampling_ratio " + std::to_string(p.sampling_ratio) + " is out of range [0, " +
             std::to_string(kMaxRoiGrid) + "]");
  if (mode != "avg" && mode != "max") ctx.fail("unknown mode '" + mode + "'");
  if (ctm != "half_pixel" && ctm != "output_half_pixel")
    ctx.fail("unknown coordinate_transformation_mode '" + ctm + "'");
  p.half_pixel = ctm == "half_pixel";
  p.max_mode = mode == "max";
  return p;
}

// The sampling points of one roi along one axis: `grid` points in each of `bins` bins starting at `start`.
void axis_samples(std::vector<Sample>& out, float start, float bin, int64_t bins, int64_t grid, int64_t size) {
  out.resize(static_cast<size_t>(bins * std::max<int64_t>(grid, 0)));
  for (int64_t p = 0; p < bins; ++p)
    for (int64_t i = 0; i < grid; ++i)
      out[static_cast<size_t>(p * grid + i)] = axis_sample(
          start + static_cast<float>(p) * bin + (static_cast<float>(i) + 0.5f) * bin / static_cast<float>(grid), size);
}

// One output bin: the average (or, in max mode, the largest weighted corner) over its sampling points.
template <class T>
float pool_bin(const T* plane, int64_t width, const Sample* ys, int64_t grid_h, const Sample* xs, int64_t grid_w,
               bool max_mode) {
  float acc = 0.f;
  bool first = true;
  for (int64_t iy = 0; iy < grid_h; ++iy) {
    const Sample& sy = ys[iy];
    for (int64_t ix = 0; ix < grid_w; ++ix) {
      const Sample& sx = xs[ix];
      float v1 = 0.f, v2 = 0.f, v3 = 0.f, v4 = 0.f;
      if (sy.valid && sx.valid) {
        v1 = sy.w_lo * sx.w_lo * static_cast<float>(plane[sy.lo * width + sx.lo]);
        v2 = sy.w_lo * sx.w_hi * static_cast<float>(plane[sy.lo * width + sx.hi]);
        v3 = sy.w_hi * sx.w_lo * static_cast<float>(plane[sy.hi * width + sx.lo]);
        v4 = sy.w_hi * sx.w_hi * static_cast<float>(plane[sy.hi * width + sx.hi]);
      }
      if (max_mode) {
        // Max mode takes the largest weighted corner, as the reference implementations do.
        const float m = std::max(std::max(v1, v2), std::max(v3, v4));
        acc = first ? m : std::max(acc, m);
        first = false;
      } else {
        acc += v1 + v2 + v3 + v4;
      }
    }
  }
  return acc;
}

template <class T>
void roi_align_typed(OpContext& ctx, const Tensor& x_t, const Tensor& rois_t, const Tensor& idx_t) {
  const int64_t n = x_t.dim(0), channels = x_t.dim(1), height = x_t.dim(2), width = x_t.dim(3);
  const int64_t num_rois = rois_t.dim(0);
  const RoiAlignParams p = roi_align_params(ctx);
  const int64_t out_h = p.out_h, out_w = p.out_w;
  std::vector<float> rois(static_cast<size_t>(rois_t.numel()));
  for (int64_t i = 0; i < rois_t.numel(); ++i) rois[static_cast<size_t>(i)] = float_at(ctx, rois_t, i);
  std::vector<int64_t> batch_idx = idx_t.to_int64_vector();
  for (int64_t b : batch_idx)
    if (b < 0 || b >= n) ctx.fail("batch index " + std::to_string(b) + " is out of range");

  const T* x = x_t.data<T>();
  Tensor& out = ctx.make_output_uninitialized(0, x_t.dtype(), {num_rois, channels, out_h, out_w});
  T* y = out.data<T>();
  const float offset = p.half_pixel ? 0.5f : 0.f;
  parallel_for(0, num_rois, 1, [&](int64_t r0, int64_t r1) {
    std::vector<Sample> ys, xs;
    for (int64_t r = r0; r < r1; ++r) {
      const float* roi = &rois[static_cast<size_t>(r * 4)];
      const float start_w = roi[0] * p.spatial_scale - offset, start_h = roi[1] * p.spatial_scale - offset;
      const float end_w = roi[2] * p.spatial_scale - offset, end_h = roi[3] * p.spatial_scale - offset;
      float roi_w = end_w - start_w, roi_h = end_h - start_h;
      if (!p.half_pixel) {  // legacy behaviour: rois are at least one pixel
        roi_w = std::max(roi_w, 1.f);
        roi_h = std::max(roi_h, 1.f);
      }
      const float bin_h = roi_h / static_cast<float>(out_h), bin_w = roi_w / static_cast<float>(out_w);
      const int64_t grid_h = grid_points(ctx, p.sampling_ratio, roi_h, out_h);
      const int64_t grid_w = grid_points(ctx, p.sampling_ratio, roi_w, out_w);
      const float count = static_cast<float>(std::max<int64_t>(grid_h * grid_w, 1));
      // Sampling points per output row (ph, iy) and per output column (pw, ix).
      axis_samples(ys, start_h, bin_h, out_h, grid_h, height);
      axis_samples(xs, start_w, bin_w, out_w, grid_w, width);
      const int64_t b = batch_idx[static_cast<size_t>(r)];
      for (int64_t c = 0; c < channels; ++c) {
        const T* plane = x + (b * channels + c) * height * width;
        T* dst = y + ((r * channels + c) * out_h) * out_w;
        for (int64_t ph = 0; ph < out_h; ++ph)
          for (int64_t pw = 0; pw < out_w; ++pw) {
            const float acc =
                pool_bin(plane, width, ys.data() + ph * grid_h, grid_h, xs.data() + pw * grid_w, grid_w, p.max_mode);
            dst[ph * out_w + pw] = static_cast<T>(p.max_mode ? acc : acc / count);
          }
      }
    }
  });
}

void roi_align(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  const Tensor& idx = ctx.input(2);
  if (x.rank() != 4) ctx.fail("X must be 4-D [N, C, H, W], got " + shape_str(x.shape()));
  if (rois.rank() != 2 || rois.dim(1) != 4) ctx.fail("rois must be [num_rois, 4], got " + shape_str(rois.shape()));
  if (idx.rank() != 1 || idx.dim(0) != rois.dim(0))
    ctx.fail("batch_indices must be [num_rois], got " + shape_str(idx.shape()));
  if (idx.dtype() != DType::Int64 && idx.dtype() != DType::Int32) ctx.fail("batch_indices must be int64");
  ops::dispatch<ops::FloatTypes>(x.dtype(), ctx, [&](auto tag) { roi_align_typed<decltype(tag)>(ctx, x, rois, idx); });
}

}  // namespace

void register_detection_ops(OpRegistry& r) {
  r.add("NonMaxSuppression", non_max_suppression, 10);
  r.add("RoiAlign", roi_align, 10);
}

}  // namespace qf
