// Plan rewrites that keep a net's meaning and improve its numbers.
//
// Softmax -> CrossEntropyLoss: when a Softmax over the last dimension feeds a CrossEntropyLoss
// on probabilities, the loss is evaluated on the logits instead: log p is then a stable
// log-softmax (exact for logits of 1e4) and the gradient is p - t, where the pair's own chain
// rule would divide by probabilities that may have underflowed to 0. The Softmax itself goes
// unless its probabilities are also an output or read by another layer; then it still runs for
// them (and with no gradient arriving for them, the executor skips its backward).
#include <netkit/graph/plan_fusion.h>

#include <algorithm>
#include <iterator>

#include <netkit/layers/registry.h>

namespace netkit {

namespace {

bool is_last_level_softmax(const PlanStep& s) {
  if (s.layer->type() != "Softmax") return false;
  const nlohmann::json level = s.layer->options().value("Level", nlohmann::json(-1));
  if (!level.is_number_integer()) return false;
  const int64_t rank = s.shapes.inputs[0].rank_known() ? s.shapes.inputs[0].rank() : -1;
  return level.get<int64_t>() == -1 || (rank > 0 && level.get<int64_t>() == rank);
}

bool is_probability_cross_entropy(const PlanStep& s) {
  return s.layer->type() == "CrossEntropyLoss" && s.layer->options().value("InputForm", "") == "Probabilities";
}

// Drops steps and values marked dead and renumbers the rest.
void compact(Plan& plan, const std::vector<bool>& dead_step, const std::vector<bool>& dead_value) {
  std::vector<int> step_id(plan.steps.size(), -1), value_id(plan.values.size(), -1);
  std::vector<PlanStep> steps;
  for (size_t s = 0; s < plan.steps.size(); ++s)
    if (!dead_step[s]) step_id[s] = static_cast<int>(steps.size()), steps.push_back(std::move(plan.steps[s]));
  std::vector<PlanValue> values;
  for (size_t v = 0; v < plan.values.size(); ++v)
    if (!dead_value[v]) value_id[v] = static_cast<int>(values.size()), values.push_back(std::move(plan.values[v]));
  for (auto& value : values) {
    if (value.producer >= 0) value.producer = step_id[value.producer];
    for (int& c : value.consumers) c = step_id[c];
  }
  for (auto& step : steps) {
    for (int& v : step.inputs) v = value_id[v];
    for (int& v : step.outputs) v = value_id[v];
  }
  for (int& v : plan.input_values) v = value_id[v];
  for (int& v : plan.output_values) v = value_id[v];
  for (auto it = plan.nested_ports.begin(); it != plan.nested_ports.end();)  // a fused value leaves no port
    it = value_id[it->second] < 0 ? plan.nested_ports.erase(it) : (it->second = value_id[it->second], std::next(it));
  plan.steps = std::move(steps);
  plan.values = std::move(values);
}

}  // namespace

void fuse_softmax_cross_entropy(Plan& plan) {
  std::vector<bool> dead_step(plan.steps.size(), false), dead_value(plan.values.size(), false);
  bool any = false;
  for (auto& loss : plan.steps) {
    if (!is_probability_cross_entropy(loss)) continue;
    const int probs = loss.inputs[0];
    const int producer = plan.values[probs].producer;
    if (producer < 0 || !is_last_level_softmax(plan.steps[producer])) continue;
    const bool only_reader = plan.values[probs].consumers.size() == 1;
    const bool exported =
        std::find(plan.output_values.begin(), plan.output_values.end(), probs) != plan.output_values.end();
    nlohmann::json options = loss.layer->options();
    options["InputForm"] = "Logits";
    const int logits = plan.steps[producer].inputs[0];
    const int loss_id = static_cast<int>(&loss - plan.steps.data());
    loss.layer = make_layer("CrossEntropyLoss", options);
    loss.inputs[0] = logits;
    plan.values[logits].consumers.push_back(loss_id);
    auto& probability_readers = plan.values[probs].consumers;
    probability_readers.erase(std::find(probability_readers.begin(), probability_readers.end(), loss_id));
    // Probabilities wanted elsewhere (an output port, another layer): the Softmax still runs for
    // them; the loss reads the logits all the same. Otherwise the Softmax goes.
    if (!only_reader || exported) continue;
    auto& readers = plan.values[logits].consumers;
    readers.erase(std::find(readers.begin(), readers.end(), producer));
    dead_step[producer] = true;
    dead_value[probs] = true;
    any = true;
  }
  if (any) compact(plan, dead_step, dead_value);
}

}  // namespace netkit
