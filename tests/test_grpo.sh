#!/usr/bin/env bash
# aha grpo end to end on a tiny random model: every run file is written; a run
# of 2N steps equals N steps + resume + N steps bit for bit (weights, optimizer
# and every non-timing metric); runs killed with SIGKILL at random moments
# (also during checkpoint writes) resume from the last complete checkpoint and
# end bit-identical; bad settings are refused with a clear message.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
T=$TEST_TMP/grpo
mkdir -p "$T"
. tests/grpo_setup.sh

# Straight run of 8 steps, timed: the kills below land within a fraction of it.
t0=$(date +%s%N)
$AHA grpo "${COMMON[@]}" --steps 8 --save-every 4 --out "$T/a" >"$T/a.log" 2>&1
check "straight run exits 0" '[ $? -eq 0 ]'
run_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
for f in config.json metrics.jsonl samples.jsonl checkpoints/latest checkpoints/step_4/model.safetensors \
         checkpoints/step_8/model.safetensors checkpoints/step_8/optimizer.safetensors \
         checkpoints/step_8/trainer_state.json checkpoints/step_8/tokenizer.json checkpoints/step_8/ref/model.safetensors; do
  check "run wrote $f" '[ -s "$T/a/$f" ]'
done
check "8 metrics lines" '[ "$(wc -l <"$T/a/metrics.jsonl")" -eq 8 ]'
check "config.json has every setting" 'grep -q "\"eps_high\"" "$T/a/config.json" && grep -q "\"max_new_tokens\":	12" "$T/a/config.json"'
check "weights moved" '! cmp -s "$T/model/model.safetensors" "$T/a/checkpoints/step_8/model.safetensors"'
check "TRL metric names" 'head -1 "$T/a/metrics.jsonl" | grep -q "\"frac_reward_zero_std\"" && head -1 "$T/a/metrics.jsonl" | grep -q "\"clip_ratio/high_mean\""'

# Sampling and training memory given back between the phases (on) or both
# held (off; what auto picks for a model this small) changes memory only,
# never a number.
$AHA grpo "${COMMON[@]}" --steps 4 --save-every 4 --release-memory on --out "$T/m_on" >"$T/m_on.log" 2>&1
check "release-memory on exits 0" '[ $? -eq 0 ]'
check "release-memory on: memory takes turns" 'grep -q "sampling and training memory taking turns" "$T/m_on.log"'
check "release-memory auto holds a tiny run together" 'grep -q "sampling and training memory held together" "$T/a.log"'
check "release-memory on: weights bit-identical" \
  'cmp -s "$T/a/checkpoints/step_4/model.safetensors" "$T/m_on/checkpoints/step_4/model.safetensors"'
head -4 "$T/a/metrics.jsonl" >"$T/a4.jsonl"
check "release-memory on: metrics identical" '[ "$(strip "$T/a4.jsonl")" = "$(strip "$T/m_on/metrics.jsonl")" ]'
$AHA grpo "${COMMON[@]}" --steps 4 --release-memory sometimes --out "$T/m_bad" >"$T/m_bad.log" 2>&1
check "release-memory takes auto, on or off" '[ $? -eq 2 ] && grep -q "release.memory" "$T/m_bad.log"'

# 4 steps, then resume to 8.
$AHA grpo "${COMMON[@]}" --steps 4 --save-every 4 --out "$T/b" >"$T/b.log" 2>&1
$AHA grpo --resume "$T/b" --steps 8 >>"$T/b.log" 2>&1
check "resumed run exits 0" '[ $? -eq 0 ]'
check "resume: weights bit-identical" 'cmp -s "$T/a/checkpoints/step_8/model.safetensors" "$T/b/checkpoints/step_8/model.safetensors"'
check "resume: optimizer bit-identical" 'cmp -s "$T/a/checkpoints/step_8/optimizer.safetensors" "$T/b/checkpoints/step_8/optimizer.safetensors"'
check "resume: reference bit-identical" 'cmp -s "$T/a/checkpoints/step_8/ref/model.safetensors" "$T/b/checkpoints/step_8/ref/model.safetensors"'
check "resume: metrics identical" '[ "$(strip "$T/a/metrics.jsonl")" = "$(strip "$T/b/metrics.jsonl")" ]'
check "resume: samples identical" 'cmp -s "$T/a/samples.jsonl" "$T/b/samples.jsonl"'

