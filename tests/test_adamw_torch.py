"""AdamW against torch.optim.AdamW: 10 steps on a tiny qwen2 model (tied, with
q/k/v biases) with weight decay on matrices only, global-norm clipping that
triggers on some steps and not others, gradient scaling (accumulation over 2),
and warmup + cosine decay. Parameters, both moments and the pre-clip norms
must agree to 1e-6 relative. aha's side is build*/tests/test_adamw --torch-case."""
import json
import math
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pyref"))
import safetensors_io as st  # noqa: E402

LR, WD, CLIP, WARMUP, TOTAL, MIN_RATIO, SCALE, B1, B2 = 0.01, 0.1, 1.0, 3, 10, 0.1, 0.5, 0.9, 0.95
TOL = 1e-6


def layout(C=8, V=13, F=12, NH=2, NKV=1, HD=4):
    p = "model.layers.0."
    return {
        "model.embed_tokens.weight": (V, C), p + "input_layernorm.weight": (C,),
        p + "self_attn.q_proj.weight": (NH * HD, C), p + "self_attn.q_proj.bias": (NH * HD,),
        p + "self_attn.k_proj.weight": (NKV * HD, C), p + "self_attn.k_proj.bias": (NKV * HD,),
        p + "self_attn.v_proj.weight": (NKV * HD, C), p + "self_attn.v_proj.bias": (NKV * HD,),
        p + "self_attn.o_proj.weight": (C, NH * HD), p + "post_attention_layernorm.weight": (C,),
        p + "mlp.gate_proj.weight": (F, C), p + "mlp.up_proj.weight": (F, C), p + "mlp.down_proj.weight": (C, F),
        "model.norm.weight": (C,),
    }


def schedule(t):  # t = 1-based update number; written from the spec, not from aha
    if t < WARMUP:
        return t / WARMUP
    progress = min(1.0, (t - WARMUP) / (TOTAL - WARMUP))
    return MIN_RATIO + (1 - MIN_RATIO) * 0.5 * (1 + math.cos(math.pi * progress))


def relerr(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30)).item()


def main():
    tmp = os.environ.get("TEST_TMP", "/tmp")
    d = os.path.join(tmp, "adamw_torch")
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(1234)
    shapes = layout()
    params = {n: torch.randn(s, generator=g) * 0.5 for n, s in shapes.items()}
    cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 13, "hidden_size": 8,
           "intermediate_size": 12, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
           "max_position_embeddings": 32, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
           "tie_word_embeddings": True, "hidden_act": "silu"}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    st.write(os.path.join(d, "model.safetensors"), params)
    factors = [0.01, 2.0, 0.05, 1.0, 0.02, 3.0, 0.1, 0.5, 0.03, 2.0]   # clipping on about half the steps
    grads = [{n: torch.randn(s, generator=g) * factors[k] for n, s in shapes.items()} for k in range(TOTAL)]
    st.write(os.path.join(d, "grads.safetensors"), {"%d.%s" % (k, n): t for k, gk in enumerate(grads)
                                                    for n, t in gk.items()})

    exe = next(p for p in ("build/tests/test_adamw", "build-debug/tests/test_adamw") if os.path.exists(p))
    args = [exe, "--torch-case", d] + [str(x) for x in (LR, WD, CLIP, WARMUP, TOTAL, MIN_RATIO, SCALE, B1, B2)]
    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    c_norms = [float(line.split()[3]) for line in out.stdout.splitlines() if line.startswith("step")]

    tp = {n: torch.nn.Parameter(t.clone()) for n, t in params.items()}
    decay = [p for p in tp.values() if p.ndim == 2]
    nodecay = [p for p in tp.values() if p.ndim == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=LR, betas=(B1, B2), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: schedule(i + 1))
    norms, clipped = [], 0
    for k in range(TOTAL):
        for n, p in tp.items():
            p.grad = grads[k][n] * SCALE
        norm = torch.nn.utils.clip_grad_norm_(list(tp.values()), CLIP).item()
        norms.append(norm)
        clipped += norm > CLIP
        opt.step()
        sched.step()
    assert 3 <= clipped <= 7, "the case must clip on some steps only (%d)" % clipped

    worst = 0.0
    for a, b in zip(c_norms, norms):
        worst = max(worst, abs(a - b) / b)
    assert len(c_norms) == TOTAL and worst <= TOL, ("norms", c_norms, norms)
    got = st.read(os.path.join(d, "out", "model.safetensors"))
    state = st.read(os.path.join(d, "state.safetensors"))
    assert st.read_metadata(os.path.join(d, "state.safetensors"))["step"] == str(TOTAL)
    report = []
    for n, p in tp.items():
        s = opt.state[p]
        for what, a, b in (("param", got[n], p.detach()), ("m", state["m." + n], s["exp_avg"]),
                           ("v", state["v." + n], s["exp_avg_sq"])):
            e = relerr(a, b)
            report.append((e, what, n))
            assert a.shape == b.shape, (what, n, a.shape, b.shape)
            assert e <= TOL, "%s of %s: relative error %.3g > %g" % (what, n, e, TOL)
    # The decay mask matters: without it the norms' values would differ by far more than TOL.
    moved = relerr(got["model.norm.weight"], params["model.norm.weight"])
    assert moved > 1e-3, moved
    report.sort(reverse=True)
    print("max relative error %.3g (%s %s); norm error %.3g; clipped %d/10" % (report[0] + (worst, clipped)))


if __name__ == "__main__":
    main()
