#include <netkit/train/net_state.h>

#include <netkit/core/error.h>
#include <netkit/graph/plan.h>

namespace netkit {

namespace {

bool has_moving(const PlanStep& step) {
  for (const auto& d : step.decls)
    if (d.role == ArrayRole::Moving) return true;
  return false;
}

}  // namespace

std::vector<std::string> moving_layer_paths(const Net& net) {
  std::vector<std::string> paths;
  for (const PlanStep& step : net.plan().steps)
    if (has_moving(step)) paths.push_back(step.path);
  return paths;
}

NetState snapshot_state(Executor& executor, Net& net) {
  NetState s;
  for (const ArrayRef& ref : executor.array_refs(net)) s.arrays.emplace(ref.key, *ref.value);
  for (const PlanStep& step : net.plan().steps)
    if (has_moving(step)) s.moving_updates[step.path] = net.node_at(step.node_indices).layer().moving_update_count();
  return s;
}

void restore_state(Executor& executor, Net& net, const NetState& state, const std::string& where) {
  for (const ArrayRef& ref : executor.array_refs(net)) {
    auto it = state.arrays.find(ref.key);
    if (it == state.arrays.end())
      throw TrainingError(where, "array " + in_quotes(ref.key) + " missing", "every array of the net", "no such array");
    if (it->second.dims() != ref.value->dims())
      throw TrainingError(where + ", array " + in_quotes(ref.key), "dims differ from the net's",
                          "dims " + dims_to_string(ref.value->dims()), "dims " + dims_to_string(it->second.dims()));
    *ref.value = it->second;
  }
  for (const PlanStep& step : net.plan().steps) {
    if (!has_moving(step)) continue;
    auto it = state.moving_updates.find(step.path);
    net.node_at(step.node_indices).layer().set_moving_update_count(it == state.moving_updates.end() ? 0 : it->second);
  }
}

void copy_arrays_into(const Net& graph, size_t depth, Net& user) {
  for (const PlanStep& step : graph.plan().steps) {
    if (step.node_indices.size() <= depth) continue;  // the loss layer of a training graph
    const std::vector<size_t> at(step.node_indices.begin() + static_cast<std::ptrdiff_t>(depth),
                                 step.node_indices.end());
    if (depth > 0 && step.node_indices[0] != 0) continue;  // not inside the user's net
    const LayerNet& from = graph.node_at(step.node_indices).layer();
    LayerNet& to = user.node_at(at).layer();
    for (const auto& d : step.decls) {
      if (d.role == ArrayRole::Saved) continue;
      auto sh = step.shared.find(d.name);
      if (sh != step.shared.end()) {
        const std::vector<size_t> container(sh->second.container.begin() + static_cast<std::ptrdiff_t>(depth),
                                            sh->second.container.end());
        *user.node_at(container).shared_storage(sh->second.name) =
            *graph.node_at(sh->second.container).shared_storage(sh->second.name);
      } else {
        *to.mutable_array(d.name) = from.array(d.name);
      }
    }
    to.set_moving_update_count(from.moving_update_count());
  }
}

}  // namespace netkit
