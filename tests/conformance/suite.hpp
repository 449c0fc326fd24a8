// Where the conformance suite finds its data, and the shared run statistics printed at the end.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace qf::conformance {

// ONNX node-test folder: $QF_ONNX_NODE_TEST_DIR, else the libonnx-testdata path baked in at build time.
std::filesystem::path node_test_dir();
// Exclusion list: $QF_CONFORMANCE_EXCLUDED, else tests/conformance/excluded.txt in the source tree.
std::filesystem::path exclusion_file();
// Sorted names of the sub-folders of node_test_dir() holding a model.onnx (empty when not installed).
std::vector<std::string> list_node_tests();

inline constexpr const char* kNotInstalled = "libonnx-testdata not installed: apt-get install libonnx-testdata";

}  // namespace qf::conformance
