#include <netkit/graph/net.h>

#include <algorithm>
#include <set>

#include <netkit/core/error.h>
#include <netkit/graph/array_json.h>
#include <netkit/graph/executor.h>
#include <netkit/graph/net_structure.h>
#include <netkit/graph/plan.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

std::string PortRef::to_string() const {
  if (node.empty()) return "NetPort[" + in_quotes(port) + "]";
  if (port.empty()) return in_quotes(node);
  return "NetPort[" + in_quotes(node) + ", " + in_quotes(port) + "]";
}

std::string PathKey::to_string() const { return index > 0 ? std::to_string(index) : in_quotes(name); }

std::string path_text(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : "/") + n;
  return out;
}

Net::Net() : plan_(std::make_shared<const Plan>()) {}

Net::Net(LayerNet layer) : kind_(Kind::Layer), leaf_(std::make_unique<LayerNet>(std::move(layer))) { replan(); }

Net::Net(const Net& other)
    : kind_(other.kind_),
      leaf_(other.leaf_ ? std::make_unique<LayerNet>(*other.leaf_) : nullptr),
      names_(other.names_),
      nodes_(other.nodes_),
      edges_(other.edges_),
      fixed_ports_(other.fixed_ports_),
      inputs_(other.inputs_),
      outputs_(other.outputs_),
      shared_values_(other.shared_values_),
      shared_users_(other.shared_users_),
      plan_(other.plan_) {}

Net& Net::operator=(const Net& other) {
  if (this != &other) *this = Net(other);
  return *this;
}

Net::Net(Net&&) noexcept = default;
Net& Net::operator=(Net&&) noexcept = default;
Net::~Net() = default;

Net Net::chain(std::vector<Net> layers, const nlohmann::json& options) {
  std::vector<std::pair<std::string, Net>> named;
  for (size_t i = 0; i < layers.size(); ++i) named.emplace_back(std::to_string(i + 1), std::move(layers[i]));
  return chain(std::move(named), options);
}

namespace {

void check_node_names(const std::string& where, const std::vector<std::string>& names) {
  if (names.empty()) throw OptionError(where, "no layers", "at least one layer", "none");
  std::set<std::string> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string at = where + ", node " + std::to_string(i + 1);
    if (names[i].empty()) throw OptionError(at, "empty node name", "a non-empty name", "\"\"");
    if (names[i].find('/') != std::string::npos)
      throw OptionError(at, "node name contains \"/\" (the path separator)", "a name without \"/\"",
                        in_quotes(names[i]));
    if (!seen.insert(names[i]).second)
      throw OptionError(at, "duplicate node name", "unique names", in_quotes(names[i]));
  }
}

}  // namespace

Net Net::chain(std::vector<std::pair<std::string, Net>> layers, const nlohmann::json& options) {
  Net net;
  net.kind_ = Kind::Chain;
  for (auto& [name, node] : layers) net.names_.push_back(name), net.nodes_.push_back(std::move(node));
  check_node_names("NetChain", net.names_);
  net.edges_ = chain_edges(net.names_, net.nodes_);
  net.set_container_ports(options);
  return net;
}

Net Net::graph(std::vector<std::pair<std::string, Net>> nodes, std::vector<Edge> edges, const nlohmann::json& options) {
  Net net;
  net.kind_ = Kind::Graph;
  for (auto& [name, node] : nodes) net.names_.push_back(name), net.nodes_.push_back(std::move(node));
  check_node_names("NetGraph", net.names_);
  net.edges_ = std::move(edges);
  net.set_container_ports(options);
  return net;
}

void Net::set_container_ports(const nlohmann::json& options) {
  const Structure s = analyze_structure(type(), names_, nodes_, edges_);
  inputs_ = s.inputs;
  outputs_ = s.outputs;
  if (!options.is_null() && !options.is_object())
    throw OptionError(type() + " options", "options must be a JSON object", "an object", json_type_name(options));
  if (options.is_object()) {
    std::vector<std::string> ports = inputs_;
    ports.insert(ports.end(), outputs_.begin(), outputs_.end());
    for (auto it = options.begin(); it != options.end(); ++it) {
      const std::string at = type() + ", option " + in_quotes(it.key());
      if (std::find(ports.begin(), ports.end(), it.key()) == ports.end())
        throw OptionError(type(), "unknown option " + in_quotes(it.key()), "a port name: one of " + join_names(ports),
                          in_quotes(it.key()));
      try {
        fixed_ports_[it.key()] = shape_from_json(*it, "");
      } catch (const FormatError& e) {
        throw OptionError(at, e.problem(), e.expected(), e.got(), e.hint());
      }
    }
  }
  replan();
}

void Net::replan() { plan_ = std::make_shared<const Plan>(make_plan(*this)); }

