#!/usr/bin/env bash
# LoRA from the command line on a tiny random model: grpo --lora-r writes PEFT
# adapters (adapter_config.json, PEFT tensor names and shapes) into its
# checkpoints and resumes bit for bit (adapter dropout on); aha merge writes a
# model whose log-probs equal logprobs --adapter; sft --lora-r writes adapter/
# and the merged model/ and resumes bit for bit, in bf16 too (the base held
# in bf16 only); bad settings and adapters
# that do not fit are refused with a message naming them.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
T=$TEST_TMP/lora
rm -rf "$T" && mkdir -p "$T"
. tests/grpo_setup.sh
L=(--lora-r 4 --lora-alpha 8 --lora-dropout 0.1 --lora-targets q_proj,v,o,gate,up,down --ref-reset-every 0)

$AHA grpo "${COMMON[@]}" "${L[@]}" --steps 4 --save-every 2 --out "$T/a" >"$T/a.log" 2>&1
check "grpo --lora-r exits 0" '[ $? -eq 0 ]'
C=$T/a/checkpoints/step_4
for f in adapter_config.json adapter_model.safetensors optimizer.safetensors trainer_state.json tokenizer.json; do
  check "checkpoint has $f" '[ -s "$C/$f" ]'
done
check "no full model in a LoRA checkpoint" '[ ! -e "$C/model.safetensors" ]'
check "peak memory printed" 'grep -q "peak resident memory" "$T/a.log"'
$PYTHON - "$C" "$T/model" >"$T/peft.log" 2>&1 <<'P'
import json, struct, sys
d, base = sys.argv[1], sys.argv[2]
c = json.load(open(d + "/adapter_config.json"))
assert c["peft_type"] == "LORA" and c["r"] == 4 and c["lora_alpha"] == 8 and c["bias"] == "none", c
assert c["task_type"] == "CAUSAL_LM" and abs(c["lora_dropout"] - 0.1) < 1e-12, c
assert c["target_modules"] == ["q_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], c["target_modules"]
assert c["base_model_name_or_path"].endswith("/model"), c["base_model_name_or_path"]
cfg = json.load(open(base + "/config.json"))
raw = open(d + "/adapter_model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n]); h.pop("__metadata__", None)
C, L = cfg["hidden_size"], cfg["num_hidden_layers"]
q = cfg["num_attention_heads"] * cfg.get("head_dim", C // cfg["num_attention_heads"])
assert len(h) == L * 6 * 2, len(h)
a = h["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"]
b = h["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"]
assert a["shape"] == [4, C] and b["shape"] == [q, 4] and a["dtype"] == "F32", (a, b)
assert "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight" not in h
print("ok")
P
check "PEFT config and tensor names" 'grep -q "^ok" "$T/peft.log" || { cat "$T/peft.log"; false; }'

# 2 steps, then resume to 4: bit for bit
$AHA grpo "${COMMON[@]}" "${L[@]}" --steps 2 --save-every 2 --out "$T/b" >"$T/b.log" 2>&1
$AHA grpo --resume "$T/b" --steps 4 >>"$T/b.log" 2>&1
check "resumed LoRA run exits 0" '[ $? -eq 0 ]'
for f in adapter_model.safetensors optimizer.safetensors; do
  check "resume: $f bit-identical" 'cmp -s "$C/$f" "$T/b/checkpoints/step_4/$f"'
done
check "resume: metrics identical" '[ "$(strip "$T/a/metrics.jsonl")" = "$(strip "$T/b/metrics.jsonl")" ]'
check "adapters moved" '! cmp -s "$T/a/checkpoints/step_2/adapter_model.safetensors" "$C/adapter_model.safetensors"'

# merge: the merged model's log-probs are the base's with the adapters
$AHA merge --base "$T/model" --adapter "$C" --out "$T/merged" >"$T/merge.log" 2>&1
check "merge exits 0" '[ $? -eq 0 ]'
check "merged model has config, weights, tokenizer" '[ -s "$T/merged/config.json" ] && [ -s "$T/merged/model.safetensors" ] && [ -s "$T/merged/tokenizer.json" ]'
printf '{"ids":[1,5,9,3,2,8,4,7,7,1,30,31]}\n{"ids":[2,2,4]}\n' >"$T/ids.jsonl"
$AHA logprobs --model "$T/merged" --input "$T/ids.jsonl" >"$T/lp_merged.jsonl" 2>"$T/lp.err"
$AHA logprobs --model "$T/model" --adapter "$C" --input "$T/ids.jsonl" >"$T/lp_adapter.jsonl" 2>>"$T/lp.err"
$AHA logprobs --model "$T/model" --input "$T/ids.jsonl" >"$T/lp_base.jsonl" 2>>"$T/lp.err"
$PYTHON - "$T" >"$T/cmp.log" 2>&1 <<'P'
import json, sys
t = sys.argv[1]
rd = lambda f: [x for l in open(t + f) for x in json.loads(l)["logp"]]
m, a, b = rd("/lp_merged.jsonl"), rd("/lp_adapter.jsonl"), rd("/lp_base.jsonl")
err = max(abs(x - y) / max(abs(x), abs(y), 1e-3) for x, y in zip(m, a))
moved = max(abs(x - y) for x, y in zip(a, b))
assert len(m) == len(a) == 13 and err < 1e-5 and moved > 1e-6, (err, moved)
print("ok", err, moved)
P
check "logprobs of merged == logprobs --adapter" 'grep -q "^ok" "$T/cmp.log" || { cat "$T/cmp.log" "$T/lp.err"; false; }'
$AHA sample --model "$T/model" --adapter "$C" --prompt "1 + 1" -n 2 --max-new-tokens 4 --json >"$T/sample.jsonl" 2>&1
check "sample --adapter" '[ "$(grep -c "\"logp\"" "$T/sample.jsonl")" -eq 2 ]'

# sft with LoRA: adapter/ and the merged model/, resume bit for bit
$PYTHON - "$T/sft.jsonl" <<'P'
import json, random, sys
r = random.Random(1)
with open(sys.argv[1], "w") as f:
    for i in range(16):
        a, b = r.randint(1, 9), r.randint(1, 9)
        f.write(json.dumps({"prompt": f"{a}+{b}=", "completion": f" {a + b}"}) + "\n")
P
S=(--model "$T/model" --dataset "$T/sft.jsonl" --batch 4 --max-steps 6 --save-steps 3 --lr 1e-2 --lora-r 4
   --lora-dropout 0.1 --log-every 1 --threads 1)
$AHA sft "${S[@]}" --out "$T/s1" >"$T/s1.log" 2>&1
check "sft --lora-r exits 0" '[ $? -eq 0 ]'
check "sft writes adapter/ and model/" '[ -s "$T/s1/adapter/adapter_config.json" ] && [ -s "$T/s1/model/model.safetensors" ]'
$AHA sft "${S[@]}" --max-steps 6 --out "$T/s2" >"$T/s2.log" 2>&1
rm -rf "$T/s2/checkpoints/step_6" && echo step_3 >"$T/s2/checkpoints/latest"
$PYTHON - "$T/s2/metrics.jsonl" <<'P'
import json, sys
rows = [l for l in open(sys.argv[1]) if json.loads(l).get("step", 0) <= 3 and "eval_loss" not in l]
open(sys.argv[1], "w").write("".join(rows))
P
$AHA sft "${S[@]}" --out "$T/s2" --resume >>"$T/s2.log" 2>&1
check "sft LoRA resume exits 0" '[ $? -eq 0 ] || tail -3 "$T/s2.log"'
check "sft LoRA resume: adapters bit-identical" 'cmp -s "$T/s1/adapter/adapter_model.safetensors" "$T/s2/adapter/adapter_model.safetensors"'
check "sft LoRA: merged model == aha merge" '$AHA merge --base "$T/model" --adapter "$T/s1/adapter" --out "$T/s1m" >/dev/null 2>&1 && cmp -s "$T/s1m/model.safetensors" "$T/s1/model/model.safetensors"'

# bf16: the frozen base held in bf16 only; 2 steps + resume to 4 equal 4
# straight steps bit for bit; sft's merged model equals aha merge's (fp32).
# Without oneDNN or the chip's bf16 dot product it is refused, naming fp32.
$AHA grpo "${COMMON[@]}" "${L[@]}" --precision bf16 --steps 4 --save-every 2 --out "$T/h" >"$T/h.log" 2>&1; rc=$?
if grep -q "needs oneDNN\|bf16 dot product" "$T/h.log"; then
  check "bf16 LoRA refused naming fp32" '[ $rc -ne 0 ] && grep -q "fp32" "$T/h.log"'
else
  check "bf16 LoRA exits 0" '[ $rc -eq 0 ]'
  $AHA grpo "${COMMON[@]}" "${L[@]}" --precision bf16 --steps 2 --save-every 2 --out "$T/i" >"$T/i.log" 2>&1
  $AHA grpo --resume "$T/i" --steps 4 >>"$T/i.log" 2>&1
  check "bf16 LoRA resume: adapters bit-identical" 'cmp -s "$T/h/checkpoints/step_4/adapter_model.safetensors" "$T/i/checkpoints/step_4/adapter_model.safetensors"'
  check "bf16 LoRA resume: metrics identical" '[ "$(strip "$T/h/metrics.jsonl")" = "$(strip "$T/i/metrics.jsonl")" ]'
  check "bf16 LoRA is not fp32" '! cmp -s "$C/adapter_model.safetensors" "$T/h/checkpoints/step_4/adapter_model.safetensors"'
  $AHA sft "${S[@]}" --precision bf16 --out "$T/s3" >"$T/s3.log" 2>&1
  check "sft bf16 LoRA exits 0" '[ $? -eq 0 ] || tail -3 "$T/s3.log"'
  check "sft bf16 LoRA: merged model == aha merge" '$AHA merge --base "$T/model" --adapter "$T/s3/adapter" --out "$T/s3m" >/dev/null 2>&1 && cmp -s "$T/s3m/model.safetensors" "$T/s3/model/model.safetensors"'
fi

# refusals
out=$($AHA grpo "${COMMON[@]}" --lora-r 4 --lora-targets q,lm_head --ref-reset-every 0 --steps 1 --out "$T/x1" 2>&1)
check "unknown target refused" '[ $? -ne 0 ] && echo "$out" | grep -q "lm_head" && [ ! -e "$T/x1" ]'
out=$($AHA grpo "${COMMON[@]}" --lora-r 4 --steps 4 --out "$T/x2" 2>&1)
check "reference reset refused with LoRA" '[ $? -ne 0 ] && echo "$out" | grep -q "ref-reset-every 0"'
sed -i 's/"r":[[:space:]]*4/"r": 3/' "$T/a/checkpoints/step_2/adapter_config.json"
out=$($AHA merge --base "$T/model" --adapter "$T/a/checkpoints/step_2" --out "$T/x3" 2>&1)
check "adapter of another rank refused naming the tensor" '[ $? -ne 0 ] && echo "$out" | grep -q "lora_A.weight has shape"'
out=$($AHA logprobs --model "$T/model" --adapter "$T/nowhere" --input "$T/ids.jsonl" 2>&1)
check "missing adapter dir refused" '[ $? -ne 0 ] && echo "$out" | grep -q "adapter_config.json"'

# a size that cannot fit is refused from its config.json alone, before anything is loaded
mkdir -p "$T/huge" && cp "$T/model"/tokenizer*.json "$T/huge/"
$PYTHON - "$T" <<'P'
import json, sys
t = sys.argv[1]
c = json.load(open(t + "/model/config.json"))
c.update(hidden_size=16384, intermediate_size=53248, num_hidden_layers=126, num_attention_heads=128,
         num_key_value_heads=8, head_dim=128)
json.dump(c, open(t + "/huge/config.json", "w"))
P
out=$($AHA grpo "${COMMON[@]}" --model "$T/huge" --steps 1 --out "$T/x4" 2>&1)
check "grpo: too large refused with the memory it needs" '[ $? -ne 0 ] && echo "$out" | grep -q "needs about .* GiB (weights .*gradients .*AdamW moments .*reference model" && echo "$out" | grep -q "MemAvailable" && [ ! -e "$T/x4" ]'
out=$($AHA grpo "${COMMON[@]}" --model "$T/huge" "${L[@]}" --steps 1 --out "$T/x5" 2>&1)
check "grpo LoRA plan has no gradients or reference" '[ $? -ne 0 ] && echo "$out" | grep -q "LoRA adapters" && ! echo "$out" | grep -q "reference model"'
out=$($AHA sft --model "$T/huge" --dataset "$T/sft.jsonl" --batch 4 --out "$T/x6" 2>&1)
check "sft: too large refused" '[ $? -ne 0 ] && echo "$out" | grep -q "needs about" && [ ! -e "$T/x6" ]'
exit $fail
