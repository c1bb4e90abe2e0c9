#include <netkit/graph/json_keys.h>

#include <netkit/core/error.h>

namespace netkit {

std::string json_pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) out += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
  const std::string quoted = in_quotes(out);  // escapes and shortens; the quotes are not part of a pointer
  const size_t close = quoted.rfind('"');
  return quoted.substr(1, close - 1) + quoted.substr(close + 1);
}

void DuplicateKeyCheck::on(nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
  using Event = nlohmann::json::parse_event_t;
  switch (event) {
    case Event::object_start:
      levels_.push_back({true, {}, {}, 0});
      break;
    case Event::array_start:
      levels_.push_back({false, {}, {}, 0});
      break;
    case Event::key: {
      Level& level = levels_.back();
      level.key = parsed.get<std::string>();
      if (!level.keys.insert(level.key).second)
        throw FormatError(where_.empty() ? pointer() : where_ + ": " + pointer(), "duplicate key",
                          "each key once in an object", in_quotes(level.key));
      break;
    }
    case Event::object_end:
    case Event::array_end:
      levels_.pop_back();
      value_done();
      break;
    case Event::value:
      value_done();
      break;
  }
}

void DuplicateKeyCheck::value_done() {
  if (!levels_.empty() && !levels_.back().object) ++levels_.back().index;
}

std::string DuplicateKeyCheck::pointer() const {
  std::string out;
  for (const Level& level : levels_)
    out += "/" + (level.object ? json_pointer_token(level.key) : std::to_string(level.index));
  return out;
}

}  // namespace netkit
