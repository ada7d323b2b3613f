"""Model directories between aha and an independent safetensors reader/writer:
- a model aha creates has exactly the HF tensor names and shapes its config.json
  implies (layout computed here from the config), norms 1, biases 0, std as asked,
  metadata {"format": "pt"}, and a config transformers would read;
- a qwen3 model written here as sharded F16 and a qwen2 one as BF16 (with an
  ignorable rotary buffer and a stored tied lm_head) load in aha and come back
  out as F32 with exactly the values written;
- aha's BF16 output equals torch's round-to-nearest-even of the F32 values."""
import json
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "pyref"))
import safetensors_io as st  # noqa: E402

AHA = os.environ.get("AHA", "./aha")
TMP = os.environ.get("TEST_TMP", "/tmp")


def aha(*args):
    r = subprocess.run([AHA] + list(args), capture_output=True, text=True)
    assert r.returncode == 0, "aha %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr)
    return r.stdout


def expected_layout(cfg):
    """name -> shape from config.json, following the transformers module tree."""
    C, V, F = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    NH = cfg["num_attention_heads"]
    NKV = cfg.get("num_key_value_heads") or NH
    HD = cfg.get("head_dim") or C // NH
    bias = cfg["model_type"] == "qwen2"
    out = {"model.embed_tokens.weight": (V, C), "model.norm.weight": (C,)}
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        out[p + "input_layernorm.weight"] = (C,)
        out[p + "post_attention_layernorm.weight"] = (C,)
        for n, rows in (("q", NH * HD), ("k", NKV * HD), ("v", NKV * HD)):
            out[p + "self_attn.%s_proj.weight" % n] = (rows, C)
            if bias:
                out[p + "self_attn.%s_proj.bias" % n] = (rows,)
        if cfg["model_type"] == "qwen3":
            out[p + "self_attn.q_norm.weight"] = (HD,)
            out[p + "self_attn.k_norm.weight"] = (HD,)
        out[p + "self_attn.o_proj.weight"] = (C, NH * HD)
        out[p + "mlp.gate_proj.weight"] = (F, C)
        out[p + "mlp.up_proj.weight"] = (F, C)
        out[p + "mlp.down_proj.weight"] = (C, F)
    if not cfg.get("tie_word_embeddings", False):
        out["lm_head.weight"] = (V, C)
    return out


def check_created():
    d = os.path.join(TMP, "io_tiny")
    cfg_in = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 301, "hidden_size": 48,
              "intermediate_size": 70, "num_hidden_layers": 2, "num_attention_heads": 6, "num_key_value_heads": 2,
              "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 1e6, "tie_word_embeddings": True,
              "eos_token_id": 300}
    with open(os.path.join(TMP, "q2.json"), "w") as f:
        json.dump(cfg_in, f)
    aha("init", "--config", os.path.join(TMP, "q2.json"), "--out", d, "--seed", "3", "--std", "0.05")
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    for k, v in cfg_in.items():
        assert cfg[k] == v, (k, cfg[k], v)
    assert cfg["hidden_act"] == "silu" and cfg["torch_dtype"] == "float32" and cfg["rope_scaling"] is None
    path = os.path.join(d, "model.safetensors")
    assert st.read_metadata(path) == {"format": "pt"}
    got = st.read(path)
    want = expected_layout(cfg)
    assert set(got) == set(want), set(got) ^ set(want)
    mats = []
    for name, shape in want.items():
        t = got[name]
        assert tuple(t.shape) == shape and t.dtype == torch.float32, (name, t.shape, shape)
        if "norm" in name:
            assert torch.all(t == 1), name
        elif name.endswith(".bias"):
            assert torch.all(t == 0), name
        else:
            mats.append(t.reshape(-1))
    allm = torch.cat(mats)
    assert abs(allm.std().item() - 0.05) < 0.002 and abs(allm.mean().item()) < 0.002, (allm.std(), allm.mean())
    # Different seeds give different weights, the same seed the same bytes.
    aha("init", "--config", os.path.join(TMP, "q2.json"), "--out", d + "_b", "--seed", "3", "--std", "0.05")
    with open(path, "rb") as a, open(os.path.join(d + "_b", "model.safetensors"), "rb") as b:
        assert a.read() == b.read()
    return d, got


def check_foreign(kind, dtype, shard_bytes):
    """Write a model here; aha loads it and writes F32; values must be the written ones."""
    g = torch.Generator().manual_seed(7)
    cfg = {"architectures": [kind.capitalize() + "ForCausalLM"], "model_type": kind, "vocab_size": 97,
           "hidden_size": 40, "intermediate_size": 52, "num_hidden_layers": 2, "num_attention_heads": 4,
           "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
           "tie_word_embeddings": kind == "qwen2", "torch_dtype": "bfloat16"}
    if kind == "qwen3":
        cfg["head_dim"] = 14
    src, out = os.path.join(TMP, "foreign_" + kind), os.path.join(TMP, "foreign_%s_f32" % kind)
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "config.json"), "w") as f:
        json.dump(cfg, f)
    tensors = {n: torch.randn(s, generator=g) for n, s in expected_layout(cfg).items()}
    extra = {"model.layers.0.self_attn.rotary_emb.inv_freq": torch.rand(7, generator=g)}
    if cfg["tie_word_embeddings"]:
        extra["lm_head.weight"] = tensors["model.embed_tokens.weight"]
    if shard_bytes:
        n = st.write_sharded(src, {**tensors, **extra}, dtype, shard_bytes)
        assert n >= 3, n
    else:
        st.write(os.path.join(src, "model.safetensors"), {**tensors, **extra}, dtype)
    aha("init", "--from", src, "--out", out, "--dtype", "f32")
    got = st.read_model(out)
    assert set(got) == set(tensors), set(got) ^ set(tensors)
    for n, t in tensors.items():
        assert torch.equal(got[n], t.to(dtype).to(torch.float32)), n
    with open(os.path.join(out, "config.json")) as f:
        back = json.load(f)
    assert back.get("head_dim", 10) == cfg.get("head_dim", 10) and back["model_type"] == kind
    return got


def check_bf16_output(d, f32):
    out = d + "_bf16"
    aha("init", "--from", d, "--out", out, "--dtype", "bf16", "--shard-mb", "1")
    got = st.read_model(out)
    for n, t in f32.items():
        assert got[n].dtype == torch.bfloat16 and torch.equal(got[n], t.to(torch.bfloat16)), n
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["torch_dtype"] == "bfloat16"


def main():
    d, f32 = check_created()
    check_foreign("qwen3", torch.float16, 6000)
    check_foreign("qwen2", torch.bfloat16, 0)
    check_foreign("llama", torch.float32, 9000)
    check_bf16_output(d, f32)
    print("ok")


if __name__ == "__main__":
    main()
