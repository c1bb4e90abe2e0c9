#include <netkit/train/population_statistics.h>

#include <algorithm>
#include <iterator>

#include <netkit/core/error.h>
#include <netkit/graph/executor.h>
#include <netkit/graph/plan.h>

namespace netkit {

namespace {

// A batch of `data` for the net's input ports only (a dataset also holds targets).
std::map<std::string, Array> net_inputs(const Net& net, const Dataset& data, const std::vector<int64_t>& indices) {
  std::map<std::string, Array> batch = data.batch(indices);
  const auto ports = net.input_ports();
  for (auto it = batch.begin(); it != batch.end();) {
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

int64_t set_population_statistics(Net& net, const Dataset& data, int64_t batch_size) {
  int64_t updated = 0;
  std::vector<int64_t> indices;
  for (size_t s = 0; s < net.plan().steps.size(); ++s) {
    const PlanStep& step = net.plan().steps[s];
    std::unique_ptr<PopulationAccumulator> statistics = step.layer->population_accumulator();
    if (!statistics) continue;
    const std::vector<size_t> at = step.node_indices;  // the plan is replaced once arrays are set
    const std::string where = "NetTrain, population statistics of " + step.where;
    LayerNet& leaf = net.node_at(at).layer();
    bool any = false;  // a moving array not frozen by a multiplier of 0
    for (const ArrayDecl& d : step.decls)
      any = any || (d.role == ArrayRole::Moving && leaf.learning_rate_multiplier(d.name) != 0.0);
    if (!any) continue;
    with_location(where, [&] {
      require_input_ports(net, data);
      Executor executor(net);
      for (int64_t begin = 0; begin < data.size(); begin += batch_size) {
        const int64_t end = std::min(begin + batch_size, data.size());
        indices.resize(static_cast<size_t>(end - begin));
        for (int64_t i = begin; i < end; ++i) indices[static_cast<size_t>(i - begin)] = i;
        // A Test-mode pass kept as for a backward, so that the layer's input is still there after it.
        executor.run_forward(net_inputs(net, data, indices), Mode::Test, true);
        const ArrayView x = executor.step_input(at, 0);
        statistics->add(x.data(), Shape(std::vector<int64_t>(x.dims().begin() + 1, x.dims().end())), end - begin);
      }
    });
    bool changed = false;
    for (auto& [name, value] : statistics->result()) {
      if (leaf.learning_rate_multiplier(name) == 0.0) continue;  // frozen
      leaf.set_array(name, std::move(value));
      changed = true;
    }
    updated += changed;
  }
  return updated;
}

}  // namespace netkit
