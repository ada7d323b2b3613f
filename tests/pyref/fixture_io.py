"""Shared plumbing of the fixture-based reference tests (test_grpo_grad.py,
test_value.py): locating the C fixture program, writing fixture.json and
params.bin, running it, and the normalized error they all judge by."""
import json
import os
import subprocess
import sys

import numpy as np


def find_exe(name):
    """build-debug/tests/NAME (sanitizers) if built, else build/tests/NAME."""
    for b in ("build-debug", "build"):
        p = os.path.join(b, "tests", name)
        if os.path.exists(p):
            return p
    sys.exit(f"{name} binary not built (make tests debug)")


def nerr(a, b):
    """||a - b|| / max(||a||, ||b||) (the absolute error when both are 0)."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    s = max(np.linalg.norm(a), np.linalg.norm(b))
    return np.linalg.norm(a - b) / s if s > 0 else np.linalg.norm(a - b)


def worst_grad(c_grads, params, names):
    """The largest normalized error of aha's flat gradients (tensors in names
    order) against each params[n].grad, and the tensor it is in."""
    at, worst, where = 0, 0.0, ""
    for n in names:
        ref_g = params[n].grad.numpy()
        e = nerr(c_grads[at:at + ref_g.size], ref_g)
        at += ref_g.size
        if e > worst:
            worst, where = e, n
    return worst, where


def f32(x):
    """A float64 tensor rounded through float32, so C and PyTorch see one value."""
    return x.float().double()


def run_fixture(exe_name, d, payload, P, names):
    """Write d/fixture.json (payload + the tensor order) and d/params.bin
    (float32), run `exe --fixture d`, and return d/out.bin as float64."""
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "fixture.json"), "w") as f:
        json.dump(dict(payload, tensors=names), f)
    with open(os.path.join(d, "params.bin"), "wb") as f:
        for n in names:
            f.write(P[n].float().numpy().tobytes())
    subprocess.run([find_exe(exe_name), "--fixture", d], check=True)
    return np.fromfile(os.path.join(d, "out.bin"), dtype=np.float64)
