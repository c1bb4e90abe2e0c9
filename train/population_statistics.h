// Batch normalization's "Statistics" -> "Population" (docs/batch_norm.md; MATLAB's
// BatchNormalizationStatistics "population"): after the last training step, one pass over the
// training data sets MovingMean / MovingVariance of each such layer to the exact mean and biased
// variance of everything that reaches the layer's input, the net evaluated in Test mode.
// Layers go one at a time in topological order, so a later layer sees the earlier layers
// already normalising with their final, whole-set statistics. Per-batch moments (two-pass, in
// double) are combined with Chan et al.'s pairwise rule, never by averaging batch variances.
//
// The trainer knows the layer only by its type name and options: a
// "BatchNormalization" step whose options say "Statistics" -> "Population". A moving array whose
// resolved learning-rate multiplier is 0 is left alone (frozen), as is every moving array of a
// layer with "Momentum" -> 1 (frozen statistics).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <netkit/core/array.h>
#include <netkit/graph/net.h>
#include <netkit/train/dataset.h>

namespace netkit {

// Updates every population-statistics layer of `net` from `data` (ports matched to the net's
// input ports by name; other ports are ignored) in batches of `batch_size`. Returns the number of
// layers updated.
int64_t set_population_statistics(Net& net, const Dataset& data, int64_t batch_size);

// The per-channel whole-set mean and biased variance of the input of plan step `step` of `net`
// over `data`, in Test mode (exposed for tests). Channels per the BN layout of that step.
struct ChannelMoments {
  std::vector<double> mean, variance;
  double count = 0;  // values per channel
};
ChannelMoments input_moments(const Net& net, size_t step, bool interleaving, const Dataset& data, int64_t batch_size);

}  // namespace netkit
