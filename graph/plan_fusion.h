// Rewrites of a finished plan (see plan_fusion.cpp for why each one is exact).
#pragma once

#include "graph/plan.h"

namespace netkit {

// Softmax (last level) feeding only a CrossEntropyLoss on probabilities -> one
// CrossEntropyLoss on logits.
void fuse_softmax_cross_entropy(Plan& plan);

}  // namespace netkit
