#include "cli/output_writer.hpp"

#include <unistd.h>

#include <vector>

#include "io/npy.hpp"
#include "io/sample_folder.hpp"

namespace qf::cli {

namespace fs = std::filesystem;

void write_outputs(const fs::path& dir, const std::map<std::string, Tensor>& outputs) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw Error(dir.string() + ": cannot create output directory");
  if (::access(dir.c_str(), W_OK) != 0) throw Error(dir.string() + ": output directory is not writable");

  std::vector<std::pair<fs::path, fs::path>> staged;  // temp -> final
  try {
    for (const auto& [name, t] : outputs) {
      const fs::path final_path = dir / (sanitize_tensor_name(name) + ".npy");
      fs::path temp = final_path;
      temp += ".partial";
      write_npy(temp, t);
      staged.emplace_back(temp, final_path);
    }
  } catch (...) {
    for (const auto& [temp, final_path] : staged) fs::remove(temp, ec);
    throw;
  }
  for (const auto& [temp, final_path] : staged) {
    fs::rename(temp, final_path, ec);
    if (ec) throw Error(final_path.string() + ": cannot write output: " + ec.message());
  }
}

}  // namespace qf::cli
