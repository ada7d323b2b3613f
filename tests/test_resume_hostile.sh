#!/usr/bin/env bash
# What a resume promises, tried as a hostile user would: hostile and corrupted
# trainer states (step -5 / 99999999, metrics_lines -3 / 0, next_index 9e15),
# a deleted latest, a flipped byte in a checkpoint's weights, logs shorter than
# the state says, a read-only run directory, a full disk (a small tmpfs) and a
# failing write, and kills at random moments of a --save-every 1 run. Each
# case asserts that nothing saved is lost (checkpoints and log lines of the
# steps before the failure stay byte for byte), that the message names the
# real cause, and, where the run can go on, that it ends bit-identical to an
# uninterrupted run. Also: non-finite weights and overflowing config sizes are
# refused by name.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
T=$TEST_TMP/hostile
mkdir -p "$T"
AHA_ABS="$(cd "$(dirname "$AHA")" && pwd)/$(basename "$AHA")"   # for commands run from another directory
# Refusals of hostile input also run under ASan + UBSan when that build exists.
DBG=${AHA_DEBUG:-$AHA}; [ -x "$DBG" ] || DBG=$AHA
. tests/grpo_setup.sh
# Every file of a run directory with its checksum, timings stripped from the
# metrics (a run that must change nothing is compared before and after).
snap() { (cd "$1" && find . -type f ! -name metrics.jsonl ! -name report.html | sort | xargs md5sum; strip metrics.jsonl); }
same_as_ref() {   # run dir: step_6 and the logs equal the uninterrupted run's
  cmp -s "$T/ref/checkpoints/step_6/model.safetensors" "$1/checkpoints/step_6/model.safetensors" &&
  cmp -s "$T/ref/checkpoints/step_6/optimizer.safetensors" "$1/checkpoints/step_6/optimizer.safetensors" &&
  [ "$(strip "$T/ref/metrics.jsonl")" = "$(strip "$1/metrics.jsonl")" ] && cmp -s "$T/ref/samples.jsonl" "$1/samples.jsonl"
}
set_state() {   # run dir, step, key, JSON value
  $PYTHON - "$1/checkpoints/step_$2/trainer_state.json" "$3" "$4" <<'P'
import json, sys
p, k, v = sys.argv[1:4]
s = json.load(open(p)); s[k] = json.loads(v); json.dump(s, open(p, "w"))
P
}

$AHA grpo "${COMMON[@]}" --steps 6 --save-every 1 --out "$T/ref" >"$T/ref.log" 2>&1
check "uninterrupted run exits 0" '[ $? -eq 0 ]'
# The 4-step run every case starts from.
$AHA grpo "${COMMON[@]}" --steps 4 --save-every 1 --out "$T/base" >"$T/base.log" 2>&1
check "4-step run exits 0" '[ $? -eq 0 ]'
check "state lists every file with a crc32c" 'grep -q "\"model.safetensors\"" "$T/base/checkpoints/step_4/trainer_state.json" && grep -q "\"crc32c\"" "$T/base/checkpoints/step_4/trainer_state.json"'
fresh() { rm -rf "$T/$1"; cp -a "$T/base" "$T/$1"; }

