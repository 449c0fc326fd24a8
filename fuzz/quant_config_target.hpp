// The quant_config harness's entry point, shared by fuzz/quant_config_fuzz.cpp and the regression test:
// parse and validate a quant_config text (framework/config/quant_config.hpp). Bad input throws qf::Error.
#pragma once

#include <string_view>

#include "config/quant_config.hpp"

namespace qf::fuzz {

inline void parse_quant_config_text(std::string_view text) { (void)config::parse_quant_config(text, "fuzz.json"); }

}  // namespace qf::fuzz
