// Sizes that come from files and the command line: the bound on elements, overflow-checked
// arithmetic on such sizes (the one place they are multiplied and added), and allocations of
// them that fail with a typed error instead of a bare std::bad_alloc.
#pragma once

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <netkit/core/error.h>

namespace netkit {

// At most 2^32 elements in one array and in one example of a value (16 GiB as float32).
inline constexpr int64_t kMaxElements = int64_t{1} << 32;

// a * b and a + b for sizes >= 0; a ShapeError at `where` when the result does not fit in 63 bits.
int64_t checked_multiply(int64_t a, int64_t b, const std::string& where);
int64_t checked_add(int64_t a, int64_t b, const std::string& where);
// Product of dimensions, with a ShapeError if a dimension is negative or the product overflows.
int64_t checked_product(const std::vector<int64_t>& dims);

// The AllocationError for `bytes` bytes of `what` that could not be allocated (a double: a
// request can be larger than 2^63 bytes).
AllocationError allocation_failure(const std::string& what, double bytes);

// Runs allocate(); a failed allocation in it becomes an AllocationError naming what() and `bytes`
// (what is called only then, so that naming costs nothing on the way that succeeds).
template <class What, class F>
decltype(auto) allocating(What&& what, double bytes, F&& allocate) {
  try {
    return allocate();
  } catch (const std::bad_alloc&) {
    throw allocation_failure(what(), bytes);
  } catch (const std::length_error&) {  // more than the container can hold
    throw allocation_failure(what(), bytes);
  }
}

}  // namespace netkit
