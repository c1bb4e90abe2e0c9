// What a net is made of, for people: counts, arrays, ports, a printed layer table in the spirit
// of MATLAB's layer-array display and Wolfram's summary, and a Graphviz DOT text.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <netkit/graph/net.h>

namespace netkit {

struct NetArrayInfo {
  std::string key;  // "block/bn1/Scaling", or the shared array's name
  Shape shape;
  ArrayRole role;
  int64_t elements;  // -1 while the shape is not known
  bool initialized;
  bool shared;
};

struct NetInfo {
  int64_t layer_count = 0;
  int64_t array_count = 0;     // stored arrays: a shared array counts once
  int64_t total_elements = 0;  // over arrays of known shape
  std::vector<NetArrayInfo> arrays;
  std::vector<PortInfo> inputs, outputs;
  std::map<std::string, int64_t> layer_types;  // type -> count
  std::string dot;
};

NetInfo information(const Net& net);
// One row per layer: index, path, type, input and output shapes, arrays with shapes.
std::string layer_table(const Net& net);
std::string to_dot(const Net& net);
std::ostream& operator<<(std::ostream& out, const Net& net);

}  // namespace netkit
