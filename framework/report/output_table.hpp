// The per-output accuracy table `qforge quantize` prints at the end (the seed toolchain's "The quantized
// model output" table), from the run's report.
#pragma once

#include <string>

#include "report/quantize_report.hpp"

namespace qf::report {

// One line per output: cosine, L1, L2, chebyshev, SQNR; a Top-1 column when some output is logits.
std::string format_output_table(const QuantizeReport& report);

}  // namespace qf::report
