"""aha's training forward/backward against the plain PyTorch decoder in
tests/pyref/model_ref.py (float64) on random tiny Llama, Qwen2 and Qwen3 configs:
a padded batch, per-token coefficients g, temperature != 1, a head chunk that does
not divide the rows; and one batch with rows longer than the attention's 32-row
query blocks (45, 33). logp and entropy within 1e-5, every gradient within 1e-4
(normalized error ||a-b|| / max(||a||, ||b||)); then the loss sum(g * logp)
after each of 10 AdamW steps (clipping and weight decay on) within 1e-5."""
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pyref"))
import model_ref  # noqa: E402

FIXTURE = os.environ.get("AHA_MODEL_FIXTURE", "build/tests/test_model_ref")
TMP = os.environ.get("TEST_TMP", "/tmp")
STEPS, LR, WD, CLIP = 10, 3e-3, 0.1, 1.0

CONFIGS = [
    # llama: untied, no bias, MHA
    dict(model_type="llama", vocab_size=67, hidden_size=24, num_hidden_layers=2, num_attention_heads=4,
         num_key_value_heads=4, head_dim=6, intermediate_size=37, rope_theta=10000.0, rms_norm_eps=1e-5,
         tie_word_embeddings=0, attention_bias=0, qk_norm=0),
    # qwen2: q/k/v bias, tied embeddings, GQA 6 → 2
    dict(model_type="qwen2", vocab_size=131, hidden_size=36, num_hidden_layers=2, num_attention_heads=6,
         num_key_value_heads=2, head_dim=6, intermediate_size=50, rope_theta=1000000.0, rms_norm_eps=1e-6,
         tie_word_embeddings=1, attention_bias=1, qk_norm=0),
    # qwen3: q_norm/k_norm, head_dim 10 != 28 / 4, GQA 4 → 1
    dict(model_type="qwen3", vocab_size=97, hidden_size=28, num_hidden_layers=3, num_attention_heads=4,
         num_key_value_heads=1, head_dim=10, intermediate_size=45, rope_theta=10000.0, rms_norm_eps=1e-6,
         tie_word_embeddings=0, attention_bias=0, qk_norm=1),
]


def nerr(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    s = max(np.linalg.norm(a), np.linalg.norm(b))
    return np.linalg.norm(a - b) / s if s > 0 else np.linalg.norm(a - b)


def make_fixture(cfg, seed, lens, name):
    """Random inputs and parameters of one check, written to TMP/fixture_NAME:
    fixture.json (returned as a dict, too) and params.bin."""
    gen = torch.Generator().manual_seed(seed)
    R, T, temp = len(lens), max(lens), 0.7
    V = cfg["vocab_size"]
    ids = torch.randint(0, V, (R, T), generator=gen)
    g = torch.randn(R, T, generator=gen, dtype=torch.float64).float().double()
    # for the AdamW run: a weighted negative log-likelihood (g < 0, per-token
    # weights), so the loss keeps its sign and relative error stays meaningful
    ga = -(0.2 + torch.rand(R, T, generator=gen, dtype=torch.float64)).float().double()
    for r in range(R):
        g[r, lens[r] - 1:] = 0.0
        ga[r, lens[r] - 1:] = 0.0
    P = model_ref.random_params(cfg, gen)
    names = [n for n, _ in model_ref.param_names(cfg)]

    d = os.path.join(TMP, f"fixture_{name}")
    os.makedirs(d, exist_ok=True)
    fixture = dict(cfg, R=R, T=T, temperature=temp, head_rows=5, adam_steps=STEPS, lr=LR, weight_decay=WD,
                   clip_norm=CLIP, lens=lens, ids=ids.ravel().tolist(),
                   g=g.ravel().tolist(), g_adam=ga.ravel().tolist(), tensors=names)
    with open(os.path.join(d, "fixture.json"), "w") as f:
        json.dump(fixture, f)
    with open(os.path.join(d, "params.bin"), "wb") as f:
        for n in names:
            f.write(P[n].float().numpy().tobytes())
    return d, fixture, P, names, ids, g, ga


def check(cfg, seed, lens=(13, 7, 1, 10), name=None):
    cfg = dict(cfg, max_position_embeddings=64)
    name = name or cfg["model_type"]
    lens = list(lens)
    R, T, temp = len(lens), max(lens), 0.7
    d, _, P, names, ids, g, ga = make_fixture(cfg, seed, lens, name)
    subprocess.run([FIXTURE, "--fixture", d], check=True)
    out = np.fromfile(os.path.join(d, "out.bin"), dtype=np.float32)

    for t in P.values():
        t.requires_grad_(True)
    logp, ent = model_ref.forward(cfg, P, ids, lens, temp)
    (g * logp).sum().backward()

    fails = []
    c_logp, c_ent = out[:R * T].reshape(R, T), out[R * T:2 * R * T].reshape(R, T)
    e = nerr(c_logp, logp.detach().numpy())
    print(f"{name}: logp err {e:.2e}, entropy err {nerr(c_ent, ent.detach().numpy()):.2e}")
    if e > 1e-5:
        fails.append(f"logp error {e:.3g}")
    e = nerr(c_ent, ent.detach().numpy())
    if e > 1e-5:
        fails.append(f"entropy error {e:.3g}")
    at, worst = 2 * R * T, 0.0
    for n in names:
        ref = P[n].grad.numpy()
        c = out[at:at + ref.size].reshape(ref.shape)
        at += ref.size
        e = nerr(c, ref)
        worst = max(worst, e)
        if e > 1e-4:
            fails.append(f"gradient {n}: error {e:.3g}")
    if at + STEPS + 1 != out.size:
        fails.append(f"out.bin has {out.size} floats, expected {at + STEPS + 1}")
        return fails
    c_loss = out[at:]

    # AdamW in float64: decay on matrices (not norm weights, not biases), torch's clipping
    params = {n: P[n].detach().clone().requires_grad_(True) for n in names}
    decay = [params[n] for n in names if P[n].dim() == 2]
    no_decay = [params[n] for n in names if P[n].dim() == 1]
    opt = torch.optim.AdamW([dict(params=decay, weight_decay=WD), dict(params=no_decay, weight_decay=0.0)],
                            lr=LR, betas=(0.9, 0.999), eps=1e-8)
    worst_loss = 0.0
    for s in range(STEPS + 1):
        opt.zero_grad()
        lp, _ = model_ref.forward(cfg, params, ids, lens, temp)
        loss = (ga * lp).sum()
        e = abs(loss.item() - c_loss[s]) / abs(loss.item())
        worst_loss = max(worst_loss, e)
        if e > 1e-5:
            fails.append(f"loss before AdamW step {s + 1}: {c_loss[s]:.8g} vs {loss.item():.8g} ({e:.3g})")
        if s < STEPS:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(params.values()), CLIP)
            opt.step()
    print(f"{name}: loss {c_loss[0]:.6g} -> {c_loss[-1]:.6g} in {STEPS} AdamW steps, worst rel err {worst_loss:.2e}")
    print(f"{name}: worst gradient err {worst:.2e} over {len(names)} tensors")
    return fails


def main():
    fails = []
    for i, cfg in enumerate(CONFIGS):
        fails += [f"{cfg['model_type']}: {m}" for m in check(cfg, 100 + i)]
    fails += [f"qwen2 long rows: {m}" for m in check(CONFIGS[1], 200, lens=(45, 33, 2), name="qwen2_long")]
    for m in fails:
        print("FAIL", m)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
