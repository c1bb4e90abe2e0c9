// Whole nets as JSON model files (docs/format.md): {"format": "netkit", "version": 2, "net": {...}}.
// The net record is a layer record (graph/layer_net_json.h) or a container:
//   {"type": "NetChain" | "NetGraph", "nodes": [{"name", "net"}], "edges" (graphs only),
//    "ports" (the shapes the user fixed), "inputs" / "outputs" (every port with its inferred
//    shape, checked on load), "shared" (shared arrays: name, users, value)}.
// Version-1 files (one layer) still load. Loading validates everything against the net's shapes
// and throws FormatError naming the JSON pointer; save -> load -> save is byte-identical.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include <netkit/graph/net.h>

namespace netkit {

inline constexpr int kNetFormatVersion = 2;

struct NetSaveOptions {
  // Arrays of at most this many elements are written as plain number lists (hand-editable);
  // all others as base64 of little-endian float32.
  int64_t plain_max_elements = 0;
};

// The whole document; net_to_text is its exact file text (large arrays are spliced in without
// going through the JSON library, which is what makes saving fast).
nlohmann::json net_to_json(const Net& net, const NetSaveOptions& options = {});
std::string net_to_text(const Net& net, const NetSaveOptions& options = {});

// `document` is a version-1 or version-2 document; `where` goes in front of the JSON pointers of
// messages (a file name, or empty).
Net net_from_json(const nlohmann::json& document, const std::string& where = "");
// Parses and loads file bytes; "not valid JSON" errors give the byte offset.
Net net_from_text(const std::string& text, const std::string& where = "");

// Atomic save: a temporary file in the same directory, then a rename over `path`.
void save_net(const std::string& path, const Net& net, const NetSaveOptions& options = {});
Net load_net(const std::string& path);

// Fast paths for large base64 arrays (used by the functions above; exposed for tests).
std::string float32_base64(const Array& array);
// Decodes `text` as base64 of exactly `out.size()` little-endian float32 values, all finite, into
// `out`; false (and `out` unspecified) when anything is wrong.
bool float32_from_base64(const std::string& text, Array& out);

}  // namespace netkit
