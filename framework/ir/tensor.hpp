// Tensor: a typed, shaped, reference-counted buffer. Copies share storage; use clone() for a deep copy.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "util/error.hpp"
#include "util/float16.hpp"

namespace qf {

// Values match onnx::TensorProto::DataType so conversion is a cast.
enum class DType : int32_t {
  Undefined = 0,
  Float32 = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Float64 = 11,
  UInt32 = 12,
  UInt64 = 13,
};

using Shape = std::vector<int64_t>;

size_t dtype_size(DType t);             // bytes per element; throws for String/Undefined
std::string dtype_name(DType t);        // "float32", "int64", ...
int64_t shape_numel(const Shape& s);    // product of dims (1 for a scalar)
std::string shape_str(const Shape& s);  // "[1,3,224,224]"

// Maps a C++ element type to its DType (bool is stored as one byte).
template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::Float32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::Float64;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::UInt8;
};
template <>
struct DTypeOf<int8_t> {
  static constexpr DType value = DType::Int8;
};
template <>
struct DTypeOf<uint16_t> {
  static constexpr DType value = DType::UInt16;
};
template <>
struct DTypeOf<int16_t> {
  static constexpr DType value = DType::Int16;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::Int32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::Int64;
};
template <>
struct DTypeOf<uint32_t> {
  static constexpr DType value = DType::UInt32;
};
template <>
struct DTypeOf<uint64_t> {
  static constexpr DType value = DType::UInt64;
};
template <>
struct DTypeOf<bool> {
  static constexpr DType value = DType::Bool;
};
template <>
struct DTypeOf<Float16> {
  static constexpr DType value = DType::Float16;
};

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-initialised storage.
  Tensor(DType dtype, Shape shape);
  // Allocates storage left uninitialised: for outputs a kernel overwrites completely (skips the memset).
  static Tensor uninitialized(DType dtype, Shape shape);

  template <class T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values) {
    Tensor t(DTypeOf<T>::value, std::move(shape));
    if (static_cast<int64_t>(values.size()) != t.numel())
      throw Error("Tensor::from_vector: " + std::to_string(values.size()) + " values for shape " +
                  shape_str(t.shape()));
    if constexpr (std::is_same_v<T, bool>) {
      for (size_t i = 0; i < values.size(); ++i) t.data<bool>()[i] = values[i];
    } else if (!values.empty()) {
      std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
    }
    return t;
  }
  template <class T>
  static Tensor scalar(T v) {
    return from_vector<T>({}, {v});
  }

  bool defined() const { return dtype_ != DType::Undefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_.at(static_cast<size_t>(i < 0 ? i + rank() : i)); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* raw() { return storage_.get(); }
  const void* raw() const { return storage_.get(); }
  template <class T>
  T* data() {
    check<T>();
    return static_cast<T*>(raw());
  }
  template <class T>
  const T* data() const {
    check<T>();
    return static_cast<const T*>(raw());
  }

  // Same storage, new shape (element count must match).
  Tensor reshaped(Shape shape) const;
  // Deep copy.
  Tensor clone() const;
  // Element i converted to double / int64 (any numeric dtype); handy for small shape tensors.
  double as_double(int64_t i) const;
  int64_t as_int64(int64_t i) const;
  // All elements as int64 (any integer dtype); used for shape/axes/indices inputs.
  std::vector<int64_t> to_int64_vector() const;
  // Converts to another dtype (numeric casts as C++ static_cast; float->bool is x != 0).
  Tensor cast(DType to) const;

 private:
  template <class T>
  void check() const {
    if (DTypeOf<T>::value != dtype_)
      throw Error("tensor holds " + dtype_name(dtype_) + ", accessed as " + dtype_name(DTypeOf<T>::value));
  }
  DType dtype_ = DType::Undefined;
  Shape shape_;
  std::shared_ptr<std::byte[]> storage_;
};

}  // namespace qf
