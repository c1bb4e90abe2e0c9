// The trainer's view of a net's state, through the executor's array store: snapshots of every learnable and moving
// array by key, restoring them, the layers' moving-update counts, and copying a trained graph's arrays back into the
// user's net.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/graph/executor.h>
#include <netkit/graph/net.h>

namespace netkit {

struct NetState {
  std::map<std::string, Array> arrays;            // by array key
  std::map<std::string, int64_t> moving_updates;  // by layer path, for layers that have moving arrays
};

// The paths of the layers that have moving arrays (the keys of NetState::moving_updates).
std::vector<std::string> moving_layer_paths(const Net& net);
// Every learnable and moving array of `net` (the net `executor` runs) and the update counts.
NetState snapshot_state(Executor& executor, Net& net);
// Writes a snapshot back; TrainingError naming the key when an array is missing or its dims differ.
void restore_state(Executor& executor, Net& net, const NetState& state, const std::string& where);

// Copies every array and moving-update count of the user's net, which sits `depth` levels down
// in `graph` along its first nodes (depth 0: `graph` is the user's net), into `user`, which must
// be initialized and have the same structure.
void copy_arrays_into(const Net& graph, size_t depth, Net& user);

}  // namespace netkit
