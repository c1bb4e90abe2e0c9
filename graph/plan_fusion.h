// Rewrites of a finished plan (see plan_fusion.cpp for why each one is exact).
#pragma once

#include <netkit/graph/plan.h>

namespace netkit {

// Every rewrite a layer offers for its producer (Layer::absorb_producer), e.g. a probability loss
// after a Softmax -> the loss on logits; the producer stays only where its output is read
// elsewhere or exported.
void fuse_producers(Plan& plan);

}  // namespace netkit
