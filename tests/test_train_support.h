// Shared by the NetTrain tests: a small synthetic image data set and a small CNN.
#pragma once

#include <unistd.h>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <netkit/core/random.h>
#include <netkit/graph/net.h>
#include <netkit/train/dataset.h>

namespace netkit::test {

// n grey 8 x 8 images in three classes: a bright 4 x 4 block top-left (0), top-right (1) or
// bottom-centre (2) on N(0, 0.5) noise. Deterministic from `seed`.
inline TrainingData block_images(int64_t n, uint64_t seed) {
  Random random(seed, "block images");
  Array x = Array::zeros({n, 1, 8, 8});
  std::vector<int64_t> classes;
  for (int64_t e = 0; e < n; ++e) {
    const int64_t c = e % 3;
    classes.push_back(c);
    const int64_t top = c == 2 ? 4 : 0, left = c == 0 ? 0 : (c == 1 ? 4 : 2);
    for (int64_t i = 0; i < 8; ++i)
      for (int64_t j = 0; j < 8; ++j) {
        const bool in = i >= top && i < top + 4 && j >= left && j < left + 4;
        x[e * 64 + i * 8 + j] = static_cast<float>(0.5 * random.normal() + (in ? 1.0 : 0.0));
      }
  }
  return TrainingData::classification(std::move(x), classes);
}

// Convolution -> BatchNormalization -> Ramp -> Pooling -> Flatten -> Linear -> Softmax.
inline Net small_cnn(const nlohmann::json& bn_options = nlohmann::json::object()) {
  return NetChain({{"conv", LayerNet::create("Convolution", {{"OutputChannels", 4}, {"KernelSize", 3}})},
                   {"bn", BatchNormalizationLayer(bn_options)},
                   {"ramp", RampLayer()},
                   {"pool", LayerNet::create("Pooling", {{"KernelSize", 2}})},
                   {"flatten", LayerNet::create("Flatten")},
                   {"lin", LinearLayer({{"OutputSize", 3}})},
                   {"softmax", LayerNet::create("Softmax")}},
                  {{"Input", {1, 8, 8}}});
}

// Every array of a net by path text, for bit comparisons.
inline std::vector<std::pair<std::string, NetPath>> cnn_arrays() {
  return {{"conv/Weights", {"conv", "Weights"}},   {"conv/Biases", {"conv", "Biases"}},
          {"bn/Scaling", {"bn", "Scaling"}},       {"bn/Biases", {"bn", "Biases"}},
          {"bn/MovingMean", {"bn", "MovingMean"}}, {"bn/MovingVariance", {"bn", "MovingVariance"}},
          {"lin/Weights", {"lin", "Weights"}},     {"lin/Biases", {"lin", "Biases"}}};
}

// A fresh directory under the system's temporary directory, removed when the test ends; the
// process id keeps test runs in different build directories apart.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name)
      : path((std::filesystem::temp_directory_path() /
              ("netkit-test-" + name + "-" + std::to_string(static_cast<long>(::getpid()))))
                 .string()) {
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace netkit::test
