#include <netkit/graph/buffer_plan.h>

#include <algorithm>
#include <numeric>

namespace netkit {

int64_t BufferAssignment::total_elements() const {
  return std::accumulate(slot_elements.begin(), slot_elements.end(), int64_t{0});
}

BufferAssignment assign_buffers(const std::vector<int64_t>& elements, const std::vector<int>& birth,
                                const std::vector<int>& death) {
  const size_t n = elements.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return birth[a] < birth[b]; });
  BufferAssignment out;
  out.slot_of.assign(n, -1);
  std::vector<int> busy_until;  // per slot: the last step at which its current value is read
  for (size_t v : order) {
    if (elements[v] < 0) continue;
    int best = -1;
    for (size_t s = 0; s < busy_until.size(); ++s) {
      if (busy_until[s] >= birth[v]) continue;  // still live when v is written
      const bool fits = out.slot_elements[s] >= elements[v];
      if (best < 0) {
        best = static_cast<int>(s);
        continue;
      }
      const bool best_fits = out.slot_elements[best] >= elements[v];
      // Prefer the smallest slot that fits; else the largest one (the least growth).
      if (fits && (!best_fits || out.slot_elements[s] < out.slot_elements[best]))
        best = static_cast<int>(s);
      else if (!fits && !best_fits && out.slot_elements[s] > out.slot_elements[best])
        best = static_cast<int>(s);
    }
    if (best < 0) {
      best = static_cast<int>(busy_until.size());
      busy_until.push_back(0);
      out.slot_elements.push_back(0);
    }
    out.slot_of[v] = best;
    out.slot_elements[best] = std::max(out.slot_elements[best], elements[v]);
    busy_until[best] = death[v];
  }
  return out;
}

}  // namespace netkit
