// JSON forms of shapes and arrays, shared by option parsing and model files.
//   Shape:  [16, 28, 28] (null for an unknown dimension; a bare n means [n]); unknown rank: null.
//   Array:  {"dtype": "float32", "shape": [...], "data": "<base64 of little-endian float32>"}
//           or, on input, a nested number list ([[1, 2], [3, 4]]) or {"dtype", "shape",
//           "data": [numbers]}.
// Errors are FormatError (OptionError for options) naming `where` (a JSON pointer or option).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include <netkit/core/array.h>
#include <netkit/core/shape.h>

namespace netkit {

nlohmann::json shape_to_json(const Shape& shape);
Shape shape_from_json(const nlohmann::json& value, const std::string& where);

// Exact, compact form: base64 of little-endian float32 (or a plain number list when `plain`).
nlohmann::json array_to_json(const Array& array, bool plain = false);
// Accepts every form above; every value must be finite.
Array array_from_json(const nlohmann::json& value, const std::string& where);

std::string base64_encode(const unsigned char* bytes, size_t n);
// Throws FormatError naming `where` for characters outside the alphabet or a bad length.
std::string base64_decode(const std::string& text, const std::string& where);

}  // namespace netkit
