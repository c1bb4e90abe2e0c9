// Batch normalization's "Statistics" -> "Population" (docs/batch_norm.md; MATLAB's
// BatchNormalizationStatistics "population"): after the last training step, one pass over the
// training data sets MovingMean / MovingVariance of each such layer to the exact mean and biased
// variance of everything that reaches the layer's input, the net evaluated in Test mode.
// Layers go one at a time in topological order, so a later layer sees the earlier layers
// already normalising with their final, whole-set statistics. Per-batch moments (two-pass, in
// double) are combined with Chan et al.'s pairwise rule, never by averaging batch variances.
//
// Which layers take part, and how their statistics are gathered, is each layer's own answer
// (Layer::population_accumulator): the pass runs the net through an executor and feeds every such
// layer's input to its accumulator. A moving array whose resolved learning-rate multiplier is 0
// is left alone (frozen), and batch norm with "Momentum" -> 1 (frozen statistics) takes no part.
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

}  // namespace netkit
