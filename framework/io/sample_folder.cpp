#include "io/sample_folder.hpp"

#include <algorithm>
#include <set>

#include "io/npy.hpp"

namespace qf {

namespace fs = std::filesystem;

std::string sanitize_tensor_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

namespace {

std::vector<fs::path> sorted_entries(const fs::path& dir, bool want_dirs) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (want_dirs ? e.is_directory() : (e.is_regular_file() && e.path().extension() == ".npy"))
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

SampleFolder::SampleFolder(const fs::path& dir, std::vector<std::string> input_names) {
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": sample folder does not exist");
  if (input_names.empty()) throw Error(dir.string() + ": the model has no runtime inputs to feed");
  std::set<std::string> sanitized;
  for (const auto& n : input_names) sanitized.insert(sanitize_tensor_name(n));
  const auto subdirs = sorted_entries(dir, true);
  const auto files = sorted_entries(dir, false);

  // Layout 2: DIR/<input>/<k>.npy — every subfolder is named after an input.
  const bool per_input = !subdirs.empty() && std::all_of(subdirs.begin(), subdirs.end(), [&](const fs::path& p) {
                           return sanitized.count(p.filename().string()) > 0;
                         }) && subdirs.size() == input_names.size();
  if (per_input) {
    std::map<std::string, std::map<std::string, fs::path>> by_sample;
    for (const auto& name : input_names)
      for (const auto& f : sorted_entries(dir / sanitize_tensor_name(name), false))
        by_sample[f.stem().string()][name] = f;
    for (auto& [id, files_by_input] : by_sample) {
      for (const auto& name : input_names)
        if (!files_by_input.count(name))
          throw Error((dir / sanitize_tensor_name(name) / (id + ".npy")).string() +
                      ": missing (sample '" + id + "' has no file for input '" + name + "')");
      entries_.push_back({id, std::move(files_by_input)});
    }
  } else if (!subdirs.empty()) {
    // Layout 1: DIR/<sample>/<input>.npy.
    for (const auto& sd : subdirs) {
      Entry e{sd.filename().string(), {}};
      for (const auto& name : input_names) e.files[name] = sd / (sanitize_tensor_name(name) + ".npy");
      entries_.push_back(std::move(e));
    }
  } else if (!files.empty()) {
    // Layout 3: DIR/<k>.npy for a single-input model.
    if (input_names.size() != 1)
      throw Error(dir.string() + ": flat .npy files need a single-input model, this one has " +
                  std::to_string(input_names.size()) + " inputs; use DIR/<sample>/<input>.npy");
    for (const auto& f : files) entries_.push_back({f.stem().string(), {{input_names[0], f}}});
  }
  if (entries_.empty()) throw Error(dir.string() + ": no samples found (expected .npy files)");
}

Sample SampleFolder::load(size_t i) const {
  const Entry& e = entries_.at(i);
  Sample s{e.id, {}};
  for (const auto& [name, path] : e.files) {
    if (!fs::exists(path))
      throw Error(path.string() + ": missing input file for input '" + name + "' of sample '" + e.id + "'");
    s.inputs[name] = read_npy(path);
  }
  return s;
}

fs::path SampleFolder::file(size_t i, const std::string& input) const {
  const Entry& e = entries_.at(i);
  auto it = e.files.find(input);
  return it == e.files.end() ? fs::path(e.id) : it->second;
}

Sample load_single_sample(const fs::path& dir, const std::vector<std::string>& input_names) {
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": input folder does not exist");
  Sample s{dir.filename().string(), {}};
  for (const auto& name : input_names) {
    const fs::path path = dir / (sanitize_tensor_name(name) + ".npy");
    if (!fs::exists(path)) throw Error(path.string() + ": missing input file for input '" + name + "'");
    s.inputs[name] = read_npy(path);
  }
  return s;
}

}  // namespace qf
