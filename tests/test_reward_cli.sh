#!/usr/bin/env bash
# `aha reward`: JSONL in, one JSON line out per input with the weighted total and
# each component; bad lines and bad flags are errors naming where, never crashes.
set -u
AHA_BIN="${AHA_DEBUG:-./aha-debug}"
fail=0
check() {  # description, condition...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}

out=$(printf '%s\n' \
  '{"completion": "<think>a</think><answer>\\frac12</answer>", "answer": "0.5", "numbers": [3,5,2], "target": 16}' \
  '' \
  '{"completion": "<think>a</think><answer>(3+5)*2</answer>", "answer": 7, "numbers": [3,5,2], "target": 16}' \
  | "$AHA_BIN" reward --fn math:2 --fn format:0.5 --fn countdown 2>&1)
rc=$?
line1=$(sed -n 1p <<<"$out"); line2=$(sed -n 2p <<<"$out")
check "exit 0 on good input" test "$rc" -eq 0
check "two output lines (blank skipped)" test "$(wc -l <<<"$out")" -eq 2
# 2*1 + 0.5*1 + 0.1 (formatted countdown answer that is wrong): 2.6
check "line 1 total and components" test "$line1" = '{"reward":2.6,"math":1,"format":1,"countdown":0.1}'
# 2*0 + 0.5*1 + 1 = 1.5
check "line 2 total and components" test "$line2" = '{"reward":1.5,"math":0,"format":1,"countdown":1}'

err=$(printf '{"completion": "x", "answer": "1"}\n{"completion": \n' | "$AHA_BIN" reward --fn math 2>&1 >/dev/null)
rc=$?
check "malformed line exits 1" test "$rc" -eq 1
check "malformed line is named" grep -q '<stdin>:2' <<<"$err"

err=$(printf '{"completion": "x"}\n' | "$AHA_BIN" reward --fn math 2>&1 >/dev/null)
check "missing gold names the line" grep -q '<stdin>:1: .*gold' <<<"$err"

err=$(printf '{"completion": "x"}\n' | "$AHA_BIN" reward --fn nonsense 2>&1); rc=$?
check "unknown reward exits 2" test "$rc" -eq 2
check "unknown reward lists known ones" grep -q 'known: math' <<<"$err"

"$AHA_BIN" reward --bogus </dev/null >/dev/null 2>&1; rc=$?
check "unknown flag exits 2" test "$rc" -eq 2
"$AHA_BIN" reward </dev/null >/dev/null 2>&1; rc=$?
check "no --fn exits 2" test "$rc" -eq 2
check "--help lists the functions" bash -c "'$AHA_BIN' reward --help | grep -q overlong"

# Duplicate functions keep both components.
out=$(printf '{"completion": "a b c a b c", "tokens": 90, "max_new_tokens": 100}\n' |
  "$AHA_BIN" reward --fn overlong:1:max=100,cache=20 --fn repetition --fn repetition:1:ngram=1 2>&1)
# overlong (80-90)/20 = -0.5; trigrams 3/4 unique: -0.25; unigrams 3/6 unique: -0.5
check "options and duplicate names" test "$out" = '{"reward":-1.25,"overlong":-0.5,"repetition":-0.25,"repetition#2":-0.5}'
# The code reward runs the program in the sandbox and reports the tests run and
# passed (or the first failure); unsafe_sandbox is an accepted option.
code='{"completion": "```python\nprint(int(input()) * 2)\n```", "tests": [{"input": "21", "output": "42"}]}'
out=$(printf '%s\n' "$code" | "$AHA_BIN" reward --fn code 2>&1)
report='"code_report":{"tests":1,"run":1,"passed":1,"result":"pass"}'
check "code reward runs the program" test "$out" = '{"reward":1,"code":1,'"$report"'}'
out=$(printf '%s\n' "$code" | "$AHA_BIN" reward --fn code:1:unsafe_sandbox=1 2>&1)
check "code reward accepts unsafe_sandbox" test "$out" = '{"reward":1,"code":1,'"$report"'}'
out=$(printf '%s\n' '{"completion": "```python\nprint(41)\n```", "fn_name": "f", "inputs": [[1]], "outputs": [2]}' \
  '{"completion": "```python\ndef f(x):\n    return x + 1\n```", "fn_name": "f", "inputs": [[1]], "outputs": [2]}' |
  "$AHA_BIN" reward --fn code 2>&1)
check "call-based tests and the first failure" test "$out" = '{"reward":0,"code":0,"code_report":{"tests":1,"run":1,"passed":0,"first_failure":"crash"}}
{"reward":1,"code":1,"code_report":{"tests":1,"run":1,"passed":1,"result":"pass"}}'
# wall= lets a program wait longer than its CPU limit (a sleeper uses no CPU).
sleeper='{"completion": "```python\nimport time\ntime.sleep(1.5)\nprint(1)\n```", "tests": [{"input": "", "output": "1"}]}'
out=$(printf '%s\n' "$sleeper" | "$AHA_BIN" reward --fn code:1:timeout=1 2>&1)
check "timeout cuts the sleeper" test "$out" = '{"reward":0,"code":0,"code_report":{"tests":1,"run":1,"passed":0,"first_failure":"timeout"}}'
out=$(printf '%s\n' "$sleeper" | "$AHA_BIN" reward --fn code:1:timeout=1,wall=3 2>&1)
check "wall lets it finish" test "$out" = '{"reward":1,"code":1,"code_report":{"tests":1,"run":1,"passed":1,"result":"pass"}}'
out=$(printf '%s\n' "$sleeper" | "$AHA_BIN" reward --fn code:1:timeout=2,wall=1 2>&1)
check "wall below timeout refused" grep -q "wall in \[timeout, 3600\]" <<<"$out"
# A loop with room on the wall clock is stopped by its CPU limit, and reported as a timeout.
out=$(printf '%s\n' '{"completion": "```python\nwhile True: pass\n```", "tests": [{"input": "", "output": "1"}]}' |
  "$AHA_BIN" reward --fn code:1:timeout=1,wall=20 2>&1)
check "the CPU limit is a timeout" test "$out" = '{"reward":0,"code":0,"code_report":{"tests":1,"run":1,"passed":0,"first_failure":"timeout"}}'
exit $fail
