#include <netkit/train/idx.h>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>

#include <netkit/core/error.h>

namespace netkit {

namespace {

// The best deflate can do is about 1032:1, so a gzip file of n bytes never holds more than this
// many times n decompressed bytes: the bound that stops a tiny corrupt file from asking for
// gigabytes.
constexpr int64_t kMaxDeflateRatio = 1032;
// zlib counts in unsigned int; feed and fill it in pieces well below that.
constexpr int64_t kChunk = int64_t{1} << 30;
// Trailing bytes are counted up to this many for the message.
constexpr int64_t kTrailingCountLimit = int64_t{1} << 20;

std::string hex_byte(unsigned char b) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02X", static_cast<unsigned>(b));
  return text;
}

std::string hex_bytes(const unsigned char* b, int64_t n) {
  std::string text;
  for (int64_t i = 0; i < n; ++i) text += (i ? " " : "") + hex_byte(b[i]);
  return text;
}

bool known_type(unsigned char code) {
  return code == 0x08 || code == 0x09 || code == 0x0B || code == 0x0C || code == 0x0D || code == 0x0E;
}

// One open data file, plain or gzip-compressed (detected by the gzip magic bytes 0x1F 0x8B).
// A gzip file is read whole (its size is known, so the allocation is bounded by the file) and
// inflated straight into the caller's buffer; concatenated gzip members are one stream, anything
// else after the last member is an error. read() returns fewer bytes than asked only at the end
// of the data (for gzip, also when the stream is cut off: see cut_off()); corrupt data throws.
class Source {
 public:
  explicit Source(const std::string& path) : path_(path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      const std::string reason = ec ? ec.message() : std::generic_category().message(ENOENT);
      throw OptionError(path, "cannot open the data file", "a readable file", reason);
    }
    if (fs::is_directory(status)) throw OptionError(path, "not a regular file", "an IDX file", "a directory");
    if (!fs::is_regular_file(status))
      throw OptionError(path, "not a regular file", "an IDX file", "a device, pipe or socket");
    file_size_ = static_cast<int64_t>(fs::file_size(path, ec));
    if (ec) throw OptionError(path, "cannot read the file size", "a readable file", ec.message());

    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) throw OptionError(path, "cannot open the data file", "a readable file", std::strerror(errno));
    unsigned char magic[2] = {0, 0};
    compressed_ = std::fread(magic, 1, 2, file_) == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
    std::rewind(file_);
    if (!compressed_) return;
    packed_.resize(static_cast<size_t>(file_size_));
    if (read_plain(packed_.data(), file_size_) != file_size_)
      throw FormatError(path_, "file shrank while being read", std::to_string(file_size_) + " bytes", "fewer");
    std::fclose(file_);
    file_ = nullptr;
    // 15 + 16: the largest window, gzip wrapper only.
    if (inflateInit2(&z_, 15 + 16) != Z_OK)
      throw FormatError(path_, "cannot start zlib", "zlib to initialise", "an error");
    z_open_ = true;
  }
  ~Source() {
    if (file_) std::fclose(file_);
    if (z_open_) inflateEnd(&z_);
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  bool compressed() const { return compressed_; }
  int64_t file_size() const { return file_size_; }
  // True when the gzip stream ended in the middle (a truncated file).
  bool cut_off() const { return cut_off_; }
  // Message text for a (decompressed) offset.
  std::string at(int64_t offset) const {
    return "byte offset " + std::to_string(offset) + (compressed_ ? " of the decompressed data" : "");
  }

  int64_t read(unsigned char* dst, int64_t n) {
    const int64_t done = compressed_ ? read_gzip(dst, n) : read_plain(dst, n);
    position_ += done;
    return done;
  }

 private:
  int64_t read_plain(unsigned char* dst, int64_t n) {
    int64_t done = 0;
    while (done < n) {
      const size_t want = static_cast<size_t>(std::min(n - done, kChunk));
      const size_t got = std::fread(dst + done, 1, want, file_);
      done += static_cast<int64_t>(got);
      if (got < want) {
        if (std::ferror(file_))
          throw FormatError(path_, "read error at byte offset " + std::to_string(position_ + done), "a readable file",
                            std::strerror(errno));
        break;
      }
    }
    return done;
  }

  // Compressed bytes consumed so far.
  int64_t consumed() const { return fed_ - static_cast<int64_t>(z_.avail_in); }

  // Gives zlib more input if it has none; false when the file is exhausted.
  bool feed() {
    if (z_.avail_in > 0) return true;
    if (fed_ == file_size_) return false;
    const int64_t n = std::min(file_size_ - fed_, kChunk);
    z_.next_in = packed_.data() + fed_;
    z_.avail_in = static_cast<uInt>(n);
    fed_ += n;
    return true;
  }

  int64_t read_gzip(unsigned char* dst, int64_t n) {
    int64_t done = 0;
    while (done < n && !finished_) {
      if (!feed()) {  // input exhausted before the stream's end
        cut_off_ = finished_ = true;
        break;
      }
      const int64_t want = std::min(n - done, kChunk);
      const uInt in_before = z_.avail_in;
      z_.next_out = dst + done;
      z_.avail_out = static_cast<uInt>(want);
      const int r = inflate(&z_, Z_NO_FLUSH);
      done += want - static_cast<int64_t>(z_.avail_out);
      if (r == Z_STREAM_END) {
        next_member();
      } else if (r == Z_BUF_ERROR && z_.avail_in == in_before && z_.avail_out == want) {
        cut_off_ = finished_ = true;  // no progress possible (not expected with input and room)
      } else if (r != Z_OK && r != Z_BUF_ERROR) {
        throw FormatError(path_,
                          "corrupt gzip data at compressed byte offset " + std::to_string(consumed()) + " (" +
                              at(position_ + done) + ")",
                          "a valid gzip stream",
                          "zlib error \"" + std::string(z_.msg ? z_.msg : "code " + std::to_string(r)) + "\"");
      }
    }
    return done;
  }

  // After a gzip member: the file ends, another member follows, or it is an error.
  void next_member() {
    if (!feed()) {
      finished_ = true;
      return;
    }
    const int64_t at_byte = consumed();
    const unsigned char* next = z_.next_in;
    const bool gzip_follows = file_size_ - at_byte >= 2 && next[0] == 0x1F && next[1] == 0x8B;
    if (!gzip_follows)
      throw FormatError(path_,
                        "trailing bytes after the gzip stream at compressed byte offset " + std::to_string(at_byte),
                        "the file to end at byte offset " + std::to_string(at_byte),
                        std::to_string(file_size_ - at_byte) + " more bytes");
    inflateReset(&z_);
  }

  std::string path_;
  std::FILE* file_ = nullptr;
  bool compressed_ = false;
  int64_t file_size_ = 0;
  int64_t position_ = 0;  // decompressed bytes returned so far
  // gzip only
  std::vector<unsigned char> packed_;
  z_stream z_{};
  bool z_open_ = false, finished_ = false, cut_off_ = false;
  int64_t fed_ = 0;  // compressed bytes handed to zlib
};

