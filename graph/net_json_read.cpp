// Reading nets from JSON model files (graph/net_json.h, docs/format.md). Two passes: the first
// builds the net without its arrays and checks every array in the file against the shapes that
// net infers (so a wrong array is reported at its own JSON pointer); the second builds the net
// with the arrays. Nothing is allocated for an array before its data's length is checked.
#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/graph/array_json.h>
#include <netkit/graph/json_keys.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/graph/net_json.h>
#include <netkit/graph/plan.h>
#include <netkit/layers/option_reader.h>
#include <netkit/layers/registry.h>

namespace netkit {

namespace {

constexpr int kMaxDepth = 64;  // containers inside containers

using Key = std::pair<std::vector<size_t>, std::string>;  // node indices, array (or shared) name

struct LoadedArray {
  std::string where;
  Array value;
};

struct Loaded {
  bool with_arrays = false;  // second pass: put the arrays in
  std::map<Key, LoadedArray> leaf, shared;
};

const nlohmann::json& member(const nlohmann::json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end())
    throw FormatError(where, "missing key " + in_quotes(key), "an object with " + in_quotes(key), "none");
  return *it;
}

void only_keys(const nlohmann::json& object, const std::vector<std::string>& keys, const std::string& where) {
  for (auto it = object.begin(); it != object.end(); ++it)
    if (std::find(keys.begin(), keys.end(), it.key()) == keys.end())
      throw FormatError(where + "/" + json_pointer_token(it.key()), "unknown key", "one of " + join_names(keys),
                        in_quotes(it.key()));
}

const std::string& string_at(const nlohmann::json& v, const std::string& where, const char* what) {
  if (!v.is_string()) throw FormatError(where, "wrong type", what, json_type_name(v));
  return v.get_ref<const std::string&>();
}

// An array from the file; its data's length is checked against the shape before anything is
// allocated, and base64 data takes the fast decoder (array_from_json gives the messages).
Array read_array(const nlohmann::json& v, const std::string& where) {
  if (v.is_object() && v.size() == 3 && v.contains("shape") && v.contains("data") && v.contains("dtype") &&
      v["dtype"] == "float32") {
    const Shape shape = shape_from_json(v["shape"], where + "/shape");
    if (shape.known()) {
      const int64_t n = shape.num_elements();  // at most kMaxElements, checked by the shape
      const auto& data = v["data"];
      if (data.is_string()) {
        const size_t chars = data.get_ref<const std::string&>().size();
        if (chars != static_cast<size_t>((n * 4 + 2) / 3 * 4))
          throw FormatError(where + "/data", "base64 data does not match the shape " + shape.to_string(),
                            std::to_string(n) + " float32 values", std::to_string(chars) + " base64 characters");
        Array out(shape);
        if (float32_from_base64(data.get_ref<const std::string&>(), out)) return out;
      } else if (data.is_array() && static_cast<int64_t>(data.size()) != n) {
        throw FormatError(where + "/data", "data length does not match the shape " + shape.to_string(),
                          std::to_string(n) + " values", std::to_string(data.size()));
      }
    }
  }
  return array_from_json(v, where);
}

// An array's current name, for a name an older file may use (layers/registry.h legacy_names).
std::string current_name(const std::string& type, const std::string& name) {
  const auto& renamed = legacy_names(type).arrays;
  const auto it = renamed.find(name);
  return it == renamed.end() ? name : it->second;
}

nlohmann::json renamed_keys(const std::string& type, const nlohmann::json& object, const std::string& where) {
  if (!object.is_object()) return object;
  nlohmann::json out = nlohmann::json::object();
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string name = current_name(type, it.key());
    if (out.contains(name) || (name != it.key() && object.contains(name)))
      throw FormatError(where + "/" + json_pointer_token(it.key()), "both a legacy name and its new name",
                        "one of them", in_quotes(it.key()) + " and " + in_quotes(name));
    out[name] = *it;
  }
  return out;
}

std::vector<std::string> known_types() {
  auto types = known_layer_types();
  types.push_back("NetChain");
  types.push_back("NetGraph");
  return types;
}

