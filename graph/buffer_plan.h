// Buffer reuse by liveness: values whose lifetimes do not overlap share a buffer. Sizes are per
// example, so one assignment serves every batch size.
#pragma once

#include <cstdint>
#include <vector>

namespace netkit {

struct BufferAssignment {
  std::vector<int> slot_of;            // per value; -1 for values that need no buffer
  std::vector<int64_t> slot_elements;  // per slot, per example
  int64_t total_elements() const;      // per example, over all slots
};

// Value v lives from step birth[v] (written) to step death[v] (last read), inclusive; a value
// with elements[v] < 0 gets no buffer. A value born at step s never shares with one read at s,
// so a layer's outputs never alias its inputs. Greedy in order of birth, best fit: the result
// depends only on the arguments.
BufferAssignment assign_buffers(const std::vector<int64_t>& elements, const std::vector<int>& birth,
                                const std::vector<int>& death);

}  // namespace netkit
