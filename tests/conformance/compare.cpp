#include "compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <vector>

namespace qf::conformance {
namespace {

bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64 || t == DType::Float16; }

double float_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::Float32: return t.data<float>()[i];
    case DType::Float64: return t.data<double>()[i];
    case DType::Float16: return static_cast<float>(t.data<Float16>()[i]);
    default: throw Error("float_at: not a floating tensor");
  }
}

// Integers and bools compared as their bit pattern widened to 64 bits (exact for every integer dtype).
uint64_t bits_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::Bool: return t.data<bool>()[i] ? 1 : 0;
    case DType::UInt8: return t.data<uint8_t>()[i];
    case DType::Int8: return static_cast<uint64_t>(static_cast<int64_t>(t.data<int8_t>()[i]));
    case DType::UInt16: return t.data<uint16_t>()[i];
    case DType::Int16: return static_cast<uint64_t>(static_cast<int64_t>(t.data<int16_t>()[i]));
    case DType::Int32: return static_cast<uint64_t>(static_cast<int64_t>(t.data<int32_t>()[i]));
    case DType::Int64: return static_cast<uint64_t>(t.data<int64_t>()[i]);
    case DType::UInt32: return t.data<uint32_t>()[i];
    case DType::UInt64: return t.data<uint64_t>()[i];
    default: throw Error("bits_at: unsupported dtype " + dtype_name(t.dtype()));
  }
}

std::string int_str(DType t, uint64_t bits) {
  if (t == DType::Bool) return bits ? "true" : "false";
  if (t == DType::UInt64 || t == DType::UInt32 || t == DType::UInt16 || t == DType::UInt8) return std::to_string(bits);
  return std::to_string(static_cast<int64_t>(bits));
}

std::string float_str(double v) {
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

// "[i,j,k]" for a flat index into `shape`.
std::string index_str(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  std::ostringstream os;
  os << '[';
  for (size_t d = 0; d < idx.size(); ++d) os << (d ? "," : "") << idx[d];
  os << ']';
  return os.str();
}

bool float_close(double a, double e, Tolerance tol) {
  if (std::isnan(e)) return std::isnan(a);
  if (std::isinf(e)) return a == e;
  if (!std::isfinite(a)) return false;
  return std::fabs(a - e) <= tol.atol + tol.rtol * std::fabs(e);
}

}  // namespace

std::optional<std::string> compare_tensors(const std::string& output_name, const Tensor& actual, const Tensor& expected,
                                           Tolerance tol) {
  const std::string what = "output '" + output_name + "': ";
  if (!actual.defined()) return what + "not produced (undefined tensor)";
  if (actual.dtype() != expected.dtype())
    return what + "dtype " + dtype_name(actual.dtype()) + ", expected " + dtype_name(expected.dtype());
  if (actual.shape() != expected.shape())
    return what + "shape " + shape_str(actual.shape()) + ", expected " + shape_str(expected.shape());

  const int64_t n = expected.numel();
  const Shape& shape = expected.shape();
  int64_t bad = 0, first_bad = -1;
  std::ostringstream first;
  if (is_floating(expected.dtype())) {
    double max_abs = 0, max_rel = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double a = float_at(actual, i), e = float_at(expected, i);
      if (float_close(a, e, tol)) continue;
      if (bad++ == 0) {
        first_bad = i;
        first << "got " << float_str(a) << ", expected " << float_str(e);
      }
      const double err = std::fabs(a - e);
      if (std::isnan(err) || err > max_abs) max_abs = err;
      if (e != 0 && std::isfinite(e)) max_rel = std::max(max_rel, err / std::fabs(e));
    }
    if (!bad) return std::nullopt;
    std::ostringstream os;
    os << what << bad << " of " << n << " values differ (rtol " << tol.rtol << ", atol " << tol.atol
       << "); first at index " << first_bad << " " << index_str(shape, first_bad) << ": " << first.str()
       << "; max abs error " << float_str(max_abs) << ", max rel error " << float_str(max_rel);
    return os.str();
  }
  if (expected.dtype() == DType::String || expected.dtype() == DType::Undefined)
    return what + "cannot compare dtype " + dtype_name(expected.dtype());
  const bool is_unsigned = expected.dtype() == DType::UInt64 || expected.dtype() == DType::UInt32 ||
                           expected.dtype() == DType::UInt16 || expected.dtype() == DType::UInt8 ||
                           expected.dtype() == DType::Bool;
  const auto as_double = [&](uint64_t v) {
    return is_unsigned ? static_cast<double>(v) : static_cast<double>(static_cast<int64_t>(v));
  };
  uint64_t first_a = 0, first_e = 0;
  double max_abs = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t a = bits_at(actual, i), e = bits_at(expected, i);
    if (a == e) continue;
    if (bad++ == 0) first_bad = i, first_a = a, first_e = e;
    max_abs = std::max(max_abs, std::fabs(as_double(a) - as_double(e)));
  }
  if (!bad) return std::nullopt;
  std::ostringstream os;
  os << what << bad << " of " << n << " values differ (exact " << dtype_name(expected.dtype())
     << " comparison); first at index " << first_bad << " " << index_str(shape, first_bad) << ": got "
     << int_str(expected.dtype(), first_a) << ", expected " << int_str(expected.dtype(), first_e) << "; max abs error "
     << float_str(max_abs);
  return os.str();
}

}  // namespace qf::conformance
