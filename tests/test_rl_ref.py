"""GRPO-family loss coefficients against an independent PyTorch implementation.

For random rollout batches and every option (aggregation, KL estimator, token or
sequence ratio, clip ranges, dual clip, beta), the loss is written in PyTorch the
way TRL/verl write it, differentiated by autograd with respect to the policy
log-probs, and compared with dLoss/dlogp from aha's rl module (relative error
<= 1e-4, and the loss value too).
"""
import json, os, subprocess, sys, tempfile
import torch

torch.manual_seed(0)
AGGS = ["seq-mean-token-mean", "token-mean", "seq-mean-token-sum-norm", "bnpo"]


def reference_loss(logp, old, ref, adv, mask, c):
    log_ratio = logp - old
    if c["ratio"] == 1:  # GSPO: one importance weight per sequence
        lw = (log_ratio * mask).sum(-1, keepdim=True) / mask.sum(-1, keepdim=True).clamp(min=1)
        coef1 = torch.exp(lw).expand_as(logp)
    else:
        coef1 = torch.exp(log_ratio)
    coef2 = torch.clamp(coef1, 1 - c["eps_low"], 1 + c["eps_high"])
    per_token = -torch.min(coef1 * adv, coef2 * adv)
    if c["dual_clip"] > 0:
        per_token = torch.where(adv < 0, torch.min(per_token, -c["dual_clip"] * adv), per_token)
    if c["beta"] > 0:
        d = ref - logp
        kl = [d.neg(), 0.5 * d * d, torch.exp(d) - d - 1][c["kl"]]
        per_token = per_token + c["beta"] * kl
    agg = AGGS[c["agg"]]
    if agg == "seq-mean-token-mean":
        return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1)).sum() / c["global_seqs"]
    if agg == "token-mean":
        return (per_token * mask).sum() / c["global_tokens"]
    if agg == "seq-mean-token-sum-norm":
        return (per_token * mask).sum() / (c["global_seqs"] * c["max_len"])
    return (per_token * mask).sum() / mask.sum()


def make_case(agg, kl, ratio, beta, dual, eps_low, eps_high):
    R, T = int(torch.randint(2, 6, ())), int(torch.randint(3, 12, ()))
    old = -torch.rand(R, T, dtype=torch.float64) * 4 - 0.05
    logp = old + (torch.rand(R, T, dtype=torch.float64) - 0.5) * 0.8   # ratios about 0.67..1.5
    ref = old + (torch.rand(R, T, dtype=torch.float64) - 0.5) * 1.0
    # Completion spans: each row starts after a random prompt and ends early or at T.
    mask = torch.zeros(R, T, dtype=torch.float64)
    for r in range(R):
        a = int(torch.randint(0, T // 2, ()))
        b = int(torch.randint(a + 1, T + 1, ()))
        mask[r, a:b] = 1
    seq_adv = torch.randn(R, 1, dtype=torch.float64)
    adv = seq_adv.expand(R, T).clone()
    # per-token advantages: HICRA-boosted planning tokens differ from the rest
    adv = adv + (torch.rand(R, T, dtype=torch.float64) < 0.3) * 0.2 * adv.abs()
    # float32 round trip so both sides see identical inputs
    logp, old, ref, adv = (x.float().double() for x in (logp, old, ref, adv))
    n_tok = float(mask.sum())
    return dict(R=R, T=T, logp=logp, old=old, ref=ref, adv=adv, mask=mask, agg=agg, kl=kl, ratio=ratio,
                beta=beta, dual_clip=dual, eps_low=eps_low, eps_high=eps_high,
                global_tokens=n_tok * 2, global_seqs=float(R) * 1.5, max_len=T + 3)


def main():
    cases = []
    for agg in range(4):
        for kl in range(3):
            for ratio in range(2):
                for beta, dual in ((0.0, 0.0), (0.04, 0.0), (0.04, 3.0)):
                    el, eh = (3e-4, 4e-4) if (ratio == 1 and agg == 0 and kl == 0) else (0.2, 0.28)
                    cases.append(make_case(agg, kl, ratio, beta, dual, el, eh))
    payload = {"cases": []}
    for c in cases:
        d = {k: (v.flatten().tolist() if torch.is_tensor(v) else v) for k, v in c.items()}
        d["mask"] = [int(x) for x in d["mask"]]
        payload["cases"].append(d)
    exe = None
    for b in ("build-debug", "build"):
        p = os.path.join(b, "tests", "test_rl")
        if os.path.exists(p):
            exe = p
            break
    if exe is None:
        print("test_rl binary not built (make tests debug)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        fin, fout = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
        with open(fin, "w") as f:
            json.dump(payload, f)
        subprocess.run([exe, "--fixture", fin, fout], check=True)
        with open(fout) as f:
            got = json.load(f)
    fails = 0
    clipped_cases = 0
    for i, c in enumerate(cases):
        logp = c["logp"].clone().requires_grad_(True)
        loss = reference_loss(logp, c["old"], c["ref"], c["adv"], c["mask"], c)
        loss.backward()
        want = logp.grad.flatten()
        have = torch.tensor(got["g"][i], dtype=torch.float64)
        err = float((have - want).norm() / max(float(want.norm()), float(have.norm()), 1e-12))
        lerr = abs(got["loss"][i] - float(loss)) / max(abs(float(loss)), 1e-6)
        clipped_cases += int(bool(((want == 0) & (c["mask"].flatten() > 0)).any()))
        tag = f"case {i}: agg={AGGS[c['agg']]} kl=k{c['kl'] + 1} ratio={'seq' if c['ratio'] else 'tok'} beta={c['beta']} dual={c['dual_clip']}"
        if err > 1e-4 or lerr > 1e-4:
            fails += 1
            print(f"FAIL {tag}: grad rel err {err:.2e}, loss rel err {lerr:.2e}")
    # The cases must exercise clipping, or the comparison proves little.
    if clipped_cases < 5:
        print(f"FAIL only {clipped_cases} cases had clipped tokens")
        fails += 1
    print(f"{len(cases)} cases, {clipped_cases} with clipped tokens, {fails} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