# The same with 8-bit AdamW: its state file holds U8 codes (about a quarter of
# fp32's bytes) and a resume continues bit for bit.
$AHA grpo "${COMMON[@]}" --optim adamw_8bit --steps 8 --save-every 4 --out "$T/a8" >"$T/a8.log" 2>&1
check "8-bit run exits 0" '[ $? -eq 0 ]'
$AHA grpo "${COMMON[@]}" --optim adamw_8bit --steps 4 --save-every 4 --out "$T/b8" >"$T/b8.log" 2>&1
$AHA grpo --resume "$T/b8" --steps 8 >>"$T/b8.log" 2>&1
check "8-bit resume: weights bit-identical" 'cmp -s "$T/a8/checkpoints/step_8/model.safetensors" "$T/b8/checkpoints/step_8/model.safetensors"'
check "8-bit resume: optimizer bit-identical" 'cmp -s "$T/a8/checkpoints/step_8/optimizer.safetensors" "$T/b8/checkpoints/step_8/optimizer.safetensors"'
check "8-bit resume: metrics identical" '[ "$(strip "$T/a8/metrics.jsonl")" = "$(strip "$T/b8/metrics.jsonl")" ]'
s32=$(stat -c %s "$T/a/checkpoints/step_8/optimizer.safetensors"); s8=$(stat -c %s "$T/a8/checkpoints/step_8/optimizer.safetensors")
check "8-bit state is U8 and under 30% of fp32's ($s8 vs $s32 bytes)" \
    'grep -q "\"U8\"" "$T/a8/checkpoints/step_8/optimizer.safetensors" && [ $((s8 * 10)) -lt $((s32 * 3)) ]'
check "8-bit and fp32 runs differ" '! cmp -s "$T/a/checkpoints/step_8/model.safetensors" "$T/a8/checkpoints/step_8/model.safetensors"'
$AHA grpo --resume "$T/b8" --optim adamw --steps 9 >"$T/b8x.log" 2>&1
check "resume with another optim is refused" '[ $? -eq 1 ] && grep -q "holds adamw_8bit state but this run.s optim is adamw (set --optim adamw_8bit" "$T/b8x.log"'

# SIGKILL at random moments (checkpoints every step, so many kills land in a
# checkpoint write); resume until done; must equal the straight run. Each
# kill waits up to a quarter of the straight run, so several land on any
# machine, fast or slow.
RANDOM=42
kill_ms=$(( run_ms / 4 + 1 )); [ $kill_ms -gt 999 ] && kill_ms=999
live_kills=0
$AHA grpo "${COMMON[@]}" --steps 8 --save-every 1 --out "$T/c" >"$T/c.log" 2>&1 &
pid=$!
for round in $(seq 1 40); do
  sleep "$(printf '0.%03d' $((RANDOM % kill_ms)))"
  if kill -9 "$pid" 2>/dev/null; then live_kills=$((live_kills + 1)); fi
  wait "$pid" 2>/dev/null
  grep -qx step_8 "$T/c/checkpoints/latest" 2>/dev/null && break
  if [ -f "$T/c/config.json" ]; then
    $AHA grpo --resume "$T/c" >>"$T/c.log" 2>&1 &
  else
    $AHA grpo "${COMMON[@]}" --steps 8 --save-every 1 --out "$T/c" >>"$T/c.log" 2>&1 &
  fi
  pid=$!
