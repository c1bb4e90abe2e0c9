// The example CNN, defined once for the C++ example and the model-file writer: MATLAB's example
// layer array adapted to 28x28x1 inputs.
#pragma once

#include "graph/net.h"

namespace netkit::examples {

inline Net fashion_cnn() {
  auto conv = [](int channels) {
    return ConvolutionLayer({{"OutputChannels", channels}, {"KernelSize", 3}, {"PaddingSize", 1}});
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

}  // namespace netkit::examples
