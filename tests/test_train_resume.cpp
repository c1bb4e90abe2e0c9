// Checkpoints: atomic files, the last K kept, and resuming: a run interrupted after k batches
// and resumed from its checkpoint ends bit-identical to an uninterrupted run.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <netkit/core/error.h>
#include <netkit/graph/net_json.h>
#include <netkit/train/checkpoint.h>
#include <netkit/train/net_train.h>
#include "tests/support/golden.h"
#include "tests/test_train_support.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;

namespace {

TrainOptions resumable(const std::string& dir) {
  TrainOptions o;
  o.batch_size = 16;
  o.rounds = 3;
  o.seed = 11;
  o.sgd = {0.05, 0.9, true, 1e-3, 0.0};
  o.schedule = LearningRateSchedule::cosine();
  o.validation_fraction = 0.2;
  o.keep_best_net = true;
  o.checkpoints.directory = dir;
  o.checkpoints.keep = 2;
  return o;
}

void check_same(const TrainResults& a, const TrainResults& b) {
  for (const auto& [name, path] : cnn_arrays())
    NETKIT_CHECK_REPORT(bit_difference_report(name, a.net.array(path), b.net.array(path)));
  CHECK(a.batch_losses == b.batch_losses);
  REQUIRE(a.rounds.size() == b.rounds.size());
  for (size_t i = 0; i < a.rounds.size(); ++i) {
    CHECK(a.rounds[i].training_loss == b.rounds[i].training_loss);
    CHECK(a.rounds[i].validation_loss == b.rounds[i].validation_loss);
  }
  CHECK(a.steps == b.steps);
  CHECK(a.best_round == b.best_round);
  REQUIRE(a.best_net);
  REQUIRE(b.best_net);
  NETKIT_CHECK_REPORT(
      bit_difference_report("best", a.best_net->array({"lin", "Weights"}), b.best_net->array({"lin", "Weights"})));
}

}  // namespace

TEST_CASE("Resume after k batches is bit-identical to an uninterrupted run", "[train][train_resume]") {
  const TrainingData data = block_images(60, 21);                // 48 trained on: 3 batches per round, 9 steps
  const Net net = small_cnn({{"MovingAverage", "Cumulative"}});  // the update count must survive too
  TempDir full_dir("resume-full"), dir("resume-part");
  const TrainResults full = net_train(net, data, resumable(full_dir.path));
  for (int64_t k : {2, 3, 7}) {
    CAPTURE(k);
    std::filesystem::remove_all(dir.path);
    TrainOptions o = resumable(dir.path);
    o.checkpoints.every_batches = 1;
    o.progress = [k](const Progress& p) { return !(p.event == Progress::Event::Batch && p.step == k); };
    const TrainResults part = net_train(net, data, o);
    CHECK(part.steps == k);
    const std::vector<std::string> files = list_checkpoints(dir.path);
    REQUIRE(files.size() == 2);  // keep 2
    CHECK(files.back().find("checkpoint-" + std::string(9 - std::to_string(k).size(), '0') + std::to_string(k)) !=
          std::string::npos);
    // The checkpoint also opens as a model: the net as it was after step k.
    const Checkpoint c = read_checkpoint(files.back());
    const Net saved = net_from_json(c.net);
    NETKIT_CHECK_REPORT(
        bit_difference_report("saved net", saved.array({"lin", "Weights"}), c.state.arrays.at("net/lin/Weights")));
    NETKIT_CHECK_REPORT(
        bit_difference_report("saved net", saved.array({"bn", "MovingMean"}), c.state.arrays.at("net/bn/MovingMean")));
    TrainOptions resume = resumable(dir.path);
    resume.resume_from = files.back();
    check_same(full, net_train(net, data, resume));
  }
}

