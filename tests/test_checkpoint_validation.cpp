// Resuming from a corrupt or foreign checkpoint: every field is checked against the net, the data
// and the options before anything is restored from it or indexed with it, and the error names the
// file, the JSON pointer, what was expected and what was found. Each corruption is resumed through
// NetTrain with a progress callback that fails the test if a step runs. The committed fuzz corpus
// (tests/fuzz_corpus/checkpoint) holds these corrupt checkpoints; set NETKIT_WRITE_CHECKPOINT_CORPUS
// to a directory to write them there.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <typeinfo>

#include <netkit/core/error.h>
#include <netkit/train/checkpoint.h>
#include <netkit/train/net_train.h>
#include "tests/support/fixtures.h"
#include "tests/test_train_support.h"
#include "tools/fuzz/checkpoint_fuzz_run.h"

using namespace netkit;
using namespace netkit::test;
using namespace netkit::fuzz;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using json = nlohmann::json;

namespace {

const std::string kCorpus = std::string(NETKIT_SOURCE_DIR) + "/tests/fuzz_corpus/checkpoint";

// The checkpoint of the fuzz run after `steps` steps (4: round 2, batch 1), its times zeroed so
// that it is the same on every run.
json checkpoint_after(int64_t steps) {
  TempDir dir("validation-base");
  TrainOptions o = checkpoint_fuzz_options();
  o.checkpoints.directory = dir.path;
  o.checkpoints.every_batches = 1;
  o.max_steps = steps;
  net_train(checkpoint_fuzz_net(), checkpoint_fuzz_data(), o);
  json j = json::parse(read_text(list_checkpoints(dir.path).back()));
  j["results"]["seconds"] = 0;
  for (auto& r : j["results"]["rounds"]) r["seconds"] = 0;
  return j;
}

struct Refusal {
  std::string type, message;
};

// Resumes the fuzz run from `text`; what it was refused with (type "none" when it was not).
Refusal resume(const std::string& path, const std::string& text) {
  write_text(path, text);
  TrainOptions o = checkpoint_fuzz_options();
  o.resume_from = path;
  o.progress = [](const Progress&) {
    FAIL("a step ran from a checkpoint that should have been refused");
    return false;
  };
  try {
    net_train(checkpoint_fuzz_net(), checkpoint_fuzz_data(), o);
  } catch (const FormatError& e) {
    return {"FormatError", e.what()};
  } catch (const TrainingError& e) {
    return {"TrainingError", e.what()};
  }
  return {"none", ""};
}

struct Corruption {
  std::string name;  // the corpus file is broken_<name>.json
  std::function<void(json&)> apply;
  std::string type;
  std::string message;  // after "<file> at "
};

const std::string kMismatchHint = ". Resume with the net, data and options of the run that wrote the checkpoint";
const std::string kLin = "net~1lin~1Weights";  // the key "net/lin/Weights" as a JSON pointer token

std::vector<Corruption> corruptions() {
  auto set = [](const std::string& pointer, json value) {
    return [pointer, value](json& j) { j[json::json_pointer(pointer)] = value; };
  };
  auto erase = [](const std::string& parent, const std::string& key) {
    return [parent, key](json& j) { j[json::json_pointer(parent)].erase(key); };
  };
  const json small_array = {{"dtype", "float32"}, {"shape", {2}}, {"data", "AAAAAAAAAAA="}};
  const json big_array = {{"dtype", "float32"}, {"shape", {30, 4}}, {"data", json::array()}};
  json big = big_array;
  for (int i = 0; i < 120; ++i) big["data"].push_back(0.5);
  return {
      // The crashes and overflows: caught before a batch is indexed or a buffer is written.
      {"negative_position", set("/position", -2), "FormatError",
       "/position: negative position; expected an integer >= 0, got -2"},
      {"huge_position", set("/position", int64_t(1) << 40), "TrainingError",
       "/position: position past the end of a round; expected at most 3 batches (9 examples in batches of 4), got "
       "1099511627776" +
           kMismatchHint},
      {"position_minus_2_62", set("/position", -(int64_t(1) << 62)), "FormatError",
       "/position: negative position; expected an integer >= 0, got -4611686018427387904"},
      {"momentum_wrong_dims", set("/optimizer/momentum/" + kLin, small_array), "TrainingError",
       "/optimizer/momentum/" + kLin +
           ": momentum buffer dims differ from the array's; expected dims [3, 4], got dims [2]" + kMismatchHint},
      {"momentum_oversized", set("/optimizer/momentum/" + kLin, big), "TrainingError",
       "/optimizer/momentum/" + kLin +
           ": momentum buffer dims differ from the array's; expected dims [3, 4], got dims [30, 4]" + kMismatchHint},
      // Those that trained on to exit 0.
      {"negative_round", set("/round", -1), "FormatError", "/round: negative round; expected an integer >= 0, got -1"},
      {"momentum_missing", erase("/optimizer/momentum", "net/lin/Weights"), "TrainingError",
       "/optimizer/momentum: momentum buffer of \"net/lin/Weights\" missing; expected one buffer per trained array "
       "after a step with momentum, got no such buffer" +
           kMismatchHint},
      {"momentum_unknown_key", set("/optimizer/momentum/net~1lin~1Other", small_array), "TrainingError",
       "/optimizer/momentum/net~1lin~1Other: momentum buffer for an array that is not trained; expected 4 trained "
       "arrays of the net, got \"net/lin/Other\"" +
           kMismatchHint},
      {"best_round_1000", set("/results/best_round", 1000), "FormatError",
       "/results/best_round: best round out of range; expected 0 (none) to 1 (the completed rounds), got 1000"},
      {"negative_best_round", set("/results/best_round", -1), "FormatError",
       "/results/best_round: best round out of range; expected 0 (none) to 1 (the completed rounds), got -1"},
      {"best_without_round", set("/results/best_round", 0), "FormatError",
       "/results/best: a best net without a best round; expected null, got an object"},
      {"best_missing", set("/results/best", nullptr), "FormatError",
       "/results/best: the best round's net missing; expected an object, got null"},
      {"round_past_end", set("/round", 7), "TrainingError",
       "/round: round past the end of this run; expected at most 3, got 7" + kMismatchHint},
      {"step_disagrees", set("/step", 5), "TrainingError",
       "/step: step count does not agree with round and position; expected round x 3 batches + position (9 examples "
       "in batches of 4), got 5" +
           kMismatchHint},
      {"negative_step", set("/step", -4), "FormatError",
       "/step: negative step count; expected an integer >= 0, got -4"},
      {"optimizer_steps", set("/optimizer/steps", 400), "FormatError",
       "/optimizer/steps: optimiser step count differs from the step count; expected 4, got 400"},
      {"batch_losses_short", set("/results/batch_losses", json::array({1.0})), "FormatError",
       "/results/batch_losses: one loss per step; expected 4 losses, got 1"},
      {"examples", set("/results/examples", 123), "TrainingError",
       "/results/examples: example count does not agree with round and position; expected 13 (9 examples in batches "
       "of 4), got 123" +
           kMismatchHint},
      {"rounds_missing", set("/results/rounds", json::array()), "FormatError",
       "/results/rounds: one record per completed round; expected 1 records, got 0"},
      {"round_number", set("/results/rounds/0/round", 2), "FormatError",
       "/results/rounds/0/round: round records out of order; expected 1, got 2"},
      {"round_steps", set("/results/rounds/0/steps", 9), "TrainingError",
       "/results/rounds/0/steps: round record's step count does not fit this data and batch size; expected 3, got 9" +
           kMismatchHint},
      {"round_no_validation", set("/results/rounds/0/validation_loss", nullptr), "TrainingError",
       "/results/rounds/0/validation_loss: no validation loss in a run with validation data; expected a number, got "
       "null" +
           kMismatchHint},
      {"round_negative_seconds", set("/results/rounds/0/seconds", -1), "FormatError",
       "/results/rounds/0/seconds: negative time; expected seconds >= 0, got -1"},
      {"negative_seconds", set("/results/seconds", -1), "FormatError",
       "/results/seconds: negative time; expected seconds >= 0, got -1"},
      {"accuracy_counts", set("/results/round_accuracy/correct", 9), "FormatError",
       "/results/round_accuracy: accuracy counts out of range; expected 0 <= correct <= positions, got 9 correct of 4"},
      {"seed", set("/seed", 6), "TrainingError",
       "/seed: the checkpoint is from a run with another seed; expected 5, got 6" + kMismatchHint},
      {"array_wrong_dims", set("/state/arrays/" + kLin, small_array), "TrainingError",
       "/state/arrays/" + kLin + ": dims differ from the net's; expected dims [3, 4], got dims [2]" + kMismatchHint},
      {"array_missing", erase("/state/arrays", "net/lin/Weights"), "TrainingError",
       "/state/arrays: array \"net/lin/Weights\" missing; expected every array of the net, got no such array" +
           kMismatchHint},
      {"array_unknown", set("/state/arrays/extra", small_array), "TrainingError",
       "/state/arrays/extra: not an array of the net; expected 6 arrays of the net, got \"extra\"" + kMismatchHint},
      {"best_array_wrong_dims", set("/results/best/arrays/" + kLin, small_array), "TrainingError",
       "/results/best/arrays/" + kLin + ": dims differ from the net's; expected dims [3, 4], got dims [2]" +
           kMismatchHint},
      {"moving_count_negative", set("/state/moving_updates/net~1bn", -3), "FormatError",
       "/state/moving_updates/net~1bn: negative moving-update count; expected an integer >= 0, got -3"},
      {"moving_count_unknown_layer", set("/state/moving_updates/net~1lin", 3), "TrainingError",
       "/state/moving_updates/net~1lin: not a layer with moving arrays; expected 1 such layers of the net, got "
       "\"net/lin\"" +
           kMismatchHint},
      {"generator_zero", set("/shuffle_state/s", json::array({0, 0, 0, 0})), "FormatError",
       "/shuffle_state/s: generator state is all zero; expected a state with a nonzero word, got 4 zeros"},
      {"net_not_object", set("/net", 3), "FormatError",
       "/net: not a model document; expected null or an object, got a number (3)"},
      // Wrong types: located, without the JSON library's own text.
      {"step_string", set("/step", "4"), "FormatError",
       "/step: wrong type; expected a 64-bit integer, got a string (\"4\")"},
      {"position_fraction", set("/position", 1.5), "FormatError",
       "/position: wrong type; expected a 64-bit integer, got a number (1.5)"},
      {"seed_negative", set("/seed", -5), "FormatError",
       "/seed: wrong type; expected an unsigned 64-bit integer, got a number (-5)"},
      {"round_too_big", set("/round", uint64_t(1) << 63), "FormatError",
       "/round: wrong type; expected a 64-bit integer, got a number (9223372036854775808)"},
      {"results_missing", erase("", "results"), "FormatError",
       "/results: missing field; expected an object, got no such field"},
      {"loss_string", set("/results/batch_losses/2", "x"), "FormatError",
       "/results/batch_losses/2: wrong type; expected a finite number, got a string (\"x\")"},
      {"state_list", set("/state", json::array()), "FormatError", "/state: wrong type; expected an object, got a list"},
      {"has_spare_number", set("/shuffle_state/has_spare", 1), "FormatError",
       "/shuffle_state/has_spare: wrong type; expected true or false, got a number (1)"},
      {"state_words", set("/shuffle_state/s", json::array({1, 2})), "FormatError",
       "/shuffle_state/s: wrong length; expected 4 state words, got 2 values"},
      {"moving_count_string", set("/state/moving_updates/net~1bn", "3"), "FormatError",
       "/state/moving_updates/net~1bn: wrong type; expected a 64-bit integer, got a string (\"3\")"},
      {"round_loss_null", set("/results/rounds/0/training_loss", nullptr), "FormatError",
       "/results/rounds/0/training_loss: wrong type; expected a finite number, got null"},
      {"long_string", set("/step", std::string(3000, 'A')), "FormatError",
       "/step: wrong type; expected a 64-bit integer, got a string (\"" + std::string(45, 'A') + "...)"},
      {"version_2", set("/version", 2), "FormatError",
       "/version: unsupported checkpoint version; expected 1, got a number (2)"},
      {"version_string", set("/version", "1"), "FormatError",
       "/version: unsupported checkpoint version; expected 1, got a string (\"1\")"},
  };
}

}  // namespace

