#include <netkit/layers/dropout.h>

#include <cmath>

#include <netkit/core/error.h>
#include <netkit/core/parallel.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

// 64 KiB of floats per task, as in the elementwise kernels.
constexpr int64_t kChunk = 16384;
constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;  // splitmix64's increment

// splitmix64's output function (Steele, Lea, Flood 2014): a bijective 64-bit mix.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The stream's key: the seed mixed once, so that nearby seeds give unrelated streams.
inline uint64_t stream_key(uint64_t seed) { return mix64(seed ^ 0x6A09E667F3BCC909ull); }

// Element i is kept when the top 32 bits of mix64(key + (i + 1) gamma) (the (i + 1)-th output
// of splitmix64 started at `key`) are >= threshold = ceil(p 2^32); the keep probability is
// (2^32 - threshold) / 2^32, within 2^-32 of 1 - p. p = 0 keeps everything.
inline uint64_t keep_threshold(double p) { return static_cast<uint64_t>(std::ceil(p * 4294967296.0)); }

inline bool keep(uint64_t key, uint64_t i, uint64_t threshold) {
  return (mix64(key + (i + 1) * kGamma) >> 32) >= threshold;
}

// The factor of element i: 1 / (1 - p) when kept, else 0.
struct Mask {
  uint64_t key, threshold;
  float scale;
  float operator()(uint64_t i) const { return keep(key, i, threshold) ? scale : 0.0f; }
};

Mask mask_of(uint64_t seed, double p) {
  return {stream_key(seed), keep_threshold(p), static_cast<float>(1.0 / (1.0 - p))};
}

}  // namespace

Dropout::Dropout(double probability) : p_(probability) { validate(); }

Dropout::Dropout(const nlohmann::json& options) {
  OptionReader r(options, "Dropout");
  p_ = r.number("DropoutProbability", 0.5);
  r.finish();
  validate();
}

void Dropout::validate() const {
  if (!(p_ >= 0.0 && p_ < 1.0))
    throw OptionError("Dropout option \"DropoutProbability\"", "out of range", "a number p with 0 <= p < 1",
                      number_text(p_), p_ == 1.0 ? "p = 1 would drop everything and scale by 1 / 0" : "");
}

bool Dropout::keeps(uint64_t seed, uint64_t index, double probability) {
  return keep(stream_key(seed), index, keep_threshold(probability));
}

void Dropout::infer_shapes(LayerShapes& s) const {
  const auto joined = Shape::unify(s.inputs.at(0), s.outputs.at(0));
  if (!joined)
    throw ShapeError("port \"Output\"", "Dropout keeps the shape of its input", "shape " + s.inputs[0].to_string(),
                     "shape " + s.outputs[0].to_string());
  s.inputs[0] = s.outputs[0] = *joined;
}

// Train mode: y_i = m_i x_i with m_i = 1 / (1 - p) if element i is kept, else 0. Test mode: y = x.
void Dropout::forward(const ForwardArgs& a) const {
  const int64_t n = a.batch * a.input_shapes.at(0).num_elements();
  const float* x = a.inputs[0];
  float* y = a.outputs[0];
  const bool train = a.mode == Mode::Train;
  const Mask mask = mask_of(a.seed, p_);
  parallel_chunks(n, kChunk, [&](int64_t begin, int64_t end) {
    if (train)
      for (int64_t i = begin; i < end; ++i) y[i] = x[i] * mask(static_cast<uint64_t>(i));
    else
      for (int64_t i = begin; i < end; ++i) y[i] = x[i];
  });
}

// From y_i = m_i x_i: dL/dx_i = m_i g_i, with the same m_i regenerated from BackwardArgs::seed
// (which is the forward pass's seed). Test mode: dL/dx = g.
void Dropout::backward(const BackwardArgs& a) const {
  if (a.input_grads.empty() || !a.input_grads[0]) return;
  const int64_t n = a.batch * a.input_shapes.at(0).num_elements();
  const float* g = a.output_grads[0];
  float* dx = a.input_grads[0];
  const bool train = a.mode == Mode::Train, overwrite = a.overwrite_input_grads;
  const Mask mask = mask_of(a.seed, p_);
  auto d = [&](int64_t i) { return train ? g[i] * mask(static_cast<uint64_t>(i)) : g[i]; };
  parallel_chunks(n, kChunk, [&](int64_t begin, int64_t end) {
    if (overwrite)
      for (int64_t i = begin; i < end; ++i) dx[i] = d(i);
    else
      for (int64_t i = begin; i < end; ++i) dx[i] += d(i);
  });
}

}  // namespace netkit
