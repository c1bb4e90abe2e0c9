#include <netkit/train/results.h>

#include <netkit/core/error.h>

namespace netkit {

namespace {

nlohmann::json optional_number(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

std::optional<double> read_optional(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_number()) throw FormatError(where + "/" + key, "not a number", "a number or null", j[key].dump());
  return j[key].get<double>();
}

}  // namespace

nlohmann::json round_to_json(const RoundRecord& r) {
  return {{"round", r.round},
          {"steps", r.steps},
          {"training_loss", r.training_loss},
          {"training_accuracy", optional_number(r.training_accuracy)},
          {"validation_loss", optional_number(r.validation_loss)},
          {"validation_accuracy", optional_number(r.validation_accuracy)},
          {"seconds", r.seconds}};
}

RoundRecord round_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw FormatError(where, "not a round record", "an object", j.dump());
  RoundRecord r;
  try {
    r.round = j.at("round").get<int64_t>();
    r.steps = j.at("steps").get<int64_t>();
    r.training_loss = j.at("training_loss").get<double>();
    r.seconds = j.at("seconds").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(where, "bad round record", "round, steps, training_loss, seconds", e.what());
  }
  r.training_accuracy = read_optional(j, "training_accuracy", where);
  r.validation_loss = read_optional(j, "validation_loss", where);
  r.validation_accuracy = read_optional(j, "validation_accuracy", where);
  return r;
}

}  // namespace netkit
