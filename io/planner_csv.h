// Planner CSV: buffer lifetimes as text, one buffer a line, for `cnnmem plan --intervals`.
//
// Each line is `size,first,last`: bytes (at least 1) and inclusive op indices (0 to INT_MAX,
// first <= last), whole decimal numbers, spaces or tabs allowed around fields, an optional `+`.
// Blank lines and `#` comments are skipped; the first non-blank line may be a header whose
// fields are not numbers (e.g. `size,first,last`). CRLF line ends are accepted. The sizes must
// add up to at most INT64_MAX, as the planners require (framework/planner.h).
// Not here: the planners themselves, or any alignment of the sizes (they are used as given).
//
// Usage:
//   std::istringstream text("size,first,last\n1024,0,2\n512,1,3\n");
//   std::vector<cnnmem::Interval> iv = cnnmem::parse_planner_csv(text, "example.csv");
//   // iv = {{1024, 0, 2}, {512, 1, 3}}; a bad line throws Error naming "example.csv" line N
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "framework/planner.h"

namespace cnnmem {

// Parses every line of `in`. Throws cnnmem::Error naming `name` and the line number for a line
// without exactly 3 fields, an empty or non-numeric field, a number out of range (size < 1,
// negative or too large op index), first > last, or sizes that add up past INT64_MAX.
std::vector<Interval> parse_planner_csv(std::istream& in, const std::string& name);

// Opens `path` and parses it; also throws Error if it is a directory or cannot be opened.
std::vector<Interval> read_planner_csv(const std::string& path);

}  // namespace cnnmem
