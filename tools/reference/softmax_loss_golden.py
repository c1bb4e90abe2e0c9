#!/usr/bin/python3
"""Golden reference data for netkit's Softmax, CrossEntropyLoss and MeanSquaredLoss layers,
computed with PyTorch.

Run from anywhere (needs Debian's python3 with torch + numpy):
    /usr/bin/python3 tools/reference/softmax_loss_golden.py

Writes one JSON file per case to data/golden/softmax_loss/<case>.json (relative to the repo
root). Inputs, targets and output gradients are float32 values (stored exactly as Python
floats); the reference results are PyTorch functions and their autograd gradients in float64
from those values:
  Softmax:          torch.softmax over the dimension netkit's "Level" names (batch dim skipped)
  CrossEntropyLoss: "Logits" inputs: F.cross_entropy (index targets and, since torch 1.10,
                    probability targets), reduction "none"; "Probabilities" inputs: F.nll_loss
                    of torch.log(p) (index) or -(t * log p).sum over classes (probabilities).
                    Classes are netkit's LAST dimension (torch's dim 1, so maps are permuted);
                    per-position losses are averaged over the positions of each example.
  MeanSquaredLoss:  F.mse_loss, reduction "none", averaged over each example's elements.
The loss gradient dL/dLoss ("grad_output", one number per example) is random. Every case is
cross-checked against a plain numpy recomputation; the script raises if anything disagrees.
Output is deterministic: re-running produces byte-identical files.
"""
import os
import zlib

import numpy as np
import torch
import torch.nn.functional as F

from golden_io import check_float32_exact, dumps, golden_dir, write_case

OUT_DIR = golden_dir("softmax_loss")
GENERATOR = "tools/reference/softmax_loss_golden.py"
RTOL, ATOL = 1e-12, 1e-12

# Softmax: name -> (batch shape, Level)
SOFTMAX = {
    "softmax_vector": ((4, 7), -1),
    "softmax_single_class": ((3, 1), -1),
    "softmax_matrix_last": ((3, 4, 5), -1),
    "softmax_matrix_first": ((3, 4, 5), 1),
    "softmax_channels_first": ((2, 3, 4, 5), 1),
    "softmax_middle": ((2, 3, 4, 5), 2),
    "softmax_minus2": ((2, 3, 4, 5), -2),
    "softmax_large_logits": ((4, 5), -1),
}

# CrossEntropyLoss: name -> (batch shape, TargetForm, InputForm)
CROSS_ENTROPY = {
    "ce_index_probabilities": ((6, 5), "Index", "Probabilities"),
    "ce_index_logits": ((6, 5), "Index", "Logits"),
    "ce_probabilities_probabilities": ((5, 4), "Probabilities", "Probabilities"),
    "ce_probabilities_logits": ((5, 4), "Probabilities", "Logits"),
    "ce_index_logits_map": ((2, 3, 2, 4), "Index", "Logits"),
    "ce_index_probabilities_map": ((2, 3, 4), "Index", "Probabilities"),
    "ce_probabilities_logits_map": ((3, 2, 5), "Probabilities", "Logits"),
    "ce_index_logits_large": ((4, 3), "Index", "Logits"),
    "ce_probabilities_logits_large": ((4, 3), "Probabilities", "Logits"),
}

# MeanSquaredLoss: name -> batch shape
MEAN_SQUARED = {
    "mse_vector": (4, 6),
    "mse_rank3": (2, 3, 4, 2),
    "mse_scalar": (5,),
}


def f32(a):
    return np.asarray(a, dtype=np.float32)


def t64(a, grad=False):
    return torch.from_numpy(np.asarray(a, dtype=np.float64)).requires_grad_(grad)


def flat(a):
    return np.asarray(a, dtype=np.float64).ravel().tolist()


def rng_for(name):
    # Per-case seed derived from the name: adding or reordering cases leaves the others unchanged.
    return np.random.RandomState(zlib.crc32(name.encode()))


def close(a, ref, what):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64).ravel(), np.asarray(ref, dtype=np.float64).ravel(),
                               rtol=RTOL, atol=ATOL, err_msg=what)


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_case(name, shape, level):
    rng = rng_for(name)
    rank = len(shape) - 1
    axis = (level - 1 if level > 0 else rank + level) + 1  # in the batch tensor
    x = f32(rng.standard_normal(shape) * 3)
    if name == "softmax_large_logits":
        x = f32([[1e4, 0, -1e4, 5, 1e4 - 1], [-1e4, -1e4, -1e4, -1e4, -1e4], [1e4, 1e4, -1e4, 0, 3],
                 [0.5, -1e4, 2, 1e4, -3]])
    g = f32(rng.standard_normal(shape))
    xt = t64(x, True)
    y = torch.softmax(xt, dim=axis)
    y.backward(t64(g))
    d = {"case": name, "generator": GENERATOR, "torch_version": torch.__version__, "layer": "Softmax",
         "options": {"Level": level}, "batch_shape": list(shape), "input": flat(x), "grad_output": flat(g),
         "output": flat(y.detach().numpy()), "grad_input": flat(xt.grad.numpy())}
    yn = np_softmax(x.astype(np.float64), axis)
    close(d["output"], yn, name + ": output")
    gn = g.astype(np.float64)
    close(d["grad_input"], yn * (gn - (gn * yn).sum(axis=axis, keepdims=True)), name + ": grad_input")
    return d, ("input", "grad_output")


