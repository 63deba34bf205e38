#include "io/training_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "framework/error.h"
#include "io/atomic_file.h"

namespace cnnmem {
namespace {

constexpr const char* kFormat = "cnnmem-training-state";
constexpr const char* kVersion = "1";
constexpr const char* kLossesName = "trainer.losses";
constexpr const char* kConfigPrefix = "config.";

// FNV-1a, 64 bits.
class Fnv1a64 {
 public:
  void add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      hash_ ^= p[i];
      hash_ *= 0x100000001b3ULL;
    }
  }
  void add(const std::string& s) { add(s.data(), s.size() + 1); }  // with the terminating 0
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// Of every tensor (name, shape, data; in name order) and every metadata entry but the checksum.
std::string checksum(const std::vector<NamedTensor>& tensors,
                     const std::map<std::string, std::string>& metadata) {
  const std::vector<const NamedTensor*> order = by_name(tensors);
  Fnv1a64 h;
  for (const NamedTensor* t : order) {
    h.add(t->name);
    const auto rank = static_cast<int64_t>(t->shape.size());
    h.add(&rank, sizeof rank);
    h.add(t->shape.data(), t->shape.size() * sizeof(int64_t));
    h.add(t->data.data(), t->data.size() * sizeof(float));
  }
  for (const auto& [key, value] : metadata) {
    if (key == "checksum") continue;
    h.add(key);
    h.add(value);
  }
  char text[32];
  std::snprintf(text, sizeof text, "fnv1a64:%016llx", static_cast<unsigned long long>(h.value()));
  return text;
}

// The test hook: sleep between the complete temporary file and the rename.
void pause_for_tests() {
  const char* ms = std::getenv("CNNMEM_TEST_PAUSE_IN_SAVE_MS");
  if (ms == nullptr) return;
  const long n = std::strtol(ms, nullptr, 10);
  if (n > 0) std::this_thread::sleep_for(std::chrono::milliseconds(n));
}

int64_t metadata_int(const SafetensorsFile& f, const std::string& key, const std::string& path) {
  const auto it = f.metadata.find(key);
  const std::string bad = "training state " + path + ": metadata \"" + key + "\" ";
  if (it == f.metadata.end()) {
    throw Error(bad + "is missing; the file was not written by a training run with " +
                setting("state_dir"));
  }
  const std::string& v = it->second;
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < 0) {
    throw Error(bad + "is not a whole number; the file is corrupt: start again without " +
                setting("resume"));
  }
  return n;
}

}  // namespace

std::string training_state_path(const std::string& dir) {
  return (std::filesystem::path(dir) / "state.safetensors").string();
}

void write_training_state(const std::string& dir, const TrainingState& state) {
  std::vector<NamedTensor> tensors = state.weights;
  nlohmann::json optimizer_names = nlohmann::json::array();
  for (const NamedTensor& t : state.optimizer_state) {
    tensors.push_back(t);
    optimizer_names.push_back(t.name);
  }
  tensors.push_back(
      NamedTensor{kLossesName, {static_cast<int64_t>(state.losses.size())}, state.losses});
  std::map<std::string, std::string> metadata = {
      {"format", kFormat},
      {"version", kVersion},
      {"steps", std::to_string(state.steps)},
      {"epoch", std::to_string(state.epoch)},
      {"step_in_epoch", std::to_string(state.step_in_epoch)},
      {"rng", state.rng},
      {"optimizer_step", std::to_string(state.optimizer_step)},
      {"executor_steps", std::to_string(state.executor_steps)},
      {"optimizer_state", optimizer_names.dump()},
  };
  for (const auto& [key, value] : state.config) metadata[kConfigPrefix + key] = value;
  metadata["checksum"] = checksum(tensors, metadata);

  const std::string path = training_state_path(dir);
  const std::string tmp = path + ".tmp";
  write_safetensors(tmp, tensors, metadata);  // complete and fsynced, or absent
  pause_for_tests();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error("training state: cannot rename " + tmp + " to " + path + " (" + std::strerror(err) +
                "); check that " + dir + " is writable");
  }
  sync_directory(dir, "training state");
}

