// Net: a value that is a single layer, a NetChain or a NetGraph. Containers
// hold named nodes (each a Net, so chains and graphs nest) and port-to-port edges; ports left
// unconnected become the container's own ports. Construction validates the structure and infers
// every shape it can (graph/plan.h), so a bad net fails where it is written.
//
// Paths reach any node, array or option: node names (or 1-based indices, as Wolfram's
// NetExtract), then an array or option name: {"block", "bn1", "MovingMean"}, {2, "Weights"}.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <netkit/core/array.h>
#include <netkit/graph/layer_net.h>

namespace netkit {

struct Plan;
struct PlanStep;
struct NetGradients;

// One end of an edge: a node (optionally one of its ports) or, with an empty node, a port of the
// container itself. A plain string names a node; NetPort("Input") a container port;
// NetPort("total", "Input2") a node's port.
struct PortRef {
  std::string node, port;
  PortRef(const char* node_name) : node(node_name) {}
  PortRef(std::string node_name) : node(std::move(node_name)) {}
  PortRef(std::string node_name, std::string port_name) : node(std::move(node_name)), port(std::move(port_name)) {}
  bool is_container_port() const { return node.empty(); }
  std::string to_string() const;  // "conv1", "NetPort[\"Input\"]", "NetPort[\"total\", \"Input2\"]"
};
inline PortRef NetPort(std::string container_port) { return PortRef(std::string(), std::move(container_port)); }
inline PortRef NetPort(std::string node, std::string port) { return PortRef(std::move(node), std::move(port)); }

struct Edge {
  PortRef from, to;
};

// A path key: a name, or a 1-based index into a container's nodes.
struct PathKey {
  std::string name;
  int64_t index = 0;  // > 0 for an index key
  PathKey(const char* n) : name(n) {}
  PathKey(std::string n) : name(std::move(n)) {}
  PathKey(int i) : index(i) {}
  std::string to_string() const;
};
using NetPath = std::vector<PathKey>;

class Net {
 public:
  enum class Kind { Layer, Chain, Graph };

  Net();                // an empty NetGraph: no nodes, no ports
  Net(LayerNet layer);  // implicit: a layer is a net
  // options: container port shapes, e.g. {"Input": [1, 28, 28], "Output": 10}.
  static Net chain(std::vector<Net> layers, const nlohmann::json& options = nullptr);
  static Net chain(std::vector<std::pair<std::string, Net>> layers, const nlohmann::json& options = nullptr);
  static Net graph(std::vector<std::pair<std::string, Net>> nodes, std::vector<Edge> edges,
                   const nlohmann::json& options = nullptr);

  Net(const Net& other);
  Net& operator=(const Net& other);
  Net(Net&&) noexcept;
  Net& operator=(Net&&) noexcept;
  ~Net();

  Kind kind() const { return kind_; }
  std::string type() const;  // "NetChain", "NetGraph" or the layer's type
  bool is_layer() const { return kind_ == Kind::Layer; }
  const LayerNet& layer() const;
  LayerNet& layer();
  // Container contents.
  const std::vector<std::string>& node_names() const { return names_; }
  const std::vector<Net>& nodes() const { return nodes_; }
  const std::vector<Edge>& edges() const { return edges_; }
  const std::map<std::string, Shape>& fixed_ports() const { return fixed_ports_; }

  // The net's own ports, in order, with their inferred shapes.
  std::vector<std::string> input_ports() const;
  std::vector<std::string> output_ports() const;
  Shape port_shape(const std::string& port) const;
  const Plan& plan() const { return *plan_; }
  // The plan as shared: a new one is made whenever arrays, sharing or structure change, so holders
  // of bindings (an executor's array store) compare it to know when to bind again.
  const std::shared_ptr<const Plan>& plan_ptr() const { return plan_; }

  // Nodes, arrays and options by path.
  const Net& at(const NetPath& path) const;
  Net& at(const NetPath& path);
  bool has_array(const NetPath& path) const;
  const Array& array(const NetPath& path) const;  // InitializationError "not initialized" when missing
  void set_array(const NetPath& path, Array value);
  nlohmann::json option(const NetPath& path) const;

  // NetInitialize: fills missing learnable and moving arrays (or all) from `seed`, each from its
  // own stream named by its path, so the result does not depend on which arrays were missing.
  void initialize(uint64_t seed = 0, InitializeMode mode = InitializeMode::Missing);
  bool initialized() const;

