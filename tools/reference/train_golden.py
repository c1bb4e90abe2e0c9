#!/usr/bin/python3
"""Golden reference data for NetTrain: ten SGD steps of small nets, computed with PyTorch.

Run from anywhere (needs Debian's python3 with torch 1.13 + numpy):
    /usr/bin/python3 tools/reference/train_golden.py

Writes data/golden/train/<case>.json. Each case holds the initial arrays (float32 values), the
training inputs and class targets, the options, and after every one of ten steps the batch loss,
and after the last step every array, including BatchNorm's running statistics. PyTorch runs in
float64 from the float32 starting values, so it is more accurate than any float32 run.

Mapping to netkit:
  - torch.optim.SGD(lr, momentum=0.9, weight_decay=l2) == netkit SGD (L2 factor 1 on every array)
  - BatchNorm momentum p (weight on the new batch) == netkit "Momentum" rho = 1 - p; PyTorch
    stores the unbiased batch variance == netkit "VarianceEstimator" -> "Unbiased"
  - nn.CrossEntropyLoss (mean over the batch) on logits == netkit Softmax + CrossEntropyLoss
    with class-index targets (attached by NetTrain), mean over the batch
  - batches are the examples in order (netkit "shuffle" off), BATCH examples each
Output is deterministic: re-running produces byte-identical files.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "data", "golden", "train")
GENERATOR = "tools/reference/train_golden.py"

STEPS = 10
BATCH = 4
LR = 0.1
MOMENTUM = 0.9
L2 = 1e-3
BN_MOMENTUM = 0.1  # PyTorch's: netkit "Momentum" 0.9
EPS = 1e-3


def f32(a):
    return np.asarray(a, dtype=np.float32)


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def vector_net():
    return nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4, eps=EPS, momentum=BN_MOMENTUM), nn.ReLU(),
                         nn.Linear(4, 3))


def conv_net():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, eps=EPS, momentum=BN_MOMENTUM), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3))


# name: (net factory, per-example input shape, netkit array names in module order)
CASES = {
    "vector": (vector_net, (5,), [("lin1", 0), ("bn", 1), ("lin2", 3)]),
    "conv": (conv_net, (1, 6, 6), [("conv", 0), ("bn", 1), ("lin", 5)]),
}


def arrays_of(net, names):
    out = {}
    for name, i in names:
        m = net[i]
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            out[name + "/Scaling"] = m.weight
            out[name + "/Biases"] = m.bias
            out[name + "/MovingMean"] = m.running_mean
            out[name + "/MovingVariance"] = m.running_var
        else:
            out[name + "/Weights"] = m.weight
            out[name + "/Biases"] = m.bias
    return out


def run_case(name, factory, shape, names):
    torch.manual_seed(1234 + len(name))
    rng = np.random.default_rng(2024 + len(name))
    net = factory()
    # Float32 starting values (also the values netkit is given).
    initial = {}
    for key, t in arrays_of(net, names).items():
        v = f32(t.detach().numpy())
        if key.endswith("MovingVariance"):
            v = f32(rng.uniform(0.5, 1.5, size=v.shape))
        if key.endswith("MovingMean"):
            v = f32(rng.uniform(-0.5, 0.5, size=v.shape))
        if key.endswith("Scaling"):
            v = f32(rng.uniform(0.5, 1.5, size=v.shape))
        initial[key] = v
    n = STEPS * BATCH
    x = f32(rng.normal(0.0, 1.0, size=(n,) + shape))
    y = rng.integers(0, 3, size=n)
    net = net.double()
    with torch.no_grad():
        for key, t in arrays_of(net, names).items():
            t.copy_(torch.from_numpy(initial[key].astype(np.float64)))
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=L2)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for s in range(STEPS):
        xb = torch.from_numpy(x[s * BATCH:(s + 1) * BATCH].astype(np.float64))
        yb = torch.from_numpy(y[s * BATCH:(s + 1) * BATCH]).long()
        opt.zero_grad()
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    final = {k: floats(t.detach().numpy()) for k, t in arrays_of(net, names).items()}
    return {
        "generator": GENERATOR,
        "torch_version": torch.__version__,
        "case": name,
        "options": {"steps": STEPS, "batch_size": BATCH, "learning_rate": LR, "momentum": MOMENTUM, "l2": L2,
                    "bn_momentum_netkit": 1 - BN_MOMENTUM, "epsilon": EPS, "variance_estimator": "Unbiased"},
        "input_shape": [n] + list(shape),
        "inputs": floats(x),
        "targets": [int(v) for v in y],
        "initial": {k: {"shape": list(v.shape), "data": floats(v)} for k, v in initial.items()},
        "batch_losses": losses,
        "final": final,
    }


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, (factory, shape, names) in CASES.items():
        doc = run_case(name, factory, shape, names)
        with open(os.path.join(OUT_DIR, name + ".json"), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        print("wrote", name, "final loss", doc["batch_losses"][-1])


if __name__ == "__main__":
    main()
