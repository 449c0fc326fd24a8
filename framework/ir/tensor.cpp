#include "ir/tensor.hpp"

#include <cmath>
#include <sstream>

#include "ir/tensor_limits.hpp"
#include "util/checked_size.hpp"

namespace qf {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32:
    case DType::Int32:
    case DType::UInt32: return 4;
    case DType::UInt8:
    case DType::Int8:
    case DType::Bool: return 1;
    case DType::UInt16:
    case DType::Int16:
    case DType::Float16: return 2;
    case DType::Int64:
    case DType::Float64:
    case DType::UInt64: return 8;
    default: throw Error("unsupported tensor element type " + dtype_name(t));
  }
}

std::string dtype_name(DType t) {
  switch (t) {
    case DType::Undefined: return "undefined";
    case DType::Float32: return "float32";
    case DType::UInt8: return "uint8";
    case DType::Int8: return "int8";
    case DType::UInt16: return "uint16";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::String: return "string";
    case DType::Bool: return "bool";
    case DType::Float16: return "float16";
    case DType::Float64: return "float64";
    case DType::UInt32: return "uint32";
    case DType::UInt64: return "uint64";
  }
  return "dtype(" + std::to_string(static_cast<int>(t)) + ")";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw Error("negative dimension in shape " + shape_str(s));
    if (__builtin_mul_overflow(n, d, &n)) throw Error("shape " + shape_str(s) + " overflows 64 bits");
  }
  return n;
}

void check_tensor_shape(const Shape& shape, DType dtype, const std::string& what) {
  checked_element_count(shape, what, dtype_size(dtype));
  uint64_t extent = 1;  // product of the non-zero dims: bounded too, see the header
  for (const int64_t d : shape)
    if (d > 0 && (__builtin_mul_overflow(extent, static_cast<uint64_t>(d), &extent) || extent > kMaxTensorBytes))
      throw Error(what + ": shape " + shape_str(shape) +
                  " is beyond the tensor limit even though it holds no elements");
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << ']';
  return os.str();
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  check_tensor_shape(shape_, dtype_, "tensor");
  const size_t bytes = static_cast<size_t>(shape_numel(shape_)) * dtype_size(dtype_);
  // Always allocate at least one byte so raw() is never null for a defined tensor.
  storage_ = std::shared_ptr<std::byte[]>(new std::byte[bytes ? bytes : 1]());
}

Tensor Tensor::uninitialized(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  check_tensor_shape(t.shape_, dtype, "tensor");
  const size_t bytes = static_cast<size_t>(shape_numel(t.shape_)) * dtype_size(dtype);
  t.storage_ = std::make_shared_for_overwrite<std::byte[]>(bytes ? bytes : 1);
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  check_tensor_shape(shape, dtype_, "tensor");
  if (shape_numel(shape) != numel()) throw Error("cannot reshape " + shape_str(shape_) + " to " + shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t = uninitialized(dtype_, shape_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

namespace {

template <class Fn>
auto visit_numeric(DType t, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    case DType::Float16: return fn(Float16{});
    case DType::UInt8: return fn(uint8_t{});
    case DType::Int8: return fn(int8_t{});
    case DType::UInt16: return fn(uint16_t{});
    case DType::Int16: return fn(int16_t{});
    case DType::Int32: return fn(int32_t{});
    case DType::Int64: return fn(int64_t{});
    case DType::UInt32: return fn(uint32_t{});
    case DType::UInt64: return fn(uint64_t{});
    case DType::Bool: return fn(bool{});
    default: throw Error("unsupported tensor element type " + dtype_name(t));
  }
}

template <class T>
double to_double(T v) {
  if constexpr (std::is_same_v<T, Float16>) return static_cast<float>(v);
  else return static_cast<double>(v);
}

template <class To>
To from_double(double v) {
  if constexpr (std::is_same_v<To, Float16>) return Float16(static_cast<float>(v));
  else if constexpr (std::is_same_v<To, bool>) return v != 0.0;
  else if constexpr (std::is_integral_v<To>) {
    // Out-of-range float->int is undefined in C++; saturate NaN to 0 like common runtimes do.
    if (std::isnan(v)) return To{0};
    return static_cast<To>(v);
  } else return static_cast<To>(v);
}

}  // namespace

double Tensor::as_double(int64_t i) const {
  return visit_numeric(dtype_, [&](auto tag) {
    using T = decltype(tag);
    return to_double(static_cast<const T*>(raw())[i]);
  });
}

int64_t Tensor::as_int64(int64_t i) const {
  return visit_numeric(dtype_, [&](auto tag) -> int64_t {
    using T = decltype(tag);
    const T v = static_cast<const T*>(raw())[i];
    if constexpr (std::is_integral_v<T>) return static_cast<int64_t>(v);
    else return static_cast<int64_t>(to_double(v));
  });
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  if (dtype_ == DType::Int64) {
    if (!out.empty()) std::memcpy(out.data(), raw(), out.size() * 8);
    return out;
  }
  for (size_t i = 0; i < out.size(); ++i) out[i] = as_int64(static_cast<int64_t>(i));
  return out;
}

Tensor Tensor::cast(DType to) const {
  if (to == dtype_) return clone();
  Tensor out(to, shape_);
  const int64_t n = numel();
  visit_numeric(dtype_, [&](auto from_tag) {
    using From = decltype(from_tag);
    const From* src = static_cast<const From*>(raw());
    visit_numeric(to, [&](auto to_tag) {
      using To = decltype(to_tag);
      To* dst = static_cast<To*>(out.raw());
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_integral_v<From> && std::is_integral_v<To> && !std::is_same_v<To, bool>)
          dst[i] = static_cast<To>(src[i]);  // integer->integer wraps, exact for int64
        else dst[i] = from_double<To>(to_double(src[i]));
      }
      return 0;
    });
    return 0;
  });
  return out;
}

}  // namespace qf
