#include <netkit/graph/net_structure.h>

#include <algorithm>
#include <set>

#include <netkit/core/error.h>
#include <netkit/graph/net.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

std::string node_where(const std::string& path, const std::string& type) {
  return path.empty() ? type + " layer" : "node " + in_quotes(path) + " (" + type + ")";
}

namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

struct Resolver {
  const std::string& where;
  const std::vector<std::string>& names;
  const std::vector<Net>& nodes;

  int node_index(const std::string& at, const std::string& name) const {
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end())
      throw ShapeError(at, "unknown node " + in_quotes(name), "one of " + join_names(names), in_quotes(name));
    return static_cast<int>(it - names.begin());
  }

  // A node's port on one side of an edge; an empty port name means "the only one".
  NodePort node_port(const std::string& at, const PortRef& ref, bool output) const {
    const int n = node_index(at, ref.node);
    const auto ports = output ? nodes[n].output_ports() : nodes[n].input_ports();
    const std::string side = output ? "output" : "input";
    const std::string node = node_where(ref.node, nodes[n].type());
    if (ref.port.empty()) {
      if (ports.size() != 1)
        throw ShapeError(at + ", " + node, "ambiguous " + side + " port",
                         "NetPort[" + in_quotes(ref.node) + ", port] with port one of " + join_names(ports),
                         std::to_string(ports.size()) + " " + side + " ports");
      return {n, ports[0]};
    }
    if (!contains(ports, ref.port))
      throw ShapeError(at + ", " + node, "unknown " + side + " port " + in_quotes(ref.port),
                       "one of " + join_names(ports), in_quotes(ref.port));
    return {n, ref.port};
  }
};

// Unconnected ports take their own name ("Input", "Target"); several of the same name are
// numbered in node order ("Input1", "Input2").
std::vector<std::string> port_names(const std::vector<std::string>& plain) {
  std::map<std::string, int> count, seen;
  for (const auto& p : plain) ++count[p];
  std::vector<std::string> names;
  for (const auto& p : plain) names.push_back(count[p] == 1 ? p : p + std::to_string(++seen[p]));
  return names;
}

std::vector<int> topological_order(const std::string& where, const std::vector<std::string>& names,
                                   const std::vector<std::map<std::string, NodePort>>& feeds) {
  const size_t n = names.size();
  std::vector<std::set<int>> successors(n);
  std::vector<int> pending(n, 0);
  for (size_t i = 0; i < n; ++i) {
    std::set<int> preds;
    for (const auto& [port, src] : feeds[i])
      if (src.node >= 0) preds.insert(src.node);
    pending[i] = static_cast<int>(preds.size());
    for (int p : preds) successors[p].insert(static_cast<int>(i));
  }
  std::set<int> ready;  // smallest index first: the same order on every run
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.insert(static_cast<int>(i));
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (int s : successors[i])
      if (--pending[s] == 0) ready.insert(s);
  }
  if (order.size() != n) {
    std::vector<std::string> cycle;
    for (size_t i = 0; i < n; ++i)
      if (pending[i] > 0) cycle.push_back(names[i]);
    throw ShapeError(where, "the edges form a cycle", "an acyclic graph", "a cycle through " + join_names(cycle));
  }
  return order;
}

}  // namespace

