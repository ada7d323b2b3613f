"""The bf16 training forward/backward (bf16 weights and activations into the
matmuls, fp32 accumulation, fp32 everywhere else) against the float64 PyTorch
decoder of tests/pyref/model_ref.py, on the configs of test_model_ref.py.
Bounds that fit bf16 (8 bits of mantissa, relative rounding 2^-9): log-probs
(about -5 here) at normalized error <= 1e-2 and within 0.2 absolute of float64
(measured 3-5e-3 and 0.06-0.13); every gradient tensor at cosine similarity
>= 0.99 to float64's and to aha's own fp32 gradient (measured >= 0.997); the
loss along 10 AdamW steps within 5% of float64's (measured 0.6-3.8%, largest
at the last steps, where the loss is smallest). The fp32 run of the same fixture keeps its
own bounds (test_model_ref.py)."""
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pyref"))
import model_ref  # noqa: E402
from test_model_ref import CONFIGS, FIXTURE, STEPS, LR, WD, CLIP, make_fixture, nerr  # noqa: E402

LOGP_ABS, LOGP_NERR, GRAD_COS, LOSS_REL = 0.2, 1e-2, 0.99, 5e-2


def cos(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return 1.0 if na == 0 and nb == 0 else float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def run(d, fixture, precision):
    with open(os.path.join(d, "fixture.json"), "w") as f:
        json.dump(dict(fixture, precision=precision), f)
    rc = subprocess.run([FIXTURE, "--fixture", d]).returncode
    if rc == 77:
        return None
    if rc != 0:
        raise SystemExit(f"fixture exited {rc}")
    return np.fromfile(os.path.join(d, "out.bin"), dtype=np.float32)


def check(cfg, seed, lens=(13, 7, 1, 10)):
    cfg = dict(cfg, max_position_embeddings=64)
    name = cfg["model_type"]
    R, T, temp = len(lens), max(lens), 0.7
    d, fixture, P, names, ids, g, ga = make_fixture(cfg, seed, list(lens), "bf16_" + name)
    out32, out16 = run(d, fixture, "fp32"), run(d, fixture, "bf16")
    if out16 is None:
        print("SKIP: this build has no bf16 (no oneDNN)")
        return None

    for t in P.values():
        t.requires_grad_(True)
    logp, _ = model_ref.forward(cfg, P, ids, lens, temp)
    (g * logp).sum().backward()
    fails = []
    ref = logp.detach().numpy()
    c16 = out16[:R * T].reshape(R, T)
    worst_abs, e = float(np.abs(c16 - ref).max()), nerr(c16, ref)
    print(f"{name}: bf16 logp max abs err {worst_abs:.2e} (fp32 {float(np.abs(out32[:R * T].reshape(R, T) - ref).max()):.2e}), nerr {e:.2e}")
    if worst_abs > LOGP_ABS or e > LOGP_NERR:
        fails.append(f"bf16 logp error {worst_abs:.3g} abs, {e:.3g} normalized")
    at, worst64, worst32 = 2 * R * T, 1.0, 1.0
    for n in names:
        r64 = P[n].grad.numpy()
        c = out16[at:at + r64.size]
        c32 = out32[at:at + r64.size]
        at += r64.size
        s64, s32 = cos(c, r64), cos(c, c32)
        worst64, worst32 = min(worst64, s64), min(worst32, s32)
        if s64 < GRAD_COS or s32 < GRAD_COS:
            fails.append(f"bf16 gradient {n}: cosine {s64:.4f} to float64, {s32:.4f} to fp32")
    print(f"{name}: bf16 gradient cosine, worst tensor: {worst64:.5f} to float64, {worst32:.5f} to fp32")
    # the loss along 10 AdamW steps, against float64 AdamW from the same start
    params = {n: P[n].detach().clone().requires_grad_(True) for n in names}
    opt = torch.optim.AdamW([dict(params=[params[n] for n in names if P[n].dim() == 2], weight_decay=WD),
                             dict(params=[params[n] for n in names if P[n].dim() == 1], weight_decay=0.0)],
                            lr=LR, betas=(0.9, 0.999), eps=1e-8)
    c_loss, worst = out16[at:], 0.0
    for s in range(STEPS + 1):
        opt.zero_grad()
        lp, _ = model_ref.forward(cfg, params, ids, lens, temp)
        loss = (ga * lp).sum()
        worst = max(worst, abs(loss.item() - c_loss[s]) / abs(loss.item()))
        if s < STEPS:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(params.values()), CLIP)
            opt.step()
    print(f"{name}: bf16 loss {c_loss[0]:.6g} -> {c_loss[-1]:.6g}, worst rel err {worst:.2e}")
    if worst > LOSS_REL:
        fails.append(f"bf16 loss along AdamW: rel err {worst:.3g}")
    return fails


def main():
    fails = []
    for i, cfg in enumerate(CONFIGS):
        f = check(cfg, 100 + i)
        if f is None:
            return
        fails += [f"{cfg['model_type']}: {m}" for m in f]
    for m in fails:
        print("FAIL", m)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
