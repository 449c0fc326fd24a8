// What a backend's dtype mask (ABI QF_DTYPE_MASK bits of one node input) allows: the dtype a requested one
// becomes, and whether an integer dtype is stored unsigned there.
#pragma once

#include <cstdint>

#include "quant/quant_math.hpp"

namespace qf::pipeline {

// The requested dtype if the backend's mask allows it (0: no constraint), else the nearest more precise
// allowed one, else the most precise allowed below it. uint8/uint16 bits count as int8/int16 (the same
// grids stored shifted). Int16Ec is int16 where int16 is allowed, else Int16Ec when `int16_ec` (the
// input offers error compensation), else like int16.
quant::QType allowed_dtype(quant::QType wanted, uint32_t mask, bool int16_ec = false);
// A backend mask with uint8/uint16 counted as int8/int16 (the same grids stored shifted).
uint32_t signed_view(uint32_t mask);
// True when the backend's mask allows integer dtype t only in its unsigned storage (uint8 / uint16).
bool only_unsigned(quant::QType t, uint32_t mask);

}  // namespace qf::pipeline
