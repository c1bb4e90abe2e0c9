#!/usr/bin/python3
"""Golden reference data for netkit's BatchNormalization layer, computed with PyTorch.

Run from anywhere (needs Debian's python3 with torch + numpy):
    /usr/bin/python3 tools/reference/bn_golden.py

Writes one JSON file per case to data/golden/batch_norm/<case>.json (relative to the
repo root). Inputs/parameters are float32 values (stored exactly as Python floats);
the reference results are computed in float64 from those float32 values, so they are
more accurate than any float32 implementation. Output is deterministic: re-running
produces byte-identical files. Every case is cross-checked against an independent
numpy implementation; the script raises if anything disagrees.
"""
import json
import os
import zlib

import numpy as np
import torch
import torch.nn.functional as F

from golden_io import check_float32_exact, golden_dir, write_case

OUT_DIR = golden_dir("batch_norm")
GENERATOR = "tools/reference/bn_golden.py"

TORCH_MOMENTUM = 0.1
RHO = 1.0 - TORCH_MOMENTUM  # netkit "Momentum": m <- rho*m + (1-rho)*batch_stat
NUM_STEPS = 3

# name: (batch shape in the stored layout, interleaving = channel last, epsilon)
CASES = {
    "nc": ((5, 3), False, 1e-3),
    "ncl": ((4, 3, 7), False, 1e-5),
    "nchw": ((2, 3, 5, 4), False, 1e-3),
    "ncdhw": ((2, 2, 3, 4, 5), False, 1e-5),
    "nlc_interleaved": ((4, 7, 3), True, 1e-5),
    "nhwc_interleaved": ((2, 5, 4, 3), True, 1e-3),
    "batch1_nchw": ((1, 2, 3, 3), False, 1e-3),
}

# Float64 results must match the independent numpy recomputation to this tolerance.
RTOL = ATOL = 1e-11


def channel_axis(ndim, interleaving):
    return ndim - 1 if interleaving else 1


def to_channels_first(t, interleaving):
    """Stored layout -> torch's (N, C, *spatial)."""
    if not interleaving:
        return t
    return t.permute(0, t.dim() - 1, *range(1, t.dim() - 1))


def from_channels_first(t, interleaving):
    """torch's (N, C, *spatial) -> stored layout."""
    if not interleaving:
        return t
    return t.permute(0, *range(2, t.dim()), 1)


def random_batch(rng, shape, interleaving):
    """float32 batch whose channels have distinct means/scales, so that naive
    E[x^2]-E[x]^2 variance formulas visibly lose precision."""
    c_axis = channel_axis(len(shape), interleaving)
    c = shape[c_axis]
    bshape = [1] * len(shape)
    bshape[c_axis] = c
    mean = rng.uniform(-3.0, 5.0, c).reshape(bshape)
    scale = rng.uniform(0.5, 3.0, c).reshape(bshape)
    return (mean + scale * rng.standard_normal(shape)).astype(np.float32)


def torch_bn(x, gamma, beta, run_mean, run_var, grad_out, training, eps, interleaving):
    """F.batch_norm in float64 on stored-layout numpy arrays; returns results in the
    stored layout plus the (updated, in training mode) running statistics."""
    x_t = to_channels_first(torch.from_numpy(x).double(), interleaving).requires_grad_(True)
    w_t = torch.from_numpy(gamma).double().requires_grad_(True)
    b_t = torch.from_numpy(beta).double().requires_grad_(True)
    rm = torch.from_numpy(run_mean).double()  # updated in place by F.batch_norm
    rv = torch.from_numpy(run_var).double()
    y = F.batch_norm(x_t, rm, rv, w_t, b_t, training=training,
                     momentum=TORCH_MOMENTUM, eps=eps)
    if grad_out is not None:
        y.backward(to_channels_first(torch.from_numpy(grad_out).double(), interleaving))
    out = {"output": from_channels_first(y.detach(), interleaving).numpy()}
    if grad_out is not None:
        out["grad_input"] = from_channels_first(x_t.grad, interleaving).numpy()
        out["grad_scaling"] = w_t.grad.numpy()
        out["grad_biases"] = b_t.grad.numpy()
    return out, rm.numpy(), rv.numpy()


