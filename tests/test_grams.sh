#!/usr/bin/env bash
# aha strategic-grams: counts completions (not occurrences), keeps the top
# fraction, ignores unsuccessful completions, and names the bad line.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
in="$TEST_TMP/grams.jsonl"
cat >"$in" <<'J'
{"completion": "Wait, let me check the sum. Let me check it twice. It is 5.", "reward": 1}
{"completion": "first add the tens, then let me check the sum again: 5", "reward": 1.0}
{"completion": "first add the tens and we are done", "reward": 1}
{"completion": "let me check the sum let me check the sum", "reward": 0}
J
out=$($AHA_DEBUG strategic-grams --input "$in" --top 1 --min-docs 2 2>/dev/null)
# Grams in >= 2 successful completions: "let me check", "me check the", "check the sum",
# "let me check the", "me check the sum", "let me check the sum", "first add the",
# "add the tens", "first add the tens".
check "nine grams" '[ "$(echo "$out" | wc -l)" -eq 9 ]'
check "has let me check the sum" 'echo "$out" | grep -qx "let me check the sum"'
check "has first add the tens" 'echo "$out" | grep -qx "first add the tens"'
out=$($AHA_DEBUG strategic-grams --input "$in" --min-docs 3 2>/dev/null)
check "nothing is in three successful completions" '[ -z "$out" ]'
$AHA_DEBUG strategic-grams --input "$in" --out "$TEST_TMP/lex.txt" --top 0.2 2>/dev/null
check "top 20% of 9 is 2 grams" '[ "$(grep -vc "^#" "$TEST_TMP/lex.txt")" -eq 2 ]'
printf '{"completion": "a b c", "reward": 1}\n{"completion": "x"}\n' >"$TEST_TMP/bad.jsonl"
msg=$($AHA_DEBUG strategic-grams --input "$TEST_TMP/bad.jsonl" 2>&1); rc=$?
check "bad line exits 1" '[ $rc -eq 1 ]'
check "bad line named" 'echo "$msg" | grep -q "bad.jsonl:2:.*reward"'
$AHA_DEBUG strategic-grams --bogus >/dev/null 2>&1; check "unknown flag exits 2" '[ $? -eq 2 ]'
$AHA_DEBUG strategic-grams --help | grep -q usage; check "help" '[ $? -eq 0 ]'
exit $fail
