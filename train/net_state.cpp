#include <netkit/train/net_state.h>

#include <netkit/core/error.h>
#include <netkit/graph/array_store.h>
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
  for (const ArrayRef& ref : executor.store(net).arrays()) s.arrays.emplace(ref.key, *ref.value);
  for (const PlanStep& step : net.plan().steps)
    if (has_moving(step)) s.moving_updates[step.path] = net.node_at(step.node_indices).layer().moving_update_count();
  return s;
}

void restore_state(Executor& executor, Net& net, const NetState& state, const std::string& where) {
  for (const ArrayRef& ref : executor.store(net).arrays()) {
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
  // The user's net is `graph` itself or its first node: array paths differ by that node's name.
  const std::string prefix = depth == 0 ? "" : graph.node_names().at(0) + "/";
  const std::vector<size_t> inside = depth == 0 ? std::vector<size_t>{} : std::vector<size_t>{0};
  const ArrayStore from(graph, graph.plan()), to(user, user.plan());
  for (const ArrayRef& a : to.arrays()) *a.value = *from[from.slot_of(prefix + a.key).value()].value;
  for (const PlanStep& step : user.plan().steps) {
    if (!has_moving(step)) continue;
    std::vector<size_t> at = inside;
    at.insert(at.end(), step.node_indices.begin(), step.node_indices.end());
    user.node_at(step.node_indices).layer().set_moving_update_count(graph.node_at(at).layer().moving_update_count());
  }
}

}  // namespace netkit