TrainingState read_training_state(const std::string& dir) {
  const std::string path = training_state_path(dir);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw Error(setting("resume") + " " + dir + ": no training state there (" + path +
                " not found); start the run with " + setting("state_dir") + " " + dir +
                " first, or drop " + setting("resume"));
  }
  SafetensorsFile f;
  try {
    f = read_safetensors(path);
  } catch (const Error& e) {
    throw Error("training state " + path + " is corrupt or truncated (" + e.marked() +
                "); start again without " + setting("resume"));
  }
  const auto format = f.metadata.find("format");
  if (format == f.metadata.end() || format->second != kFormat) {
    throw Error("training state " + path +
                " is not a cnnmem training state (no format \"cnnmem-training-state\" in its "
                "metadata); point " +
                setting("resume") + " at a " + setting("state_dir") + " of a training run");
  }
  const auto version = f.metadata.find("version");
  if (version == f.metadata.end() || version->second != kVersion) {
    throw Error("training state " + path + " has an unknown version; resume it with the cnnmem " +
                "that wrote it, or start again without " + setting("resume"));
  }
  const auto sum = f.metadata.find("checksum");
  if (sum == f.metadata.end() || sum->second != checksum(f.tensors, f.metadata)) {
    throw Error("training state " + path +
                " fails its checksum: the file is corrupt; start again without " +
                setting("resume"));
  }

  TrainingState s;
  s.steps = metadata_int(f, "steps", path);
  s.epoch = metadata_int(f, "epoch", path);
  s.step_in_epoch = metadata_int(f, "step_in_epoch", path);
  s.optimizer_step = metadata_int(f, "optimizer_step", path);
  s.executor_steps = metadata_int(f, "executor_steps", path);
  const auto rng = f.metadata.find("rng");
  s.rng = rng == f.metadata.end() ? "" : rng->second;
  for (const auto& [key, value] : f.metadata) {
    if (key.rfind(kConfigPrefix, 0) == 0) {
      s.config.emplace_back(key.substr(std::strlen(kConfigPrefix)), value);
    }
  }
  const nlohmann::json names =
      nlohmann::json::parse(f.metadata["optimizer_state"], nullptr, /*allow_exceptions=*/false);
  if (!names.is_array()) {
    throw Error("training state " + path +
                ": metadata \"optimizer_state\" is not a list of names; the file is corrupt");
  }
  auto is_optimizer_state = [&names](const std::string& name) {
    return std::any_of(names.begin(), names.end(), [&name](const nlohmann::json& n) {
      return n.is_string() && n.get<std::string>() == name;
    });
  };
  bool have_losses = false;
  for (NamedTensor& t : f.tensors) {
    if (t.name == kLossesName) {
      have_losses = true;
      s.losses = std::move(t.data);
    } else if (is_optimizer_state(t.name)) {
      s.optimizer_state.push_back(std::move(t));
    } else {
      s.weights.push_back(std::move(t));
    }
  }
  if (!have_losses || static_cast<int64_t>(s.losses.size()) != s.steps ||
      s.optimizer_state.size() != names.size()) {
    throw Error("training state " + path +
                ": its losses or optimizer state do not match its step count; the file is "
                "corrupt: start again without " +
                setting("resume"));
  }
  return s;
}

void check_same_config(const TrainingState& saved, const TrainingConfig& config,
                       const std::string& dir) {
  std::map<std::string, std::string> have(saved.config.begin(), saved.config.end());
  for (const auto& [key, value] : config) {
    const auto it = have.find(key);
    const std::string was = it == have.end() ? "(none)" : it->second;
    if (was != value) {
      throw Error(setting("resume") + " " + dir + ": the state was saved with " + key + " " + was +
                  ", this run has " + key + " " + value +
                  "; resume with the saved run's settings, or use a new " + setting("state_dir"));
    }
    if (it != have.end()) have.erase(it);
  }
  if (!have.empty()) {
    throw Error(setting("resume") + " " + dir + ": the state was saved with " +
                have.begin()->first + " " + have.begin()->second +
                ", which this run does not set; resume with the saved run's settings");
  }
}

}  // namespace cnnmem
