// The net NetTrain runs: the user's net with its loss.
//   - The net has an output port "Loss": it is trained as it is.
//   - A loss is given (a net with ports "Input" [, "Target", ...] and one output): it is attached
//     as NetGraph({{"net", net}, {"loss", loss}}, {{"net", NetPort("loss", "Input")}}); the
//     loss's other ports become the graph's, fed by the data ports of the same names.
//   - No loss, targets are class indices and the net ends in a Softmax:
//     CrossEntropyLoss["TargetForm" -> "Index"] is attached the same way (as Wolfram does; the
//     plan evaluates the Softmax -> CrossEntropyLoss pair as one stable logits loss).
//   - No loss and the targets are arrays: MeanSquaredLoss is attached.
// The trained net is the "net" node of the graph, copied back into the user's net.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <netkit/graph/net.h>
#include <netkit/train/dataset.h>

namespace netkit {

struct TrainingGraph {
  Net net;                      // outputs "Loss" (one number per example)
  size_t depth = 0;             // 1 when the user's net is node "net" of `net`, 0 when it is `net`
  bool classification = false;  // class-index targets: accuracy can be measured
  int64_t classes = 0;          // the net's class count (the output's last dimension)
  std::string output_port;      // the user net's output port (for the evaluation graph)
  // The same graph with the user's output exposed as port "Output" too (for accuracy).
  std::optional<Net> evaluation;
};

TrainingGraph make_training_graph(const Net& net, const std::optional<Net>& loss, TargetKind targets);

// Checks `data` (named `what` in messages, e.g. "training data") before training: examples, port
// names and example_shapes() against the graph's input ports; for in-memory data (TrainingData)
// also every value: finite, class indices in range. TrainingError naming the port and the example.
void check_data(const TrainingGraph& graph, const Dataset& data, const std::string& what);

// The value checks of check_data on one batch of another dataset, as it is loaded: finite data,
// class indices in range; messages start with `where` and name the example by its index in
// `indices` (the dataset's numbering).
void check_batch_values(const TrainingGraph& graph, const std::map<std::string, Array>& batch,
                        const std::vector<int64_t>& indices, const std::string& where);

}  // namespace netkit
