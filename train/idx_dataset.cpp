#include <netkit/train/idx_dataset.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <netkit/core/error.h>
#include <netkit/train/idx.h>

namespace netkit {

namespace {

// Reads n bytes at `offset`; returns how many were read before the end of the file.
int64_t read_at(int file, unsigned char* dst, int64_t n, int64_t offset, const std::string& path) {
  int64_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(file, dst + got, static_cast<size_t>(n - got), static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      throw FormatError(path, "cannot be read at byte offset " + std::to_string(offset + got), "a readable file",
                        std::strerror(errno));
    if (r == 0) break;
    got += r;
  }
  return got;
}

uint32_t big_endian_u32(const unsigned char* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

std::string hex(unsigned char b) {
  const char* digits = "0123456789ABCDEF";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

// The header of an uncompressed IDX file of uint8 elements (dims filled, no bytes) with dimensions
// `expected` (kUnknownDim: any), its size checked against the file's; `data_offset` is set to
// where the elements start.
IdxData read_header(int file, const std::string& path, const std::vector<int64_t>& expected, int64_t& data_offset) {
  IdxData out;
  out.path = path;
  unsigned char head[4] = {0, 0, 0, 0};
  const int64_t got = read_at(file, head, 4, 0, path);
  if (got >= 2 && head[0] == 0x1F && head[1] == 0x8B)
    throw FormatError(path, "gzip-compressed; IdxDataset streams uncompressed IDX files only",
                      "an uncompressed IDX file", "the gzip magic bytes 0x1F 0x8B",
                      "Decompress it (gunzip -k) or load it in memory with read_labeled_images");
  if (got < 4)
    throw FormatError(path, "file ends inside the IDX header at byte offset " + std::to_string(got),
                      "at least 4 header bytes", std::to_string(got));
  if (head[0] != 0 || head[1] != 0)
    throw FormatError(path, "not an IDX file: bad magic number at byte offset 0",
                      "0x00 0x00 then a type code and a rank",
                      hex(head[0]) + " " + hex(head[1]) + " " + hex(head[2]) + " " + hex(head[3]));
  if (head[2] != static_cast<unsigned char>(IdxType::UInt8))
    throw FormatError(path, "wrong IDX element type", idx_type_name(IdxType::UInt8), "type code " + hex(head[2]));
  const int64_t rank = head[3];
  std::vector<unsigned char> dims(static_cast<size_t>(4 * rank));
  const int64_t dims_got = read_at(file, dims.data(), 4 * rank, 4, path);
  if (dims_got < 4 * rank)
    throw FormatError(path, "file ends inside the IDX header at byte offset " + std::to_string(4 + dims_got),
                      std::to_string(4 + 4 * rank) + " header bytes for rank " + std::to_string(rank),
                      std::to_string(4 + dims_got));
  for (int64_t i = 0; i < rank; ++i) out.dims.push_back(big_endian_u32(dims.data() + 4 * i));
  require_idx_dims(out, expected);
  data_offset = 4 + 4 * rank;
  int64_t bytes = 1;
  for (int64_t d : out.dims) {
    if (d != 0 && bytes > (int64_t{1} << 62) / d)
      throw FormatError(path, "IDX dimensions " + dims_to_string(out.dims) + " are too large", "at most 2^62 bytes",
                        "more");
    bytes *= d;
  }
  struct stat st {};
  if (::fstat(file, &st) != 0) throw FormatError(path, "cannot be read", "a readable file", std::strerror(errno));
  const int64_t total = data_offset + bytes, size = static_cast<int64_t>(st.st_size);
  if (size < total)
    throw FormatError(path,
                      "truncated: file ends at byte offset " + std::to_string(size) +
                          " inside the uint8 data of dimensions " + dims_to_string(out.dims),
                      std::to_string(total) + " bytes", std::to_string(size));
  if (size > total)
    throw FormatError(path, "trailing bytes after the data at byte offset " + std::to_string(total),
                      "the data to end at byte offset " + std::to_string(total),
                      std::to_string(size - total) + " more bytes");
  return out;
}

}  // namespace

IdxDataset::IdxDataset(const std::string& images_path, const std::string& labels_path, int64_t classes)
    : images_path_(images_path) {
  if (classes < 1 || classes > 256)
    throw OptionError("IdxDataset", "class count out of range", "1 to 256", std::to_string(classes));
  const IdxData labels = read_idx(labels_path);
  require_idx_type(labels, IdxType::UInt8);
  require_idx_dims(labels, {kUnknownDim});
  file_ = ::open(images_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file_ < 0) throw OptionError(images_path, "cannot be opened", "a readable IDX file", std::strerror(errno));
  try {
    const IdxData images = read_header(file_, images_path, {kUnknownDim, kUnknownDim, kUnknownDim}, data_offset_);
    if (labels.dims[0] != images.dims[0])
      throw FormatError(labels_path, "label count does not match the images in " + images_path,
                        std::to_string(images.dims[0]) + " labels", std::to_string(labels.dims[0]));
    rows_ = images.dims[1];
    columns_ = images.dims[2];
    for (size_t i = 0; i < labels.bytes.size(); ++i)
      if (labels.bytes[i] >= classes)
        throw FormatError(labels_path,
                          "label out of range at item " + std::to_string(i) + " (byte offset " +
                              std::to_string(labels.file_offset(static_cast<int64_t>(i))) + ")",
                          "0 to " + std::to_string(classes - 1), std::to_string(labels.bytes[i]));
    labels_ = labels.bytes;
  } catch (...) {
    ::close(file_);
    throw;
  }
}

IdxDataset::~IdxDataset() {
  if (file_ >= 0) ::close(file_);
}

std::map<std::string, Shape> IdxDataset::example_shapes() const {
  return {{"Input", Shape{1, rows_, columns_}}, {"Target", scalar_example()}};
}

std::map<std::string, Array> IdxDataset::batch(const std::vector<int64_t>& indices) const {
  const int64_t n = static_cast<int64_t>(indices.size()), pixels = rows_ * columns_;
  std::array<float, 256> table{};
  for (size_t v = 0; v < 256; ++v) table[v] = static_cast<float>(v) / 255.0f;  // as read_labeled_images
  Array images = Array::zeros({n, 1, rows_, columns_}), targets = Array::zeros({n});
  std::vector<unsigned char> bytes(static_cast<size_t>(pixels));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t e = indices[static_cast<size_t>(i)];
    if (e < 0 || e >= size())
      throw TrainingError("IdxDataset " + in_quotes(images_path_), "example index out of range",
                          "an index from 0 to " + std::to_string(size() - 1),
                          std::to_string(e) + " at position " + std::to_string(i));
    const int64_t offset = data_offset_ + e * pixels;
    if (read_at(file_, bytes.data(), pixels, offset, images_path_) < pixels)
      throw FormatError(images_path_, "truncated since it was opened: image " + std::to_string(e) + " ends early",
                        std::to_string(pixels) + " bytes at byte offset " + std::to_string(offset), "fewer");
    float* dst = images.data() + i * pixels;
    for (int64_t p = 0; p < pixels; ++p) dst[p] = table[bytes[static_cast<size_t>(p)]];
    targets[i] = static_cast<float>(labels_[static_cast<size_t>(e)]);
  }
  return {{"Input", std::move(images)}, {"Target", std::move(targets)}};
}

}  // namespace netkit
