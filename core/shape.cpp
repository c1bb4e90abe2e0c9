#include <netkit/core/shape.h>

#include <netkit/core/error.h>

namespace netkit {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(std::vector<int64_t> dims) : rank_known_(true), dims_(std::move(dims)) {
  int64_t known_elements = 1;  // stays <= kMaxElements, so the product cannot overflow
  for (int64_t d : dims_) {
    if (d < 1 && d != kUnknownDim) {
      throw ShapeError("shape " + dims_to_string(dims_), "invalid dimension", "dimensions >= 1", std::to_string(d));
    }
    if (d == kUnknownDim) continue;
    if (d > kMaxElements / known_elements) {
      double product = 1;  // shown in the message; a double cannot overflow here
      for (int64_t e : dims_) product *= e == kUnknownDim ? 1.0 : static_cast<double>(e);
      throw ShapeError("shape " + dims_to_string(dims_), "too many elements",
                       "at most " + std::to_string(kMaxElements) + " elements", number_text(product));
    }
    known_elements *= d;
  }
}

Shape Shape::of_rank(int64_t rank) { return Shape(std::vector<int64_t>(static_cast<size_t>(rank), kUnknownDim)); }

int64_t Shape::rank() const {
  if (!rank_known_) throw ShapeError("shape", "rank is not known", "a known rank", "[...]");
  return static_cast<int64_t>(dims_.size());
}

const std::vector<int64_t>& Shape::dims() const {
  if (!rank_known_) throw ShapeError("shape", "rank is not known", "a known rank", "[...]");
  return dims_;
}

bool Shape::known() const {
  if (!rank_known_) return false;
  for (int64_t d : dims_)
    if (d == kUnknownDim) return false;
  return true;
}

int64_t Shape::num_elements() const {
  if (!known()) throw ShapeError("shape " + to_string(), "size is not known", "all dimensions known", to_string());
  return checked_product(dims_);
}

std::string Shape::to_string() const { return rank_known_ ? dims_to_string(dims_) : "[...]"; }

std::optional<Shape> Shape::unify(const Shape& a, const Shape& b) {
  if (!a.rank_known_) return b;
  if (!b.rank_known_) return a;
  if (a.dims_.size() != b.dims_.size()) return std::nullopt;
  std::vector<int64_t> dims(a.dims_.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t x = a.dims_[i], y = b.dims_[i];
    if (x != kUnknownDim && y != kUnknownDim && x != y) return std::nullopt;
    dims[i] = x != kUnknownDim ? x : y;
  }
  return Shape(std::move(dims));
}

std::vector<int64_t> Shape::with_batch(int64_t n) const {
  std::vector<int64_t> out{n};
  out.insert(out.end(), dims().begin(), dims().end());
  return out;
}

std::string dims_to_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size() && i < kShownDims; ++i) {
    if (i) s += ", ";
    s += dims[i] == kUnknownDim ? "?" : std::to_string(dims[i]);
  }
  if (dims.size() > kShownDims) s += ", ... (" + std::to_string(dims.size()) + " dimensions)";
  return s + "]";
}

}  // namespace netkit
