// Shape: the dimensions of one example (the batch dimension is implicit and leads at run time).
// A shape may be partially known: its rank may be unknown, or single dimensions may be unknown.
// Text form, used in every message: [16, 28, 28]; unknown dimension "?"; unknown rank "[...]".
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <netkit/core/checked_size.h>

namespace netkit {

inline constexpr int64_t kUnknownDim = -1;

class Shape {
 public:
  // Unknown rank ("a vector, matrix or higher-rank array").
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(std::vector<int64_t> dims);
  // Known rank, every dimension unknown.
  static Shape of_rank(int64_t rank);

  bool rank_known() const { return rank_known_; }
  int64_t rank() const;  // throws ShapeError when the rank is unknown
  const std::vector<int64_t>& dims() const;
  int64_t operator[](int64_t i) const { return dims()[static_cast<size_t>(i)]; }
  bool dim_known(int64_t i) const { return (*this)[i] != kUnknownDim; }
  // Rank and every dimension known.
  bool known() const;
  // Number of elements; requires known().
  int64_t num_elements() const;
  std::string to_string() const;

  // The most specific shape agreeing with both, or nullopt when they conflict.
  static std::optional<Shape> unify(const Shape& a, const Shape& b);
  // Same shape with `n` in front (a batch of n examples).
  std::vector<int64_t> with_batch(int64_t n) const;

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.rank_known_ == b.rank_known_ && a.dims_ == b.dims_;
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  bool rank_known_ = false;
  std::vector<int64_t> dims_;
};

// "[2, 3]" for a plain dimension list (e.g. a batch shape); a list of more than kShownDims
// dimensions shows its first ones and the count: "[1, 1, 1, ... (255 dimensions)]".
std::string dims_to_string(const std::vector<int64_t>& dims);
inline constexpr size_t kShownDims = 8;

}  // namespace netkit
