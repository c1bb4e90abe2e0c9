#!/usr/bin/python3
"""netkit vs PyTorch batch normalization, measured in one run on this machine.

    /usr/bin/python3 tools/bench/bn_compare.py [--build build] [--threads 2] [--repeat-seconds 1] [--rounds 3]

Runs build/tools/bench_batch_norm and tools/bench/bn_bench_torch.py alternately `rounds` times
(so both see the same machine conditions), keeps each line's median over the rounds, prints
every JSON line, then one summary line per op: the speed-up (torch ms / netkit ms) per shape and
its geometric mean, and for the largest shape netkit's ms over the memory-traffic bound.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def run(cmd, env):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat-seconds", type=float, default=1.0)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    env = dict(os.environ)
    common = ["--threads", str(args.threads), "--repeat-seconds", str(args.repeat_seconds)]
    netkit_cmd = [os.path.join(args.build, "tools", "bench_batch_norm")] + common
    torch_cmd = [sys.executable, os.path.join(HERE, "bn_bench_torch.py")] + common

    samples = {}  # (impl, op, shape) -> list of line dicts
    infos = []
    for _ in range(args.rounds):
        for cmd in (netkit_cmd, torch_cmd):
            for line in run(cmd, env):
                if "info" in line:
                    infos.append(line)
                    continue
                samples.setdefault((line["impl"], line["op"], tuple(line["shape"])), []).append(line)

    for info in infos[:2]:
        print(json.dumps(info))
    merged = {}
    for key, lines in sorted(samples.items()):
        line = dict(lines[0])
        line["ms"] = round(statistics.median(l["ms"] for l in lines), 4)
        if "bound_ms" in line:
            line["bound_ms"] = round(statistics.median(l["bound_ms"] for l in lines), 4)
        merged[key] = line
        print(json.dumps(line))

    shapes = sorted({k[2] for k in merged}, key=lambda s: -math.prod(s))
    largest = shapes[0]
    for op in ("test_fwd", "train_fwd", "train_fwd_bwd"):
        speedups = {str(list(s)): round(merged[("torch", op, s)]["ms"] / merged[("netkit", op, s)]["ms"], 2) for s in shapes}
        geomean = math.exp(sum(math.log(v) for v in speedups.values()) / len(speedups))
        big = merged[("netkit", op, largest)]
        print(json.dumps({"summary": op, "speedup_vs_torch": speedups, "geomean": round(geomean, 2),
                          "largest_shape_ms_over_bound": round(big["ms"] / big["bound_ms"], 2)}))


if __name__ == "__main__":
    main()