LayerNet read_layer(const nlohmann::json& record, const std::string& where, const std::vector<size_t>& idx,
                    Loaded& loaded) {
  const std::string type = record["type"].get<std::string>();
  nlohmann::json bare = nlohmann::json::object();  // everything but the arrays, legacy names renamed
  for (auto it = record.begin(); it != record.end(); ++it)
    if (it.key() != "arrays") bare[it.key()] = *it;
  const LegacyNames& legacy = legacy_names(type);
  if (!legacy.added_options.empty() || !legacy.options_by_array.empty()) {
    if (!bare.contains("options")) bare["options"] = nlohmann::json::object();
    if (bare["options"].is_object()) {
      nlohmann::json& options = bare["options"];
      for (auto it = legacy.added_options.begin(); it != legacy.added_options.end(); ++it)
        if (!options.contains(it.key())) options[it.key()] = *it;
      for (const std::string& name : legacy.options_by_array)
        if (options.contains(name))
          options[name] = renamed_keys(type, options[name], where + "/options/" + json_pointer_token(name));
    }
  }
  if (!legacy.arrays.empty() && bare.contains("LearningRateMultipliers"))
    bare["LearningRateMultipliers"] =
        renamed_keys(type, bare["LearningRateMultipliers"], where + "/LearningRateMultipliers");
  LayerNet leaf = layer_net_from_json(bare, where);
  if (!record.contains("arrays")) return leaf;
  const auto& arrays = record["arrays"];
  if (!arrays.is_object())
    throw FormatError(where + "/arrays", "wrong type", "an object of arrays", json_type_name(arrays));
  for (auto it = arrays.begin(); it != arrays.end(); ++it) {
    const std::string at = where + "/arrays/" + json_pointer_token(it.key());
    const Key key{idx, current_name(type, it.key())};
    if (!loaded.with_arrays) {
      if (loaded.leaf.count(key))
        throw FormatError(at, "both a legacy name and its new name", "one of them",
                          in_quotes(it.key()) + " and " + in_quotes(key.second));
      loaded.leaf[key] = {at, read_array(*it, at)};
    } else {
      at_pointer(at, [&] { leaf.set_array(key.second, std::move(loaded.leaf.at(key).value)); });
    }
  }
  return leaf;
}

