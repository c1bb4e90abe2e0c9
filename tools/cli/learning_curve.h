// The learning curve of a training run, written next to the output model: a CSV table and an
// SVG plot of training and validation loss and accuracy per round.
#pragma once

#include <string>
#include <vector>

namespace netkit::cli {

struct RoundPoint {
  int round = 0;
  double train_loss = 0, train_accuracy = -1;             // accuracy < 0: not measured
  double validation_loss = -1, validation_accuracy = -1;  // < 0: no validation set
};

std::string learning_curve_csv(const std::vector<RoundPoint>& rounds);
// Two panels (loss, accuracy), one polyline per measured series, axes with their ranges.
std::string learning_curve_svg(const std::vector<RoundPoint>& rounds);
// Writes both next to `model_path`: "<stem>.curve.csv" and "<stem>.curve.svg"; returns the paths.
// Each is written atomically; FormatError naming the file and the cause when one cannot be.
std::vector<std::string> write_learning_curve(const std::string& model_path, const std::vector<RoundPoint>& rounds);

}  // namespace netkit::cli
