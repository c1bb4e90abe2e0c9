#include "train/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace netkit {

TrainingData::TrainingData(std::map<std::string, Array> ports, TargetKind kind) : ports_(std::move(ports)), kind_(kind) {
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
                        "ports " + [&] {
                          std::string s;
                          for (const auto& p : ports_) s += (s.empty() ? "" : ", ") + in_quotes(p.first);
                          return s.empty() ? std::string("none") : s;
                        }());
}

TrainingData TrainingData::classification(Array inputs, const std::vector<int64_t>& classes) {
  std::vector<float> t(classes.begin(), classes.end());
  Array targets({static_cast<int64_t>(classes.size())}, t);
  return TrainingData({{"Input", std::move(inputs)}, {"Target", std::move(targets)}}, TargetKind::ClassIndex);
}

TrainingData TrainingData::regression(Array inputs, Array targets) {
  return TrainingData({{"Input", std::move(inputs)}, {"Target", std::move(targets)}}, TargetKind::Array);
}

const Array& TrainingData::port(const std::string& name) const {
  auto it = ports_.find(name);
  if (it == ports_.end())
    throw TrainingError("NetTrain, data", "no port " + in_quotes(name), "a port " + in_quotes(name), "none");
  return it->second;
}

std::map<std::string, Array> TrainingData::batch(const std::vector<int64_t>& order, int64_t begin, int64_t end) const {
  std::map<std::string, Array> out;
  for (const auto& [name, a] : ports_) {
    std::vector<int64_t> dims = a.dims();
    const int64_t per = dims[0] > 0 ? a.size() / dims[0] : 0;
    dims[0] = end - begin;
    Array b = Array::zeros(dims);
    for (int64_t i = begin; i < end; ++i)
      std::memcpy(b.data() + (i - begin) * per, a.data() + order[static_cast<size_t>(i)] * per,
                  sizeof(float) * static_cast<size_t>(per));
    out.emplace(name, std::move(b));
  }
  return out;
}

TrainingData TrainingData::subset(const std::vector<int64_t>& indices) const {
  TrainingData d;
  d.ports_ = batch(indices, 0, static_cast<int64_t>(indices.size()));
  d.kind_ = kind_;
  d.size_ = static_cast<int64_t>(indices.size());
  return d;
}

std::pair<TrainingData, TrainingData> TrainingData::split_held_out(double fraction, uint64_t seed) const {
  if (!(fraction > 0 && fraction < 1))
    throw OptionError("NetTrain option \"ValidationSet\"", "held-out fraction out of range", "a number in (0, 1)",
                      number_text(fraction));
  if (size_ < 2)
    throw TrainingError("NetTrain, data", "too few examples to hold some out", "at least 2 examples",
                        std::to_string(size_));
  int64_t held = static_cast<int64_t>(std::llround(fraction * static_cast<double>(size_)));
  held = std::min(std::max<int64_t>(held, 1), size_ - 1);
  std::vector<int64_t> order = identity_order(size_);
  Random random(seed, "validation split");
  shuffle(order, random);
  std::vector<int64_t> held_out(order.begin(), order.begin() + held), kept(order.begin() + held, order.end());
  std::sort(held_out.begin(), held_out.end());
  std::sort(kept.begin(), kept.end());
  return {subset(kept), subset(held_out)};
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
