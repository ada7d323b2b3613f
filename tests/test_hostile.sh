#!/usr/bin/env bash
# Hostile inputs through the CLI (./aha-debug, under ASan/UBSan in the test
# build): each must be refused at once with exit status 1 and a message naming
# the file, line or field at fault, never a hang, a crash or a failure many
# steps into a run. An over-long dataset row is refused when the dataset is
# opened (FILE:LINE, its token count, the limit), or skipped and counted with
# --skip-long-prompts; a FIFO in place of any file a loader reads is refused
# without blocking; a config.json whose sizes overflow or exhaust memory names
# config.json and the fields; a NUL inside a safetensors name is reported as
# such; a reward that cannot score a dataset row names FILE:LINE.
set -u
AHA=${AHA:-./aha}
AHA_DEBUG=${AHA_DEBUG:-./aha-debug}
PYTHON=${PYTHON:-/usr/bin/python3}
T=${TEST_TMP:-/tmp}/hostile_sh
rm -rf "$T" && mkdir -p "$T"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect STATUS NEEDLE... -- CMD...: runs CMD (20 s at most), checks its status
# and that stderr holds each needle.
expect() {
  local want=$1; shift
  local needles=()
  while [ "$1" != "--" ]; do needles+=("$1"); shift; done
  shift
  timeout 20 "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    fail "'$*' exited $rc, want $want"; cat "$T/err"; return
  fi
  for n in "${needles[@]}"; do
    grep -qF -- "$n" "$T/err" || { fail "'$*': stderr lacks '$n':"; cat "$T/err"; }
  done
}

$AHA init --preset tiny --seed 5 --out "$T/m" >/dev/null 2>&1 || { echo "FAIL: init"; exit 1; }

# --- Over-long dataset rows: refused at open, or skipped and counted.
$PYTHON - "$T" <<'P'
import json, sys
t = sys.argv[1]
with open(t + "/long.jsonl", "w") as f:
    for i in range(5):
        f.write(json.dumps({"prompt": "What is %d+1?" % i, "answer": str(i + 1)}) + "\n")
    f.write(json.dumps({"prompt": "x " * 3000, "answer": "1"}) + "\n")
with open(t + "/alllong.jsonl", "w") as f:
    f.write(json.dumps({"prompt": "x " * 3000, "answer": "1"}) + "\n")
P
GRPO=(grpo --model "$T/m" --template raw --prompts-per-step 2 --group-size 2 --max-new-tokens 8 --threads 1
      --save-every 1)
expect 1 "$T/long.jsonl:6: the prompt has 5999 tokens, more than the 504 allowed (max_prompt_tokens)" \
  "--skip-long-prompts" -- "$AHA_DEBUG" "${GRPO[@]}" --dataset "$T/long.jsonl" --steps 2 --out "$T/r0"
[ -e "$T/r0/checkpoints" ] && fail "a refused dataset still started a run"
expect 0 "skipped 1 rows of $T/long.jsonl whose prompts exceed max_prompt_tokens 504 (5 kept)" -- \
  "$AHA" "${GRPO[@]}" --dataset "$T/long.jsonl" --skip-long-prompts --steps 3 --out "$T/r1"
# Every row is drawn within 3 steps of 2 prompts: had the long one survived, the run would have died.
[ "$(wc -l <"$T/r1/metrics.jsonl")" -eq 3 ] || fail "skipping run did not finish its 3 steps"
grep -q '"skip_long_prompts":[[:space:]]*true' "$T/r1/config.json" || fail "config.json lacks skip_long_prompts"
expect 0 "skipped 1 rows" -- "$AHA" grpo --resume "$T/r1" --steps 5
[ "$(wc -l <"$T/r1/metrics.jsonl")" -eq 5 ] || fail "the resumed skipping run did not reach step 5"
expect 1 "$T/alllong.jsonl: every prompt is longer than the 504 tokens allowed" -- \
  "$AHA" "${GRPO[@]}" --dataset "$T/alllong.jsonl" --skip-long-prompts --steps 1 --out "$T/r2"
expect 1 "$T/long.jsonl:6: the prompt has 5999 tokens, more than the 504 allowed (max_position_embeddings 512 less max_new_tokens 8)" \
  -- "$AHA_DEBUG" eval --model "$T/m" --dataset "$T/long.jsonl" --template raw --max-new-tokens 8 --k 1
expect 0 "skipped 1 rows of $T/long.jsonl" -- "$AHA" eval --model "$T/m" --dataset "$T/long.jsonl" --template raw \
  --max-new-tokens 8 --k 1 --skip-long-prompts --json "$T/e.json"