// "a/b/Weights" -> {"a", "b", "Weights"}.
NetPath split_path(const std::string& text) {
  NetPath path;
  for (size_t start = 0, slash;; start = slash + 1) {
    slash = text.find('/', start);
    path.emplace_back(text.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return path;
  }
}

Net read_net(const nlohmann::json& record, const std::string& where, const std::vector<size_t>& idx, int depth,
             Loaded& loaded);

PortRef read_end(const nlohmann::json& v, const std::string& where, const std::vector<std::string>& names,
                 const std::vector<Net>& nodes, bool from) {
  if (!v.is_object())
    throw FormatError(where, "wrong type for an edge end", "an object with \"node\" and/or \"port\"",
                      json_type_name(v));
  only_keys(v, {"node", "port"}, where);
  if (v.empty()) throw FormatError(where, "empty edge end", "\"node\" and/or \"port\"", "{}");
  std::string node, port;
  if (v.contains("node")) {
    node = string_at(v["node"], where + "/node", "a node name");
    if (std::find(names.begin(), names.end(), node) == names.end())
      throw FormatError(where + "/node", "dangling edge: unknown node", "one of " + join_names(names), in_quotes(node));
  }
  if (v.contains("port")) {
    port = string_at(v["port"], where + "/port", "a port name");
    if (port.empty()) throw FormatError(where + "/port", "empty port name", "a port name", "\"\"");
    if (!node.empty()) {
      const Net& n = nodes[static_cast<size_t>(std::find(names.begin(), names.end(), node) - names.begin())];
      const auto ports = from ? n.output_ports() : n.input_ports();
      if (std::find(ports.begin(), ports.end(), port) == ports.end())
        throw FormatError(
            where + "/port",
            "dangling edge: unknown " + std::string(from ? "output" : "input") + " port of " + in_quotes(node),
            "one of " + join_names(ports), in_quotes(port));
    }
  }
  return PortRef(node, port);
}

void check_ports(const Net& net, const nlohmann::json& list, const std::vector<std::string>& ports,
                 const std::string& where) {
  if (!list.is_array()) throw FormatError(where, "wrong type", "a list of ports", json_type_name(list));
  if (list.size() != ports.size())
    throw FormatError(where, "port list does not match the net",
                      std::to_string(ports.size()) + " ports (" + join_names(ports) + ")", std::to_string(list.size()));
  for (size_t i = 0; i < ports.size(); ++i) {
    const std::string at = where + "/" + std::to_string(i);
    if (!list[i].is_object())
      throw FormatError(at, "wrong type", "an object with \"name\" and \"shape\"", json_type_name(list[i]));
    only_keys(list[i], {"name", "shape"}, at);
    const std::string& name = string_at(member(list[i], "name", at), at + "/name", "a port name");
    if (name != ports[i])
      throw FormatError(at + "/name", "port does not match the net", in_quotes(ports[i]), in_quotes(name));
    const Shape shape = shape_from_json(member(list[i], "shape", at), at + "/shape");
    if (!(shape == net.port_shape(name)))
      throw FormatError(at + "/shape", "port shape does not match the net", net.port_shape(name).to_string(),
                        shape.to_string());
  }
}

Net read_container(const nlohmann::json& record, const std::string& where, const std::vector<size_t>& idx, int depth,
                   Loaded& loaded, bool graph) {
  if (depth >= kMaxDepth)
    throw FormatError(where, "containers nested too deeply", "at most " + std::to_string(kMaxDepth) + " levels",
                      "more");
  std::vector<std::string> keys{"type", "nodes", "ports", "inputs", "outputs", "shared"};
  if (graph) keys.push_back("edges");
  only_keys(record, keys, where);
  const auto& nodes = member(record, "nodes", where);
  if (!nodes.is_array()) throw FormatError(where + "/nodes", "wrong type", "a list of nodes", json_type_name(nodes));
  std::vector<std::string> names;
  std::vector<Net> nets;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const std::string at = where + "/nodes/" + std::to_string(i);
    if (!nodes[i].is_object())
      throw FormatError(at, "wrong type for a node", "an object with \"name\" and \"net\"", json_type_name(nodes[i]));
    only_keys(nodes[i], {"name", "net"}, at);
    const std::string& name = string_at(member(nodes[i], "name", at), at + "/name", "a node name");
    if (name.empty() || name.find('/') != std::string::npos)
      throw FormatError(at + "/name", "invalid node name", "a non-empty name without \"/\"", in_quotes(name));
    if (std::find(names.begin(), names.end(), name) != names.end())
      throw FormatError(at + "/name", "duplicate node name", "unique names", in_quotes(name));
    std::vector<size_t> child = idx;
    child.push_back(i);
    names.push_back(name);
    nets.push_back(read_net(member(nodes[i], "net", at), at + "/net", child, depth + 1, loaded));
  }
  nlohmann::json ports = nlohmann::json::object();
  if (record.contains("ports")) {
    if (!record["ports"].is_object())
      throw FormatError(where + "/ports", "wrong type", "an object of port shapes", json_type_name(record["ports"]));
    for (auto it = record["ports"].begin(); it != record["ports"].end(); ++it) {
      shape_from_json(*it, where + "/ports/" + json_pointer_token(it.key()));
      ports[it.key()] = *it;
    }
  }
  std::vector<Edge> edges;
  if (graph) {
    const auto& list = member(record, "edges", where);
    if (!list.is_array()) throw FormatError(where + "/edges", "wrong type", "a list of edges", json_type_name(list));
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = where + "/edges/" + std::to_string(i);
      if (!list[i].is_object())
        throw FormatError(at, "wrong type for an edge", "an object with \"from\" and \"to\"", json_type_name(list[i]));
      only_keys(list[i], {"from", "to"}, at);
      edges.push_back({read_end(member(list[i], "from", at), at + "/from", names, nets, true),
                       read_end(member(list[i], "to", at), at + "/to", names, nets, false)});
    }
  }
  std::vector<std::pair<std::string, Net>> named;
  for (size_t i = 0; i < nets.size(); ++i) named.emplace_back(names[i], std::move(nets[i]));
  auto build = [&](std::vector<std::pair<std::string, Net>> n, std::vector<Edge> e, const nlohmann::json& options) {
    return graph ? Net::graph(std::move(n), std::move(e), options) : Net::chain(std::move(n), options);
  };
  const std::string structure = where + (graph ? "/edges" : "/nodes");
  if (!loaded.with_arrays) {  // the structure alone (cheap: no arrays yet), then the port names
    const Net plain = at_pointer(structure, [&] { return build(named, edges, nullptr); });
    std::vector<std::string> known = plain.input_ports(), outs = plain.output_ports();
    known.insert(known.end(), outs.begin(), outs.end());
    for (auto it = ports.begin(); it != ports.end(); ++it)
      if (std::find(known.begin(), known.end(), it.key()) == known.end())
        throw FormatError(where + "/ports/" + json_pointer_token(it.key()), "unknown port",
                          "one of " + join_names(known), in_quotes(it.key()));
  }
  Net net = at_pointer(ports.empty() ? structure : where + "/ports",
                       [&] { return build(std::move(named), std::move(edges), ports); });
  if (record.contains("shared")) {
    const auto& shared = record["shared"];
    if (!shared.is_array())
      throw FormatError(where + "/shared", "wrong type", "a list of shared arrays", json_type_name(shared));
    for (size_t i = 0; i < shared.size(); ++i) {
      const std::string at = where + "/shared/" + std::to_string(i);
      if (!shared[i].is_object())
        throw FormatError(at, "wrong type for a shared array", "an object", json_type_name(shared[i]));
      only_keys(shared[i], {"name", "users", "array"}, at);
      const std::string& name = string_at(member(shared[i], "name", at), at + "/name", "a name");
      const auto& users = member(shared[i], "users", at);
      if (!users.is_array())
        throw FormatError(at + "/users", "wrong type", "a list of array paths", json_type_name(users));
      std::vector<NetPath> paths;
      for (size_t u = 0; u < users.size(); ++u)
        paths.push_back(split_path(string_at(users[u], at + "/users/" + std::to_string(u), "an array path")));
      at_pointer(at, [&] { net.share_array(name, paths); });
      if (!shared[i].contains("array")) continue;
      const Key key{idx, name};
      if (!loaded.with_arrays)
        loaded.shared[key] = {at + "/array", read_array(shared[i]["array"], at + "/array")};
      else
        at_pointer(at + "/array", [&] { net.set_array(paths.at(0), std::move(loaded.shared.at(key).value)); });
    }
  }
  if (loaded.with_arrays) {
    if (record.contains("inputs")) check_ports(net, record["inputs"], net.input_ports(), where + "/inputs");
    if (record.contains("outputs")) check_ports(net, record["outputs"], net.output_ports(), where + "/outputs");
  }
  return net;
}