std::string Net::type() const {
  switch (kind_) {
    case Kind::Layer:
      return leaf_->type();
    case Kind::Chain:
      return "NetChain";
    case Kind::Graph:
      return "NetGraph";
  }
  return "";
}

const LayerNet& Net::layer() const {
  if (!leaf_) throw OptionError(type(), "not a layer", "a layer", "a " + type());
  return *leaf_;
}

LayerNet& Net::layer() {
  if (!leaf_) throw OptionError(type(), "not a layer", "a layer", "a " + type());
  return *leaf_;
}

std::vector<std::string> Net::input_ports() const { return leaf_ ? leaf_->layer().input_ports() : inputs_; }
std::vector<std::string> Net::output_ports() const { return leaf_ ? leaf_->layer().output_ports() : outputs_; }
Shape Net::port_shape(const std::string& port) const { return plan_->port_shape(port); }

std::vector<std::string> Net::names_at(const std::vector<size_t>& node_indices) const {
  std::vector<std::string> names;
  const Net* n = this;
  for (size_t i : node_indices) names.push_back(n->names_.at(i)), n = &n->nodes_[i];
  return names;
}

const Net& Net::node_at(const std::vector<size_t>& node_indices) const {
  const Net* n = this;
  for (size_t i : node_indices) n = &n->nodes_.at(i);
  return *n;
}

Net& Net::node_at(const std::vector<size_t>& node_indices) {
  Net* n = this;
  for (size_t i : node_indices) n = &n->nodes_.at(i);
  return *n;
}

std::pair<std::vector<size_t>, NetPath> Net::resolve(const NetPath& path) const {
  std::vector<size_t> idx;
  const Net* n = this;
  std::vector<std::string> walked;
  size_t k = 0;
  for (; k < path.size() && !n->is_layer(); ++k) {
    const PathKey& key = path[k];
    const std::string at = walked.empty() ? n->type() : node_where(path_text(walked), n->type());
    size_t i = 0;
    if (key.index > 0) {
      if (static_cast<size_t>(key.index) > n->nodes_.size())
        throw OptionError(at, "node index out of range", "1 to " + std::to_string(n->nodes_.size()),
                          std::to_string(key.index));
      i = static_cast<size_t>(key.index - 1);
    } else {
      auto it = std::find(n->names_.begin(), n->names_.end(), key.name);
      if (it == n->names_.end() && k + 1 == path.size()) break;  // a container's option (a port name)
      if (it == n->names_.end())
        throw OptionError(at, "unknown node " + in_quotes(key.name), "one of " + join_names(n->names_),
                          in_quotes(key.name));
      i = static_cast<size_t>(it - n->names_.begin());
    }
    walked.push_back(n->names_[i]);
    idx.push_back(i);
    n = &n->nodes_[i];
  }
  return {idx, NetPath(path.begin() + static_cast<long>(k), path.end())};
}

const Net& Net::at(const NetPath& path) const {
  auto [idx, rest] = resolve(path);
  const Net& node = node_at(idx);
  if (!rest.empty() && !node.is_layer())
    throw OptionError(idx.empty() ? type() : node_where(path_text(names_at(idx)), node.type()),
                      "unknown node " + in_quotes(rest[0].name), "one of " + join_names(node.names_),
                      in_quotes(rest[0].name));
  if (!rest.empty())
    throw OptionError(node_where(path_text(names_at(idx)), node.type()), "path goes past a layer", "a path to a node",
                      "the extra key " + rest[0].to_string());
  return node_at(idx);
}

Net& Net::at(const NetPath& path) { return const_cast<Net&>(static_cast<const Net&>(*this).at(path)); }

std::optional<std::string> Net::shared_name_of(const std::string& array_path) const {
  for (const auto& [name, users] : shared_users_)
    if (std::find(users.begin(), users.end(), array_path) != users.end()) return name;
  return std::nullopt;
}

Array* Net::shared_storage(const std::string& name) {
  auto it = shared_values_.find(name);
  return it != shared_values_.end() && it->second ? &*it->second : nullptr;
}

const Array* Net::shared_storage(const std::string& name) const {
  auto it = shared_values_.find(name);
  return it != shared_values_.end() && it->second ? &*it->second : nullptr;
}

const Array& Net::shared_array(const std::string& name) const {
  auto it = shared_values_.find(name);
  if (it == shared_values_.end()) {
    std::vector<std::string> names;
    for (const auto& e : shared_values_) names.push_back(e.first);
    throw OptionError(type(), "unknown shared array " + in_quotes(name),
                      names.empty() ? "no shared arrays" : "one of " + join_names(names), in_quotes(name));
  }
  if (!it->second)
    throw InitializationError("shared array " + in_quotes(name), "not initialized", "an initialized array", "no value",
                              "Use initialize() or set the array");
  return *it->second;
}

}  // namespace netkit
