// ConvolutionLayer (layers/convolution.h): hand-computed values, properties (a 1x1 convolution
// is a per-pixel Linear map, a delta kernel copies its input, zero Weights give the Biases),
// shape inference, options, JSON round trips, thread independence and the im2col + sgemm
// kernels against the double-precision reference. PyTorch golden values and finite
// differences: test_convolution_golden.cpp; error messages: test_convolution_errors.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/kernels/convolution.h>
#include <netkit/layers/kernels/convolution_reference.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"
#include "tests/test_convolution_support.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Equals;
using kernels::ConvDims;

namespace {

ConvProblem kernel_case(const ConvDims& d, uint64_t seed) { return conv_problem(d, seed, "convolution kernel"); }

ConvResults run_kernels(const ConvProblem& k) { return run_conv(k); }

// Geometries that reach every path: several tiles of whole output rows (patch 576 gives 2 tiles
// of 15 rows for 30 x 20 outputs), tiles of parts of rows (1 x 1000 outputs at patch 576), one
// tile, the direct 1x1 path, col2im with strides, groups, padding beyond the kernel, 1-D.
std::vector<ConvDims> kernel_geometries() {
  return {conv_dims(2, 3, 4, 1, 5, 6, 3, 3, 1, 1, 1),    conv_dims(3, 4, 6, 2, 7, 9, 3, 2, 2, 1, 1),
          conv_dims(2, 64, 8, 1, 30, 20, 3, 3, 1, 1, 1), conv_dims(2, 64, 8, 4, 15, 17, 3, 3, 2, 2, 2),
          conv_dims(3, 5, 7, 1, 6, 5, 1, 1, 1, 0, 1),    conv_dims(2, 6, 6, 6, 5, 5, 3, 3, 1, 1, 1),
          conv_dims(2, 2, 3, 1, 3, 4, 2, 2, 1, 3, 1),    conv_dims(2, 3, 2, 1, 1, 11, 1, 3, 2, 2, 2),
          conv_dims(9, 16, 4, 1, 1, 40, 1, 5, 1, 0, 3),  conv_dims(2, 64, 5, 1, 33, 33, 1, 1, 1, 0, 1),
          conv_dims(3, 64, 8, 2, 33, 34, 1, 1, 1, 0, 1), conv_dims(37, 3, 5, 1, 6, 7, 3, 3, 1, 1, 1),
          conv_dims(2, 64, 3, 1, 1, 1000, 1, 9, 1, 4, 1)};
}

}  // namespace

// ---- values ----------------------------------------------------------------------------------

TEST_CASE("Convolution: forward and gradients on hand-computed values", "[convolution]") {
  // One channel, 3x3 input, 2x2 kernel, stride 1, no padding: a 2x2 output.
  LayerNet conv =
      ConvolutionLayer({{"Input", {1, 3, 3}}, {"KernelSize", 2}, {"Weights", {{{{1, 2}, {3, 4}}}}}, {"Biases", {0.5}}});
  CHECK(conv.port_shape("Output") == Shape{1, 2, 2});
  const Array x{{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}};
  // y[0,0] = 1 + 4 + 12 + 20 + 0.5; y[0,1] = 2 + 6 + 15 + 24 + 0.5; ...
  CHECK(conv.evaluate(x).values() == std::vector<float>{37.5f, 47.5f, 67.5f, 77.5f});
  const Gradients g = conv.gradients(x.reshaped({1, 1, 3, 3}), Array{{{{1, 0}, {0, -1}}}});
  // dX = full correlation of dY with the kernel: w at (0,0) positions, -w at (1,1).
  CHECK(g.input().values() == std::vector<float>{1, 2, 0, 3, 3, -2, 0, -3, -4});
  // dW[p, q] = x[p, q] - x[p + 1, q + 1]; db = sum of dY.
  CHECK(g.arrays.at("Weights").values() == std::vector<float>{-4, -4, -4, -4});
  CHECK(g.arrays.at("Biases").values() == std::vector<float>{0});
  // Stride 2 and padding 1 on a 1-D signal: taps at -1, 1, 3.
  LayerNet one_d = ConvolutionLayer({{"Input", {1, 4}},
                                     {"KernelSize", 2},
                                     {"Stride", 2},
                                     {"PaddingSize", 1},
                                     {"Weights", {{{10, 1}}}},
                                     {"Biases", {0}}});
  CHECK(one_d.port_shape("Output") == Shape{1, 3});
  CHECK(one_d.evaluate(Array{{1, 2, 3, 4}}).values() == std::vector<float>{1, 23, 40});  // [0,1], [2,3], [4,0]
}

// ---- properties ------------------------------------------------------------------------------

