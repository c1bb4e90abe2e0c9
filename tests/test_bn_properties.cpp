// BatchNormalizationLayer as a value: options and defaults, information, initialization
// determinism, and properties of the maths that hold for any data.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <netkit/graph/layer_net.h>
#include <netkit/layers/kernels/batch_norm.h>

using namespace netkit;

TEST_CASE("BN properties: options list every default", "[bn][properties]") {
  const nlohmann::json d = LayerNet::default_options("BatchNormalization");
  CHECK(d.at("Epsilon") == 0.001);
  CHECK(d.at("Momentum") == 0.9);
  CHECK(d.at("Interleaving") == false);
  CHECK(d.at("VarianceEstimator") == "Biased");
  CHECK(d.at("MovingAverage") == "Exponential");
  CHECK(d.at("Statistics") == "Moving");
  CHECK(d.at("ScalingInitializer") == "Ones");
  CHECK(d.at("BiasesInitializer") == "Zeros");
  CHECK(d.at("L2Factors") == nlohmann::json{{"Scaling", 1.0}, {"Biases", 1.0}});
  CHECK(d.at("LearningRateMultipliers") == "Automatic");
  CHECK(d.at("Input").is_null());  // not known until given or connected
  CHECK(d.size() == 12);
  const LayerNet bn = BatchNormalizationLayer({{"Input", {4, 5}}, {"Momentum", 0.99}});
  CHECK(bn.option("Momentum") == 0.99);
  CHECK(bn.option("Output") == nlohmann::json{4, 5});
}

TEST_CASE("BN properties: information reports ports, arrays and counts", "[bn][properties]") {
  LayerNet bn = BatchNormalizationLayer(
      {{"Input", {6, 3, 3}}, {"LearningRateMultipliers", {{"Biases", 0.5}}}, {"L2Factors", {{"Scaling", 0.25}}}});
  LayerInfo info = bn.information();
  CHECK(info.type == "BatchNormalization");
  REQUIRE(info.inputs.size() == 1);
  CHECK(info.inputs[0].name == "Input");
  CHECK(info.inputs[0].shape == Shape{6, 3, 3});
  CHECK(info.outputs[0].shape == Shape{6, 3, 3});
  CHECK(info.array_count == 4);
  CHECK(info.total_elements == 24);
  REQUIRE(info.arrays.size() == 4);
  CHECK(info.arrays[0].name == "Scaling");
  CHECK(info.arrays[0].l2_factor == 0.25);
  CHECK(info.arrays[1].learning_rate_multiplier == 0.5);
  CHECK(info.arrays[2].role == ArrayRole::Moving);
  CHECK(info.arrays[3].shape == Shape{6});
  CHECK(info.arrays[3].elements == 6);
  CHECK_FALSE(info.arrays[0].initialized);
  bn.initialize();
  CHECK(bn.information().arrays[0].initialized);
  // Unknown channels: shapes stay partial, counts cover only what is known.
  const LayerInfo open = BatchNormalizationLayer().information();
  CHECK(open.total_elements == 0);
  CHECK(open.arrays[0].elements == -1);
  CHECK(open.arrays[0].shape.to_string() == "[?]");
}

TEST_CASE("BN properties: initialization is seeded and fills arrays independently", "[bn][properties]") {
  const nlohmann::json options{
      {"Input", 64}, {"ScalingInitializer", "NarrowNormal"}, {"BiasesInitializer", "NarrowNormal"}};
  LayerNet a = BatchNormalizationLayer(options), b = BatchNormalizationLayer(options),
           c = BatchNormalizationLayer(options);
  a.initialize(3);
  b.initialize(3);
  c.initialize(4);
  CHECK(a.array("Scaling").bit_equal(b.array("Scaling")));
  CHECK_FALSE(a.array("Scaling").bit_equal(c.array("Scaling")));
  CHECK_FALSE(a.array("Scaling").bit_equal(a.array("Biases")));  // one stream per array
  // Filling only the missing Biases gives the same Biases as initializing everything.
  LayerNet d = BatchNormalizationLayer(options);
  d.set_array("Scaling", Array::filled({64}, 2.0f));
  d.initialize(3);
  CHECK(d.array("Biases").bit_equal(a.array("Biases")));
  double sum = 0, sum_sq = 0;
  for (int64_t i = 0; i < 64; ++i) {
    sum += a.array("Scaling")[i];
    sum_sq += a.array("Scaling")[i] * a.array("Scaling")[i];
  }
  CHECK(std::fabs(sum / 64) < 0.005);                          // NarrowNormal: mean 0,
  CHECK(std::sqrt(sum_sq / 64) == Approx(0.01).epsilon(0.3));  // standard deviation 0.01
}