  // Sharing: the named array backs the learnable arrays at `paths` (shapes must agree). The
  // value is taken from the first path that has one.
  void share_array(const std::string& name, const std::vector<NetPath>& paths);
  // Shares every shareable array of the layers at `layer_paths` (Scaling, Biases, Weights, ...),
  // as "<name>/<array>"; moving arrays are skipped, so each layer keeps its own statistics.
  void share_layer_arrays(const std::string& name, const std::vector<NetPath>& layer_paths);
  // Shared arrays by name, and which array paths each one backs.
  const std::map<std::string, std::vector<std::string>>& shared_users() const { return shared_users_; }
  bool has_shared_array(const std::string& name) const { return shared_values_.count(name) > 0; }
  const Array& shared_array(const std::string& name) const;

  // Evaluation (Test mode by default); see graph/executor.h for gradients and repeated batches.
  Array evaluate(const Array& example, Mode mode = Mode::Test) const;
  Array evaluate_batch(const Array& batch, Mode mode = Mode::Test) const;
  std::map<std::string, Array> evaluate_batch(const std::map<std::string, Array>& inputs, Mode mode = Mode::Test) const;
  // Gradients with respect to the inputs and every learnable array (graph/executor.h) for the
  // given dL/d(output) by port; with none given, of L = the sum of the net's only output (e.g. a
  // loss per example).
  NetGradients gradients(const std::map<std::string, Array>& inputs,
                         const std::map<std::string, Array>& output_gradients = {}, Mode mode = Mode::Test) const;

  // For the plan and the array store. The shared name behind an array path text relative to this
  // net ("block/lin/Weights"), if this net declares it shared; the storage of a shared array
  // (nullptr until it has a value).
  std::optional<std::string> shared_name_of(const std::string& array_path) const;
  Array* shared_storage(const std::string& name);
  const Array* shared_storage(const std::string& name) const;
  // Where array `array` of the layer at plan step `step` (a step of this net's plan) lives: the
  // layer's own array or, when a container shares it, that container's; nullptr until it has a
  // value. This is the one place that answers it: the array store (graph/array_store.h), path
  // access and initialization all ask here.
  const Array* storage_of(const PlanStep& step, const std::string& array) const;
  Array* storage_of(const PlanStep& step, const std::string& array);
  std::vector<std::string> names_at(const std::vector<size_t>& node_indices) const;  // node names along the way
  const Net& node_at(const std::vector<size_t>& node_indices) const;
  Net& node_at(const std::vector<size_t>& node_indices);

 private:
  // Stores a checked value where storage_of says the array lives.
  void put_storage(const PlanStep& step, const std::string& array, Array value);
  void set_container_ports(const nlohmann::json& options);
  void replan();
  // Replans this net and every net inside it, innermost first (after arrays changed).
  void replan_all();
  const PlanStep& step_of(const std::vector<size_t>& node_indices) const;
  // Resolves a path to the node indices it walks and the remaining keys (array or option name).
  std::pair<std::vector<size_t>, NetPath> resolve(const NetPath& path) const;

  Kind kind_ = Kind::Graph;
  std::unique_ptr<LayerNet> leaf_;
  std::vector<std::string> names_;
  std::vector<Net> nodes_;
  std::vector<Edge> edges_;
  std::map<std::string, Shape> fixed_ports_;
  std::vector<std::string> inputs_, outputs_;  // a container's ports
  // Shared arrays declared on this net: values (absent until initialized) and users by path text.
  std::map<std::string, std::optional<Array>> shared_values_;
  std::map<std::string, std::vector<std::string>> shared_users_;
  std::shared_ptr<const Plan> plan_;
};

// The Wolfram spellings.
inline Net NetChain(std::vector<Net> layers, const nlohmann::json& options = nullptr) {
  return Net::chain(std::move(layers), options);
}
inline Net NetChain(std::vector<std::pair<std::string, Net>> layers, const nlohmann::json& options = nullptr) {
  return Net::chain(std::move(layers), options);
}
inline Net NetGraph(std::vector<std::pair<std::string, Net>> nodes, std::vector<Edge> edges,
                    const nlohmann::json& options = nullptr) {
  return Net::graph(std::move(nodes), std::move(edges), options);
}

// "block/bn1/Scaling": the text form of a path, used in messages, gradients and files.
std::string path_text(const std::vector<std::string>& names);

}  // namespace netkit