Net read_net(const nlohmann::json& record, const std::string& where, const std::vector<size_t>& idx, int depth,
             Loaded& loaded) {
  if (!record.is_object()) throw FormatError(where, "wrong type for a net", "an object", json_type_name(record));
  const std::string& type = string_at(member(record, "type", where), where + "/type", "a layer or container type");
  if (type == "NetChain" || type == "NetGraph")
    return read_container(record, where, idx, depth, loaded, type == "NetGraph");
  const auto layers = known_layer_types();
  if (std::find(layers.begin(), layers.end(), type) == layers.end())
    throw FormatError(where + "/type", "unknown layer type", "one of " + join_names(known_types()), in_quotes(type));
  return Net(read_layer(record, where, idx, loaded));
}

std::vector<std::string> param_names(const PlanStep& step) {
  std::vector<std::string> names;
  for (const auto& d : step.decls)
    if (d.role != ArrayRole::Saved) names.push_back(d.name);
  return names;
}

void check_value(const PlanStep& step, const std::string& name, const LoadedArray& a) {
  const ArrayDecl* decl = nullptr;
  for (const auto& d : step.decls)
    if (d.name == name && d.role != ArrayRole::Saved) decl = &d;
  if (!decl)
    throw FormatError(
        a.where, "unknown array " + in_quotes(name) + " of " + step.where,
        param_names(step).empty() ? "no arrays (this layer has none)" : "one of " + join_names(param_names(step)),
        in_quotes(name));
  if (!Shape::unify(decl->shape, Shape(a.value.dims())))
    throw FormatError(a.where, "array shape does not match the net at " + step.where, decl->shape.to_string(),
                      dims_to_string(a.value.dims()));
  at_pointer(a.where, [&] { step.layer->check_array(name, a.value); });
}

