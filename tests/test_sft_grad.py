"""Loss and parameter gradients of one SFT batch against PyTorch.

A batch of 4 rows of varying lengths, right-padded, on a tiny random Qwen2
model: prompts are masked and one row has two trained spans (as a chat with two
assistant turns). aha runs sft_batch_pass in micro-batches of 3 rows
(tests/test_sft_grad.c) once completion-only and once on every token; here the
float64 reference decoder (tests/pyref/model_ref.py) feeds TRL's objective,
cross-entropy over the shifted labels with ignore_index -100 at masked
positions, summed and divided by the batch's target count. Checked: the loss
(relative error <= 1e-5), the targets that are their position's argmax
(mean_token_accuracy's count, exact), dLoss/dlogp and every parameter gradient (normalized
error <= 1e-4); dLoss/dlogp in aha and dLoss/dlogits in PyTorch are exactly 0
at every masked position; and the two objectives' gradients differ, so the
mask is what keeps the prompt out.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pyref"))
import model_ref  # noqa: E402
from fixture_io import nerr, run_fixture, worst_grad  # noqa: E402

TMP = os.environ.get("TEST_TMP", "/tmp")
CFG = dict(model_type="qwen2", vocab_size=53, hidden_size=24, num_hidden_layers=2, num_attention_heads=4,
           num_key_value_heads=2, head_dim=6, intermediate_size=40, rope_theta=1000000.0, rms_norm_eps=1e-6,
           tie_word_embeddings=1, attention_bias=1, qk_norm=0, max_position_embeddings=64)
LENS = [12, 7, 15, 5]
SPANS = [[(5, 12)], [(2, 7)], [(4, 7), (11, 15)], [(1, 5)]]   # trained tokens [a, b) per row
MICRO = 3


def reference(P, names, ids, targets, N):
    """TRL's masked cross-entropy; returns loss, parameter grads, logits, dLoss/dlogits."""
    params = {n: P[n].clone().requires_grad_(True) for n in names}
    x = model_ref.hidden(CFG, params, ids)
    head = params["model.embed_tokens.weight"]
    logits = x @ head.T
    logits.retain_grad()
    labels = torch.where(targets > 0, ids[:, 1:], torch.full_like(ids[:, 1:], -100))
    V = CFG["vocab_size"]
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), labels.reshape(-1), ignore_index=-100, reduction="sum") / N
    loss.backward()
    return float(loss), params, logits.detach(), logits.grad


def main():
    gen = torch.Generator().manual_seed(7)
    R, T = len(LENS), max(LENS)
    ids = torch.randint(0, CFG["vocab_size"], (R, T), generator=gen)
    train = torch.zeros(R, T)
    for r, spans in enumerate(SPANS):
        for a, b in spans:
            train[r, a:b] = 1
    P = model_ref.random_params(CFG, gen)
    names = [n for n, _ in model_ref.param_names(CFG)]
    # Every third next token is the model's argmax (logits at t do not depend on
    # token t+1), so the accuracy count has hits to find.
    with torch.no_grad():
        for t in range(0, T - 1, 3):
            ids[:, t + 1] = (model_ref.hidden(CFG, P, ids) @ P["model.embed_tokens.weight"].T)[:, t].argmax(-1)
    payload = dict(CFG, R=R, T=T, micro=MICRO, ids=ids.ravel().tolist(), lens=LENS, train=train.ravel().tolist())
    out = run_fixture("test_sft_grad", os.path.join(TMP, "fixture_sft_grad"), payload, P, names)
    n_grad = sum(P[n].numel() for n in names)
    per_case = 2 + R * T + n_grad
    if out.size != 2 * per_case:
        sys.exit(f"FAIL out.bin has {out.size} numbers, expected {2 * per_case}")

    inside = torch.zeros(R, T - 1)   # position t predicts token t+1 of the row
    for r in range(R):
        inside[r, :LENS[r] - 1] = 1
    fails, grads = [], []
    for case, name in enumerate(("completion-only", "every token")):
        o = out[case * per_case:(case + 1) * per_case]
        c_loss, c_hits, c_g, c_grads = o[0], o[1], torch.tensor(o[2:2 + R * T]).view(R, T), o[2 + R * T:]
        targets = inside * (train[:, 1:] if case == 0 else 1)
        N = float(targets.sum())
        loss, params, logits, dlogits = reference(P, names, ids, targets, N)
        hits = int(((logits[:, :-1].argmax(-1) == ids[:, 1:]) & (targets > 0)).sum())
        if c_hits != hits:
            fails.append(f"{name}: {c_hits:.0f} targets are their position's argmax, PyTorch says {hits}")
        g_ref = torch.zeros(R, T, dtype=torch.float64)
        g_ref[:, :-1] = -targets / N
        masked = torch.zeros(R, T, dtype=torch.bool)
        masked[:, :-1] = targets == 0
        masked[:, -1] = True
        errs = dict(loss=abs(c_loss - loss) / abs(loss), g=nerr(c_g.numpy(), g_ref.numpy()))
        errs["grad"], wname = worst_grad(c_grads, params, names)
        grads.append(c_grads)
        for k, lim in (("loss", 1e-5), ("g", 1e-4), ("grad", 1e-4)):
            if errs[k] > lim:
                fails.append(f"{name}: {k} error {errs[k]:.3g}" + (f" ({wname})" if k == "grad" else ""))
        if bool((c_g[masked] != 0).any()):
            fails.append(f"{name}: aha gives a masked position a nonzero dLoss/dlogp")
        if bool((dlogits[masked].abs().sum(-1) != 0).any()):
            fails.append(f"{name}: PyTorch gives a masked position nonzero dLoss/dlogits")
        print(f"{name}: {int(N)} targets ({hits} argmax hits), {int(masked.sum())} masked positions, loss {c_loss:.6f}, errors "
              + ", ".join(f"{k} {v:.1e}" for k, v in errs.items()))
    d = nerr(grads[0], grads[1])
    print(f"completion-only vs every-token gradients differ by {d:.3f}")
    if d < 0.05:
        fails.append(f"the prompt mask changes the gradients by only {d:.3g}")
    for m in fails:
        print("FAIL", m)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
