#include <netkit/core/array.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <netkit/core/error.h>

namespace netkit {

Array Array::filled(std::vector<int64_t> dims, float value) {
  Array a;
  const int64_t n = checked_product(dims);
  allocating([&] { return "array " + dims_to_string(dims); }, static_cast<double>(n) * sizeof(float),
             [&] { a.data_.assign(static_cast<size_t>(n), value); });
  a.dims_ = std::move(dims);
  return a;
}

Array::Array(const Shape& shape, float fill) : Array(filled(shape.dims(), fill)) {}

Array::Array(std::vector<int64_t> dims, const std::vector<float>& data) : Array(filled(std::move(dims), 0.0f)) {
  check_length(static_cast<int64_t>(data.size()));
  std::copy(data.begin(), data.end(), data_.begin());
}

void Array::check_length(int64_t n) const {
  if (n != size())
    throw ShapeError("array " + dims_to_string(dims_), "data length does not match the dimensions",
                     std::to_string(size()) + " values", std::to_string(n));
}

namespace {

// Flattens a nested list, recording the dimensions of the first element at each level and
// rejecting ragged lists.
void flatten(double v, size_t, std::vector<int64_t>&, std::vector<float>& out) { out.push_back(static_cast<float>(v)); }

template <class L>
void flatten(const std::initializer_list<L>& list, size_t level, std::vector<int64_t>& dims, std::vector<float>& out) {
  int64_t n = static_cast<int64_t>(list.size());
  if (dims.size() <= level)
    dims.push_back(n);
  else if (dims[level] != n)
    throw ShapeError("array literal, level " + std::to_string(level + 1), "ragged nested list",
                     std::to_string(dims[level]) + " elements", std::to_string(n));
  for (const L& item : list) flatten(item, level + 1, dims, out);
}

template <class L>
Array from_literal(const std::initializer_list<L>& list) {
  std::vector<int64_t> dims;
  std::vector<float> values;
  flatten(list, 0, dims, values);
  return Array(dims, values);
}

}  // namespace

Array::Array(std::initializer_list<std::initializer_list<double>> v) : Array(from_literal(v)) {}
Array::Array(std::initializer_list<std::initializer_list<std::initializer_list<double>>> v) : Array(from_literal(v)) {}
Array::Array(std::initializer_list<std::initializer_list<std::initializer_list<std::initializer_list<double>>>> v)
    : Array(from_literal(v)) {}

Array Array::reshaped(std::vector<int64_t> dims) const {
  Array out = zeros(std::move(dims));
  out.check_length(size());
  std::copy(data_.begin(), data_.end(), out.data_.begin());
  return out;
}

bool Array::bit_equal(const Array& other) const {
  return dims_ == other.dims_ &&
         (data_.empty() || std::memcmp(data_.data(), other.data_.data(), data_.size() * sizeof(float)) == 0);
}

bool Array::all_finite() const {
  for (float x : data_)
    if (!std::isfinite(x)) return false;
  return true;
}

void Array::require_finite(const std::string& where, const std::string& what) const {
  for (size_t i = 0; i < data_.size(); ++i)
    if (!std::isfinite(data_[i]))
      throw EvaluationError(where, what + " contains NaN or infinity", "finite values",
                            number_text(data_[i]) + " at element " + std::to_string(i));
}

ArrayView::ArrayView(const float* data, std::vector<int64_t> dims) : data_(data), dims_(std::move(dims)), size_(1) {
  for (int64_t d : dims_) size_ *= d;
}

bool ArrayView::all_finite() const {
  for (int64_t i = 0; i < size_; ++i)
    if (!std::isfinite(data_[i])) return false;
  return true;
}

Array ArrayView::copy() const {
  Array out = Array::zeros(dims_);
  std::copy(data_, data_ + size_, out.data());
  return out;
}

}  // namespace netkit
