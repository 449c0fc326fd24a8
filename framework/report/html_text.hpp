// Text helpers shared by the HTML report and its SVG charts: escaping and number formatting.
#pragma once

#include <string>
#include <string_view>

namespace qf::report {

// Escapes & < > " ' so any string is safe in element text and in quoted attributes.
std::string escape_html(std::string_view text);

// Fixed-point with `decimals` digits; "inf", "-inf", "nan" for non-finite values.
std::string format_fixed(double value, int decimals);

// Distances (L1, L2, chebyshev, mse): 6 decimals, scientific when too small for that to show.
std::string format_distance(double value);

// Whole numbers without a fraction, others with up to 6 significant digits.
std::string format_count(double value);

// Seconds as "0.42 s", "12.3 s", "95.0 s (1m35s)".
std::string format_seconds(double seconds);

// The first `max_chars` characters (UTF-8 code points), followed by "…" when the text was longer.
std::string truncate_text(std::string_view text, size_t max_chars);

}  // namespace qf::report
