// Net: arrays and options by path, NetInitialize, sharing, evaluation.
#include <algorithm>
#include <set>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/graph/array_json.h>
#include <netkit/graph/executor.h>
#include <netkit/graph/net.h>
#include <netkit/graph/net_structure.h>
#include <netkit/graph/plan.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

const ArrayDecl* find_decl(const PlanStep& step, const std::string& name) {
  for (const auto& d : step.decls)
    if (d.name == name && d.role != ArrayRole::Saved) return &d;
  return nullptr;
}

std::vector<std::string> param_names(const PlanStep& step) {
  std::vector<std::string> names;
  for (const auto& d : step.decls)
    if (d.role != ArrayRole::Saved) names.push_back(d.name);
  return names;
}

// A path to one array of one layer: the layer's plan step and the array's declaration.
struct ArrayAt {
  std::vector<size_t> idx;
  const PlanStep* step;
  const ArrayDecl* decl;
  std::string where;  // node "bn1" (BatchNormalization), array "Scaling"
};

}  // namespace

const PlanStep& Net::step_of(const std::vector<size_t>& node_indices) const {
  for (const auto& step : plan_->steps)
    if (step.node_indices == node_indices) return step;
  throw std::logic_error("Net: no plan step for a layer");
}

const Array* Net::storage_of(const PlanStep& step, const std::string& array) const {
  auto sh = step.shared.find(array);
  if (sh != step.shared.end()) return node_at(sh->second.container).shared_storage(sh->second.name);
  const LayerNet& leaf = node_at(step.node_indices).layer();
  return leaf.has_array(array) ? &leaf.array(array) : nullptr;
}

Array* Net::storage_of(const PlanStep& step, const std::string& array) {
  return const_cast<Array*>(static_cast<const Net&>(*this).storage_of(step, array));
}

void Net::put_storage(const PlanStep& step, const std::string& array, Array value) {
  auto sh = step.shared.find(array);
  if (sh != step.shared.end())
    node_at(sh->second.container).shared_values_[sh->second.name] = std::move(value);
  else
    with_location(step.where, [&] { node_at(step.node_indices).layer().set_array(array, std::move(value)); });
}

void Net::replan_all() {
  for (auto& node : nodes_) node.replan_all();
  replan();
}

namespace {

ArrayAt locate_array(const Net& net, const std::vector<size_t>& idx, const NetPath& rest, const PlanStep& step) {
  const std::string node = step.where;
  if (rest.size() != 1 || rest[0].index > 0)
    throw OptionError(node, "path does not end in an array name", "one of " + join_names(param_names(step)),
                      rest.empty() ? "the layer itself" : std::to_string(rest.size()) + " more keys");
  const ArrayDecl* d = find_decl(step, rest[0].name);
  if (!d)
    throw OptionError(node, "unknown array " + in_quotes(rest[0].name),
                      param_names(step).empty() ? "no array name (this layer has no arrays)"
                                                : "one of " + join_names(param_names(step)),
                      in_quotes(rest[0].name));
  (void)net;
  return {idx, &step, d, node + ", array " + in_quotes(d->name)};
}

}  // namespace

bool Net::has_array(const NetPath& path) const {
  auto [idx, rest] = resolve(path);
  if (!node_at(idx).is_layer()) return false;
  const ArrayAt a = locate_array(*this, idx, rest, step_of(idx));
  return storage_of(*a.step, a.decl->name) != nullptr;
}

const Array& Net::array(const NetPath& path) const {
  auto [idx, rest] = resolve(path);
  if (!node_at(idx).is_layer())
    throw OptionError(node_where(path_text(names_at(idx)), node_at(idx).type()), "path does not reach a layer",
                      "a path to a layer, then an array name", "a path to a " + node_at(idx).type());
  const ArrayAt a = locate_array(*this, idx, rest, step_of(idx));
  const Array* value = storage_of(*a.step, a.decl->name);
  if (!value)
    throw InitializationError(a.where, "not initialized", "an initialized array", "no value",
                              "Use initialize() or set the array");
  return *value;
}

void Net::set_array(const NetPath& path, Array value) {
  auto [idx, rest] = resolve(path);
  if (!node_at(idx).is_layer())
    throw OptionError(node_where(path_text(names_at(idx)), node_at(idx).type()), "path does not reach a layer",
                      "a path to a layer, then an array name", "a path to a " + node_at(idx).type());
  const ArrayAt a = locate_array(*this, idx, rest, step_of(idx));
  if (!Shape::unify(a.decl->shape, Shape(value.dims())))
    throw ShapeError(a.where, "shape does not fit the net", a.decl->shape.to_string(), dims_to_string(value.dims()));
  with_location(a.step->where, [&] { a.step->layer->check_array(a.decl->name, value); });
  const Net saved = *this;
  try {
    put_storage(*a.step, a.decl->name, std::move(value));
    replan_all();
  } catch (...) {
    *this = saved;  // a rejected array leaves the net as it was
    throw;
  }
}

