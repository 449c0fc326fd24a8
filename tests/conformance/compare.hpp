// Output comparison for the ONNX node tests, with numpy.testing.assert_allclose semantics.
#pragma once

#include <optional>
#include <string>

#include "ir/tensor.hpp"

namespace qf::conformance {

struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-7;
};

// nullopt when `actual` matches `expected`: same dtype and shape; bool/integer values exactly equal;
// floating values within |a - e| <= atol + rtol * |e|, NaN matching NaN and inf matching same-sign inf.
// Otherwise a message naming the output, the first bad index, both values and the max error.
std::optional<std::string> compare_tensors(const std::string& output_name, const Tensor& actual, const Tensor& expected,
                                           Tolerance tol = {});

}  // namespace qf::conformance
