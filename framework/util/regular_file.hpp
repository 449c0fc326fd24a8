// Reading user-named files safely: only regular files are read (a FIFO, device, socket or directory
// would block or never end), opened without blocking, and bounded in size before anything is allocated.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace qf {

// Throws qf::Error "<path>: <what> is not a regular file (FIFO)" unless `path` (after symlinks) is a
// regular file; "<path>: cannot read <what>: <reason>" when it does not exist or cannot be opened.
void require_regular_file(const std::filesystem::path& path, const std::string& what);

// The whole content of regular file `path`, refused before reading when it holds more than `max_bytes`.
std::string read_regular_file(const std::filesystem::path& path, const std::string& what, uint64_t max_bytes);

}  // namespace qf