done
wait "$pid" 2>/dev/null
grep -qx step_8 "$T/c/checkpoints/latest" 2>/dev/null || $AHA grpo --resume "$T/c" >>"$T/c.log" 2>&1
echo "SIGKILL landed $live_kills times"
check "at least 3 kills hit a live run" '[ $live_kills -ge 3 ]'
check "killed run finished" 'grep -qx step_8 "$T/c/checkpoints/latest"'
check "killed run: weights bit-identical" 'cmp -s "$T/a/checkpoints/step_8/model.safetensors" "$T/c/checkpoints/step_8/model.safetensors"'
check "killed run: metrics identical" '[ "$(strip "$T/a/metrics.jsonl")" = "$(strip "$T/c/metrics.jsonl")" ]'

# A checkpoint cut off mid-write (a step_N.tmp left behind) is never used.
cp -r "$T/a/checkpoints/step_4" "$T/a/checkpoints/step_9.tmp"
head -c 1000 "$T/a/checkpoints/step_4/model.safetensors" >"$T/a/checkpoints/step_9.tmp/model.safetensors"
$AHA grpo --resume "$T/a" --steps 9 >"$T/a2.log" 2>&1
check "resume past a partial checkpoint" '[ $? -eq 0 ] && grep -q "resuming .* at step 8" "$T/a2.log" && grep -qx step_9 "$T/a/checkpoints/latest"'

# Dynamic sampling: groups whose rewards are all equal are dropped and refilled
# with at most max_sampling_rounds extra rounds. A random model never answers
# arithmetic, so every group has zero variance: exactly 1 + 2 rounds, no group
# kept, no update.
$AHA grpo --model "$T/model" --task arithmetic --template raw --prompts-per-step 2 --group-size 4 \
    --max-new-tokens 8 --max-prompt-tokens 64 --reward math --dynamic-sampling true --max-sampling-rounds 2 \
    --steps 1 --out "$T/ds" --threads 1 >"$T/ds.log" 2>&1
