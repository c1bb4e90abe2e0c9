#include <netkit/graph/array_json.h>

#include <cmath>
#include <cstring>

#include <netkit/core/error.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

void flatten_list(const nlohmann::json& v, size_t level, std::vector<int64_t>& dims, std::vector<float>& out,
                  const std::string& where) {
  if (v.is_number()) {
    if (level != dims.size())
      throw FormatError(where, "ragged nested list", "a list at level " + std::to_string(level + 1), "a number");
    const double x = v.get<double>();
    if (!std::isfinite(x)) throw FormatError(where, "value is not finite", "a finite number", shortened(v.dump()));
    out.push_back(static_cast<float>(x));
    return;
  }
  if (!v.is_array()) throw FormatError(where, "wrong type in array data", "numbers or lists", json_type_name(v));
  const int64_t n = static_cast<int64_t>(v.size());
  if (level == dims.size()) {
    if (!out.empty()) throw FormatError(where, "ragged nested list", "a number", "a list");
    dims.push_back(n);
  } else if (level > dims.size() || dims[level] != n) {
    throw FormatError(where, "ragged nested list",
                      std::to_string(dims[level]) + " elements at level " + std::to_string(level + 1),
                      std::to_string(n));
  }
  for (const auto& item : v) flatten_list(item, level + 1, dims, out, where);
}

}  // namespace

nlohmann::json shape_to_json(const Shape& shape) {
  if (!shape.rank_known()) return nullptr;
  nlohmann::json dims = nlohmann::json::array();
  for (int64_t d : shape.dims()) dims.push_back(d == kUnknownDim ? nlohmann::json(nullptr) : nlohmann::json(d));
  return dims;
}

Shape shape_from_json(const nlohmann::json& value, const std::string& where) {
  if (value.is_null()) return Shape();
  if (value.is_number_integer()) return at_pointer(where, [&] { return Shape{value.get<int64_t>()}; });
  if (!value.is_array())
    throw FormatError(where, "wrong type for a shape", "a list of dimensions", json_type_name(value));
  std::vector<int64_t> dims;
  for (const auto& d : value) {
    if (d.is_null())
      dims.push_back(kUnknownDim);
    else if (d.is_number_integer() && d.get<int64_t>() >= 1)
      dims.push_back(d.get<int64_t>());
    else
      throw FormatError(where, "invalid dimension", "integers >= 1 (or null for unknown)", shortened(d.dump()));
  }
  return at_pointer(where, [&] { return Shape(dims); });
}

std::string base64_encode(const unsigned char* bytes, size_t n) {
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t b0 = bytes[i], b1 = i + 1 < n ? bytes[i + 1] : 0, b2 = i + 2 < n ? bytes[i + 2] : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::string base64_decode(const std::string& text, const std::string& where) {
  if (text.size() % 4 != 0)
    throw FormatError(where, "bad base64 length", "a multiple of 4 characters", std::to_string(text.size()));
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<size_t>(k)];
      const bool last_group = i + 4 == text.size();
      if (c == '=' && last_group && k >= 2 && (k == 3 || text[i + 3] == '=')) {
        v[k] = 0;
        ++pad;
        continue;
      }
      v[k] = pad ? -1 : decode_char(c);
      if (v[k] < 0)
        throw FormatError(where, "invalid base64 character at offset " + std::to_string(i + static_cast<size_t>(k)),
                          "A-Z, a-z, 0-9, + or /", "'" + std::string(1, c) + "'");
    }
    const uint32_t bits = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out += static_cast<char>((bits >> 16) & 255);
    if (pad < 2) out += static_cast<char>((bits >> 8) & 255);
    if (pad < 1) out += static_cast<char>(bits & 255);
  }
  return out;
}

nlohmann::json array_to_json(const Array& array, bool plain) {
  nlohmann::json j{{"dtype", "float32"}, {"shape", array.dims()}};
  if (plain) {
    j["data"] = array.values();
    return j;
  }
  std::string bytes(static_cast<size_t>(array.size()) * 4, '\0');
  for (int64_t i = 0; i < array.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, array.data() + i, 4);
    for (int b = 0; b < 4; ++b) bytes[static_cast<size_t>(i * 4 + b)] = static_cast<char>((u >> (8 * b)) & 255);
  }
  j["data"] = base64_encode(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return j;
}

Array array_from_json(const nlohmann::json& value, const std::string& where) {
  if (value.is_array() || value.is_number()) {
    std::vector<int64_t> dims;
    std::vector<float> values;
    flatten_list(value, 0, dims, values, where);
    return Array(dims, values);
  }
  if (!value.is_object())
    throw FormatError(where, "wrong type for an array", "an object or a number list", json_type_name(value));
  for (auto it = value.begin(); it != value.end(); ++it)
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data")
      throw FormatError(where, "unknown key " + in_quotes(it.key()), "\"dtype\", \"shape\" and \"data\"",
                        in_quotes(it.key()));
  for (const char* key : {"dtype", "shape", "data"})
    if (!value.contains(key))
      throw FormatError(where, "missing key " + in_quotes(key), "\"dtype\", \"shape\" and \"data\"",
                        value.dump().substr(0, 80));
  if (value["dtype"] != "float32")
    throw FormatError(where + "/dtype", "unsupported dtype", "\"float32\"", shortened(value["dtype"].dump()));
  const Shape shape = shape_from_json(value["shape"], where + "/shape");
  if (!shape.known())
    throw FormatError(where + "/shape", "array shape must be fully known", "a list of integers",
                      shortened(value["shape"].dump()));
  const int64_t n = shape.num_elements();  // at most kMaxElements, checked by the shape
  const auto& data = value["data"];
  // Lengths are checked before anything is allocated: a small file cannot ask for gigabytes.
  if (data.is_string() && data.get_ref<const std::string&>().size() != static_cast<size_t>((n * 4 + 2) / 3 * 4))
    throw FormatError(where + "/data", "base64 data does not match the shape " + shape.to_string(),
                      std::to_string(n) + " float32 values",
                      std::to_string(data.get_ref<const std::string&>().size()) + " base64 characters");
  if (!data.is_string() && !data.is_array())
    throw FormatError(where + "/data", "wrong type", "a base64 string or a number list", json_type_name(data));
  if (data.is_array() && static_cast<int64_t>(data.size()) != n)
    throw FormatError(where + "/data", "data length does not match the shape " + shape.to_string(),
                      std::to_string(n) + " values", std::to_string(data.size()));
  Array out(shape);
  if (data.is_string()) {
    const std::string& text = data.get_ref<const std::string&>();
    const std::string bytes = base64_decode(text, where + "/data");
    for (int64_t i = 0; i < n; ++i) {
      uint32_t u = 0;
      for (int b = 0; b < 4; ++b)
        u |= uint32_t(static_cast<unsigned char>(bytes[static_cast<size_t>(i * 4 + b)])) << (8 * b);
      std::memcpy(out.data() + i, &u, 4);
      if (!std::isfinite(out[i]))
        throw FormatError(where + "/data", "value " + std::to_string(i) + " is not finite", "finite float32 values",
                          number_text(out[i]));
    }
    return out;
  }
  for (int64_t i = 0; i < n; ++i) {
    const auto& x = data[static_cast<size_t>(i)];
    // Finite as float32, not only as a double: 1e300 would become infinity.
    if (!x.is_number() || !std::isfinite(x.get<float>()))
      throw FormatError(where + "/data/" + std::to_string(i), "not a finite number", "a finite number",
                        shortened(x.dump()));
    out[i] = x.get<float>();
  }
  return out;
}

}  // namespace netkit
