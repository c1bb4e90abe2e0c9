// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017): 70000 grey 28 x 28 images of clothing in ten
// classes, 60000 for training and 10000 for testing, stored as four IDX files (train/idx.h):
//   train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte
// each optionally gzip-compressed (".gz"; Debian's dataset-fashion-mnist package ships those in
// /usr/share/datasets/fashion-mnist). The same reader serves any directory with these names, such
// as the tiny sample in data/samples/fashion-mnist.
//
// Images become float32 arrays [N, 1, 28, 28] (channels first) with pixel / 255 in [0, 1]
// (the same float32 division as torchvision's ToTensor); optionally standardised,
// (x - mean) / std in float32 with the TRAINING pixels' mean and standard deviation (as
// torchvision's Normalize), so that both splits share one transform.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <netkit/core/array.h>

namespace netkit {

inline constexpr const char* kFashionMnistDefaultDir = "/usr/share/datasets/fashion-mnist";

// One split: images and their class labels.
struct LabeledImages {
  Array images;                 // [N, 1, 28, 28] float32
  std::vector<int32_t> labels;  // N labels in 0 .. 9
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

struct FashionMnistOptions {
  std::string directory = kFashionMnistDefaultDir;
  // Subtract the training pixels' mean and divide by their standard deviation (both splits).
  bool standardize = false;
};

struct FashionMnist {
  LabeledImages train, test;
  std::vector<std::string> class_names;  // fashion_mnist_class_names()
  // Mean and (population) standard deviation of every training pixel on the [0, 1] scale;
  // computed whether or not they were applied.
  double pixel_mean = 0, pixel_std = 1;
  bool standardized = false;
  // Paths of the four files read, in the order train images, train labels, test images, labels.
  std::vector<std::string> files;
};

// "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
// "Ankle boot": the class of label i is element i.
const std::vector<std::string>& fashion_mnist_class_names();

// `directory`/`name` if that file exists, else `directory`/`name`.gz; throws OptionError naming
// both when neither exists (and a hint to install the Debian package for the default directory).
std::string find_idx_file(const std::string& directory, const std::string& name);

// Reads an images file ([N, 28, 28] unsigned bytes) and its labels file ([N] unsigned bytes, each
// below 10) and scales the pixels to [0, 1]. FormatError for wrong types, dimensions, counts that
// differ or labels out of range, naming the file.
LabeledImages read_labeled_images(const std::string& images_path, const std::string& labels_path);

// Loads both splits from options.directory. OptionError if the directory or a file is missing.
FashionMnist load_fashion_mnist(const FashionMnistOptions& options = {});

}  // namespace netkit