TEST_CASE("Convolution: a 1x1 convolution is the same Linear map at every pixel", "[convolution]") {
  Random random(2, "1x1");
  LayerNet conv = ConvolutionLayer(
      {{"Input", {5, 3, 4}}, {"OutputChannels", 6}, {"KernelSize", 1}, {"BiasesInitializer", "NarrowNormal"}});
  conv.initialize(1);
  LayerNet linear = LayerNet::create("Linear", {{"Input", 5}, {"OutputSize", 6}});
  linear.set_array("Weights", conv.array("Weights").reshaped({6, 5}));
  linear.set_array("Biases", conv.array("Biases"));
  const Array x = random_normal({2, 5, 3, 4}, random);
  const Array y = conv.evaluate_batch(x);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t pixel = 0; pixel < 12; ++pixel) {
      Array v = Array::zeros({5});
      for (int64_t c = 0; c < 5; ++c) v[c] = x[(n * 5 + c) * 12 + pixel];
      const Array expected = linear.evaluate(v);
      for (int64_t o = 0; o < 6; ++o) {
        INFO("example " << n << ", pixel " << pixel << ", output channel " << o);
        CHECK(y[(n * 6 + o) * 12 + pixel] == Approx(expected[o]).epsilon(1e-6).margin(1e-6));
      }
    }
}

TEST_CASE("Convolution: a delta kernel copies (shifted) input channels exactly", "[convolution]") {
  Random random(3, "delta");
  const Array x = random_normal({3, 2, 6, 7}, random);
  // Kernel 3x3 with padding 1 and the 1 at the centre: the identity on each channel.
  Array w = Array::zeros({2, 2, 3, 3});
  w[(0 * 2 + 0) * 9 + 4] = 1;
  w[(1 * 2 + 1) * 9 + 4] = 1;
  LayerNet same = ConvolutionLayer({{"Input", {2, 6, 7}}, {"KernelSize", 3}, {"PaddingSize", 1}, {"HasBiases", false}});
  same.set_array("Weights", w);
  CHECK(same.evaluate_batch(x).bit_equal(x));
  // The 1 at the top-left corner without padding: output (i, j) is input (i, j) of the 4x5 top-left block.
  Array corner = Array::zeros({2, 2, 3, 3});
  corner[0] = 1;
  corner[(1 * 2 + 1) * 9] = 1;
  LayerNet valid = ConvolutionLayer({{"Input", {2, 6, 7}}, {"KernelSize", 3}, {"HasBiases", false}});
  valid.set_array("Weights", corner);
  const Array y = valid.evaluate_batch(x);
  REQUIRE(y.dims() == std::vector<int64_t>{3, 2, 4, 5});
  for (int64_t nc = 0; nc < 6; ++nc)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 5; ++j) REQUIRE(y[(nc * 4 + i) * 5 + j] == x[(nc * 6 + i) * 7 + j]);
  // Its input gradient puts dY back in place, zeros elsewhere; the delta kernel's is dY itself.
  const Array g = random_normal({3, 2, 4, 5}, random);
  const Array dx = valid.gradients(x, g).input();
  for (int64_t nc = 0; nc < 6; ++nc)
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t j = 0; j < 7; ++j)
        REQUIRE(dx[(nc * 6 + i) * 7 + j] == (i < 4 && j < 5 ? g[(nc * 4 + i) * 5 + j] : 0.0f));
  CHECK(same.gradients(x, x).input().bit_equal(x));
}

TEST_CASE("Convolution: zero Weights give exactly the Biases", "[convolution]") {
  LayerNet conv = ConvolutionLayer({{"Input", {3, 9, 8}},
                                    {"OutputChannels", 4},
                                    {"KernelSize", 3},
                                    {"Stride", 2},
                                    {"WeightsInitializer", "Zeros"},
                                    {"BiasesInitializer", "NarrowNormal"}});
  conv.initialize(2);
  Array x = Array::zeros({2, 3, 9, 8});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(1e30 * std::sin(static_cast<double>(i)));
  const Array y = conv.evaluate_batch(x);
  const Array& b = conv.array("Biases");
  for (int64_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == b[i / 12 % 4]);  // 4 x 3 outputs a channel
}

TEST_CASE("Convolution: an example's output does not depend on the rest of the batch", "[convolution]") {
  Random random(6, "alone");
  LayerNet conv =
      ConvolutionLayer({{"Input", {4, 8, 8}}, {"OutputChannels", 5}, {"KernelSize", 3}, {"PaddingSize", 1}});
  conv.initialize(4);
  const Array batch = random_normal({5, 4, 8, 8}, random);
  const Array all = conv.evaluate_batch(batch);
  const std::vector<float> xs = batch.values(), ys = all.values();
  for (int64_t n = 0; n < 5; ++n) {
    const Array one =
        conv.evaluate(Array::from({4, 8, 8}, std::vector<float>(xs.begin() + n * 256, xs.begin() + (n + 1) * 256)));
    CHECK(one.values() == std::vector<float>(ys.begin() + n * 320, ys.begin() + (n + 1) * 320));  // bit for bit
  }
}

