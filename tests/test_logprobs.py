"""aha logprobs against the plain PyTorch decoder (tests/pyref/model_ref.py) on a
Qwen2 model directory written here (config.json + model.safetensors, tied
embeddings, GQA), with sequences of different lengths in one file; then the
refusals: bad ids, empty ids, too long, malformed JSON, unknown flag."""
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pyref"))
import model_ref  # noqa: E402
import safetensors_io  # noqa: E402

AHA = os.environ.get("AHA", "./aha")
TMP = os.environ.get("TEST_TMP", "/tmp")

CFG = dict(model_type="qwen2", vocab_size=89, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
           num_key_value_heads=2, head_dim=8, intermediate_size=44, rope_theta=10000.0, rms_norm_eps=1e-6,
           tie_word_embeddings=1, attention_bias=1, qk_norm=0, max_position_embeddings=40)
fails = []


def expect(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL", msg)


def aha(*args, stdin=None):
    return subprocess.run([AHA, "logprobs", *args], capture_output=True, text=True, input=stdin)


def main():
    gen = torch.Generator().manual_seed(5)
    P = model_ref.random_params(CFG, gen)
    d = os.path.join(TMP, "logprobs_model")
    os.makedirs(d, exist_ok=True)
    hf = {k: v for k, v in CFG.items() if k not in ("qk_norm", "attention_bias", "head_dim")}
    hf.update(architectures=["Qwen2ForCausalLM"], hidden_act="silu", torch_dtype="float32", tie_word_embeddings=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(hf, f)
    safetensors_io.write(os.path.join(d, "model.safetensors"), {k: v.float() for k, v in P.items()})

    seqs = [torch.randint(0, CFG["vocab_size"], (n,), generator=gen).tolist() for n in (17, 1, 40, 5, 9, 2, 30, 11, 3, 25)]
    inp = os.path.join(TMP, "logprobs_in.jsonl")
    with open(inp, "w") as f:
        for s in seqs:
            f.write(json.dumps({"ids": s}) + "\n")
    r = aha("--model", d, "--input", inp, "--threads", "2")
    expect(r.returncode == 0, f"logprobs failed: {r.stderr}")
    lines = r.stdout.splitlines()
    expect(len(lines) == len(seqs), f"{len(lines)} output lines for {len(seqs)} inputs")
    worst = 0.0
    for s, line in zip(seqs, lines):
        got = np.array(json.loads(line)["logp"], np.float64)
        ref, _ = model_ref.forward(CFG, P, torch.tensor([s]), [len(s)], 1.0)
        ref = ref[0, :len(s) - 1].numpy()
        expect(got.shape == ref.shape, f"length {got.shape} for {len(s)} ids")
        if got.shape == ref.shape and len(s) > 1:
            e = np.linalg.norm(got - ref) / np.linalg.norm(ref)
            worst = max(worst, e)
            expect(e <= 1e-5, f"logp error {e:.3g} on a {len(s)}-token sequence")
    print(f"logprobs: worst relative error {worst:.2e} over {len(seqs)} sequences")

    bad = os.path.join(TMP, "logprobs_bad.jsonl")
    for content, needle in [
        ('{"ids":[1,2]}\n{"ids":[3,89]}\n', "logprobs_bad.jsonl:2"),
        ('{"ids":[1,2]}\n\n{"ids":[]}\n', "logprobs_bad.jsonl:3"),
        ('{"ids":[1,-1]}\n', "ids[1]"),
        ('{"ids":[1,2.5]}\n', "ids[1]"),
        ('{"ids":%s}\n' % json.dumps(list(range(41))), "max_position"),
        ('{"toks":[1]}\n', "ids"),
        ('{"ids":[1,\n', "logprobs_bad.jsonl:1"),
    ]:
        with open(bad, "w") as f:
            f.write(content)
        r = aha("--model", d, "--input", bad)
        expect(r.returncode == 1 and needle in r.stderr and r.stdout == "",
               f"{content!r}: rc {r.returncode}, stderr {r.stderr!r}")
    r = aha("--model", d, "--input", inp, "--bogus")
    expect(r.returncode == 2 and "--bogus" in r.stderr, "unknown flag not refused")
    r = aha("--model", os.path.join(TMP, "no_such_model"), "--input", inp)
    expect(r.returncode == 1 and "no_such_model" in r.stderr, f"missing model: {r.stderr!r}")
    r = aha("--model", d, "--input", "-", stdin='{"ids":[4,5,6]}\n')
    expect(r.returncode == 0 and len(json.loads(r.stdout)["logp"]) == 2, "stdin input")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
