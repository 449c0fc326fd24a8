#include "util/atomic_file.hpp"

#include <unistd.h>

#include "util/error.hpp"

namespace qf {

namespace fs = std::filesystem;

AtomicFile::AtomicFile(fs::path target) : target_(std::move(target)) {
  temp_ = target_;
  temp_ += ".tmp" + std::to_string(::getpid());
  out_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!out_) throw Error(target_.string() + ": cannot write (directory missing or not writable)");
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    out_.close();
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicFile::commit() {
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok) throw Error(target_.string() + ": write failed (disk full?)");
  std::error_code ec;
  fs::rename(temp_, target_, ec);
  if (ec) throw Error(target_.string() + ": cannot rename temp file into place: " + ec.message());
  committed_ = true;
}

}  // namespace qf
