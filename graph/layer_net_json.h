// A LayerNet as JSON, and as a model file ({"format": "netkit", "version": 1, "layer": {...}}).
// The record holds the type, the layer's own options, the ports the user fixed, the
// learning-rate multipliers, the moving-update count and every initialized array (exact
// base64 float32). Loading validates everything and names the JSON pointer of what is wrong.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "graph/layer_net.h"

namespace netkit {

inline constexpr int kModelFormatVersion = 1;

nlohmann::json layer_net_to_json(const LayerNet& net);
// `where` is the JSON pointer of `record` in its document (for messages).
LayerNet layer_net_from_json(const nlohmann::json& record, const std::string& where = "");

// Atomic save: a temporary file in the same directory, then a rename over `path`.
void save_layer_net(const LayerNet& net, const std::string& path);
LayerNet load_layer_net(const std::string& path);

}  // namespace netkit
