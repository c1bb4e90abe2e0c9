// The direct convolution path (layers/kernels/convolution_direct.h): which geometries take it,
// forward, dX (written and accumulated), dWt and db (the path forced, ConvPath::direct) against
// the double-precision reference on a grid that reaches every tail of its tiles (output widths
// 1..20, heights 1..7, 1 to 70 channels, padding 0 to 4, even kernels), against the im2col path,
// and thread independence.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/layers/kernels/convolution.h>
#include <netkit/layers/kernels/convolution_direct.h>
#include <netkit/layers/kernels/convolution_reference.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/test_convolution_support.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Equals;
using kernels::ConvDims;
using kernels::ConvPath;

namespace {

ConvProblem problem(const ConvDims& d, uint64_t seed) { return conv_problem(d, seed, "direct convolution"); }

ConvResults run(const ConvProblem& p, ConvPath path = ConvPath::direct) { return run_conv(p, path); }

// Stride 1, dilation 1, no groups (conv_dims takes height 1 for 1-D; here a 3x3 kernel may meet a
// padded input of height 1).
ConvDims dims(int64_t batch, int64_t ic, int64_t oc, int64_t in_h, int64_t in_w, int64_t kernel_h, int64_t kernel_w,
              int64_t pad_h, int64_t pad_w) {
  ConvDims d = conv_dims(batch, ic, oc, 1, 2, 2, 1, 1, 1, 0, 1);
  d.in_h = in_h;
  d.in_w = in_w;
  d.kernel_h = kernel_h;
  d.kernel_w = kernel_w;
  d.pad_h = pad_h;
  d.pad_w = pad_w;
  d.out_h = in_h + 2 * pad_h - kernel_h + 1;
  d.out_w = in_w + 2 * pad_w - kernel_w + 1;
  return d;
}

// Output widths 1..20 and heights 1..7 with 3x3 kernels (padding 0, 1, 2 in turn), channel pairs
// from {1, 3, 16, 17} (tails of the 6-channel blocks both ways) and batches of 1 and 3; then other
// kernels: 1x3, 5x5, 2x2 (padding after != before is not expressible, so even kernels pad 0 or
// 1), 1x1 with padding, 7x7, padding beyond the kernel (dX's panel then starts inside G), and 40
// and 70 output channels.
std::vector<ConvDims> grid() {
  std::vector<ConvDims> all;
  const int64_t channels[][2] = {{1, 16}, {16, 17}, {3, 1}, {17, 3}, {16, 32}, {3, 17}, {1, 1}};
  int64_t turn = 0;
  for (int64_t ow = 1; ow <= 20; ++ow)
    for (int64_t oh = 1; oh <= 7; ++oh, ++turn) {
      const int64_t pad = turn % 3, ic = channels[turn % 7][0], oc = channels[turn % 7][1];
      const int64_t ph = std::min<int64_t>(pad, (oh + 1) / 2), pw = std::min<int64_t>(pad, (ow + 1) / 2);  // input >= 1
      all.push_back(dims(turn % 2 ? 3 : 1, ic, oc, oh + 2 - 2 * ph, ow + 2 - 2 * pw, 3, 3, ph, pw));
    }
  for (int64_t w : {14, 15, 16, 17}) all.push_back(conv_dims(3, 16, 32, 1, 14, w, 3, 3, 1, 1, 1));
  for (int64_t pad : {0, 1, 2}) all.push_back(conv_dims(2, 3, 5, 1, 1, 19, 1, 3, 1, pad, 1));  // 1-D
  all.push_back(conv_dims(2, 4, 7, 1, 9, 11, 5, 5, 1, 2, 1));
  all.push_back(conv_dims(3, 3, 8, 1, 6, 7, 2, 2, 1, 0, 1));
  all.push_back(conv_dims(3, 3, 8, 1, 6, 7, 2, 2, 1, 1, 1));
  all.push_back(conv_dims(2, 5, 4, 1, 4, 6, 1, 1, 1, 1, 1));
  all.push_back(conv_dims(1, 2, 3, 1, 9, 8, 7, 7, 1, 3, 1));
  all.push_back(conv_dims(2, 2, 3, 1, 3, 4, 2, 2, 1, 3, 1));  // padding beyond the kernel
  all.push_back(conv_dims(3, 3, 2, 1, 5, 6, 3, 3, 1, 4, 1));
  all.push_back(dims(2, 5, 40, 5, 7, 3, 3, 1, 1));  // dWt tiles of 3 vectors of output channels
  all.push_back(dims(1, 3, 70, 4, 5, 3, 3, 1, 1));  // of 4, then 1
  return all;
}

}  // namespace

