"""LoRA log-probs and adapter gradients against PyTorch.

A tiny random Qwen3 model (q/k norms, untied head) with adapters of rank 3 on
every linear layer, A and B both random (B is zero only at initialisation).
aha (tests/test_lora.c --fixture) runs the training forward on a right-padded
batch and the backward of sum(g * logp) on the frozen base; the float64
reference decoder (tests/pyref/model_ref.py) runs on the weights
W + (alpha / r) * B @ A, the same function, with autograd reaching A and B
through that sum. Checked: the log-probs (normalized error <= 1e-5) and every
adapter gradient (normalized error <= 1e-4, each of lora_A and lora_B).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pyref"))
import model_ref  # noqa: E402
from fixture_io import f32, nerr, run_fixture, worst_grad  # noqa: E402

TMP = os.environ.get("TEST_TMP", "/tmp")
CFG = dict(model_type="qwen3", vocab_size=47, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
           num_key_value_heads=2, head_dim=8, intermediate_size=28, rope_theta=10000.0, rms_norm_eps=1e-6,
           tie_word_embeddings=0, attention_bias=0, qk_norm=1, max_position_embeddings=64)
RANK, ALPHA, TEMP = 3, 6.0, 0.8
LENS = [9, 4, 11]
MODULES = [("self_attn.q_proj", "q"), ("self_attn.k_proj", "k"), ("self_attn.v_proj", "v"), ("self_attn.o_proj", "o"),
           ("mlp.gate_proj", "gate"), ("mlp.up_proj", "up"), ("mlp.down_proj", "down")]


def main():
    gen = torch.Generator().manual_seed(11)
    R, T = len(LENS), max(LENS)
    ids = torch.randint(0, CFG["vocab_size"], (R, T), generator=gen)
    P = model_ref.random_params(CFG, gen)
    names = [n for n, _ in model_ref.param_names(CFG)]
    shapes = dict(model_ref.param_names(CFG))
    lora, lnames = {}, []
    for l in range(CFG["num_hidden_layers"]):
        for mod, _ in MODULES:
            out_, in_ = shapes[f"model.layers.{l}.{mod}.weight"]
            pre = f"base_model.model.model.layers.{l}.{mod}"
            lora[pre + ".lora_A.weight"] = f32(torch.randn(RANK, in_, generator=gen, dtype=torch.float64) * 0.3)
            lora[pre + ".lora_B.weight"] = f32(torch.randn(out_, RANK, generator=gen, dtype=torch.float64) * 0.3)
            lnames += [pre + ".lora_A.weight", pre + ".lora_B.weight"]
    g = f32(torch.randn(R, T, generator=gen, dtype=torch.float64))
    for r in range(R):
        g[r, LENS[r] - 1:] = 0
    os.makedirs(os.path.join(TMP, "fixture_lora_grad"), exist_ok=True)
    with open(os.path.join(TMP, "fixture_lora_grad", "lora.bin"), "wb") as f:
        for n in lnames:
            f.write(lora[n].float().numpy().tobytes())
    payload = dict(CFG, R=R, T=T, ids=ids.ravel().tolist(), lens=LENS, g=g.ravel().tolist(), temperature=TEMP,
                   lora_r=RANK, lora_alpha=ALPHA, lora_tensors=lnames)
    out = run_fixture("test_lora", os.path.join(TMP, "fixture_lora_grad"), payload, P, names)
    n_lora = sum(lora[n].numel() for n in lnames)
    if out.size != R * T + n_lora:
        sys.exit(f"FAIL out.bin has {out.size} numbers, expected {R * T + n_lora}")

    params = {n: lora[n].clone().requires_grad_(True) for n in lnames}
    eff = dict(P)
    for l in range(CFG["num_hidden_layers"]):
        for mod, _ in MODULES:
            pre = f"base_model.model.model.layers.{l}.{mod}"
            w = f"model.layers.{l}.{mod}.weight"
            eff[w] = P[w] + (ALPHA / RANK) * params[pre + ".lora_B.weight"] @ params[pre + ".lora_A.weight"]
    logp, _ = model_ref.forward(CFG, eff, ids, LENS, TEMP)
    (g * logp).sum().backward()
    c_logp = torch.tensor(out[:R * T]).view(R, T)
    errs = dict(logp=nerr(c_logp.numpy(), logp.detach().numpy()))
    errs["grad"], wname = worst_grad(out[R * T:], params, lnames)
    print(f"{len(lnames)} adapter tensors, {n_lora} numbers: logp error {errs['logp']:.1e}, "
          f"worst gradient error {errs['grad']:.1e} ({wname})")
    fails = [f"{k} error {errs[k]:.3g}" for k, lim in (("logp", 1e-5), ("grad", 1e-4)) if errs[k] > lim]
    for m in fails:
        print("FAIL", m)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
