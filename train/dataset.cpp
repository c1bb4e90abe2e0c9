#include <netkit/train/dataset.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <netkit/core/error.h>

namespace netkit {

namespace {

Shape example_shape(const Array& a) { return Shape(std::vector<int64_t>(a.dims().begin() + 1, a.dims().end())); }

}  // namespace

TrainingData::TrainingData(std::map<std::string, Array> ports, TargetKind kind)
    : ports_(std::move(ports)), kind_(kind) {
  std::string first;
  for (const auto& [name, a] : ports_) {
    const std::string where = "NetTrain, data port " + in_quotes(name);
    if (a.rank() < 1)
      throw TrainingError(where, "no example dimension", "an array of rank >= 1 with the examples first", "rank 0");
    if (first.empty()) {
      first = name;
      size_ = a.dims()[0];
    } else if (a.dims()[0] != size_) {
      throw TrainingError(where, "number of examples differs from port " + in_quotes(first),
                          std::to_string(size_) + " examples", std::to_string(a.dims()[0]));
    }
  }
  if (kind_ != TargetKind::None && !ports_.count("Target"))
    throw TrainingError("NetTrain, data", "targets declared but no port \"Target\"", "a port \"Target\"",
                        "ports " + port_list(example_shapes()));
}

TrainingData TrainingData::classification(Array inputs, const std::vector<int64_t>& classes) {
  std::vector<float> t(classes.begin(), classes.end());
  Array targets({static_cast<int64_t>(classes.size())}, t);
  return TrainingData({{"Input", std::move(inputs)}, {"Target", std::move(targets)}}, TargetKind::ClassIndex);
}

TrainingData TrainingData::regression(Array inputs, Array targets) {
  return TrainingData({{"Input", std::move(inputs)}, {"Target", std::move(targets)}}, TargetKind::Array);
}

std::map<std::string, Shape> TrainingData::example_shapes() const {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, a] : ports_) shapes.emplace(name, example_shape(a));
  return shapes;
}

const Array& TrainingData::port(const std::string& name) const {
  auto it = ports_.find(name);
  if (it == ports_.end())
    throw TrainingError("NetTrain, data", "no port " + in_quotes(name), "a port " + in_quotes(name), "none");
  return it->second;
}

std::map<std::string, Array> TrainingData::batch(const std::vector<int64_t>& indices) const {
  for (size_t i = 0; i < indices.size(); ++i)
    if (indices[i] < 0 || indices[i] >= size_)
      throw TrainingError("NetTrain, data", "example index out of range",
                          "an index from 0 to " + std::to_string(size_ - 1),
                          std::to_string(indices[i]) + " at position " + std::to_string(i));
  std::map<std::string, Array> out;
  const int64_t n = static_cast<int64_t>(indices.size());
  for (const auto& [name, a] : ports_) {
    std::vector<int64_t> dims = a.dims();
    const int64_t per = dims[0] > 0 ? a.size() / dims[0] : 0;
    dims[0] = n;
    Array b = Array::zeros(dims);
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(b.data() + i * per, a.data() + indices[static_cast<size_t>(i)] * per,
                  sizeof(float) * static_cast<size_t>(per));
    out.emplace(name, std::move(b));
  }
  return out;
}

std::map<std::string, Array> TrainingData::batch(const std::vector<int64_t>& order, int64_t begin, int64_t end) const {
  return batch(std::vector<int64_t>(order.begin() + begin, order.begin() + end));
}

TrainingData TrainingData::subset(const std::vector<int64_t>& indices) const {
  TrainingData d;
  d.ports_ = batch(indices);
  d.kind_ = kind_;
  d.size_ = static_cast<int64_t>(indices.size());
  return d;
}

std::pair<TrainingData, TrainingData> TrainingData::split_held_out(double fraction, uint64_t seed) const {
  const auto [kept, held_out] = held_out_indices(size_, fraction, seed);
  return {subset(kept), subset(held_out)};
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> held_out_indices(int64_t size, double fraction, uint64_t seed) {
  if (!(fraction > 0 && fraction < 1))
    throw OptionError("NetTrain option \"ValidationSet\"", "held-out fraction out of range", "a number in (0, 1)",
                      number_text(fraction));
  if (size < 2)
    throw TrainingError("NetTrain, data", "too few examples to hold some out", "at least 2 examples",
                        std::to_string(size));
  int64_t held = static_cast<int64_t>(std::llround(fraction * static_cast<double>(size)));
  held = std::min(std::max<int64_t>(held, 1), size - 1);
  std::vector<int64_t> order = identity_order(size);
  Random random(seed, "validation split");
  shuffle(order, random);
  std::vector<int64_t> held_out(order.begin(), order.begin() + held), kept(order.begin() + held, order.end());
  std::sort(held_out.begin(), held_out.end());
  std::sort(kept.begin(), kept.end());
  return {kept, held_out};
}

void check_batch(const std::map<std::string, Shape>& shapes, const std::map<std::string, Array>& batch,
                 int64_t examples, const std::string& where) {
  for (const auto& [name, a] : batch)
    if (!shapes.count(name))
      throw TrainingError(where + " port " + in_quotes(name), "a batch has a port that was not declared",
                          "only the ports " + port_list(shapes), "port " + in_quotes(name));
  for (const auto& [name, shape] : shapes) {
    const auto it = batch.find(name);
    const std::string at = where + " port " + in_quotes(name);
    if (it == batch.end())
      throw TrainingError(at, "missing from a batch", "every declared port " + port_list(shapes),
                          "no array for " + in_quotes(name));
    const Array& a = it->second;
    if (a.rank() < 1 || a.dims()[0] != examples)
      throw TrainingError(at, "wrong number of examples in a batch",
                          std::to_string(examples) + " (one per requested index) along the first dimension",
                          a.rank() < 1 ? std::string("an array of rank 0") : std::to_string(a.dims()[0]));
    const Shape got = example_shape(a);
    if (got != shape)
      throw TrainingError(at, "wrong example shape in a batch",
                          "examples of shape " + shape.to_string() + " (as declared)",
                          "examples of shape " + got.to_string());
  }
}

std::string port_list(const std::map<std::string, Shape>& shapes) {
  std::string s;
  for (const auto& p : shapes) s += (s.empty() ? "" : ", ") + in_quotes(p.first);
  return s.empty() ? std::string("none") : s;
}

std::vector<int64_t> identity_order(int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  return order;
}

void shuffle(std::vector<int64_t>& order, Random& random) {
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[random.below(i)]);
}

}  // namespace netkit