// ---- kernels ---------------------------------------------------------------------------------

TEST_CASE("Convolution: kernels agree with the double-precision reference", "[convolution]") {
  uint64_t seed = 0;
  for (const ConvDims& d : kernel_geometries()) {
    INFO(describe(d));
    const ConvProblem k = kernel_case(d, ++seed);
    for (const std::string& report : reference_reports(k, run_kernels(k))) NETKIT_CHECK_REPORT(report);
  }
}

TEST_CASE("Convolution: backward kernels overwrite or accumulate as asked and skip null outputs", "[convolution]") {
  for (const ConvDims& d : kernel_geometries()) {
    INFO(describe(d));
    const ConvProblem k = kernel_case(d, 9);
    const ConvResults fresh = run_kernels(k);
    // Overwrite never reads dx: NaN content does not leak through.
    std::vector<float> dx(k.x.size(), NAN);
    kernels::conv_backward(k.x.data(), k.w.data(), k.g.data(), d, dx.data(), false, nullptr, nullptr);
    NETKIT_CHECK_REPORT(bit_difference_report("dx overwritten", dx, fresh.dx));
    // Accumulating adds to what is there (within one rounding of each); db exactly so.
    Random random(4, "prior");
    const std::vector<float> prior_dx = random_floats(static_cast<int64_t>(k.x.size()), random),
                             prior_dw = random_floats(static_cast<int64_t>(k.w.size()), random),
                             prior_db = random_floats(static_cast<int64_t>(k.b.size()), random);
    std::vector<float> acc_dx = prior_dx, acc_dw = prior_dw, acc_db = prior_db;
    kernels::conv_backward(k.x.data(), k.w.data(), k.g.data(), d, acc_dx.data(), true, acc_dw.data(), acc_db.data());
    // Within the rounding bound of the fresh sums (which now start at the prior values) and one
    // rounding more.
    const ConvAllowances a = conv_allowances(k.x, k.w, k.b, k.g, d);
    auto close_to_sum = [](const std::string& what, const std::vector<float>& got, const std::vector<float>& p,
                           const std::vector<float>& f, const std::vector<double>& bound) {
      std::vector<double> expected(got.size()), allowed(got.size());
      for (size_t i = 0; i < got.size(); ++i) {
        expected[i] = static_cast<double>(p[i]) + f[i];
        allowed[i] = 2 * bound[i] + 4 * kUnitRoundoff * (std::abs(p[i]) + std::abs(f[i])) + 1e-30;
      }
      return mismatch_report(what, doubles(got), expected, allowed);
    };
    NETKIT_CHECK_REPORT(close_to_sum("dx accumulated", acc_dx, prior_dx, fresh.dx, a.dx));
    NETKIT_CHECK_REPORT(
        close_to_sum("dw accumulated", acc_dw, prior_dw, fresh.dw, std::vector<double>(a.dw.size(), 0.0)));
    std::vector<float> expected_db(prior_db.size());
    for (size_t j = 0; j < expected_db.size(); ++j) expected_db[j] = prior_db[j] + fresh.db[j];
    NETKIT_CHECK_REPORT(bit_difference_report("db accumulated", acc_db, expected_db));
    // Null outputs are skipped; the others are unchanged by their absence.
    std::vector<float> only_dw(k.w.size(), 0.0f), only_db(k.b.size(), 0.0f);
    kernels::conv_backward(k.x.data(), k.w.data(), k.g.data(), d, nullptr, false, only_dw.data(), nullptr);
    kernels::conv_backward(k.x.data(), k.w.data(), k.g.data(), d, nullptr, false, nullptr, only_db.data());
    NETKIT_CHECK_REPORT(bit_difference_report("dw alone", only_dw, fresh.dw));
    NETKIT_CHECK_REPORT(bit_difference_report("db alone", only_db, fresh.db));
    // Forward without biases is the forward with zero biases.
    std::vector<float> y(fresh.y.size()), zero_b(k.b.size(), 0.0f), y0(fresh.y.size());
    kernels::conv_forward(k.x.data(), k.w.data(), nullptr, d, y.data());
    kernels::conv_forward(k.x.data(), k.w.data(), zero_b.data(), d, y0.data());
    NETKIT_CHECK_REPORT(bit_difference_report("y without biases", y, y0));
  }
}

