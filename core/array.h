// Array: owning, contiguous, row-major float32 storage with its full dimensions
// (for a batch, the batch dimension leads). Data is 64-byte aligned for vector loads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include <netkit/core/shape.h>

namespace netkit {

template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const {
    return true;
  }
  template <class U>
  bool operator!=(const AlignedAllocator<U>&) const {
    return false;
  }
};

using FloatBuffer = std::vector<float, AlignedAllocator<float>>;

class Array {
 public:
  Array() = default;
  // Braces always mean values (Array{3, 2, 5} is a vector of three numbers); dimensions are
  // given through a Shape or the named factories.
  static Array zeros(std::vector<int64_t> dims) { return filled(std::move(dims), 0.0f); }
  static Array filled(std::vector<int64_t> dims, float value);
  explicit Array(const Shape& shape, float fill = 0.0f);
  // Takes ownership of float data; throws ShapeError if the length does not match.
  Array(std::vector<int64_t> dims, const std::vector<float>& data);

  // Nested literals: Array{1, 2, -3}, Array{{1, 2}, {3, 4}}, up to rank 4. Ragged lists throw.
  // Rank 1 is a template so that {{1}, {2}} reads as a 2 x 1 matrix; write {1.0, 2.5} (one
  // number type) at this level.
  template <class T, class = std::enable_if_t<std::is_arithmetic_v<T>>>
  Array(std::initializer_list<T> v)
      : Array(std::vector<int64_t>{static_cast<int64_t>(v.size())}, std::vector<float>(v.begin(), v.end())) {}
  Array(std::initializer_list<std::initializer_list<double>> v);
  Array(std::initializer_list<std::initializer_list<std::initializer_list<double>>> v);
  Array(std::initializer_list<std::initializer_list<std::initializer_list<std::initializer_list<double>>>> v);

  // Conversion from any arithmetic type (double, int, uint8_t, ...): values are cast to float.
  template <class T, class = std::enable_if_t<std::is_arithmetic_v<T>>>
  static Array from(std::vector<int64_t> dims, const std::vector<T>& values) {
    Array a = zeros(std::move(dims));
    a.check_length(static_cast<int64_t>(values.size()));
    for (size_t i = 0; i < values.size(); ++i) a.data_[i] = static_cast<float>(values[i]);
    return a;
  }

  const std::vector<int64_t>& dims() const { return dims_; }
  int64_t rank() const { return static_cast<int64_t>(dims_.size()); }
  int64_t size() const { return static_cast<int64_t>(data_.size()); }
  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  float operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }
  std::vector<float> values() const { return {data_.begin(), data_.end()}; }

  // Same data, other dimensions of the same element count.
  Array reshaped(std::vector<int64_t> dims) const;
  // Bit-for-bit equality of dimensions and data (NaN payloads included).
  bool bit_equal(const Array& other) const;
  // True when no element is NaN or infinite.
  bool all_finite() const;
  // Throws EvaluationError at `where` naming the first NaN or infinity: "<what> contains NaN or infinity".
  void require_finite(const std::string& where, const std::string& what) const;

 private:
  void check_length(int64_t n) const;
  std::vector<int64_t> dims_;
  FloatBuffer data_;
};

// A read-only, non-owning view of floats with dims, e.g. one array's gradient inside a net's
// contiguous gradient arena (graph/array_store.h). Valid while the memory it points into is.
class ArrayView {
 public:
  ArrayView() = default;
  ArrayView(const float* data, std::vector<int64_t> dims);
  ArrayView(const Array& a) : ArrayView(a.data(), a.dims()) {}  // NOLINT: a view of a whole array
  const std::vector<int64_t>& dims() const { return dims_; }
  int64_t rank() const { return static_cast<int64_t>(dims_.size()); }
  int64_t size() const { return size_; }
  const float* data() const { return data_; }
  bool empty() const { return data_ == nullptr; }
  float operator[](int64_t i) const { return data_[i]; }
  bool all_finite() const;
  Array copy() const;  // an owning copy

 private:
  const float* data_ = nullptr;
  std::vector<int64_t> dims_;
  int64_t size_ = 0;
};

}  // namespace netkit