nlohmann::json Net::option(const NetPath& path) const {
  auto [idx, rest] = resolve(path);
  const Net& node = node_at(idx);
  const std::string where = idx.empty() ? type() : node_where(path_text(names_at(idx)), node.type());
  if (rest.size() != 1 || rest[0].index > 0)
    throw OptionError(where, "path does not end in an option name", "one option name",
                      std::to_string(rest.size()) + " keys");
  const std::string& name = rest[0].name;
  if (!node.is_layer()) {
    // A container's options are its port shapes, as the plan sees them.
    const auto ports = node.input_ports(), outs = node.output_ports();
    if (std::find(ports.begin(), ports.end(), name) == ports.end() &&
        std::find(outs.begin(), outs.end(), name) == outs.end()) {
      std::vector<std::string> all = ports;
      all.insert(all.end(), outs.begin(), outs.end());
      throw OptionError(where, "unknown option " + in_quotes(name), "a port name: one of " + join_names(all),
                        in_quotes(name));
    }
    if (idx.empty()) return shape_to_json(port_shape(name));
    return shape_to_json(plan_->values[plan_->nested_ports.at(path_text(names_at(idx)) + ":" + name)].shape);
  }
  const PlanStep& step = step_of(idx);
  const auto ins = step.layer->input_ports(), outs = step.layer->output_ports();
  for (size_t i = 0; i < ins.size(); ++i)
    if (ins[i] == name) return shape_to_json(step.shapes.inputs[i]);
  for (size_t i = 0; i < outs.size(); ++i)
    if (outs[i] == name) return shape_to_json(step.shapes.outputs[i]);
  return with_location(where, [&] { return node.layer().option(name); });
}

void Net::initialize(uint64_t seed, InitializeMode mode) {
  std::map<std::string, Array> made;  // by array key; nothing is stored until all are made
  for (const auto& step : plan_->steps) {
    for (const auto& d : step.decls) {
      if (d.role == ArrayRole::Saved) continue;
      const std::string key = step.array_key(d.name);
      const bool present = storage_of(step, d.name) != nullptr;
      if ((mode == InitializeMode::Missing && present) || made.count(key)) continue;
      const std::string at = step.where + ", array " + in_quotes(d.name);
      if (!d.shape.known()) {
        std::string unknown;  // 1-based, as in the shape's text
        if (d.shape.rank_known())
          for (int64_t i = 0; i < d.shape.rank(); ++i)
            if (!d.shape.dim_known(i)) unknown += (unknown.empty() ? "" : ", ") + std::to_string(i + 1);
        const std::string which = !d.shape.rank_known()                    ? "the rank"
                                  : unknown.find(',') == std::string::npos ? "dimension " + unknown
                                                                           : "dimensions " + unknown;
        throw InitializationError(at,
                                  "cannot initialize: " + which + " of the shape is unknown (" +
                                      step.layer->unknown_shape_reason(d.name) + ")",
                                  "a known shape", d.shape.to_string(),
                                  "Give the net's \"Input\" shape or the layer's options");
      }
      Random random(seed, key);
      Array value = d.initializer.make(d.shape, random, at);
      with_location(step.where, [&] { step.layer->check_array(d.name, value); });
      made.emplace(key, std::move(value));
    }
  }
  const Net saved = *this;
  try {
    for (const auto& step : plan_->steps)
      for (const auto& d : step.decls) {
        auto it = made.find(step.array_key(d.name));
        if (d.role == ArrayRole::Saved || it == made.end()) continue;
        put_storage(step, d.name, it->second);
      }
    replan_all();
  } catch (...) {
    *this = saved;
    throw;
  }
}

bool Net::initialized() const {
  for (const auto& step : plan_->steps)
    for (const auto& d : step.decls) {
      if (d.role == ArrayRole::Saved) continue;
      if (!storage_of(step, d.name)) return false;
    }
  return true;
}