# Hostile states in the latest checkpoint: reported by name, the intact step_3
# is used instead, step_1..3 and the first 3 log lines are never touched, the
# damaged step_4 is kept (moved aside), and the run ends as the uninterrupted one.
case_n=0
for bad in "step -5" "step 99999999" "metrics_lines -3" "metrics_lines 0" "next_index 9e15" "next_index -1" \
           "num_tokens -7" "samples_lines \"x\"" "ref_moved 3"; do
  case_n=$((case_n + 1)); R="$T/h$case_n"; fresh "h$case_n"
  key=${bad%% *}
  set_state "$R" 4 "$key" "${bad#* }"
  before=$(cd "$R" && md5sum checkpoints/step_{1,2,3}/* 2>/dev/null; head -3 metrics.jsonl; head -12 samples.jsonl)
  out=$($DBG grpo --resume "$R" --strict 2>&1); rc=$?
  check "$bad: --strict refuses naming the field" '[ $rc -eq 1 ] && echo "$out" | grep -q "trainer_state.json" && echo "$out" | grep -q "\"$key\""'
  check "$bad: --strict changes nothing" '[ -d "$R/checkpoints/step_4" ] && grep -qx step_4 "$R/checkpoints/latest"'
  out=$($AHA grpo --resume "$R" --steps 6 2>&1); rc=$?
  check "$bad: falls back to step_3 with a warning" '[ $rc -eq 0 ] && echo "$out" | grep -q "step_4 is damaged" && echo "$out" | grep -q "resuming .* at step 3"'
  after=$(cd "$R" && md5sum checkpoints/step_{1,2,3}/* 2>/dev/null; head -3 metrics.jsonl; head -12 samples.jsonl)
  check "$bad: steps 1-3 untouched" '[ "$before" = "$after" ]'
  check "$bad: the damaged checkpoint is kept aside" '[ -f "$R/checkpoints/step_4.damaged/model.safetensors" ]'
  check "$bad: ends bit-identical" 'same_as_ref "$R"'
done

# A byte of a weight's mantissa flipped in the latest checkpoint.
fresh flip
$PYTHON - "$T/flip/checkpoints/step_4/model.safetensors" <<'P'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-3] ^= 0x01; open(p, "wb").write(b)
P
out=$($DBG grpo --resume "$T/flip" --strict 2>&1); rc=$?
check "flipped byte: --strict refuses naming the file" '[ $rc -eq 1 ] && echo "$out" | grep -q "step_4/model.safetensors: checksum mismatch"'
out=$($AHA grpo --resume "$T/flip" --steps 6 2>&1); rc=$?
check "flipped byte: warns, resumes from step_3, ends bit-identical" '[ $rc -eq 0 ] && echo "$out" | grep -q "checksum mismatch" && echo "$out" | grep -q "at step 3" && same_as_ref "$T/flip"'

# Every checkpoint damaged: a refusal that says so, not a restart.
fresh alldmg
for s in 1 2 3 4; do set_state "$T/alldmg" $s step 0; done
snap0=$(snap "$T/alldmg")
out=$($DBG grpo --resume "$T/alldmg" 2>&1); rc=$?
check "no intact checkpoint: refused, nothing changed" '[ $rc -eq 1 ] && echo "$out" | grep -q "no intact checkpoint" && [ "$snap0" = "$(snap "$T/alldmg")" ]'

# A deleted latest: no silent restart; --restart starts over on purpose.
fresh nolatest
rm "$T/nolatest/checkpoints/latest"
snap0=$(snap "$T/nolatest")
out=$($DBG grpo --resume "$T/nolatest" 2>&1); rc=$?
check "deleted latest: refused naming it and --restart" '[ $rc -eq 1 ] && echo "$out" | grep -q "checkpoints/latest: missing" && echo "$out" | grep -q -- "--restart"'
check "deleted latest: nothing changed" '[ "$snap0" = "$(snap "$T/nolatest")" ]'
out=$($AHA grpo --resume "$T/nolatest" --restart --steps 6 --save-every 1 2>&1); rc=$?
check "--restart starts over and ends as the uninterrupted run" '[ $rc -eq 0 ] && same_as_ref "$T/nolatest"'

# A new run into a directory that holds one: refused before anything is
# written; --restart is the way to start it over.
fresh again
snap0=$(snap "$T/again")
out=$($DBG grpo "${COMMON[@]}" --steps 6 --save-every 1 --out "$T/again" 2>&1); rc=$?
check "new run into a run directory: refused naming it" '[ $rc -eq 1 ] && echo "$out" | grep -q "again already holds a run (.*checkpoints)" && echo "$out" | grep -q -- "--resume"'
check "new run into a run directory: nothing changed" '[ "$snap0" = "$(snap "$T/again")" ]'
out=$($AHA grpo "${COMMON[@]}" --steps 6 --save-every 1 --out "$T/again" --restart 2>&1); rc=$?
check "new run with --restart ends as the uninterrupted run" '[ $rc -eq 0 ] && same_as_ref "$T/again"'
rm -rf "$T/again/checkpoints"
snap0=$(snap "$T/again")
out=$($AHA zero --model "$T/model" --steps 1 --eval-problems 1 --eval-k 1 --out "$T/again" 2>&1); rc=$?
check "aha zero into a run directory: refused naming its metrics" '[ $rc -eq 1 ] && echo "$out" | grep -q "already holds a run (.*metrics.jsonl)"'
check "aha zero into a run directory: nothing changed" '[ "$snap0" = "$(snap "$T/again")" ]'

# Logs that disagree with the state: an error naming the file; nothing changed.
fresh short
head -2 "$T/base/metrics.jsonl" >"$T/short/metrics.jsonl"
snap0=$(snap "$T/short")
out=$($DBG grpo --resume "$T/short" --steps 6 2>&1); rc=$?
check "short metrics.jsonl: refused naming it" '[ $rc -eq 1 ] && echo "$out" | grep -q "metrics.jsonl: holds 2 complete lines" && [ "$snap0" = "$(snap "$T/short")" ]'
fresh samples0
for s in 3 4; do set_state "$T/samples0" $s samples_lines 0; done
out=$($DBG grpo --resume "$T/samples0" --steps 6 2>&1); rc=$?
check "samples_lines 0: refused naming samples.jsonl" '[ $rc -eq 1 ] && echo "$out" | grep -q "samples.jsonl:1: a line of step 1" && cmp -s "$T/base/samples.jsonl" "$T/samples0/samples.jsonl"'
fresh past
out=$($AHA grpo --resume "$T/past" --steps 2 2>&1); rc=$?
check "--steps below the run's step: refused" '[ $rc -eq 1 ] && echo "$out" | grep -q "at step 4, past steps 2"'

# Leftovers of killed writers are gone after a completed resume.
fresh temps
touch "$T/temps/checkpoints/latest.tmp.99999" "$T/temps/config.json.tmp.123" "$T/temps/metrics.jsonl.tmp.7"
cp -r "$T/temps/checkpoints/step_2" "$T/temps/checkpoints/step_5.tmp"
$AHA grpo --resume "$T/temps" --steps 6 >"$T/temps.log" 2>&1
check "no temp file survives a resume" '[ $? -eq 0 ] && [ -z "$(find "$T/temps" -name "*.tmp*")" ] && same_as_ref "$T/temps"'

# --save-total-limit keeps the newest N.
$AHA grpo "${COMMON[@]}" --steps 6 --save-every 1 --save-total-limit 2 --out "$T/rot" >"$T/rot.log" 2>&1
check "save_total_limit 2 keeps step_5 and step_6" '[ $? -eq 0 ] && [ "$(ls "$T/rot/checkpoints" | tr "\n" " ")" = "latest step_5 step_6 " ]'
check "rotation does not change the run" 'same_as_ref "$T/rot"'

# The working directory does not matter: config.json holds absolute paths,
# and a missing model is named.
rm -rf "$T/cwd"
(cd "$T" && "$AHA_ABS" grpo "${COMMON[@]/#$T\/model/model}" --steps 4 --save-every 1 --out cwd >"$T/cwd.log" 2>&1)
check "config.json keeps the model's absolute path" 'grep -q "\"model\":	\"$T/model\"" "$T/cwd/config.json"'
(cd / && "$AHA_ABS" grpo --resume "$T/cwd" --steps 6 >>"$T/cwd.log" 2>&1)
check "resume from another directory" '[ $? -eq 0 ] && same_as_ref "$T/cwd"'
# A config.json of an older aha, with the model path relative and no checkpoint yet.
rm -rf "$T/oldcfg"; cp -a "$T/base" "$T/oldcfg"; rm -r "$T/oldcfg/checkpoints"
sed -i "s#\"model\":	\"$T/model\"#\"model\":	\"model\"#" "$T/oldcfg/config.json"
out=$(cd / && "$AHA_ABS" grpo --resume "$T/oldcfg" --steps 1 2>&1); rc=$?
check "relative model, other directory: named as such" '[ $rc -eq 1 ] && echo "$out" | grep -q "\"model\" setting \"model\", relative to the working directory"'
(cd "$T" && "$AHA_ABS" grpo --resume oldcfg --steps 1 >"$T/oldcfg.log" 2>&1)
check "relative model, its directory: runs, and config.json is absolute from then on" '[ $? -eq 0 ] && grep -q "\"model\":	\"$T/model\"" "$T/oldcfg/config.json"'
# The reference is the starting model until step 3: a resume from step_2 needs it.
rm -rf "$T/nomodel"; cp -a "$T/base" "$T/nomodel"; rm -r "$T/nomodel/checkpoints/step_"{3,4}; echo step_2 >"$T/nomodel/checkpoints/latest"
head -2 "$T/base/metrics.jsonl" >"$T/nomodel/metrics.jsonl"
mv "$T/model" "$T/model.away"
out=$($AHA grpo --resume "$T/nomodel" --steps 6 2>&1); rc=$?
mv "$T/model.away" "$T/model"
check "missing model: named, with the setting it came from" '[ $rc -eq 1 ] && echo "$out" | grep -q "\"model\" in config.json" && echo "$out" | grep -q "$T/model"'
$AHA grpo --resume "$T/nomodel" --steps 6 >"$T/nomodel.log" 2>&1
check "missing model: nothing lost, resumes once it is back" '[ $? -eq 0 ] && same_as_ref "$T/nomodel"'

# A failing write (a file size limit: EFBIG) at the first checkpoint, and the
# report rebuilt after it fails too: the message names the checkpoint's file,
# not the report; the partial checkpoint is gone; resuming without the limit
# ends as the uninterrupted run.
rm -rf "$T/efbig"
out=$( (trap '' XFSZ; ulimit -f 20; $AHA grpo "${COMMON[@]}" --steps 6 --save-every 1 --out "$T/efbig") 2>&1); rc=$?
check "failing write: the report failed too" 'echo "$out" | grep -q "report.html not written"'
check "failing write: the first error is reported" '[ $rc -eq 1 ] && echo "$out" | tail -1 | grep -q "step_1.tmp/model.safetensors: write failed: File too large"'
check "failing write: no partial checkpoint left" '[ -z "$(ls "$T/efbig/checkpoints")" ]'
$AHA grpo --resume "$T/efbig" --steps 6 >"$T/efbig.log" 2>&1
check "failing write: resumes to the same end" '[ $? -eq 0 ] && same_as_ref "$T/efbig"'

# A NaN in the weights is refused at load, naming the tensor and the file.
cp -r "$T/model" "$T/nanmodel"
$PYTHON - "$T/nanmodel/model.safetensors" <<'P'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-4:] = b"\x00\x00\xc0\x7f"; open(p, "wb").write(b)
P
out=$($DBG grpo "${COMMON[@]/#$T\/model/$T/nanmodel}" --steps 1 --out "$T/nan" 2>&1); rc=$?
check "NaN weight: refused naming tensor and file" '[ $rc -eq 1 ] && echo "$out" | grep -q "nanmodel/model.safetensors: tensor \".*\" holds NaN at element"'
check "NaN weight: no run directory left" '[ ! -e "$T/nan" ]'
# Sizes whose products overflow: an error naming the fields, no crash.
echo '{"model_type": "llama", "vocab_size": 320, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 65536,
       "num_key_value_heads": 1, "head_dim": 65536, "intermediate_size": 176, "max_position_embeddings": 512}' >"$T/wide.json"
out=$($DBG init --config "$T/wide.json" --out "$T/wide" 2>&1); rc=$?
check "heads x head_dim overflow: refused naming the fields" '[ $rc -eq 1 ] && echo "$out" | grep -q "num_attention_heads (65536) x head_dim (65536) is too large"'
echo '{"model_type": "llama", "vocab_size": 1073741824, "hidden_size": 1073741824, "num_hidden_layers": 2,
       "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": 64, "intermediate_size": 176,
       "max_position_embeddings": 512}' >"$T/huge.json"
out=$($DBG init --config "$T/huge.json" --out "$T/huge" 2>&1); rc=$?
check "parameter count overflow: refused naming the sizes" '[ $rc -eq 1 ] && echo "$out" | grep -q "vocab_size 1073741824, hidden_size 1073741824"'

# Read-only run directory and a full disk: need a mount (a user namespace
# gives one without root).
if unshare -rm true 2>/dev/null; then NS="unshare -rm"; elif [ "$(id -u)" = 0 ]; then NS=""; else NS=none; fi
if [ "$NS" = none ]; then
  echo "SKIP read-only and ENOSPC cases: mount not permitted (no user namespaces, not root)"
else
  fresh ro
  snap0=$(snap "$T/ro")
  out=$($NS sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && "$2" grpo --resume "$1" --steps 6' sh "$T/ro" "$AHA_ABS" 2>&1); rc=$?
  check "read-only run dir: refused with the first failure" '[ $rc -eq 1 ] && echo "$out" | tail -1 | grep -q "Read-only file system" && ! echo "$out" | tail -1 | grep -q "report.html"'
  check "read-only run dir: nothing changed" '[ "$snap0" = "$(snap "$T/ro")" ]'
  # ENOSPC: a tmpfs a little larger than two checkpoints; the run stops at
  # the first failed write, naming it; every checkpoint that latest ever named
  # is whole; on a larger disk the resume ends as the uninterrupted run.
  mkdir -p "$T/mnt"
  out=$($NS sh -c 'm=$1 a=$2; shift 2; mount -t tmpfs -o size=5m tmpfs "$m" && "$a" "$@"; rc=$?; cp -a "$m/run" "$m.copy"; exit $rc' \
        sh "$T/mnt" "$AHA_ABS" \
        grpo "${COMMON[@]}" --steps 6 --save-every 1 --out "$T/mnt/run" 2>&1); rc=$?
  check "ENOSPC: the run fails naming the file and the disk full" '[ $rc -eq 1 ] && echo "$out" | tail -1 | grep -q "checkpoints/step_[0-9]*.tmp/.*: write failed: No space left on device"'
  check "ENOSPC: no partial checkpoint left" '[ -z "$(find "$T/mnt.copy" -name "*.tmp*")" ]'
  rm -rf "$T/full"; mv "$T/mnt.copy" "$T/full"
  check "ENOSPC: latest names a whole checkpoint" '$AHA grpo --resume "$T/full" --steps 6 --strict >"$T/full.log" 2>&1 && same_as_ref "$T/full"'
fi

# SIGKILL at random moments of a --save-every 1 run, then resume until done:
# bit-identical to the uninterrupted run, and no temp file left.
RANDOM=11
$AHA grpo "${COMMON[@]}" --steps 6 --save-every 1 --out "$T/kill" >"$T/kill.log" 2>&1 &
pid=$!
kills=0
for round in $(seq 1 30); do
  sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
  wait "$pid" 2>/dev/null
  grep -qx step_6 "$T/kill/checkpoints/latest" 2>/dev/null && break
  if [ -f "$T/kill/config.json" ]; then $AHA grpo --resume "$T/kill" --strict >>"$T/kill.log" 2>&1 &
  else $AHA grpo "${COMMON[@]}" --steps 6 --save-every 1 --out "$T/kill" >>"$T/kill.log" 2>&1 &
  fi
  pid=$!
done
wait "$pid" 2>/dev/null
# The last kill may land after step_6 was saved (in the report's write): the
# promise is about a completed resume, so one always follows.
$AHA grpo --resume "$T/kill" --strict >>"$T/kill.log" 2>&1
echo "SIGKILL landed $kills times"
check "killed run: never refused" '! grep -q "grpo: error\|aha grpo:" "$T/kill.log"'
check "killed run: bit-identical" 'same_as_ref "$T/kill"'
check "killed run: no temp file left" '[ -z "$(find "$T/kill" -name "*.tmp*")" ]'

[ $fail -ne 0 ] && tail -n 5 "$T"/*.log
exit $fail