def numpy_reference(x, gamma, beta, mean, var, g, eps, c_axis):
    """Plain-formula batch norm (float64) given the statistics to normalise with."""
    axes = tuple(a for a in range(x.ndim) if a != c_axis)
    bshape = [1] * x.ndim
    bshape[c_axis] = -1
    x = x.astype(np.float64)
    g = g.astype(np.float64)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean.reshape(bshape)) * inv_std.reshape(bshape)
    y = gamma.reshape(bshape) * xhat + beta.reshape(bshape)
    return y, xhat, g, axes, bshape, inv_std


def check_case(d, x, gamma, beta, mm, mv, g, step_inputs, eps, c_axis):
    """Independent numpy recomputation of everything stored; raises on mismatch."""
    def close(a, b, what):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{d['case']}: {what}")

    def batch_stats(xb):
        axes = tuple(a for a in range(xb.ndim) if a != c_axis)
        xb = xb.astype(np.float64)
        m = xb.mean(axis=axes)
        mshape = [1] * xb.ndim
        mshape[c_axis] = -1
        vb = ((xb - m.reshape(mshape)) ** 2).mean(axis=axes)
        return m, vb, xb.size // xb.shape[c_axis]

    gamma64, beta64 = gamma.astype(np.float64), beta.astype(np.float64)
    mu, var_b, count = batch_stats(x)

    # Training mode: normalise with the biased batch variance.
    y, xhat, g64, axes, bshape, inv_std = numpy_reference(x, gamma64, beta64, mu, var_b, g, eps, c_axis)
    gs = (g64 * xhat).sum(axis=axes)
    gb = g64.sum(axis=axes)
    dx = (gamma64 * inv_std).reshape(bshape) * (
        g64 - (gb / count).reshape(bshape) - xhat * (gs / count).reshape(bshape))
    tr = d["train"]
    close(tr["output"], y.ravel(), "train output")
    close(tr["batch_mean"], mu, "batch mean")
    close(tr["batch_variance_biased"], var_b, "batch variance")
    close(tr["grad_scaling"], gs, "train grad_scaling")
    close(tr["grad_biases"], gb, "train grad_biases")
    close(tr["grad_input"], dx.ravel(), "train grad_input")

    # Test mode: statistics are constants, so dx is a per-channel scaling of g.
    mm64, mv64 = mm.astype(np.float64), mv.astype(np.float64)
    y, xhat, g64, axes, bshape, inv_std = numpy_reference(x, gamma64, beta64, mm64, mv64, g, eps, c_axis)
    te = d["test"]
    close(te["output"], y.ravel(), "test output")
    close(te["grad_scaling"], (g64 * xhat).sum(axis=axes), "test grad_scaling")
    close(te["grad_biases"], g64.sum(axis=axes), "test grad_biases")
    close(te["grad_input"], ((gamma64 * inv_std).reshape(bshape) * g64).ravel(), "test grad_input")

    # Moving statistics: exponential average with the *unbiased* batch variance.
    m, v = mm64, mv64
    for i, (xs, st) in enumerate(zip(step_inputs, d["steps"])):
        mu_s, vb_s, n = batch_stats(xs)
        m = RHO * m + (1.0 - RHO) * mu_s
        v = RHO * v + (1.0 - RHO) * vb_s * n / (n - 1)
        close(st["moving_mean"], m, f"step {i} moving_mean")
        close(st["moving_variance"], v, f"step {i} moving_variance")


def flat(a):
    return np.asarray(a).ravel().tolist()


