// Planner CSV implementation: a line splitter and a strict whole-number parser.
//
// Every error names the source and the 1-based line, and quotes at most 32 characters of the
// offending field with control bytes shown as '?', so a message stays one printable line
// whatever the input holds.
// Not here: printing plans (apps/plan_command.cpp).
#include "io/planner_csv.h"

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>
#include <utility>

#include "framework/error.h"

namespace cnnmem {
namespace {

std::string_view trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r") - begin + 1);
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    const size_t comma = line.find(',', start);
    fields.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

bool looks_numeric(std::string_view field) {
  if (!field.empty() && (field[0] == '-' || field[0] == '+')) field.remove_prefix(1);
  return !field.empty() && field[0] >= '0' && field[0] <= '9';
}

// A field as it may appear in a one-line message: at most 32 characters, control bytes as '?'.
std::string printable(std::string_view field) {
  std::string out(field.substr(0, 32));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return field.size() > 32 ? out + "..." : out;
}

// Reads the lines of one source and throws Errors that name it and the current line.
class IntervalsParser {
 public:
  explicit IntervalsParser(std::string name) : name_(std::move(name)) {}

  std::vector<Interval> parse(std::istream& in) {
    std::vector<Interval> intervals;
    int64_t total = 0;
    bool seen_content = false;
    std::string text;
    while (std::getline(in, text)) {
      ++line_;
      std::string_view line = text;
      line = trim(line.substr(0, line.find('#')));
      if (line.empty()) continue;
      const std::vector<std::string_view> fields = split_fields(line);
      if (fields.size() != 3) {
        fail("expected 3 fields, got " + std::to_string(fields.size()));
      }
      const bool header =
          !looks_numeric(fields[0]) && !looks_numeric(fields[1]) && !looks_numeric(fields[2]);
      const bool first_content = !seen_content;
      seen_content = true;
      if (header && first_content) continue;
      Interval iv;
      iv.size = number(fields[0], "size", INT64_MAX);
      iv.first = static_cast<int>(number(fields[1], "first op", INT_MAX));
      iv.last = static_cast<int>(number(fields[2], "last op", INT_MAX));
      if (iv.size == 0) {
        fail("size is 0; a buffer of 0 bytes is never live, give its size in bytes or drop it");
      }
      if (iv.first > iv.last) {
        fail("first op " + std::to_string(iv.first) + " is after last op " +
             std::to_string(iv.last));
      }
      if (iv.size > INT64_MAX - total) {
        fail("the sizes add up to more than " + std::to_string(INT64_MAX) + " bytes");
      }
      total += iv.size;
      intervals.push_back(iv);
    }
    if (in.bad()) {
      throw Error("intervals file \"" + name_ + "\" could not be read to the end (check it)");
    }
    return intervals;
  }

 private:
  // A whole number in [0, max]; `what` names the field in messages.
  int64_t number(std::string_view field, const std::string& what, int64_t max) const {
    const std::string quoted = "\"" + printable(field) + "\"";
    if (field.empty()) fail(what + " is empty");
    if (field.size() > 1 && field[0] == '+' && field[1] != '-') field.remove_prefix(1);
    int64_t v = 0;
    const char* end = field.data() + field.size();
    const auto [ptr, ec] = std::from_chars(field.data(), end, v);
    const std::string at_most = " (at most " + std::to_string(max) + ")";
    if (ec == std::errc::result_out_of_range) {
      fail(what + " " + quoted + (field[0] == '-' ? " is negative" : " is too large" + at_most));
    }
    if (ec != std::errc() || ptr != end) fail(what + " " + quoted + " is not a whole number");
    if (v < 0) fail(what + " " + std::to_string(v) + " is negative");
    if (v > max) fail(what + " " + std::to_string(v) + " is too large" + at_most);
    return v;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("intervals file \"" + name_ + "\" line " + std::to_string(line_) + ": " + what +
                "; each line is size,first,last (bytes, inclusive op indices)");
  }

  std::string name_;
  int64_t line_ = 0;
};

}  // namespace

std::vector<Interval> parse_planner_csv(std::istream& in, const std::string& name) {
  return IntervalsParser(name).parse(in);
}

std::vector<Interval> read_planner_csv(const std::string& path) {
  const auto fail_file = [&path](const std::string& what) {
    throw Error("intervals file \"" + path + "\" " + what + " (check " +
                setting("intervals", "its path") + ")");
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail_file("is a directory, not a CSV file");
  std::ifstream in(path);
  if (!in) fail_file(std::string("cannot be opened: ") + std::strerror(errno));
  return parse_planner_csv(in, path);
}

}  // namespace cnnmem
