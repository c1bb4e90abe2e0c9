#include "tools/cli/learning_curve.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <sstream>

#include <netkit/core/atomic_file.h>
#include <netkit/core/error.h>

namespace netkit::cli {

namespace {

std::string cell(double v) { return v < 0 ? "" : number_text(v); }

std::string coord(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

struct Series {
  std::string name, colour;
  std::function<double(const RoundPoint&)> value;
};

// One panel: a frame, the y range as labels, and each series with any measured point.
void panel(std::ostringstream& s, const std::vector<RoundPoint>& rounds, const std::vector<Series>& series,
           const std::string& title, double x0, double y0, double w, double h) {
  double lo = 1e300, hi = -1e300;
  for (const auto& r : rounds)
    for (const auto& se : series)
      if (se.value(r) >= 0) lo = std::min(lo, se.value(r)), hi = std::max(hi, se.value(r));
  if (lo > hi) lo = 0, hi = 1;
  if (hi - lo < 1e-12) hi = lo + 1;
  const int first = rounds.empty() ? 0 : rounds.front().round,
            last = rounds.empty() ? 1 : std::max(rounds.back().round, first + 1);
  auto px = [&](int round) { return x0 + w * (round - first) / double(last - first); };
  auto py = [&](double v) { return y0 + h - h * (v - lo) / (hi - lo); };
  s << "<rect x=\"" << x0 << "\" y=\"" << y0 << "\" width=\"" << w << "\" height=\"" << h
    << "\" fill=\"none\" stroke=\"#888\"/>\n";
  s << "<text x=\"" << x0 << "\" y=\"" << y0 - 8 << "\">" << title << "</text>\n";
  s << "<text x=\"" << x0 - 6 << "\" y=\"" << y0 + 4 << "\" text-anchor=\"end\">" << number_text(hi) << "</text>\n";
  s << "<text x=\"" << x0 - 6 << "\" y=\"" << y0 + h << "\" text-anchor=\"end\">" << number_text(lo) << "</text>\n";
  s << "<text x=\"" << x0 << "\" y=\"" << y0 + h + 16 << "\">round " << first << "</text>\n";
  s << "<text x=\"" << x0 + w << "\" y=\"" << y0 + h + 16 << "\" text-anchor=\"end\">" << last << "</text>\n";
  double legend = y0 + 14;
  for (const auto& se : series) {
    std::string points;
    for (const auto& r : rounds)
      if (se.value(r) >= 0) points += coord(px(r.round)) + "," + coord(py(se.value(r))) + " ";
    if (points.empty()) continue;
    points.pop_back();
    s << "<polyline class=\"" << se.name << "\" fill=\"none\" stroke=\"" << se.colour
      << "\" stroke-width=\"2\" points=\"" << points << "\"/>\n";
    s << "<text x=\"" << x0 + w - 4 << "\" y=\"" << legend << "\" text-anchor=\"end\" fill=\"" << se.colour << "\">"
      << se.name << "</text>\n";
    legend += 14;
  }
}

}  // namespace

std::string learning_curve_csv(const std::vector<RoundPoint>& rounds) {
  std::ostringstream s;
  s << "round,train_loss,train_accuracy,validation_loss,validation_accuracy\n";
  for (const auto& r : rounds)
    s << r.round << "," << cell(r.train_loss) << "," << cell(r.train_accuracy) << "," << cell(r.validation_loss) << ","
      << cell(r.validation_accuracy) << "\n";
  return s.str();
}

std::string learning_curve_svg(const std::vector<RoundPoint>& rounds) {
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"300\" font-family=\"sans-serif\" "
       "font-size=\"11\">\n";
  panel(s, rounds,
        {{"train loss", "#1f77b4", [](const RoundPoint& r) { return r.train_loss; }},
         {"validation loss", "#ff7f0e", [](const RoundPoint& r) { return r.validation_loss; }}},
        "loss", 60, 30, 300, 230);
  panel(s, rounds,
        {{"train accuracy", "#1f77b4", [](const RoundPoint& r) { return r.train_accuracy; }},
         {"validation accuracy", "#ff7f0e", [](const RoundPoint& r) { return r.validation_accuracy; }}},
        "accuracy", 440, 30, 300, 230);
  s << "</svg>\n";
  return s.str();
}

std::vector<std::string> write_learning_curve(const std::string& model_path, const std::vector<RoundPoint>& rounds) {
  std::string stem = model_path;
  if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".json") == 0) stem.resize(stem.size() - 5);
  const std::vector<std::string> paths{stem + ".curve.csv", stem + ".curve.svg"};
  const std::string texts[] = {learning_curve_csv(rounds), learning_curve_svg(rounds)};
  for (size_t i = 0; i < 2; ++i) {  // atomically: a failed write leaves no empty or partial file
    const AtomicWriteResult result = write_file_atomically(paths[i], texts[i]);
    if (!result.ok())
      throw FormatError(paths[i], "cannot write the learning curve", "a writable file",
                        write_error_cause(result.error));
  }
  return paths;
}

}  // namespace netkit::cli
