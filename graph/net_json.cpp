// Writing nets as JSON model files, and the file-level plumbing: fast base64 of float32, text
// parsing with large base64 strings kept out of the JSON library, atomic saves.
// The reader (validation against the net's shapes) is in net_json_read.cpp.
#include <netkit/graph/net_json.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/graph/array_json.h>
#include <netkit/graph/json_keys.h>
#include <netkit/graph/layer_net_json.h>

namespace netkit {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// Arrays at least this large are spliced into the text; strings at least this long are kept out
// of the JSON parser.
constexpr int64_t kSpliceElements = 1024;
constexpr size_t kBlobChars = 4096;
constexpr int kMaxJsonDepth = 512;

bool little_endian() {
  const uint32_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// The little-endian bytes of the array's floats (a view on little-endian hosts).
const unsigned char* le_bytes(const Array& array, std::vector<unsigned char>& copy) {
  if (little_endian()) return reinterpret_cast<const unsigned char*>(array.data());
  copy.resize(static_cast<size_t>(array.size()) * 4);
  for (int64_t i = 0; i < array.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, array.data() + i, 4);
    for (int b = 0; b < 4; ++b) copy[static_cast<size_t>(i * 4 + b)] = static_cast<unsigned char>((u >> (8 * b)) & 255);
  }
  return copy.data();
}

void append_base64(std::string& out, const Array& array) {
  std::vector<unsigned char> copy;
  const unsigned char* bytes = le_bytes(array, copy);
  const size_t n = static_cast<size_t>(array.size()) * 4;
  const size_t start = out.size();
  out.resize(start + (n + 2) / 3 * 4);
  char* p = &out[start];
  size_t i = 0;
  for (; i + 3 <= n; i += 3, p += 4) {
    const uint32_t v = (uint32_t(bytes[i]) << 16) | (uint32_t(bytes[i + 1]) << 8) | bytes[i + 2];
    p[0] = kAlphabet[v >> 18];
    p[1] = kAlphabet[(v >> 12) & 63];
    p[2] = kAlphabet[(v >> 6) & 63];
    p[3] = kAlphabet[v & 63];
  }
  if (i < n) {
    const uint32_t v = (uint32_t(bytes[i]) << 16) | (i + 1 < n ? uint32_t(bytes[i + 1]) << 8 : 0);
    p[0] = kAlphabet[v >> 18];
    p[1] = kAlphabet[(v >> 12) & 63];
    p[2] = i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    p[3] = '=';
  }
}

struct DecodeTable {
  signed char value[256];
  DecodeTable() {
    std::memset(value, -1, sizeof value);
    for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
  }
};
const DecodeTable& decode_table() {
  static const DecodeTable table;
  return table;
}

// Writes a net record; large arrays become placeholder strings when `blobs` is given.
struct Writer {
  const NetSaveOptions& options;
  std::vector<const Array*>* blobs;
  std::string nonce;

  std::string token(size_t i) const { return "netkit-array-" + nonce + "-" + std::to_string(i); }

  nlohmann::json array(const Array& a) const {
    if (a.size() <= options.plain_max_elements) return array_to_json(a, true);
    if (!blobs || a.size() < kSpliceElements) return array_to_json(a);
    nlohmann::json j{{"dtype", "float32"}, {"shape", a.dims()}, {"data", token(blobs->size())}};
    blobs->push_back(&a);
    return j;
  }

  // The record of graph/layer_net_json.h (layer_net_to_json), with arrays written by array().
  nlohmann::json layer(const LayerNet& leaf) const {
    if (leaf.layer().has_user_functions())
      throw FormatError(leaf.where(), "cannot save a user-function initializer", "named initializers", "a function",
                        "Initialize the arrays and switch to a named initializer before saving");
    nlohmann::json ports = nlohmann::json::object();
    for (const auto& [port, shape] : leaf.fixed_ports()) ports[port] = shape_to_json(shape);
    nlohmann::json multipliers = nlohmann::json::object();
    for (const auto& [name, m] : leaf.array_learning_rate_multipliers()) multipliers[name] = m;
    if (auto m = leaf.layer_learning_rate_multiplier()) multipliers["*"] = *m;
    nlohmann::json arrays = nlohmann::json::object();
    for (const auto& name : leaf.array_names())
      if (leaf.has_array(name)) arrays[name] = array(leaf.array(name));
    return {{"type", leaf.type()},
            {"options", leaf.layer().options()},
            {"ports", ports},
            {"LearningRateMultipliers", multipliers},
            {"MovingUpdateCount", leaf.moving_update_count()},
            {"arrays", arrays}};
  }

  static nlohmann::json end(const PortRef& ref) {
    nlohmann::json e = nlohmann::json::object();
    if (!ref.node.empty()) e["node"] = ref.node;
    if (!ref.port.empty()) e["port"] = ref.port;
    return e;
  }

