// A plan: a net flattened to its layers in a topological order, every port bound to a value,
// every shape inferred to a fixpoint in both directions, every array declared. It is immutable; the executor runs it
// and the net keeps one for its static shapes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <netkit/core/shape.h>
#include <netkit/layers/layer.h>

namespace netkit {

class Net;

struct PlanValue {
  Shape shape;                 // per example
  std::string source;          // "node \"conv1\" port \"Output\"" or "port \"Input\""
  int producer = -1;           // step index; -1 for a net input
  std::vector<int> consumers;  // step indices (a step appears once per port that reads the value)
};

struct PlanStep {
  std::vector<size_t> node_indices;  // from the top net down to this layer
  std::string path;                  // "block/bn1"
  std::string where;                 // "node \"block/bn1\" (BatchNormalization)"
  LayerPtr layer;
  LayerShapes shapes;
  std::vector<int> inputs, outputs;  // value ids, in port order
  std::vector<ArrayDecl> decls;      // every array: learnable and moving first, then saved
  // Arrays backed by a shared array, by array name.
  struct Shared {
    std::vector<size_t> container;  // the container that declares it
    std::string name;               // its name there
    std::string key;                // the container's path + name: "W", "block/W"
  };
  std::map<std::string, Shared> shared;
  // The key of an array in gradients and trainer lists: "block/bn1/Scaling", or the shared name.
  std::string array_key(const std::string& array) const;
};

struct Plan {
  std::vector<PlanValue> values;
  std::vector<PlanStep> steps;  // in a topological order
  std::vector<std::string> input_names, output_names;
  std::vector<int> input_values, output_values;
  // The values at the ports of nested containers, by "<path>:<port>".
  std::map<std::string, int> nested_ports;
  // The shape of a net port by name; throws OptionError naming the ports when unknown.
  Shape port_shape(const std::string& port) const;
};

// Plans `net`; `input_shapes` (per example, by input port) add what the data says. `fuse` applies
// the rewrites of graph/plan_fusion.h: plans for running do, plans describing the net do not.
Plan make_plan(const Net& net, const std::map<std::string, Shape>& input_shapes = {}, bool fuse = false);

}  // namespace netkit
