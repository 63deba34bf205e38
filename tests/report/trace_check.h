// Checks a JSON document against the Trace Event Format (the JSON object form that
// chrome://tracing and Perfetto load) as cnnmem writes it, and returns what the checks found so
// that a test can compare it with the step's numbers.
//
// Per event: "ph" and "name" strings, integer "pid"; "tid" integer; "ts" a number >= 0 except for
// metadata; X: "dur" >= 0; C: "args" an object of non-negative numbers; i: "s" one of g/p/t;
// M: process_name/thread_name with args.name. Timestamps never go back; slices do not overlap.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cnnmem::test {

struct TraceSummary {
  int slices = 0;                        // "X" events
  std::vector<std::string> slice_names;  // in order
  std::map<std::string, int> counters;   // counter name -> samples
  int64_t max_counter_sum = 0;           // max over sample times of the sum of all counters
  int instants = 0;                      // "i" events
  nlohmann::json peak;                   // the instant's args
  bool process_named = false, thread_named = false;
};

// Reads keys only after checking them (a const json's operator[] on a missing key is undefined).
// Fills `out`; call as ASSERT_NO_FATAL_FAILURE(check_trace(trace, &summary)).
inline void check_trace(const nlohmann::json& t, TraceSummary* out) {
  TraceSummary& s = *out;
  ASSERT_TRUE(t.is_object());
  ASSERT_TRUE(t.contains("traceEvents") && t["traceEvents"].is_array()) << "no traceEvents array";
  double last_ts = 0, slice_end = 0;
  std::map<std::string, int64_t> current;  // counter values at the latest time
  double sample_ts = -1;
  const auto close_sample = [&] {
    int64_t sum = 0;
    for (const auto& [name, v] : current) sum += v;
    s.max_counter_sum = std::max(s.max_counter_sum, sum);
  };
  for (const nlohmann::json& e : t["traceEvents"]) {
    SCOPED_TRACE(e.dump());
    ASSERT_TRUE(e.is_object());
    ASSERT_TRUE(e.contains("ph") && e["ph"].is_string());
    ASSERT_TRUE(e.contains("name") && e["name"].is_string());
    ASSERT_TRUE(e.contains("pid") && e["pid"].is_number_integer());
    ASSERT_TRUE(e.contains("tid") && e["tid"].is_number_integer());
    const std::string ph = e["ph"];
    if (ph == "M") {
      ASSERT_TRUE(e.contains("args") && e["args"].is_object() && e["args"].contains("name") &&
                  e["args"]["name"].is_string());
      if (e["name"] == "process_name") s.process_named = true;
      if (e["name"] == "thread_name") s.thread_named = true;
      continue;
    }
    ASSERT_TRUE(e.contains("ts") && e["ts"].is_number());
    const double ts = e["ts"];
    EXPECT_GE(ts, 0);
    EXPECT_GE(ts, last_ts) << "timestamps go back";
    last_ts = ts;
    if (ph == "X") {
      ASSERT_TRUE(e.contains("dur") && e["dur"].is_number());
      EXPECT_GE(e["dur"].get<double>(), 0);
      EXPECT_GE(ts, slice_end) << "slices overlap";
      slice_end = ts + e["dur"].get<double>();
      ASSERT_TRUE(e.contains("cat") && e["cat"].is_string());
      ASSERT_TRUE(e.contains("args") && e["args"].is_object());
      const nlohmann::json& args = e["args"];
      ASSERT_TRUE(args.contains("op_index") && args["op_index"].is_number_integer());
      EXPECT_EQ(args["op_index"], s.slices);
      ASSERT_TRUE(args.contains("flops") && args["flops"].is_number());
      ASSERT_TRUE(args.contains("phase"));
      EXPECT_EQ(args["phase"], e["cat"]);
      s.slice_names.push_back(e["name"]);
      ++s.slices;
    } else if (ph == "C") {
      ASSERT_TRUE(e.contains("args") && e["args"].is_object() && !e["args"].empty());
      if (ts != sample_ts) {
        close_sample();
        sample_ts = ts;
      }
      for (const auto& [key, v] : e["args"].items()) {
        ASSERT_TRUE(v.is_number()) << key;
        EXPECT_GE(v.get<double>(), 0) << "negative counter " << e["name"];
        current[e["name"].get<std::string>() + "/" + key] = v.get<int64_t>();
      }
      ++s.counters[e["name"]];
    } else if (ph == "i") {
      ASSERT_TRUE(e.contains("s") && e["s"].is_string());
      const std::string scope = e["s"];
      EXPECT_TRUE(scope == "g" || scope == "p" || scope == "t") << scope;
      ASSERT_TRUE(e.contains("args") && e["args"].is_object());
      s.peak = e["args"];
      ++s.instants;
    } else {
      ADD_FAILURE() << "unexpected phase " << ph;
    }
  }
  close_sample();
}

}  // namespace cnnmem::test
