// report.html: a self-contained, readable page (no scripts, no external files) rendered from the report of
// `qforge quantize` (report/quantize_report.hpp, the same value report.json is written from); plots are
// inline SVG. docs/report.md lists the sections.
#pragma once

#include <string>

#include "report/quantize_report.hpp"

namespace qf::report {

// Parts the report does not have (no search, no bias correction, no stages) are left out of the page.
// Every string is HTML-escaped.
std::string render_report_html(const QuantizeReport& report);

}  // namespace qf::report
