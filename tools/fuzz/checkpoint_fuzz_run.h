// The run that the checkpoint fuzzer (fuzz_checkpoint.cpp) resumes, shared with the tests that
// make its corpus (tests/fuzz_corpus/checkpoint): a small net with moving arrays (batch
// normalization) and learnable arrays, 12 examples of which 3 are held out for validation
// (3 batches of 4 per round over the other 9), momentum, the best net kept. Its checkpoints are
// about 2 KB, so the fuzzer reaches every field.
#pragma once

#include <cstdint>
#include <vector>

#include <netkit/graph/layer_net.h>
#include <netkit/graph/net.h>
#include <netkit/train/dataset.h>
#include <netkit/train/net_train.h>

namespace netkit::fuzz {

inline Net checkpoint_fuzz_net() {
  return NetChain({{"bn", BatchNormalizationLayer()},
                   {"flatten", LayerNet::create("Flatten")},
                   {"lin", LinearLayer({{"OutputSize", 3}})},
                   {"softmax", LayerNet::create("Softmax")}},
                  {{"Input", {2, 2}}});
}

// Example e: class e % 3, values that depend on e only.
inline TrainingData checkpoint_fuzz_data() {
  const int64_t n = 12;
  Array x = Array::zeros({n, 2, 2});
  std::vector<int64_t> classes;
  for (int64_t e = 0; e < n; ++e) {
    classes.push_back(e % 3);
    for (int64_t i = 0; i < 4; ++i) x[e * 4 + i] = static_cast<float>((e % 3 == i % 3 ? 1.0 : 0.0) + 0.1 * (e % 5));
  }
  return TrainingData::classification(std::move(x), classes);
}

inline TrainOptions checkpoint_fuzz_options() {
  TrainOptions o;
  o.batch_size = 4;
  o.rounds = 3;
  o.seed = 5;
  o.sgd.learning_rate = 0.1;
  o.sgd.momentum = 0.9;
  o.validation_fraction = 0.25;
  o.keep_best_net = true;
  o.checkpoints.include_net = false;
  return o;
}

}  // namespace netkit::fuzz
