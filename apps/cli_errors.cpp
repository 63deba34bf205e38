#include "apps/cli_errors.h"

#include <algorithm>
#include <map>
#include <regex>

namespace cnnmem {

namespace {

// The values given to `flag`, as "--flag V" or "--flag=V".
std::vector<std::string> values_of(const std::string& flag, const std::vector<std::string>& args) {
  std::vector<std::string> values;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag && i + 1 < args.size()) {
      values.push_back(args[i + 1]);
    } else if (args[i].starts_with(flag + "=")) {
      values.push_back(args[i].substr(flag.size() + 1));
    }
  }
  return values;
}

std::string times(size_t n) { return n == 2 ? "twice" : std::to_string(n) + " times"; }

std::string listed(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += i + 1 == values.size() ? " and " : ", ";
    out += values[i];
  }
  return out;
}

}  // namespace

std::string flag_of(const std::string& key) {
  // The settings whose flag is not their key with "-" for "_"; "training" takes a value
  // (setting("training", "a training step", "train") reads "--mode train").
  static const std::map<std::string, std::string> other = {{"training", "--mode"}};
  const auto it = other.find(key);
  if (it != other.end()) return it->second;
  std::string flag = "--" + key;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::string flag_text(const Error& e) { return e.text(flag_of); }

std::string cli_error_message(const std::string& what, const std::vector<std::string>& args,
                              const std::string& command) {
  const std::string help = command.empty() ? "cnnmem --help" : "cnnmem " + command + " --help";
  std::smatch m;
  static const std::regex repeated(R"(^(-[-\w]+): At Most \d+ required but received (\d+)$)");
  if (std::regex_match(what, m, repeated)) {
    const std::string flag = m[1];
    const std::vector<std::string> values = values_of(flag, args);
    const size_t n = values.size() > 1 ? values.size() : std::stoul(m[2].str());
    return flag + " was given " + times(n) +
           (values.size() > 1 ? " (" + listed(values) + ")" : std::string()) +
           ": give it once, with the value to keep";
  }
  static const std::regex missing_value(R"(^(-[-\w]+): \d+ required \S+ missing$)");
  if (std::regex_match(what, m, missing_value)) {
    return m[1].str() + " needs a value (see " + help + ")";
  }
  static const std::regex unexpected(
      R"(^The following arguments? (?:was|were) not expected: (.*)$)");
  if (std::regex_match(what, m, unexpected)) {
    const std::string words = m[1];
    const std::string where = command.empty() ? "cnnmem" : "cnnmem " + command;
    return (words.find(' ') == std::string::npos ? "unknown argument " : "unknown arguments ") +
           words + " for " + where + " (see " + help + ")";
  }
  static const std::regex excludes(R"(^(-[-\w]+) excludes (-[-\w]+)$)");
  if (std::regex_match(what, m, excludes)) {
    return m[1].str() + " and " + m[2].str() + " cannot be used together: give one of them";
  }
  static const std::regex not_in(R"(^(-[-\w]+): (.*) not in \{(.*)\}$)");
  if (std::regex_match(what, m, not_in)) {
    std::string choices = m[3];
    for (size_t at = choices.find(','); at != std::string::npos; at = choices.find(',', at + 2)) {
      choices.replace(at, 1, ", ");
    }
    return m[1].str() + " " + m[2].str() + ": not one of " + choices;
  }
  return what + " (see " + help + ")";
}

}  // namespace cnnmem
