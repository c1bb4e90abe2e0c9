#include <netkit/graph/net_info.h>

#include <algorithm>
#include <set>
#include <sstream>

#include <netkit/core/checked_size.h>
#include <netkit/graph/plan.h>

namespace netkit {

NetInfo information(const Net& net) {
  const Plan& plan = net.plan();
  NetInfo info;
  info.layer_count = static_cast<int64_t>(plan.steps.size());
  std::set<std::string> seen;
  for (const auto& step : plan.steps) {
    ++info.layer_types[step.layer->type()];
    for (const auto& d : step.decls) {
      if (d.role == ArrayRole::Saved) continue;
      const std::string key = step.array_key(d.name);
      if (!seen.insert(key).second) continue;
      const int64_t n = d.shape.known() ? d.shape.num_elements() : -1;
      NetPath path;
      for (const auto& name : net.names_at(step.node_indices)) path.push_back(name);
      path.push_back(d.name);
      info.arrays.push_back({key, d.shape, d.role, n, net.has_array(path), step.shared.count(d.name) > 0});
      ++info.array_count;
      if (n > 0) info.total_elements = checked_add(info.total_elements, n, "parameter count of " + net.type());
    }
  }
  for (size_t i = 0; i < plan.input_names.size(); ++i)
    info.inputs.push_back({plan.input_names[i], plan.values[plan.input_values[i]].shape});
  for (size_t i = 0; i < plan.output_names.size(); ++i)
    info.outputs.push_back({plan.output_names[i], plan.values[plan.output_values[i]].shape});
  info.dot = to_dot(net);
  return info;
}

namespace {

std::string shapes_text(const std::vector<std::string>& ports, const std::vector<Shape>& shapes) {
  std::string out;
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (!out.empty()) out += ", ";
    out += (shapes.size() > 1 ? ports[i] + " " : std::string()) + shapes[i].to_string();
  }
  return out;
}

std::string pad(const std::string& s, size_t width) {
  return s + std::string(width > s.size() ? width - s.size() : 0, ' ');
}

}  // namespace

std::string layer_table(const Net& net) {
  const Plan& plan = net.plan();
  std::vector<std::vector<std::string>> rows{{"#", "name", "type", "input", "output", "arrays"}};
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const PlanStep& step = plan.steps[s];
    std::string arrays;
    for (const auto& d : step.decls) {
      if (d.role == ArrayRole::Saved) continue;
      arrays += (arrays.empty() ? "" : ", ") + d.name + " " + d.shape.to_string();
      if (step.shared.count(d.name)) arrays += " (shared " + step.shared.at(d.name).key + ")";
    }
    rows.push_back({std::to_string(s + 1), step.path.empty() ? "-" : step.path, step.layer->type(),
                    shapes_text(step.layer->input_ports(), step.shapes.inputs),
                    shapes_text(step.layer->output_ports(), step.shapes.outputs), arrays});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  const NetInfo info = information(net);
  std::ostringstream out;
  out << net.type() << ": " << info.layer_count << " layers, " << info.array_count << " arrays, " << info.total_elements
      << " elements\n";
  for (const auto& p : info.inputs) out << "  input  " << p.name << " " << p.shape.to_string() << "\n";
  for (const auto& p : info.outputs) out << "  output " << p.name << " " << p.shape.to_string() << "\n";
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c)
      line += (c ? "  " : "") + (c + 1 < row.size() ? pad(row[c], width[c]) : row[c]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
  return out.str();
}

namespace {

std::string dot_id(const std::string& s) {
  std::string out = "\"";
  for (char c : s)
    out += c == '\n' ? std::string("\\n") : (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string to_dot(const Net& net) {
  const Plan& plan = net.plan();
  std::ostringstream out;
  out << "digraph net {\n  rankdir=TB;\n  node [shape=box];\n";
  auto value_node = [&](int v) -> std::string {
    const PlanValue& value = plan.values[v];
    if (value.producer >= 0)
      return dot_id(plan.steps[value.producer].path.empty() ? "layer" : plan.steps[value.producer].path);
    for (size_t i = 0; i < plan.input_values.size(); ++i)
      if (plan.input_values[i] == v) return dot_id("in:" + plan.input_names[i]);
    return dot_id("?");
  };
  for (const auto& name : plan.input_names)
    out << "  " << dot_id("in:" + name) << " [label=" << dot_id(name) << ", shape=ellipse];\n";
  for (const auto& name : plan.output_names)
    out << "  " << dot_id("out:" + name) << " [label=" << dot_id(name) << ", shape=ellipse];\n";
  for (const auto& step : plan.steps) {
    const std::string id = step.path.empty() ? "layer" : step.path;
    out << "  " << dot_id(id) << " [label=" << dot_id(id + "\n" + step.layer->type()) << "];\n";
    const auto ports = step.layer->input_ports();
    for (size_t i = 0; i < step.inputs.size(); ++i)
      out << "  " << value_node(step.inputs[i]) << " -> " << dot_id(id)
          << " [label=" << dot_id(ports[i] + " " + plan.values[step.inputs[i]].shape.to_string()) << "];\n";
  }
  for (size_t i = 0; i < plan.output_values.size(); ++i)
    out << "  " << value_node(plan.output_values[i]) << " -> " << dot_id("out:" + plan.output_names[i])
        << " [label=" << dot_id(plan.values[plan.output_values[i]].shape.to_string()) << "];\n";
  out << "}\n";
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const Net& net) { return out << layer_table(net); }

}  // namespace netkit
