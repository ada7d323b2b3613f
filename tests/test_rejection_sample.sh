#!/usr/bin/env bash
# aha rejection-sample on the bundled models/aha-tiny: TRL prompt/completion
# rows whose every completion `aha reward` scores 1 again with the verifier,
# stats that add up, byte-identical output for one seed (and across thread
# counts), dedup under greedy sampling, the per-prompt cap, a dataset's
# FILE:LINE ids and task fields, and bad input refused with nothing written.
set -euo pipefail
cd "$(dirname "$0")/.."
AHA=${AHA:-./aha}; PY=${PYTHON:-/usr/bin/python3}
T=${TEST_TMP:-$(mktemp -d)}/rejection_sample; rm -rf "$T"; mkdir -p "$T"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
fail() { echo "FAIL: $*"; exit 1; }
M=models/aha-tiny
RS=("$AHA" rejection-sample --model "$M" --max-new-tokens 80)

# --- A task run: rows, re-verification, stats.
"${RS[@]}" --task sum --difficulty 1 --problems 8 -n 8 --max-keep 2 --seed 3 --threads 2 --out "$T/a.jsonl" \
  >"$T/a.out" 2>"$T/a.err" || fail "task run: $(cat "$T/a.err")"
grep -q '^prompts 8, samples 64, kept ' "$T/a.out" || fail "summary: $(cat "$T/a.out")"
grep -q 'rejected by reason' "$T/a.out" || fail "summary lacks the reasons: $(cat "$T/a.out")"
"$PY" - "$T/a.jsonl" "$T/a.jsonl.stats.json" 8 8 2 <<'P' || fail "task run output"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
st = json.load(open(sys.argv[2]))
P, n, K = map(int, sys.argv[3:])
assert rows, "no row kept: the test needs at least one (seed or problems changed?)"
for r in rows:
    assert isinstance(r["prompt"], str) and isinstance(r["completion"], str), r
    # The prompt as the model saw it: the r1zero template around the question.
    assert r["prompt"].startswith("A conversation between User and Assistant.") and r["prompt"].endswith("Assistant:"), r["prompt"]
    assert "User: Compute " in r["prompt"], r["prompt"]
    assert r["problem_id"].startswith("sum-") and r["difficulty"] == 1 and r["reward"] == 1, r
    assert "<answer>" in r["completion"] and r["answer"] in r["completion"], r
assert st["prompts"] == P and st["samples"] == P * n, st
assert st["kept"] == len(rows), (st["kept"], len(rows))
assert st["kept"] + sum(st["rejected"].values()) == st["samples"], st["rejected"]
assert st["require"] == ["verifier", "format", "no_truncation"], st["require"]
assert st["passed"] >= st["kept"] and st["passed"] - st["kept"] == st["rejected"]["duplicate"] + st["rejected"]["max_keep"], st
pp = st["per_prompt"]
assert len(pp) == P and all(e["samples"] == n and e["kept"] <= K and e["kept"] <= e["passed"] for e in pp), pp
assert sum(e["kept"] for e in pp) == st["kept"] and sum(e["passed"] for e in pp) == st["passed"]
for e in pp:
    assert sum(r["problem_id"] == e["problem_id"] for r in rows) == e["kept"], e
    assert abs(e["pass_rate"] - e["passed"] / n) < 1e-12, e
bd = st["by_difficulty"]
assert list(bd) == ["1"] and bd["1"]["prompts"] == P and bd["1"]["kept"] == st["kept"], bd
# Each check's failures are counted whether it is required or not; the first
# required one is the reason.
assert st["failed"]["verifier"] == st["rejected"]["verifier"], st
P
# Every kept row scores 1 again with the task's verifier.
"$AHA" reward --fn math <"$T/a.jsonl" >"$T/a.scores" || fail "aha reward on the output"
[ "$(wc -l <"$T/a.scores")" -eq "$(wc -l <"$T/a.jsonl")" ] || fail "aha reward line count"
[ "$(grep -c '"math":1[,}]' "$T/a.scores")" -eq "$(wc -l <"$T/a.jsonl")" ] || fail "a kept row does not re-verify: $(cat "$T/a.scores")"

# With the prompt ending inside <think>, rows say so and format re-verifies too.
"${RS[@]}" --task sum --difficulty 1 --problems 8 -n 8 --prefill-think --require verifier,format,language --threads 2 \
  --out "$T/p.jsonl" >/dev/null 2>&1 || fail "prefill run"
[ -s "$T/p.jsonl" ] || fail "prefill run kept nothing"
grep -q '"prefilled_think":true' "$T/p.jsonl" && grep -q 'Assistant: <think>","completion"' "$T/p.jsonl" \
  || fail "prefilled rows: $(head -n 1 "$T/p.jsonl")"
[ "$("$AHA" reward --fn math --fn format --fn language <"$T/p.jsonl" | grep -c '"math":1,"format":1,"language":1}')" \
  -eq "$(wc -l <"$T/p.jsonl")" ] || fail "a prefilled row does not re-verify"

# --- One seed, one file: a second run (one thread this time) is byte-identical.
"${RS[@]}" --task sum --difficulty 1 --problems 8 -n 8 --max-keep 2 --seed 3 --threads 1 --out "$T/b.jsonl" \
  >/dev/null 2>&1 || fail "second run"
