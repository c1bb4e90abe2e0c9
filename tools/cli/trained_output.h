// Where `netkit train` puts its results, so that a run's work is not lost to a bad location: the
// output and checkpoint locations are checked before training, and a trained net whose final save
// fails is saved somewhere else and named in the error.
#pragma once

#include <cstddef>
#include <string>

#include <netkit/graph/net.h>

namespace netkit::cli {

// Before training: a file of `model_bytes` bytes can be written next to `out_path` (the model and
// its learning curve) and, when `checkpoint_dir` is given, into that directory (created if
// missing; a checkpoint holds the arrays about four times). OptionError naming the option, the
// path and the cause (no such directory, no permission, no space, ...).
void check_output_locations(const std::string& out_path, const std::string& checkpoint_dir, size_t model_bytes);

// Saves `net` to `out_path`. When that fails, saves it as "trained-<name>" in `checkpoint_dir`
// (when given) or else in the system's temporary directory, and throws a TrainingError with the
// cause that names where the net was saved (or the locations tried when none could be written).
void save_trained_net(const Net& net, const std::string& out_path, const std::string& checkpoint_dir);

}  // namespace netkit::cli
