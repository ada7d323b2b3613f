#!/usr/bin/env bash
# Every command README.md shows runs as written. A command is a line of a code
# block (a block indented by four spaces, or fenced with ```), joined with the
# next line when it ends in a backslash; README's code blocks hold nothing but
# commands. They run in order, in one scratch directory holding a copy of the
# binary, models/ and examples/, so the runs they write never touch the checkout.
# Excluded, by exact text: the set-up lines (CI runs them itself) and the full
# `./aha zero` (on either base), `./aha distill-vs-rl` and `./aha r1` (minutes; tests/test_zero.sh,
# tests/test_distill_vs_rl.sh and tests/test_r1.sh run them shortened).
# Also checked: the countdown task, which the bundled model's context cannot
# hold, is refused before a run directory is made.
set -euo pipefail
cd "$(dirname "$0")/.."
AHA="${AHA:-./aha}"
PY="${PYTHON:-/usr/bin/python3}"
T="${TEST_TMP:-$(mktemp -d)}/readme"
rm -rf "$T" && mkdir -p "$T/work"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# mpirun refuses root unless told; CI runs the tests as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fail() { echo "FAIL: $*"; exit 1; }

EXCLUDED=(
  "scripts/setup.sh && make && ./aha zero"
  "scripts/setup.sh && make test"
  "./aha zero"
  "./aha zero --model models/aha-tiny-bi --max-new-tokens 128"
  "./aha distill-vs-rl"
  "./aha r1"
)

# README.md -> one command per line of $T/commands.
"$PY" - README.md >"$T/commands" <<'P'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
cmds, fenced, in_code, prev = [], False, False, ""
for line in lines:
    if line.lstrip().startswith("```"):
        fenced = not fenced
        continue
    if fenced:
        code = line
    elif line.startswith("    ") and (in_code or prev.strip() == ""):
        code, in_code = line[4:], True   # an indented block starts after a blank line
    else:
        in_code = in_code and line.strip() == ""
        prev = line
        continue
    prev = line
    if not code.strip():
        continue
    if cmds and cmds[-1].endswith("\\"):
        cmds[-1] = cmds[-1][:-1].rstrip() + " " + code.strip()
    else:
        cmds.append(code.strip())
print("\n".join(cmds))
P
[ "$(wc -l <"$T/commands")" -ge 4 ] || fail "found only $(wc -l <"$T/commands") commands in README.md"
# A stale exclusion would hide nothing and let a changed command go untested.
for x in "${EXCLUDED[@]}"; do
  grep -qxF -- "$x" "$T/commands" || fail "excluded command not in README.md any more: $x"
done

cp "$AHA" "$T/work/aha" && cp -r models "$T/work/models" && cp -r examples "$T/work/examples"
n=0
while IFS= read -r cmd; do
  skip=0
  for x in "${EXCLUDED[@]}"; do [ "$cmd" = "$x" ] && skip=1; done
  if [ $skip = 1 ]; then echo "skip: $cmd"; continue; fi
  n=$((n + 1)); echo "run:  $cmd"
  (cd "$T/work" && bash -euo pipefail -c "$cmd") </dev/null >"$T/cmd$n.log" 2>&1 \
    || fail "README command exits non-zero: $cmd"$'\n'"$(tail -n 20 "$T/cmd$n.log")"
done <"$T/commands"
[ $n -ge 3 ] || fail "ran only $n README commands"
# What README says the grpo examples do: 4 steps, a second run at lr 2e-6,
# the first run taken on to step 8.
W="$T/work/runs"
[ "$(wc -l <"$W/sum/metrics.jsonl")" -eq 8 ] || fail "runs/sum did not reach step 8"
[ -s "$W/sum/checkpoints/step_8/model.safetensors" ] || fail "no step 8 checkpoint in runs/sum"
grep -qE '"lr":\s*2e-06' "$W/sum-lr/config.json" || fail "runs/sum-lr does not have lr 2e-6"
[ -s "$W/sft-sum.jsonl" ] && [ -s "$W/sft-sum.jsonl.stats.json" ] || fail "rejection-sample wrote no SFT rows or stats"
grep -q '"eval_loss"' "$W/sft/metrics.jsonl" && [ -s "$W/sft/model/model.safetensors" ] || fail "runs/sft has no eval_loss or model"
[ -s "$W/distill/traces.jsonl" ] && grep -q '"loss"' "$W/distill/sft/metrics.jsonl" &&
  [ -s "$W/distill/sft/model/model.safetensors" ] || fail "runs/distill has no traces, student loss or student model"

# The refusal README describes: a prompt longer than the model's context is
# refused naming the budget, and the run directory is not made.
rc=0
(cd "$T/work" && ./aha grpo --model models/aha-tiny --task countdown --steps 1 --out runs/cd) \
  >"$T/refused.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "countdown on aha-tiny exited $rc, expected 1: $(cat "$T/refused.log")"
grep -qE 'prompt has [0-9]+ tokens, more than the [0-9]+ allowed \(max_prompt_tokens\)' "$T/refused.log" \
  || fail "refusal does not name max_prompt_tokens: $(cat "$T/refused.log")"
[ ! -e "$T/work/runs/cd" ] || fail "a refused start left runs/cd behind"
echo "test_readme: ok ($n commands run)"