$PYTHON -c "import json,sys; e=json.load(open(sys.argv[1])); assert e['n_problems']==5 and e['skipped_long_prompts']==1, e" \
  "$T/e.json" || fail "eval summary does not count the skipped row"

# --- A reward that cannot score a dataset row names FILE:LINE (not "input 0").
printf '{"prompt":"a","answer":"1","numbers":[1,2],"target":3}\n{"prompt":"b","answer":"1","numbers":"x","target":3}\n' \
  >"$T/cd.jsonl"
expect 1 "reward countdown, problem $T/cd.jsonl:2: the task needs \"numbers\"" -- \
  "$AHA_DEBUG" "${GRPO[@]}" --dataset "$T/cd.jsonl" --reward countdown:1 --steps 1 --out "$T/r3"

# --- A FIFO in place of any file a loader reads: refused at once, never a hang.
for f in model.safetensors config.json tokenizer.json; do
  rm -rf "$T/fifo" && cp -r "$T/m" "$T/fifo" && rm "$T/fifo/$f" && mkfifo "$T/fifo/$f"
  expect 1 "$T/fifo/$f: not a regular file" -- "$AHA_DEBUG" sample --model "$T/fifo" --prompt hi --max-new-tokens 2
done
mkfifo "$T/data.fifo"
expect 1 "$T/data.fifo: not a regular file" -- "$AHA_DEBUG" eval --model "$T/m" --dataset "$T/data.fifo"
expect 1 "$T/data.fifo: not a regular file" -- "$AHA_DEBUG" "${GRPO[@]}" --task arithmetic --hicra-lexicon "$T/data.fifo" \
  --steps 1 --out "$T/r4"
state=$(ls -d "$T"/r1/checkpoints/step_*/ | head -1)trainer_state.json
rm "$state" && mkfifo "$state"
rm -f "$T/r1/checkpoints/latest" && basename "$(dirname "$state")" >"$T/r1/checkpoints/latest"
expect 1 "$state: not a regular file" -- "$AHA_DEBUG" grpo --resume "$T/r1" --steps 6

# --- config.json sizes that overflow, or that no memory holds: config.json and the fields named.
bigcfg() {  # DIR KEY=VALUE...: a copy of the model with config.json fields replaced
  local d=$1; shift
  rm -rf "$d" && cp -r "$T/m" "$d"
  $PYTHON - "$d/config.json" "$@" <<'P'
import json, sys
c = json.load(open(sys.argv[1]))
for kv in sys.argv[2:]:
    k, v = kv.split("=")
    c[k] = int(v)
json.dump(c, open(sys.argv[1], "w"))
P
}
bigcfg "$T/big1" vocab_size=2000000000 hidden_size=2000000000
expect 1 "$T/big1/config.json: config: the model would have more than 1099511627776 parameters" \
  "vocab_size 2000000000, hidden_size 2000000000" -- "$AHA_DEBUG" sample --model "$T/big1" --prompt hi
bigcfg "$T/big2" num_attention_heads=40000 num_key_value_heads=40000 head_dim=100000
expect 1 "$T/big2/config.json: config: num_attention_heads (40000) x head_dim (100000) is too large" -- \
  "$AHA_DEBUG" sample --model "$T/big2" --prompt hi
bigcfg "$T/big3" vocab_size=2000000000 hidden_size=200
expect 1 "$T/big3/config.json: model with 8000002" "parameters (vocab_size 2000000000, hidden_size 200," \
  "out of memory" -- "$AHA" sample --model "$T/big3" --prompt hi

# --- A NUL inside a safetensors name: the name and the file, at parse time.
$PYTHON - "$T/m/model.safetensors" "$T/nul" <<'P'
import json, os, shutil, struct, sys
src, out = sys.argv[1], sys.argv[2]
shutil.copytree(os.path.dirname(src), out)
b = open(src, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = b[8:8 + n].decode().replace('"model.norm.weight"', '"model.norm\\u0000.weight"', 1)
h = h.encode() + b" " * ((8 - len(h) % 8) % 8)
open(out + "/model.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b[8 + n:])
P
expect 1 "$T/nul/model.safetensors: header string \"model.norm\\u0000.weight\" holds a NUL character" -- \
  "$AHA_DEBUG" sample --model "$T/nul" --prompt hi

[ "$fails" -eq 0 ] && echo "all hostile inputs refused clearly"
[ "$fails" -eq 0 ]
