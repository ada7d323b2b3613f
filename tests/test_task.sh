#!/usr/bin/env bash
# `aha task` at the edge: JSONL out with the documented fields, determinism,
# the split flag, and clear usage errors (exit 2) for bad flags and names.
set -u
AHA=${AHA:-./aha}
PYTHON=${PYTHON:-/usr/bin/python3}
fail=0
check() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; fi; }

out=$("$AHA" task countdown --split test -n 5 --seed 3 --difficulty 4)
check '[ $? -eq 0 ]' "aha task countdown exits 0"
check '[ "$(printf "%s\n" "$out" | wc -l)" -eq 5 ]' "five lines"
printf '%s\n' "$out" | "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    for k in ("id", "task", "split", "difficulty", "prompt", "answer", "reward", "numbers", "target"):
        assert k in o, k
    assert o["split"] == "test" and o["task"] == "countdown" and o["difficulty"] == 4 and o["reward"] == "countdown"
    assert len(o["numbers"]) == 4 and 50 <= o["target"] <= 500
' || { echo "FAIL: JSON fields"; fail=1; }
again=$("$AHA" task countdown --split test -n 5 --seed 3 --difficulty 4)
check '[ "$out" = "$again" ]' "same flags, same output"
other=$("$AHA" task countdown --split test -n 5 --seed 4 --difficulty 4)
check '[ "$out" != "$other" ]' "another seed, other problems"
start=$("$AHA" task countdown --split test -n 2 --seed 3 --difficulty 4 --start 3)
check '[ "$start" = "$(printf "%s\n" "$out" | tail -n 2)" ]' "--start 3 continues the sequence"

for t in arithmetic linear knights; do
  "$AHA" task $t -n 3 --difficulty 5 | "$PYTHON" -c 'import json,sys; [json.loads(l) for l in sys.stdin]' \
    || { echo "FAIL: $t output"; fail=1; }
done

"$AHA" task --help | grep -q knights || { echo "FAIL: --help lists tasks"; fail=1; }
"$AHA" task nope -n 1 2>"$TEST_TMP/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q "known: arithmetic, countdown" "$TEST_TMP/err"' "unknown task: exit 2 with the names"
"$AHA" task arithmetic --bogus 2>/dev/null; check '[ $? -eq 2 ]' "unknown flag: exit 2"
"$AHA" task arithmetic --difficulty 9 2>/dev/null; check '[ $? -eq 2 ]' "difficulty out of range: exit 2"
"$AHA" task arithmetic --split dev 2>/dev/null; check '[ $? -eq 2 ]' "bad split: exit 2"
exit $fail
