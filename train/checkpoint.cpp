#include <netkit/train/checkpoint.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <netkit/core/atomic_file.h>
#include <netkit/core/error.h>
#include <netkit/graph/array_json.h>

namespace netkit {

namespace fs = std::filesystem;

namespace {

nlohmann::json arrays_to_json(const std::map<std::string, Array>& arrays) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, a] : arrays) j[key] = array_to_json(a);
  return j;
}

std::map<std::string, Array> arrays_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw FormatError(where, "not an object of arrays", "an object", j.type_name());
  std::map<std::string, Array> out;
  for (const auto& [key, value] : j.items()) out.emplace(key, array_from_json(value, where + "/" + key));
  return out;
}

nlohmann::json state_to_json(const NetState& s) {
  return {{"arrays", arrays_to_json(s.arrays)}, {"moving_updates", s.moving_updates}};
}

NetState state_from_json(const nlohmann::json& j, const std::string& where) {
  NetState s;
  s.arrays = arrays_from_json(j.at("arrays"), where + "/arrays");
  s.moving_updates = j.at("moving_updates").get<std::map<std::string, int64_t>>();
  return s;
}

uint64_t bits_of(double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}

double double_of(uint64_t u) {
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
}

std::string file_name(int64_t step) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "checkpoint-%09lld.json", static_cast<long long>(step));
  return buffer;
}

}  // namespace

nlohmann::json checkpoint_to_json(const Checkpoint& c) {
  nlohmann::json rounds = nlohmann::json::array();
  for (const auto& r : c.rounds) rounds.push_back(round_to_json(r));
  const Random::State& s = c.shuffle_state;
  return {{"format", "netkit-checkpoint"},
          {"version", kCheckpointVersion},
          {"seed", c.seed},
          {"step", c.step},
          {"round", c.round},
          {"position", c.position},
          {"shuffle_state",
           {{"s", {s.s[0], s.s[1], s.s[2], s.s[3]}}, {"has_spare", s.has_spare}, {"spare_bits", bits_of(s.spare)}}},
          {"state", state_to_json(c.state)},
          {"optimizer", {{"steps", c.optimizer_steps}, {"momentum", arrays_to_json(c.momentum)}}},
          {"results",
           {{"batch_losses", c.batch_losses},
            {"rounds", rounds},
            {"best_round", c.best_round},
            {"best", c.best ? state_to_json(*c.best) : nlohmann::json()},
            {"examples", c.examples},
            {"seconds", c.seconds},
            {"round_accuracy", {{"correct", c.round_accuracy.correct}, {"positions", c.round_accuracy.positions}}}}},
          {"net", c.net}};
}

Checkpoint checkpoint_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || j.value("format", "") != "netkit-checkpoint")
    throw FormatError(where, "not a netkit checkpoint", "\"format\": \"netkit-checkpoint\"",
                      j.is_object() && j.contains("format") ? j["format"].dump() : "no format");
  if (j.value("version", 0) != kCheckpointVersion)
    throw FormatError(where + "/version", "unsupported checkpoint version", std::to_string(kCheckpointVersion),
                      j.contains("version") ? j["version"].dump() : "none");
  Checkpoint c;
  try {
    c.seed = j.at("seed").get<uint64_t>();
    c.step = j.at("step").get<int64_t>();
    c.round = j.at("round").get<int64_t>();
    c.position = j.at("position").get<int64_t>();
    const auto& s = j.at("shuffle_state");
    for (size_t i = 0; i < 4; ++i) c.shuffle_state.s[i] = s.at("s").at(i).get<uint64_t>();
    c.shuffle_state.has_spare = s.at("has_spare").get<bool>();
    c.shuffle_state.spare = double_of(s.at("spare_bits").get<uint64_t>());
    c.state = state_from_json(j.at("state"), where + "/state");
    c.optimizer_steps = j.at("optimizer").at("steps").get<int64_t>();
    c.momentum = arrays_from_json(j.at("optimizer").at("momentum"), where + "/optimizer/momentum");
    const auto& r = j.at("results");
    c.batch_losses = r.at("batch_losses").get<std::vector<double>>();
    for (size_t i = 0; i < r.at("rounds").size(); ++i)
      c.rounds.push_back(round_from_json(r["rounds"][i], where + "/results/rounds/" + std::to_string(i)));
    c.best_round = r.at("best_round").get<int64_t>();
    if (!r.at("best").is_null()) c.best = state_from_json(r["best"], where + "/results/best");
    c.examples = r.at("examples").get<int64_t>();
    c.seconds = r.at("seconds").get<double>();
    if (r.contains("round_accuracy")) {  // absent in checkpoints written before it was kept
      c.round_accuracy.correct = r["round_accuracy"].at("correct").get<int64_t>();
      c.round_accuracy.positions = r["round_accuracy"].at("positions").get<int64_t>();
    }
    c.net = j.value("net", nlohmann::json());
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(where, "malformed checkpoint", "every field of a version-1 checkpoint", e.what());
  }
  return c;
}

std::vector<std::string> list_checkpoints(const std::string& directory) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("checkpoint-", 0) == 0 && name.size() == 25 && name.substr(20) == ".json")
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());  // zero-padded steps sort by name
  return files;
}

std::string write_checkpoint(const std::string& directory, const Checkpoint& c, int64_t keep) {
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec)
    throw TrainingError("NetTrain, checkpoint directory " + in_quotes(directory), "cannot be created",
                        "a writable directory", ec.message());
  const fs::path path = fs::path(directory) / file_name(c.step);
  const AtomicWriteResult result = write_file_atomically(path.string(), checkpoint_to_json(c).dump());
  if (result.status == AtomicWrite::WriteFailed)
    throw TrainingError("NetTrain, checkpoint " + in_quotes(result.temp), "cannot be written", "a writable file",
                        write_error_cause(result.error));
  if (result.status == AtomicWrite::RenameFailed)
    throw TrainingError("NetTrain, checkpoint " + in_quotes(path.string()), "cannot be renamed into place",
                        "a writable directory", write_error_cause(result.error));
  std::vector<std::string> files = list_checkpoints(directory);
  for (size_t i = 0; i + static_cast<size_t>(std::max<int64_t>(keep, 1)) < files.size(); ++i) fs::remove(files[i], ec);
  return path.string();
}

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw OptionError("NetTrain, checkpoint " + in_quotes(path), "cannot be opened", "a readable file", "no such file");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, "not JSON", "a checkpoint document", e.what());
  }
  return checkpoint_from_json(j, path);
}

}  // namespace netkit
