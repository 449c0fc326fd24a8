// The C registrar a library's register_fn receives: each add_* checks the plugin's table (size, required
// functions, name, declared parameters) and copies it into the host's layout.
#pragma once

#include <string_view>
#include <vector>

#include "plugin/loader.hpp"
#include "plugin/registry.hpp"

namespace qf::plugin {

// Runs the library's register_fn and returns the components it added. Throws qf::Error naming the library
// on the first refusal (bad table, malformed or duplicate name, bad parameter declaration), a failed
// status or an exception escaping the C ABI. `registry` is only read (duplicate names).
std::vector<Component> register_library(const Registry& registry, const OpenedLibrary& library);

// Component names: lowercase letters, digits, '_', '-', '.' (third parties use a dotted prefix).
bool valid_component_name(std::string_view name);

}  // namespace qf::plugin
