#include "ort/session.hpp"

#include <cstring>

#include "util/error.hpp"

namespace qf::ort {

namespace fs = std::filesystem;

namespace {

// Owns one OrtValue (an input wrapper or an output) until the end of the run.
struct ValueHolder {
  const OrtApi* api;
  std::vector<OrtValue*> values;
  ~ValueHolder() {
    for (OrtValue* v : values)
      if (v != nullptr) api->ReleaseValue(v);
  }
};

bool supported(DType t) { return t != DType::Undefined && t != DType::String && static_cast<int>(t) <= 13; }

}  // namespace

Session::Session(std::shared_ptr<const Runtime> runtime, const fs::path& model, int threads)
    : runtime_(std::move(runtime)), model_(model) {
  const OrtApi& api = runtime_->api();
  OrtSessionOptions* options = nullptr;
  runtime_->check(api.CreateSessionOptions(&options), context());
  std::unique_ptr<OrtSessionOptions, void (*)(OrtSessionOptions*) noexcept> owned(options, api.ReleaseSessionOptions);
  runtime_->check(api.SetSessionGraphOptimizationLevel(options, kOrtOptimizeAll), context());
  runtime_->check(api.SetIntraOpNumThreads(options, threads), context());
  runtime_->check(api.SetInterOpNumThreads(options, 1), context());  // sequential execution: one node at a time
  std::error_code ec;
  if (!fs::is_regular_file(model, ec)) throw Error(context() + ": no such model file");
  runtime_->check(api.CreateSession(runtime_->env(), model.c_str(), options, &session_), context());
  try {
    runtime_->check(api.CreateCpuMemoryInfo(kOrtArenaAllocator, kOrtMemoryDefault, &cpu_), context());
    inputs_ = names(true);
    outputs_ = names(false);
  } catch (...) {
    if (cpu_ != nullptr) api.ReleaseMemoryInfo(cpu_);
    api.ReleaseSession(session_);
    throw;
  }
}

Session::~Session() {
  runtime_->api().ReleaseMemoryInfo(cpu_);
  runtime_->api().ReleaseSession(session_);
}

std::string Session::context() const { return "model " + model_.string(); }

std::vector<std::string> Session::names(bool inputs) const {
  const OrtApi& api = runtime_->api();
  OrtAllocator* allocator = nullptr;
  runtime_->check(api.GetAllocatorWithDefaultOptions(&allocator), context());
  size_t count = 0;
  runtime_->check(inputs ? api.SessionGetInputCount(session_, &count) : api.SessionGetOutputCount(session_, &count),
                  context());
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) {
    char* name = nullptr;
    runtime_->check(inputs ? api.SessionGetInputName(session_, i, allocator, &name)
                           : api.SessionGetOutputName(session_, i, allocator, &name),
                    context());
    out.emplace_back(name);
    runtime_->check(api.AllocatorFree(allocator, name), context());
  }
  return out;
}

std::map<std::string, Tensor> Session::run(const std::map<std::string, Tensor>& inputs) const {
  const OrtApi& api = runtime_->api();
  ValueHolder in{&api, {}}, out{&api, std::vector<OrtValue*>(outputs_.size(), nullptr)};
  std::vector<const char*> in_names, out_names;
  static std::byte empty_storage[1];  // ONNX Runtime wants a buffer even for zero elements
  for (const std::string& name : inputs_) {
    const auto it = inputs.find(name);
    if (it == inputs.end()) throw Error(context() + ": no value for input '" + name + "'");
    const Tensor& t = it->second;
    if (!supported(t.dtype()))
      throw Error(context() + ", input '" + name + "': " + dtype_name(t.dtype()) + " is not supported");
    void* data = t.nbytes() > 0 ? const_cast<void*>(t.raw()) : empty_storage;  // ONNX Runtime reads inputs only
    in.values.push_back(nullptr);
    runtime_->check(api.CreateTensorWithDataAsOrtValue(cpu_, data, t.nbytes(), t.shape().data(), t.shape().size(),
                                                       static_cast<OrtElementType>(t.dtype()), &in.values.back()),
                    context() + ", input '" + name + "'");
    in_names.push_back(name.c_str());
  }
  for (const std::string& name : outputs_) out_names.push_back(name.c_str());
  runtime_->check(api.Run(session_, nullptr, in_names.data(), in.values.data(), in.values.size(), out_names.data(),
                          out_names.size(), out.values.data()),
                  context());
  std::map<std::string, Tensor> result;
  for (size_t o = 0; o < outputs_.size(); ++o) result[outputs_[o]] = to_tensor(out.values[o], outputs_[o]);
  return result;
}

Tensor Session::to_tensor(OrtValue* value, const std::string& name) const {
  const OrtApi& api = runtime_->api();
  const std::string where = context() + ", output '" + name + "'";
  int is_tensor = 0;
  runtime_->check(api.IsTensor(value, &is_tensor), where);
  if (is_tensor == 0) throw Error(where + ": not a tensor (sequences and maps are not supported)");
  OrtTensorTypeAndShapeInfo* info = nullptr;
  runtime_->check(api.GetTensorTypeAndShape(value, &info), where);
  std::unique_ptr<OrtTensorTypeAndShapeInfo, void (*)(OrtTensorTypeAndShapeInfo*) noexcept> owned(
      info, api.ReleaseTensorTypeAndShapeInfo);
  OrtElementType type = 0;
  size_t rank = 0;
  runtime_->check(api.GetTensorElementType(info, &type), where);
  runtime_->check(api.GetDimensionsCount(info, &rank), where);
  Shape shape(rank);
  runtime_->check(api.GetDimensions(info, shape.data(), rank), where);
  const DType dtype = static_cast<DType>(type);
  if (!supported(dtype)) throw Error(where + ": element type " + std::to_string(type) + " is not supported");
  Tensor t = Tensor::uninitialized(dtype, shape);
  if (t.nbytes() > 0) {
    void* data = nullptr;
    runtime_->check(api.GetTensorMutableData(value, &data), where);
    std::memcpy(t.raw(), data, t.nbytes());
  }
  return t;
}

}  // namespace qf::ort
