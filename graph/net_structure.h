// The structure of one container (NetChain or NetGraph): which node port feeds which, the
// container's own ports, and a topological order of the nodes. Structural errors (unknown nodes
// or ports, a port fed twice, cycles, chain arity) are found here, naming the node and port.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace netkit {

class Net;
struct Edge;

struct NodePort {
  int node = -1;  // -1: a port of the container itself
  std::string port;
};

struct Structure {
  std::vector<std::string> inputs, outputs;            // the container's ports, in order
  std::vector<std::map<std::string, NodePort>> feeds;  // per node: input port -> what feeds it
  std::vector<NodePort> output_sources;                // per container output: the node port feeding it
  std::vector<int> order;                              // nodes in a topological order
};

// `where` names the container in messages ("NetGraph", "NetChain").
Structure analyze_structure(const std::string& where, const std::vector<std::string>& names,
                            const std::vector<Net>& nodes, const std::vector<Edge>& edges);

// Edges of a chain: each node's single output into the next node's first input port.
std::vector<Edge> chain_edges(const std::vector<std::string>& names, const std::vector<Net>& nodes);

// "node \"bn1\" (BatchNormalization)": how messages name a node.
std::string node_where(const std::string& path, const std::string& type);

}  // namespace netkit
