// NetTrain's LearningRateMultipliers: rules in order, the first that matches an array wins.
//   {}                          every array (a default rule, put it last)
//   {"block"}, {"block", "bn1"} every array of every layer at or under that node (a layer path)
//   {"block", "Biases"}         arrays named "Biases" of every layer under "block" (array name
//                               under a path); {"Weights"} names that array in every layer
//   {2, "Weights"}              keys may be 1-based node indices, as in net paths
// An array no rule matches keeps its layer's own multiplier (LayerNet's, default 1). A
// multiplier of 0 freezes the array; on a batch-norm layer or its moving arrays it also freezes
// the moving statistics, because the rules are written into the training copy's layers, where
// the executor's moving update reads them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <netkit/graph/net.h>

namespace netkit {

struct MultiplierRule {
  NetPath path;
  double multiplier = 1.0;
};

// "{\"block\", 2, \"Weights\"}": a rule path as text for messages.
std::string rule_text(const NetPath& path);

// The first rule matching array `array` of the layer whose node names and (0-based) indices
// from the user's net down are `names` / `indices`; nullopt when none matches.
std::optional<double> resolve_multiplier(const std::vector<MultiplierRule>& rules,
                                         const std::vector<std::string>& names, const std::vector<size_t>& indices,
                                         const std::string& array);

// Writes the resolved multipliers into the layers of `net`, whose user net sits `depth` levels
// down (0: `net` is the user's net; 1: it is node `net` of a training graph). Throws OptionError
// for a multiplier that is negative or not finite, and for a rule that matches no array.
void apply_multiplier_rules(Net& net, const std::vector<MultiplierRule>& rules, size_t depth);

}  // namespace netkit
