#!/usr/bin/python3
"""PyTorch's half of the side-by-side training benchmark; see tools/bench/train_compare.py.

    /usr/bin/python3 tools/bench/train_bench_torch.py --init MODEL.json [--epochs 5] [--threads 2]
        [--data /usr/share/datasets/fashion-mnist] [--lockstep]

Builds fashion_cnn (conv 16 3x3 pad 1 -> BN -> ReLU -> maxpool 2/2 -> conv 32 -> BN -> ReLU ->
maxpool -> Linear 1568->10) in PyTorch, loads every array from the initialized netkit model file
written by bench_training (base64 little-endian float32, docs/format.md), reads Fashion-MNIST from
the same gzip IDX files scaled by 1/255 in float32, and trains with the same batches in the same
order (no shuffle, batch 64, the last batch holds the remainder), SGD lr 0.05 momentum 0.9,
cross entropy on log-softmax (mean over the batch). One JSON line per epoch, as bench_training:
    {"framework":"torch","epoch":k,"epoch_seconds":s,"test_accuracy":a,"openblas_core":"..."}
then a final line with the peak resident memory (getrusage ru_maxrss) in MB. --lockstep: print
{"framework":"torch","ready":true} once the data is loaded, then read one line from stdin before
each epoch (train_compare.py alternates the frameworks epoch by epoch; the wait is not timed).

Batch normalization matches netkit's options in data/models/fashion_cnn.json: Epsilon 0.001,
Momentum 0.9 (PyTorch momentum 0.1, the weight on the new batch) and VarianceEstimator "Biased":
netkit's moving variance takes the biased batch variance (docs/batch_norm.md), PyTorch's the
unbiased one, so after each training step's backward the update is corrected to the biased
value (a C-element operation per layer and step, negligible next to the convolutions).
"""
import argparse
import math
import base64
import gzip
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


class BiasedMovingBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose running_var follows the BIASED batch variance, as netkit's "Biased".

    PyTorch's training forward stores new = (1-p) old + p u, u = M/(M-1) b (b the biased batch
    variance, M the values per channel); netkit stores (1-p) old + p b = new - p u / M. The
    forward keeps `old` and M; fix_moving_variance() applies the correction after backward
    (autograd saved running_var, so it may not change in place before backward).
    """

    pending = None

    def forward(self, x):
        if self.training:
            self.pending = (self.running_var.clone(), x.numel() // x.shape[1])
        return super().forward(x)

    @torch.no_grad()
    def fix_moving_variance(self):
        if self.pending is None:
            return
        old, m = self.pending
        self.pending = None
        if m > 1:
            self.running_var.sub_((self.running_var - (1 - self.momentum) * old) / m)


def fashion_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), BiasedMovingBatchNorm2d(16, eps=0.001, momentum=0.1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(16, 32, 3, padding=1), BiasedMovingBatchNorm2d(32, eps=0.001, momentum=0.1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def decode_array(a):
    if a.get("dtype", "float32") != "float32":
        raise ValueError("array dtype %r; expected float32" % a.get("dtype"))
    shape = a["shape"]
    data = a["data"]
    if isinstance(data, str):
        values = np.frombuffer(base64.b64decode(data), dtype="<f4")
    else:
        values = np.asarray(data, dtype=np.float32).reshape(-1)
    return torch.from_numpy(values.astype(np.float32).reshape(shape).copy())


# netkit node name -> (index in fashion_cnn(), {netkit array name: PyTorch attribute}).
ARRAY_MAP = {
    "conv1": (0, {"Weights": "weight", "Biases": "bias"}),
    "bn1": (1, {"Scaling": "weight", "Biases": "bias", "MovingMean": "running_mean", "MovingVariance": "running_var"}),
    "conv2": (4, {"Weights": "weight", "Biases": "bias"}),
    "bn2": (5, {"Scaling": "weight", "Biases": "bias", "MovingMean": "running_mean", "MovingVariance": "running_var"}),
    "fc": (9, {"Weights": "weight", "Biases": "bias"}),
}


def load_netkit_arrays(model, path):
    with open(path) as f:
        nodes = {n["name"]: n["net"] for n in json.load(f)["net"]["nodes"]}
    loaded = 0
    for name, (index, names) in ARRAY_MAP.items():
        arrays = nodes[name]["arrays"]
        for netkit_name, attr in names.items():
            if netkit_name not in arrays:
                raise ValueError("%s: node %r has no array %r; expected an initialized model" % (path, name, netkit_name))
            value = decode_array(arrays[netkit_name])
            target = getattr(model[index], attr)
            if tuple(target.shape) != tuple(value.shape):
                raise ValueError("%s: %s/%s has shape %s; expected %s" % (path, name, netkit_name, list(value.shape), list(target.shape)))
            with torch.no_grad():
                target.copy_(value)
            loaded += 1
    return loaded


def read_idx(directory, name):
    path = os.path.join(directory, name)
    opener = open
    if not os.path.exists(path):
        path += ".gz"
        opener = gzip.open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(directory, prefix):
    images = torch.from_numpy(read_idx(directory, prefix + "-images-idx3-ubyte").copy()).float().div_(255.0).unsqueeze(1)
    labels = torch.from_numpy(read_idx(directory, prefix + "-labels-idx1-ubyte").astype(np.int64))
    return images.contiguous(), labels


def accuracy(model, images, labels, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(labels), batch):
            correct += int((model(images[i:i + batch]).argmax(1) == labels[i:i + batch]).sum())
    model.train()
    return correct / len(labels)


def openblas_core():
    # torch bundles its own BLAS/MKL-DNN; report OPENBLAS_CORETYPE as set for the comparison.
    return os.environ.get("OPENBLAS_CORETYPE", "")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--init", required=True, help="initialized netkit model file (bench_training --init-out)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--lockstep", action="store_true")
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant",
                   help="cosine: lr 0.05 (1 + cos(pi k / steps)) / 2 at 0-based step k, netkit's Cosine schedule")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    model = fashion_cnn()
    load_netkit_arrays(model, args.init)
    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "t10k")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    steps = args.epochs * ((len(train_y) + args.batch - 1) // args.batch)
    cosine = lambda k: 0.5 * (1 + math.cos(math.pi * min(k, steps) / steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine if args.schedule == "cosine" else lambda k: 1.0)
    batch_norms = [m for m in model if isinstance(m, BiasedMovingBatchNorm2d)]
    model.train()
    n = len(train_y)
    if args.lockstep:
        print(json.dumps({"framework": "torch", "ready": True}), flush=True)
    for epoch in range(1, args.epochs + 1):
        if args.lockstep:
            sys.stdin.readline()
        start = time.perf_counter()
        for i in range(0, n, args.batch):
            x, y = train_x[i:i + args.batch], train_y[i:i + args.batch]
            optimizer.zero_grad(set_to_none=True)
            loss = F.nll_loss(F.log_softmax(model(x), dim=1), y)
            loss.backward()
            for bn in batch_norms:
                bn.fix_moving_variance()
            optimizer.step()
            scheduler.step()
        seconds = time.perf_counter() - start
        print(json.dumps({"framework": "torch", "epoch": epoch, "epoch_seconds": seconds,
                          "test_accuracy": accuracy(model, test_x, test_y), "openblas_core": openblas_core()}), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB
    print(json.dumps({"framework": "torch", "final": True, "epochs": args.epochs, "test_accuracy": accuracy(model, test_x, test_y),
                      "threads": args.threads, "torch_version": torch.__version__, "peak_memory_mb": peak}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
