#!/usr/bin/python3
"""PyTorch (CPU, float32) convolution benchmark, the baseline for netkit's Convolution.

Run (needs Debian's python3 with torch):
    /usr/bin/python3 tools/bench/conv_bench_torch.py [--threads N] [--repeat-seconds S]

Prints JSON lines like tools/bench/bench_convolution.cpp: first the sgemm rate of a square 1024
problem (torch.mm), then per convolution
    {"impl": "torch", "op": "conv_fwd" | "conv_bwd", "shape": [N, IC, H, W, OC, KH, KW], "threads": N,
     "ms": ..., "gflops": ...}
conv_fwd is F.conv2d with biases under no_grad; conv_bwd is the backward pass alone
(torch.autograd.grad of the output for the input, weights and biases, the graph kept between
runs). gflops counts 2 N OC OH OW IC KH KW flops forward and twice that backward (from ms).
ms is the median time of a call, min_ms the fastest call.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

# (N, IC, H, W, OC, K, padding)
CASES = [(64, 1, 28, 28, 16, 3, 1), (64, 16, 14, 14, 32, 3, 1), (32, 64, 56, 56, 64, 3, 1), (32, 256, 28, 28, 64, 1, 0)]
WARMUP = 3
MIN_ITERS = 10


def median_ms(run, repeat_seconds):
    for _ in range(WARMUP):
        run()
    times = []
    start = time.perf_counter()
    while len(times) < MIN_ITERS or time.perf_counter() - start < repeat_seconds:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, min(times) * 1e3


def line(op, shape, threads, times, flops):
    ms, min_ms = times
    return json.dumps({"impl": "torch", "op": op, "shape": list(shape), "threads": threads, "ms": round(ms, 4),
                       "min_ms": round(min_ms, 4), "gflops": round(flops / (ms / 1e3) / 1e9, 2)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat-seconds", type=float, default=1.0, help="minimum timed duration per (op, shape)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    times = median_ms(lambda: torch.mm(a, b), args.repeat_seconds)
    print(line("sgemm", (1024, 1024, 1024), args.threads, times, 2.0 * 1024 ** 3), flush=True)
    for n, ic, h, w, oc, k, pad in CASES:
        shape = (n, ic, h, w, oc, k, k)
        x = torch.randn(n, ic, h, w, requires_grad=True)
        weight = (0.1 * torch.randn(oc, ic, k, k)).requires_grad_(True)
        bias = (0.1 * torch.randn(oc)).requires_grad_(True)
        oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
        flops = 2.0 * n * oc * oh * ow * ic * k * k

        def forward():
            with torch.no_grad():
                F.conv2d(x, weight, bias, padding=pad)
        print(line("conv_fwd", shape, args.threads, median_ms(forward, args.repeat_seconds), flops), flush=True)

        y = F.conv2d(x, weight, bias, padding=pad)
        g = torch.randn_like(y)

        def backward():
            torch.autograd.grad(y, (x, weight, bias), g, retain_graph=True)
        print(line("conv_bwd", shape, args.threads, median_ms(backward, args.repeat_seconds), 2 * flops), flush=True)


if __name__ == "__main__":
    main()
