#include <netkit/graph/array_store.h>

#include <algorithm>
#include <map>

#include <netkit/graph/net.h>

namespace netkit {

ArrayStore::ArrayStore(const Net& net, const Plan& plan) : multipliers_read_(LayerNet::multiplier_generation()) {
  std::map<std::string, size_t> slots;
  int64_t elements = 0;
  step_slots_.resize(plan.steps.size());
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const PlanStep& step = plan.steps[s];
    const LayerNet& leaf = net.node_at(step.node_indices).layer();
    for (const ArrayDecl& d : step.decls) {
      if (d.role == ArrayRole::Saved) continue;
      const std::string key = step.array_key(d.name);
      auto [it, fresh] = slots.emplace(key, arrays_.size());
      step_slots_[s].push_back(it->second);
      if (!fresh) continue;  // a shared array: one slot for all its users
      // The store hands out writable values: an executor writes moving statistics and a trainer
      // steps arrays only through the mutable net they were given (Executor::update_moving).
      Array* value = const_cast<Array*>(net.storage_of(step, d.name));
      arrays_.push_back({key, value, ArrayView(), d.role, leaf.learning_rate_multiplier(d.name), d.l2_factor});
      owners_.push_back(step.node_indices);
      names_.push_back(d.name);
      const bool learnable = d.role == ArrayRole::Learnable;
      offsets_.push_back(learnable ? elements : -1);
      if (learnable) elements += d.shape.num_elements();
    }
  }
  arena_.assign(static_cast<size_t>(elements), 0.0f);
  // The views are made once the arena no longer moves.
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    size_t k = 0;
    for (const ArrayDecl& d : plan.steps[s].decls) {
      if (d.role == ArrayRole::Saved) continue;
      const size_t slot = step_slots_[s][k++];
      if (offsets_[slot] >= 0 && arrays_[slot].gradient.empty())
        arrays_[slot].gradient = ArrayView(arena_.data() + offsets_[slot], d.shape.dims());
    }
  }
}

void ArrayStore::refresh_multipliers(const Net& net) {
  const uint64_t now = LayerNet::multiplier_generation();
  if (now == multipliers_read_) return;
  for (size_t slot = 0; slot < arrays_.size(); ++slot)
    arrays_[slot].learning_rate_multiplier = net.node_at(owners_[slot]).layer().learning_rate_multiplier(names_[slot]);
  multipliers_read_ = now;
}

std::optional<size_t> ArrayStore::slot_of(const std::string& key) const {
  for (size_t slot = 0; slot < arrays_.size(); ++slot)
    if (arrays_[slot].key == key) return slot;
  return std::nullopt;
}

std::vector<std::string> ArrayStore::missing() const {
  std::vector<std::string> keys;
  for (const ArrayRef& a : arrays_)
    if (!a.value) keys.push_back(a.key);
  return keys;
}

void ArrayStore::zero_gradients() { std::fill(arena_.begin(), arena_.end(), 0.0f); }

}  // namespace netkit
