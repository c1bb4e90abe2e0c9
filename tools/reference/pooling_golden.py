#!/usr/bin/python3
"""Golden reference data for netkit's Pooling layer, computed with PyTorch.

Run from anywhere (needs Debian's python3 with torch + numpy):
    /usr/bin/python3 tools/reference/pooling_golden.py

Writes one JSON file per case to data/golden/pooling/<case>.json (relative to the repo root).
Inputs are float32 values (stored exactly as Python floats); the references are
F.max_pool1d/2d and F.avg_pool1d/2d (ceil_mode=False, count_include_pad=True) and their
autograd input gradients, computed in float64 from those float32 values. Each case also stores
the netkit options that describe the same pooling ("options"), so the test builds the layer
from them directly.

Every case is cross-checked against a plain numpy implementation over an explicitly padded
plane (-inf for max, 0 for mean; the window's first maximum in row-major order gets the
gradient). The "ties" cases draw small integers so that windows hold equal maxima: there the
script also checks that PyTorch (float64 and float32, through return_indices) routes the
gradient to the first maximum, the rule netkit implements. The script raises if anything
disagrees. Output is deterministic: re-running produces byte-identical files.
"""
import os
import zlib

import numpy as np
import torch
import torch.nn.functional as F

from golden_io import check_float32_exact, dumps, golden_dir, write_case

OUT_DIR = golden_dir("pooling")
GENERATOR = "tools/reference/pooling_golden.py"

# name: (batch shape [N, C, L] or [N, C, H, W], netkit options without "Function", data kind)
GEOMETRIES = {
    "1d_k2": ((2, 3, 8), {"KernelSize": 2}, "normal"),
    "1d_k3_s1_p1": ((2, 2, 7), {"KernelSize": 3, "Stride": 1, "PaddingSize": 1}, "normal"),
    "1d_k3_s2_list": ((1, 3, 9), {"KernelSize": [3], "Stride": [2], "PaddingSize": [0]}, "normal"),
    "1d_k4_s3_p2": ((2, 2, 11), {"KernelSize": 4, "Stride": 3, "PaddingSize": 2}, "normal"),
    "1d_k3_s1_ties": ((2, 2, 10), {"KernelSize": 3, "Stride": 1, "PaddingSize": 1}, "ties"),
    "2d_k2": ((2, 3, 6, 8), {"KernelSize": 2}, "normal"),
    "2d_k3_s1_p1": ((2, 2, 7, 5), {"KernelSize": 3, "Stride": 1, "PaddingSize": 1}, "normal"),
    "2d_k3_s2_p1_odd": ((1, 3, 9, 7), {"KernelSize": 3, "Stride": 2, "PaddingSize": 1}, "normal"),
    "2d_k2x3_s1x2_p1": ((2, 2, 5, 8), {"KernelSize": [2, 3], "Stride": [1, 2], "PaddingSize": [1, 1]}, "normal"),
    "2d_k3x2_s3x1_p0x1": ((1, 2, 10, 6), {"KernelSize": [3, 2], "Stride": [3, 1], "PaddingSize": [0, 1]}, "normal"),
    "2d_k5_s2_p2": ((1, 2, 9, 11), {"KernelSize": 5, "Stride": 2, "PaddingSize": 2}, "normal"),
    "2d_k1_s2": ((1, 2, 5, 5), {"KernelSize": 1, "Stride": 2}, "normal"),
    "2d_k2_s1_p1": ((1, 1, 4, 4), {"KernelSize": 2, "Stride": 1, "PaddingSize": 1}, "normal"),
    "2d_global_7x5": ((2, 3, 7, 5), {"KernelSize": [7, 5]}, "normal"),
    "2d_k3_s1_ties": ((2, 2, 6, 7), {"KernelSize": 3, "Stride": 1}, "ties"),
    "2d_k2_s2_ties": ((1, 3, 6, 6), {"KernelSize": 2}, "ties"),
    "2d_k3_s2_p1_ties": ((1, 2, 7, 7), {"KernelSize": 3, "Stride": 2, "PaddingSize": 1}, "ties"),
}
FUNCTIONS = ("Max", "Mean")

RTOL = ATOL = 1e-12


def per_dim(value, dims):
    return list(value) if isinstance(value, list) else [value] * dims


def resolved(options, dims):
    k = per_dim(options["KernelSize"], dims)
    s = per_dim(options.get("Stride", options["KernelSize"]), dims)  # default: the kernel size
    p = per_dim(options.get("PaddingSize", 0), dims)
    return k, s, p


def torch_pool(function, x, k, s, p, dtype):
    """Output and input gradient (for grad_output g), plus max indices when function is Max."""
    dims = x.ndim - 2
    xt = torch.from_numpy(x).to(dtype).requires_grad_(True)
    indices = None
    if function == "Max":
        pool = F.max_pool1d if dims == 1 else F.max_pool2d
        y, indices = pool(xt, k, s, p, ceil_mode=False, return_indices=True)
    else:
        pool = F.avg_pool1d if dims == 1 else F.avg_pool2d
        y = pool(xt, k, s, p, ceil_mode=False, count_include_pad=True)
    return xt, y, indices


