#include "report/html_text.hpp"

#include <cmath>
#include <cstdio>

namespace qf::report {

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

const char* non_finite_text(double value) {
  if (std::isnan(value)) return "nan";
  return value > 0 ? "inf" : "-inf";
}

}  // namespace

std::string format_fixed(double value, int decimals) {
  if (!std::isfinite(value)) return non_finite_text(value);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string format_distance(double value) {
  if (!std::isfinite(value)) return non_finite_text(value);
  char buffer[64];
  // Below 1e-4 six decimals would show only one or two significant digits.
  if (value != 0 && std::fabs(value) < 1e-4) std::snprintf(buffer, sizeof buffer, "%.3e", value);
  else if (std::fabs(value) >= 1e7) std::snprintf(buffer, sizeof buffer, "%.4e", value);
  else std::snprintf(buffer, sizeof buffer, "%.6f", value);
  return buffer;
}

std::string format_count(double value) {
  if (!std::isfinite(value)) return non_finite_text(value);
  char buffer[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) std::snprintf(buffer, sizeof buffer, "%.0f", value);
  else std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds)) return non_finite_text(seconds);
  char buffer[64];
  if (seconds < 10) std::snprintf(buffer, sizeof buffer, "%.2f s", seconds);
  else if (seconds < 60) std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
  else {
    const long whole = std::lround(seconds);
    std::snprintf(buffer, sizeof buffer, "%.1f s (%ldm%02lds)", seconds, whole / 60, whole % 60);
  }
  return buffer;
}

std::string truncate_text(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    // Count code points: continuation bytes are 10xxxxxx.
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return std::string(text.substr(0, i)) + "\u2026";
      ++chars;
    }
  }
  return std::string(text);
}

}  // namespace qf::report
