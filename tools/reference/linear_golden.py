#!/usr/bin/python3
"""Golden reference data for netkit's Linear layer, computed with PyTorch.

Run from anywhere (needs Debian's python3 with torch + numpy):
    /usr/bin/python3 tools/reference/linear_golden.py

Writes one JSON file per case to data/golden/linear/<case>.json (relative to the repo root).
Inputs and arrays are float32 values (stored exactly as Python floats); the reference results
are torch.nn.functional.linear and its autograd gradients computed in float64 from those float32
values, so they are more accurate than any float32 implementation. Each example of the batch is
flattened row-major, as netkit does. Output is deterministic: re-running produces byte-identical
files. Every case is cross-checked against plain numpy matrix products; the script raises if
anything disagrees.
"""
import os
import zlib

import numpy as np
import torch
import torch.nn.functional as F

from golden_io import check_float32_exact, dumps, golden_dir, write_case

OUT_DIR = golden_dir("linear")
GENERATOR = "tools/reference/linear_golden.py"

# name: (batch shape: N then the per-example dims, output size)
CASES = {
    "vector_batch1": ((1, 5), 3),
    "vector_batch4": ((4, 7), 4),
    "matrix_batch3": ((3, 2, 3), 5),
    "rank3_batch2": ((2, 2, 3, 2), 4),
    "one_output": ((5, 6), 1),
    "one_input": ((3, 1), 6),
    "wide_batch8": ((8, 40), 19),
}

# Float64 results must match the numpy recomputation to this tolerance.
RTOL = ATOL = 1e-12


def torch_linear(x, w, b, g):
    """F.linear in float64 on the flattened batch; returns output and gradients as numpy."""
    n = x.shape[0]
    x_t = torch.from_numpy(x).double().reshape(n, -1).requires_grad_(True)
    w_t = torch.from_numpy(w).double().requires_grad_(True)
    b_t = torch.from_numpy(b).double().requires_grad_(True)
    y = F.linear(x_t, w_t, b_t)
    y.backward(torch.from_numpy(g).double())
    return {
        "output": y.detach().numpy(),
        "grad_input": x_t.grad.reshape(x.shape).numpy(),
        "grad_weights": w_t.grad.numpy(),
        "grad_biases": b_t.grad.numpy(),
    }


def check_case(d, x, w, b, g):
    """Independent numpy recomputation of everything stored; raises on mismatch."""
    def close(a, ref, what):
        np.testing.assert_allclose(np.asarray(a).ravel(), np.asarray(ref).ravel(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{d['case']}: {what}")

    x2 = x.reshape(x.shape[0], -1).astype(np.float64)
    w64, b64, g64 = w.astype(np.float64), b.astype(np.float64), g.astype(np.float64)
    close(d["output"], x2 @ w64.T + b64, "output")
    close(d["grad_input"], g64 @ w64, "grad_input")
    close(d["grad_weights"], g64.T @ x2, "grad_weights")
    close(d["grad_biases"], g64.sum(axis=0), "grad_biases")


def flat(a):
    return np.asarray(a).ravel().tolist()


def make_case(name, shape, out):
    # Per-case seed derived from the name: adding or reordering cases leaves the others unchanged.
    rng = np.random.RandomState(zlib.crc32(name.encode()))
    n = shape[0]
    fan_in = int(np.prod(shape[1:]))
    x = rng.standard_normal(shape).astype(np.float32)
    limit = 1.0 / np.sqrt(fan_in)  # PyTorch's default scale, so outputs are of order 1
    w = rng.uniform(-limit, limit, (out, fan_in)).astype(np.float32)
    b = rng.uniform(-1.0, 1.0, out).astype(np.float32)
    g = rng.standard_normal((n, out)).astype(np.float32)
    r = torch_linear(x, w, b, g)
    d = {
        "case": name,
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "batch_shape": list(shape),
        "output_size": out,
        "input": flat(x),
        "weights": flat(w),
        "biases": flat(b),
        "grad_output": flat(g),
        "output": flat(r["output"]),
        "grad_input": flat(r["grad_input"]),
        "grad_weights": flat(r["grad_weights"]),
        "grad_biases": flat(r["grad_biases"]),
    }
    check_case(d, x, w, b, g)
    return d


def main():
    torch.manual_seed(0)  # data comes from numpy; fixed anyway in case torch's generator gets used
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, (shape, out) in CASES.items():
        d = make_case(name, shape, out)
        check_float32_exact(d, ("input", "weights", "biases", "grad_output"), name)
        write_case(OUT_DIR, name, d, dumps(d))


if __name__ == "__main__":
    main()