def cross_entropy_case(name, shape, target_form, input_form):
    rng = rng_for(name)
    n, classes, lead = shape[0], shape[-1], tuple(shape[:-1])
    logits = rng.standard_normal(shape) * 2
    if name.endswith("_large"):
        logits = np.array([[1e4, -1e4, 0], [-1e4, 1e4, 1e4], [3, -1e4, 1e4 - 2], [-1e4, -1e4, -1e4]])
    x = f32(logits if input_form == "Logits" else np_softmax(logits, -1))
    if target_form == "Index":
        t = f32(rng.randint(0, classes, lead))
        if name.endswith("_large"):
            t = f32([1, 2, 0, 1])
    else:
        t = f32(np_softmax(rng.standard_normal(shape) * 2, -1))
    g = f32(rng.standard_normal(n))
    xt, tt = t64(x, True), t64(t, target_form == "Probabilities")
    classes_first = list(range(len(shape)))
    classes_first.insert(1, classes_first.pop())  # torch wants the classes at dim 1
    if input_form == "Logits":
        target_arg = tt.long() if target_form == "Index" else tt.permute(classes_first)
        per_position = F.cross_entropy(xt.permute(classes_first), target_arg, reduction="none")
    elif target_form == "Index":
        per_position = F.nll_loss(torch.log(xt).permute(classes_first), tt.long(), reduction="none")
    else:
        per_position = -(tt * torch.log(xt)).sum(dim=-1)
    loss = per_position.reshape(n, -1).mean(dim=1)
    loss.backward(t64(g))
    d = {"case": name, "generator": GENERATOR, "torch_version": torch.__version__, "layer": "CrossEntropyLoss",
         "options": {"TargetForm": target_form, "InputForm": input_form}, "batch_shape": list(shape),
         "target_shape": list(t.shape), "input": flat(x), "target": flat(t), "grad_output": flat(g),
         "loss": flat(loss.detach().numpy()), "grad_input": flat(xt.grad.numpy())}
    if target_form == "Probabilities":
        d["grad_target"] = flat(tt.grad.numpy())
    # numpy: -sum t log p per position, averaged; dL/dx and dL/dt by the closed forms.
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    onehot = np.eye(classes)[t.astype(np.int64)] if target_form == "Index" else t.astype(np.float64)
    if input_form == "Logits":
        m = x64.max(axis=-1, keepdims=True)
        logp = x64 - m - np.log(np.exp(x64 - m).sum(axis=-1, keepdims=True))
    else:
        logp = np.log(x64)
    positions = int(np.prod(lead[1:])) if len(lead) > 1 else 1
    w = (g64 / positions).reshape((n,) + (1,) * (len(shape) - 1))
    close(d["loss"], (-(onehot * logp).sum(axis=-1)).reshape(n, -1).mean(axis=1), name + ": loss")
    if input_form == "Logits":
        dx = w * (np.exp(logp) * onehot.sum(axis=-1, keepdims=True) - onehot)
    else:
        dx = -w * onehot / x64
    close(d["grad_input"], dx, name + ": grad_input")
    if target_form == "Probabilities":
        close(d["grad_target"], -w * logp, name + ": grad_target")
    return d, ("input", "target", "grad_output")


def mean_squared_case(name, shape):
    rng = rng_for(name)
    n = shape[0]
    x, t, g = f32(rng.standard_normal(shape)), f32(rng.standard_normal(shape)), f32(rng.standard_normal(n))
    xt, tt = t64(x, True), t64(t, True)
    loss = F.mse_loss(xt, tt, reduction="none").reshape(n, -1).mean(dim=1)
    loss.backward(t64(g))
    d = {"case": name, "generator": GENERATOR, "torch_version": torch.__version__, "layer": "MeanSquaredLoss",
         "options": {}, "batch_shape": list(shape), "target_shape": list(shape), "input": flat(x), "target": flat(t),
         "grad_output": flat(g), "loss": flat(loss.detach().numpy()), "grad_input": flat(xt.grad.numpy()),
         "grad_target": flat(tt.grad.numpy())}
    e = (x.astype(np.float64) - t.astype(np.float64)).reshape(n, -1)
    close(d["loss"], (e * e).mean(axis=1), name + ": loss")
    dx = 2 * e * g.astype(np.float64)[:, None] / e.shape[1]
    close(d["grad_input"], dx, name + ": grad_input")
    close(d["grad_target"], -dx, name + ": grad_target")
    return d, ("input", "target", "grad_output")


def main():
    torch.manual_seed(0)  # data comes from numpy; fixed anyway in case torch's generator gets used
    os.makedirs(OUT_DIR, exist_ok=True)
    cases = [softmax_case(k, *v) for k, v in SOFTMAX.items()]
    cases += [cross_entropy_case(k, *v) for k, v in CROSS_ENTROPY.items()]
    cases += [mean_squared_case(k, v) for k, v in MEAN_SQUARED.items()]
    for d, exact_keys in cases:
        check_float32_exact(d, exact_keys, d["case"])
        write_case(OUT_DIR, d["case"], d, dumps(d))


if __name__ == "__main__":
    main()