TEST_CASE("Resume from a round checkpoint, checkpoint files are atomic and pruned", "[train][train_resume]") {
  const TrainingData data = block_images(60, 22);
  const Net net = small_cnn();
  TempDir full_dir("round-full"), dir("round-part");
  const TrainResults full = net_train(net, data, resumable(full_dir.path));
  TrainOptions o = resumable(dir.path);
  o.checkpoints.every_rounds = 1;
  o.checkpoints.keep = 5;
  o.checkpoints.net_writer = [](const Net& n) { return nlohmann::json{{"type", n.type()}}; };
  o.progress = [](const Progress& p) { return !(p.event == Progress::Event::Round && p.round == 2); };
  const TrainResults part = net_train(net, data, o);
  CHECK(part.rounds.size() == 2);
  const std::vector<std::string> files = list_checkpoints(dir.path);
  REQUIRE(files.size() == 2);  // after rounds 1 and 2 (steps 3 and 6)
  for (const auto& entry : std::filesystem::directory_iterator(dir.path))
    CHECK(entry.path().extension() == ".json");  // no temporary left behind
  const Checkpoint c = read_checkpoint(files.back());
  CHECK(c.step == 6);
  CHECK(c.round == 2);
  CHECK(c.position == 0);
  CHECK(c.net["type"] == "NetChain");
  CHECK(c.batch_losses.size() == 6);
  // JSON round trip is exact.
  CHECK(checkpoint_to_json(checkpoint_from_json(checkpoint_to_json(c), "x")) == checkpoint_to_json(c));
  TrainOptions resume = resumable(dir.path);
  resume.resume_from = files.back();
  check_same(full, net_train(net, data, resume));
}

TEST_CASE("Checkpoint errors name the file and the problem", "[train][train_resume]") {
  TempDir dir("bad-checkpoint");
  std::filesystem::create_directories(dir.path);
  const std::string path = dir.path + "/checkpoint-000000001.json";
  CHECK_THROWS_WITH(read_checkpoint(path), Contains("cannot be opened"));
  { std::ofstream(path) << "{\"format\": \"netkit\"}"; }
  CHECK_THROWS_WITH(
      read_checkpoint(path),
      Contains(path +
               ": not a netkit checkpoint; expected \"format\": \"netkit-checkpoint\", got a string (\"netkit\")"));
  { std::ofstream(path) << "{\"format\": \"netkit-checkpoint\", \"version\": 1}"; }
  CHECK_THROWS_WITH(
      read_checkpoint(path),
      Contains(path + " at /seed: missing field; expected an unsigned 64-bit integer, got no such field"));
  TrainOptions o = resumable(dir.path);
  o.resume_from = path;
  o.seed = 12;
  TempDir other("bad-checkpoint-2");
  TrainOptions first = resumable(other.path);
  first.checkpoints.every_batches = 1;
  first.max_steps = 1;
  net_train(small_cnn(), block_images(30, 1), first);
  o.resume_from = list_checkpoints(other.path).back();
  CHECK_THROWS_WITH(net_train(small_cnn(), block_images(30, 1), o),
                    Contains(" at /seed: the checkpoint is from a run with another seed; expected 12, got 11"));
}

TEST_CASE("Resume with Dropout: the masks come from the step number, so they repeat exactly", "[train][train_resume]") {
  const Net net = NetChain({{"flatten", LayerNet::create("Flatten")},
                            {"lin1", LinearLayer({{"OutputSize", 16}})},
                            {"drop", LayerNet::create("Dropout", {{"DropoutProbability", 0.3}})},
                            {"ramp", RampLayer()},
                            {"lin", LinearLayer({{"OutputSize", 3}})},
                            {"softmax", LayerNet::create("Softmax")}},
                           {{"Input", {1, 8, 8}}});
  const TrainingData data = block_images(40, 23);
  TempDir dir("dropout");
  TrainOptions o;
  o.batch_size = 8;
  o.rounds = 2;
  o.seed = 3;
  o.sgd = {0.05, 0.9, false, 0.0, 0.0};
  const TrainResults full = net_train(net, data, o);
  o.checkpoints.directory = dir.path;
  o.checkpoints.every_batches = 1;
  o.progress = [](const Progress& p) { return p.step != 4; };
  net_train(net, data, o);
  o.progress = nullptr;
  o.checkpoints = {};
  o.resume_from = list_checkpoints(dir.path).back();
  const TrainResults resumed = net_train(net, data, o);
  for (const char* layer : {"lin1", "lin"})
    NETKIT_CHECK_REPORT(
        bit_difference_report(layer, full.net.array({layer, "Weights"}), resumed.net.array({layer, "Weights"})));
  CHECK(full.batch_losses == resumed.batch_losses);
  // The masks matter: without Dropout the losses differ.
  o.resume_from.clear();
  const TrainResults plain = net_train(NetChain({{"flatten", LayerNet::create("Flatten")},
                                                 {"lin1", LinearLayer({{"OutputSize", 16}})},
                                                 {"ramp", RampLayer()},
                                                 {"lin", LinearLayer({{"OutputSize", 3}})},
                                                 {"softmax", LayerNet::create("Softmax")}},
                                                {{"Input", {1, 8, 8}}}),
                                       data, o);
  CHECK(plain.batch_losses != full.batch_losses);
}
