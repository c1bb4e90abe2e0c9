#include <netkit/train/population_statistics.h>

#include <algorithm>
#include <iterator>

#include <netkit/core/error.h>
#include <netkit/graph/executor.h>
#include <netkit/graph/plan.h>
#include <netkit/layers/kernels/batch_norm.h>

namespace netkit {

namespace {

// A batch of `data` for the net's input ports only (a dataset also holds targets).
std::map<std::string, Array> net_inputs(const Net& net, const Dataset& data, const std::vector<int64_t>& indices) {
  std::map<std::string, Array> batch = data.batch(indices);
  for (auto it = batch.begin(); it != batch.end();) {
    const auto ports = net.input_ports();
    it = std::find(ports.begin(), ports.end(), it->first) == ports.end() ? batch.erase(it) : std::next(it);
  }
  return batch;
}

void require_input_ports(const Net& net, const Dataset& data) {
  const std::map<std::string, Shape> all = data.example_shapes();
  for (const std::string& port : net.input_ports())
    if (all.find(port) == all.end())
      throw TrainingError("training data", "no data for port " + in_quotes(port),
                          "data for every input port of the net", "none for " + in_quotes(port));
}

}  // namespace

ChannelMoments input_moments(const Net& net, size_t step_index, bool interleaving, const Dataset& data,
                             int64_t batch_size) {
  require_input_ports(net, data);
  const std::vector<size_t> layer = net.plan().steps.at(step_index).node_indices;
  Executor executor(net);
  std::vector<kernels::Moments> total;
  std::vector<double> mean, m2;
  std::vector<int64_t> indices;
  for (int64_t begin = 0; begin < data.size(); begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, data.size()), n = end - begin;
    indices.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) indices[static_cast<size_t>(i)] = begin + i;
    // A Test-mode pass kept as for a backward, so that the layer's input is still there after it.
    executor.run_forward(net_inputs(net, data, indices), Mode::Test, true);
    const ArrayView x = executor.step_input(layer, 0);
    const int64_t rank = x.rank() - 1, per_example = x.size() / n;
    const int64_t channels = x.dims()[static_cast<size_t>(interleaving ? rank : 1)];
    kernels::BnLayout l;
    l.channels = channels;
    l.outer = interleaving ? n * (per_example / channels) : n;
    l.inner = interleaving ? 1 : per_example / channels;
    total.resize(static_cast<size_t>(channels));
    mean.resize(total.size()), m2.resize(total.size());
    kernels::batch_norm_moments(x.data(), l, mean.data(), m2.data());
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