TEST_CASE("Checkpoint validation: every corruption is refused before a step, located by file and JSON pointer",
          "[train][checkpoint_validation]") {
  const json base = checkpoint_after(4);
  REQUIRE(base["round"] == 1);
  REQUIRE(base["position"] == 1);
  TempDir dir("validation");
  std::filesystem::create_directories(dir.path);
  const char* corpus_out = std::getenv("NETKIT_WRITE_CHECKPOINT_CORPUS");
  for (const Corruption& c : corruptions()) {
    CAPTURE(c.name);
    json j = base;
    c.apply(j);
    const std::string path = dir.path + "/" + c.name + ".json";
    const Refusal r = resume(path, j.dump());
    CHECK(r.type == c.type);
    CHECK_THAT(r.message, Equals(path + " at " + c.message));
    CHECK_THAT(r.message, !Contains("json.exception"));
    if (corpus_out) write_text(std::string(corpus_out) + "/broken_" + c.name + ".json", j.dump());
  }
  if (corpus_out)
    for (int64_t steps : {3, 4})
      write_text(std::string(corpus_out) + "/valid_step_" + std::to_string(steps) + ".json",
                 checkpoint_after(steps).dump());
  // The base itself resumes and finishes the run.
  const std::string path = dir.path + "/base.json";
  write_text(path, base.dump());
  TrainOptions o = checkpoint_fuzz_options();
  o.resume_from = path;
  CHECK(net_train(checkpoint_fuzz_net(), checkpoint_fuzz_data(), o).steps == 9);
}

