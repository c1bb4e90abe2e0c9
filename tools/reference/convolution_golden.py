#!/usr/bin/python3
"""Golden reference data for netkit's Convolution layer, computed with PyTorch.

Run from anywhere (needs Debian's python3 with torch + numpy):
    /usr/bin/python3 tools/reference/convolution_golden.py

Writes one JSON file per case to data/golden/convolution/<case>.json (relative to the repo root),
the 3-D cases to data/golden/convolution3d/<case>.json.
Inputs and arrays are float32 values (stored exactly as Python floats); the reference results
are torch.nn.functional.conv1d / conv2d / conv3d and their autograd gradients computed in float64 from
those float32 values. "PaddingSize": "Same" uses padding="same" for stride 1 and, for larger
strides (which PyTorch's "same" refuses), an explicit F.pad with netkit's rule: output
ceil(in / s), total padding max((out - 1) s + d (k - 1) + 1 - in, 0), the smaller half before.
Each case is cross-checked against a plain numpy implementation of the same sums; the script
raises if anything disagrees. Output is deterministic: re-running gives byte-identical files.
"""
import itertools
import math
import os
import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F

from golden_io import dumps, golden_dir, write_case

OUT_DIR = golden_dir("convolution")
GENERATOR = "tools/reference/convolution_golden.py"
RTOL = ATOL = 1e-12

# name: (input batch shape [N, C, spatial...], netkit options). Sizes, strides, paddings and
# dilations are per spatial dimension after expansion; an int option means every dimension.
CASES = {
    "k3_basic": ((2, 3, 5, 6), dict(OutputChannels=4, KernelSize=3)),
    "k3_pad1": ((2, 3, 6, 5), dict(OutputChannels=4, KernelSize=3, PaddingSize=1)),
    "k3_stride2_pad1_odd": ((2, 2, 7, 9), dict(OutputChannels=3, KernelSize=3, Stride=2, PaddingSize=1)),
    "k2_stride3": ((3, 2, 8, 7), dict(OutputChannels=2, KernelSize=2, Stride=3)),
    "k3_dilation2": ((2, 2, 9, 8), dict(OutputChannels=3, KernelSize=3, Dilation=2, PaddingSize=1)),
    "k3_groups2": ((2, 4, 6, 6), dict(OutputChannels=6, KernelSize=3, ChannelGroups=2, PaddingSize=1)),
    "depthwise": ((2, 3, 5, 5), dict(OutputChannels=6, KernelSize=3, ChannelGroups=3, PaddingSize=1)),
    "k1_direct": ((2, 5, 4, 3), dict(OutputChannels=3, KernelSize=1)),
    "k1_stride2": ((2, 3, 5, 5), dict(OutputChannels=2, KernelSize=1, Stride=2)),
    "k1_pad1": ((1, 2, 3, 3), dict(OutputChannels=2, KernelSize=1, PaddingSize=1)),
    "rect_kernel": ((2, 2, 7, 6), dict(OutputChannels=3, KernelSize=[3, 2], Stride=[2, 1], PaddingSize=[1, 0],
                                       Dilation=[1, 2])),
    "pad_beyond_kernel": ((1, 2, 3, 4), dict(OutputChannels=2, KernelSize=2, PaddingSize=3)),
    "kernel_equals_input": ((2, 3, 4, 4), dict(OutputChannels=2, KernelSize=4)),
    "no_biases": ((2, 3, 5, 5), dict(OutputChannels=4, KernelSize=3, PaddingSize=1, HasBiases=False)),
    "same_k3": ((2, 3, 5, 7), dict(OutputChannels=4, KernelSize=3, PaddingSize="Same")),
    "same_k4_even": ((2, 2, 6, 5), dict(OutputChannels=3, KernelSize=4, PaddingSize="Same")),
    "same_dilation2_k2": ((1, 2, 5, 6), dict(OutputChannels=2, KernelSize=2, Dilation=2, PaddingSize="Same")),
    "same_stride2": ((2, 2, 7, 8), dict(OutputChannels=3, KernelSize=3, Stride=2, PaddingSize="Same")),
    "wide_channels": ((2, 16, 6, 6), dict(OutputChannels=8, KernelSize=3, PaddingSize=1)),
    "conv1d_k3": ((3, 2, 9), dict(OutputChannels=4, KernelSize=3)),
    "conv1d_stride2_pad2_dil2": ((2, 3, 11), dict(OutputChannels=2, KernelSize=3, Stride=2, PaddingSize=2, Dilation=2)),
    "conv1d_groups": ((2, 4, 7), dict(OutputChannels=2, KernelSize=[2], ChannelGroups=2, PaddingSize=[1])),
    "conv1d_same_even": ((2, 2, 6), dict(OutputChannels=3, KernelSize=4, PaddingSize="Same")),
    "conv1d_k1": ((2, 3, 5), dict(OutputChannels=2, KernelSize=1)),
}

