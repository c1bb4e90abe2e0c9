#include <netkit/train/results.h>

#include <netkit/train/json_fields.h>

namespace netkit {

namespace {

nlohmann::json optional_number(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

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
  const JsonFields f(j, where);
  RoundRecord r;
  r.round = f.integer("round");
  r.steps = f.integer("steps");
  r.training_loss = f.number("training_loss");
  r.seconds = f.number("seconds");
  r.training_accuracy = f.optional_number("training_accuracy");
  r.validation_loss = f.optional_number("validation_loss");
  r.validation_accuracy = f.optional_number("validation_accuracy");
  return r;
}

}  // namespace netkit
