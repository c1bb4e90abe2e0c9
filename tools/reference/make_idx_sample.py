#!/usr/bin/python3
"""Writes the tiny committed Fashion-MNIST sample that netkit's tests (and the CLI round trip)
use instead of the full data set.

Run from anywhere (needs only Python 3 and Debian's dataset-fashion-mnist package):
    /usr/bin/python3 tools/reference/make_idx_sample.py [SOURCE_DIR]

SOURCE_DIR defaults to /usr/share/datasets/fashion-mnist (the Debian package). Writes, relative
to the repository root:
    data/samples/fashion-mnist/train-images-idx3-ubyte.gz   first 128 training images
    data/samples/fashion-mnist/train-labels-idx1-ubyte.gz   their labels
    data/samples/fashion-mnist/t10k-images-idx3-ubyte.gz    first 64 test images
    data/samples/fashion-mnist/t10k-labels-idx1-ubyte.gz    their labels
    data/samples/fashion-mnist/sample.json                  counts, labels and per-image pixel sums
    data/samples/idx/t10k-labels-64-idx1-ubyte              the test labels again, uncompressed
The IDX headers are rewritten with the smaller counts; the pixel and label bytes are copied
unchanged. The gzip files carry no name and mtime 0, so re-running gives byte-identical output.
sample.json is computed here, independently of netkit's reader, so the tests can check it.
"""
import gzip
import json
import os
import re
import struct
import sys

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "data", "samples", "fashion-mnist")
PLAIN_DIR = os.path.join(REPO_ROOT, "data", "samples", "idx")
GENERATOR = "tools/reference/make_idx_sample.py"
COUNTS = {"train": 128, "t10k": 64}


def read_idx(path):
    """(type code, dims, data bytes) of a gzip-compressed IDX file, fully validated."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, type_code, rank = struct.unpack(">HBB", raw[:4])
    if zero != 0 or type_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = list(struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank]))
    data = raw[4 + 4 * rank:]
    count = 1
    for d in dims:
        count *= d
    if len(data) != count:
        raise ValueError(f"{path}: {len(data)} data bytes, dims {dims} need {count}")
    return type_code, dims, data


def idx_bytes(dims, data):
    return struct.pack(">HBB", 0, 0x08, len(dims)) + struct.pack(">" + "I" * len(dims), *dims) + data


def write(path, content):
    with open(path, "wb") as f:
        f.write(content)


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    os.makedirs(OUT_DIR, exist_ok=True)
    os.makedirs(PLAIN_DIR, exist_ok=True)
    summary = {"generator": GENERATOR, "source": "Debian package dataset-fashion-mnist"}
    for split, n in COUNTS.items():
        _, image_dims, images = read_idx(os.path.join(source, f"{split}-images-idx3-ubyte.gz"))
        _, label_dims, labels = read_idx(os.path.join(source, f"{split}-labels-idx1-ubyte.gz"))
        assert image_dims[1:] == [28, 28] and image_dims[0] == label_dims[0] >= n
        pixels = 28 * 28
        image_data = images[:n * pixels]
        label_data = labels[:n]
        assert all(label < 10 for label in label_data)
        image_file = idx_bytes([n, 28, 28], image_data)
        label_file = idx_bytes([n], label_data)
        write(os.path.join(OUT_DIR, f"{split}-images-idx3-ubyte.gz"), gzip.compress(image_file, 9, mtime=0))
        write(os.path.join(OUT_DIR, f"{split}-labels-idx1-ubyte.gz"), gzip.compress(label_file, 9, mtime=0))
        if split == "t10k":
            write(os.path.join(PLAIN_DIR, f"t10k-labels-{n}-idx1-ubyte"), label_file)
        summary[split] = {
            "count": n,
            "labels": list(label_data),
            "pixel_sums": [sum(image_data[i * pixels:(i + 1) * pixels]) for i in range(n)],
            "first_image_row_14": list(image_data[14 * 28:15 * 28]),
        }
    text = json.dumps(summary, indent=1)
    # Number lists on one line each: shorter and easier to compare.
    text = re.sub(r"\[[\d,\s]*\]", lambda m: "[" + ", ".join(re.findall(r"\d+", m.group(0))) + "]", text)
    with open(os.path.join(OUT_DIR, "sample.json"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