def make_case(name, shape, interleaving, eps):
    # Per-case seed derived from the name: adding/reordering cases leaves others unchanged.
    rng = np.random.RandomState(zlib.crc32(name.encode()))
    c_axis = channel_axis(len(shape), interleaving)
    c = shape[c_axis]

    x = random_batch(rng, shape, interleaving)
    gamma = rng.uniform(0.5, 1.5, c).astype(np.float32)
    gamma[1::3] *= -1  # guarantee negative scalings (channel 1, 4, ...)
    beta = rng.uniform(-1.0, 1.0, c).astype(np.float32)
    mm = rng.uniform(-2.0, 2.0, c).astype(np.float32)
    mv = rng.uniform(0.5, 2.0, c).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    step_inputs = [random_batch(rng, shape, interleaving) for _ in range(NUM_STEPS)]

    train, _, _ = torch_bn(x, gamma, beta, mm, mv, g, True, eps, interleaving)
    test, _, _ = torch_bn(x, gamma, beta, mm, mv, g, False, eps, interleaving)

    x_cf = to_channels_first(torch.from_numpy(x).double(), interleaving)
    dims = [0] + list(range(2, x_cf.dim()))
    train["batch_mean"] = x_cf.mean(dim=dims).numpy()
    train["batch_variance_biased"] = x_cf.var(dim=dims, unbiased=False).numpy()

    steps = []
    rm, rv = mm, mv
    for xs in step_inputs:
        # torch updates rm/rv in place (float64); feed them back for the next step.
        _, rm, rv = torch_bn(xs, gamma, beta, rm, rv, None, True, eps, interleaving)
        steps.append({"input": flat(xs), "moving_mean": flat(rm), "moving_variance": flat(rv)})

    d = {
        "case": name,
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "batch_shape": list(shape),
        "interleaving": interleaving,
        "channels": c,
        "epsilon": eps,
        "torch_momentum": TORCH_MOMENTUM,
        "rho": RHO,
        "variance_estimator": "Unbiased",
        "input": flat(x),
        "scaling": flat(gamma),
        "biases": flat(beta),
        "moving_mean": flat(mm),
        "moving_variance": flat(mv),
        "grad_output": flat(g),
        "train": {k: flat(train[k]) for k in ("output", "grad_input", "grad_scaling",
                                                "grad_biases", "batch_mean",
                                                "batch_variance_biased")},
        "test": {k: flat(test[k]) for k in ("output", "grad_input", "grad_scaling",
                                              "grad_biases")},
        "steps": steps,
    }
    check_case(d, x, gamma, beta, mm, mv, g, step_inputs, eps, c_axis)
    return d


def dumps(d):
    """JSON with one top-level key per line (readable diffs); lists stay on one line.
    json uses repr() for floats, which round-trips exactly."""
    def dump(v, indent):
        if isinstance(v, dict):
            pad = " " * (indent + 2)
            items = [f"{pad}{json.dumps(k)}: {dump(x, indent + 2)}" for k, x in v.items()]
            return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
        if isinstance(v, list) and v and isinstance(v[0], dict):
            pad = " " * (indent + 2)
            return "[\n" + ",\n".join(pad + json.dumps(x) for x in v) + "\n" + " " * indent + "]"
        return json.dumps(v)
    return dump(d, 0) + "\n"


def check_inputs_float32_exact(d):
    check_float32_exact(d, ("input", "scaling", "biases", "moving_mean", "moving_variance", "grad_output"), d["case"])
    for k, step in enumerate(d["steps"]):
        check_float32_exact(step, ("input",), f"{d['case']} step {k}")


def main():
    torch.manual_seed(0)  # data comes from numpy; fixed anyway in case torch RNG gets used
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, (shape, interleaving, eps) in CASES.items():
        d = make_case(name, shape, interleaving, eps)
        check_inputs_float32_exact(d)
        write_case(OUT_DIR, name, d, dumps(d))


if __name__ == "__main__":
    main()
