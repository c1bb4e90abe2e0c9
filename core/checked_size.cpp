#include <netkit/core/checked_size.h>

#include <limits>

#include <netkit/core/shape.h>

namespace netkit {

namespace {

constexpr int64_t kLargest = std::numeric_limits<int64_t>::max();

}  // namespace

int64_t checked_multiply(int64_t a, int64_t b, const std::string& where) {
  if (a < 0 || b < 0)
    throw ShapeError(where, "negative size", "sizes >= 0", std::to_string(a) + " x " + std::to_string(b));
  if (a != 0 && b > kLargest / a)
    throw ShapeError(where, "size too large", "a product below 2^63",
                     std::to_string(a) + " x " + std::to_string(b) + ", which overflows");
  return a * b;
}

int64_t checked_add(int64_t a, int64_t b, const std::string& where) {
  if (a < 0 || b < 0)
    throw ShapeError(where, "negative size", "sizes >= 0", std::to_string(a) + " + " + std::to_string(b));
  if (b > kLargest - a)
    throw ShapeError(where, "size too large", "a sum below 2^63",
                     std::to_string(a) + " + " + std::to_string(b) + ", which overflows");
  return a + b;
}

int64_t checked_product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0)
      throw ShapeError("shape " + dims_to_string(dims), "negative dimension", "dimensions >= 0", std::to_string(d));
    if (d != 0 && n > kLargest / d)
      throw ShapeError("shape " + dims_to_string(dims), "too many elements", "a product below 2^63", "overflow");
    n *= d;
  }
  return n;
}

AllocationError allocation_failure(const std::string& what, double bytes) {
  const std::string count = bytes < 0x1p63 ? std::to_string(static_cast<int64_t>(bytes)) : number_text(bytes);
  return AllocationError(what, "cannot allocate " + count + " bytes", "that much free memory", "an allocation failure");
}

}  // namespace netkit
