// A LayerNet as JSON, and as a model file ({"format": "netkit", "version": 1, "layer": {...}}).
// The record holds the type, the layer's own options, the ports the user fixed, the
// learning-rate multipliers, the moving-update count and every initialized array (exact
// base64 float32). Loading validates everything and names the JSON pointer of what is wrong.
#pragma once

#include <netkit/core/atomic_file.h>
#include <netkit/core/error.h>

#include <string>

#include <nlohmann/json.hpp>

#include <netkit/graph/layer_net.h>

namespace netkit {

// Runs f; errors of construction become format errors located at `pointer` (a file and JSON
// pointer), keeping their own location in parentheses.
template <class F>
auto at_pointer(const std::string& pointer, F&& f) {
  try {
    return f();
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(pointer + (e.where().empty() ? "" : " (" + e.where() + ")"), e.problem(), e.expected(), e.got(),
                      e.hint());
  }
}

// The model-file errors of a failed atomic write of `path`.
void throw_if_failed(const AtomicWriteResult& result, const std::string& path);

inline constexpr int kModelFormatVersion = 1;

nlohmann::json layer_net_to_json(const LayerNet& net);
// `where` is the JSON pointer of `record` in its document (for messages).
LayerNet layer_net_from_json(const nlohmann::json& record, const std::string& where = "");

// Atomic save: a temporary file in the same directory, then a rename over `path`.
void save_layer_net(const LayerNet& net, const std::string& path);
LayerNet load_layer_net(const std::string& path);

}  // namespace netkit
