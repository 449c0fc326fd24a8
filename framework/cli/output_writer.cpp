#include "cli/output_writer.hpp"

#include "io/npy.hpp"
#include "io/sample_folder.hpp"
#include "pipeline/artifacts.hpp"
#include "util/interrupt.hpp"

namespace qf::cli {

void write_outputs(const std::filesystem::path& dir, const std::map<std::string, Tensor>& outputs) {
  pipeline::ArtifactStager stager(dir);
  for (const auto& [name, t] : outputs) {
    cancellation_point("write");
    write_npy(stager.staged(sanitize_tensor_name(name) + ".npy"), t);
  }
  stager.commit();
}

}  // namespace qf::cli
