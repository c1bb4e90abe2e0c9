#include <netkit/core/atomic_file.h>

#include <cstdio>

namespace netkit {

AtomicWrite write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (!f) return AtomicWrite::WriteFailed;
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !written) {
    std::remove(temp.c_str());
    return AtomicWrite::WriteFailed;
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return AtomicWrite::RenameFailed;
  }
  return AtomicWrite::Done;
}

}  // namespace netkit