def numpy_pool(function, x, k, s, p, g):
    """Plain numpy: padded planes, full windows, first maximum; returns y, dx, argmax indices."""
    dims = x.ndim - 2
    x4 = x.astype(np.float64).reshape(x.shape[:2] + (1,) * (2 - dims) + x.shape[2:])
    k2, s2, p2 = ([1] * (2 - dims) + k), ([1] * (2 - dims) + s), ([0] * (2 - dims) + p)
    n, c, h, w = x4.shape
    fill = -np.inf if function == "Max" else 0.0
    padded = np.full((n, c, h + 2 * p2[0], w + 2 * p2[1]), fill)
    padded[:, :, p2[0]:p2[0] + h, p2[1]:p2[1] + w] = x4
    oh = (h + 2 * p2[0] - k2[0]) // s2[0] + 1
    ow = (w + 2 * p2[1] - k2[1]) // s2[1] + 1
    y = np.zeros((n, c, oh, ow))
    dpad = np.zeros_like(padded)
    arg = np.zeros((n, c, oh, ow), dtype=np.int64)
    g4 = g.astype(np.float64).reshape(n, c, oh, ow)
    area = k2[0] * k2[1]
    for a in range(n):
        for b in range(c):
            for i in range(oh):
                for j in range(ow):
                    r0, c0 = i * s2[0], j * s2[1]
                    win = padded[a, b, r0:r0 + k2[0], c0:c0 + k2[1]]
                    if function == "Max":
                        m = int(np.argmax(win))  # first maximum in row-major order
                        mi, mj = r0 + m // k2[1], c0 + m % k2[1]
                        y[a, b, i, j] = padded[a, b, mi, mj]
                        dpad[a, b, mi, mj] += g4[a, b, i, j]
                        arg[a, b, i, j] = (mi - p2[0]) * w + (mj - p2[1])  # PyTorch's flat index
                    else:
                        y[a, b, i, j] = win.sum() / area
                        dpad[a, b, r0:r0 + k2[0], c0:c0 + k2[1]] += g4[a, b, i, j] / area
    dx = dpad[:, :, p2[0]:p2[0] + h, p2[1]:p2[1] + w]
    out_shape = x.shape[:2] + ((ow,) if dims == 1 else (oh, ow))
    return y.reshape(out_shape), dx.reshape(x.shape), arg.reshape(out_shape)


def flat(a):
    return np.asarray(a).ravel().tolist()


def make_case(name, function, shape, options, kind):
    rng = np.random.RandomState(zlib.crc32(name.encode()))  # per-case seed from the name
    dims = len(shape) - 2
    k, s, p = resolved(options, dims)
    if kind == "ties":
        x = rng.randint(-2, 3, size=shape).astype(np.float32)
    else:
        x = rng.standard_normal(shape).astype(np.float32)
    xt, y, indices = torch_pool(function, x, k, s, p, torch.float64)
    g = rng.standard_normal(tuple(y.shape)).astype(np.float32)
    y.backward(torch.from_numpy(g).double())
    out, dx = y.detach().numpy(), xt.grad.numpy()

    ny, ndx, narg = numpy_pool(function, x, k, s, p, g)
    np.testing.assert_allclose(out, ny, rtol=RTOL, atol=ATOL, err_msg=f"{name}: output")
    np.testing.assert_allclose(dx, ndx, rtol=RTOL, atol=ATOL, err_msg=f"{name}: grad_input")
    if function == "Max":
        assert np.array_equal(indices.numpy(), narg), f"{name}: float64 argmax is not the first maximum"
        _, _, idx32 = torch_pool(function, x, k, s, p, torch.float32)
        assert np.array_equal(idx32.numpy(), narg), f"{name}: float32 argmax is not the first maximum"
    if kind == "ties" and function == "Max":
        # The data must really hold ties inside windows, or the case would test nothing.
        assert has_tied_windows(x, k, s, p), f"{name}: no window with a tied maximum"

    netkit_options = dict(options)
    netkit_options["Function"] = function
    return {
        "case": f"{function.lower()}_{name}",
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "function": function,
        "options": netkit_options,
        "kernel_size": k,
        "stride": s,
        "padding": p,
        "batch_shape": list(shape),
        "output_batch_shape": list(out.shape),
        "input": flat(x),
        "grad_output": flat(g),
        "output": flat(out),
        "grad_input": flat(dx),
    }


def has_tied_windows(x, k, s, p):
    dims = x.ndim - 2
    x4 = x.reshape(x.shape[:2] + (1,) * (2 - dims) + x.shape[2:]).astype(np.float64)
    k2, s2, p2 = [1] * (2 - dims) + k, [1] * (2 - dims) + s, [0] * (2 - dims) + p
    n, c, h, w = x4.shape
    padded = np.full((n, c, h + 2 * p2[0], w + 2 * p2[1]), -np.inf)
    padded[:, :, p2[0]:p2[0] + h, p2[1]:p2[1] + w] = x4
    for i in range(0, padded.shape[2] - k2[0] + 1, s2[0]):
        for j in range(0, padded.shape[3] - k2[1] + 1, s2[1]):
            win = padded[:, :, i:i + k2[0], j:j + k2[1]].reshape(n, c, -1)
            if ((win == win.max(axis=2, keepdims=True)).sum(axis=2) > 1).any():
                return True
    return False


def check_padding_rule():
    """PyTorch refuses padding above half the kernel (2 p > k), the rule netkit's options follow."""
    x = torch.zeros(1, 1, 9, 9)
    for pool in (F.max_pool2d, F.avg_pool2d):
        pool(x, 3, 1, 1)  # 2 p <= k: accepted
        try:
            pool(x, 3, 1, 2)
        except RuntimeError as e:
            assert "half" in str(e), e
        else:
            raise AssertionError(f"{pool.__name__} accepted padding 2 for kernel 3")


def main():
    torch.manual_seed(0)  # data comes from numpy; fixed anyway
    check_padding_rule()
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, (shape, options, kind) in GEOMETRIES.items():
        for function in FUNCTIONS:
            if kind == "ties" and function == "Mean":
                continue  # ties matter to Max only
            d = make_case(name, function, shape, options, kind)
            check_float32_exact(d, ("input", "grad_output"), d["case"])
            write_case(OUT_DIR, d["case"], d, dumps(d))


if __name__ == "__main__":
    main()
