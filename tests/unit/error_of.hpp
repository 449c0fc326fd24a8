// The message of the qf::Error a callable throws, for tests of hostile input: the test fails when nothing is
// thrown or when the message spans more than one line (the CLI prints it as one).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "util/error.hpp"

namespace qf::test {

inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << "error must be one line: " << what;
    return what;
  }
  ADD_FAILURE() << "expected a qf::Error";
  return {};
}

}  // namespace qf::test
