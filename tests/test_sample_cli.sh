#!/usr/bin/env bash
# aha sample end to end on a small random model directory written here (byte-level
# tokenizer from aha train-tokenizer, safetensors from numpy): flags and errors,
# JSON output shape, determinism across runs and thread counts, greedy, stop
# strings, and the sampled log-probs against `aha logprobs` (the training forward).
set -euo pipefail
AHA=${AHA:-./aha}; PYTHON=${PYTHON:-/usr/bin/python3}
T=${TEST_TMP:-$(mktemp -d)}/sample_cli; mkdir -p "$T"; M=$T/model; mkdir -p "$M"
fail() { echo "FAIL: $*"; exit 1; }

printf 'the quick brown fox jumps over the lazy dog\n%.0s' {1..20} > "$T/corpus.txt"
"$AHA" train-tokenizer --corpus "$T/corpus.txt" --vocab-size 257 --special '<|endoftext|>' \
  --out "$M/tokenizer.json" 2>/dev/null
"$PYTHON" - "$M" <<'PY'
import json, struct, sys
import numpy as np
d = sys.argv[1]
C, L, NH, NKV, F, V = 32, 2, 4, 2, 48, 257
HD = C // NH
cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": V, "hidden_size": C,
       "intermediate_size": F, "num_hidden_layers": L, "num_attention_heads": NH, "num_key_value_heads": NKV,
       "hidden_act": "silu", "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
       "tie_word_embeddings": True, "eos_token_id": 256}
json.dump(cfg, open(d + "/config.json", "w"))
rng = np.random.default_rng(3)
t = {"model.embed_tokens.weight": rng.normal(0, 0.5, (V, C)), "model.norm.weight": np.ones(C)}
for l in range(L):
    p = f"model.layers.{l}."
    t[p + "input_layernorm.weight"] = np.ones(C)
    t[p + "post_attention_layernorm.weight"] = np.ones(C)
    for n, shape in [("self_attn.q_proj", (NH * HD, C)), ("self_attn.k_proj", (NKV * HD, C)),
                     ("self_attn.v_proj", (NKV * HD, C)), ("self_attn.o_proj", (C, NH * HD)),
                     ("mlp.gate_proj", (F, C)), ("mlp.up_proj", (F, C)), ("mlp.down_proj", (C, F))]:
        t[p + n + ".weight"] = rng.normal(0, 0.3, shape)
hdr, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
for k, v in t.items():
    b = np.ascontiguousarray(v, dtype="<f4").tobytes()
    hdr[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b); off += len(b)
h = json.dumps(hdr).encode()
with open(d + "/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b"".join(blobs))
PY

# flags and errors
"$AHA" sample --help >/dev/null || fail "--help"
set +e
"$AHA" sample --model "$M" --prompt x --bogus 2>/dev/null; [ $? -eq 2 ] || fail "unknown flag must exit 2"
"$AHA" sample --model "$M" --prompt x --top-p 1.5 2>/dev/null; [ $? -eq 2 ] || fail "bad --top-p must exit 2"
out=$("$AHA" sample --model "$T/none" --prompt x 2>&1); [ $? -eq 1 ] || fail "missing model must exit 1"
echo "$out" | grep -q "none" || fail "error does not name the directory: $out"
out=$("$AHA" sample --model "$M" --prompt x --max-new-tokens 300 2>&1); [ $? -eq 1 ] || fail "too long must exit 1"
echo "$out" | grep -q "max_position" || fail "length error unclear: $out"
set -e

P="the lazy dog"
J1=$("$AHA" sample --model "$M" --prompt "$P" -n 4 --max-new-tokens 12 --seed 9 --temperature 0.9 --json --threads 1)
J2=$("$AHA" sample --model "$M" --prompt "$P" -n 4 --max-new-tokens 12 --seed 9 --temperature 0.9 --json --threads 2)
[ "$(echo "$J1" | wc -l)" -eq 4 ] || fail "expected 4 JSON lines: $J1"
[ "$J1" = "$J2" ] || fail "1 and 2 threads differ"
G1=$("$AHA" sample --model "$M" --prompt "$P" -n 3 --max-new-tokens 10 --temperature 0 --json)
PIDS=$(printf "%s" "$P" | "$AHA" tokenize --tokenizer "$M/tokenizer.json")

"$PYTHON" - "$AHA" "$M" "$PIDS" "$J1" "$G1" <<'PY'
import json, subprocess, sys
aha, model, pids, j1, g1 = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = [json.loads(l) for l in j1.splitlines()]
for r in rows:
    assert r["finish_reason"] in ("stop", "length"), r
    assert len(r["ids"]) == len(r["logp"]) >= 1, r
    if r["finish_reason"] == "length": assert len(r["ids"]) == 12, r
    else: assert r["ids"][-1] == 256, r
assert len({tuple(r["ids"]) for r in rows}) > 1, "all samples identical"
greedy = [json.loads(l) for l in g1.splitlines()]
assert all(g["ids"] == greedy[0]["ids"] for g in greedy), "greedy samples differ"
# sampled logp (temperature 1 when greedy) against the training forward via aha logprobs
lines = "".join(json.dumps({"ids": pids + g["ids"]}) + "\n" for g in greedy[:1])
ref = json.loads(subprocess.run([aha, "logprobs", "--model", model, "--input", "-"], input=lines,
                                capture_output=True, text=True, check=True).stdout.splitlines()[0])["logp"]
n = len(pids)
for t, lp in enumerate(greedy[0]["logp"]):
    want = ref[n - 1 + t]
    assert abs(lp - want) <= 1e-5 * max(abs(want), 1e-2), (t, lp, want)
print("ok: %d sampled log-probs match aha logprobs" % len(greedy[0]["logp"]))
PY

# stop string: the bytes of two consecutive printable greedy tokens (so the
# string spans them) end the completion at its first occurrence
"$PYTHON" - "$AHA" "$M" "$G1" <<'PY'
import json, subprocess, sys
aha, model, g1 = sys.argv[1], sys.argv[2], sys.argv[3]
vocab = json.load(open(model + "/tokenizer.json"))["model"]["vocab"]
# GPT-2 bytes_to_unicode inverse: token string -> raw bytes
bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
rest = [b for b in range(256) if b not in bs]
cs = bs + [256 + n for n in range(len(rest))]
bs = bs + rest
dec = {chr(c): b for b, c in zip(bs, cs)}
raw = {i: bytes(dec[ch] for ch in tok) for tok, i in vocab.items()}
ids = json.loads(g1.splitlines()[0])["ids"]
text = b"".join(raw[i] for i in ids)
pairs = [t for t in range(len(ids) - 1) if all(0x21 <= raw[i][0] < 0x7f and len(raw[i]) == 1 and raw[i] != b'"'
                                             for i in ids[t:t + 2])]
if not pairs: sys.exit("no printable pair to build a stop string from: %r" % text)
stop = raw[ids[pairs[0]]] + raw[ids[pairs[0] + 1]]
end = text.index(stop) + len(stop)          # bytes up to the end of the first occurrence
want = next(t + 1 for t in range(len(ids)) if len(b"".join(raw[i] for i in ids[:t + 1])) >= end)
out = subprocess.run([aha, "sample", "--model", model, "--prompt", "the lazy dog", "--max-new-tokens", "10",
                      "--temperature", "0", "--stop", stop.decode(), "--json"], capture_output=True, text=True, check=True)
r = json.loads(out.stdout)
assert r["finish_reason"] == "stop" and r["ids"] == ids[:want], (stop, r, ids, want)
print("ok: stop string %r ends the completion after %d tokens" % (stop, want))
PY
echo "sample cli ok"
