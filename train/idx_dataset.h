// Labeled images streamed from two UNCOMPRESSED IDX files (train/idx.h), such as Fashion-MNIST's
// train-images-idx3-ubyte and train-labels-idx1-ubyte: images uint8 [N, rows, cols], labels
// uint8 [N]. Only the labels (N bytes) are held in memory; each batch reads just its images from
// disk (pread), so a data set larger than memory trains the same way as an in-memory one.
//
// Ports as TrainingData::classification of read_labeled_images (train/fashion_mnist.h) gives,
// value for value: "Input" [1, rows, cols] float32 pixel / 255 (the same float32 division), and
// "Target" the class index. Training on either is bit-identical.
//
// Checked when opened (FormatError naming the file, as read_idx does): the IDX header (magic,
// element type uint8, rank 3 for images and 1 for labels), the file size against the header
// (truncated or trailing bytes), gzip-compressed images (not supported: decompress them first,
// or load them in memory with read_labeled_images), matching counts, labels below `classes`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <netkit/train/dataset.h>

namespace netkit {

class IdxDataset : public Dataset {
 public:
  IdxDataset(const std::string& images_path, const std::string& labels_path, int64_t classes = 10);
  ~IdxDataset() override;
  IdxDataset(const IdxDataset&) = delete;
  IdxDataset& operator=(const IdxDataset&) = delete;

  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  TargetKind target_kind() const override { return TargetKind::ClassIndex; }
  std::map<std::string, Shape> example_shapes() const override;
  // Reads the images of `indices` from disk. TrainingError for an index out of range,
  // FormatError if the file cannot be read (changed since it was opened).
  std::map<std::string, Array> batch(const std::vector<int64_t>& indices) const override;

  int64_t rows() const { return rows_; }
  int64_t columns() const { return columns_; }
  const std::vector<unsigned char>& labels() const { return labels_; }

 private:
  std::string images_path_;
  int file_ = -1;            // the images file, open for reading
  int64_t data_offset_ = 0;  // byte offset of the first pixel
  int64_t rows_ = 0, columns_ = 0;
  std::vector<unsigned char> labels_;
};

}  // namespace netkit