// Every array of the file against the shapes of the net built without them.
void check_arrays(const Net& skeleton, const Loaded& loaded) {
  const Plan& plan = skeleton.plan();
  for (const auto& entry : loaded.leaf) {  // not a structured binding: lambdas capture `key`
    const Key& key = entry.first;
    const LoadedArray& a = entry.second;
    auto step = std::find_if(plan.steps.begin(), plan.steps.end(),
                             [&](const PlanStep& s) { return s.node_indices == key.first; });
    if (step == plan.steps.end()) {  // a layer the plan rewrote away: check against the layer alone
      const LayerNet& leaf = skeleton.node_at(key.first).layer();
      PlanStep alone;
      alone.where = leaf.where();
      alone.layer = leaf.layer_ptr();
      alone.decls = at_pointer(a.where, [&] { return leaf.layer().arrays(leaf.shapes()); });
      check_value(alone, key.second, a);
      continue;
    }
    auto sh = step->shared.find(key.second);
    if (sh != step->shared.end())
      throw FormatError(a.where, "array is shared as " + in_quotes(sh->second.key), "its value with the shared array",
                        "a value in the layer's record");
    check_value(*step, key.second, a);
  }
  for (const auto& [key, a] : loaded.shared)
    for (const auto& step : plan.steps)
      for (const auto& [array, shared] : step.shared)
        if (shared.container == key.first && shared.name == key.second) check_value(step, array, a);
}

}  // namespace

Net net_from_json(const nlohmann::json& document, const std::string& where) {
  auto at = [&](const std::string& pointer) { return where.empty() ? pointer : where + ": " + pointer; };
  if (!document.is_object()) throw FormatError(at("/"), "wrong type", "an object", json_type_name(document));
  const auto& format = member(document, "format", at("/"));
  if (format != "netkit")
    throw FormatError(at("/format"), "not a netkit model file", "\"netkit\"", shortened(format.dump()));
  const auto& version = member(document, "version", at("/"));
  if (!version.is_number_integer())
    throw FormatError(at("/version"), "wrong type", "an integer", json_type_name(version));
  const int64_t v = version.get<int64_t>();
  if (v < 1 || v > kNetFormatVersion)
    throw FormatError(at("/version"), "unsupported format version",
                      "version " + std::to_string(kNetFormatVersion) + " or older",
                      "version " + shortened(version.dump()), "Update netkit to read this file");
  const char* key = v == 1 ? "layer" : "net";
  only_keys(document, {"format", "version", key}, at(""));
  const auto& record = member(document, key, at("/"));
  if (v == 1 && record.is_object() && record.contains("type") &&
      (record["type"] == "NetChain" || record["type"] == "NetGraph"))
    throw FormatError(at("/layer/type"), "a version-1 file holds one layer", "a layer type",
                      shortened(record["type"].dump()));
  Loaded loaded;
  const Net skeleton = read_net(record, at("/" + std::string(key)), {}, 0, loaded);
  check_arrays(skeleton, loaded);
  loaded.with_arrays = true;
  return read_net(record, at("/" + std::string(key)), {}, 0, loaded);
}

}  // namespace netkit
