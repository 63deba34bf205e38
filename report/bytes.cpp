#include "report/bytes.h"

#include <array>
#include <cstdio>
#include <cstdlib>

namespace cnnmem {

std::string grouped(int64_t n) {
  // The magnitude as unsigned, so INT64_MIN has one too.
  const uint64_t magnitude = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  const std::string digits = std::to_string(magnitude);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string human_bytes(int64_t bytes) {
  struct Unit {
    const char* name;
    double size;
    int decimals;
  };
  static constexpr std::array<Unit, 4> kUnits = {{{"TiB", 1099511627776.0, 2},
                                                  {"GiB", 1073741824.0, 2},
                                                  {"MiB", 1048576.0, 1},
                                                  {"KiB", 1024.0, 1}}};
  const double b = static_cast<double>(bytes);
  for (const Unit& u : kUnits) {
    if (std::abs(b) >= u.size) {
      char text[48];
      std::snprintf(text, sizeof text, "%.*f %s", u.decimals, b / u.size, u.name);
      return text;
    }
  }
  return std::to_string(bytes) + " B";
}

std::string format_bytes(int64_t bytes) {
  if (bytes > -1024 && bytes < 1024) return std::to_string(bytes) + " B";
  return grouped(bytes) + " B (" + human_bytes(bytes) + ")";
}

}  // namespace cnnmem