cmp "$T/a.jsonl" "$T/b.jsonl" || fail "two runs with seed 3 differ"
cmp "$T/a.jsonl.stats.json" "$T/b.jsonl.stats.json" || fail "two runs' stats differ"
"${RS[@]}" --task sum --difficulty 1 --problems 8 -n 8 --max-keep 2 --seed 4 --threads 2 --out "$T/c.jsonl" \
  >/dev/null 2>&1 || fail "seed 4 run"
! cmp -s "$T/a.jsonl.stats.json" "$T/c.jsonl.stats.json" || fail "seed 4 gives seed 3's stats"

# --- Dedup: greedy sampling gives n equal completions; one is kept per prompt.
"${RS[@]}" --task sum --problems 5 -n 4 --max-keep 4 --temperature 0 --require no_truncation --threads 2 \
  --out "$T/g.jsonl" --stats "$T/g.stats.json" >/dev/null 2>&1 || fail "greedy run"
"$PY" - "$T/g.jsonl" "$T/g.stats.json" <<'P' || fail "dedup"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
st = json.load(open(sys.argv[2]))
ids = [r["problem_id"] for r in rows]
assert len(ids) == len(set(ids)) == st["kept"], ids
assert st["rejected"]["duplicate"] == 3 * st["kept"], st["rejected"]
assert st["kept"] + st["rejected"]["no_truncation"] // 4 == 5, st
P

# --- The cap: every sample passes, at most --max-keep are kept per prompt.
"${RS[@]}" --task sum --problems 4 -n 6 --max-keep 1 --require '' --threads 2 --out "$T/k.jsonl" \
  >/dev/null 2>&1 || fail "cap run"
"$PY" - "$T/k.jsonl" "$T/k.jsonl.stats.json" <<'P' || fail "max-keep"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
st = json.load(open(sys.argv[2]))
assert st["require"] == [] and st["passed"] == st["samples"] == 24, st
assert st["kept"] == len(rows) == 4, st
assert st["rejected"]["max_keep"] + st["rejected"]["duplicate"] == 20, st["rejected"]
P
# More kept allowed than sampled is fine; the output's folder is made.
"${RS[@]}" --task sum --problems 2 -n 1 --max-keep 4 --threads 2 --out "$T/new/n1.jsonl" >/dev/null 2>&1 \
  || fail "--n below --max-keep refused"
[ -f "$T/new/n1.jsonl" ] && [ -f "$T/new/n1.jsonl.stats.json" ] || fail "no output in a new folder"

# --- A dataset: FILE:LINE ids, the gold answer extracted, task fields kept.
printf '%s\n' '{"question": "Compute 3 + 1 + 3", "answer": "3 + 1 + 3 = 7 #### 7", "source": "hand"}' \
  '{"question": "Compute 2 + 2 + 1", "answer": "#### 5", "source": "hand"}' >"$T/ds.jsonl"
"${RS[@]}" --dataset "$T/ds.jsonl" -n 16 --max-keep 3 --threads 2 --out "$T/d.jsonl" >/dev/null 2>&1 \
  || fail "dataset run"
"$PY" - "$T/d.jsonl" "$T/ds.jsonl" <<'P' || fail "dataset rows"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows, "no dataset row kept"
for r in rows:
    assert r["problem_id"] in (sys.argv[2] + ":1", sys.argv[2] + ":2"), r["problem_id"]
    assert r["answer"] == {":1": "7", ":2": "5"}[r["problem_id"][-2:]], r
    assert r["source"] == "hand" and r["question"].startswith("Compute") and r["difficulty"] == 0, r
P
"$AHA" reward --fn math <"$T/d.jsonl" | grep -vq '"math":1[,}]' && fail "a kept dataset row does not re-verify"

# --- Bad input: refused, naming where, with nothing written.
expect() {  # exit code, text in stderr, command...
  local want=$1 text=$2 rc=0; shift 2
  "$@" >"$T/x.out" 2>"$T/x.err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, want $want: $(cat "$T/x.err")"
  grep -qF -- "$text" "$T/x.err" || fail "$* says: $(cat "$T/x.err"), want: $text"
  [ ! -e "$T/x.jsonl" ] && [ ! -e "$T/x.jsonl.stats.json" ] || fail "$* left output behind"
  [ -z "$(ls "$T" | grep '\.tmp\.')" ] || fail "$* left a temporary file"
}
printf '%s\n' '{"prompt": "Compute 1 + 1 + 1", "answer": "3"}' '{"question": "Compute 2 + 2 + 2"}' >"$T/bad.jsonl"
expect 1 "$T/bad.jsonl:2: missing field \"prompt\"" "${RS[@]}" --dataset "$T/bad.jsonl" --out "$T/x.jsonl"
expect 2 "unknown check 'formatt' (known: verifier, format, language, no_truncation)" \
  "${RS[@]}" --task sum --require verifier,formatt --out "$T/x.jsonl"
expect 2 "give exactly one of --task and --dataset" "${RS[@]}" --out "$T/x.jsonl"
expect 2 "--out" "${RS[@]}" --task sum
expect 1 "min_tokens 50 is above max_tokens 10" "${RS[@]}" --task sum --min-tokens 50 --max-tokens 10 --out "$T/x.jsonl"
expect 1 "max_position_embeddings 256" "${RS[@]}" --task countdown --out "$T/x.jsonl"
expect 1 "unknown task" "${RS[@]}" --task nosuch --out "$T/x.jsonl"
expect 1 "$T/bad.jsonl/.: Not a directory" "${RS[@]}" --task sum --problems 1 -n 1 --out "$T/bad.jsonl/x.jsonl"
echo "test_rejection_sample: ok"
