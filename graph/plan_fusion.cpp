// Plan rewrites that keep a net's meaning and improve its numbers, offered by the layers
// themselves (Layer::absorb_producer): a layer may read its producer's input instead of the
// producer's output (CrossEntropyLoss on a Softmax's probabilities reads the logits). The producer
// goes unless its output is also a net output or read by another layer; then it still runs for
// them (and with no gradient arriving for them, the executor skips its backward).
#include <netkit/graph/plan_fusion.h>

#include <algorithm>
#include <iterator>

namespace netkit {

namespace {

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

void fuse_producers(Plan& plan) {
  std::vector<bool> dead_step(plan.steps.size(), false), dead_value(plan.values.size(), false);
  bool any = false;
  for (auto& consumer : plan.steps) {
    if (consumer.inputs.empty()) continue;
    const int read = consumer.inputs[0];
    const int producer = plan.values[read].producer;
    if (producer < 0 || plan.steps[producer].inputs.empty() || plan.steps[producer].outputs.size() != 1) continue;
    const PlanStep& p = plan.steps[producer];
    LayerPtr fused = consumer.layer->absorb_producer(*p.layer, p.shapes.inputs[0]);
    if (!fused) continue;
    const bool only_reader = plan.values[read].consumers.size() == 1;
    const bool exported =
        std::find(plan.output_values.begin(), plan.output_values.end(), read) != plan.output_values.end();
    const int source = p.inputs[0];
    const int consumer_id = static_cast<int>(&consumer - plan.steps.data());
    consumer.layer = std::move(fused);
    consumer.inputs[0] = source;
    plan.values[source].consumers.push_back(consumer_id);
    auto& readers = plan.values[read].consumers;
    readers.erase(std::find(readers.begin(), readers.end(), consumer_id));
    // The producer's output wanted elsewhere (an output port, another layer): it still runs for
    // it; the rewritten layer reads the producer's input all the same. Otherwise it goes.
    if (!only_reader || exported) continue;
    auto& source_readers = plan.values[source].consumers;
    source_readers.erase(std::find(source_readers.begin(), source_readers.end(), producer));
    dead_step[producer] = true;
    dead_value[read] = true;
    any = true;
  }
  if (any) compact(plan, dead_step, dead_value);
}

}  // namespace netkit
