#include <netkit/graph/plan.h>

#include <netkit/core/error.h>
#include <netkit/graph/net.h>
#include <netkit/graph/net_structure.h>
#include <netkit/graph/plan_fusion.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

std::string PlanStep::array_key(const std::string& array) const {
  auto it = shared.find(array);
  if (it != shared.end()) return it->second.key;
  return path.empty() ? array : path + "/" + array;
}

Shape Plan::port_shape(const std::string& port) const {
  for (size_t i = 0; i < input_names.size(); ++i)
    if (input_names[i] == port) return values[input_values[i]].shape;
  for (size_t i = 0; i < output_names.size(); ++i)
    if (output_names[i] == port) return values[output_values[i]].shape;
  std::vector<std::string> all = input_names;
  all.insert(all.end(), output_names.begin(), output_names.end());
  throw OptionError("net", "unknown port " + in_quotes(port), "one of " + join_names(all), in_quotes(port));
}

namespace {

// A shape a container port or the data imposes on a value.
struct Constraint {
  int value;
  Shape shape;
  std::string where;
};

struct Flattener {
  Plan plan;
  std::vector<Constraint> constraints;

  int new_value(std::string source, int producer) {
    plan.values.push_back({Shape(), std::move(source), producer, {}});
    return static_cast<int>(plan.values.size()) - 1;
  }

  void add(const Net& net, const std::vector<size_t>& idx, const std::vector<std::string>& names,
           const std::vector<const Net*>& containers, const std::vector<int>& ins, std::vector<int>& outs) {
    const std::string path = path_text(names);
    const std::string where = names.empty() ? net.type() : node_where(path, net.type());
    const auto in_ports = net.input_ports(), out_ports = net.output_ports();
    for (const auto& [port, shape] : net.fixed_ports()) {
      for (size_t i = 0; i < in_ports.size(); ++i)
        if (in_ports[i] == port) constraints.push_back({ins[i], shape, where + ", port " + in_quotes(port)});
    }
    if (net.is_layer())
      add_layer(net, idx, names, containers, ins, outs);
    else
      add_container(net, idx, names, containers, ins, outs);
    if (!net.is_layer() && !names.empty()) {
      for (size_t i = 0; i < in_ports.size(); ++i) plan.nested_ports[path + ":" + in_ports[i]] = ins[i];
      for (size_t i = 0; i < out_ports.size(); ++i) plan.nested_ports[path + ":" + out_ports[i]] = outs[i];
    }
    for (const auto& [port, shape] : net.fixed_ports())
      for (size_t i = 0; i < out_ports.size(); ++i)
        if (out_ports[i] == port) constraints.push_back({outs[i], shape, where + ", port " + in_quotes(port)});
  }

  void add_layer(const Net& net, const std::vector<size_t>& idx, const std::vector<std::string>& names,
                 const std::vector<const Net*>& containers, const std::vector<int>& ins, std::vector<int>& outs) {
    const LayerNet& leaf = net.layer();
    PlanStep step;
    step.node_indices = idx;
    step.path = path_text(names);
    step.where = node_where(step.path, leaf.type());
    step.layer = leaf.layer_ptr();
    step.shapes = leaf.shapes();
    step.inputs = ins;
    const int id = static_cast<int>(plan.steps.size());
    for (int v : ins) plan.values[v].consumers.push_back(id);
    for (const auto& port : leaf.layer().output_ports())
      step.outputs.push_back(new_value("node " + in_quotes(step.path) + " port " + in_quotes(port), id));
    outs = step.outputs;
    // The innermost container that declares one of this layer's arrays shared owns it.
    for (const auto& array : leaf.array_names()) {
      for (size_t depth = containers.size(); depth-- > 0;) {
        const std::vector<std::string> rel(names.begin() + static_cast<long>(depth), names.end());
        const auto shared = containers[depth]->shared_name_of(path_text(rel) + "/" + array);
        if (!shared) continue;
        const std::vector<std::string> owner(names.begin(), names.begin() + static_cast<long>(depth));
        step.shared[array] = {std::vector<size_t>(idx.begin(), idx.begin() + static_cast<long>(depth)), *shared,
                              owner.empty() ? *shared : path_text(owner) + "/" + *shared};
        if (const Array* value = containers[depth]->shared_storage(*shared))
          step.shapes.arrays[array] = Shape(value->dims());
        break;
      }
    }
    plan.steps.push_back(std::move(step));
  }

  void add_container(const Net& net, const std::vector<size_t>& idx, const std::vector<std::string>& names,
                     std::vector<const Net*> containers, const std::vector<int>& ins, std::vector<int>& outs) {
    containers.push_back(&net);
    const Structure s = analyze_structure(net.type(), net.node_names(), net.nodes(), net.edges());
    std::vector<std::map<std::string, int>> produced(net.nodes().size());
    for (int n : s.order) {
      const Net& node = net.nodes()[n];
      std::vector<int> node_ins;
      for (const auto& port : node.input_ports()) {
        const NodePort& src = s.feeds[n].at(port);
        node_ins.push_back(src.node < 0 ? ins[index_of(s.inputs, src.port)] : produced[src.node].at(src.port));
      }
      std::vector<size_t> child_idx = idx;
      child_idx.push_back(static_cast<size_t>(n));
      std::vector<std::string> child_names = names;
      child_names.push_back(net.node_names()[n]);
      std::vector<int> node_outs;
      add(node, child_idx, child_names, containers, node_ins, node_outs);
      const auto out_ports = node.output_ports();
      for (size_t p = 0; p < out_ports.size(); ++p) produced[n][out_ports[p]] = node_outs[p];
    }
    outs.clear();
    for (const NodePort& src : s.output_sources) outs.push_back(produced[src.node].at(src.port));
  }

