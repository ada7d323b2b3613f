#!/usr/bin/env bash
# aha distill: the bundled models/aha-tiny teaches a smaller student with
# another tokenizer made here; the traces re-verify, the student's SFT runs and
# its model samples, a resume skips a finished stage 1 and continues the
# student from its checkpoint, and a new run into the directory, a resume with
# other settings, a trace past the student's context (naming its row), a
# student whose tokenizer reads the teacher's text as special tokens and a
# missing teacher are refused (the last leaving nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
AHA=${AHA:-./aha}; PY=${PYTHON:-/usr/bin/python3}
T=${TEST_TMP:-$(mktemp -d)}/distill; rm -rf "$T"; mkdir -p "$T"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
fail() { echo "FAIL: $*"; exit 1; }

"$AHA" init --preset tiny --out "$T/student" >/dev/null 2>&1 || fail "aha init"
cmp -s models/aha-tiny/tokenizer.json "$T/student/tokenizer.json" && fail "the student should have its own tokenizer"
R="$T/run"
D=("$AHA" distill --teacher models/aha-tiny --student "$T/student" --out "$R" --task sum --difficulty 1 --problems 8
   -n 4 --max-new-tokens 80 --threads 2 --batch 2 --max-steps 4 --save-steps 2)

"${D[@]}" >"$T/a.out" 2>"$T/a.err" || fail "run: $(cat "$T/a.err")"
[ -s "$R/traces.jsonl" ] && [ -s "$R/traces.jsonl.stats.json" ] && [ -s "$R/config.json" ] || fail "stage 1 files: $(ls "$R")"
# Every trace scores 1 again with the verifier.
"$AHA" reward --fn math <"$R/traces.jsonl" >"$T/scores" || fail "aha reward on the traces"
[ "$(grep -c '"math":1[,}]' "$T/scores")" -eq "$(wc -l <"$R/traces.jsonl")" ] || fail "a trace does not re-verify"
[ "$(grep -c '"loss":' "$R/sft/metrics.jsonl")" -ge 1 ] || fail "no loss lines: $(cat "$R/sft/metrics.jsonl")"
grep -qE '"model":[[:space:]]*"'"$T/student"'"' "$R/sft/config.json" || fail "stage 2 did not train the student: $(cat "$R/sft/config.json")"
"$AHA" sample --model "$R/sft/model" --prompt "1+1=" --max-new-tokens 4 >/dev/null 2>"$T/s.err" ||
    fail "the distilled student does not sample: $(cat "$T/s.err")"
cp "$R/sft/model/model.safetensors" "$T/full.safetensors"

# A new run into the directory is refused and leaves it as it was.
"${D[@]}" >/dev/null 2>"$T/b.err" && fail "a new run into a used directory was accepted"
grep -q 'pass --resume' "$T/b.err" || fail "refusal wording: $(cat "$T/b.err")"

# Killed after stage 1: the resume skips it and trains the student.
rm -rf "$R/sft"
echo partial >"$R/traces.jsonl.tmp.12345"   # what a kill inside a write leaves
cp "$R/traces.jsonl" "$T/traces.before"
"${D[@]}" --resume >"$T/c.out" 2>"$T/c.err" || fail "resume after stage 1: $(cat "$T/c.err")"
grep -q 'distill: stage 1 done before' "$T/c.err" || fail "stage 1 not skipped: $(cat "$T/c.err")"
grep -q 'rejection-sample' "$T/c.err" && fail "stage 1 ran again"
cmp -s "$R/traces.jsonl" "$T/traces.before" || fail "the traces changed"
[ ! -e "$R/traces.jsonl.tmp.12345" ] || fail "the resume left a killed writer's temp file"
cmp -s "$R/sft/model/model.safetensors" "$T/full.safetensors" || fail "the resumed student differs from the straight run's"

# Killed inside stage 2: the student continues from its newest checkpoint, bit for bit.
rm -rf "$R/sft/model" "$R/sft/checkpoints/step_4"
echo step_2 >"$R/sft/checkpoints/latest"   # what a kill between the two checkpoints leaves
"${D[@]}" --resume >/dev/null 2>"$T/d.err" || fail "resume inside stage 2: $(cat "$T/d.err")"
grep -q 'sft: resuming from .*step_2' "$T/d.err" || fail "stage 2 not resumed from step_2: $(cat "$T/d.err")"
cmp -s "$R/sft/model/model.safetensors" "$T/full.safetensors" || fail "the student resumed from step_2 differs"

# A resume with other settings is refused.
"${D[@]}" --lr 0.5 --resume >/dev/null 2>"$T/e.err" && fail "a resume with another lr was accepted"
grep -q 'config.json: lr differs from the run' "$T/e.err" || fail "differing settings wording: $(cat "$T/e.err")"

# A trace longer than the student's context is refused naming its row.
"$PY" -c 'import json, sys; c = json.load(open(sys.argv[1])); c["max_position_embeddings"] = 128; json.dump(c, open(sys.argv[2], "w"))' \
    "$T/student/config.json" "$T/short.json"
"$AHA" init --config "$T/short.json" --out "$T/short" >/dev/null 2>&1 || fail "aha init of the short-context student"
"$AHA" distill --teacher models/aha-tiny --student "$T/short" --out "$T/run3" --task sum --difficulty 1 --problems 2 -n 4 \
    --max-new-tokens 80 --threads 2 --batch 1 --max-steps 1 >/dev/null 2>"$T/g.err" && fail "a trace past the student's context was accepted"
grep -qE "student sft: .*run3/traces.jsonl:[0-9]+: the row has [0-9]+ tokens, more than the model's context of 128" "$T/g.err" ||
    fail "too-long trace wording: $(cat "$T/g.err")"

# A student whose tokenizer cannot hold the teacher's text as text (it reads
# "=", in every sum, as a special token) is refused naming the trace and the
# token; the traces stay for a resume with another student.
cp -r "$T/student" "$T/odd"
"$PY" - "$T/odd/tokenizer.json" <<'P'
import json, sys
t = json.load(open(sys.argv[1]))
t["added_tokens"].append({"id": t["model"]["vocab"]["="], "content": "=", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True})
json.dump(t, open(sys.argv[1], "w"))
P
"$AHA" distill --teacher models/aha-tiny --student "$T/odd" --out "$T/run4" --task sum --difficulty 1 --problems 2 -n 4 \
    --max-new-tokens 80 --threads 2 --batch 1 --max-steps 1 >/dev/null 2>"$T/h.err" && fail "a student that reads = as special was accepted"
grep -qE 'run4/traces.jsonl:1: completion: this tokenizer reads "=" in it as a special token' "$T/h.err" ||
    fail "special-token wording: $(cat "$T/h.err")"
[ -s "$T/run4/traces.jsonl" ] || fail "the refused student lost the traces"

# A missing teacher: a clear error, no run directory.
"$AHA" distill --teacher "$T/nope" --student "$T/student" --out "$T/run2" --task sum >/dev/null 2>"$T/f.err" &&
    fail "a missing teacher was accepted"
grep -q -- "--teacher $T/nope: no model there" "$T/f.err" || fail "missing teacher wording: $(cat "$T/f.err")"
[ -e "$T/run2" ] && fail "a refused run left $T/run2"
echo "ok: distill"
