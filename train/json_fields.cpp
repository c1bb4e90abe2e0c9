#include <netkit/train/json_fields.h>

#include <cmath>
#include <limits>

#include <netkit/core/error.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

constexpr size_t kMaxFoundLength = 60;

}  // namespace

std::string json_pointer_child(const std::string& where, const std::string& key) {
  std::string token;
  for (char ch : key) token += ch == '~' ? "~0" : ch == '/' ? "~1" : std::string(1, ch);
  return where + "/" + token;
}

std::string json_found(const nlohmann::json& value) {
  const std::string found = json_type_name(value);
  return found.size() <= kMaxFoundLength ? found : found.substr(0, kMaxFoundLength - 4) + "...)";
}

int64_t json_integer(const nlohmann::json& value, const std::string& where) {
  if (!value.is_number_integer() ||
      (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())))
    throw FormatError(where, "wrong type", "a 64-bit integer", json_found(value));
  return value.get<int64_t>();
}

uint64_t json_unsigned(const nlohmann::json& value, const std::string& where) {
  if (!value.is_number_integer() || (!value.is_number_unsigned() && value.get<int64_t>() < 0))
    throw FormatError(where, "wrong type", "an unsigned 64-bit integer", json_found(value));
  return value.get<uint64_t>();
}

double json_number(const nlohmann::json& value, const std::string& where) {
  if (!value.is_number() || !std::isfinite(value.get<double>()))
    throw FormatError(where, "wrong type", "a finite number", json_found(value));
  return value.get<double>();
}

JsonFields::JsonFields(const nlohmann::json& value, std::string where) : value_(value), where_(std::move(where)) {
  if (!value_.is_object()) throw FormatError(where_, "wrong type", "an object", json_found(value_));
}

const nlohmann::json& JsonFields::value(const std::string& key, const std::string& expected) const {
  auto it = value_.find(key);
  if (it == value_.end()) throw FormatError(where(key), "missing field", expected, "no such field");
  return *it;
}

JsonFields JsonFields::object(const std::string& key) const { return {value(key, "an object"), where(key)}; }

const nlohmann::json& JsonFields::list(const std::string& key) const {
  const nlohmann::json& v = value(key, "a list");
  if (!v.is_array()) throw FormatError(where(key), "wrong type", "a list", json_found(v));
  return v;
}

int64_t JsonFields::integer(const std::string& key) const {
  return json_integer(value(key, "a 64-bit integer"), where(key));
}

uint64_t JsonFields::unsigned_integer(const std::string& key) const {
  return json_unsigned(value(key, "an unsigned 64-bit integer"), where(key));
}

double JsonFields::number(const std::string& key) const {
  return json_number(value(key, "a finite number"), where(key));
}

bool JsonFields::boolean(const std::string& key) const {
  const nlohmann::json& v = value(key, "true or false");
  if (!v.is_boolean()) throw FormatError(where(key), "wrong type", "true or false", json_found(v));
  return v.get<bool>();
}

std::optional<double> JsonFields::optional_number(const std::string& key) const {
  if (!has(key) || value_.at(key).is_null()) return std::nullopt;
  const nlohmann::json& v = value_.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    throw FormatError(where(key), "wrong type", "a finite number or null", json_found(v));
  return v.get<double>();
}

}  // namespace netkit
