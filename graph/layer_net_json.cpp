#include <netkit/graph/layer_net_json.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <netkit/core/error.h>
#include <netkit/graph/array_json.h>
#include <netkit/layers/option_reader.h>
#include <netkit/layers/registry.h>

namespace netkit {

namespace {

const char* const kRecordKeys[] = {"type",  "options", "ports", "LearningRateMultipliers", "MovingUpdateCount",
                                   "arrays"};

const nlohmann::json& member(const nlohmann::json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end())
    throw FormatError(where, "missing key " + in_quotes(key), "an object with " + in_quotes(key), "none");
  return *it;
}

}  // namespace

nlohmann::json layer_net_to_json(const LayerNet& net) {
  if (net.layer().has_user_functions())
    throw FormatError(net.where(), "cannot save a user-function initializer", "named initializers", "a function",
                      "Initialize the arrays and switch to a named initializer before saving");
  nlohmann::json ports = nlohmann::json::object();
  for (const auto& [port, shape] : net.fixed_ports()) ports[port] = shape_to_json(shape);
  nlohmann::json multipliers = nlohmann::json::object();
  for (const auto& [name, m] : net.array_learning_rate_multipliers()) multipliers[name] = m;
  if (auto m = net.layer_learning_rate_multiplier()) multipliers["*"] = *m;
  nlohmann::json arrays = nlohmann::json::object();
  for (const auto& name : net.array_names())
    if (net.has_array(name)) arrays[name] = array_to_json(net.array(name));
  return {{"type", net.type()},
          {"options", net.layer().options()},
          {"ports", ports},
          {"LearningRateMultipliers", multipliers},
          {"MovingUpdateCount", net.moving_update_count()},
          {"arrays", arrays}};
}

LayerNet layer_net_from_json(const nlohmann::json& record, const std::string& where) {
  if (!record.is_object())
    throw FormatError(where.empty() ? "/" : where, "wrong type for a layer", "an object", json_type_name(record));
  for (auto it = record.begin(); it != record.end(); ++it) {
    bool known = false;
    for (const char* k : kRecordKeys) known = known || it.key() == k;
    if (!known)
      throw FormatError(where + "/" + it.key(), "unknown key",
                        "one of type, options, ports, LearningRateMultipliers, MovingUpdateCount, arrays",
                        in_quotes(it.key()));
  }
  const auto& type = member(record, "type", where);
  if (!type.is_string()) throw FormatError(where + "/type", "wrong type", "a layer type name", json_type_name(type));
  const std::string type_name = type.get<std::string>();
  const auto known = known_layer_types();
  if (std::find(known.begin(), known.end(), type_name) == known.end())
    throw FormatError(where + "/type", "unknown layer type", "one of " + join_names(known), in_quotes(type_name));
  const auto options = record.value("options", nlohmann::json::object());
  const LayerPtr layer = at_pointer(where + "/options", [&] { return make_layer(type_name, options); });

  nlohmann::json net_options = nlohmann::json::object();
  if (record.contains("ports")) {
    const auto& ports = record["ports"];
    if (!ports.is_object())
      throw FormatError(where + "/ports", "wrong type", "an object of port shapes", json_type_name(ports));
    for (auto it = ports.begin(); it != ports.end(); ++it) {
      shape_from_json(*it, where + "/ports/" + it.key());  // validates with the file location
      net_options[it.key()] = *it;
    }
  }
  if (record.contains("LearningRateMultipliers"))
    net_options["LearningRateMultipliers"] = record["LearningRateMultipliers"];
  LayerNet net = at_pointer(where, [&] { return LayerNet(layer, net_options); });
  if (record.contains("arrays")) {
    const auto& arrays = record["arrays"];
    if (!arrays.is_object())
      throw FormatError(where + "/arrays", "wrong type", "an object of arrays", json_type_name(arrays));
    for (auto it = arrays.begin(); it != arrays.end(); ++it) {
      const std::string at = where + "/arrays/" + it.key();
      Array value = array_from_json(*it, at);
      at_pointer(at, [&] { net.set_array(it.key(), std::move(value)); });
    }
  }
  if (record.contains("MovingUpdateCount")) {
    const auto& n = record["MovingUpdateCount"];
    if (!n.is_number_integer() || n.get<int64_t>() < 0)
      throw FormatError(where + "/MovingUpdateCount", "wrong value", "an integer >= 0", shortened(n.dump()));
    net.set_moving_update_count(n.get<int64_t>());
  }
  return net;
}

void throw_if_failed(const AtomicWriteResult& result, const std::string& path) {
  if (result.status == AtomicWrite::WriteFailed)
    throw FormatError(path, "cannot write the model file", "a writable location", write_error_cause(result.error));
  if (result.status == AtomicWrite::RenameFailed)
    throw FormatError(path, "cannot replace the model file", "a writable location", write_error_cause(result.error));
}

void save_layer_net(const LayerNet& net, const std::string& path) {
  const nlohmann::json doc{{"format", "netkit"}, {"version", kModelFormatVersion}, {"layer", layer_net_to_json(net)}};
  throw_if_failed(write_file_atomically(path, doc.dump(1) + "\n"), path);
}

LayerNet load_layer_net(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(path, "cannot open the model file", "a readable file", "no such file or no permission");
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw FormatError(path, "not valid JSON (" + std::string(e.what()) + ")", "a JSON model file",
                      "byte " + std::to_string(e.byte));
  }
  if (!doc.is_object()) throw FormatError(path + ": /", "wrong type", "an object", json_type_name(doc));
  if (!doc.contains("format") || doc["format"] != "netkit")  // any type: value() would throw on a non-string
    throw FormatError(path + ": /format", "not a netkit model file", "\"netkit\"",
                      doc.contains("format") ? shortened(doc["format"].dump()) : "none");
  const auto& version = member(doc, "version", path + ": /");
  if (!version.is_number_integer())
    throw FormatError(path + ": /version", "wrong type", "an integer", json_type_name(version));
  if (version.get<int64_t>() > kModelFormatVersion || version.get<int64_t>() < 1)
    throw FormatError(path + ": /version", "unsupported format version",
                      "version " + std::to_string(kModelFormatVersion) + " or older",
                      "version " + shortened(version.dump()), "Update netkit to read this file");
  return layer_net_from_json(member(doc, "layer", path + ": /"), path + ": /layer");
}

}  // namespace netkit
