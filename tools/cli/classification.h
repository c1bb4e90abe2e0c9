// Evaluating a classifier on labelled examples: loss, accuracy, per-class accuracy and the
// confusion matrix, as text for people and JSON for machines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <netkit/core/array.h>
#include <netkit/graph/net.h>

namespace netkit::cli {

struct ClassificationReport {
  int64_t examples = 0;
  double loss = 0;      // mean cross entropy -log p[label] (p read at least 2^-126, as the loss layer does)
  double accuracy = 0;  // share of examples whose largest probability is at the label
  std::vector<double> class_accuracy;           // per label (recall); -1 for a class with no examples
  std::vector<std::vector<int64_t>> confusion;  // [label][predicted]
};

// The number of classes of a classifier: `net` has one input and one output port, and for
// examples of shape `example` its output is a vector [classes]. EvaluationError otherwise.
int64_t classifier_classes(const Net& net, const Shape& example);

// Refuses what cannot be scored as classification: an empty `images` (`split` names it in the
// message), or a net that is not a classifier of exactly `classes` classes.
void check_classifier(const Net& net, const Array& images, int64_t classes, const std::string& split);

// Runs `net` (one input port, one output of class probabilities [classes]) in Test mode over
// `images` in batches. Labels must be in [0, classes); there must be at least one image.
ClassificationReport evaluate_classifier(const Net& net, const Array& images, const std::vector<int32_t>& labels,
                                         int64_t batch_size = 500);

std::string report_text(const ClassificationReport& r, const std::vector<std::string>& class_names);
nlohmann::json report_json(const ClassificationReport& r, const std::vector<std::string>& class_names);

}  // namespace netkit::cli