Structure analyze_structure(const std::string& where, const std::vector<std::string>& names,
                            const std::vector<Net>& nodes, const std::vector<Edge>& edges) {
  const Resolver r{where, names, nodes};
  Structure s;
  s.feeds.resize(nodes.size());
  std::vector<std::string> explicit_outputs;
  std::vector<NodePort> explicit_output_sources;
  std::set<std::pair<int, std::string>> used_outputs;
  for (size_t e = 0; e < edges.size(); ++e) {
    const Edge& edge = edges[e];
    const std::string at =
        where + ", edge " + std::to_string(e + 1) + " (" + edge.from.to_string() + " -> " + edge.to.to_string() + ")";
    NodePort from;
    if (edge.from.is_container_port()) {
      from = {-1, edge.from.port};
      if (!contains(s.inputs, from.port)) s.inputs.push_back(from.port);
    } else {
      from = r.node_port(at, edge.from, true);
      used_outputs.insert({from.node, from.port});
    }
    if (edge.to.is_container_port()) {
      if (contains(explicit_outputs, edge.to.port))
        throw ShapeError(at, "port " + in_quotes(edge.to.port) + " is fed twice", "one edge into each port",
                         "a second edge");
      if (from.node < 0)
        throw ShapeError(at, "an edge joins two ports of the container", "a node on at least one side", "no node");
      explicit_outputs.push_back(edge.to.port);
      explicit_output_sources.push_back(from);
      continue;
    }
    const NodePort to = r.node_port(at, edge.to, false);
    if (s.feeds[to.node].count(to.port))
      throw ShapeError(at + ", " + node_where(names[to.node], nodes[to.node].type()) + ", port " + in_quotes(to.port),
                       "port is fed twice", "one edge into each input port", "a second edge");
    s.feeds[to.node][to.port] = from;
  }

  // Unconnected node ports become the container's own ports.
  std::vector<std::string> open_in, open_out;
  std::vector<NodePort> open_in_ports, open_out_ports;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& p : nodes[i].input_ports())
      if (!s.feeds[i].count(p)) open_in.push_back(p), open_in_ports.push_back({static_cast<int>(i), p});
    for (const auto& p : nodes[i].output_ports())
      if (!used_outputs.count({static_cast<int>(i), p}) &&
          std::none_of(explicit_output_sources.begin(), explicit_output_sources.end(),
                       [&](const NodePort& np) { return np.node == static_cast<int>(i) && np.port == p; }))
        open_out.push_back(p), open_out_ports.push_back({static_cast<int>(i), p});
  }
  const auto in_names = port_names(open_in), out_names = port_names(open_out);
  for (size_t k = 0; k < in_names.size(); ++k) {
    if (contains(s.inputs, in_names[k]))
      throw ShapeError(where + ", " + node_where(names[open_in_ports[k].node], nodes[open_in_ports[k].node].type()) +
                           ", port " + in_quotes(open_in_ports[k].port),
                       "unconnected port clashes with the container port " + in_quotes(in_names[k]),
                       "an edge into this port", "none");
    s.inputs.push_back(in_names[k]);
    s.feeds[open_in_ports[k].node][open_in_ports[k].port] = {-1, in_names[k]};
  }
  s.outputs = explicit_outputs;
  s.output_sources = explicit_output_sources;
  for (size_t k = 0; k < out_names.size(); ++k) {
    if (contains(s.outputs, out_names[k]))
      throw ShapeError(where + ", " + node_where(names[open_out_ports[k].node], nodes[open_out_ports[k].node].type()) +
                           ", port " + in_quotes(open_out_ports[k].port),
                       "unconnected port clashes with the container port " + in_quotes(out_names[k]),
                       "an edge from this port", "none");
    s.outputs.push_back(out_names[k]);
    s.output_sources.push_back(open_out_ports[k]);
  }
  s.order = topological_order(where, names, s.feeds);
  return s;
}

std::vector<Edge> chain_edges(const std::vector<std::string>& names, const std::vector<Net>& nodes) {
  std::vector<Edge> edges;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto ins = nodes[i].input_ports(), outs = nodes[i].output_ports();
    const std::string at = "NetChain, " + node_where(names[i], nodes[i].type());
    const bool first = i == 0, last = i + 1 == nodes.size();
    if (!last && outs.size() != 1)
      throw ShapeError(at, "a layer before the end of a chain needs exactly one output port", "1 output port",
                       std::to_string(outs.size()) + " (" + join_names(outs) + ")");
    if (!first && !last && ins.size() != 1)
      throw ShapeError(at, "a layer inside a chain needs exactly one input port", "1 input port",
                       std::to_string(ins.size()) + " (" + join_names(ins) + ")",
                       "Use NetGraph for layers with several inputs");
    if (!first && ins.empty())
      throw ShapeError(at, "a layer after the start of a chain needs an input port", "1 input port", "none");
    if (!first) edges.push_back({NetPort(names[i - 1], nodes[i - 1].output_ports()[0]), NetPort(names[i], ins[0])});
  }
  return edges;
}

}  // namespace netkit
