#!/usr/bin/python3
"""netkit vs PyTorch 1.13 training fashion_cnn side by side, measured in one run.

    /usr/bin/python3 tools/bench/train_compare.py [--build build | --bench PROGRAM] [--epochs 5] [--threads 2]
        [--seed 1] [--data /usr/share/datasets/fashion-mnist] [--init /tmp/fashion_cnn_init.json] [--sequential]

Starts build/tools/bench_training first (it initializes data/models/fashion_cnn.json from the
seed, writes the initialized model to --init and loads the data), then
tools/bench/train_bench_torch.py, which loads the same arrays and trains on the same batches in
the same order. By default the two ALTERNATE epoch by epoch (netkit epoch 1, torch epoch 1,
netkit epoch 2, ...; each waits on stdin while the other trains), so that on a shared, loaded
machine both see about the same load; --sequential runs all of netkit's epochs, then all of
PyTorch's. Prints every JSON line of both, then one summary line: the epoch-time ratio netkit /
torch (mean and median of the per-epoch ratios, and the ratio of the total times; target <= 0.5),
the test-accuracy difference after the last epoch in percentage points (target within 0.5), the
peak memory of each, and the load average before and after. OPENBLAS_CORETYPE is passed through
as set (or unset: `env -u OPENBLAS_CORETYPE ...`); the OpenBLAS kernel netkit ran is in its
lines ("openblas_core").
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


class Runner:
    """One benchmark process; its stdout is read line by line as JSON."""

    def __init__(self, cmd):
        print("# " + " ".join(cmd), flush=True)
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
        self.epochs, self.final = [], None

    def read_line(self):
        while True:
            text = self.proc.stdout.readline()
            if not text:
                self.finish()
                sys.exit("train_compare: %s ended early" % self.cmd[0])
            if text.strip():
                return self.take(text)

    def take(self, text):  # echo one JSON line and keep it as an epoch or the final line
        print(text.rstrip(), flush=True)
        line = json.loads(text)
        if line.get("final"):
            self.final = line
        elif "epoch" in line:
            self.epochs.append(line)
        return line

    def go(self):  # --lockstep: run one epoch and read its line
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return self.read_line()

    def finish(self):
        self.proc.stdin.close()
        for text in self.proc.stdout:
            if text.strip():
                self.take(text)
        if self.proc.wait() != 0:
            sys.exit("train_compare: %s failed with exit status %d" % (self.cmd[0], self.proc.returncode))


def load_average():
    with open("/proc/loadavg") as f:
        return [float(v) for v in f.read().split()[:3]]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--bench", help="the bench_training program (default: BUILD/tools/bench_training)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--init", default="/tmp/fashion_cnn_init.json", help="where the initialized model is written")
    p.add_argument("--sequential", action="store_true",
                   help="run all of netkit's epochs, then all of PyTorch's (default: alternate epoch by epoch)")
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant", help="learning rate schedule (both)")
    args = p.parse_args()

    load_before = load_average()
    common = ["--epochs", str(args.epochs), "--threads", str(args.threads), "--data", args.data, "--schedule", args.schedule]
    netkit_cmd = [args.bench or os.path.join(args.build, "tools", "bench_training"), "--init-out", args.init,
                  "--model", os.path.join(ROOT, "data", "models", "fashion_cnn.json"), "--seed", str(args.seed)] + common
    torch_cmd = [sys.executable, os.path.join(HERE, "train_bench_torch.py"), "--init", args.init] + common
    if args.sequential:
        netkit = Runner(netkit_cmd)
        netkit.finish()
        torch = Runner(torch_cmd)
        torch.finish()
    else:
        netkit = Runner(netkit_cmd + ["--lockstep"])
        netkit.read_line()  # ready: the initialized model is written
        torch = Runner(torch_cmd + ["--lockstep"])
        torch.read_line()
        for _ in range(args.epochs):
            netkit.go()
            torch.go()
        netkit.finish()
        torch.finish()
    netkit_epochs, netkit_final = netkit.epochs, netkit.final
    torch_epochs, torch_final = torch.epochs, torch.final

    ratios = sorted(n["epoch_seconds"] / t["epoch_seconds"] for n, t in zip(netkit_epochs, torch_epochs))
    netkit_total = sum(n["epoch_seconds"] for n in netkit_epochs)
    torch_total = sum(t["epoch_seconds"] for t in torch_epochs)
    mean_ratio = sum(ratios) / len(ratios)
    median_ratio = ratios[len(ratios) // 2] if len(ratios) % 2 else (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2
    accuracy_points = 100 * (netkit_epochs[-1]["test_accuracy"] - torch_epochs[-1]["test_accuracy"])
    summary = {
        "summary": "training",
        "epochs": len(ratios),
        "openblas_core": netkit_epochs[-1].get("openblas_core", ""),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "netkit_epoch_seconds": [round(n["epoch_seconds"], 2) for n in netkit_epochs],
        "torch_epoch_seconds": [round(t["epoch_seconds"], 2) for t in torch_epochs],
        "mode": "sequential" if args.sequential else "alternating epochs", "schedule": args.schedule,
        "epoch_time_ratio_netkit_over_torch": round(mean_ratio, 3),
        "median_epoch_time_ratio": round(median_ratio, 3),
        "total_time_ratio_netkit_over_torch": round(netkit_total / torch_total, 3),
        "time_target_met": mean_ratio <= 0.5,
        "netkit_test_accuracy": netkit_epochs[-1]["test_accuracy"],
        "torch_test_accuracy": torch_epochs[-1]["test_accuracy"],
        "accuracy_difference_points": round(accuracy_points, 2),
        "accuracy_target_met": abs(accuracy_points) <= 0.5,
        "netkit_peak_memory_mb": round(netkit_final["peak_memory_mb"], 1),
        "torch_peak_memory_mb": round(torch_final["peak_memory_mb"], 1),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
