// One model opened in ONNX Runtime (CPU provider, graph optimisation "all", its default) and run on qforge
// tensors.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/tensor.hpp"
#include "ort/runtime.hpp"

namespace qf::ort {

class Session {
 public:
  // `threads`: ONNX Runtime's intra-op threads (0: its default, all cores), as qforge's --threads.
  // Throws qf::Error naming the library, the model and ONNX Runtime's message.
  Session(std::shared_ptr<const Runtime> runtime, const std::filesystem::path& model, int threads);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::vector<std::string>& input_names() const { return inputs_; }
  const std::vector<std::string>& output_names() const { return outputs_; }
  // Every output by name. `inputs` must hold every input of the model (extra entries are ignored).
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs) const;

 private:
  std::vector<std::string> names(bool inputs) const;
  Tensor to_tensor(OrtValue* value, const std::string& name) const;
  std::string context() const;
  std::shared_ptr<const Runtime> runtime_;
  std::filesystem::path model_;
  OrtSession* session_ = nullptr;
  OrtMemoryInfo* cpu_ = nullptr;
  std::vector<std::string> inputs_, outputs_;
};

}  // namespace qf::ort
