#!/usr/bin/env bash
# A model's own conventions in aha sample, eval and grpo (one rollout path),
# on a tiny random model: generation_config.json's temperature is the default
# and a flag overrides it (grpo records both in its config.json); a malformed
# file is refused naming the file and the field; a list of EOS ids (config.json or generation_config.json) stops at any
# of them; --template model renders Qwen3's chat_template from
# tokenizer_config.json, and a model without one is refused with a hint.
set -euo pipefail
AHA=${AHA:-./aha}; PYTHON=${PYTHON:-/usr/bin/python3}
T=${TEST_TMP:-$(mktemp -d)}/genconfig; rm -rf "$T"; mkdir -p "$T"; M=$T/model
fail() { echo "FAIL: $*"; exit 1; }
"$AHA" init --out "$M" --preset tiny --std 0.5 --seed 3 >/dev/null 2>&1
ids() { "$PYTHON" -c 'import json, sys
for l in sys.stdin: print(json.loads(l)["ids"], json.loads(l)["finish_reason"])'; }
sample() { "$AHA" sample --model "$M" --prompt "the cat sat" --max-new-tokens 8 --seed 5 --json "$@"; }

# generation_config.json temperature 0: greedy, all four samples alike; a flag wins.
echo '{"temperature": 0, "top_p": 0.9, "top_k": 50, "do_sample": true}' > "$M/generation_config.json"
[ "$(sample -n 4 | ids | sort -u | wc -l)" -eq 1 ] || fail "generation_config temperature 0 is not the default"
[ "$(sample -n 4 --temperature 1.5 --top-k 0 --top-p 1 | ids | sort -u | wc -l)" -gt 1 ] \
  || fail "--temperature does not override generation_config.json"
"$AHA" eval --model "$M" --task sum --problems 2 --k 2 --max-new-tokens 4 --json "$T/e.json" >/dev/null \
  || fail "eval with a generation_config.json"

# grpo records the effective settings: generation_config.json's, then a flag's.
grpo() { "$AHA" grpo --model "$M" --task sum --steps 1 --prompts-per-step 1 --group-size 2 --max-new-tokens 4 "$@" \
  >/dev/null 2>"$T/grpo.err" || fail "grpo: $(tail -3 "$T/grpo.err")"; }
setting() { "$PYTHON" -c 'import json, sys; c = json.load(open(sys.argv[1])); print(c["temperature"], c["top_k"])' "$1"; }
echo '{"temperature": 0.7, "top_k": 20}' > "$M/generation_config.json"
grpo --out "$T/g1"
[ "$(setting "$T/g1/config.json")" = "0.7 20" ] || fail "grpo: $(setting "$T/g1/config.json"), want 0.7 20"
cmp -s "$M/generation_config.json" "$T/g1/checkpoints/step_1/generation_config.json" \
  || fail "the checkpoint lacks the model's generation_config.json"
grpo --out "$T/g2" --temperature 0.9
[ "$(setting "$T/g2/config.json")" = "0.9 20" ] || fail "grpo --temperature: $(setting "$T/g2/config.json")"

# Malformed files: the file and the field are named.
for bad in '{"temperature": "hot"}|"temperature"' '{"top_p": 0}|"top_p"' '{"top_k": 2.5}|"top_k"' \
           '{"eos_token_id": ["x"]}|"eos_token_id"' '[1, 2]|not a JSON object'; do
  echo "${bad%%|*}" > "$M/generation_config.json"
  if err=$(sample 2>&1 >/dev/null); then fail "accepted ${bad%%|*}"; fi
  grep -q "generation_config.json" <<<"$err" && grep -qF "${bad#*|}" <<<"$err" || fail "${bad%%|*}: $err"
done
rm "$M/generation_config.json"

# Every EOS id stops: the greedy completion ends at the first of its tokens
# that is listed, whichever list names it and wherever it stands in the list.
greedy=$(sample --temperature 0 | ids)
read -r a b <<<"$("$PYTHON" -c 'import ast, sys
ids = ast.literal_eval(sys.argv[1].rsplit(" ", 1)[0]); print(ids[3], ids.index(ids[3]))' "$greedy")"
cp "$M/config.json" "$T/config.json"
"$PYTHON" -c 'import json, sys; c = json.load(open(sys.argv[1])); e = c["eos_token_id"]
c["eos_token_id"] = (e if isinstance(e, list) else [e]) + [int(sys.argv[2])]
json.dump(c, open(sys.argv[1], "w"))' "$M/config.json" "$a"
got=$(sample --temperature 0 | ids)
want=$("$PYTHON" -c 'import ast, sys
ids = ast.literal_eval(sys.argv[1].rsplit(" ", 1)[0]); print(ids[:int(sys.argv[2]) + 1], "stop")' "$greedy" "$b")
[ "$got" = "$want" ] || fail "config.json eos list: $got, want $want"
cp "$T/config.json" "$M/config.json"
echo "{\"eos_token_id\": [1, $a]}" > "$M/generation_config.json"
got=$(sample --temperature 0 | ids)
[ "$got" = "$want" ] || fail "generation_config.json eos list: $got, want $want"
rm "$M/generation_config.json"

# --template model: Qwen3's template (thinking off) through the sampler; none: refused.
if err=$(sample --template model 2>&1 >/dev/null); then fail "template model without a chat_template"; fi
grep -q "has no chat_template" <<<"$err" && grep -q -- "--template" <<<"$err" || fail "no chat_template: $err"
"$PYTHON" -c 'import json, sys; c = json.load(open(sys.argv[1])); c["chat_template"] = open(sys.argv[2]).read()
json.dump(c, open(sys.argv[1], "w"))' "$M/tokenizer_config.json" tests/data/chat/qwen3.jinja
sample --template model --no-enable-thinking >/dev/null || fail "template model with Qwen3's chat_template"
if err=$(sample --template model --no-enable-thinking --prefill-think 2>&1 >/dev/null); then
  fail "prefill_think with enable_thinking false"; fi
echo '{"messages": [{"role": "user", "content": "the cat sat"}], "add_generation_prompt": true, "enable_thinking": false}' \
  | "$AHA" chat-template --tokenizer "$M" > "$T/chat.txt"
grep -qF '"<|im_start|>user\nthe cat sat<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"' "$T/chat.txt" \
  || fail "chat-template: $(cat "$T/chat.txt")"
# SFT on messages through the model's chat template (Qwen3's think blocks).
echo '{"messages": [{"role": "user", "content": "the cat"}, {"role": "assistant", "content": "<think>\nsat\n</think>\n\nthe mat"}]}' \
  > "$T/sft.jsonl"
"$AHA" sft --model "$M" --dataset "$T/sft.jsonl" --template model --out "$T/sft" --max-steps 1 --batch 1 --eval-ratio 0 \
  >/dev/null 2>"$T/sft.err" || fail "sft with --template model: $(tail -3 "$T/sft.err")"
echo ok
