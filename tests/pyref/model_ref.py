"""A plain PyTorch decoder (Llama / Qwen2 / Qwen3) written from the architecture
description, for checking aha's forward and backward. It runs in float64 on a
right-padded batch and keeps the full logits; it is meant for tiny models only."""
import math

import torch


def param_names(cfg):
    """Hugging Face tensor names and shapes of a configuration, in file order."""
    C, V, F = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    HD, NH, NKV = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    out = [("model.embed_tokens.weight", (V, C))]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        out.append((p + "input_layernorm.weight", (C,)))
        for name, rows in (("q", NH * HD), ("k", NKV * HD), ("v", NKV * HD)):
            out.append((p + f"self_attn.{name}_proj.weight", (rows, C)))
            if cfg["attention_bias"]:
                out.append((p + f"self_attn.{name}_proj.bias", (rows,)))
        if cfg["qk_norm"]:
            out.append((p + "self_attn.q_norm.weight", (HD,)))
            out.append((p + "self_attn.k_norm.weight", (HD,)))
        out.append((p + "self_attn.o_proj.weight", (C, NH * HD)))
        out.append((p + "post_attention_layernorm.weight", (C,)))
        out.append((p + "mlp.gate_proj.weight", (F, C)))
        out.append((p + "mlp.up_proj.weight", (F, C)))
        out.append((p + "mlp.down_proj.weight", (C, F)))
    out.append(("model.norm.weight", (C,)))
    if not cfg["tie_word_embeddings"]:
        out.append(("lm_head.weight", (V, C)))
    return out


def random_params(cfg, gen, std=0.3):
    """Normal(0, std) matrices and biases; norm weights near 1 (perturbed so
    their gradients matter)."""
    params = {}
    for name, shape in param_names(cfg):
        if name.endswith("norm.weight"):
            t = 1.0 + 0.2 * torch.randn(shape, generator=gen, dtype=torch.float64)
        else:
            t = std * torch.randn(shape, generator=gen, dtype=torch.float64)
        params[name] = t.float().double()   # exactly representable in float32
    return params


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate(x, cos, sin):
    """Rotary embedding: the two halves of the head dimension form the pairs."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def hidden(cfg, P, ids):
    """ids (R, T) long. The final-normed hidden states (R, T, C), the LM head's
    input (causal, so padding after a row's end does not change its positions)."""
    R, T = ids.shape
    C, HD = cfg["hidden_size"], cfg["head_dim"]
    NH, NKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    eps = cfg["rms_norm_eps"]
    inv = 1.0 / cfg["rope_theta"] ** (torch.arange(0, HD, 2, dtype=torch.float64) / HD)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]   # (T, HD/2)
    cos, sin = torch.cos(ang)[None, :, None, :], torch.sin(ang)[None, :, None, :]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))

    x = P["model.embed_tokens.weight"][ids]   # (R, T, C)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."

        def proj(name, h):
            y = h @ P[p + f"self_attn.{name}_proj.weight"].T
            if cfg["attention_bias"]:
                y = y + P[p + f"self_attn.{name}_proj.bias"]
            return y

        h = rms_norm(x, P[p + "input_layernorm.weight"], eps)
        q = proj("q", h).view(R, T, NH, HD)
        k = proj("k", h).view(R, T, NKV, HD)
        v = proj("v", h).view(R, T, NKV, HD)
        if cfg["qk_norm"]:
            q = rms_norm(q, P[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, P[p + "self_attn.k_norm.weight"], eps)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        rep = NH // NKV   # query head h reads key/value head h // rep
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        scores = torch.einsum("rihd,rjhd->rhij", q, k) / math.sqrt(HD)
        scores = scores.masked_fill(~causal, float("-inf"))
        att = torch.einsum("rhij,rjhd->rihd", torch.softmax(scores, dim=-1), v).reshape(R, T, NH * HD)
        x = x + att @ P[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, P[p + "post_attention_layernorm.weight"], eps)
        gate = h @ P[p + "mlp.gate_proj.weight"].T
        up = h @ P[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ P[p + "mlp.down_proj.weight"].T
    return rms_norm(x, P["model.norm.weight"], eps)


def forward(cfg, P, ids, lens, temperature):
    """ids (R, T) long, lens list of R. Returns logp (R, T) and entropy (R, T),
    zero where position t has no next token inside its row."""
    R, T = ids.shape
    x = hidden(cfg, P, ids)
    head = P["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else P["lm_head.weight"]
    logits = (x @ head.T) / temperature   # (R, T, V)
    lsm = torch.log_softmax(logits, dim=-1)
    ent_all = -(lsm.exp() * lsm).sum(-1)
    logp = torch.zeros(R, T, dtype=torch.float64)
    ent = torch.zeros(R, T, dtype=torch.float64)
    for r in range(R):
        n = lens[r] - 1
        if n > 0:
            logp[r, :n] = lsm[r, torch.arange(n), ids[r, 1:n + 1]]
            ent[r, :n] = ent_all[r, :n]
    return logp, ent
