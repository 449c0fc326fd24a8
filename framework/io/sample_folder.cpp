#include "io/sample_folder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <system_error>

#include "io/npy.hpp"
#include "util/regular_file.hpp"

namespace qf {

namespace fs = std::filesystem;

std::string sanitize_tensor_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

namespace {

// Hidden entries (.ipynb_checkpoints, .DS_Store, .git, editor swap files) are tooling, never samples.
bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

// The sample folders (want_dirs) or the .npy files directly inside `dir`, sorted, hidden ones skipped. A
// .npy entry that is neither a folder nor a regular file (a FIFO, device or socket) is an error naming it:
// reading it could block or never end, and skipping it would silently drop a sample.
std::vector<fs::path> sorted_entries(const fs::path& dir, bool want_dirs) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (is_hidden(p)) {
      spdlog::debug("{}: skipping hidden entry '{}'", dir.string(), p.filename().string());
      continue;
    }
    std::error_code type_ec;
    const fs::file_status st = it->status(type_ec);  // follows symlinks
    if (fs::is_directory(st)) {
      if (want_dirs) out.push_back(p);
    } else if (!want_dirs && p.extension() == ".npy") {
      if (!fs::is_regular_file(st)) require_regular_file(p, "sample file");  // throws, naming the kind
      out.push_back(p);
    }
  }
  if (ec) throw Error(dir.string() + ": cannot list sample folder: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// Reads the .npy of `input`, or names the file when it is missing (a broken symlink counts as missing).
Tensor read_input_file(const fs::path& path, const std::string& input, const std::string& sample_note) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(path.string() + ": missing input file for input '" + input + "'" + sample_note);
  return read_npy(path);
}

void require_folder(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  if (fs::exists(dir, ec)) throw Error(dir.string() + ": " + what + " is not a folder");
  throw Error(dir.string() + ": " + what + " does not exist");
}

}  // namespace

SampleFolder::SampleFolder(const fs::path& dir, std::vector<std::string> input_names) {
  require_folder(dir, "sample folder");
  if (input_names.empty()) throw Error(dir.string() + ": the model has no runtime inputs to feed");
  std::set<std::string> sanitized;
  for (const auto& n : input_names) sanitized.insert(sanitize_tensor_name(n));
  const auto subdirs = sorted_entries(dir, true);

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
          throw Error((dir / sanitize_tensor_name(name) / (id + ".npy")).string() + ": missing (sample '" + id +
                      "' has no file for input '" + name + "')");
      entries_.push_back({id, std::move(files_by_input)});
    }
  } else if (!subdirs.empty()) {
    // Layout 1: DIR/<sample>/<input>.npy.
    for (const auto& sd : subdirs) {
      Entry e{sd.filename().string(), {}};
      for (const auto& name : input_names) e.files[name] = sd / (sanitize_tensor_name(name) + ".npy");
      entries_.push_back(std::move(e));
    }
  } else if (const auto files = sorted_entries(dir, false); !files.empty()) {
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
  for (const auto& [name, path] : e.files) s.inputs[name] = read_input_file(path, name, " of sample '" + e.id + "'");
  return s;
}

fs::path SampleFolder::file(size_t i, const std::string& input) const {
  const Entry& e = entries_.at(i);
  auto it = e.files.find(input);
  return it == e.files.end() ? fs::path(e.id) : it->second;
}

Sample load_single_sample(const fs::path& dir, const std::vector<std::string>& input_names) {
  require_folder(dir, "input folder");
  Sample s{dir.filename().string(), {}};
  for (const auto& name : input_names)
    s.inputs[name] = read_input_file(dir / (sanitize_tensor_name(name) + ".npy"), name, "");
  return s;
}

}  // namespace qf
