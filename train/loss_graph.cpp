#include <netkit/train/loss_graph.h>

#include <algorithm>
#include <cmath>

#include <netkit/core/error.h>
#include <netkit/graph/plan.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

bool has_port(const std::vector<std::string>& ports, const std::string& name) {
  return std::find(ports.begin(), ports.end(), name) != ports.end();
}

std::string last_layer_type(const Net& net, const std::string& port) {
  const Plan& plan = net.plan();
  for (size_t i = 0; i < plan.output_names.size(); ++i)
    if (plan.output_names[i] == port) {
      const int producer = plan.values[plan.output_values[i]].producer;
      return producer < 0 ? std::string("none") : plan.steps[producer].layer->type();
    }
  return "none";
}

Net attach(const Net& net, const Net& loss, bool expose) {
  std::vector<Edge> edges{{"net", NetPort("loss", "Input")}};
  if (expose) edges.push_back({"net", NetPort("Output")});
  return with_location("NetTrain, attaching the loss", [&] { return NetGraph({{"net", net}, {"loss", loss}}, edges); });
}

}  // namespace

TrainingGraph make_training_graph(const Net& net, const std::optional<Net>& loss, TargetKind targets) {
  const std::vector<std::string> outputs = net.output_ports();
  if (has_port(outputs, "Loss") && !loss) {
    TrainingGraph g{net, 0, false, 0, "", std::nullopt};
    return g;
  }
  if (outputs.size() != 1)
    throw TrainingError("NetTrain, net", "cannot attach a loss to a net with several outputs",
                        "one output port, or an output port \"Loss\"", "ports " + join_names(outputs));
  const std::string out = outputs[0];
  const std::string last = last_layer_type(net, out);
  std::optional<Net> chosen = loss;
  bool classification = false;
  if (!chosen) {
    if (targets == TargetKind::ClassIndex && last == "Softmax") {
      chosen = Net(LayerNet::create("CrossEntropyLoss", {{"TargetForm", "Index"}}));
      classification = true;
    } else if (targets == TargetKind::Array) {
      chosen = Net(LayerNet::create("MeanSquaredLoss"));
    } else {
      throw TrainingError("NetTrain, net", "no loss to train with",
                          "a net ending in Softmax with class-index targets, array targets, a \"Loss\" option, or "
                          "an output port \"Loss\"",
                          "a net ending in " + last +
                              (targets == TargetKind::ClassIndex ? " with class-index targets" : " without targets"));
    }
  } else {
    classification = targets == TargetKind::ClassIndex && last == "Softmax";
  }
  TrainingGraph g{attach(net, *chosen, false), 1, classification, 0, out, std::nullopt};
  if (!has_port(g.net.output_ports(), "Loss"))
    throw TrainingError("NetTrain, loss", "the loss has no output port \"Loss\"", "an output port \"Loss\"",
                        "ports " + join_names(g.net.output_ports()));
  const Shape shape = net.port_shape(out);
  if (classification && shape.rank_known() && shape.rank() >= 1) g.classes = shape[shape.rank() - 1];
  if (classification) g.evaluation = attach(net, *chosen, true);
  return g;
}

namespace {

// Finite values and, on "Target" of a classification graph, class indices in range. Element i is
// in example i / (elements per example), reported as indices[that] when `indices` is given.
void check_values(const TrainingGraph& graph, const std::string& name, const Array& a,
                  const std::vector<int64_t>* indices, const std::string& at) {
  const int64_t per = std::max<int64_t>(1, a.size() / std::max<int64_t>(1, a.dims()[0]));
  auto example = [&](int64_t i) {
    return std::to_string(indices ? (*indices)[static_cast<size_t>(i / per)] : i / per);
  };
  if (!a.all_finite())
    for (int64_t i = 0; i < a.size(); ++i)
      if (!std::isfinite(a[i]))
        throw TrainingError(at + " port " + in_quotes(name), "data is not finite", "finite numbers",
                            number_text(a[i]) + " in example " + example(i));
  if (name != "Target" || !graph.classification || graph.classes <= 0) return;
  for (int64_t i = 0; i < a.size(); ++i)
    if (!(a[i] >= 0 && a[i] < static_cast<float>(graph.classes) && a[i] == std::floor(a[i])))
      throw TrainingError(at + " port \"Target\", example " + example(i), "class index out of range",
                          "an integer from 0 to " + std::to_string(graph.classes - 1) + " (the net has " +
                              std::to_string(graph.classes) + " classes; indices count from 0)",
                          number_text(a[i]));
}

}  // namespace

void check_data(const TrainingGraph& graph, const Dataset& data, const std::string& what) {
  const std::string at = "NetTrain, " + what;
  if (data.empty()) throw TrainingError(at, "no examples", "at least one example", "0 examples");
  const std::vector<std::string> inputs = graph.net.input_ports();
  const std::map<std::string, Shape> shapes = data.example_shapes();
  for (const auto& [name, shape] : shapes)
    if (!has_port(inputs, name))
      throw TrainingError(at + " port " + in_quotes(name), "not a port of the net", "one of " + join_names(inputs),
                          in_quotes(name));
  for (const std::string& port : inputs) {
    const auto it = shapes.find(port);
    if (it == shapes.end())
      throw TrainingError(at, "no data for port " + in_quotes(port), "data for every input port " + join_names(inputs),
                          "none for " + in_quotes(port));
    const Shape expected = graph.net.port_shape(port);
    if (!Shape::unify(expected, it->second))
      throw TrainingError(at + " port " + in_quotes(port), "examples do not match the net's port",
                          "examples of shape " + expected.to_string(), "examples of shape " + it->second.to_string());
  }
  if (const auto* memory = dynamic_cast<const TrainingData*>(&data))
    for (const auto& [name, array] : memory->ports()) check_values(graph, name, array, nullptr, at);
}

void check_batch_values(const TrainingGraph& graph, const std::map<std::string, Array>& batch,
                        const std::vector<int64_t>& indices, const std::string& where) {
  for (const auto& [name, array] : batch) check_values(graph, name, array, &indices, where);
}

}  // namespace netkit