  static size_t index_of(const std::vector<std::string>& names, const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return i;
    throw std::logic_error("plan: unknown container port " + name);
  }
};

// Unifies `shape` into `acc`; on conflict names both sides (where() is called only then).
template <class Where>
void join(Shape& acc, const Shape& shape, const Where& where, const std::string& source) {
  const auto joined = Shape::unify(acc, shape);
  if (!joined) throw ShapeError(where(), "shapes do not agree", shape.to_string(), acc.to_string() + " from " + source);
  acc = *joined;
}

// A value's use as one input of a step.
struct Use {
  int step;
  size_t input;
};

bool assign(Shape& target, const Shape& value) {
  if (target == value) return false;
  target = value;
  return true;
}

// One round: every layer refines its own port shapes, then every value joins its producer, its
// constraints and its consumers, then every shared array joins its users. Forward rounds pass a
// value's shape to its consumers only, so that a conflict is met where the two sides meet and
// the message names both; backward rounds also pass it back to the producer (e.g. a fixed
// "Output" fixing an upstream size). True if anything changed.
bool propagate(Plan& plan, const std::vector<Constraint>& constraints, bool backward) {
  bool changed = false;
  for (auto& step : plan.steps) {
    const LayerShapes before = step.shapes;
    with_location(step.where, [&] { step.layer->infer_shapes(step.shapes); });
    changed = changed || before.inputs != step.shapes.inputs || before.outputs != step.shapes.outputs ||
              before.arrays != step.shapes.arrays;
  }
  // Each value's uses and constraints, in step and input order: one pass over all ports, so a
  // round is linear in the number of ports (a Total may have many inputs).
  std::vector<std::vector<Use>> uses(plan.values.size());
  for (size_t s = 0; s < plan.steps.size(); ++s)
    for (size_t i = 0; i < plan.steps[s].inputs.size(); ++i)
      uses[static_cast<size_t>(plan.steps[s].inputs[i])].push_back({static_cast<int>(s), i});
  std::vector<std::vector<const Constraint*>> constrained(plan.values.size());
  for (const auto& c : constraints) constrained[static_cast<size_t>(c.value)].push_back(&c);
  for (size_t v = 0; v < plan.values.size(); ++v) {
    PlanValue& value = plan.values[v];
    const int id = static_cast<int>(v);
    Shape acc = value.producer >= 0 ? Shape() : value.shape;
    if (value.producer >= 0) {
      const PlanStep& p = plan.steps[value.producer];
      const auto at_producer = [&] { return p.where; };
      for (size_t o = 0; o < p.outputs.size(); ++o)
        if (p.outputs[o] == id) join(acc, p.shapes.outputs[o], at_producer, value.source);
    }
    for (const Constraint* c : constrained[v]) {
      const auto at_constraint = [&] { return c->where; };
      join(acc, c->shape, at_constraint, value.source);
    }
    for (const Use& use : uses[v]) {
      const PlanStep& c = plan.steps[use.step];
      const auto at_port = [&] { return c.where + ", port " + in_quotes(c.layer->input_ports()[use.input]); };
      join(acc, c.shapes.inputs[use.input], at_port, value.source);
    }
    changed = assign(value.shape, acc) || changed;
    if (backward && value.producer >= 0) {
      PlanStep& p = plan.steps[value.producer];
      for (size_t o = 0; o < p.outputs.size(); ++o)
        if (p.outputs[o] == id) changed = assign(p.shapes.outputs[o], acc) || changed;
    }
    for (const Use& use : uses[v]) changed = assign(plan.steps[use.step].shapes.inputs[use.input], acc) || changed;
  }
  std::map<std::string, std::pair<Shape, std::string>> shared;  // key -> (shape, first user)
  for (auto& step : plan.steps)
    for (const auto& [array, binding] : step.shared) {
      const std::string user = step.where + ", array " + in_quotes(array);
      auto [it, fresh] = shared.emplace(binding.key, std::make_pair(step.shapes.arrays[array], user));
      if (!fresh) {
        const auto joined = Shape::unify(it->second.first, step.shapes.arrays[array]);
        if (!joined)
          throw ShapeError("shared array " + in_quotes(binding.key), "users disagree on the shape",
                           it->second.first.to_string() + " (" + it->second.second + ")",
                           step.shapes.arrays[array].to_string() + " (" + user + ")");
        it->second.first = *joined;
      }
    }
  for (auto& step : plan.steps)
    for (const auto& [array, binding] : step.shared)
      changed = assign(step.shapes.arrays[array], shared.at(binding.key).first) || changed;
  return changed;
}

}  // namespace

Plan make_plan(const Net& net, const std::map<std::string, Shape>& input_shapes, bool fuse) {
  Flattener f;
  const auto in_ports = net.input_ports();
  std::vector<int> ins, outs;
  for (const auto& port : in_ports) {
    ins.push_back(f.new_value("port " + in_quotes(port), -1));
    auto it = input_shapes.find(port);
    if (it != input_shapes.end())
      f.constraints.push_back({ins.back(), it->second, "input data, port " + in_quotes(port)});
  }
  f.add(net, {}, {}, {}, ins, outs);
  Plan plan = std::move(f.plan);
  plan.input_names = in_ports;
  plan.output_names = net.output_ports();
  plan.input_values = ins;
  plan.output_values = outs;
  // Each round only refines shapes, so this ends; the bound guards against a layer that flips.
  for (bool backward : {false, true})
    for (int round = 0; propagate(plan, f.constraints, backward); ++round)
      if (round > 100) throw std::logic_error("plan: shape inference does not settle");
  for (auto& step : plan.steps) step.decls = with_location(step.where, [&] { return step.layer->arrays(step.shapes); });
  if (fuse) fuse_producers(plan);
  return plan;
}

}  // namespace netkit
