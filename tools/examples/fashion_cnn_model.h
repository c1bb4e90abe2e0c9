// The example CNN, defined once for the C++ example and the model-file writer: MATLAB's example
// layer array adapted to 28x28x1 inputs.
#pragma once

#include <netkit/graph/net.h>

namespace netkit::examples {

// 3x3 convolution that keeps the map size, and 2x2 max pooling that halves it.
inline Net conv3x3(int channels) {
  return ConvolutionLayer({{"OutputChannels", channels}, {"KernelSize", 3}, {"PaddingSize", 1}});
}
inline Net max_pool2() { return PoolingLayer({{"KernelSize", 2}, {"Stride", 2}}); }

inline Net fashion_cnn() {
  return NetChain({{"conv1", conv3x3(16)},
                   {"bn1", BatchNormalizationLayer()},
                   {"relu1", RampLayer()},
                   {"pool1", max_pool2()},
                   {"conv2", conv3x3(32)},
                   {"bn2", BatchNormalizationLayer()},
                   {"relu2", RampLayer()},
                   {"pool2", max_pool2()},
                   {"fc", LinearLayer({{"OutputSize", 10}})},
                   {"softmax", SoftmaxLayer()}},
                  {{"Input", {1, 28, 28}}});
}

// The larger example (data/models/fashion_cnn_large.json): three convolutions with batch norm,
// dropout and a batch-normalized hidden Linear layer. Sized for the 15-minute budget of this
// 2-core machine: the second and third convolutions run on 14x14 maps, where a 32 -> 32
// convolution on 28x28 would have cost about as much as the whole net (docs/models.md).
inline Net fashion_cnn_large() {
  return NetChain({{"conv1", conv3x3(32)},
                   {"bn1", BatchNormalizationLayer()},
                   {"relu1", RampLayer()},
                   {"pool1", max_pool2()},
                   {"conv2", conv3x3(64)},
                   {"bn2", BatchNormalizationLayer()},
                   {"relu2", RampLayer()},
                   {"conv3", conv3x3(64)},
                   {"bn3", BatchNormalizationLayer()},
                   {"relu3", RampLayer()},
                   {"pool2", max_pool2()},
                   {"drop1", DropoutLayer({{"DropoutProbability", 0.25}})},
                   {"fc1", LinearLayer({{"OutputSize", 256}})},
                   {"bn4", BatchNormalizationLayer()},
                   {"relu4", RampLayer()},
                   {"drop2", DropoutLayer({{"DropoutProbability", 0.5}})},
                   {"fc2", LinearLayer({{"OutputSize", 10}})},
                   {"softmax", SoftmaxLayer()}},
                  {{"Input", {1, 28, 28}}});
}

}  // namespace netkit::examples
