#include <netkit/core/atomic_file.h>

#include <signal.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace netkit {

namespace fs = std::filesystem;

namespace {

std::atomic<unsigned long> temp_count{0};

std::string unique_temp(const std::string& path) {
  return path + "." + std::to_string(static_cast<long>(::getpid())) + "." + std::to_string(temp_count++) + ".tmp";
}

// The process id in "<name>.<pid>.<count>.tmp", or 0 when `file` is not a temporary of `name`.
long temp_owner(const std::string& file, const std::string& name) {
  const std::string suffix = ".tmp";
  if (file.size() <= name.size() + 1 + suffix.size() || file.compare(0, name.size() + 1, name + ".") != 0 ||
      file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
    return 0;
  const std::string middle = file.substr(name.size() + 1, file.size() - name.size() - 1 - suffix.size());
  const size_t dot = middle.find('.');
  if (dot == 0 || dot == std::string::npos || middle.find_first_not_of("0123456789.") != std::string::npos ||
      middle.find('.', dot + 1) != std::string::npos || dot + 1 == middle.size())
    return 0;
  return std::strtol(middle.substr(0, dot).c_str(), nullptr, 10);
}

// Removes "<path>.tmp" and the "<path>.<pid>.<count>.tmp" files of processes that no longer exist.
void remove_stale_temps(const std::string& path) {
  const fs::path p(path);
  const std::string name = p.filename().string();
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  fs::remove(dir / (name + ".tmp"), ec);
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const long pid = temp_owner(it->path().filename().string(), name);
    if (pid > 0 && pid != static_cast<long>(::getpid()) && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      fs::remove(it->path(), ec);
  }
}

// Writes `total` bytes to a new file `temp`: `chunk` again and again, the last time cut short.
// On failure removes the file and returns the errno; 0 when written.
int write_new_file(const std::string& temp, const std::string& chunk, size_t total) {
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (!f) return errno;
  int error = 0;
  for (size_t done = 0; done < total && error == 0;) {
    const size_t n = std::min(chunk.size(), total - done);
    if (std::fwrite(chunk.data(), 1, n, f) != n) error = errno;
    done += n;
  }
  if (std::fflush(f) != 0 && error == 0) error = errno;
  if (std::fclose(f) != 0 && error == 0) error = errno;
  if (error != 0) std::remove(temp.c_str());
  return error;
}

}  // namespace

AtomicWriteResult write_file_atomically(const std::string& path, const std::string& text) {
  remove_stale_temps(path);
  AtomicWriteResult result;
  result.temp = unique_temp(path);
  if ((result.error = write_new_file(result.temp, text, text.size())) != 0) {
    result.status = AtomicWrite::WriteFailed;
  } else if (std::rename(result.temp.c_str(), path.c_str()) != 0) {
    result.error = errno;
    result.status = AtomicWrite::RenameFailed;
    std::remove(result.temp.c_str());
  }
  return result;
}

AtomicWriteResult probe_writable(const std::string& path, size_t bytes) {
  AtomicWriteResult result;
  result.temp = unique_temp(path);
  if ((result.error = write_new_file(result.temp, std::string(1 << 16, '\0'), bytes)) != 0)
    result.status = AtomicWrite::WriteFailed;
  else
    std::remove(result.temp.c_str());
  return result;
}

std::string write_error_cause(int error) {
  switch (error) {
    case ENOSPC:
      return "no space left on the device";
    case EDQUOT:
      return "the disk quota is used up";
    case EFBIG:
      return "the file is too large for the file system or the process's file-size limit";
    case EROFS:
      return "a read-only file system";
    case EACCES:
    case EPERM:
      return "no permission";
    case ENOENT:
      return "no such directory";
    case ENOTDIR:
      return "a part of the path is not a directory";
    case EISDIR:
      return "the path is a directory";
    default:
      return std::strerror(error);
  }
}

}  // namespace netkit
