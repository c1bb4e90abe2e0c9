// IDX reader (train/idx.h) and the Fashion-MNIST loader (train/fashion_mnist.h): the committed
// sample (data/samples/, written by tools/reference/make_idx_sample.py) against the numbers the
// script computed independently, every element type, and every corrupt file with its message.
// The full Debian data set is only used by the hidden "[.fashion]" test.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/train/fashion_mnist.h>
#include <netkit/train/idx.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/support/idx_files.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::Equals;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

const std::string kSample = "data/samples/fashion-mnist";

std::string le32(uint32_t v) { return bytes({int(v & 255), int((v >> 8) & 255), int((v >> 16) & 255), int(v >> 24)}); }

uint32_t crc32(const std::string& data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// A gzip file holding `data` in stored (uncompressed) deflate blocks: written without zlib, so
// byte offsets inside it are predictable.
std::string gzip_stored(const std::string& data) {
  std::string s = bytes({0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF});
  size_t at = 0;
  do {
    const size_t n = std::min<size_t>(65535, data.size() - at);
    const bool last = at + n == data.size();
    s += bytes({last ? 1 : 0, int(n & 255), int(n >> 8), int(~n & 255), int((~n >> 8) & 255)});
    s += data.substr(at, n);
    at += n;
  } while (at < data.size());
  return s + le32(crc32(data)) + le32(static_cast<uint32_t>(data.size()));
}

std::vector<int64_t> ints(const nlohmann::json& list) { return list.get<std::vector<int64_t>>(); }

// Reads `content` written to a file and returns the error message (empty if it read fine).
std::string message_for(const TempDir& dir, const std::string& content, const IdxReadOptions& options = {}) {
  test::write_text(dir.file("f.idx"), content);
  try {
    read_idx(dir.file("f.idx"), options);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

// The four standard files of a split pair, written uncompressed into `dir`.
void write_split(const TempDir& dir, const std::string& prefix, const std::string& images, const std::string& labels) {
  test::write_text(dir.file(prefix + "-images-idx3-ubyte"), images);
  test::write_text(dir.file(prefix + "-labels-idx1-ubyte"), labels);
}

}  // namespace

TEST_CASE("IDX: the committed sample matches the generator's independent numbers", "[idx]") {
  const nlohmann::json summary = test::read_json(test::source_path(kSample + "/sample.json"));
  for (const std::string split : {"train", "t10k"}) {
    const IdxData images = read_idx(test::source_path(kSample + "/" + split + "-images-idx3-ubyte.gz"));
    const IdxData labels = read_idx(test::source_path(kSample + "/" + split + "-labels-idx1-ubyte.gz"));
    const int64_t n = summary[split]["count"].get<int64_t>();
    CHECK(images.compressed);
    CHECK(images.type == IdxType::UInt8);
    CHECK(images.dims == std::vector<int64_t>{n, 28, 28});
    CHECK(labels.dims == std::vector<int64_t>{n});
    std::vector<int64_t> sums(static_cast<size_t>(n), 0), label_values;
    for (int64_t i = 0; i < images.count(); ++i)
      sums[static_cast<size_t>(i / 784)] += images.bytes[static_cast<size_t>(i)];
    for (unsigned char b : labels.bytes) label_values.push_back(b);
    CHECK(sums == ints(summary[split]["pixel_sums"]));
    CHECK(label_values == ints(summary[split]["labels"]));
    const std::vector<int64_t> row(images.bytes.begin() + 14 * 28, images.bytes.begin() + 15 * 28);
    CHECK(row == ints(summary[split]["first_image_row_14"]));
  }
  // The uncompressed copy reads the same through the plain path.
  const IdxData plain = read_idx(test::source_path("data/samples/idx/t10k-labels-64-idx1-ubyte"));
  const IdxData gz = read_idx(test::source_path(kSample + "/t10k-labels-idx1-ubyte.gz"));
  CHECK_FALSE(plain.compressed);
  CHECK(plain.bytes == gz.bytes);
  CHECK(plain.dims == gz.dims);
  CHECK(plain.file_offset(3) == 11);
}

TEST_CASE("IDX: every element type reads big-endian values, plain and gzip", "[idx]") {
  TempDir dir;
  struct Case {
    IdxType type;
    std::string data;
    std::vector<double> values;
  };
  const std::vector<Case> cases{
      {IdxType::UInt8, bytes({0, 255}), {0, 255}},
      {IdxType::Int8, bytes({0x7F, 0xFF}), {127, -1}},
      {IdxType::Int16, bytes({0x01, 0x02, 0xFF, 0xFE}), {258, -2}},
      {IdxType::Int32, bytes({0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFD}), {65536, -3}},
      {IdxType::Float32, bytes({0x3F, 0xC0, 0, 0, 0xC1, 0x20, 0, 0}), {1.5, -10}},
      {IdxType::Float64, bytes({0xC0, 0x04, 0, 0, 0, 0, 0, 0, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0}), {-2.5, 1}},
  };
  for (const Case& c : cases) {
    for (bool compressed : {false, true}) {
      CAPTURE(idx_type_name(c.type), compressed);
      const std::string file = idx_file(static_cast<int>(c.type), {2, 1}, c.data);
      test::write_text(dir.file("t"), compressed ? gzip_stored(file) : file);
      const IdxData d = read_idx(dir.file("t"));
      CHECK(d.compressed == compressed);
      CHECK(d.type == c.type);
      CHECK(d.dims == std::vector<int64_t>{2, 1});
      CHECK(d.value(0) == c.values[0]);
      CHECK(d.value(1) == c.values[1]);
      const Array a = idx_to_array(d);
      CHECK(a.dims() == std::vector<int64_t>{2, 1});
      CHECK(a[0] == static_cast<float>(c.values[0]));
      CHECK(a[1] == static_cast<float>(c.values[1]));
    }
  }
  // Zero items is a valid (empty) file.
  test::write_text(dir.file("e"), idx_file(8, {0, 28, 28}, ""));
  CHECK(read_idx(dir.file("e")).count() == 0);
}

TEST_CASE("IDX: corrupt plain files name the file, the offset, expected and got", "[idx]") {
  TempDir dir;
  const std::string f = dir.file("f.idx");
  CHECK(message_for(dir, "") ==
        f + ": file ends inside the IDX header at byte offset 0; expected at least 4 header bytes, got 0");
  CHECK(message_for(dir, "PK" + bytes({3, 4, 0})) ==
        f + ": not an IDX file: bad magic number at byte offset 0; expected 0x00 0x00 then a type code and a rank, got "
            "0x50 0x4B 0x03 0x04");
  CHECK(
      message_for(dir, bytes({0, 0, 7, 1, 0, 0, 0, 0})) ==
      f + ": unknown IDX element type code at byte offset 2; expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E, got 0x07");
  CHECK(message_for(dir, bytes({0, 0, 8, 0})) ==
        f + ": IDX rank at byte offset 3 is zero; expected at least 1 dimension, got 0");
  CHECK(message_for(dir, bytes({0, 0, 8, 3, 0, 0, 0, 2, 0})) ==
        f + ": file ends inside the IDX header at byte offset 9; expected 16 header bytes for rank 3, got 9");
  CHECK(message_for(dir, idx_file(8, {2, 3}, "abcde")) ==
        f + ": truncated: file ends at byte offset 17 inside the uint8 (0x08) data of dimensions [2, 3]; expected 18 "
            "bytes, got 17");
  CHECK(message_for(dir, idx_file(0x0B, {3}, "abcde")) ==
        f + ": truncated: file ends at byte offset 13 inside the int16 (0x0B) data of dimensions [3]; expected 14 "
            "bytes, got 13");
  CHECK(message_for(dir, idx_file(8, {2, 3}, "abcdef???")) ==
        f + ": trailing bytes after the uint8 (0x08) data of dimensions [2, 3] at byte offset 18; expected the data to "
            "end at byte offset 18, got 3 more bytes");
  // Huge dimensions in a tiny file are refused before anything is allocated.
  CHECK(message_for(dir, idx_file(8, {60000, 60000, 60000}, "x")) ==
        f + ": IDX dimensions [60000, 60000, 60000] are too large; expected at most 4294967296 data bytes, got "
            "216000000000000 bytes");
  CHECK(message_for(dir, idx_file(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, "x")) ==
        f + ": IDX dimensions [4294967295, 4294967295, 4294967295] are too large; expected at most 4294967296 data "
            "bytes, got more than 2^63 bytes");
  CHECK(message_for(dir, idx_file(8, {1000, 1000, 100}, "x")) ==
        f + ": truncated: file ends at byte offset 17 inside the uint8 (0x08) data of dimensions [1000, 1000, 100]; "
            "expected 100000016 bytes, got 17");
  // 255 dimensions are echoed as their first eight and the count, not in full.
  CHECK(message_for(dir, idx_file(8, std::vector<uint32_t>(255, 2), "x")) ==
        f + ": IDX dimensions [2, 2, 2, 2, 2, 2, 2, 2, ... (255 dimensions)] are too large; expected at most "
            "4294967296 data bytes, got more than 2^63 bytes");
  IdxReadOptions small;
  small.max_data_bytes = 5;
  CHECK(message_for(dir, idx_file(8, {2, 3}, "abcdef"), small) ==
        f + ": IDX dimensions [2, 3] are too large; expected at most 5 data bytes, got 6 bytes");
}

TEST_CASE("IDX: corrupt gzip files are refused with zlib's reason", "[idx]") {
  TempDir dir;
  const std::string f = dir.file("f.idx");
  const std::string good = idx_file(8, {2, 3}, "abcdef");
  CHECK(message_for(dir, gzip_stored(good)).empty());
  CHECK(message_for(dir, gzip_stored(good + "xyz")) ==
        f + ": trailing bytes after the uint8 (0x08) data of dimensions [2, 3] at byte offset 18 of the decompressed "
            "data; "
            "expected the data to end at byte offset 18, got 3 more bytes");
  // The gzip file is 40 bytes long: it cannot hold 100 MB.
  CHECK(message_for(dir, gzip_stored(idx_file(8, {1000, 1000, 100}, "x"))) ==
        f + ": IDX dimensions [1000, 1000, 100] ask for more data than this gzip file can hold; "
            "expected at most 41280 decompressed bytes from 40 compressed bytes, got 100000016 bytes");
  // Cut inside the stored data: 12 header bytes and 3 data bytes come out.
  const std::string gz = gzip_stored(good);
  const std::string cut = ". The gzip stream is cut off (the file is incomplete)";
  CHECK(message_for(dir, gz.substr(0, 10 + 5 + 15)) ==
        f +
            ": truncated: data ends at byte offset 15 of the decompressed data inside the uint8 (0x08) data of "
            "dimensions [2, 3]; "
            "expected 18 bytes, got 15" +
            cut);
  CHECK(message_for(dir, gz.substr(0, 10 + 5 + 2)) == f +
                                                          ": file ends inside the IDX header at byte offset 2 of the "
                                                          "decompressed data; expected at least 4 header bytes, got 2" +
                                                          cut);
  CHECK(message_for(dir, gz.substr(0, 2)) == f +
                                                 ": file ends inside the IDX header at byte offset 0 of the "
                                                 "decompressed data; expected at least 4 header bytes, got 0" +
                                                 cut);
  CHECK(message_for(dir, gz.substr(0, gz.size() - 8)) ==
        f + ": truncated: the gzip stream is cut off after the uint8 (0x08) data of dimensions [2, 3]; "
            "expected the gzip trailer (CRC-32 and length), got the end of the file");
  // A changed data byte breaks the CRC-32 in the trailer.
  std::string flipped = gz;
  flipped[10 + 5 + 13] = 'X';
  CHECK(message_for(dir, flipped) ==
        f + ": corrupt gzip data at compressed byte offset 37 (byte offset 18 of the decompressed data); "
            "expected a valid gzip stream, got zlib error \"incorrect data check\"");
  // A broken deflate block type in a real compressed sample.
  std::string sample = test::read_text(test::source_path(kSample + "/t10k-labels-idx1-ubyte.gz"));
  sample[10] = static_cast<char>(0x07);  // BFINAL 1, BTYPE 11 (reserved)
  CHECK(message_for(dir, sample) ==
        f + ": corrupt gzip data at compressed byte offset 11 (byte offset 0 of the decompressed data); "
            "expected a valid gzip stream, got zlib error \"invalid block type\"");
  // Concatenated gzip members are one stream; anything else after the stream is refused.
  CHECK(message_for(dir, gzip_stored(good.substr(0, 7)) + gzip_stored(good.substr(7))).empty());
  CHECK(message_for(dir, gz + "junk") == f + ": trailing bytes after the gzip stream at compressed byte offset 41; "
                                             "expected the file to end at byte offset 41, got 4 more bytes");
}

TEST_CASE("IDX: paths that are not readable files are option errors", "[idx]") {
  TempDir dir;
  CHECK_THROWS_AS(read_idx(dir.file("missing")), OptionError);
  CHECK_THROWS_WITH(read_idx(dir.file("missing")),
                    Equals(dir.file("missing") +
                           ": cannot open the data file; expected a readable file, got No such file or directory"));
  CHECK_THROWS_WITH(read_idx(dir.path),
                    Equals(dir.path + ": not a regular file; expected an IDX file, got a directory"));
  test::write_text(dir.file("f"), idx_file(0x0D, {2, 28, 28}, std::string(2 * 784 * 4, '\0')));
  test::write_text(dir.file("l"), idx_file(8, {2}, bytes({1, 2})));
  CHECK_THROWS_AS(read_labeled_images(dir.file("f"), dir.file("l")), FormatError);
  CHECK_THROWS_WITH(read_labeled_images(dir.file("f"), dir.file("l")),
                    Equals(dir.file("f") + ": wrong IDX element type; expected uint8 (0x08), got float32 (0x0D)"));
}

TEST_CASE("Fashion-MNIST: the sample loads as [N, 1, 28, 28] in [0, 1] with class names", "[idx]") {
  FashionMnistOptions options;
  options.directory = test::source_path(kSample);
  const FashionMnist data = load_fashion_mnist(options);
  const nlohmann::json summary = test::read_json(test::source_path(kSample + "/sample.json"));
  CHECK(data.train.images.dims() == std::vector<int64_t>{128, 1, 28, 28});
  CHECK(data.test.images.dims() == std::vector<int64_t>{64, 1, 28, 28});
  CHECK(data.train.size() == 128);
  CHECK(std::vector<int64_t>(data.test.labels.begin(), data.test.labels.end()) == ints(summary["t10k"]["labels"]));
  CHECK(data.class_names == std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                                                     "Shirt", "Sneaker", "Bag", "Ankle boot"});
  CHECK_FALSE(data.standardized);
  CHECK_THAT(data.files[3], EndsWith("t10k-labels-idx1-ubyte.gz"));
  // Each pixel is exactly byte / 255 in float32; sums agree with the generator's.
  const IdxData raw = read_idx(test::source_path(kSample + "/t10k-images-idx3-ubyte.gz"));
  for (int64_t i = 0; i < raw.count(); ++i) {
    if (data.test.images[i] != static_cast<float>(raw.bytes[static_cast<size_t>(i)]) / 255.0f) FAIL("pixel " << i);
  }
  double total = 0, float_total = 0;
  for (int64_t s : ints(summary["train"]["pixel_sums"])) total += static_cast<double>(s);
  for (int64_t i = 0; i < data.train.images.size(); ++i) float_total += data.train.images[i];
  const double n_train = 128.0 * 784.0;
  CHECK(data.pixel_mean == Approx(float_total / n_train).epsilon(1e-12));  // mean of the float32 pixels
  CHECK(data.pixel_mean == Approx(total / 255.0 / n_train).epsilon(1e-7));

  // Standardised: the training pixels get mean 0 and standard deviation 1; the test split uses
  // the same (training) transform.
  options.standardize = true;
  const FashionMnist z = load_fashion_mnist(options);
  CHECK(z.standardized);
  double sum = 0, squares = 0;
  for (int64_t i = 0; i < z.train.images.size(); ++i) {
    sum += z.train.images[i];
    squares += double(z.train.images[i]) * z.train.images[i];
  }
  const double n = static_cast<double>(z.train.images.size());
  CHECK(sum / n == Approx(0).margin(1e-6));
  CHECK(squares / n == Approx(1).epsilon(1e-5));
  const float mean = static_cast<float>(data.pixel_mean), stddev = static_cast<float>(data.pixel_std);
  for (int64_t i = 0; i < z.test.images.size(); ++i) {
    if (z.test.images[i] != (data.test.images[i] - mean) / stddev) FAIL("standardised test pixel " << i);
  }
}

TEST_CASE("Fashion-MNIST: plain files are found first and read the same", "[idx]") {
  TempDir dir;
  for (const std::string split : {"train", "t10k"}) {
    for (const std::string kind : {"-images-idx3-ubyte", "-labels-idx1-ubyte"}) {
      const IdxData d = read_idx(test::source_path(kSample + "/" + split + kind + ".gz"));
      std::vector<uint32_t> dims(d.dims.begin(), d.dims.end());
      test::write_text(dir.file(split + kind), idx_file(8, dims, std::string(d.bytes.begin(), d.bytes.end())));
    }
  }
  FashionMnistOptions options;
  options.directory = dir.path;
  const FashionMnist plain = load_fashion_mnist(options);
  options.directory = test::source_path(kSample);
  const FashionMnist gz = load_fashion_mnist(options);
  CHECK(plain.files[0] == dir.file("train-images-idx3-ubyte"));
  CHECK(plain.train.images.bit_equal(gz.train.images));
  CHECK(plain.test.images.bit_equal(gz.test.images));
  CHECK(plain.train.labels == gz.train.labels);
}

TEST_CASE("Fashion-MNIST: missing files, counts, dimensions and labels are checked", "[idx]") {
  TempDir dir;
  const std::string images = idx_file(8, {3, 28, 28}, std::string(3 * 784, '\0'));
  write_split(dir, "train", images, idx_file(8, {3}, bytes({0, 1, 9})));
  FashionMnistOptions options;
  options.directory = dir.path;
  CHECK_THROWS_AS(load_fashion_mnist(options), OptionError);
  CHECK_THROWS_WITH(
      load_fashion_mnist(options),
      Equals(
          dir.path +
          ": Fashion-MNIST file missing; expected t10k-images-idx3-ubyte or t10k-images-idx3-ubyte.gz, got neither"));
  options.directory = dir.file("nowhere");
  CHECK_THROWS_WITH(load_fashion_mnist(options),
                    Equals(dir.file("nowhere") + ": data directory not found; expected a directory "
                                                 "with the Fashion-MNIST IDX files, got no such directory"));
  CHECK_THROWS_WITH(find_idx_file(kFashionMnistDefaultDir, "no-such-file"),
                    StartsWith(std::string(kFashionMnistDefaultDir) + ": ") &&
                        EndsWith(". Install the data set with: sudo apt-get install dataset-fashion-mnist"));

  options.directory = dir.path;
  write_split(dir, "t10k", images, idx_file(8, {2}, bytes({0, 1})));
  CHECK_THROWS_WITH(load_fashion_mnist(options),
                    Equals(dir.file("t10k-labels-idx1-ubyte") + ": label count does not match the images in " +
                           dir.file("t10k-images-idx3-ubyte") + "; expected 3 labels, got 2"));
  write_split(dir, "t10k", images, idx_file(8, {3}, bytes({0, 10, 1})));
  CHECK_THROWS_WITH(load_fashion_mnist(options),
                    Equals(dir.file("t10k-labels-idx1-ubyte") +
                           ": label out of range at item 1 (byte offset 9); expected 0 to 9, got 10"));
  write_split(dir, "t10k", idx_file(8, {1, 32, 32}, std::string(1024, '\0')), idx_file(8, {1}, bytes({0})));
  CHECK_THROWS_WITH(
      load_fashion_mnist(options),
      Equals(dir.file("t10k-images-idx3-ubyte") + ": wrong IDX dimensions; expected [?, 28, 28], got [1, 32, 32]"));
  write_split(dir, "t10k", images, idx_file(8, {3, 1}, bytes({0, 1, 2})));
  CHECK_THROWS_WITH(load_fashion_mnist(options),
                    Equals(dir.file("t10k-labels-idx1-ubyte") + ": wrong IDX dimensions; expected [?], got [3, 1]"));

  // All-black training images load, but cannot be standardised.
  write_split(dir, "t10k", images, idx_file(8, {3}, bytes({0, 1, 2})));
  CHECK(load_fashion_mnist(options).pixel_std == 0);
  options.standardize = true;
  CHECK_THROWS_WITH(load_fashion_mnist(options),
                    Equals(dir.file("train-images-idx3-ubyte") +
                           ": cannot standardise: the training pixels are all equal; expected a "
                           "positive standard deviation, got 0"));
}

// Hidden: needs Debian's dataset-fashion-mnist. Run with: netkit_tests "[fashion]"
TEST_CASE("Fashion-MNIST: the full Debian data set", "[.fashion]") {
  const FashionMnist data = load_fashion_mnist();
  REQUIRE(data.train.images.dims() == std::vector<int64_t>{60000, 1, 28, 28});
  REQUIRE(data.test.images.dims() == std::vector<int64_t>{10000, 1, 28, 28});
  std::vector<int64_t> train_counts(10, 0), test_counts(10, 0);
  for (int32_t label : data.train.labels) ++train_counts[static_cast<size_t>(label)];
  for (int32_t label : data.test.labels) ++test_counts[static_cast<size_t>(label)];
  CHECK(train_counts == std::vector<int64_t>(10, 6000));
  CHECK(test_counts == std::vector<int64_t>(10, 1000));
  CHECK(data.pixel_mean == Approx(0.2860).margin(1e-4));
  CHECK(data.pixel_std == Approx(0.3530).margin(1e-4));
  // The committed sample is the first images of each split.
  FashionMnistOptions options;
  options.directory = test::source_path(kSample);
  const FashionMnist sample = load_fashion_mnist(options);
  for (int64_t i = 0; i < sample.test.images.size(); ++i) {
    if (sample.test.images[i] != data.test.images[i]) FAIL("test pixel " << i);
  }
  CHECK(std::equal(sample.train.labels.begin(), sample.train.labels.end(), data.train.labels.begin()));
}
