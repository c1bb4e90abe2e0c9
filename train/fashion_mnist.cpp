#include <netkit/train/fashion_mnist.h>

#include <array>
#include <cmath>
#include <exception>
#include <filesystem>
#include <system_error>

#include <netkit/core/error.h>
#include <netkit/core/parallel.h>
#include <netkit/train/idx.h>

namespace netkit {

namespace {

constexpr int64_t kSide = 28;
constexpr int64_t kPixels = kSide * kSide;
constexpr int kClasses = 10;

using ByteTable = std::array<float, 256>;

// Images and labels as read from disk, checked against each other.
struct RawSplit {
  IdxData images, labels;
};

RawSplit read_raw_split(const std::string& images_path, const std::string& labels_path) {
  RawSplit raw{read_idx(images_path), read_idx(labels_path)};
  require_idx_type(raw.images, IdxType::UInt8);
  require_idx_dims(raw.images, {kUnknownDim, kSide, kSide});
  require_idx_type(raw.labels, IdxType::UInt8);
  require_idx_dims(raw.labels, {kUnknownDim});
  const int64_t n = raw.images.dims[0];
  if (raw.labels.dims[0] != n)
    throw FormatError(labels_path, "label count does not match the images in " + images_path,
                      std::to_string(n) + " labels", std::to_string(raw.labels.dims[0]));
  for (int64_t i = 0; i < n; ++i) {
    const unsigned label = raw.labels.bytes[static_cast<size_t>(i)];
    if (label >= static_cast<unsigned>(kClasses))
      throw FormatError(labels_path,
                        "label out of range at item " + std::to_string(i) + " (byte offset " +
                            std::to_string(raw.labels.file_offset(i)) + ")",
                        "0 to " + std::to_string(kClasses - 1), std::to_string(label));
  }
  return raw;
}

// Counts of each byte value; four interleaved tables keep consecutive increments independent.
std::array<int64_t, 256> byte_histogram(const std::vector<unsigned char>& bytes) {
  std::array<std::array<int64_t, 256>, 4> partial{};
  const size_t n = bytes.size(), n4 = n - n % 4;
  for (size_t i = 0; i < n4; i += 4) {
    ++partial[0][bytes[i]];
    ++partial[1][bytes[i + 1]];
    ++partial[2][bytes[i + 2]];
    ++partial[3][bytes[i + 3]];
  }
  for (size_t i = n4; i < n; ++i) ++partial[0][bytes[i]];
  std::array<int64_t, 256> total{};
  for (const auto& p : partial)
    for (size_t v = 0; v < 256; ++v) total[v] += p[v];
  return total;
}

// pixel -> pixel / 255 in float32, as torchvision's ToTensor.
ByteTable unit_scale_table() {
  ByteTable t{};
  for (int v = 0; v < 256; ++v) t[static_cast<size_t>(v)] = static_cast<float>(v) / 255.0f;
  return t;
}

// Every pixel goes through the 256-entry table; one image per parallel step.
LabeledImages convert(const RawSplit& raw, const ByteTable& table) {
  const int64_t n = raw.images.dims[0];
  LabeledImages out;
  out.images = Array::zeros({n, 1, kSide, kSide});
  float* dst = out.images.data();
  const unsigned char* src = raw.images.bytes.data();
  parallel_for(n, [&](int64_t i) {
    const unsigned char* s = src + i * kPixels;
    float* d = dst + i * kPixels;
    for (int64_t p = 0; p < kPixels; ++p) d[p] = table[s[p]];
  });
  out.labels.assign(raw.labels.bytes.begin(), raw.labels.bytes.end());
  return out;
}

}  // namespace

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

std::string find_idx_file(const std::string& directory, const std::string& name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir(directory);
  const bool is_default = fs::path(kFashionMnistDefaultDir).lexically_normal() == dir.lexically_normal();
  const std::string hint = is_default ? "Install the data set with: sudo apt-get install dataset-fashion-mnist" : "";
  if (!fs::is_directory(dir, ec))
    throw OptionError(directory, "data directory not found", "a directory with the Fashion-MNIST IDX files",
                      fs::exists(dir, ec) ? "a file that is not a directory" : "no such directory", hint);
  for (const std::string& candidate : {name, name + ".gz"}) {
    const fs::path path = dir / candidate;
    if (fs::exists(path, ec)) return path.string();
  }
  throw OptionError(directory, "Fashion-MNIST file missing", name + " or " + name + ".gz", "neither", hint);
}

LabeledImages read_labeled_images(const std::string& images_path, const std::string& labels_path) {
  return convert(read_raw_split(images_path, labels_path), unit_scale_table());
}

FashionMnist load_fashion_mnist(const FashionMnistOptions& options) {
  FashionMnist out;
  for (const char* name :
       {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    out.files.push_back(find_idx_file(options.directory, name));
  // Both splits at once (decompression is single-threaded); the training split's error first.
  RawSplit splits[2];
  std::exception_ptr errors[2];
  parallel_for(2, [&](int64_t s) {
    try {
      splits[s] = read_raw_split(out.files[static_cast<size_t>(2 * s)], out.files[static_cast<size_t>(2 * s + 1)]);
    } catch (...) {
      errors[s] = std::current_exception();
    }
  });
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  const RawSplit& train = splits[0];
  const RawSplit& test = splits[1];

  // Training pixel statistics from the byte histogram: exact sums in double, and fast.
  ByteTable table = unit_scale_table();
  const std::array<int64_t, 256> histogram = byte_histogram(train.images.bytes);
  const double count = static_cast<double>(train.images.bytes.size());
  double sum = 0, squares = 0;
  for (size_t v = 0; v < 256; ++v) sum += static_cast<double>(histogram[v]) * table[v];
  out.pixel_mean = count > 0 ? sum / count : 0.0;
  for (size_t v = 0; v < 256; ++v) {
    const double d = table[v] - out.pixel_mean;
    squares += static_cast<double>(histogram[v]) * d * d;
  }
  out.pixel_std = count > 0 ? std::sqrt(squares / count) : 0.0;

  if (options.standardize) {
    if (!(out.pixel_std > 0))
      throw OptionError(out.files[0], "cannot standardise: the training pixels are all equal",
                        "a positive standard deviation", number_text(out.pixel_std));
    // (x - mean) / std in float32, as torchvision's Normalize.
    const float mean = static_cast<float>(out.pixel_mean), std = static_cast<float>(out.pixel_std);
    for (float& x : table) x = (x - mean) / std;
    out.standardized = true;
  }
  out.train = convert(train, table);
  out.test = convert(test, table);
  out.class_names = fashion_mnist_class_names();
  return out;
}

}  // namespace netkit