check "dynamic sampling run exits 0" '[ $? -eq 0 ]'
check "refill bounded: 3 rounds, 0 groups" 'grep -q "\"groups\":0,\"sampling_rounds\":3" "$T/ds/metrics.jsonl"'
check "no update without signal" 'cmp -s <(tail -c 100000 "$T/model/model.safetensors") <(tail -c 100000 "$T/ds/checkpoints/step_1/model.safetensors")'
# With a reward that varies, groups are kept; the batch is either full or the
# extra rounds are used up, never more.
$AHA grpo "${COMMON[@]}" --dynamic-sampling true --max-sampling-rounds 2 --steps 3 --out "$T/ds2" >"$T/ds2.log" 2>&1
check "dynamic sampling keeps varied groups, bounded" '$PYTHON -c "
import json, sys
ms = [json.loads(l) for l in open(sys.argv[1])]
ok = all(1 <= m[\"sampling_rounds\"] <= 3 and (m[\"groups\"] == 2 or m[\"sampling_rounds\"] == 3) for m in ms)
sys.exit(0 if ok and sum(m[\"groups\"] for m in ms) > 0 else 1)" "$T/ds2/metrics.jsonl"'

# Micro-batches (gradient accumulation) change memory, not the update: the
# same run with 1-row micro-batches ends with the same weights to float
# rounding (normalized difference of every tensor <= 1e-5).
# bnpo (tokens of the local minibatch) is the aggregation micro-batches could
# most easily change, so it is the one tested. The added language reward varies
# between random completions (the overlong one does not: every completion is
# truncated), so groups have non-zero advantages and the weights move. AdamW's
# epsilon is 1e-5 here: with 1e-8, a gradient entry that is zero up to float
# rounding (~1e-10) still takes a step of ~lr/100 in a direction set by that
# rounding, which the summation order of micro-batches changes.
MB=(--prompts-per-step 4 --reward language:1 --adam-eps 1e-5 --loss-agg bnpo --steps 2)
$AHA grpo "${COMMON[@]}" "${MB[@]}" --out "$T/m0" >"$T/m0.log" 2>&1
$AHA grpo "${COMMON[@]}" "${MB[@]}" --micro-batch-rows 1 --out "$T/m1" >"$T/m1.log" 2>&1
check "micro-batched run exits 0" '[ $? -eq 0 ]'
check "micro-batches give the same weights" '$PYTHON - "$T/m0/checkpoints/step_2/model.safetensors" "$T/m1/checkpoints/step_2/model.safetensors" "$T/model/model.safetensors" <<P
import sys
sys.path.insert(0, "tests/pyref")
import safetensors_io as st
a, b, z = (st.read(p) for p in sys.argv[1:4])
moved = max(float((a[k] - z[k]).norm()) for k in a)
worst = max(float((a[k] - b[k]).norm() / max(float(a[k].norm()), 1e-12)) for k in a)
print("micro-batch weight difference", worst, "moved", moved)
sys.exit(0 if worst <= 1e-5 and moved > 1e-3 else 1)
P'

# PPO (critic + GAE): runs, the value loss falls, and resume is bit-exact for
# the critic and its value head too.
PPO=(--preset ppo --model "$T/model" --task arithmetic --template raw --prompts-per-step 2 --group-size 4
     --max-new-tokens 12 --max-prompt-tokens 64 --reward overlong:1:max=12,cache=10 --lr 3e-3 --critic-lr 3e-3
     --seed 7 --threads 1)
$AHA grpo "${PPO[@]}" --steps 6 --save-every 3 --out "$T/p1" >"$T/p1.log" 2>&1
check "ppo run exits 0" '[ $? -eq 0 ]'
check "ppo writes the critic" '[ -s "$T/p1/checkpoints/step_6/critic/model.safetensors" ] && [ -s "$T/p1/checkpoints/step_6/critic/value_head.safetensors" ]'
check "ppo value loss falls" '$PYTHON -c "
import json, sys
v = [json.loads(l)[\"critic/vf_loss\"] for l in open(sys.argv[1])]
sys.exit(0 if v[-1] < v[0] else 1)" "$T/p1/metrics.jsonl"'
$AHA grpo "${PPO[@]}" --steps 3 --save-every 3 --out "$T/p2" >"$T/p2.log" 2>&1
$AHA grpo --resume "$T/p2" --steps 6 >>"$T/p2.log" 2>&1
for f in model.safetensors critic/model.safetensors critic/value_head.safetensors critic/optimizer.safetensors; do
  check "ppo resume: $f bit-identical" 'cmp -s "$T/p1/checkpoints/step_6/$f" "$T/p2/checkpoints/step_6/$f"'
done

# Refusals.
out=$($AHA grpo --model "$T/model" --task arithmetic --bogus 1 2>&1); rc=$?
check "unknown flag: exit 2" '[ $rc -eq 2 ] && echo "$out" | grep -q "unknown option .--bogus"'
out=$($AHA grpo --model "$T/model" --task arithmetic --eps-low 1.5 2>&1); rc=$?
check "out of range: exit 2 naming the flag" '[ $rc -eq 2 ] && echo "$out" | grep -q -- "--eps-low must be a number in \[0, 0.999\], got .1.5."'
echo '{"model": "x", "lr": 0.1, "learning_rat": 3}' >"$T/bad.json"
out=$($AHA grpo --config "$T/bad.json" 2>&1); rc=$?
check "unknown config key: exit 1 naming file and key" '[ $rc -eq 1 ] && echo "$out" | grep -q "bad.json: unknown key \"learning_rat\""'
out=$($AHA grpo --model "$T/model" --task nosuch --steps 1 --out "$T/d" 2>&1); rc=$?
check "unknown task: exit 1 listing tasks" '[ $rc -eq 1 ] && echo "$out" | grep -q "arithmetic"'
out=$($AHA grpo --model "$T/model" --task arithmetic --preset nosuch 2>&1); rc=$?
check "unknown preset" '[ $rc -eq 2 ] && echo "$out" | grep -q "r1zero"'
out=$($AHA grpo --model "$T/model" --task arithmetic --prompts-per-step 3 --group-size 3 --minibatches 2 2>&1); rc=$?
check "minibatches must divide rows" '[ $rc -eq 1 ] && echo "$out" | grep -q "minibatches"'
# bf16: 4 steps + resume to 8 equal 8 straight steps bit for bit (the precision
# is kept in config.json), and the run is not the fp32 one. A build without
# oneDNN refuses bf16 with a message that names it.
$AHA grpo "${COMMON[@]}" --precision bf16 --steps 8 --save-every 4 --out "$T/h" >"$T/h.log" 2>&1; rc=$?
if grep -q "needs oneDNN" "$T/h.log"; then
  check "bf16 refused without oneDNN" '[ $rc -ne 0 ] && [ ! -d "$T/h/checkpoints" ]'
else
  check "bf16 run exits 0" '[ $rc -eq 0 ]'
  check "bf16 config.json" 'grep -q "\"precision\":	\"bf16\"" "$T/h/config.json"'
  $AHA grpo "${COMMON[@]}" --precision bf16 --steps 4 --save-every 4 --out "$T/i" >"$T/i.log" 2>&1
  $AHA grpo --resume "$T/i" --steps 8 >>"$T/i.log" 2>&1
  check "bf16 resume: weights bit-identical" 'cmp -s "$T/h/checkpoints/step_8/model.safetensors" "$T/i/checkpoints/step_8/model.safetensors"'
  check "bf16 resume: optimizer bit-identical" 'cmp -s "$T/h/checkpoints/step_8/optimizer.safetensors" "$T/i/checkpoints/step_8/optimizer.safetensors"'
  check "bf16 resume: metrics identical" '[ "$(strip "$T/h/metrics.jsonl")" = "$(strip "$T/i/metrics.jsonl")" ]'
  check "bf16 resume: samples identical" 'cmp -s "$T/h/samples.jsonl" "$T/i/samples.jsonl"'
  check "bf16 is not fp32" '! cmp -s "$T/a/checkpoints/step_8/model.safetensors" "$T/h/checkpoints/step_8/model.safetensors"'
  # A BF16 starting model: the reference is read in place from its file, and a
  # resume (reference never reset) reads it there again; bit for bit as above.
  $AHA init --preset tiny --seed 5 --dtype bf16 --out "$T/model16" >"$T/init16.log" 2>&1
  B16=("${COMMON[@]}" --model "$T/model16" --precision bf16 --ref-reset-every 0 --optim adamw_8bit)
  $AHA grpo "${B16[@]}" --steps 8 --save-every 4 --out "$T/j" >"$T/j.log" 2>&1
  check "bf16 model, mapped reference: run exits 0" '[ $? -eq 0 ]'
  $AHA grpo "${B16[@]}" --steps 4 --save-every 4 --out "$T/k" >"$T/k.log" 2>&1
  $AHA grpo --resume "$T/k" --steps 8 >>"$T/k.log" 2>&1
  check "mapped reference resume: weights bit-identical" 'cmp -s "$T/j/checkpoints/step_8/model.safetensors" "$T/k/checkpoints/step_8/model.safetensors"'
  check "mapped reference resume: metrics identical" '[ "$(strip "$T/j/metrics.jsonl")" = "$(strip "$T/k/metrics.jsonl")" ]'
  check "the reference was never copied into checkpoints" '[ ! -e "$T/k/checkpoints/step_8/ref" ]'
fi
$AHA grpo --help | grep -q -- "--loss-agg"; check "help lists options" '[ $? -eq 0 ]'
[ $fail -ne 0 ] && tail -n 20 "$T/a.log" "$T/c.log"
exit $fail
