#!/usr/bin/python3
"""PyTorch (CPU, float32) BatchNorm benchmark, the baseline for netkit's BatchNormalization.

Run (needs Debian's python3 with torch):
    /usr/bin/python3 tools/bench/bn_bench_torch.py [--threads N] [--repeat-seconds S]

Prints JSON lines to stdout: first an info line, then one line per (op, shape):
    {"impl": "torch", "op": ..., "shape": [...], "threads": N, "ms": ..., "gbps": ...}
ms is the median per-iteration time; gbps counts only compulsory traffic
(4 bytes * numel * k, k = 2 for forward ops, 5 for forward+backward).
"""
import argparse
import json
import statistics
import time

import torch

SHAPES = [(64, 16, 28, 28), (64, 32, 14, 14), (32, 64, 56, 56), (256, 1024)]
# Compulsory tensor passes: fwd reads x, writes y; fwd+bwd additionally reads x, g, writes dx.
PASSES = {"test_fwd": 2, "train_fwd": 2, "train_fwd_bwd": 5}
WARMUP = 3
MIN_ITERS = 10


def make_step(op, bn, x, g):
    """Returns (prepare, run): prepare is untimed per-iteration housekeeping."""
    if op == "test_fwd":
        bn.eval()

        def run():
            with torch.no_grad():
                bn(x)
        return (lambda: None), run
    if op == "train_fwd":
        bn.train()

        def run():
            with torch.no_grad():
                bn(x)  # also updates running_mean / running_var
        return (lambda: None), run
    if op == "train_fwd_bwd":
        bn.train()
        x.requires_grad_(True)

        def prepare():
            # Drop grads so backward allocates fresh ones instead of accumulating.
            x.grad = None
            bn.zero_grad(set_to_none=True)

        def run():
            bn(x).backward(g)
        return prepare, run
    raise ValueError(op)


def bench(op, shape, threads, repeat_seconds):
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm1d(shape[1]) if len(shape) == 2 else torch.nn.BatchNorm2d(shape[1])
    x = torch.randn(shape)
    g = torch.randn(shape)
    prepare, run = make_step(op, bn, x, g)
    for _ in range(WARMUP):
        prepare()
        run()
    times = []
    start = time.perf_counter()
    while len(times) < MIN_ITERS or time.perf_counter() - start < repeat_seconds:
        prepare()
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1e3
    gbps = 4 * x.numel() * PASSES[op] / (ms / 1e3) / 1e9
    return {"impl": "torch", "op": op, "shape": list(shape), "threads": threads,
            "ms": round(ms, 4), "gbps": round(gbps, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat-seconds", type=float, default=0.3,
                    help="minimum timed duration per (op, shape)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps({"impl": "torch",
                      "info": {"torch_version": torch.__version__, "threads": args.threads}}),
          flush=True)
    for shape in SHAPES:
        for op in PASSES:
            print(json.dumps(bench(op, shape, args.threads, args.repeat_seconds)), flush=True)


if __name__ == "__main__":
    main()