# 3-D cases [N, C, D, H, W], written to data/golden/convolution3d (their own test).
VOLUME_CASES = {
    "conv3d_k3_pad1": ((2, 3, 4, 5, 6), dict(OutputChannels=4, KernelSize=3, PaddingSize=1)),
    "conv3d_mixed": ((2, 4, 7, 6, 5), dict(OutputChannels=6, KernelSize=[3, 2, 3], Stride=[2, 1, 2],
                                           PaddingSize=[1, 0, 2], Dilation=[2, 1, 1], ChannelGroups=2)),
    "conv3d_same_even": ((1, 2, 5, 4, 6), dict(OutputChannels=3, KernelSize=[2, 3, 4], PaddingSize="Same")),
    "conv3d_k1_no_biases": ((2, 3, 3, 4, 2), dict(OutputChannels=2, KernelSize=1, HasBiases=False)),
    "conv3d_depth_beyond": ((1, 2, 2, 3, 3), dict(OutputChannels=2, KernelSize=[2, 2, 2], PaddingSize=[2, 1, 0])),
}


def per_dim(value, rank):
    return list(value) if isinstance(value, list) else [value] * rank


def geometry(shape, opts):
    """Per spatial dim: kernel, stride, dilation, pad before, pad after, output size."""
    rank = len(shape) - 2
    k = per_dim(opts["KernelSize"], rank)
    s = per_dim(opts.get("Stride", 1), rank)
    d = per_dim(opts.get("Dilation", 1), rank)
    pad = opts.get("PaddingSize", 0)
    before, after, out = [], [], []
    for i in range(rank):
        n = shape[2 + i]
        if pad == "Same":
            o = math.ceil(n / s[i])
            total = max((o - 1) * s[i] + d[i] * (k[i] - 1) + 1 - n, 0)
            before.append(total // 2)
            after.append(total - total // 2)
        else:
            p = per_dim(pad, rank)[i]
            before.append(p)
            after.append(p)
            o = (n + 2 * p - d[i] * (k[i] - 1) - 1) // s[i] + 1
        out.append(o)
    return k, s, d, before, after, out


def torch_conv(x, w, b, g, opts):
    """The convolution in float64 with autograd; returns output and gradients as numpy."""
    rank = x.ndim - 2
    k, s, d, before, after, _ = geometry(x.shape, opts)
    groups = opts.get("ChannelGroups", 1)
    x_t = torch.from_numpy(x).double().requires_grad_(True)
    w_t = torch.from_numpy(w).double().requires_grad_(True)
    b_t = torch.from_numpy(b).double().requires_grad_(True) if b is not None else None
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
    if opts.get("PaddingSize") == "Same" and all(v == 1 for v in s):
        y = conv(x_t, w_t, b_t, stride=s, padding="same", dilation=d, groups=groups)
    else:
        pads = []
        for i in reversed(range(rank)):  # F.pad takes the last dimension first
            pads += [before[i], after[i]]
        y = conv(F.pad(x_t, pads), w_t, b_t, stride=s, padding=0, dilation=d, groups=groups)
    y.backward(torch.from_numpy(g).double())
    r = {"output": y.detach().numpy(), "grad_input": x_t.grad.numpy(), "grad_weights": w_t.grad.numpy()}
    if b is not None:
        r["grad_biases"] = b_t.grad.numpy()
    return r


def numpy_conv(x, w, b, g, opts):
    """The same sums with plain numpy slicing, one kernel tap at a time, for any spatial rank."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    g = g.astype(np.float64)
    rank = x.ndim - 2
    k, s, d, before, after, out = geometry(x.shape, opts)
    groups = opts.get("ChannelGroups", 1)
    n, c = x.shape[:2]
    oc = w.shape[0]
    gi, go = c // groups, oc // groups
    xp = np.zeros((n, c, *[x.shape[2 + i] + before[i] + after[i] for i in range(rank)]))
    inside = tuple(slice(before[i], before[i] + x.shape[2 + i]) for i in range(rank))
    xp[(slice(None), slice(None)) + inside] = x
    y = np.zeros((n, oc, *out))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for grp in range(groups):
        os_ = slice(grp * go, (grp + 1) * go)
        cs = slice(grp * gi, (grp + 1) * gi)
        for tap in itertools.product(*[range(k[i]) for i in range(rank)]):
            window = tuple(slice(tap[i] * d[i], tap[i] * d[i] + s[i] * (out[i] - 1) + 1, s[i]) for i in range(rank))
            patch = xp[(slice(None), cs) + window]  # [n, gi, out...]
            wt = w[(os_, slice(None)) + tap]  # [go, gi]
            y[:, os_] += np.einsum("oc,nc...->no...", wt, patch)
            dw[(os_, slice(None)) + tap] += np.einsum("nop,ncp->oc", g[:, os_].reshape(n, go, -1), patch.reshape(n, gi, -1))
            dxp[(slice(None), cs) + window] += np.einsum("oc,no...->nc...", wt, g[:, os_])
    r = {"output": y, "grad_weights": dw, "grad_input": dxp[(slice(None), slice(None)) + inside]}
    if b is not None:
        r["output"] = y + b.astype(np.float64).reshape((1, oc) + (1,) * rank)
        r["grad_biases"] = g.sum(axis=tuple(i for i in range(g.ndim) if i != 1))
    return r


def flat(a):
    return np.asarray(a).ravel().tolist()


def make_case(name, shape, opts):
    rng = np.random.RandomState(zlib.crc32(name.encode()))
    rank = len(shape) - 2
    k = per_dim(opts["KernelSize"], rank)
    groups = opts.get("ChannelGroups", 1)
    oc = opts["OutputChannels"]
    w_shape = (oc, shape[1] // groups, *k)
    fan_in = int(np.prod(w_shape[1:]))
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.uniform(-1, 1, w_shape).astype(np.float32) / np.float32(np.sqrt(fan_in))
    b = rng.uniform(-1, 1, oc).astype(np.float32) if opts.get("HasBiases", True) else None
    out = geometry(shape, opts)[5]
    g = rng.standard_normal((shape[0], oc, *out)).astype(np.float32)
    r = torch_conv(x, w, b, g, opts)
    check = numpy_conv(x, w, b, g, opts)
    for key, ref in check.items():
        np.testing.assert_allclose(r[key].ravel(), ref.ravel(), rtol=RTOL, atol=ATOL, err_msg=f"{name}: {key}")
    d = {"case": name, "generator": GENERATOR, "torch_version": torch.__version__, "options": opts,
         "batch_shape": list(shape), "output_shape": [shape[0], oc, *out], "weights_shape": list(w_shape),
         "input": flat(x), "weights": flat(w)}
    if b is not None:
        d["biases"] = flat(b)
    d["grad_output"] = flat(g)
    for key in ("output", "grad_input", "grad_weights", "grad_biases"):
        if key in r:
            d[key] = flat(r[key])
    for key in ("input", "weights", "biases", "grad_output"):
        if key in d:
            a = np.array(d[key], dtype=np.float64)
            assert np.array_equal(a.astype(np.float32).astype(np.float64), a), f"{name}: {key} not float32"
    return d


def main():
    # PyTorch notes that "same" with an even kernel pads a copy of the input; that is intended here.
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths")
    torch.manual_seed(0)
    for out_dir, cases in ((OUT_DIR, CASES), (golden_dir("convolution3d"), VOLUME_CASES)):
        os.makedirs(out_dir, exist_ok=True)
        for name, (shape, opts) in cases.items():
            d = make_case(name, shape, opts)
            write_case(out_dir, name, d, dumps(d))


if __name__ == "__main__":
    main()
