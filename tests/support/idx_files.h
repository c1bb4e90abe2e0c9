// Files for the IDX reader's and the data commands' tests: a temporary directory and IDX files
// written byte by byte.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

namespace netkit::test {

// A temporary directory, removed with its contents when the test ends.
struct TempDir {
  std::string path;
  TempDir() {
    namespace fs = std::filesystem;
    static int counter = 0;
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = (fs::temp_directory_path() / ("netkit_idx_" + std::to_string(stamp) + "_" + std::to_string(counter++)))
               .string();
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path + "/" + name; }
};

inline std::string bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s += static_cast<char>(v);
  return s;
}

// An IDX file: 0 0 type rank, big-endian dimensions, then `data` as given.
inline std::string idx_file(int type, const std::vector<uint32_t>& dims, const std::string& data) {
  std::string s = bytes({0, 0, type, static_cast<int>(dims.size())});
  for (uint32_t d : dims) s += bytes({int(d >> 24), int((d >> 16) & 255), int((d >> 8) & 255), int(d & 255)});
  return s + data;
}

}  // namespace netkit::test