void Net::share_array(const std::string& name, const std::vector<NetPath>& paths) {
  const std::string where = "shared array " + in_quotes(name);
  if (name.empty()) throw OptionError(where, "empty name", "a non-empty name", "\"\"");
  if (shared_values_.count(name))
    throw OptionError(where, "name already in use", "a new shared array name", in_quotes(name));
  if (paths.size() < 2)
    throw OptionError(where, "too few arrays to share", "2 or more array paths", std::to_string(paths.size()));
  std::vector<ArrayAt> users;
  std::optional<Array> value;
  for (const auto& path : paths) {
    auto [idx, rest] = resolve(path);
    if (!node_at(idx).is_layer())
      throw OptionError(where, "path does not reach a layer", "a path to a layer, then an array name",
                        "a path to a " + node_at(idx).type());
    ArrayAt a = locate_array(*this, idx, rest, step_of(idx));
    if (a.decl->role != ArrayRole::Learnable || !a.decl->shareable)
      throw OptionError(a.where, "cannot be shared", "a learnable array",
                        std::string("a ") + role_name(a.decl->role) + " array",
                        "Each layer keeps its own moving statistics");
    if (!a.step->shared.empty() && a.step->shared.count(a.decl->name))
      throw OptionError(a.where, "already shared", "an array that is not shared yet",
                        "shared as " + in_quotes(a.step->shared.at(a.decl->name).key));
    if (!users.empty() && !Shape::unify(users[0].decl->shape, a.decl->shape))
      throw ShapeError(where, "arrays of different shapes",
                       users[0].decl->shape.to_string() + " (" + users[0].where + ")",
                       a.decl->shape.to_string() + " (" + a.where + ")");
    const LayerNet& leaf = node_at(idx).layer();
    if (!value && leaf.has_array(a.decl->name)) value = leaf.array(a.decl->name);
    users.push_back(std::move(a));
  }
  const Net saved = *this;
  try {
    std::vector<std::string> texts;
    for (const auto& u : users) {
      texts.push_back(path_text(names_at(u.idx)) + "/" + u.decl->name);
      node_at(u.idx).layer().remove_array(u.decl->name);
    }
    shared_values_[name] = value;
    shared_users_[name] = texts;
    replan_all();
  } catch (...) {
    *this = saved;
    throw;
  }
}

void Net::share_layer_arrays(const std::string& name, const std::vector<NetPath>& layer_paths) {
  if (layer_paths.empty())
    throw OptionError("shared arrays " + in_quotes(name), "no layers", "2 or more layer paths", "none");
  // A copy: each share_array below replans, which replaces the plan the step lives in.
  const std::vector<ArrayDecl> decls = step_of(resolve(layer_paths[0]).first).decls;
  for (const auto& d : decls) {
    if (d.role != ArrayRole::Learnable || !d.shareable) continue;  // moving arrays stay per layer
    std::vector<NetPath> paths;
    for (NetPath p : layer_paths) p.push_back(d.name), paths.push_back(std::move(p));
    share_array(name + "/" + d.name, paths);
  }
}

Array Net::evaluate(const Array& example, Mode mode) const {
  std::vector<int64_t> dims{1};
  dims.insert(dims.end(), example.dims().begin(), example.dims().end());
  Array out = evaluate_batch(example.reshaped(dims), mode);
  return out.reshaped(std::vector<int64_t>(out.dims().begin() + 1, out.dims().end()));
}

Array Net::evaluate_batch(const Array& batch, Mode mode) const {
  const auto ins = input_ports(), outs = output_ports();
  if (ins.size() != 1 || outs.size() != 1)
    throw EvaluationError(type(), "one batch needs a net with one input and one output port", "1 input and 1 output",
                          join_names(ins) + " and " + join_names(outs), "Give a batch per input port by name");
  return evaluate_batch(std::map<std::string, Array>{{ins[0], batch}}, mode).at(outs[0]);
}

std::map<std::string, Array> Net::evaluate_batch(const std::map<std::string, Array>& inputs, Mode mode) const {
  Executor executor(*this);
  return executor.forward(inputs, mode);
}

NetGradients Net::gradients(const std::map<std::string, Array>& inputs,
                            const std::map<std::string, Array>& output_gradients, Mode mode) const {
  Executor executor(*this);
  const auto outputs = executor.forward(inputs, mode, true);
  if (!output_gradients.empty()) return executor.backward(output_gradients);
  if (outputs.size() != 1)
    throw EvaluationError(type(), "gradient of a sum needs a net with one output port", "1 output port",
                          join_names(output_ports()), "Give the output gradients by port name");
  const Array& y = outputs.begin()->second;
  return executor.backward({{outputs.begin()->first, Array::filled(y.dims(), 1.0f)}});
}

}  // namespace netkit
