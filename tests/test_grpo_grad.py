"""Parameter gradients of the GRPO-family loss against PyTorch.

One fixed rollout batch on a tiny random Qwen2 model (B = 3 prompts x G = 4
completions of varying lengths, right-padded; the loss covers completion tokens
only; one group has equal rewards) and 24 option sets covering every advantage
scaling, aggregation, ratio level (token / GSPO sequence), KL estimator with
beta > 0, symmetric clip and clip-higher, dual clip, HICRA-boosted tokens and
overlong filtering. aha computes model_forward -> rl_loss_coeffs ->
model_backward (tests/test_grpo_grad.c); here the float64 reference decoder
(tests/pyref/model_ref.py) feeds a loss written the way verl/TRL write it, and
autograd gives dLoss/dlogp and every parameter gradient. Checked per option set:
advantages (<= 1e-6), coefficients and every parameter gradient (normalized
error <= 1e-4), the loss (relative to the sum of |per-token terms|, <= 1e-4) and
the clip counters (exact). The batch is built so that clipping happens (asserted
per option set) and no ratio sits within 1e-3 of a clip bound.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pyref"))
import model_ref  # noqa: E402
from fixture_io import f32, nerr, run_fixture, worst_grad  # noqa: E402

TMP = os.environ.get("TEST_TMP", "/tmp")
SCALES = ["group", "batch", "none"]
AGGS = ["seq-mean-token-mean", "token-mean", "seq-mean-token-sum-norm", "bnpo"]
KLS = ["k1", "k2", "k3"]
ADV_EPS = 1e-4

CFG = dict(model_type="qwen2", vocab_size=61, hidden_size=24, num_hidden_layers=2, num_attention_heads=4,
           num_key_value_heads=2, head_dim=6, intermediate_size=40, rope_theta=1000000.0, rms_norm_eps=1e-6,
           tie_word_embeddings=1, attention_bias=1, qk_norm=0, max_position_embeddings=64)
B, G, MAX_NEW, TEMP = 3, 4, 8, 0.9
PROMPT_LENS = [5, 3, 7]
COMP_LENS = [8, 3, 6, 1, 5, 8, 2, 7, 4, 8, 6, 2]   # 8 = MAX_NEW: truncated (no EOS)
REWARDS = [1.0, 0.0, 0.5, 0.0, 1.0, 1.0, 1.0, 1.0, 0.2, 1.1, 0.0, 0.7]   # group 1 has zero std
EXTRA_TOKENS, EXTRA_SEQS = 9.0, 2.0   # the batch as one minibatch of a larger step


def option_sets():
    """24 combinations of (aggregation, scaling, ratio level); the remaining
    options rotate so each value appears with several others."""
    cases = []
    i = 0
    for agg in range(4):
        for scale in range(3):
            for ratio in range(2):
                c = dict(agg=agg, scale=scale, ratio=ratio, kl=i % 3, beta=0.0 if i % 4 == 3 else 0.04,
                         overlong=(i // 2) % 2)
                if ratio == 0:
                    c.update(eps_low=0.2, eps_high=0.28 if i % 4 < 2 else 0.2, dual=3.0 if i % 3 != 1 else 0.0,
                             alpha=0.2 if i % 4 in (0, 3) else 0.0)
                else:   # GSPO's tiny range; the sequence ratio multiplies each token's (HICRA) advantage
                    c.update(eps_low=3e-4, eps_high=4e-4, dual=3.0 if i % 5 == 1 else 0.0,
                             alpha=0.2 if i % 4 in (1, 3) else 0.0)
                cases.append(c)
                i += 1
    return cases


def build_batch(gen):
    R = B * G
    lens = [PROMPT_LENS[r // G] + COMP_LENS[r] for r in range(R)]
    T = max(lens)
    ids = torch.randint(0, CFG["vocab_size"], (R, T), generator=gen)
    comp = torch.zeros(R, T, dtype=torch.float64)   # positions whose logp scores a completion token
    for r in range(R):
        p = PROMPT_LENS[r // G]
        comp[r, p - 1:p - 1 + COMP_LENS[r]] = 1
    plan = ((torch.rand(R, T, generator=gen) < 0.3).double() * comp)
    return R, T, lens, ids, comp, plan


def perturbations(gen, comp, logp0):
    """old log-probs for token ratios and for sequence ratios, and reference
    log-probs, as float32 values derived from the policy's own log-probs."""
    R, T = comp.shape
    u = torch.rand(R, T, generator=gen, dtype=torch.float64)
    d = (torch.rand(R, T, generator=gen, dtype=torch.float64) - 0.5) * 0.9   # ratios 0.64 .. 1.57
    d = torch.where(u < 0.12, 1.2 + 0.4 * torch.rand(R, T, generator=gen, dtype=torch.float64), d)   # past dual c = 3
    old_tok = f32(logp0 - d * comp)
    # GSPO: per-row mean log-ratio inside (|m| < 1e-4) or outside (1e-3 .. 3e-3) the range
    noise = (torch.rand(R, T, generator=gen, dtype=torch.float64) - 0.5) * 0.6 * comp
    noise = noise - comp * (noise.sum(1, keepdim=True) / comp.sum(1, keepdim=True))
    m = torch.tensor([[2e-3], [-5e-5], [-2.5e-3], [1.5e-3], [-1.2e-3], [8e-5]] * (R // 6), dtype=torch.float64)
    old_seq = f32(logp0 - (m + noise) * comp)
    ref = f32(logp0 - (torch.rand(R, T, generator=gen, dtype=torch.float64) - 0.5) * comp)
    return old_tok, old_seq, ref


def advantages(rewards, scale):
    """TRL's GRPO advantages: group mean; group or batch sample std."""
    r = rewards.view(B, G)
    a = r - r.mean(1, keepdim=True)
    if scale == "group":
        a = a / (r.std(1, keepdim=True) + ADV_EPS)
    elif scale == "batch":
        a = a / (rewards.std() + ADV_EPS)
    return a.reshape(-1)


def agg_loss(loss_mat, mask, mode, global_tokens, global_seqs):
    """verl's agg_loss with the step's normalisers."""
    if mode == "token-mean":
        return (loss_mat * mask).sum() / global_tokens
    if mode == "bnpo":
        return (loss_mat * mask).sum() / mask.sum()
    if mode == "seq-mean-token-mean":
        seq = (loss_mat * mask).sum(-1) / mask.sum(-1).clamp(min=1)
        return seq.sum() / global_seqs
    return (loss_mat * mask).sum() / (global_seqs * MAX_NEW)   # seq-mean-token-sum-norm


def policy_loss(logp, old, ref, adv, mask, c, global_tokens, global_seqs):
    """verl's compute_policy_loss (+ GSPO's sequence importance weight, the dual
    clip and the KL penalty). Returns the loss, the per-token loss terms and the
    clip counters (low / high / dual) as verl's and aha's metrics count them."""
    log_ratio = logp - old
    if c["ratio"]:
        seq_lr = (log_ratio * mask).sum(-1, keepdim=True) / mask.sum(-1, keepdim=True).clamp(min=1)
        ratio = torch.exp(seq_lr).expand_as(logp)
    else:
        ratio = torch.exp(log_ratio)
    lo, hi = 1 - c["eps_low"], 1 + c["eps_high"]
    pg_losses1 = -adv * ratio
    pg_losses2 = -adv * torch.clamp(ratio, lo, hi)
    pg_losses = torch.maximum(pg_losses1, pg_losses2)
    dual = torch.zeros_like(mask, dtype=torch.bool)
    if c["dual"] > 0:
        pg_losses3 = -adv * c["dual"]
        dual = (adv < 0) & (pg_losses3 < pg_losses)
        pg_losses = torch.where(adv < 0, torch.minimum(pg_losses, pg_losses3), pg_losses)
    loss_mat = pg_losses
    if c["beta"] > 0:
        kl = logp - ref
        if c["kl"] == 1:
            kl = 0.5 * kl.square()
        elif c["kl"] == 2:   # low_var_kl
            kl = torch.exp(-kl) + kl - 1
        loss_mat = loss_mat + c["beta"] * kl
    loss = agg_loss(loss_mat, mask, AGGS[c["agg"]], global_tokens, global_seqs)
    on = mask > 0
    r = ratio.detach()
    counts = (float(((r < lo) & (adv < 0) & on).sum()), float(((r > hi) & (adv > 0) & on).sum()),
              float((dual & on).sum()))
    return loss, loss_mat, counts


def main():
    gen = torch.Generator().manual_seed(5)
    R, T, lens, ids, comp, plan = build_batch(gen)
    P = model_ref.random_params(CFG, gen)
    names = [n for n, _ in model_ref.param_names(CFG)]
    with torch.no_grad():
        logp0, _ = model_ref.forward(CFG, P, ids, lens, TEMP)
    old_tok, old_seq, ref = perturbations(gen, comp, logp0)
    rewards = torch.tensor(REWARDS, dtype=torch.float64).float().double()
    truncated = [int(n == MAX_NEW) for n in COMP_LENS]
    cases = option_sets()

    fails = []
    # No ratio may sit near a bound, or float32 vs float64 could pick different branches.
    for c in cases:
        lo, hi = 1 - c["eps_low"], 1 + c["eps_high"]
        on = comp > 0
        if c["ratio"]:
            lr = ((logp0 - old_seq) * comp).sum(1) / comp.sum(1)
            rho = torch.exp(lr)
            gap, rel = min(float((rho - b).abs().min()) for b in (lo, hi)), 2e-5
        else:
            rho = torch.exp(logp0 - old_tok)[on]
            gap = min(float((rho - b).abs().min()) for b in (lo, hi, c["dual"] or 99.0))
            rel = 1e-3
        if gap < rel:
            fails.append(f"fixture: a ratio lies {gap:.2g} from a clip bound ({c})")

    flat = lambda x: x.ravel().tolist()   # noqa: E731
    payload = dict(CFG, R=R, T=T, B=B, G=G, max_new=MAX_NEW, temperature=TEMP, ids=flat(ids), lens=lens,
                   prompt_lens=PROMPT_LENS, comp_lens=COMP_LENS, truncated=truncated, rewards=flat(rewards),
                   plan=[int(x) for x in flat(plan)], old_tok=flat(old_tok), old_seq=flat(old_seq), ref=flat(ref),
                   extra_tokens=EXTRA_TOKENS, extra_seqs=EXTRA_SEQS, cases=cases)
    out = run_fixture("test_grpo_grad", os.path.join(TMP, "fixture_grpo_grad"), payload, P, names)
    n_grad = sum(P[n].numel() for n in names)
    per_case = 2 * R * T + 6 + n_grad
    if out.size != per_case * len(cases):
        sys.exit(f"FAIL out.bin has {out.size} numbers, expected {per_case * len(cases)}")

    totals = np.zeros(3)
    worst = dict(adv=0.0, g=0.0, grad=0.0, loss=0.0)
    for i, c in enumerate(cases):
        o = out[i * per_case:(i + 1) * per_case]
        c_adv, c_g = o[:R * T].reshape(R, T), o[R * T:2 * R * T].reshape(R, T)
        c_loss, c_counts = o[2 * R * T], o[2 * R * T + 3:2 * R * T + 6]
        c_grads = o[2 * R * T + 6:]

        seq_adv = advantages(rewards, SCALES[c["scale"]])
        adv = seq_adv[:, None] * comp
        adv = adv + c["alpha"] * adv.abs() * plan
        mask = comp.clone()
        if c["overlong"]:
            mask[torch.tensor(truncated, dtype=torch.bool)] = 0
        global_tokens, global_seqs = float(mask.sum()) + EXTRA_TOKENS, R + EXTRA_SEQS

        params = {n: P[n].clone().requires_grad_(True) for n in names}
        logp, _ = model_ref.forward(CFG, params, ids, lens, TEMP)
        logp.retain_grad()
        old = old_seq if c["ratio"] else old_tok
        loss, loss_mat, counts = policy_loss(logp, old, ref, adv, mask, c, global_tokens, global_seqs)
        loss.backward()
        totals += counts

        tag = (f"case {i} ({SCALES[c['scale']]}, {AGGS[c['agg']]}, {'seq' if c['ratio'] else 'token'} ratio, "
               f"eps {c['eps_low']}/{c['eps_high']}, dual {c['dual']}, beta {c['beta']} {KLS[c['kl']]}, "
               f"alpha {c['alpha']}, overlong {c['overlong']})")
        errs = dict(adv=nerr(c_adv, adv.numpy()), g=nerr(c_g, logp.grad.numpy()))
        # loss: relative to the size of its terms (the policy part nearly cancels
        # when advantages are centred, so |loss| alone is no scale)
        w = float(agg_loss(loss_mat.detach().abs(), mask, AGGS[c["agg"]], global_tokens, global_seqs))
        errs["loss"] = abs(c_loss - float(loss)) / max(abs(float(loss)), w)
        errs["grad"], gname = worst_grad(c_grads, params, names)
        for k, lim in (("adv", 1e-6), ("g", 1e-4), ("grad", 1e-4), ("loss", 1e-4)):
            worst[k] = max(worst[k], errs[k])
            if errs[k] > lim:
                fails.append(f"{tag}: {k} error {errs[k]:.3g}" + (f" ({gname})" if k == "grad" else ""))
        if tuple(c_counts) != counts:
            fails.append(f"{tag}: clip counts low/high/dual {tuple(c_counts)} vs {counts}")
        if sum(counts) == 0:
            fails.append(f"{tag}: no token is clipped: the case does not exercise clipping")
        if c["dual"] > 0 and not c["ratio"] and counts[2] == 0:
            fails.append(f"{tag}: the dual clip is never active")
        print(f"{tag}: loss {c_loss:+.6f}, clipped {counts}, errors "
              + ", ".join(f"{k} {v:.1e}" for k, v in errs.items()))

    print(f"{len(cases)} option sets; clipped tokens low/high/dual in all {totals.tolist()}; worst errors "
          + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))
    for m in fails:
        print("FAIL", m)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
