"""Reward-model loss and gradients of one batch against PyTorch.

A tiny random Qwen2 model (tests/pyref/model_ref.py in float64) with a scalar
head r = w·h + b read at each sequence's last real token, on a right-padded
batch of 6 sequences of varying lengths. aha (tests/test_rm_grad.c) runs it in
micro-batches of 2 rows as:
- pairwise: sequences 0..2 chosen, 3..5 rejected, per-pair margins; TRL's
  RewardTrainer loss, -logsigmoid(r_c - r_r - margin).mean();
- pointwise: all 6 with labels 0/1; binary_cross_entropy_with_logits, mean.
Checked: the loss (relative error <= 1e-5), the scores (<= 1e-5), dLoss/dr
and every gradient of the trunk and of score.weight / score.bias (normalized
error <= 1e-4); and the two objectives' gradients differ.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pyref"))
import model_ref  # noqa: E402
from fixture_io import f32, nerr, run_fixture  # noqa: E402

TMP = os.environ.get("TEST_TMP", "/tmp")
CFG = dict(model_type="qwen2", vocab_size=53, hidden_size=24, num_hidden_layers=2, num_attention_heads=4,
           num_key_value_heads=2, head_dim=6, intermediate_size=40, rope_theta=1000000.0, rms_norm_eps=1e-6,
           tie_word_embeddings=1, attention_bias=1, qk_norm=0, max_position_embeddings=64)
LENS = [12, 7, 15, 9, 4, 15]
MARGIN = [0.0, 0.5, -0.25]
LABEL = [1, 0, 1, 1, 0, 0]
MICRO = 2


def main():
    gen = torch.Generator().manual_seed(13)
    S, T, C = len(LENS), max(LENS), CFG["hidden_size"]
    ids = torch.randint(0, CFG["vocab_size"], (S, T), generator=gen)
    P = model_ref.random_params(CFG, gen)
    names = [n for n, _ in model_ref.param_names(CFG)]
    head = f32(0.4 * torch.randn(C + 1, generator=gen, dtype=torch.float64))
    payload = dict(CFG, S=S, T=T, micro=MICRO, ids=ids.ravel().tolist(), lens=LENS, head=head.tolist(),
                   margin=MARGIN, label=LABEL)
    out = run_fixture("test_rm_grad", os.path.join(TMP, "fixture_rm_grad"), payload, P, names)
    n_grad = sum(P[n].numel() for n in names)
    per_case = 1 + 2 * S + n_grad + C + 1
    if out.size != 2 * per_case:
        sys.exit(f"FAIL out.bin has {out.size} numbers, expected {2 * per_case}")
    last = torch.tensor(LENS) - 1
    fails, grads = [], []
    for case, name in enumerate(("pairwise", "pointwise")):
        o = out[case * per_case:(case + 1) * per_case]
        c_loss, c_score, c_d = o[0], o[1:1 + S], o[1 + S:1 + 2 * S]
        c_grads = o[1 + 2 * S:]
        params = {n: P[n].clone().requires_grad_(True) for n in names}
        w = head[:C].clone().requires_grad_(True)
        b = head[C:].clone().requires_grad_(True)
        h = model_ref.hidden(CFG, params, ids)
        r = h[torch.arange(S), last] @ w + b[0]
        r.retain_grad()
        if case == 0:
            k = S // 2
            loss = -F.logsigmoid(r[:k] - r[k:] - torch.tensor(MARGIN, dtype=torch.float64)).mean()
        else:
            loss = F.binary_cross_entropy_with_logits(r, torch.tensor(LABEL, dtype=torch.float64))
        loss.backward()
        ref = torch.cat([params[n].grad.ravel() if params[n].grad is not None else torch.zeros(params[n].numel(),
                         dtype=torch.float64) for n in names] + [w.grad, b.grad])
        errs = dict(loss=abs(c_loss - float(loss)) / abs(float(loss)), score=nerr(c_score, r.detach().numpy()),
                    dr=nerr(c_d, r.grad.numpy()), grad=nerr(c_grads, ref.numpy()),
                    head=nerr(c_grads[n_grad:], torch.cat([w.grad, b.grad]).numpy()))
        at, worst = 0, (0.0, "")
        for n in names:
            m = P[n].numel()
            worst = max(worst, (nerr(c_grads[at:at + m], ref[at:at + m].numpy()), n))
            at += m
        grads.append(c_grads)
        for key, lim in (("loss", 1e-5), ("score", 1e-5), ("dr", 1e-4), ("grad", 1e-4), ("head", 1e-4)):
            if errs[key] > lim:
                fails.append(f"{name}: {key} error {errs[key]:.3g}")
        if worst[0] > 1e-4:
            fails.append(f"{name}: gradient of {worst[1]} error {worst[0]:.3g}")
        print(f"{name}: loss {c_loss:.6f} (PyTorch {float(loss):.6f}), errors "
              + ", ".join(f"{k} {v:.1e}" for k, v in errs.items()) + f", worst tensor {worst[1]} {worst[0]:.1e}")
    d = nerr(grads[0], grads[1])
    print(f"pairwise vs pointwise gradients differ by {d:.3f}")
    if d < 0.05:
        fails.append(f"the two objectives' gradients differ by only {d:.3g}")
    for m in fails:
        print("FAIL", m)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
