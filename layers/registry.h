// Layer registry: type name -> factory from JSON options.
#pragma once

#include <string>
#include <vector>

#include <netkit/layers/layer.h>

namespace netkit {

// Builds a layer of `type` from its own options; an unknown type throws OptionError listing the known ones.
LayerPtr make_layer(const std::string& type, const nlohmann::json& options = nullptr);
std::vector<std::string> known_layer_types();
// How older model files name things for `type` (empty for types that never changed or are unknown).
const LegacyNames& legacy_names(const std::string& type);

}  // namespace netkit
