// The one exception type QuantForge throws for bad input and failed work; the CLI prints what() on one line.
#pragma once

#include <stdexcept>
#include <string>

namespace qf {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace qf
