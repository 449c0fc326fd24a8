// Reads calibration/evaluation samples laid out as DESIGN.md describes:
//   DIR/<sample>/<input>.npy, DIR/<input>/<k>.npy, or DIR/<k>.npy for single-input models.
// Hidden entries (names starting with '.': .ipynb_checkpoints, .DS_Store, .git) are skipped; only regular
// files are read as inputs (a FIFO, device or folder named like an input is an error naming it).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.hpp"

namespace qf {

// "<input>" with every character outside [A-Za-z0-9._-] replaced by '_'.
std::string sanitize_tensor_name(const std::string& name);

struct Sample {
  std::string id;                        // sample folder or file stem
  std::map<std::string, Tensor> inputs;  // by ONNX input name
};

// Lists the samples of DIR for the given model inputs (sorted by id) and loads each one on demand.
class SampleFolder {
 public:
  SampleFolder(const std::filesystem::path& dir, std::vector<std::string> input_names);
  size_t size() const { return entries_.size(); }
  const std::string& id(size_t i) const { return entries_.at(i).id; }
  // Loads sample i; throws qf::Error naming the missing or unreadable file.
  Sample load(size_t i) const;
  // The .npy file of one input of sample i (for messages).
  std::filesystem::path file(size_t i, const std::string& input) const;

 private:
  struct Entry {
    std::string id;
    std::map<std::string, std::filesystem::path> files;
  };
  std::vector<Entry> entries_;
};

// A single sample folder (`qforge run --inputs DIR`): DIR/<input>.npy for every runtime input.
Sample load_single_sample(const std::filesystem::path& dir, const std::vector<std::string>& input_names);

}  // namespace qf