TEST_CASE("BN properties: Train-mode outputs depend on how a batch is split", "[bn][properties]") {
  LayerNet bn = BatchNormalizationLayer({{"Input", 1}});
  bn.initialize();
  const Array all = bn.evaluate_batch(Array{{1.0}, {2.0}, {3.0}, {10.0}}, Mode::Train);
  const Array half = bn.evaluate_batch(Array{{1.0}, {2.0}}, Mode::Train);
  CHECK(std::fabs(all[0] - half[0]) > 0.1f);
}

TEST_CASE("BN properties: Train-mode outputs are normalised per channel", "[bn][properties]") {
  for (bool interleaving : {false, true}) {
    LayerNet bn = BatchNormalizationLayer({{"Input", {3, 4}}, {"Interleaving", interleaving}, {"Epsilon", 0}});
    bn.initialize();
    Array x = Array::zeros({5, 3, 4});
    for (int64_t i = 0; i < x.size(); ++i)
      x[i] = static_cast<float>(1000 + std::sin(static_cast<double>(i)) * (1 + i % 3));
    const Array y = bn.evaluate_batch(x, Mode::Train);
    const int64_t channels = interleaving ? 4 : 3;
    for (int64_t c = 0; c < channels; ++c) {
      double sum = 0, sum_sq = 0;
      int64_t m = 0;
      for (int64_t i = 0; i < y.size(); ++i) {
        const int64_t channel = interleaving ? i % 4 : (i / 4) % 3;
        if (channel != c) continue;
        sum += y[i];
        sum_sq += y[i] * y[i];
        ++m;
      }
      INFO("interleaving " << interleaving << ", channel " << c);
      CHECK(std::fabs(sum / static_cast<double>(m)) < 1e-5);
      CHECK(sum_sq / static_cast<double>(m) == Approx(1.0).epsilon(1e-4));
    }
  }
}

TEST_CASE("BN properties: a shift of the input does not change Train-mode outputs", "[bn][properties]") {
  LayerNet bn = BatchNormalizationLayer({{"Input", {2, 3}}, {"Scaling", {1.5, -2}}, {"Biases", {0.1, 0.3}}});
  bn.initialize();
  Array x = Array::zeros({4, 2, 3}), shifted = Array::zeros({4, 2, 3});
  for (int64_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(std::cos(0.9 * static_cast<double>(i)));
    shifted[i] = x[i] + 64.0f;  // exact in float for these values
  }
  const Array a = bn.evaluate_batch(x, Mode::Train), b = bn.evaluate_batch(shifted, Mode::Train);
  for (int64_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).margin(1e-5));
}

TEST_CASE("BN properties: Chan's rule combines batch moments into whole-set moments", "[bn][properties]") {
  // The building block of "Statistics" -> "Population": moments of two batches combine to the
  // moments of their union exactly as if computed in one go.
  std::vector<float> data(2 * 3 * 50);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<float>(100 + std::sin(0.37 * static_cast<double>(i)) * (i % 7));
  const kernels::BnLayout whole{2, 3, 50}, half{1, 3, 50};
  double mean[3], m2[3], mean_a[3], m2_a[3], mean_b[3], m2_b[3];
  kernels::batch_norm_moments(data.data(), whole, mean, m2);
  kernels::batch_norm_moments(data.data(), half, mean_a, m2_a);
  kernels::batch_norm_moments(data.data() + 150, half, mean_b, m2_b);
  for (int c = 0; c < 3; ++c) {
    const kernels::Moments m = kernels::combine({50, mean_a[c], m2_a[c]}, {50, mean_b[c], m2_b[c]});
    CHECK(m.count == 100);
    CHECK(m.mean == Approx(mean[c]).epsilon(1e-14));
    CHECK(m.m2 == Approx(m2[c]).epsilon(1e-12));
  }
  const kernels::Moments empty;
  CHECK(kernels::combine(empty, {4, 1.5, 2}).mean == 1.5);
}
