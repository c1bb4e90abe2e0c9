// IDX files: the MNIST family's binary array format, plain or gzip-compressed.
//
// Layout (all integers big-endian):
//   byte 0-1   0x00 0x00
//   byte 2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
//              0x0E float64
//   byte 3     rank r (number of dimensions, at least 1)
//   byte 4...  r dimensions, 4 bytes each
//   then       the elements, row-major, product(dims) * element size bytes, nothing after
// A file starting with the gzip magic bytes 0x1F 0x8B is decompressed through zlib first
// (concatenated gzip members count as one stream; the CRC-32 is checked; bytes after the last
// member are an error).
//
// Reading validates the header before it allocates the data: the dimensions' byte count must fit
// the limit and the file size (plain) or what the compressed size can possibly expand to (gzip);
// a truncated file and bytes after the data are errors too.
// Errors: OptionError when the path cannot be opened or is not a regular file, FormatError for
// bad content, both in the form "<file>: <problem>; expected <X>, got <Y>" with byte offsets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <netkit/core/array.h>

namespace netkit {

enum class IdxType : uint8_t {
  UInt8 = 0x08,
  Int8 = 0x09,
  Int16 = 0x0B,
  Int32 = 0x0C,
  Float32 = 0x0D,
  Float64 = 0x0E,
};

// "uint8 (0x08)", "float32 (0x0D)", ...
std::string idx_type_name(IdxType type);
// Bytes per element: 1, 1, 2, 4, 4, 8.
int64_t idx_type_size(IdxType type);

struct IdxReadOptions {
  // Largest data size accepted (bytes); a header asking for more is refused before allocating.
  int64_t max_data_bytes = int64_t{1} << 32;
};

// The contents of one IDX file. Elements are stored in host byte order.
struct IdxData {
  std::string path;
  IdxType type = IdxType::UInt8;
  std::vector<int64_t> dims;
  std::vector<unsigned char> bytes;  // size = element count * idx_type_size(type)
  bool compressed = false;           // the file was gzip-compressed

  int64_t count() const;  // number of elements (product of dims)
  // Byte offset of element i's first byte in the (decompressed) file, for messages.
  int64_t file_offset(int64_t element) const;
  // Element i converted to double (any type).
  double value(int64_t element) const;
};

IdxData read_idx(const std::string& path, const IdxReadOptions& options = {});

// All elements as float32 with the file's dimensions (values cast; float64 is rounded).
Array idx_to_array(const IdxData& data);

// Throws FormatError "<file>: wrong IDX element type; expected ..., got ..." unless it matches.
void require_idx_type(const IdxData& data, IdxType type);
// Throws FormatError naming the dimensions unless they match; kUnknownDim (-1) matches any.
void require_idx_dims(const IdxData& data, const std::vector<int64_t>& dims);

}  // namespace netkit
