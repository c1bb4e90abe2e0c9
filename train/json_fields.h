// Typed reads of the fields of the training files (checkpoints, round records). A missing field
// or a value of the wrong type is a FormatError located at "<where>/<field>" (a JSON pointer
// after the file name) that names what was expected and what was found, never the JSON library's
// own message, and never more than a short excerpt of the value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace netkit {

// `where` followed by "/" and `key` escaped as a JSON pointer token ("~" -> "~0", "/" -> "~1").
std::string json_pointer_child(const std::string& where, const std::string& key);

// A value's type for messages, with at most a short excerpt of it: "a string (\"abc...)".
std::string json_found(const nlohmann::json& value);

// Single values; `where` locates `value`.
int64_t json_integer(const nlohmann::json& value, const std::string& where);
uint64_t json_unsigned(const nlohmann::json& value, const std::string& where);
double json_number(const nlohmann::json& value, const std::string& where);  // finite

// The fields of one JSON object.
class JsonFields {
 public:
  // FormatError at `where` unless `value` is an object.
  JsonFields(const nlohmann::json& value, std::string where);

  const std::string& where() const { return where_; }
  std::string where(const std::string& key) const { return json_pointer_child(where_, key); }
  bool has(const std::string& key) const { return value_.contains(key); }
  // The field, which must be present; `expected` describes it for the message when it is not.
  const nlohmann::json& value(const std::string& key, const std::string& expected) const;

  JsonFields object(const std::string& key) const;
  const nlohmann::json& list(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  uint64_t unsigned_integer(const std::string& key) const;
  double number(const std::string& key) const;
  bool boolean(const std::string& key) const;
  // Absent or null: none.
  std::optional<double> optional_number(const std::string& key) const;

 private:
  const nlohmann::json& value_;
  std::string where_;
};

}  // namespace netkit
