// What the command line writes for people: the learning curve (CSV, SVG) and the progress bar.
#include <catch2/catch.hpp>

#include "tools/cli/learning_curve.h"
#include "tools/cli/progress.h"

using namespace netkit::cli;
using Catch::Matchers::Contains;

TEST_CASE("Learning curve: CSV rows per round, empty cells for what was not measured", "[cli]") {
  const std::vector<RoundPoint> rounds{{1, 0.9, 0.7, 0.8, 0.72}, {2, 0.5, 0.85, -1, -1}};
  CHECK(learning_curve_csv(rounds) ==
        "round,train_loss,train_accuracy,validation_loss,validation_accuracy\n1,0.9,0.7,0.8,0.72\n2,0.5,0.85,,\n");
}

TEST_CASE("Learning curve: the SVG draws each measured series through its points", "[cli]") {
  const std::vector<RoundPoint> rounds{{1, 1.0, 0.5, 2.0, 0.4}, {2, 0.5, 0.75, 1.0, 0.6}, {3, 0.25, 1.0, 0.5, 0.8}};
  const std::string svg = learning_curve_svg(rounds);
  CHECK_THAT(svg, Contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  // Loss panel: x from 60 to 360 over rounds 1..3, y from 260 (0.25) up to 30 (2.0): 1.0 -> 161.4.
  CHECK_THAT(svg, Contains("class=\"train loss\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\""
                           "60.0,161.4 210.0,227.1 360.0,260.0\""));
  CHECK_THAT(svg, Contains("class=\"validation accuracy\""));
  const std::string no_validation = learning_curve_svg({{1, 1.0, 0.5, -1, -1}});
  CHECK(no_validation.find("validation") == std::string::npos);
}

TEST_CASE("Progress bar: fraction, counts, loss, speed and time left", "[cli]") {
  CHECK(progress_bar({1, 2, 469, 938, 0.44121, 5120.4, 42.4}, 10) ==
        "round 1/2 [#####.....]  50% batch 469/938  loss 0.4412  5120 ex/s  ETA 0:42");
  CHECK(clock_text(3723) == "1:02:03");
  CHECK(clock_text(-5) == "0:00");
}
