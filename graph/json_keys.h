// Keys of JSON documents read from files: their JSON pointer spelling, and a parser callback
// that refuses a key given twice in one object (the JSON library would keep the last silently).
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace netkit {

// One key as a JSON pointer token: "~" -> "~0", "/" -> "~1"; control characters are escaped
// ("\n", "\x01") and a long key is shortened, so that a pointer stays one readable line.
std::string json_pointer_token(const std::string& key);

// Follows the parser's events to know the JSON pointer of every key; throws FormatError at
// `where`: <pointer> when an object holds a key twice.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(std::string where) : where_(std::move(where)) {}
  // For nlohmann::json::parse's callback; `parsed` is the key for a key event.
  void on(nlohmann::json::parse_event_t event, const nlohmann::json& parsed);

 private:
  struct Level {
    bool object;
    std::set<std::string> keys;
    std::string key;   // in an object: the key being read
    size_t index = 0;  // in an array: the element being read
  };
  void value_done();
  std::string pointer() const;

  std::string where_;
  std::vector<Level> levels_;
};

}  // namespace netkit