TEST_CASE("Convolution: 1, 2 and 3 threads give bit-identical outputs and gradients", "[convolution]") {
  for (const ConvDims& d : kernel_geometries()) {
    INFO(describe(d));
    const ConvProblem k = kernel_case(d, 21);
    ConvResults one;
    {
      ThreadCount t(1);
      one = run_kernels(k);
    }
    for (int threads : {2, 3}) {
      INFO(threads << " threads against 1");
      ThreadCount t(threads);
      const ConvResults many = run_kernels(k);
      NETKIT_CHECK_REPORT(bit_difference_report("y", one.y, many.y));
      NETKIT_CHECK_REPORT(bit_difference_report("dx", one.dx, many.dx));
      NETKIT_CHECK_REPORT(bit_difference_report("dw", one.dw, many.dw));
      NETKIT_CHECK_REPORT(bit_difference_report("db", one.db, many.db));
    }
  }
  // Through the layer, with a batch that spans several chunks of the weight gradient.
  Random random(8, "layer threads");
  LayerNet conv = ConvolutionLayer({{"Input", {8, 12, 12}},
                                    {"OutputChannels", 6},
                                    {"KernelSize", 3},
                                    {"Stride", 2},
                                    {"PaddingSize", "Same"},
                                    {"BiasesInitializer", "NarrowNormal"}});
  conv.initialize(3);
  const Array x = random_normal({19, 8, 12, 12}, random), dy = random_normal({19, 6, 6, 6}, random);
  auto results = [&] {
    Gradients g = conv.gradients(x, dy);
    return std::vector<Array>{conv.evaluate_batch(x), g.input(), g.arrays.at("Weights"), g.arrays.at("Biases")};
  };
  std::vector<Array> single;
  {
    ThreadCount t(1);
    single = results();
  }
  ThreadCount t(2);
  const std::vector<Array> two = results();
  const char* names[] = {"output", "dL/dInput", "dL/dWeights", "dL/dBiases"};
  for (size_t i = 0; i < 4; ++i) NETKIT_CHECK_REPORT(bit_difference_report(names[i], single[i], two[i]));
}

TEST_CASE("Convolution: kernels refuse sizes beyond BLAS's 32 bits before any work starts", "[convolution]") {
  const ConvDims d = conv_dims(1, 1, 1, 1, 70000, 70000, 1, 1, 1, 0, 1);  // 4.9e9 positions, never touched
  const char* message =
      "Convolution kernels: matrix dimension out of range for BLAS; expected at most 2147483647, "
      "got 4900000000";
  CHECK_THROWS_AS(kernels::conv_forward(nullptr, nullptr, nullptr, d, nullptr), EvaluationError);
  CHECK_THROWS_WITH(kernels::conv_forward(nullptr, nullptr, nullptr, d, nullptr), Equals(message));
  CHECK_THROWS_WITH(kernels::conv_backward(nullptr, nullptr, nullptr, d, nullptr, false, nullptr, nullptr),
                    Equals(message));
}

// ---- files -------------------------------------------------------------------------------------

TEST_CASE("Convolution: save -> load -> save is byte-identical and outputs are bit-identical", "[convolution]") {
  TempFile a("convolution_roundtrip_a.json"), b("convolution_roundtrip_b.json");
  LayerNet square = ConvolutionLayer({{"Input", {4, 7, 6}},
                                      {"OutputChannels", 6},
                                      {"KernelSize", {3, 2}},
                                      {"Stride", {2, 1}},
                                      {"PaddingSize", "Same"},
                                      {"Dilation", 1},
                                      {"ChannelGroups", 2},
                                      {"BiasesInitializer", "NarrowNormal"},
                                      {"L2Factors", {{"Biases", 0}}}});
  square.initialize(3);
  LayerNet one_d = ConvolutionLayer({{"Input", {3, 10}},
                                     {"OutputChannels", 2},
                                     {"KernelSize", 3},
                                     {"HasBiases", false},
                                     {"Dilation", 2},
                                     {"PaddingSize", 1}});
  one_d.initialize(4);
  Random random(5, "round trip");
  for (const LayerNet* net : {&square, &one_d}) {
    save_layer_net(*net, a.path);
    const LayerNet back = load_layer_net(a.path);
    save_layer_net(back, b.path);
    CHECK(read_text(a.path) == read_text(b.path));
    CHECK(back.options() == net->options());
    const Array x = random_normal(net->port_shape("Input").with_batch(3), random);
    const Array dy = random_normal(net->port_shape("Output").with_batch(3), random);
    CHECK(back.evaluate_batch(x).bit_equal(net->evaluate_batch(x)));
    const Gradients g1 = net->gradients(x, dy), g2 = back.gradients(x, dy);
    CHECK(g1.input().bit_equal(g2.input()));
    for (const auto& [name, grad] : g1.arrays) CHECK(grad.bit_equal(g2.arrays.at(name)));
  }
  CHECK(load_layer_net(a.path).option("HasBiases") == false);
  const LayerNet open =
      layer_net_from_json(layer_net_to_json(ConvolutionLayer({{"OutputChannels", 3}, {"KernelSize", 5}})));
  CHECK_FALSE(open.initialized());
  CHECK(open.option("KernelSize") == 5);
}