  static nlohmann::json port_list(const Net& net, const std::vector<std::string>& ports) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : ports) list.push_back({{"name", p}, {"shape", shape_to_json(net.port_shape(p))}});
    return list;
  }

  nlohmann::json net(const Net& n) const {
    if (n.is_layer()) return layer(n.layer());
    nlohmann::json nodes = nlohmann::json::array();
    for (size_t i = 0; i < n.nodes().size(); ++i)
      nodes.push_back({{"name", n.node_names()[i]}, {"net", net(n.nodes()[i])}});
    nlohmann::json ports = nlohmann::json::object();
    for (const auto& [port, shape] : n.fixed_ports()) ports[port] = shape_to_json(shape);
    nlohmann::json shared = nlohmann::json::array();
    for (const auto& [name, users] : n.shared_users()) {
      nlohmann::json entry{{"name", name}, {"users", users}};
      if (const Array* value = n.shared_storage(name)) entry["array"] = array(*value);
      shared.push_back(std::move(entry));
    }
    nlohmann::json record{{"type", n.type()}, {"nodes", nodes},
                          {"ports", ports},   {"inputs", port_list(n, n.input_ports())},
                          {"shared", shared}, {"outputs", port_list(n, n.output_ports())}};
    if (n.kind() == Net::Kind::Graph) {
      nlohmann::json edges = nlohmann::json::array();
      for (const auto& e : n.edges()) edges.push_back({{"from", end(e.from)}, {"to", end(e.to)}});
      record["edges"] = edges;
    }
    return record;
  }
};

nlohmann::json document(nlohmann::json net) {
  return {{"format", "netkit"}, {"version", kNetFormatVersion}, {"net", std::move(net)}};
}

// The text with every placeholder replaced by its array's base64; empty when a placeholder is not
// found exactly once (a name in the net happens to contain it).
std::string splice(const std::string& text, const Writer& w, const std::vector<const Array*>& blobs) {
  std::vector<std::pair<size_t, size_t>> at;  // position of the placeholder's opening quote, blob
  size_t total = text.size();
  for (size_t i = 0; i < blobs.size(); ++i) {
    const std::string needle = "\"" + w.token(i) + "\"";
    const size_t pos = text.find(needle);
    if (pos == std::string::npos || text.find(needle, pos + 1) != std::string::npos) return {};
    at.emplace_back(pos, i);
    total += static_cast<size_t>(blobs[i]->size()) * 4 / 3 + 4;
  }
  std::sort(at.begin(), at.end());
  std::string out;
  out.reserve(total);
  size_t from = 0;
  for (const auto& [pos, i] : at) {
    out.append(text, from, pos + 1 - from);
    append_base64(out, *blobs[i]);
    from = pos + 1 + w.token(i).size();
  }
  out.append(text, from, std::string::npos);
  return out;
}

// Parses file text. Long base64 strings are cut out first (the JSON library reads them a
// character at a time) and put back into the parsed document, unless the text spells a NUL
// character anywhere, which the placeholders use.
nlohmann::json parse_text(const std::string& text, const std::string& where) {
  static const bool* base64_char = [] {
    static bool table[256] = {};
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = true;
    table[static_cast<unsigned char>('=')] = true;
    return table;
  }();
  std::vector<std::pair<size_t, size_t>> cuts;  // [begin, end) of string contents
  bool spells_nul = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const void* q = std::memchr(text.data() + i, '"', text.size() - i);
    if (!q) break;
    const size_t begin = static_cast<size_t>(static_cast<const char*>(q) - text.data()) + 1;
    size_t j = begin;
    bool plain = true;
    for (; j < text.size() && text[j] != '"'; ++j) {
      if (text[j] == '\\') {
        plain = false;
        if (text.compare(j, 6, "\\u0000") == 0) spells_nul = true;
        ++j;
      } else if (!base64_char[static_cast<unsigned char>(text[j])]) {
        plain = false;
      }
    }
    size_t next = j + 1;  // a key (followed by ':') stays: only values are put back
    while (next < text.size() && (text[next] == ' ' || text[next] == '\n' || text[next] == '\t' || text[next] == '\r'))
      ++next;
    const bool key = next < text.size() && text[next] == ':';
    if (plain && !key && j < text.size() && j - begin >= kBlobChars) cuts.emplace_back(begin, j);
    i = j;  // the closing quote (or the end)
  }
  std::string reduced;
  std::vector<std::string> blobs;
  if (!spells_nul && !cuts.empty()) {
    size_t from = 0;
    for (const auto& [begin, end] : cuts) {
      reduced.append(text, from, begin - from);
      reduced += "\\u0000" + std::to_string(blobs.size());
      blobs.emplace_back(text, begin, end - begin);
      from = end;
    }
    reduced.append(text, from, std::string::npos);
  }
  // The library parses iteratively, but copying and printing values recurse: bound the depth.
  // A key given twice in one object is refused rather than silently dropped.
  DuplicateKeyCheck duplicates(where);
  const nlohmann::json::parser_callback_t check = [&](int depth, nlohmann::json::parse_event_t event,
                                                      nlohmann::json& parsed) {
    const bool opens =
        event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start;
    if (opens && depth >= kMaxJsonDepth)  // `depth` objects and lists hold this one
      throw FormatError(where.empty() ? "model text" : where, "JSON nested too deeply",
                        "at most " + std::to_string(kMaxJsonDepth) + " levels", "more");
    duplicates.on(event, parsed);
    return true;
  };
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(blobs.empty() ? text : reduced, check);
  } catch (const nlohmann::json::exception&) {  // syntax, or a number too large for a double
    const std::string at = where.empty() ? "model text" : where;
    try {  // the original text, for the library's message and byte offset
      const nlohmann::json original = nlohmann::json::parse(text);
      (void)original;
    } catch (const nlohmann::json::parse_error& e) {
      throw FormatError(at, "not valid JSON (" + std::string(e.what()) + ")", "a JSON model file",
                        "byte " + std::to_string(e.byte));
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(at, "not valid JSON (" + std::string(e.what()) + ")", "a JSON model file",
                        "a value it cannot hold");
    }
    throw std::logic_error("parse_text: a placeholder changed what parses");
  }
  if (blobs.empty()) return doc;
  std::vector<nlohmann::json*> stack{&doc};  // iterative: documents may nest deeply
  while (!stack.empty()) {
    nlohmann::json* v = stack.back();
    stack.pop_back();
    if (v->is_string()) {
      auto& s = v->get_ref<std::string&>();
      if (!s.empty() && s[0] == '\0') s = std::move(blobs.at(std::stoul(s.substr(1))));
    } else if (v->is_structured()) {
      for (auto& item : *v) stack.push_back(&item);
    }
  }
  return doc;
}

}  // namespace

