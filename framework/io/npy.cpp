#include "io/npy.hpp"

#include <fstream>
#include <regex>
#include <sstream>

#include "util/atomic_file.hpp"

namespace qf {

namespace fs = std::filesystem;

namespace {

DType dtype_from_descr(const std::string& descr, const fs::path& path) {
  static const std::pair<const char*, DType> table[] = {
      {"<f4", DType::Float32}, {"<f2", DType::Float16}, {"<f8", DType::Float64}, {"<i8", DType::Int64},
      {"<i4", DType::Int32},   {"<i2", DType::Int16},   {"|i1", DType::Int8},    {"|u1", DType::UInt8},
      {"<u2", DType::UInt16},  {"<u4", DType::UInt32},  {"<u8", DType::UInt64},  {"|b1", DType::Bool},
  };
  for (const auto& [name, dtype] : table)
    if (descr == name) return dtype;
  throw Error(path.string() + ": unsupported .npy dtype '" + descr + "' (big-endian or non-numeric)");
}

const char* descr_of(DType t) {
  switch (t) {
    case DType::Float32: return "<f4";
    case DType::Float16: return "<f2";
    case DType::Float64: return "<f8";
    case DType::Int64: return "<i8";
    case DType::Int32: return "<i4";
    case DType::Int16: return "<i2";
    case DType::Int8: return "|i1";
    case DType::UInt8: return "|u1";
    case DType::UInt16: return "<u2";
    case DType::UInt32: return "<u4";
    case DType::UInt64: return "<u8";
    case DType::Bool: return "|b1";
    default: throw Error("cannot write " + dtype_name(t) + " to .npy");
  }
}

// The dims of a header's 'shape' tuple; zero is a legal dimension, negative ones are not.
Shape parse_shape(const std::string& text, const fs::path& path) {
  Shape shape;
  std::stringstream dims(text);
  std::string item;
  while (std::getline(dims, item, ',')) {
    if (item.find_first_not_of(" \t") == std::string::npos) continue;
    int64_t d = -1;
    try {
      size_t used = 0;
      d = std::stoll(item, &used);
      if (item.find_first_not_of(" \tL", used) != std::string::npos) d = -1;
    } catch (const std::exception&) {
      d = -1;
    }
    if (d < 0) throw Error(path.string() + ": bad .npy shape '" + text + "'");
    shape.push_back(d);
  }
  return shape;
}

// Bytes of array data the header promises. The product of the non-zero dims must stay far from int64
// overflow even for an empty array, since kernels compute strides from those dims.
size_t data_bytes(const Shape& shape, DType dtype, const fs::path& path) {
  uint64_t n = dtype_size(dtype);
  bool zero = false;
  for (int64_t d : shape) {
    zero = zero || d == 0;
    const uint64_t extent = d == 0 ? 1 : static_cast<uint64_t>(d);
    if (extent > (uint64_t{1} << 62) / n)
      throw Error(path.string() + ": .npy shape " + shape_str(shape) + " is too large");
    n *= extent;
  }
  return zero ? 0 : static_cast<size_t>(n);
}

}  // namespace

Tensor read_npy(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open .npy file");
  char magic[8];
  if (!in.read(magic, 8) || std::string(magic, 6) != "\x93NUMPY")
    throw Error(path.string() + ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_len = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) throw Error(path.string() + ": truncated .npy header");
    header_len = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) throw Error(path.string() + ": truncated .npy header");
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  } else {
    throw Error(path.string() + ": unsupported .npy version " + std::to_string(major));
  }
  if (header_len > (1u << 20)) throw Error(path.string() + ": implausible .npy header length");
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) throw Error(path.string() + ": truncated .npy header");

  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']+)')")))
    throw Error(path.string() + ": .npy header has no descr");
  const DType dtype = dtype_from_descr(m[1].str(), path);
  if (std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*True)")))
    throw Error(path.string() + ": Fortran-order .npy arrays are not supported");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    throw Error(path.string() + ": .npy header has no shape");
  const Shape shape = parse_shape(m[1].str(), path);
  const size_t expected = data_bytes(shape, dtype, path);
  // Compare with what the file holds before allocating, so a lying header cannot trigger a huge allocation.
  const std::streamoff data_start = in.tellg();
  in.seekg(0, std::ios::end);
  const std::streamoff file_end = in.tellg();
  in.seekg(data_start);
  if (data_start < 0 || file_end < data_start || static_cast<uint64_t>(file_end - data_start) < expected)
    throw Error(path.string() + ": .npy data is truncated (expected " + std::to_string(expected) + " bytes for " +
                shape_str(shape) + ")");
  Tensor t = Tensor::uninitialized(dtype, shape);
  // A zero-length dimension (e.g. an empty KV cache) is a legal array with no data bytes.
  if (expected > 0 && !in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(expected)))
    throw Error(path.string() + ": .npy data is truncated (expected " + std::to_string(expected) + " bytes for " +
                shape_str(shape) + ")");
  if (dtype == DType::Bool) {  // a bool byte other than 0/1 is undefined behaviour once read as bool
    auto* bytes = static_cast<unsigned char*>(t.raw());
    for (size_t i = 0; i < expected; ++i) bytes[i] = bytes[i] != 0;
  }
  return t;
}

void write_npy(const fs::path& path, const Tensor& t) {
  std::string header = "{'descr': '" + std::string(descr_of(t.dtype())) + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape().size(); ++i) header += std::to_string(t.shape()[i]) + ",";
  if (t.shape().size() > 1) header.pop_back();
  header += "), }";
  // Pad so magic(6)+version(2)+len(2)+header is a multiple of 64, ending with '\n'.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  AtomicFile file(path);
  auto& out = file.stream();
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  file.commit();
}

}  // namespace qf
