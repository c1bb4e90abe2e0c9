// Training benchmark: netkit's half of the comparison with
// tools/bench/train_bench_torch.py; tools/bench/train_compare.py runs both.
//
//   build/tools/bench_training --init-out PATH [--model data/models/fashion_cnn.json]
//       [--epochs 5] [--seed 1] [--threads 2] [--data /usr/share/datasets/fashion-mnist] [--lockstep]
//       [--schedule constant|cosine]
//
// Loads the model, initializes its arrays from the seed and saves that initialized model to
// PATH (so PyTorch starts from the same arrays), then trains on Fashion-MNIST at batch 64 with
// SGD (learning rate 0.05, constant or cosine to 0 at the last step, momentum 0.9) in a FIXED order (no shuffle: both
// frameworks see the same batches in the same order). One JSON line per epoch:
//   {"framework":"netkit","epoch":k,"epoch_seconds":s,"test_accuracy":a,"openblas_core":"..."}
// epoch_seconds is training time only: from the start of the epoch (for the first, the call to
// NetTrain) to the end of its last batch, leaving out the test-set evaluation. The test
// accuracy after each epoch is NetTrain's validation pass over the test split (Test mode); the
// final line repeats it for the trained net with cli::evaluate_classifier and gives the peak
// resident memory (VmHWM of /proc/self/status) in MB.
//
// --lockstep (used by train_compare.py to alternate the two frameworks epoch by epoch, so that
// both see the same machine load): print {"framework":"netkit","ready":true} once the data is
// loaded, then read one line from stdin before each epoch (the wait is not timed).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <netkit/core/blas.h>
#include <netkit/core/parallel.h>
#include <netkit/graph/net.h>
#include <netkit/graph/net_json.h>
#include <netkit/train/fashion_mnist.h>
#include <netkit/train/net_train.h>
#include "tools/cli/classification.h"

using namespace netkit;

namespace {

// Peak resident set size in MB (VmHWM, reported by the kernel in kB); -1 when unreadable.
double peak_memory_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  return -1;
}

struct Args {
  std::string model = "data/models/fashion_cnn.json";
  std::string init_out;
  std::string data = kFashionMnistDefaultDir;
  int epochs = 5;
  int threads = 2;
  uint64_t seed = 1;
  bool lockstep = false;
  bool cosine = false;  // --schedule cosine: the rate falls to 0 at the last step (default constant)
};

using Clock = std::chrono::steady_clock;

// --lockstep: wait for the driver's line before an epoch.
void wait_for_go(bool lockstep) {
  std::string line;
  if (lockstep) std::getline(std::cin, line);
}

int usage(const std::string& problem) {
  std::fprintf(stderr,
               "bench_training: %s\nusage: bench_training --init-out PATH [--model FILE] [--epochs N] [--seed S] "
               "[--threads T] [--data DIR] [--lockstep] [--schedule constant|cosine]\n",
               problem.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--lockstep") {
      a.lockstep = true;
      continue;
    }
    if (i + 1 >= argc) return usage("option \"" + arg + "\" needs a value");
    const std::string value = argv[++i];
    if (arg == "--model")
      a.model = value;
    else if (arg == "--init-out")
      a.init_out = value;
    else if (arg == "--data")
      a.data = value;
    else if (arg == "--epochs")
      a.epochs = std::atoi(value.c_str());
    else if (arg == "--threads")
      a.threads = std::atoi(value.c_str());
    else if (arg == "--seed")
      a.seed = std::strtoull(value.c_str(), nullptr, 10);
    else if (arg == "--schedule") {
      if (value != "constant" && value != "cosine")
        return usage("--schedule takes constant or cosine, got \"" + value + "\"");
      a.cosine = value == "cosine";
    } else
      return usage("unknown option \"" + arg + "\"");
  }
  if (a.init_out.empty()) return usage("--init-out PATH is required");
  if (a.epochs < 1 || a.threads < 1) return usage("--epochs and --threads must be >= 1");
  set_num_threads(a.threads);

  Net net = load_net(a.model);
  net.initialize(a.seed);
  save_net(a.init_out, net);

  FashionMnistOptions data_options;
  data_options.directory = a.data;
  FashionMnist data = load_fashion_mnist(data_options);
  auto as_data = [](LabeledImages s) {  // by value: the training split is moved in, not held twice
    return TrainingData::classification(std::move(s.images), std::vector<int64_t>(s.labels.begin(), s.labels.end()));
  };

  TrainOptions o;
  o.batch_size = 64;
  o.rounds = a.epochs;
  o.seed = a.seed;
  o.shuffle = false;
  o.sgd.learning_rate = 0.05;
  o.sgd.momentum = 0.9;
  if (a.cosine) o.schedule = LearningRateSchedule::cosine();
  o.validation_data = std::make_shared<TrainingData>(as_data(data.test));
  const std::string core = blas::core_name();
  Clock::time_point epoch_start, last_batch;
  o.progress = [&](const Progress& p) {
    if (p.event == Progress::Event::Batch) {
      last_batch = Clock::now();
      return true;
    }
    nlohmann::json line{{"framework", "netkit"},
                        {"epoch", p.round},
                        {"epoch_seconds", std::chrono::duration<double>(last_batch - epoch_start).count()},
                        {"test_accuracy", p.round_record->validation_accuracy.value_or(-1)},
                        {"openblas_core", core}};
    std::cout << line.dump() << std::endl;
    if (p.round < o.rounds) wait_for_go(a.lockstep);
    epoch_start = Clock::now();
    return true;
  };
  if (a.lockstep) std::cout << nlohmann::json{{"framework", "netkit"}, {"ready", true}}.dump() << std::endl;
  wait_for_go(a.lockstep);
  epoch_start = Clock::now();
  const TrainResults results = net_train(net, as_data(std::move(data.train)), o);

  const cli::ClassificationReport report = cli::evaluate_classifier(results.net, data.test.images, data.test.labels);
  nlohmann::json last{{"framework", "netkit"},
                      {"final", true},
                      {"epochs", static_cast<int64_t>(results.rounds.size())},
                      {"test_accuracy", report.accuracy},
                      {"test_loss", report.loss},
                      {"examples_per_second", results.examples_per_second},
                      {"threads", a.threads},
                      {"openblas_core", core},
                      {"peak_memory_mb", peak_memory_mb()}};
  std::cout << last.dump() << std::endl;
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_training: %s\n", e.what());
  return 1;
}
