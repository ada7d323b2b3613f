"""The value head (PPO critic) against PyTorch.

A tiny random Llama model with a linear head V = w·h + b on the final-normed
hidden states (tests/pyref/model_ref.py in float64, plus the head) on a
right-padded batch of B = 2 prompts x G = 3 completions:
- values at every real position within 1e-5 (normalized error), and the gradient
  of sum(c * V) for random c, every trunk tensor and the head, within 1e-4;
- PPO's critic step end to end: token rewards (the row's reward at its last
  completion token minus kl_coef * KL per token), GAE with gamma = 0.99 and
  lambda = 0.95 written here as verl writes it, the value loss 1/2 (V - R)^2
  (token mean) without clipping (old values = the forward's own) and with PPO
  value clipping against perturbed rollout-time values (max of clipped and
  unclipped; the clipped branch must win on some tokens and not on others):
  advantages and returns within 1e-5, the loss within 1e-5, every gradient
  within 1e-4, the clip count exact.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pyref"))
import model_ref  # noqa: E402
from fixture_io import f32, nerr, run_fixture  # noqa: E402

TMP = os.environ.get("TEST_TMP", "/tmp")
CFG = dict(model_type="llama", vocab_size=53, hidden_size=24, num_hidden_layers=2, num_attention_heads=4,
           num_key_value_heads=4, head_dim=6, intermediate_size=33, rope_theta=10000.0, rms_norm_eps=1e-5,
           tie_word_embeddings=0, attention_bias=0, qk_norm=0, max_position_embeddings=32)
PROMPT_LENS, G = [4, 6], 3
COMP_LENS = [5, 2, 7, 3, 6, 1]
REWARDS = [1.0, 0.0, 0.5, 1.0, -0.5, 0.25]
GAMMA, LAM, KL_COEF, CLIP = 0.99, 0.95, 0.05, 0.2


def values_of(P, w, b, ids):
    return model_ref.hidden(CFG, P, ids) @ w + b   # (R, T)


def gae(rewards, values, mask, gamma, lam):
    """verl's compute_gae_advantage_return over masked spans of padded rows."""
    R, T = rewards.shape
    next_values = torch.zeros(R, dtype=torch.float64)
    last = torch.zeros(R, dtype=torch.float64)
    out = [None] * T
    for t in reversed(range(T)):
        delta = rewards[:, t] + gamma * next_values - values[:, t]
        lastgaelam = delta + gamma * lam * last
        next_values = values[:, t] * mask[:, t] + (1 - mask[:, t]) * next_values
        last = lastgaelam * mask[:, t] + (1 - mask[:, t]) * last
        out[t] = last
    adv = torch.stack(out, dim=1)
    return adv * mask, (adv + values) * mask


def value_loss(vpreds, values_old, returns, mask, clip):
    """verl's compute_value_loss (token mean); clip None: unclipped."""
    vf1 = (vpreds - returns) ** 2
    if clip is None:
        return 0.5 * (vf1 * mask).sum() / mask.sum(), 0.0, vf1
    vclipped = values_old + torch.clamp(vpreds - values_old, -clip, clip)
    vf2 = (vclipped - returns) ** 2
    loss = 0.5 * (torch.maximum(vf1, vf2) * mask).sum() / mask.sum()
    return loss, float(((vf2 > vf1) & (mask > 0)).sum()), vf1 - vf2


