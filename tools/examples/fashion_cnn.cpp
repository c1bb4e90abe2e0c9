// The C++ API in one program: define the example CNN (MATLAB's layer array adapted to 28x28x1),
// initialize it, train it with NetTrain on Fashion-MNIST, evaluate it, extract the first
// batch-norm layer's MovingMean, and save the model.
//
//   build/tools/fashion_cnn_example [DATA_DIR] [EPOCHS]     (default: Debian's package, 1 epoch)
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <netkit/graph/net.h>
#include <netkit/graph/net_info.h>
#include <netkit/graph/net_json.h>
#include <netkit/train/fashion_mnist.h>
#include <netkit/train/net_train.h>
#include "tools/cli/classification.h"
#include "tools/examples/fashion_cnn_model.h"

using namespace netkit;

int main(int argc, char** argv) try {
  Net cnn = examples::fashion_cnn();  // tools/examples/fashion_cnn_model.h: the layer array in C++
  cnn.initialize(/*seed*/ 1);
  std::cout << cnn << "\n";

  FashionMnistOptions data_options;
  if (argc > 1) data_options.directory = argv[1];
  const FashionMnist data = load_fashion_mnist(data_options);
  auto labels = [](const LabeledImages& s) { return std::vector<int64_t>(s.labels.begin(), s.labels.end()); };

  TrainOptions options;
  options.rounds = argc > 2 ? std::atoi(argv[2]) : 1;
  options.batch_size = 64;
  options.sgd.learning_rate = 0.05;
  options.sgd.momentum = 0.9;
  options.progress = [](const Progress& p) {
    if (p.event == Progress::Event::Round) std::printf("round %lld: training loss %.4f\n", (long long)p.round, p.loss);
    return true;
  };
  // Softmax at the end and class-index targets: NetTrain attaches CrossEntropyLoss itself.
  const TrainResults results =
      net_train(cnn, TrainingData::classification(data.train.images, labels(data.train)), options);

  const cli::ClassificationReport report = cli::evaluate_classifier(results.net, data.test.images, data.test.labels);
  std::printf("test accuracy %.4f after %lld steps (%.0f examples/s)\n", report.accuracy, (long long)results.steps,
              results.examples_per_second);
  const Array& mean = results.net.array({"bn1", "MovingMean"});
  std::printf("bn1 MovingMean[0..3]: %g %g %g %g\n", mean[0], mean[1], mean[2], mean[3]);
  save_net("fashion_cnn_trained.json", results.net);
  std::printf("saved fashion_cnn_trained.json\n");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "fashion_cnn_example: %s\n", e.what());
  return 1;
}
