// Errors: the settings marked inside an Error message, and the failed-check path.
//   throw Error(setting("keep", "the tensors to keep") + " names no layer");
// Not here: the CLI's names of the settings (apps/cli_errors.cpp).
#include "framework/error.h"

namespace cnnmem {

namespace {

// A marked setting is kBegin key kSep words kSep value kEnd: control characters that no message
// text contains.
constexpr char kBegin = '\x1d';
constexpr char kSep = '\x1f';
constexpr char kEnd = '\x1e';

struct Mark {
  std::string key, words, value;
};

// Calls `text(piece)` for every unmarked piece of `marked` and `mark(m)` for every mark.
template <typename Text, typename OnMark>
void walk(const std::string& marked, Text text, OnMark mark) {
  size_t at = 0;
  while (at < marked.size()) {
    const size_t begin = marked.find(kBegin, at);
    const size_t end = begin == std::string::npos ? begin : marked.find(kEnd, begin);
    if (end == std::string::npos) {
      text(marked.substr(at));
      return;
    }
    text(marked.substr(at, begin - at));
    const std::string inner = marked.substr(begin + 1, end - begin - 1);
    const size_t s1 = inner.find(kSep);
    const size_t s2 = s1 == std::string::npos ? s1 : inner.find(kSep, s1 + 1);
    if (s2 == std::string::npos) {
      mark(Mark{inner, inner, ""});
    } else {
      mark(Mark{inner.substr(0, s1), inner.substr(s1 + 1, s2 - s1 - 1), inner.substr(s2 + 1)});
    }
    at = end + 1;
  }
}

std::string in_words(const std::string& marked) {
  std::string out;
  walk(
      marked, [&out](const std::string& t) { out += t; },
      [&out](const Mark& m) { out += m.words; });
  return out;
}

}  // namespace

std::string setting(const std::string& key, const std::string& words, const std::string& value) {
  return kBegin + key + kSep + (words.empty() ? key : words) + kSep + value + kEnd;
}

Error::Error(const std::string& message)
    : std::runtime_error(in_words(message)), marked_(message) {}

std::string Error::text(const std::function<std::string(const std::string& key)>& name) const {
  std::string out;
  walk(
      marked_, [&out](const std::string& t) { out += t; },
      [&out, &name](const Mark& m) {
        const std::string own = name(m.key);
        if (own.empty()) {
          out += m.words;
        } else {
          out += own + (m.value.empty() ? "" : " " + m.value);
        }
      });
  return out;
}

std::vector<std::string> Error::settings() const {
  std::vector<std::string> keys;
  walk(
      marked_, [](const std::string&) {}, [&keys](const Mark& m) { keys.push_back(m.key); });
  return keys;
}

void fail_check(const char* expr, const char* file, int line, const std::string& msg) {
  std::string what =
      std::string("internal check failed: ") + expr + " at " + file + ":" + std::to_string(line);
  if (!msg.empty()) what += " (" + msg + ")";
  throw InternalError(what);
}

}  // namespace cnnmem
