#include <netkit/train/population_statistics.h>

#include <netkit/core/error.h>
#include <netkit/graph/plan.h>
#include <netkit/layers/kernels/batch_norm.h>

namespace netkit {

namespace {

std::map<std::string, Shape> port_shapes(const Net& net, const Dataset& data) {
  const std::map<std::string, Shape> all = data.example_shapes();
  std::map<std::string, Shape> shapes;
  for (const std::string& port : net.input_ports()) {
    const auto it = all.find(port);
    if (it == all.end())
      throw TrainingError("training data", "no data for port " + in_quotes(port),
                          "data for every input port of the net", "none for " + in_quotes(port));
    shapes[port] = it->second;
  }
  return shapes;
}

const float* param_data(const Net& net, const PlanStep& step, const std::string& name) {
  auto sh = step.shared.find(name);
  if (sh != step.shared.end()) return net.node_at(sh->second.container).shared_storage(sh->second.name)->data();
  return net.node_at(step.node_indices).layer().array(name).data();
}

// Test-mode forward pass of steps [0, until) on one batch; returns every value computed
// (net inputs point at the batch). A plain runner that keeps all values: the executor does not
// expose intermediate values, and this pass is run once per population layer, not per step.
std::vector<Array> run_until(const Net& net, const Plan& plan, size_t until, const std::map<std::string, Array>& batch,
                             int64_t n, std::vector<const float*>& data) {
  std::vector<Array> values(plan.values.size());
  data.assign(plan.values.size(), nullptr);
  for (size_t i = 0; i < plan.input_names.size(); ++i)
    data[plan.input_values[i]] = batch.at(plan.input_names[i]).data();
  for (size_t s = 0; s < until; ++s) {
    const PlanStep& step = plan.steps[s];
    ForwardArgs a;
    a.mode = Mode::Test;
    a.batch = n;
    a.input_shapes = step.shapes.inputs;
    a.output_shapes = step.shapes.outputs;
    for (int v : step.inputs) a.inputs.push_back(data[v]);
    for (int v : step.outputs) {
      values[v] = Array::zeros(plan.values[v].shape.with_batch(n));
      data[v] = values[v].data();
      a.outputs.push_back(values[v].data());
    }
    std::vector<Array> saved;
    for (const auto& d : step.decls) {
      if (d.role == ArrayRole::Saved)
        saved.emplace_back(d.shape);
      else
        a.params.push_back(param_data(net, step, d.name));
    }
    for (auto& sv : saved) a.saved.push_back(sv.data());
    with_location(step.where, [&] { step.layer->forward(a); });
  }
  return values;
}

}  // namespace

ChannelMoments input_moments(const Net& net, size_t step_index, bool interleaving, const Dataset& data,
                             int64_t batch_size) {
  const Plan plan = make_plan(net, port_shapes(net, data));
  const PlanStep& step = plan.steps.at(step_index);
  const Shape& in = step.shapes.inputs.at(0);
  const int64_t rank = in.rank();
  const int64_t channels = in[interleaving ? rank - 1 : 0];
  const int64_t per_example = in.num_elements();
  std::vector<kernels::Moments> total(static_cast<size_t>(channels));
  std::vector<double> mean(static_cast<size_t>(channels)), m2(static_cast<size_t>(channels));
  for (int64_t begin = 0; begin < data.size(); begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, data.size()), n = end - begin;
    std::vector<int64_t> indices(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) indices[static_cast<size_t>(i)] = begin + i;
    const auto batch = data.batch(indices);
    std::vector<const float*> pointers;
    const auto values = run_until(net, plan, step_index, batch, n, pointers);
    kernels::BnLayout l;
    l.channels = channels;
    l.outer = interleaving ? n * (per_example / channels) : n;
    l.inner = interleaving ? 1 : per_example / channels;
    kernels::batch_norm_moments(pointers[step.inputs[0]], l, mean.data(), m2.data());
    for (size_t c = 0; c < total.size(); ++c)
      total[c] = kernels::combine(total[c], {static_cast<double>(l.per_channel()), mean[c], m2[c]});
  }
  ChannelMoments out;
  for (const auto& t : total) {
    out.mean.push_back(t.mean);
    out.variance.push_back(t.count > 0 ? t.m2 / t.count : 0.0);
    out.count = t.count;
  }
  return out;
}

int64_t set_population_statistics(Net& net, const Dataset& data, int64_t batch_size) {
  int64_t updated = 0;
  const size_t steps = net.plan().steps.size();
  for (size_t s = 0; s < steps; ++s) {
    const PlanStep& step = net.plan().steps[s];
    if (step.layer->type() != "BatchNormalization") continue;
    const nlohmann::json options = step.layer->options();
    if (options.value("Statistics", "Moving") != "Population" || options.value("Momentum", 0.9) == 1.0) continue;
    LayerNet& leaf = net.node_at(step.node_indices).layer();
    const bool mean_on = leaf.learning_rate_multiplier("MovingMean") != 0.0;
    const bool var_on = leaf.learning_rate_multiplier("MovingVariance") != 0.0;
    if (!mean_on && !var_on) continue;
    const ChannelMoments m = with_location("NetTrain, population statistics of " + step.where, [&] {
      return input_moments(net, s, options.value("Interleaving", false), data, batch_size);
    });
    const auto dims = std::vector<int64_t>{static_cast<int64_t>(m.mean.size())};
    if (mean_on) leaf.set_array("MovingMean", Array::from(dims, m.mean));
    if (var_on) leaf.set_array("MovingVariance", Array::from(dims, m.variance));
    ++updated;
  }
  return updated;
}

}  // namespace netkit
