#!/usr/bin/env bash
# aha zero smoke run on the bundled model: a few steps, and every file of the
# run directory is written, with zero.json holding the eval keys before and after;
# the same on the bilingual base (README's second aha zero), shortened.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
T=$TEST_TMP/zero
mkdir -p "$T"
$AHA zero --steps 2 --eval-problems 2 --eval-k 2 --prompts-per-step 2 --group-size 2 --max-new-tokens 24 \
    --threads 1 --out "$T/run" >"$T/zero.log" 2>&1
check "zero exits 0" '[ $? -eq 0 ]' || cat "$T/zero.log"
for f in config.json metrics.jsonl samples.jsonl zero.json eval_before.jsonl eval_after.jsonl report.html \
         checkpoints/latest checkpoints/step_1/model.safetensors checkpoints/step_2/model.safetensors \
         checkpoints/step_2/tokenizer.json; do
    check "zero wrote $f" "[ -e '$T/run/$f' ]"
done
check "metrics has 2 steps" '[ "$(wc -l <"$T/run/metrics.jsonl")" -eq 2 ]'
check "console shows before and after" "grep -q 'reflection per 1k' '$T/zero.log' && grep -q 'before' '$T/zero.log'"
$PYTHON - "$T/run/zero.json" <<'P' || fail=1
import json, sys
z = json.load(open(sys.argv[1]))
for side in ("before", "after"):
    e = z[side]
    for k in ("pass@1", "cons@k", "pass@k", "k", "n_problems", "mean_length", "reflection_per_1k"):
        assert k in e, (side, k)
    assert e["k"] == 2 and e["n_problems"] == 2, e
    for k in ("pass@1", "cons@k", "pass@k"):
        assert 0 <= e[k] <= 1, (side, k, e[k])
P
$AHA zero --model models/aha-tiny-bi --max-new-tokens 128 --steps 1 --eval-problems 2 --eval-k 2 \
    --prompts-per-step 2 --group-size 2 --threads 1 --out "$T/bi" >"$T/bi.log" 2>&1
check "zero on models/aha-tiny-bi exits 0" '[ $? -eq 0 ] && [ -s "$T/bi/zero.json" ]' || tail -5 "$T/bi.log"
$AHA zero --bogus 1 >"$T/bad.log" 2>&1
check "unknown flag exits 2" '[ $? -eq 2 ]'
exit $fail
