// Rewrites of a finished plan (see plan_fusion.cpp for why each one is exact).
#pragma once

#include <netkit/graph/plan.h>

namespace netkit {

// Softmax (last level) feeding a CrossEntropyLoss on probabilities -> the loss on logits; the
// Softmax stays only where its probabilities are read elsewhere or exported.
void fuse_softmax_cross_entropy(Plan& plan);

}  // namespace netkit