TEST_CASE("Convolution direct path: taken for the benchmark's 16->32 on 14x14, not elsewhere", "[conv][direct]") {
  using kernels::conv_direct_applies;
  CHECK(conv_direct_applies(conv_dims(64, 16, 32, 1, 14, 14, 3, 3, 1, 1, 1)));
  CHECK(conv_direct_applies(conv_dims(64, 8, 16, 1, 14, 14, 3, 3, 1, 1, 1)));
  CHECK(conv_direct_applies(dims(2, 16, 8, 1, 1, 3, 3, 1, 1)));
  CHECK_FALSE(conv_direct_applies(conv_dims(64, 1, 16, 1, 28, 28, 3, 3, 1, 1, 1)));    // few input channels
  CHECK_FALSE(conv_direct_applies(conv_dims(64, 16, 4, 1, 14, 14, 3, 3, 1, 1, 1)));    // few output channels
  CHECK_FALSE(conv_direct_applies(conv_dims(64, 8, 8, 1, 28, 28, 3, 3, 1, 1, 1)));     // few channel pairs
  CHECK_FALSE(conv_direct_applies(conv_dims(64, 16, 32, 1, 14, 14, 3, 3, 2, 1, 1)));   // stride 2
  CHECK_FALSE(conv_direct_applies(conv_dims(64, 16, 32, 1, 14, 14, 3, 3, 1, 2, 2)));   // dilation 2
  CHECK_FALSE(conv_direct_applies(conv_dims(64, 16, 32, 2, 14, 14, 3, 3, 1, 1, 1)));   // groups
  CHECK_FALSE(conv_direct_applies(conv_dims(32, 256, 64, 1, 28, 28, 1, 1, 1, 0, 1)));  // 1x1: sgemm reads X
  CHECK_FALSE(conv_direct_applies(conv_dims(32, 64, 64, 1, 56, 56, 3, 3, 1, 1, 1)));   // large maps
  CHECK_FALSE(conv_direct_applies(conv_dims(2, 16, 16, 1, 20, 20, 9, 9, 1, 4, 1)));    // kernel beyond 7
  for (const ConvDims& d : grid()) {
    INFO(describe(d));
    CHECK(kernels::conv_direct_supports(d));
  }
  // Forcing the direct path where it cannot run is refused with the reason.
  const ConvDims strided = conv_dims(1, 2, 2, 1, 6, 6, 3, 3, 2, 1, 1);
  std::vector<float> x(72), w(72), y(18);
  CHECK_THROWS_AS(kernels::conv_forward(x.data(), w.data(), nullptr, strided, y.data(), ConvPath::direct),
                  EvaluationError);
  CHECK_THROWS_WITH(kernels::conv_forward(x.data(), w.data(), nullptr, strided, y.data(), ConvPath::direct),
                    Equals("Convolution kernels: the direct path does not support this geometry; expected stride 1, "
                           "dilation 1, one channel group and kernels up to 7x7, got stride 2x2, dilation 1x1, 1 "
                           "groups, kernel 3x3"));
}

TEST_CASE("Convolution direct path: forward, dX, dWt and db agree with the double-precision reference",
          "[conv][direct]") {
  uint64_t seed = 0;
  for (const ConvDims& d : grid()) {
    INFO(describe(d));
    const ConvProblem p = problem(d, ++seed);
    const ConvResults r = run(p);
    for (const std::string& report : reference_reports(p, r)) NETKIT_CHECK_REPORT(report);
    // Accumulating dX adds the written dX onto what is there, one rounding each; no biases is
    // zero biases, bit for bit.
    Random random(seed, "prior");
    const std::vector<float> prior = random_floats(static_cast<int64_t>(p.x.size()), random);
    std::vector<float> acc = prior, expected(prior.size());
    kernels::conv_backward(p.x.data(), p.w.data(), p.g.data(), d, acc.data(), true, nullptr, nullptr, ConvPath::direct);
    for (size_t i = 0; i < prior.size(); ++i) expected[i] = prior[i] + r.dx[i];
    NETKIT_CHECK_REPORT(bit_difference_report("dx accumulated", acc, expected));
    std::vector<float> y0(r.y.size()), zero_b(p.b.size(), 0.0f), y_none(r.y.size());
    kernels::conv_forward(p.x.data(), p.w.data(), zero_b.data(), d, y0.data(), ConvPath::direct);
    kernels::conv_forward(p.x.data(), p.w.data(), nullptr, d, y_none.data(), ConvPath::direct);
    NETKIT_CHECK_REPORT(bit_difference_report("y without biases", y_none, y0));
  }
}

