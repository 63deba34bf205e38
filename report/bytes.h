// Byte counts for people: the one formatter every human-facing report uses (text report, cost
// table, progress, trace labels, one-line messages; the HTML page's script follows the same rule).
//
// Usage:
//   grouped(553430176)       // "553,430,176"
//   human_bytes(553430176)   // "527.8 MiB"; 1,099,511,627,776 -> "1.00 TiB"; 640 -> "640 B"
//   format_bytes(553430176)  // "553,430,176 B (527.8 MiB)"; under 1 KiB just "640 B"
// The unit is the largest of B, KiB, MiB, GiB, TiB that keeps the number at 1 or more; KiB and MiB
// get one decimal, GiB and TiB two. Not here: parsing sizes (framework/checkpoint.h).
#pragma once

#include <cstdint>
#include <string>

namespace cnnmem {

std::string grouped(int64_t n);
std::string human_bytes(int64_t bytes);
std::string format_bytes(int64_t bytes);

}  // namespace cnnmem
