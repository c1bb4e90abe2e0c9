#include <netkit/train/checkpoint.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <netkit/core/atomic_file.h>
#include <netkit/core/error.h>
#include <netkit/graph/array_json.h>
#include <netkit/train/json_fields.h>
#include <netkit/train/net_train.h>

namespace netkit {

namespace fs = std::filesystem;

namespace {

nlohmann::json arrays_to_json(const std::map<std::string, Array>& arrays) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, a] : arrays) j[key] = array_to_json(a);
  return j;
}

std::map<std::string, Array> arrays_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw FormatError(where, "wrong type", "an object of arrays by key", json_found(j));
  std::map<std::string, Array> out;
  for (const auto& [key, value] : j.items()) out.emplace(key, array_from_json(value, json_pointer_child(where, key)));
  return out;
}

nlohmann::json state_to_json(const NetState& s) {
  return {{"arrays", arrays_to_json(s.arrays)}, {"moving_updates", s.moving_updates}};
}

NetState state_from_json(const nlohmann::json& j, const std::string& where) {
  const JsonFields f(j, where);
  NetState s;
  s.arrays = arrays_from_json(f.value("arrays", "an object of arrays by key"), f.where("arrays"));
  const JsonFields counts = f.object("moving_updates");
  for (const auto& [path, count] : f.value("moving_updates", "").items())
    s.moving_updates[path] = json_integer(count, counts.where(path));
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

// The checks of validate_checkpoint: each throws, located at `path` and a JSON pointer.
class CheckpointChecks {
 public:
  CheckpointChecks(const Checkpoint& c, const ResumeTarget& target, const TrainOptions& o, const std::string& path)
      : c_(c), target_(target), o_(o), path_(path) {}

  void run() const {
    if (c_.seed != o_.seed)
      mismatch("/seed", "the checkpoint is from a run with another seed", std::to_string(o_.seed),
               std::to_string(c_.seed));
    arrays(c_.state, "/state");
    momentum();
    counts();
    results();
    generator();
    if (!c_.net.is_null() && !c_.net.is_object())
      corrupt("/net", "not a model document", "null or an object", json_found(c_.net));
  }

 private:
  std::string at(const std::string& pointer) const { return path_ + " at " + pointer; }
  // The checkpoint contradicts itself.
  [[noreturn]] void corrupt(const std::string& pointer, const std::string& problem, const std::string& expected,
                            const std::string& got) const {
    throw FormatError(at(pointer), problem, expected, got);
  }
  // The checkpoint is fine but not from this net, data or options.
  [[noreturn]] void mismatch(const std::string& pointer, const std::string& problem, const std::string& expected,
                             const std::string& got) const {
    throw TrainingError(at(pointer), problem, expected, got,
                        "Resume with the net, data and options of the run that wrote the checkpoint");
  }

  // Exactly the net's arrays with the net's dims, and a count >= 0 for each layer with moving arrays.
  void arrays(const NetState& state, const std::string& pointer) const {
    std::set<std::string> keys;
    for (const ArrayRef& ref : target_.arrays) {
      keys.insert(ref.key);
      auto it = state.arrays.find(ref.key);
      if (it == state.arrays.end())
        mismatch(pointer + "/arrays", "array " + in_quotes(ref.key) + " missing", "every array of the net",
                 "no such array");
      if (it->second.dims() != ref.value->dims())
        mismatch(json_pointer_child(pointer + "/arrays", ref.key), "dims differ from the net's",
                 "dims " + dims_to_string(ref.value->dims()), "dims " + dims_to_string(it->second.dims()));
    }
    for (const auto& [key, array] : state.arrays)
      if (!keys.count(key))
        mismatch(json_pointer_child(pointer + "/arrays", key), "not an array of the net",
                 std::to_string(keys.size()) + " arrays of the net", in_quotes(key));
    const std::set<std::string> layers(target_.moving_layers.begin(), target_.moving_layers.end());
    for (const auto& [layer, count] : state.moving_updates) {
      const std::string where = json_pointer_child(pointer + "/moving_updates", layer);
      if (!layers.count(layer))
        mismatch(where, "not a layer with moving arrays", std::to_string(layers.size()) + " such layers of the net",
                 in_quotes(layer));
      if (count < 0) corrupt(where, "negative moving-update count", "an integer >= 0", std::to_string(count));
    }
  }

  // A buffer for exactly each trained array (learnable, multiplier not 0) once a step with
  // momentum has been taken, each with its array's dims; none without momentum.
  void momentum() const {
    const std::string pointer = "/optimizer/momentum";
    const bool kept = o_.sgd.momentum != 0;
    std::set<std::string> trained;
    for (const ArrayRef& ref : target_.arrays) {
      if (ref.role != ArrayRole::Learnable || ref.learning_rate_multiplier == 0.0) continue;
      trained.insert(ref.key);
      auto it = c_.momentum.find(ref.key);
      if (it == c_.momentum.end()) {
        if (kept && c_.optimizer_steps > 0)
          mismatch(pointer, "momentum buffer of " + in_quotes(ref.key) + " missing",
                   "one buffer per trained array after a step with momentum", "no such buffer");
        continue;
      }
      if (it->second.dims() != ref.value->dims())
        mismatch(json_pointer_child(pointer, ref.key), "momentum buffer dims differ from the array's",
                 "dims " + dims_to_string(ref.value->dims()), "dims " + dims_to_string(it->second.dims()));
    }
    for (const auto& [key, buffer] : c_.momentum) {
      if (!kept)
        mismatch(json_pointer_child(pointer, key), "momentum buffer in a run without momentum", "no buffers",
                 "a buffer for " + in_quotes(key));
      if (!trained.count(key))
        mismatch(json_pointer_child(pointer, key), "momentum buffer for an array that is not trained",
                 std::to_string(trained.size()) + " trained arrays of the net", in_quotes(key));
    }
  }

  // Round, position and step fit the data size, batch size and planned length, and agree.
  void counts() const {
    const int64_t n = target_.examples, bs = o_.batch_size, per_round = (n + bs - 1) / bs;
    const int64_t rounds = o_.max_steps > 0 ? (o_.max_steps + per_round - 1) / per_round : o_.rounds;
    const std::string batches = " (" + std::to_string(n) + " examples in batches of " + std::to_string(bs) + ")";
    if (c_.round < 0) corrupt("/round", "negative round", "an integer >= 0", std::to_string(c_.round));
    if (c_.position < 0) corrupt("/position", "negative position", "an integer >= 0", std::to_string(c_.position));
    if (c_.step < 0) corrupt("/step", "negative step count", "an integer >= 0", std::to_string(c_.step));
    if (c_.position > per_round)
      mismatch("/position", "position past the end of a round",
               "at most " + std::to_string(per_round) + " batches" + batches, std::to_string(c_.position));
    if (c_.round > rounds)
      mismatch("/round", "round past the end of this run", "at most " + std::to_string(rounds),
               std::to_string(c_.round));
    int64_t expected = 0;
    if (__builtin_mul_overflow(c_.round, per_round, &expected) ||
        __builtin_add_overflow(expected, c_.position, &expected) || c_.step != expected)
      mismatch("/step", "step count does not agree with round and position",
               "round x " + std::to_string(per_round) + " batches + position" + batches, std::to_string(c_.step));
    const int64_t total = o_.max_steps > 0 ? o_.max_steps : rounds * per_round;
    if (c_.step > total)
      mismatch("/step", "step past the end of this run", "at most " + std::to_string(total), std::to_string(c_.step));
    if (c_.optimizer_steps != c_.step)
      corrupt("/optimizer/steps", "optimiser step count differs from the step count", std::to_string(c_.step),
              std::to_string(c_.optimizer_steps));
    if (static_cast<int64_t>(c_.batch_losses.size()) != c_.step)
      corrupt("/results/batch_losses", "one loss per step", std::to_string(c_.step) + " losses",
              std::to_string(c_.batch_losses.size()));
    const int64_t examples = c_.round * n + std::min(c_.position * bs, n);
    if (c_.examples != examples)
      mismatch("/results/examples", "example count does not agree with round and position",
               std::to_string(examples) + batches, std::to_string(c_.examples));
  }

  // One record per completed round, numbered and ending at the right step, with a validation loss
  // exactly when there is validation data; the best round among them.
  void results() const {
    const int64_t per_round = (target_.examples + o_.batch_size - 1) / o_.batch_size;
    if (static_cast<int64_t>(c_.rounds.size()) != c_.round)
      corrupt("/results/rounds", "one record per completed round", std::to_string(c_.round) + " records",
              std::to_string(c_.rounds.size()));
    for (size_t i = 0; i < c_.rounds.size(); ++i) {
      const RoundRecord& r = c_.rounds[i];
      const std::string pointer = "/results/rounds/" + std::to_string(i);
      const int64_t number = static_cast<int64_t>(i) + 1;
      if (r.round != number)
        corrupt(pointer + "/round", "round records out of order", std::to_string(number), std::to_string(r.round));
      if (r.steps != number * per_round)
        mismatch(pointer + "/steps", "round record's step count does not fit this data and batch size",
                 std::to_string(number * per_round), std::to_string(r.steps));
      if (r.validation_loss.has_value() != target_.validation)
        mismatch(pointer + "/validation_loss",
                 target_.validation ? "no validation loss in a run with validation data"
                                    : "a validation loss in a run without validation data",
                 target_.validation ? "a number" : "null",
                 r.validation_loss ? number_text(*r.validation_loss) : "null");
      if (r.seconds < 0) corrupt(pointer + "/seconds", "negative time", "seconds >= 0", number_text(r.seconds));
    }
    if (c_.best_round < 0 || c_.best_round > c_.round)
      corrupt("/results/best_round", "best round out of range",
              "0 (none) to " + std::to_string(c_.round) + " (the completed rounds)", std::to_string(c_.best_round));
    if ((c_.best_round > 0) != c_.best.has_value())
      corrupt("/results/best", c_.best ? "a best net without a best round" : "the best round's net missing",
              c_.best_round > 0 ? "an object" : "null", c_.best ? "an object" : "null");
    const bool keeps_best = o_.keep_best_net && target_.validation;
    if (c_.best && !keeps_best) mismatch("/results/best", "a best net in a run that keeps none", "null", "an object");
    if (keeps_best && c_.round > 0 && c_.best_round == 0)
      mismatch("/results/best_round", "no best round in a run that keeps the best net",
               "1 to " + std::to_string(c_.round), "0");
    if (c_.best) arrays(*c_.best, "/results/best");
    const Accuracy& a = c_.round_accuracy;
    if (a.correct < 0 || a.positions < 0 || a.correct > a.positions)
      corrupt("/results/round_accuracy", "accuracy counts out of range", "0 <= correct <= positions",
              std::to_string(a.correct) + " correct of " + std::to_string(a.positions));
    if (c_.position == 0 && a.positions != 0)
      corrupt("/results/round_accuracy/positions", "accuracy counts at the start of a round", "0",
              std::to_string(a.positions));
    if (c_.seconds < 0) corrupt("/results/seconds", "negative time", "seconds >= 0", number_text(c_.seconds));
  }

  // xoshiro256 never leaves the all-zero state, and a kept normal draw is a number.
  void generator() const {
    const Random::State& s = c_.shuffle_state;
    if (s.s[0] == 0 && s.s[1] == 0 && s.s[2] == 0 && s.s[3] == 0)
      corrupt("/shuffle_state/s", "generator state is all zero", "a state with a nonzero word", "4 zeros");
    if (s.has_spare && !std::isfinite(s.spare))
      corrupt("/shuffle_state/spare_bits", "spare normal draw is not finite", "a finite double", number_text(s.spare));
  }

  const Checkpoint& c_;
  const ResumeTarget& target_;
  const TrainOptions& o_;
  const std::string& path_;
};

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
  const auto format = j.is_object() ? j.find("format") : j.end();
  if (!j.is_object() || format == j.end() || *format != "netkit-checkpoint")
    throw FormatError(where, "not a netkit checkpoint", "\"format\": \"netkit-checkpoint\"",
                      !j.is_object()      ? json_found(j)
                      : format == j.end() ? "no format"
                                          : json_found(*format));
  const JsonFields f(j, where + " at ");  // fields are located by JSON pointer: "<file> at /results/best_round"
  const nlohmann::json& version = f.value("version", std::to_string(kCheckpointVersion));
  if (version != kCheckpointVersion)
    throw FormatError(f.where("version"), "unsupported checkpoint version", std::to_string(kCheckpointVersion),
                      json_found(version));
  Checkpoint c;
  c.seed = f.unsigned_integer("seed");
  c.step = f.integer("step");
  c.round = f.integer("round");
  c.position = f.integer("position");
  const JsonFields shuffle = f.object("shuffle_state");
  const nlohmann::json& words = shuffle.list("s");
  if (words.size() != 4)
    throw FormatError(shuffle.where("s"), "wrong length", "4 state words", std::to_string(words.size()) + " values");
  for (size_t i = 0; i < 4; ++i)
    c.shuffle_state.s[i] = json_unsigned(words[i], shuffle.where("s") + "/" + std::to_string(i));
  c.shuffle_state.has_spare = shuffle.boolean("has_spare");
  c.shuffle_state.spare = double_of(shuffle.unsigned_integer("spare_bits"));
  c.state = state_from_json(f.value("state", "an object"), f.where("state"));
  const JsonFields optimizer = f.object("optimizer");
  c.optimizer_steps = optimizer.integer("steps");
  c.momentum = arrays_from_json(optimizer.value("momentum", "an object of arrays by key"), optimizer.where("momentum"));
  const JsonFields r = f.object("results");
  const nlohmann::json& losses = r.list("batch_losses");
  for (size_t i = 0; i < losses.size(); ++i)
    c.batch_losses.push_back(json_number(losses[i], r.where("batch_losses") + "/" + std::to_string(i)));
  const nlohmann::json& rounds = r.list("rounds");
  for (size_t i = 0; i < rounds.size(); ++i)
    c.rounds.push_back(round_from_json(rounds[i], r.where("rounds") + "/" + std::to_string(i)));
  c.best_round = r.integer("best_round");
  const nlohmann::json& best = r.value("best", "null or an object");
  if (!best.is_null()) c.best = state_from_json(best, r.where("best"));
  c.examples = r.integer("examples");
  c.seconds = r.number("seconds");
  if (r.has("round_accuracy")) {  // absent in checkpoints written before it was kept
    const JsonFields accuracy = r.object("round_accuracy");
    c.round_accuracy.correct = accuracy.integer("correct");
    c.round_accuracy.positions = accuracy.integer("positions");
  }
  if (f.has("net")) c.net = f.value("net", "");
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

void validate_checkpoint(const Checkpoint& c, const ResumeTarget& target, const TrainOptions& options,
                         const std::string& path) {
  CheckpointChecks(c, target, options, path).run();
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
  } catch (const nlohmann::json::parse_error& e) {  // its message would quote the text, possibly kilobytes
    throw FormatError(path, "not JSON (truncated or corrupt)", "a checkpoint document",
                      "a syntax error at byte " + std::to_string(e.byte) + " of " + std::to_string(text.str().size()));
  }
  return checkpoint_from_json(j, path);
}

}  // namespace netkit