TEST_CASE("Convolution direct path: agrees with the im2col path", "[conv][direct]") {
  uint64_t seed = 100;
  for (const ConvDims& d : {conv_dims(3, 16, 32, 1, 14, 14, 3, 3, 1, 1, 1), dims(2, 3, 17, 7, 20, 3, 3, 0, 0),
                            dims(2, 17, 5, 5, 9, 5, 5, 2, 2), dims(3, 1, 16, 28, 28, 3, 3, 1, 1)}) {
    INFO(describe(d));
    const ConvProblem p = problem(d, ++seed);
    const ConvResults direct = run(p, ConvPath::direct), im2col = run(p, ConvPath::im2col);
    // Both are within the rounding bound of the exact result, so within twice it of each other;
    // db is the same code on both paths.
    const ConvAllowances a = conv_allowances(p.x, p.w, p.b, p.g, d);
    auto twice = [](std::vector<double> v) {
      for (double& e : v) e *= 2;
      return v;
    };
    NETKIT_CHECK_REPORT(mismatch_report("y", doubles(direct.y), doubles(im2col.y), twice(a.y)));
    NETKIT_CHECK_REPORT(mismatch_report("dx", doubles(direct.dx), doubles(im2col.dx), twice(a.dx)));
    NETKIT_CHECK_REPORT(mismatch_report("dw", doubles(direct.dw), doubles(im2col.dw), twice(a.dw)));
    NETKIT_CHECK_REPORT(bit_difference_report("db", direct.db, im2col.db));
  }
  // By the geometry: the benchmark's shape runs the direct path, 1 -> 16 channels the im2col one
  // (bit for bit the forced runs).
  for (const auto& [d, path] : {std::pair{conv_dims(3, 16, 32, 1, 14, 14, 3, 3, 1, 1, 1), ConvPath::direct},
                                std::pair{conv_dims(3, 1, 16, 1, 28, 28, 3, 3, 1, 1, 1), ConvPath::im2col}}) {
    INFO(describe(d));
    const ConvProblem p = problem(d, 5);
    const ConvResults automatic = run(p, ConvPath::by_geometry), forced = run(p, path);
    NETKIT_CHECK_REPORT(bit_difference_report("y", automatic.y, forced.y));
    NETKIT_CHECK_REPORT(bit_difference_report("dx", automatic.dx, forced.dx));
    NETKIT_CHECK_REPORT(bit_difference_report("dw", automatic.dw, forced.dw));
  }
}

TEST_CASE("Convolution db: the documented order of sums, bit for bit", "[conv][direct]") {
  // Up to 8 examples a batch make one chunk per example: db[o] = float(sum over examples, in order,
  // of (s0 + s1) + (s2 + s3)), s_j the double sum of G[n, o] at positions k = j mod 4, in order.
  for (const ConvDims& d : {conv_dims(7, 16, 32, 1, 14, 14, 3, 3, 1, 1, 1), dims(3, 3, 6, 5, 6, 3, 3, 1, 1),
                            dims(5, 2, 5, 1, 2, 3, 3, 1, 1)}) {
    INFO(describe(d));
    const ConvProblem p = problem(d, 11);
    const int64_t area = d.out_area();
    for (ConvPath path : {ConvPath::direct, ConvPath::im2col}) {
      std::vector<float> db(p.b.size(), 0.0f);
      kernels::conv_backward(p.x.data(), p.w.data(), p.g.data(), d, nullptr, false, nullptr, db.data(), path);
      std::vector<float> expected(db.size());
      for (int64_t o = 0; o < d.out_channels; ++o) {
        double total = 0;
        for (int64_t n = 0; n < d.batch; ++n) {
          double s[4] = {0, 0, 0, 0};
          for (int64_t k = 0; k < area; ++k) s[k % 4] += p.g[static_cast<size_t>((n * d.out_channels + o) * area + k)];
          total += (s[0] + s[1]) + (s[2] + s[3]);
        }
        expected[static_cast<size_t>(o)] = static_cast<float>(total);
      }
      NETKIT_CHECK_REPORT(bit_difference_report("db", db, expected));
    }
  }
}

TEST_CASE("Convolution direct path: 1 and 2 threads give bit-identical results", "[conv][direct]") {
  for (const ConvDims& d : {conv_dims(19, 16, 32, 1, 14, 14, 3, 3, 1, 1, 1),
                            conv_dims(3, 17, 3, 1, 6, 17, 3, 3, 1, 2, 1), conv_dims(5, 3, 8, 1, 6, 7, 2, 2, 1, 1, 1)}) {
    INFO(describe(d));
    const ConvProblem p = problem(d, 7);
    ConvResults one;
    {
      ThreadCount t(1);
      one = run(p);
    }
    ThreadCount t(2);
    const ConvResults two = run(p);
    NETKIT_CHECK_REPORT(bit_difference_report("y", one.y, two.y));
    NETKIT_CHECK_REPORT(bit_difference_report("dx", one.dx, two.dx));
    NETKIT_CHECK_REPORT(bit_difference_report("dw", one.dw, two.dw));
    NETKIT_CHECK_REPORT(bit_difference_report("db", one.db, two.db));
  }
}
