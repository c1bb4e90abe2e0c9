"""What the golden-data generators (tools/reference/*_golden.py) share: the layout of a case
file (JSON, one top-level key per line for readable diffs, lists on one line; json writes
floats with repr(), which round-trips exactly), the check that stored inputs are float32
values, and writing a case with a round-trip check."""
import json
import os

import numpy as np

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def golden_dir(name):
    return os.path.join(REPO_ROOT, "data", "golden", name)


def dumps(d):
    items = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in d.items()]
    return "{\n" + ",\n".join(items) + "\n}\n"


def check_float32_exact(d, keys, label):
    """Stored inputs must be exactly representable as float32."""
    for key in keys:
        a = np.array(d[key], dtype=np.float64)
        assert np.array_equal(a.astype(np.float32).astype(np.float64), a), f"{label}: {key}"


def write_case(out_dir, name, d, text):
    """Writes `text`, the JSON form of case `d`, to out_dir/name.json after checking that it
    reads back as `d`."""
    assert json.loads(text) == d, f"{name}: JSON round trip changed values"
    path = os.path.join(out_dir, name + ".json")
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({len(text)} bytes)")
