// Atomic file replacement: the text goes to "<path>.tmp" in the same directory, which is then
// renamed over <path>, so a crash or a full disk never leaves a half-written file where the old
// one was. Callers turn a failure into their own typed error.
#pragma once

#include <string>

namespace netkit {

enum class AtomicWrite { Done, WriteFailed, RenameFailed };

// On failure the temporary file is removed.
AtomicWrite write_file_atomically(const std::string& path, const std::string& text);

}  // namespace netkit