TEST_CASE("Checkpoint validation: a truncated or non-JSON checkpoint gives one short line",
          "[train][checkpoint_validation]") {
  TempDir dir("validation-truncated");
  std::filesystem::create_directories(dir.path);
  const std::string text = checkpoint_after(4).dump();
  const std::string path = dir.path + "/truncated.json";
  const Refusal r = resume(path, text.substr(0, text.size() / 2));
  CHECK(r.type == "FormatError");
  CHECK_THAT(r.message, Equals(path +
                               ": not JSON (truncated or corrupt); expected a checkpoint document, got a syntax "
                               "error at byte " +
                               std::to_string(text.size() / 2 + 1) + " of " + std::to_string(text.size() / 2)));
  CHECK_THAT(resume(path, "[1, 2]").message,
             Equals(path + ": not a netkit checkpoint; expected \"format\": \"netkit-checkpoint\", got a list"));
  CHECK_THAT(resume(path, "{\"format\": 7}").message,
             Equals(path + ": not a netkit checkpoint; expected \"format\": \"netkit-checkpoint\", got a number (7)"));
}

TEST_CASE("Checkpoint validation: every committed corrupt checkpoint of the fuzz corpus is refused",
          "[train][checkpoint_validation]") {
  TempDir dir("validation-corpus");
  std::filesystem::create_directories(dir.path);
  int broken = 0, valid = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kCorpus)) {
    const std::string name = entry.path().filename().string();
    CAPTURE(name);
    if (name.rfind("broken_", 0) == 0) {
      ++broken;
      const Refusal r = resume(dir.path + "/" + name, read_text(entry.path().string()));
      CHECK(r.type != "none");
      CHECK_THAT(r.message, !Contains("json.exception"));
    } else if (name.rfind("valid_", 0) == 0) {
      ++valid;
      TrainOptions o = checkpoint_fuzz_options();
      o.resume_from = entry.path().string();
      CHECK(net_train(checkpoint_fuzz_net(), checkpoint_fuzz_data(), o).steps == 9);
    }
  }
  CHECK(broken == static_cast<int>(corruptions().size()));
  CHECK(valid == 2);
}

TEST_CASE("SGD refuses a momentum buffer of the wrong dims instead of writing past it",
          "[train][checkpoint_validation]") {
  Array w = Array::zeros({3, 4}), g = Array::filled({3, 4}, 1.0f);
  ArrayRef ref;
  ref.key = "net/lin/Weights";
  ref.value = &w;
  ref.gradient = ArrayView(g);
  Sgd sgd({0.1, 0.9, false, 0.0, 0.0});
  sgd.set_state({{"net/lin/Weights", Array::zeros({2})}}, 1);
  CHECK_THROWS_WITH(sgd.step({ref}, 0.1),
                    Equals("NetTrain, array \"net/lin/Weights\": momentum buffer does not match the array; expected "
                           "dims [3, 4], got dims [2]"));
  CHECK(w[0] == 0.0f);  // nothing was updated
}
