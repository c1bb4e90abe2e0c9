// Datasets other than in-memory data: a FunctionDataset that serves the same examples as a
// TrainingData trains bit-identically (shuffle, held-out split, validation, resume, population
// statistics), is only ever asked for one batch at a time, and every bad batch is named.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include <netkit/core/error.h>
#include <netkit/train/checkpoint.h>
#include <netkit/train/dataset_subset.h>
#include <netkit/train/fashion_mnist.h>
#include <netkit/train/function_dataset.h>
#include <netkit/train/idx.h>
#include <netkit/train/idx_dataset.h>
#include <netkit/train/net_train.h>
#include <netkit/train/population_statistics.h>
#include "tests/support/golden.h"
#include "tests/test_train_support.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;

namespace {

// What the function was asked for.
struct Calls {
  int64_t count = 0, largest = 0, examples = 0;
};

// A FunctionDataset serving `data`'s examples (copied into the function, so nothing is shared);
// `edit` may change each batch before it is returned.
FunctionDataset streamed(
    const TrainingData& data, std::shared_ptr<Calls> calls = std::make_shared<Calls>(),
    std::function<void(const std::vector<int64_t>&, std::map<std::string, Array>&)> edit = nullptr) {
  return FunctionDataset(data.size(), data.target_kind(), data.example_shapes(),
                         [data, calls, edit](const std::vector<int64_t>& indices) {
                           const int64_t n = static_cast<int64_t>(indices.size());
                           calls->count += 1, calls->examples += n, calls->largest = std::max(calls->largest, n);
                           auto b = data.batch(indices);
                           if (edit) edit(indices, b);
                           return b;
                         });
}

TrainOptions shuffled(uint64_t seed) {
  TrainOptions o;
  o.batch_size = 16;
  o.rounds = 3;
  o.seed = seed;
  o.sgd = {0.05, 0.9, true, 1e-3, 0.0};
  o.validation_fraction = 0.2;
  o.keep_best_net = true;
  o.measure_training_accuracy = true;
  return o;
}

void check_same(const TrainResults& a, const TrainResults& b) {
  for (const auto& [name, path] : cnn_arrays())
    NETKIT_CHECK_REPORT(bit_difference_report(name, a.net.array(path), b.net.array(path)));
  CHECK(a.batch_losses == b.batch_losses);
  REQUIRE(a.rounds.size() == b.rounds.size());
  for (size_t i = 0; i < a.rounds.size(); ++i) {
    CHECK(a.rounds[i].training_loss == b.rounds[i].training_loss);
    CHECK(a.rounds[i].training_accuracy == b.rounds[i].training_accuracy);
    CHECK(a.rounds[i].validation_loss == b.rounds[i].validation_loss);
    CHECK(a.rounds[i].validation_accuracy == b.rounds[i].validation_accuracy);
  }
  CHECK(a.steps == b.steps);
  CHECK(a.examples == b.examples);
  CHECK(a.best_round == b.best_round);
  CHECK(a.population_layers == b.population_layers);
}

// An uncompressed IDX file of uint8 elements; `cut` bytes fewer (or more, when negative) at the end.
void write_idx(const std::string& path, const std::vector<int64_t>& dims, const std::vector<unsigned char>& bytes,
               int64_t cut = 0) {
  std::string out{'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (int64_t d : dims)
    for (int shift : {24, 16, 8, 0}) out += static_cast<char>((d >> shift) & 0xFF);
  out.append(bytes.begin(), bytes.end());
  if (cut > 0) out.resize(out.size() - static_cast<size_t>(cut));
  if (cut < 0) out.append(static_cast<size_t>(-cut), '\0');
  std::ofstream(path, std::ios::binary) << out;
}

const std::string kSample = std::string(NETKIT_SOURCE_DIR) + "/data/samples/fashion-mnist/";

Net classifier() {
  return NetChain({{"lin", LinearLayer({{"OutputSize", 3}})}, {"softmax", LayerNet::create("Softmax")}},
                  {{"Input", 2}});
}

}  // namespace

TEST_CASE("Dataset: a FunctionDataset of the same examples trains bit-identically to the TrainingData",
          "[train][dataset]") {
  const TrainingData data = block_images(60, 31);  // 48 trained on (3 batches a round), 12 held out
  const Net net = small_cnn();
  const TrainResults memory = net_train(net, data, shuffled(5));
  const TrainResults function = net_train(net, streamed(data), shuffled(5));
  REQUIRE(memory.batch_losses.size() == 9);
  CHECK(memory.rounds[0].validation_loss.has_value());
  check_same(memory, function);
  // Given validation data, in memory or streamed.
  const TrainingData check = block_images(20, 32);
  TrainOptions o = shuffled(6);
  o.validation_fraction = 0;
  o.validation_data = std::make_shared<TrainingData>(check);
  const TrainResults a = net_train(net, data, o);
  o.validation_data = std::make_shared<FunctionDataset>(streamed(check));
  check_same(a, net_train(net, streamed(data), o));
  // Another seed gives another run: the seed, not the dataset, chooses the batches.
  CHECK(net_train(net, streamed(data), shuffled(7)).batch_losses != function.batch_losses);
}

TEST_CASE("Dataset: held-out views and index batches match the in-memory copies", "[train][dataset]") {
  const TrainingData data = block_images(10, 33);
  const auto copies = data.split_held_out(0.3, 4);
  const auto views = split_held_out(data, 0.3, 4);
  CHECK(views.first.size() == 7);
  CHECK(views.second.size() == 3);
  const std::vector<int64_t> order{2, 0, 1, 2};
  for (const auto& [copy, view] : {std::pair<const TrainingData*, const DatasetSubset*>{&copies.first, &views.first},
                                   {&copies.second, &views.second}}) {
    const auto want = copy->batch(order, 0, 3), got = view->batch({2, 0, 1});
    for (const auto& [name, array] : want) CHECK(got.at(name).bit_equal(array));
  }
  CHECK(views.first.example_shapes() == data.example_shapes());
  CHECK(data.example_shapes().at("Target") == Shape(std::vector<int64_t>{}));
  CHECK_THROWS_WITH(
      DatasetSubset(data, {3, 10}),
      Contains("DatasetSubset: example index out of range; expected an index from 0 to 9, got 10 at position 1"));
  CHECK_THROWS_WITH(views.second.batch({3}), Contains("DatasetSubset, batch: example index out of range"));
  CHECK_THROWS_WITH(data.batch({-1}),
                    Contains("NetTrain, data: example index out of range; expected an index from 0 to 9, got -1"));
}

TEST_CASE("Dataset: resuming a FunctionDataset run is bit-identical to an uninterrupted run", "[train][dataset]") {
  const TrainingData data = block_images(60, 34);
  const Net net = small_cnn({{"MovingAverage", "Cumulative"}});
  TempDir full_dir("dataset-full"), dir("dataset-part");
  // (With training accuracy: a round resumed in its middle still counts all its batches.)
  auto options = [](const std::string& directory) {
    TrainOptions o = shuffled(8);
    o.checkpoints.directory = directory;
    return o;
  };
  const TrainResults full = net_train(net, streamed(data), options(full_dir.path));
  check_same(full, net_train(net, data, options(full_dir.path)));
  for (int64_t k : {2, 4}) {
    CAPTURE(k);
    std::filesystem::remove_all(dir.path);
    TrainOptions part = options(dir.path);
    part.checkpoints.every_batches = 1;
    part.progress = [k](const Progress& p) { return !(p.event == Progress::Event::Batch && p.step == k); };
    CHECK(net_train(net, streamed(data), part).steps == k);
    TrainOptions resume = options(dir.path);
    resume.resume_from = list_checkpoints(dir.path).back();
    check_same(full, net_train(net, streamed(data), resume));
  }
}

TEST_CASE("Dataset: the function is only asked for one batch at a time", "[train][dataset]") {
  const TrainingData data = block_images(100, 35);
  auto calls = std::make_shared<Calls>();
  TrainOptions o = shuffled(9);
  o.rounds = 2;
  o.batch_size = 8;
  const TrainResults r = net_train(small_cnn({{"Statistics", "Population"}}), streamed(data, calls), o);
  CHECK(r.population_layers == 1);
  CHECK(calls->largest == 8);
  // 80 trained on in 10 batches a round, 20 validated in 3 batches after each round, and one
  // population pass over the 80 in 10 batches: nothing else is read.
  CHECK(calls->count == 2 * 10 + 2 * 3 + 10);
  CHECK(calls->examples == 2 * 80 + 2 * 20 + 80);
}

TEST_CASE("Dataset: population statistics through a FunctionDataset equal those of the TrainingData",
          "[train][dataset]") {
  const TrainingData data = block_images(50, 36);
  TrainOptions o = shuffled(10);
  o.rounds = 2;
  const Net net = small_cnn({{"Statistics", "Population"}});
  const TrainResults memory = net_train(net, data, o);
  const TrainResults function = net_train(net, streamed(data), o);
  CHECK(memory.population_layers == 1);
  check_same(memory, function);
  // The pass on its own, on every example of each, from the same trained net.
  Net a = memory.net, b = memory.net;
  CHECK(set_population_statistics(a, data, 7) == 1);
  CHECK(set_population_statistics(b, streamed(data), 7) == 1);
  NETKIT_CHECK_REPORT(bit_difference_report("mean", a.array({"bn", "MovingMean"}), b.array({"bn", "MovingMean"})));
  NETKIT_CHECK_REPORT(
      bit_difference_report("variance", a.array({"bn", "MovingVariance"}), b.array({"bn", "MovingVariance"})));
}

TEST_CASE("Dataset errors: bad batches name the port, the expectation and what came", "[train][dataset]") {
  const TrainingData data = block_images(12, 37);
  TrainOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  auto edited = [&](std::function<void(const std::vector<int64_t>&, std::map<std::string, Array>&)> edit) {
    return streamed(data, std::make_shared<Calls>(), std::move(edit));
  };
  const Net net = small_cnn();
  CHECK_THROWS_WITH(
      net_train(net, edited([](const auto& i, auto& b) {
                  b["Input"] = Array::zeros({int64_t(i.size()), 1, 8, 9});
                }),
                o),
      Contains("NetTrain, step 1 (round 1, batch 1), FunctionDataset port \"Input\": wrong example shape "
               "in a batch; expected examples of shape [1, 8, 8] (as declared), got examples of shape [1, 8, 9]"));
  CHECK_THROWS_AS(net_train(net, edited([](const auto& i, auto& b) {
                              b["Input"] = Array::zeros({int64_t(i.size()), 1, 8, 9});
                            }),
                            o),
                  TrainingError);
  CHECK_THROWS_WITH(net_train(net, edited([](const auto&, auto& b) { b.erase("Target"); }), o),
                    Contains("FunctionDataset port \"Target\": missing from a batch; expected every declared port "
                             "\"Input\", \"Target\", got no array for \"Target\""));
  CHECK_THROWS_WITH(net_train(net, edited([](const auto&, auto& b) {
                                b["Mask"] = Array::zeros({4, 1});
                              }),
                              o),
                    Contains("FunctionDataset port \"Mask\": a batch has a port that was not declared; expected only "
                             "the ports \"Input\", \"Target\", got port \"Mask\""));
  CHECK_THROWS_WITH(
      net_train(net, edited([](const auto& i, auto& b) {
                  if (i[0] == 4) b["Target"] = Array::zeros({3});
                }),
                o),
      Contains("NetTrain, step 2 (round 1, batch 2), FunctionDataset port \"Target\": wrong number of "
               "examples in a batch; expected 4 (one per requested index) along the first dimension, got 3"));
  // A class index out of range in a streamed batch: found when its batch is loaded, named by the
  // example's index in the dataset.
  CHECK_THROWS_WITH(
      net_train(net, edited([](const auto& i, auto& b) {
                  for (size_t k = 0; k < i.size(); ++k)
                    if (i[k] == 7) b["Target"][int64_t(k)] = 3;
                }),
                o),
      Contains("NetTrain, step 2 (round 1, batch 2), training data port \"Target\", example 7: class "
               "index out of range; expected an integer from 0 to 2 (the net has 3 classes; indices count "
               "from 0), got 3"));
  o.shuffle = true;  // the index, not the batch position, is named
  CHECK_THROWS_WITH(net_train(net, edited([](const auto& i, auto& b) {
                                for (size_t k = 0; k < i.size(); ++k)
                                  if (i[k] == 7) b["Target"][int64_t(k)] = -1;
                              }),
                              o),
                    Contains("training data port \"Target\", example 7: class index out of range"));
  CHECK_THROWS_WITH(net_train(net, edited([](const auto& i, auto& b) {
                                for (size_t k = 0; k < i.size(); ++k)
                                  if (i[k] == 5) b["Input"][int64_t(k) * 64 + 3] = std::nanf("");
                              }),
                              o),
                    Contains("training data port \"Input\": data is not finite; expected finite numbers, got nan in "
                             "example 5"));
  // In validation data, after the round it is evaluated in.
  o.validation_data = std::make_shared<FunctionDataset>(edited([](const auto&, auto& b) { b["Target"][0] = 9; }));
  CHECK_THROWS_WITH(net_train(net, data, o),
                    Contains("NetTrain, validation after round 1, validation data port \"Target\", example 0: class "
                             "index out of range"));
}

TEST_CASE("Dataset errors: declared shapes are checked against the net before training", "[train][dataset]") {
  auto calls = std::make_shared<Calls>();
  const FunctionDataset wide(
      4, TargetKind::ClassIndex, {{"Input", {3}}, {"Target", scalar_example()}},
      [calls](const std::vector<int64_t>& i) {
        calls->count += 1;
        const int64_t n = static_cast<int64_t>(i.size());
        return std::map<std::string, Array>{{"Input", Array::zeros({n, 3})}, {"Target", Array::zeros({n})}};
      });
  CHECK_THROWS_WITH(net_train(classifier(), wide),
                    Contains("NetTrain, training data port \"Input\": examples do not match the net's port; expected "
                             "examples of shape [2], got examples of shape [3]"));
  TrainOptions o;
  o.validation_data = std::make_shared<FunctionDataset>(wide);
  CHECK_THROWS_WITH(net_train(classifier(), TrainingData::classification(Array({2, 2}, {1, 2, 3, 4}), {0, 1}), o),
                    Contains("NetTrain, validation data port \"Input\": examples do not match the net's port"));
  CHECK(calls->count == 0);  // nothing was read
  const FunctionDataset extra(4, TargetKind::ClassIndex, {{"Input", {2}}, {"Mask", {1}}, {"Target", scalar_example()}},
                              [](const std::vector<int64_t>&) { return std::map<std::string, Array>{}; });
  CHECK_THROWS_WITH(
      net_train(classifier(), extra),
      Contains("NetTrain, training data port \"Mask\": not a port of the net; expected one of \"Input\""));
  const FunctionDataset empty(0, TargetKind::ClassIndex, {{"Input", {2}}, {"Target", scalar_example()}},
                              [](const std::vector<int64_t>&) { return std::map<std::string, Array>{}; });
  CHECK_THROWS_WITH(net_train(classifier(), empty),
                    Contains("NetTrain, training data: no examples; expected at least one example, got 0 examples"));
}

TEST_CASE("Dataset errors: a FunctionDataset that cannot be built", "[train][dataset]") {
  const auto none = [](const std::vector<int64_t>&) { return std::map<std::string, Array>{}; };
  CHECK_THROWS_WITH(FunctionDataset(-1, TargetKind::None, {{"Input", {2}}}, none),
                    Contains("FunctionDataset: negative size; expected a number of examples >= 0, got -1"));
  CHECK_THROWS_WITH(FunctionDataset(3, TargetKind::None, {{"Input", {2}}}, nullptr),
                    Contains("FunctionDataset: no batch function"));
  CHECK_THROWS_WITH(FunctionDataset(3, TargetKind::None, {{"Input", Shape::of_rank(2)}}, none),
                    Contains("FunctionDataset port \"Input\": example shape not fully known; expected known "
                             "dimensions, such as [1, 28, 28], or [] for a scalar, got [?, ?]"));
  CHECK_THROWS_WITH(FunctionDataset(3, TargetKind::ClassIndex, {{"Input", {2}}, {"Target", {}}}, none),
                    Contains("FunctionDataset port \"Target\": example shape not fully known; expected known "
                             "dimensions, such as [1, 28, 28], or [] for a scalar, got [...]. A scalar example (a "
                             "class index) is scalar_example(); Shape() or {} is a shape of unknown rank"));
  CHECK_THROWS_WITH(FunctionDataset(3, TargetKind::None, {}, none),
                    Contains("FunctionDataset: no ports; expected at least one port with its example shape, got none"));
  CHECK_THROWS_WITH(
      FunctionDataset(3, TargetKind::ClassIndex, {{"Input", {2}}}, none),
      Contains("FunctionDataset: targets declared but no port \"Target\"; expected a port \"Target\", got "
               "ports \"Input\""));
  const FunctionDataset d(3, TargetKind::None, {{"Input", {2}}}, [](const std::vector<int64_t>& i) {
    return std::map<std::string, Array>{{"Input", Array::zeros({int64_t(i.size()), 2})}};
  });
  CHECK(d.batch({0, 2, 2}).at("Input").dims() == std::vector<int64_t>{3, 2});
  CHECK_THROWS_WITH(d.batch({3}),
                    Contains("FunctionDataset: example index out of range; expected an index from 0 to 2, "
                             "got 3 at position 0"));
}

TEST_CASE("IdxDataset: streamed IDX images equal the in-memory reader's and train bit-identically",
          "[train][dataset]") {
  TempDir dir("idx-dataset");
  std::filesystem::create_directories(dir.path);
  const IdxData images = read_idx(kSample + "train-images-idx3-ubyte.gz"),
                labels = read_idx(kSample + "train-labels-idx1-ubyte.gz");
  const std::string images_path = dir.path + "/images", labels_path = dir.path + "/labels";
  write_idx(images_path, images.dims, images.bytes);
  write_idx(labels_path, labels.dims, labels.bytes);
  const IdxDataset streamed_images(images_path, labels_path);
  const LabeledImages memory =
      read_labeled_images(kSample + "train-images-idx3-ubyte.gz", kSample + "train-labels-idx1-ubyte.gz");
  const TrainingData data =
      TrainingData::classification(memory.images, std::vector<int64_t>(memory.labels.begin(), memory.labels.end()));
  REQUIRE(streamed_images.size() == data.size());
  CHECK(streamed_images.example_shapes() == data.example_shapes());
  const std::vector<int64_t> some{5, 0, data.size() - 1, 5};
  const auto a = streamed_images.batch(some), b = data.batch(some);
  for (const auto& [name, array] : b) NETKIT_CHECK_REPORT(bit_difference_report(name, a.at(name), array));
  const Net net = NetChain({{"flatten", LayerNet::create("Flatten")},
                            {"lin", LinearLayer({{"OutputSize", 10}})},
                            {"softmax", LayerNet::create("Softmax")}},
                           {{"Input", {1, 28, 28}}});
  TrainOptions o;
  o.batch_size = 16;
  o.rounds = 2;
  o.seed = 3;
  o.validation_fraction = 0.25;
  const TrainResults from_disk = net_train(net, streamed_images, o), from_memory = net_train(net, data, o);
  CHECK(from_disk.batch_losses == from_memory.batch_losses);
  CHECK(from_disk.rounds.back().validation_loss == from_memory.rounds.back().validation_loss);
  NETKIT_CHECK_REPORT(bit_difference_report("lin/Weights", from_disk.net.array({"lin", "Weights"}),
                                            from_memory.net.array({"lin", "Weights"})));
  CHECK_THROWS_WITH(streamed_images.batch({128}),
                    Contains("example index out of range; expected an index from 0 to 127, got 128"));
}

TEST_CASE("IdxDataset errors name the file and the problem", "[train][dataset]") {
  TempDir dir("idx-dataset-errors");
  std::filesystem::create_directories(dir.path);
  const std::string images = dir.path + "/images", labels = dir.path + "/labels";
  const std::vector<unsigned char> pixels(3 * 2 * 2, 7);
  write_idx(images, {3, 2, 2}, pixels);
  write_idx(labels, {3}, {0, 1, 2});
  CHECK(IdxDataset(images, labels).batch({2}).at("Input")[0] == 7.0f / 255.0f);
  CHECK_THROWS_WITH(IdxDataset(kSample + "train-images-idx3-ubyte.gz", labels),
                    Contains("train-images-idx3-ubyte.gz: gzip-compressed; IdxDataset streams uncompressed IDX files "
                             "only; expected an uncompressed IDX file, got the gzip magic bytes 0x1F 0x8B"));
  CHECK_THROWS_WITH(IdxDataset(images, labels, 2), Contains(labels + ": label out of range at item 2 (byte offset 10); "
                                                                     "expected 0 to 1, got 2"));
  write_idx(labels, {2}, {0, 1});
  CHECK_THROWS_WITH(IdxDataset(images, labels), Contains(labels + ": label count does not match the images in " +
                                                         images + "; expected 3 labels, got 2"));
  write_idx(labels, {3}, {0, 1, 2});
  write_idx(images, {3, 2, 2}, pixels, 1);
  CHECK_THROWS_WITH(IdxDataset(images, labels),
                    Contains(images + ": truncated: file ends at byte offset 27 inside the uint8 data of dimensions "
                                      "[3, 2, 2]; expected 28 bytes, got 27"));
  write_idx(images, {3, 2, 2}, pixels, -2);
  CHECK_THROWS_WITH(IdxDataset(images, labels), Contains(images + ": trailing bytes after the data at byte offset 28"));
  write_idx(images, {3, 4}, pixels);
  CHECK_THROWS_WITH(IdxDataset(images, labels),
                    Contains(images + ": wrong IDX dimensions; expected [?, ?, ?], got [3, 4]"));
  CHECK_THROWS_WITH(IdxDataset(dir.path + "/none", labels), Contains(dir.path + "/none: cannot be opened"));
  CHECK_THROWS_WITH(IdxDataset(images, labels, 0),
                    Contains("IdxDataset: class count out of range; expected 1 to 256, got 0"));
  // A file cut short after it was opened: the batch that reaches past the end says so.
  write_idx(images, {3, 2, 2}, pixels);
  const IdxDataset opened(images, labels);
  std::filesystem::resize_file(images, std::filesystem::file_size(images) - 2);
  CHECK(opened.batch({0, 1}).at("Input").size() == 8);
  CHECK_THROWS_WITH(opened.batch({2}), Contains(images + ": truncated since it was opened: image 2 ends early"));
}
