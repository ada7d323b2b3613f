#!/usr/bin/env bash
# End to end: GRPO (preset r1zero, the real math verifier + 0.1 format) on the
# bundled tiny base model and the sum task raises the training reward and
# accuracy over a short fixed-seed run. The assertion is on the trend: the
# mean over the last 5 steps must beat the mean over the first 5 by a margin.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
R=$TEST_TMP/e2e
$AHA grpo --preset r1zero --model models/aha-tiny --task sum --difficulty 2 --steps 20 --prompts-per-step 8 \
    --group-size 8 --max-new-tokens 80 --max-prompt-tokens 128 --lr 1.5e-4 --seed 1 --out "$R" \
    --reward math:1 --reward format:0.1 >"$TEST_TMP/e2e.log" 2>&1
check "grpo exits 0" '[ $? -eq 0 ]'
check "trend: reward and accuracy rise" '$PYTHON - "$R/metrics.jsonl" <<P
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
first = lambda k: sum(x[k] for x in m[:5]) / 5
last = lambda k: sum(x[k] for x in m[-5:]) / 5
print("reward %.3f -> %.3f, accuracy %.3f -> %.3f over %d steps" % (first("reward"), last("reward"),
      first("accuracy"), last("accuracy"), len(m)))
sys.exit(0 if len(m) == 20 and last("reward") >= first("reward") + 0.15 and last("accuracy") >= first("accuracy") + 0.15 else 1)
P'
[ $fail -ne 0 ] && tail -n 5 "$TEST_TMP/e2e.log"
exit $fail
