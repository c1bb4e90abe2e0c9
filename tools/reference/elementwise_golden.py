#!/usr/bin/python3
"""Golden reference data for netkit's elementwise layers (Ramp, Tanh, LogisticSigmoid),
computed with PyTorch (torch.relu, torch.tanh, torch.sigmoid and their autograd backward).

Run from anywhere (needs Debian's python3 with torch + numpy):
    /usr/bin/python3 tools/reference/elementwise_golden.py

Writes one JSON file per function and case to data/golden/elementwise/<function>_<case>.json
(relative to the repo root). Inputs and output gradients are float32 values (stored exactly
as Python floats); the reference results are computed in float64 from those values, so they
are more accurate than any float32 implementation. The "special" case holds hand-picked
values: zeros of both signs, tiny and subnormal numbers, the saturation region (+-30, +-88,
+-1e4) and +-FLT_MAX. Output is deterministic: re-running produces byte-identical files.
Every case is cross-checked against an independent numpy implementation; the script raises
if anything disagrees.
"""
import os
import zlib

import numpy as np
import torch

from golden_io import check_float32_exact, dumps, golden_dir, write_case

OUT_DIR = golden_dir("elementwise")
GENERATOR = "tools/reference/elementwise_golden.py"

FLT_MAX = float(np.finfo(np.float32).max)
FLT_TRUE_MIN = float(np.finfo(np.float32).smallest_subnormal)

# netkit's "Function" value -> the PyTorch function.
FUNCTIONS = {
    "Ramp": torch.relu,
    "Tanh": torch.tanh,
    "LogisticSigmoid": torch.sigmoid,
}

SPECIAL = [0.0, -0.0, FLT_TRUE_MIN, -FLT_TRUE_MIN, 1e-30, -1e-30, 1e-7, -1e-7, 1e-3, -1e-3,
           0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 5.0, -5.0, 9.0, -9.0, 15.0, -15.0, 17.0, -17.0,
           30.0, -30.0, 88.0, -88.0, 104.0, -104.0, 1e4, -1e4, FLT_MAX, -FLT_MAX]

# name: batch shape (batch dimension first), or None for the special values (a batch of them,
# rank 0 per example).
CASES = {
    "special": None,
    "scalar_batch5": (5,),
    "vector": (3, 8),
    "rank3": (2, 3, 4, 5),
}

# Float64 results must match the independent numpy recomputation to this relative tolerance.
RTOL = 1e-13


def numpy_reference(function, x, g):
    """The functions and derivatives from their formulas, in float64."""
    x = x.astype(np.float64)
    g = g.astype(np.float64)
    if function == "Ramp":
        return np.maximum(x, 0.0), np.where(x > 0, g, 0.0)
    if function == "Tanh":
        y = np.tanh(x)
        # 1 - tanh^2 = 1 / cosh^2, from x itself (cosh overflows to inf for large |x|: 0).
        with np.errstate(over="ignore"):
            return y, g / np.cosh(x) ** 2
    # Stable logistic sigmoid: e = exp(-|x|); derivative e / (1 + e)^2 from x itself.
    e = np.exp(-np.abs(x))
    y = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return y, g * e / (1.0 + e) ** 2


def torch_reference(function, x, g):
    """The PyTorch function and its autograd backward in float64."""
    x_t = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    y = FUNCTIONS[function](x_t)
    y.backward(torch.from_numpy(g.astype(np.float64)))
    return y.detach().numpy(), x_t.grad.numpy()


def case_data(name, shape):
    # Per-case seed derived from the name: adding/reordering cases leaves others unchanged.
    rng = np.random.RandomState(zlib.crc32(name.encode()))
    if shape is None:
        x = np.array(SPECIAL, dtype=np.float32)
        shape = x.shape
    else:
        # Mostly the interesting range of tanh and sigmoid, with some saturated values.
        x = (3.0 * rng.standard_normal(shape)).astype(np.float32)
        x.ravel()[::7] *= 10.0
    g = rng.standard_normal(shape).astype(np.float32)
    return x, g


def close(got, want, what, x, scale):
    """Agreement to RTOL, or within 1e-15 * scale: torch forms sigmoid' as y (1 - y) and tanh'
    as 1 - y^2, which in float64 carry absolute errors of about 1e-16 |g| where the true
    derivative is far smaller (e.g. sigmoid'(30) = 9e-14), so there only an absolute bound holds."""
    got, want = np.asarray(got), np.asarray(want)
    ok = np.abs(got - want) <= RTOL * np.abs(want) + 1e-15 * scale
    if not ok.all():
        i = int(np.flatnonzero(~ok.ravel())[0])
        raise AssertionError(f"{what}: element {i} (x = {x.ravel()[i]!r}): torch {got.ravel()[i]!r}, "
                             f"numpy {want.ravel()[i]!r}")


def make_case(function, name, shape):
    x, g = case_data(name, shape)
    y, dx = torch_reference(function, x, g)
    y_np, dx_np = numpy_reference(function, x, g)
    close(y, y_np, f"{function}_{name} output", x, 0.0 if function == "Ramp" else 1.0)
    close(dx, dx_np, f"{function}_{name} grad_input", x, np.abs(g.astype(np.float64)))
    assert np.isfinite(y).all() and np.isfinite(dx).all(), f"{function}_{name}: non-finite reference"
    return {
        "case": name,
        "function": function,
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "batch_shape": list(x.shape),
        "input": flat(x),
        "grad_output": flat(g),
        "output": flat(y),
        "grad_input": flat(dx),
    }


def flat(a):
    # float32 -> float64 is exact; json writes repr(), which round-trips exactly. -0.0 stays -0.0.
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def main():
    torch.manual_seed(0)  # data comes from numpy; fixed anyway in case torch RNG gets used
    os.makedirs(OUT_DIR, exist_ok=True)
    for function in FUNCTIONS:
        for name, shape in CASES.items():
            d = make_case(function, name, shape)
            check_float32_exact(d, ("input", "grad_output"), f"{function}_{name}")
            write_case(OUT_DIR, f"{function}_{name}", d, dumps(d))


if __name__ == "__main__":
    main()
