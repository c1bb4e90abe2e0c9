// Atomic file replacement: the text goes to a temporary file in the same directory, named
// "<path>.<process id>.<count>.tmp" so that concurrent writers never share one and no temporary
// looks like the output, which is then renamed over <path>: a crash, a kill or a full disk never
// leaves a half-written file where the old one was. Temporaries left by processes that are gone
// (and the "<path>.tmp" of older versions) are removed by the next save of the same path.
// Callers turn a failure into their own typed error, naming its cause.
#pragma once

#include <cstddef>
#include <string>

namespace netkit {

enum class AtomicWrite { Done, WriteFailed, RenameFailed };

struct AtomicWriteResult {
  AtomicWrite status = AtomicWrite::Done;
  int error = 0;     // errno of the failed call
  std::string temp;  // the temporary file that was tried (removed again)
  bool ok() const { return status == AtomicWrite::Done; }
};

// On failure the temporary file is removed.
AtomicWriteResult write_file_atomically(const std::string& path, const std::string& text);

// Writes `bytes` bytes to a temporary file next to `path` and removes it: whether a file of that
// size can be saved there now (directory present, writable, space left). `path` is not touched.
AtomicWriteResult probe_writable(const std::string& path, size_t bytes);

// The cause of a failed write in words, from its errno: "no space left on the device",
// "a read-only file system", "no permission", "no such directory", ... (strerror otherwise).
std::string write_error_cause(int error);

}  // namespace netkit