std::string float32_base64(const Array& array) {
  std::string out;
  append_base64(out, array);
  return out;
}

bool float32_from_base64(const std::string& text, Array& out) {
  const size_t n = static_cast<size_t>(out.size()) * 4;
  if (text.size() != (n + 2) / 3 * 4) return false;
  const signed char* table = decode_table().value;
  const size_t pad = (3 - n % 3) % 3;
  std::vector<unsigned char> bytes(little_endian() ? 0 : n);
  unsigned char* dst = little_endian() ? reinterpret_cast<unsigned char*>(out.data()) : bytes.data();
  const unsigned char* src = reinterpret_cast<const unsigned char*>(text.data());
  const size_t full = n / 3;  // groups without padding
  int bad = 0;
  for (size_t g = 0; g < full; ++g, src += 4, dst += 3) {
    const int a = table[src[0]], b = table[src[1]], c = table[src[2]], d = table[src[3]];
    bad |= a | b | c | d;
    const uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    dst[0] = static_cast<unsigned char>(v >> 16);
    dst[1] = static_cast<unsigned char>(v >> 8);
    dst[2] = static_cast<unsigned char>(v);
  }
  if (bad < 0) return false;
  if (pad) {
    const int a = table[src[0]], b = table[src[1]], c = pad == 1 ? table[src[2]] : 0;
    if ((a | b | c) < 0 || src[3] != '=' || (pad == 2 && src[2] != '=')) return false;
    const uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6);
    dst[0] = static_cast<unsigned char>(v >> 16);
    if (pad == 1) dst[1] = static_cast<unsigned char>(v >> 8);
  }
  if (!little_endian())
    for (int64_t i = 0; i < out.size(); ++i) {
      uint32_t u = 0;
      for (int b = 0; b < 4; ++b) u |= uint32_t(bytes[static_cast<size_t>(i * 4 + b)]) << (8 * b);
      std::memcpy(out.data() + i, &u, 4);
    }
  uint32_t any_special = 0;  // all exponent bits set: infinity or NaN
  for (int64_t i = 0; i < out.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, out.data() + i, 4);
    any_special |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
  }
  return any_special == 0;
}

nlohmann::json net_to_json(const Net& net, const NetSaveOptions& options) {
  const Writer w{options, nullptr, ""};
  return document(w.net(net));
}

std::string net_to_text(const Net& net, const NetSaveOptions& options) {
  std::vector<const Array*> blobs;
  for (const char* nonce : {"7f3a", "c41e9b", "0d5e2f77"}) {
    blobs.clear();
    const Writer w{options, &blobs, nonce};
    const std::string text = document(w.net(net)).dump(1) + "\n";
    if (blobs.empty()) return text;
    std::string out = splice(text, w, blobs);
    if (!out.empty()) return out;
  }
  return net_to_json(net, options).dump(1) + "\n";
}

Net net_from_text(const std::string& text, const std::string& where) {
  return net_from_json(parse_text(text, where), where);
}

void save_net(const std::string& path, const Net& net, const NetSaveOptions& options) {
  const std::string text = net_to_text(net, options);  // any error leaves the old file alone
  throw_if_failed(write_file_atomically(path, text), path);
}

Net load_net(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw FormatError(path, "cannot open the model file", "a readable file", "no such file or no permission");
  std::string text;
  char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, got);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw FormatError(path, "cannot read the model file", "a readable file", "a read error");
  return net_from_text(text, path);
}

}  // namespace netkit
