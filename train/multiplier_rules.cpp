#include <netkit/train/multiplier_rules.h>

#include <cmath>

#include <netkit/core/error.h>
#include <netkit/graph/plan.h>

namespace netkit {

std::string rule_text(const NetPath& path) {
  std::string text = "{";
  for (size_t i = 0; i < path.size(); ++i) {
    if (i) text += ", ";
    text += path[i].index > 0 ? std::to_string(path[i].index) : in_quotes(path[i].name);
  }
  return text + "}";
}

namespace {

bool key_matches(const PathKey& key, const std::string& name, size_t index) {
  return key.index > 0 ? static_cast<size_t>(key.index) == index + 1 : key.name == name;
}

// Does `path[0, count)` match the first `count` nodes of the layer's path?
bool prefix_matches(const NetPath& path, size_t count, const std::vector<std::string>& names,
                    const std::vector<size_t>& indices) {
  if (count > names.size()) return false;
  for (size_t i = 0; i < count; ++i)
    if (!key_matches(path[i], names[i], indices[i])) return false;
  return true;
}

bool rule_matches(const NetPath& path, const std::vector<std::string>& names, const std::vector<size_t>& indices,
                  const std::string& array) {
  if (prefix_matches(path, path.size(), names, indices)) return true;  // a layer path (or {})
  // An array name under a path: the last key names the array.
  return !path.empty() && path.back().index == 0 && path.back().name == array &&
         prefix_matches(path, path.size() - 1, names, indices);
}

}  // namespace

std::optional<double> resolve_multiplier(const std::vector<MultiplierRule>& rules,
                                         const std::vector<std::string>& names, const std::vector<size_t>& indices,
                                         const std::string& array) {
  for (const auto& rule : rules)
    if (rule_matches(rule.path, names, indices, array)) return rule.multiplier;
  return std::nullopt;
}

void apply_multiplier_rules(Net& net, const std::vector<MultiplierRule>& rules, size_t depth) {
  for (const auto& rule : rules)
    if (!(std::isfinite(rule.multiplier) && rule.multiplier >= 0))
      throw OptionError("NetTrain option \"LearningRateMultipliers\", rule " + rule_text(rule.path),
                        "multiplier out of range", "a finite number >= 0", number_text(rule.multiplier));
  std::vector<bool> used(rules.size(), false);
  for (const PlanStep& step : net.plan().steps) {
    if (step.node_indices.size() < depth) continue;
    const std::vector<std::string> all_names = net.names_at(step.node_indices);
    const std::vector<std::string> names(all_names.begin() + static_cast<std::ptrdiff_t>(depth), all_names.end());
    const std::vector<size_t> indices(step.node_indices.begin() + static_cast<std::ptrdiff_t>(depth),
                                      step.node_indices.end());
    LayerNet& leaf = net.node_at(step.node_indices).layer();
    for (const ArrayDecl& d : step.decls) {
      if (d.role == ArrayRole::Saved) continue;
      bool resolved = false;
      for (size_t r = 0; r < rules.size(); ++r) {
        if (!rule_matches(rules[r].path, names, indices, d.name)) continue;
        used[r] = true;
        if (!resolved) leaf.set_learning_rate_multiplier(d.name, rules[r].multiplier);  // the first match wins
        resolved = true;
      }
    }
  }
  for (size_t r = 0; r < rules.size(); ++r)
    if (!used[r])
      throw OptionError("NetTrain option \"LearningRateMultipliers\"", "rule matches no array of the net",
                        "a path to a node, or an array name under a path", rule_text(rules[r].path));
}

}  // namespace netkit
