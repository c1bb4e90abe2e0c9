#include "tools/cli/classification.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <netkit/core/checked_size.h>
#include <netkit/core/error.h>
#include <netkit/graph/executor.h>
#include <netkit/graph/plan.h>

namespace netkit::cli {

namespace {

Shape example_shape(const Array& images) {
  return Shape(std::vector<int64_t>(images.dims().begin() + 1, images.dims().end()));
}

}  // namespace

int64_t classifier_classes(const Net& net, const Shape& example) {
  const auto ins = net.input_ports(), outs = net.output_ports();
  if (ins.size() != 1 || outs.size() != 1)
    throw EvaluationError(net.type(), "a classifier needs one input and one output port", "1 input and 1 output",
                          std::to_string(ins.size()) + " and " + std::to_string(outs.size()));
  const Shape output = make_plan(net, {{ins[0], example}}).port_shape(outs[0]);
  if (!output.known() || output.rank() != 1)
    throw EvaluationError(net.type() + ", output port " + in_quotes(outs[0]) + " for inputs " + example.to_string(),
                          "not a vector of class probabilities", "a shape [classes]", output.to_string(),
                          "End the net with a Linear layer of one output per class and a SoftmaxLayer");
  return output[0];
}

void check_classifier(const Net& net, const Array& images, int64_t classes, const std::string& split) {
  if (images.dims().at(0) == 0) throw EvaluationError(split, "no examples", "at least one example", "0 examples");
  const int64_t outputs = classifier_classes(net, example_shape(images));
  if (outputs != classes)
    throw EvaluationError(net.type() + ", output port " + in_quotes(net.output_ports()[0]),
                          "the number of classes differs from the data's (" + split + ")",
                          "[" + std::to_string(classes) + "]", "[" + std::to_string(outputs) + "]");
}

ClassificationReport evaluate_classifier(const Net& net, const Array& images, const std::vector<int32_t>& labels,
                                         int64_t batch_size) {
  const int64_t n = images.dims().at(0);
  if (n == 0) throw EvaluationError("evaluation data", "no examples", "at least one example", "0 examples");
  if (n != static_cast<int64_t>(labels.size()))
    throw EvaluationError("evaluation data", "images and labels differ in number", std::to_string(n) + " labels",
                          std::to_string(labels.size()));
  const int64_t classes = classifier_classes(net, example_shape(images));
  const auto ins = net.input_ports(), outs = net.output_ports();
  const int64_t per_example = images.size() / n;
  Executor executor(net);
  ClassificationReport r;
  const double confusion_bytes = static_cast<double>(classes) * static_cast<double>(classes) * sizeof(int64_t);
  r.confusion =
      allocating([&] { return "confusion matrix of " + std::to_string(classes) + " classes"; }, confusion_bytes,
                 [&] {
                   return std::vector<std::vector<int64_t>>(static_cast<size_t>(classes),
                                                            std::vector<int64_t>(static_cast<size_t>(classes), 0));
                 });
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t count = std::min(batch_size, n - begin);
    std::vector<int64_t> dims = images.dims();
    dims[0] = count;
    Array batch = Array::zeros(dims);
    std::memcpy(batch.data(), images.data() + begin * per_example,
                sizeof(float) * static_cast<size_t>(count * per_example));
    const Array probs = executor.forward({{ins[0], batch}}).at(outs[0]);
    for (int64_t i = 0; i < count; ++i) {
      const float* p = probs.data() + i * classes;
      const int32_t label = labels[static_cast<size_t>(begin + i)];
      if (label < 0 || label >= classes)
        throw EvaluationError("evaluation data, example " + std::to_string(begin + i), "label out of range",
                              "a label in [0, " + std::to_string(classes) + ")", std::to_string(label));
      const int64_t predicted = std::max_element(p, p + classes) - p;
      loss_sum -= std::log(std::max(static_cast<double>(p[label]), 0x1p-126));
      correct += predicted == label;
      ++r.confusion[static_cast<size_t>(label)][static_cast<size_t>(predicted)];
    }
  }
  r.examples = n;
  r.loss = loss_sum / static_cast<double>(n);
  r.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  for (const auto& row : r.confusion) {
    int64_t total = 0;
    for (int64_t c : row) total += c;
    const size_t k = r.class_accuracy.size();
    r.class_accuracy.push_back(total > 0 ? static_cast<double>(row[k]) / static_cast<double>(total) : -1);
  }
  return r;
}

namespace {

std::string name_of(const std::vector<std::string>& names, size_t k) {
  return k < names.size() ? names[k] : std::to_string(k);
}

}  // namespace

std::string report_text(const ClassificationReport& r, const std::vector<std::string>& class_names) {
  std::ostringstream s;
  char line[160];
  std::snprintf(line, sizeof line, "examples %lld  loss %.4f  accuracy %.4f\n", (long long)r.examples, r.loss,
                r.accuracy);
  s << line << "\nper-class accuracy:\n";
  for (size_t k = 0; k < r.class_accuracy.size(); ++k) {
    if (r.class_accuracy[k] < 0)
      std::snprintf(line, sizeof line, "  %-12s     -\n", name_of(class_names, k).c_str());
    else
      std::snprintf(line, sizeof line, "  %-12s %.4f\n", name_of(class_names, k).c_str(), r.class_accuracy[k]);
    s << line;
  }
  s << "\nconfusion matrix (rows: label, columns: predicted):\n             ";
  for (size_t k = 0; k < r.confusion.size(); ++k) s << (k < 10 ? "     " : "    ") << k;
  s << "\n";
  for (size_t k = 0; k < r.confusion.size(); ++k) {
    std::snprintf(line, sizeof line, "  %2zu %-9.9s", k, name_of(class_names, k).c_str());
    s << line;
    for (int64_t c : r.confusion[k]) {
      std::snprintf(line, sizeof line, "%6lld", (long long)c);
      s << line;
    }
    s << "\n";
  }
  return s.str();
}

nlohmann::json report_json(const ClassificationReport& r, const std::vector<std::string>& class_names) {
  nlohmann::json per_class = nlohmann::json::object();
  for (size_t k = 0; k < r.class_accuracy.size(); ++k)
    per_class[name_of(class_names, k)] =
        r.class_accuracy[k] < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.class_accuracy[k]);
  return {{"examples", r.examples},
          {"loss", r.loss},
          {"accuracy", r.accuracy},
          {"class_accuracy", per_class},
          {"confusion", r.confusion}};
}

}  // namespace netkit::cli
