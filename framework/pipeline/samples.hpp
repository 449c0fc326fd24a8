// The calibration samples of `qforge quantize`: a sample folder (DESIGN.md layouts) limited to
// --max-samples, loaded one at a time on demand (memory does not grow with the number of samples) and
// checked: dtype, rank and static dims as the model declares them, and float inputs finite (errors name
// the file).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "io/sample_folder.hpp"
#include "ir/graph.hpp"

namespace qf::pipeline {

class SampleSet {
 public:
  // Errors: missing/empty folder, layout not matching the model's inputs (qf::Error naming DIR).
  SampleSet(const std::filesystem::path& dir, const Model& model, size_t max_samples);
  size_t size() const { return count_; }
  const std::string& id(size_t i) const { return folder_.id(i); }
  // Loads and validates sample i.
  std::map<std::string, Tensor> load(size_t i) const;

 private:
  std::filesystem::path dir_;
  std::vector<ValueInfo> inputs_;  // the model's runtime inputs, each sample is checked against
  SampleFolder folder_;
  size_t count_ = 0;
};

}  // namespace qf::pipeline