std::string cut_off_hint(const Source& source) {
  return source.cut_off() ? "The gzip stream is cut off (the file is incomplete)" : "";
}

uint32_t big_endian_u32(const unsigned char* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

// Reorders each element's bytes from big-endian (file) to host order, in place.
void to_host_order(std::vector<unsigned char>& bytes, int64_t element_size) {
  if (element_size == 1) return;
  const size_t step = static_cast<size_t>(element_size);
  for (size_t i = 0; i + step <= bytes.size(); i += step) {
    unsigned char* e = bytes.data() + i;
    if (step == 2) {
      const uint16_t v = static_cast<uint16_t>((e[0] << 8) | e[1]);
      std::memcpy(e, &v, 2);
    } else if (step == 4) {
      const uint32_t v = big_endian_u32(e);
      std::memcpy(e, &v, 4);
    } else {
      const uint64_t v = (uint64_t{big_endian_u32(e)} << 32) | big_endian_u32(e + 4);
      std::memcpy(e, &v, 8);
    }
  }
}

}  // namespace

std::string idx_type_name(IdxType type) {
  switch (type) {
    case IdxType::UInt8:
      return "uint8 (0x08)";
    case IdxType::Int8:
      return "int8 (0x09)";
    case IdxType::Int16:
      return "int16 (0x0B)";
    case IdxType::Int32:
      return "int32 (0x0C)";
    case IdxType::Float32:
      return "float32 (0x0D)";
    case IdxType::Float64:
      return "float64 (0x0E)";
  }
  return "type " + hex_byte(static_cast<unsigned char>(type));
}