def main():
    gen = torch.Generator().manual_seed(11)
    R = len(COMP_LENS)
    lens = [PROMPT_LENS[r // G] + COMP_LENS[r] for r in range(R)]
    T = max(lens)
    ids = torch.randint(0, CFG["vocab_size"], (R, T), generator=gen)
    real = torch.zeros(R, T, dtype=torch.float64)
    mask = torch.zeros(R, T, dtype=torch.float64)
    for r in range(R):
        real[r, :lens[r]] = 1
        p = PROMPT_LENS[r // G]
        mask[r, p - 1:p - 1 + COMP_LENS[r]] = 1
    P = model_ref.random_params(CFG, gen)
    names = [n for n, _ in model_ref.param_names(CFG)]
    w = f32(0.3 * torch.randn(CFG["hidden_size"], generator=gen, dtype=torch.float64))
    b = 0.125
    dvalues = f32(torch.randn(R, T, generator=gen, dtype=torch.float64))
    kl = f32(0.3 * torch.randn(R, T, generator=gen, dtype=torch.float64))
    rewards = torch.tensor(REWARDS, dtype=torch.float64)
    with torch.no_grad():
        v0 = values_of(P, w, b, ids)
    # rollout-time values: near the current ones (|dV| < 0.4 eps) or far (> 1.5 eps)
    u = torch.rand(R, T, generator=gen, dtype=torch.float64)
    near = (torch.rand(R, T, generator=gen, dtype=torch.float64) - 0.5) * 0.8 * CLIP
    far = torch.sign(near) * CLIP * (1.5 + 2 * torch.rand(R, T, generator=gen, dtype=torch.float64))
    values_old = f32(v0 - torch.where(u < 0.5, far, near) * mask)

    flat = lambda x: x.ravel().tolist()   # noqa: E731
    payload = dict(CFG, R=R, T=T, ids=flat(ids), lens=lens, mask=[int(x) for x in flat(mask)], head_w=flat(w),
                   head_b=b, dvalues=flat(dvalues), rewards=REWARDS, kl=flat(kl), kl_coef=KL_COEF, gamma=GAMMA,
                   clip=CLIP, values_old=flat(values_old))
    payload["lambda"] = LAM
    out = run_fixture("test_value", os.path.join(TMP, "fixture_value"), payload, P, names)
    C = CFG["hidden_size"]
    n_grad = sum(P[n].numel() for n in names) + C + 1
    if out.size != R * T + n_grad + 2 * (3 * R * T + 2 + n_grad):
        sys.exit(f"FAIL out.bin has {out.size} numbers")
    fails = []

    def leaves():
        params = {n: P[n].clone().requires_grad_(True) for n in names}
        return params, w.clone().requires_grad_(True), torch.tensor(b, dtype=torch.float64, requires_grad=True)

    def compare_grads(label, c_grads, params, w_, b_):
        at, worst = 0, (0.0, "")
        for n in names:
            ref = params[n].grad if params[n].grad is not None else torch.zeros_like(params[n])   # lm_head: unused
            e = nerr(c_grads[at:at + ref.numel()], ref.numpy())
            at += ref.numel()
            worst = max(worst, (e, n))
        worst = max(worst, (nerr(c_grads[at:at + C], w_.grad.numpy()), "score.weight"))
        worst = max(worst, (nerr(c_grads[at + C:at + C + 1], [b_.grad.item()]), "score.bias"))
        if worst[0] > 1e-4:
            fails.append(f"{label}: gradient of {worst[1]} error {worst[0]:.3g}")
        return worst[0]

    # 1. values and the gradient of sum(c * V)
    params, w_, b_ = leaves()
    v = values_of(params, w_, b_, ids) * real
    (dvalues * v).sum().backward()
    e = nerr(out[:R * T], v.detach().numpy())
    if e > 1e-5:
        fails.append(f"values error {e:.3g}")
    eg = compare_grads("sum(c * V)", out[R * T:R * T + n_grad], params, w_, b_)
    print(f"values: error {e:.2e}; gradients of sum(c * V): worst error {eg:.2e} over {len(names) + 2} tensors")

    # 2. PPO critic step, without and with value clipping
    at = R * T + n_grad
    for label, clip in (("unclipped", None), ("clipped", CLIP)):
        o = out[at:at + 3 * R * T + 2 + n_grad]
        at += o.size
        c_rew, c_adv, c_ret = (o[k * R * T:(k + 1) * R * T].reshape(R, T) for k in range(3))
        c_loss, c_clipped = o[3 * R * T], o[3 * R * T + 1]
        params, w_, b_ = leaves()
        v = values_of(params, w_, b_, ids)
        vold = v.detach() if clip is None else values_old
        tok_rewards = -KL_COEF * kl * mask
        for r in range(R):
            tok_rewards[r, int(mask[r].nonzero().max())] += rewards[r]
        adv, ret = gae(tok_rewards, vold, mask, GAMMA, LAM)
        loss, clipped, gap = value_loss(v, vold, ret, mask, clip)
        loss.backward()
        errs = dict(rewards=nerr(c_rew, tok_rewards.numpy()), adv=nerr(c_adv, adv.numpy()),
                    returns=nerr(c_ret, ret.numpy()), loss=abs(c_loss - loss.item()) / abs(loss.item()))
        for k, v_ in errs.items():
            if v_ > 1e-5:
                fails.append(f"PPO {label}: {k} error {v_:.3g}")
        eg = compare_grads(f"PPO {label}", o[3 * R * T + 2:], params, w_, b_)
        if clip is not None:
            n_tok = float(mask.sum())
            if c_clipped != clipped:
                fails.append(f"PPO clipped: {c_clipped} tokens took the clipped branch, PyTorch {clipped}")
            if not 0 < clipped < n_tok:
                fails.append(f"PPO clipped: {clipped} of {n_tok} tokens clipped; both branches must occur")
            close = ((gap.detach().abs() < 1e-4) & (mask > 0) & ((v0 - values_old).abs() > CLIP)).sum()
            if close:
                fails.append(f"PPO clipped: {int(close)} tokens sit at the branch boundary (fixture)")
        print(f"PPO {label}: loss {c_loss:.6g}, clipped tokens {c_clipped:g}, errors "
              + ", ".join(f"{k} {v_:.1e}" for k, v_ in errs.items()) + f", gradients {eg:.1e}")
    for m in fails:
        print("FAIL", m)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
