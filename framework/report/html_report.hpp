// report.html: a self-contained, readable page (no scripts, no external files) rendered from the
// report.json document of `qforge quantize`; plots are inline SVG.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace qf::report {

// `report` follows the schema documented in docs/report.md:
// {
//   "tool": "qforge 0.x", "model": "path", "backend": "generic", "created": "ISO time",
//   "samples": {"calibration": N, "evaluation": M},
//   "outputs": [{"name", "cosine", "l1", "l2", "chebyshev", "sqnr"}],        // float vs quantized
//   "nodes": [{"name", "op", "dtype", "method", "threshold", "cosine"}],     // topological order;
//       // threshold: string ("[-1.2, 3.4]" or "per-channel 64 ch, max 3.1"), cosine: number or null
//   "search": {"strategy", "metric", "ranking": [{"candidate", "score"}], "chosen", "log": [strings]},
//   "bias_correction": {"applied": bool, "nodes": N, "before": x, "after": y} (optional),
//   "stages": [{"name", "seconds"}],
//   "peak_rss_mb": x
// }
// Also shown when present (written by the pipeline, see docs/report.md): "total_seconds", "plan"
// {"activations", "weights", "candidates", "warnings"}, "optimize" {counts}, "export" {"opset",
// "com_microsoft"}, bias_correction "skipped" and "metric".
// Missing optional parts are left out of the page. Strings are HTML-escaped. A value of the wrong type
// is a qf::Error naming its key ("nodes[3].cosine").
std::string render_report_html(const nlohmann::json& report);

}  // namespace qf::report