int64_t idx_type_size(IdxType type) {
  switch (type) {
    case IdxType::UInt8:
    case IdxType::Int8:
      return 1;
    case IdxType::Int16:
      return 2;
    case IdxType::Int32:
    case IdxType::Float32:
      return 4;
    case IdxType::Float64:
      return 8;
  }
  return 1;
}

int64_t IdxData::count() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

int64_t IdxData::file_offset(int64_t element) const {
  return 4 + 4 * static_cast<int64_t>(dims.size()) + element * idx_type_size(type);
}

double IdxData::value(int64_t element) const {
  const unsigned char* e = bytes.data() + element * idx_type_size(type);
  switch (type) {
    case IdxType::UInt8:
      return *e;
    case IdxType::Int8:
      return static_cast<signed char>(*e);
    case IdxType::Int16: {
      int16_t v;
      std::memcpy(&v, e, 2);
      return v;
    }
    case IdxType::Int32: {
      int32_t v;
      std::memcpy(&v, e, 4);
      return v;
    }
    case IdxType::Float32: {
      float v;
      std::memcpy(&v, e, 4);
      return v;
    }
    case IdxType::Float64: {
      double v;
      std::memcpy(&v, e, 8);
      return v;
    }
  }
  return 0;
}

IdxData read_idx(const std::string& path, const IdxReadOptions& options) {
  Source source(path);
  IdxData out;
  out.path = path;
  out.compressed = source.compressed();

  // Fixed part of the header: 0x00 0x00 type rank.
  unsigned char head[4] = {0, 0, 0, 0};
  const int64_t head_got = source.read(head, 4);
  if (head_got < 4)
    throw FormatError(path, "file ends inside the IDX header at " + source.at(head_got), "at least 4 header bytes",
                      std::to_string(head_got), cut_off_hint(source));
  if (head[0] != 0 || head[1] != 0)
    throw FormatError(path, "not an IDX file: bad magic number at byte offset 0",
                      "0x00 0x00 then a type code and a rank", hex_bytes(head, 4));
  if (!known_type(head[2]))
    throw FormatError(path, "unknown IDX element type code at byte offset 2", "0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E",
                      hex_byte(head[2]));
  if (head[3] == 0) throw FormatError(path, "IDX rank at byte offset 3 is zero", "at least 1 dimension", "0");
  out.type = static_cast<IdxType>(head[2]);
  const int64_t rank = head[3];
  const int64_t header_bytes = 4 + 4 * rank;

  // Dimensions.
  std::vector<unsigned char> dim_bytes(static_cast<size_t>(4 * rank));
  const int64_t dims_got = source.read(dim_bytes.data(), 4 * rank);
  if (dims_got < 4 * rank)
    throw FormatError(path, "file ends inside the IDX header at " + source.at(4 + dims_got),
                      std::to_string(header_bytes) + " header bytes for rank " + std::to_string(rank),
                      std::to_string(4 + dims_got), cut_off_hint(source));
  const int64_t element_size = idx_type_size(out.type);
  int64_t data_bytes = element_size;
  bool overflow = false;
  for (int64_t i = 0; i < rank; ++i) {
    const int64_t d = big_endian_u32(dim_bytes.data() + 4 * i);
    out.dims.push_back(d);
    if (d != 0 && data_bytes > std::numeric_limits<int64_t>::max() / d) overflow = true;
    if (!overflow) data_bytes *= d;
  }
  const std::string dims_text = dims_to_string(out.dims);
  if (overflow || data_bytes > options.max_data_bytes)
    throw FormatError(path, "IDX dimensions " + dims_text + " are too large",
                      "at most " + std::to_string(options.max_data_bytes) + " data bytes",
                      overflow ? "more than 2^63 bytes" : std::to_string(data_bytes) + " bytes");
  const int64_t total = header_bytes + data_bytes;
  const std::string data_of = "the " + idx_type_name(out.type) + " data of dimensions " + dims_text;

  // Check the size before allocating.
  if (!source.compressed() && source.file_size() < total)
    throw FormatError(
        path, "truncated: file ends at byte offset " + std::to_string(source.file_size()) + " inside " + data_of,
        std::to_string(total) + " bytes", std::to_string(source.file_size()));
  if (!source.compressed() && source.file_size() > total)
    throw FormatError(path, "trailing bytes after " + data_of + " at byte offset " + std::to_string(total),
                      "the data to end at byte offset " + std::to_string(total),
                      std::to_string(source.file_size() - total) + " more bytes");
  if (source.compressed() && total > kMaxDeflateRatio * source.file_size())
    throw FormatError(path, "IDX dimensions " + dims_text + " ask for more data than this gzip file can hold",
                      "at most " + std::to_string(kMaxDeflateRatio * source.file_size()) + " decompressed bytes from " +
                          std::to_string(source.file_size()) + " compressed bytes",
                      std::to_string(total) + " bytes");

  out.bytes.resize(static_cast<size_t>(data_bytes));
  const int64_t got = source.read(out.bytes.data(), data_bytes);
  if (got < data_bytes)
    throw FormatError(path, "truncated: data ends at " + source.at(header_bytes + got) + " inside " + data_of,
                      std::to_string(total) + " bytes", std::to_string(header_bytes + got), cut_off_hint(source));
  // Nothing may follow the data (for gzip this also makes zlib check the stream's CRC).
  unsigned char scratch[4096];
  int64_t trailing = 0;
  for (int64_t n; trailing < kTrailingCountLimit && (n = source.read(scratch, sizeof scratch)) > 0;) trailing += n;
  if (trailing > 0)
    throw FormatError(path, "trailing bytes after " + data_of + " at " + source.at(total),
                      "the data to end at byte offset " + std::to_string(total),
                      (trailing >= kTrailingCountLimit ? "at least " : "") + std::to_string(trailing) + " more bytes");
  if (source.cut_off())
    throw FormatError(path, "truncated: the gzip stream is cut off after " + data_of,
                      "the gzip trailer (CRC-32 and length)", "the end of the file");
  to_host_order(out.bytes, element_size);
  return out;
}

Array idx_to_array(const IdxData& data) {
  Array a = Array::zeros(data.dims);
  float* out = a.data();
  const int64_t n = data.count();
  if (data.type == IdxType::UInt8) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(data.bytes[static_cast<size_t>(i)]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(data.value(i));
  }
  return a;
}

void require_idx_type(const IdxData& data, IdxType type) {
  if (data.type != type)
    throw FormatError(data.path, "wrong IDX element type", idx_type_name(type), idx_type_name(data.type));
}

void require_idx_dims(const IdxData& data, const std::vector<int64_t>& dims) {
  bool ok = data.dims.size() == dims.size();
  for (size_t i = 0; ok && i < dims.size(); ++i) ok = dims[i] == kUnknownDim || dims[i] == data.dims[i];
  if (!ok) throw FormatError(data.path, "wrong IDX dimensions", Shape(dims).to_string(), dims_to_string(data.dims));
}

}  // namespace netkit
