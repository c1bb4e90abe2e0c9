// Writes the example model files in data/models/ from their C++ definitions:
//   build/tools/write_models data/models
// fashion_cnn.json: the MATLAB documentation's example layer array adapted to 28x28x1 inputs,
// uninitialized (NetTrain fills the arrays from its seed).
#include <cstdio>
#include <string>

#include "graph/net.h"
#include "graph/net_json.h"

using namespace netkit;

Net fashion_cnn() {
  const nlohmann::json conv3 = {{"KernelSize", 3}, {"PaddingSize", 1}};
  auto conv = [&](int channels) {
    nlohmann::json o = conv3;
    o["OutputChannels"] = channels;
    return ConvolutionLayer(o);
  };
  return NetChain({{"conv1", conv(16)},
                   {"bn1", BatchNormalizationLayer()},
                   {"relu1", RampLayer()},
                   {"pool1", PoolingLayer({{"KernelSize", 2}, {"Stride", 2}})},
                   {"conv2", conv(32)},
                   {"bn2", BatchNormalizationLayer()},
                   {"relu2", RampLayer()},
                   {"pool2", PoolingLayer({{"KernelSize", 2}, {"Stride", 2}})},
                   {"fc", LinearLayer({{"OutputSize", 10}})},
                   {"softmax", SoftmaxLayer()}},
                  {{"Input", {1, 28, 28}}});
}

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 ? argv[1] : "data/models";
  save_net(dir + "/fashion_cnn.json", fashion_cnn());
  std::printf("wrote %s/fashion_cnn.json\n", dir.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "write_models: %s\n", e.what());
  return 1;
}
