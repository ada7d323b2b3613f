#!/usr/bin/env bash
# aha report: a synthetic 50-step run with hostile samples is rendered to
# report.html, loaded in headless Chromium (Debian's chromium) and checked:
# escaping, every chart drawn on the logged values, the screenshot's size; and
# bad input fails naming file:line without touching an existing report.
set -euo pipefail
cd "$(dirname "$0")/.."
AHA="${AHA:-./aha}"
R="${AHA_DEBUG:-./aha-debug}"; [ -x "$R" ] || R="$AHA"   # ASan build when there is one
PY="${PYTHON:-/usr/bin/python3}"
CHECK="$PY tests/pyref/report_check.py"
T="${TEST_TMP:-$(mktemp -d)}/report"
rm -rf "$T" && mkdir -p "$T"
CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
[ -n "$CHROMIUM" ] || { echo "chromium not found: run scripts/setup.sh (Debian package chromium)"; exit 1; }

fail() { echo "FAIL: $*"; exit 1; }
# Headless Chromium as this machine allows it: no sandbox as root, no network
# chatter, a fresh profile each time.
chrome() {
  local prof; prof=$(mktemp -d "$T/profile.XXXXXX")
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$prof" "$@" 2>>"$T/chromium.log"
}
# expect_fail RC PATTERN CMD...: exits with RC and stderr matches PATTERN (grep -E).
expect_fail() {
  local want=$1 pat=$2 rc=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want: $(cat "$T/err")"
  grep -qE -- "$pat" "$T/err" || fail "$*: message does not match /$pat/: $(cat "$T/err")"
}

# --- A full run: every metric the trainer logs, hostile samples, config and zero.json.
A="$T/run-a"
$CHECK make-run "$A"
"$R" report "$A" | grep -qF "wrote $A/report.html" || fail "no 'wrote' line"
H="$A/report.html"
[ -s "$H" ] || fail "report.html not written"
grep -qF '&lt;/script&gt;&lt;b&gt;&amp;amp;' "$H" || fail "hostile text not escaped as expected"
! grep -qF '</script><b>&amp;' "$H" || fail "hostile text copied unescaped"
! grep -qiE '<(script|img|iframe)' "$H" || fail "an element from the samples leaked into the page"
iconv -f UTF-8 -t UTF-8 "$H" >/dev/null || fail "report.html is not valid UTF-8 (a cut inside a character?)"
grep -qF 'id="zero"' "$H" || fail "zero.json table missing"
grep -qF 'id="config"' "$H" || fail "config table missing"
# Same inputs, same bytes; --out writes elsewhere.
"$R" report "$A" --out "$T/again.html" >/dev/null
cmp -s "$H" "$T/again.html" || fail "two reports of one run differ"

# Chromium's parsed DOM: 14 charts, each line an affine image of its metric.
chrome --dump-dom "file://$H" >"$T/a.dom" || fail "chromium --dump-dom failed: $(tail -n 5 "$T/chromium.log")"
$CHECK check-dom "$T/a.dom" "$A" 14
# The screenshot: the requested size, chart colours painted.
chrome --screenshot="$T/a.png" --window-size=1200,3000 "file://$H" >/dev/null \
  || fail "chromium --screenshot failed: $(tail -n 5 "$T/chromium.log")"
$CHECK check-png "$T/a.png" 1200 3000

# --- Keys absent everywhere drop their charts (and are listed); nulls are gaps;
# nearly constant series still get tick labels that tell the ticks apart.
B="$T/run-b"
$CHECK make-run "$B" --drop semantic_entropy,planning_token_frac,rewards/format/mean --null kl@20,kl@21,reward@5,reward@50 \
  --flat entropy
rm "$B/zero.json" "$B/config.json"
"$R" report "$B" >/dev/null
chrome --dump-dom "file://$B/report.html" >"$T/b.dom" || fail "chromium --dump-dom failed"
$CHECK check-dom "$T/b.dom" "$B" 12
grep -qE 'Not logged in this run:.*Planning-token fraction.*Semantic entropy' "$B/report.html" \
  || fail "the missing charts are not listed"
! grep -qF 'id="zero"' "$B/report.html" || fail "zero table shown without zero.json"
! grep -qF 'data-key="rewards/format/mean"' "$B/report.html" || fail "a dropped key was drawn"

# --- Samples are coloured by the verifier's "correct", not by reward: a wrong
# answer paid by the format term alone is not green. Old logs without
# "correct" fall back to reward > 0. A by-difficulty breakdown in zero.json is
# a table with a row per difficulty and field, not a JSON string.
D="$T/run-d"
$CHECK make-run "$D"
cat >"$D/samples.jsonl" <<'J'
{"step": 1, "completion": "<answer>8</answer> WRONG-BUT-FORMATTED", "answer": "7", "reward": 0.1, "math": 0, "format": 1, "correct": false}
{"step": 1, "completion": "<answer>7</answer> RIGHT", "answer": "7", "reward": 1.1, "math": 1, "format": 1, "correct": true}
{"step": 1, "completion": "OLD-LOG-PAID", "answer": "7", "reward": 0.5}
{"step": 2, "completion": "RIGHT-UNPAID", "answer": "7", "reward": 0, "correct": true}
J
cat >"$D/zero.json" <<'J'
{"before": {"pass@1": 0.25, "k": 8, "by_difficulty": {"3": {"n": 10, "pass@1": 0.5, "mean_length": 30}, "4": {"n": 20, "pass@1": 0.125, "mean_length": 33}}},
 "after": {"pass@1": 0.75, "k": 8, "by_difficulty": {"3": {"n": 10, "pass@1": 1, "mean_length": 60}, "4": {"n": 20, "pass@1": 0.625, "mean_length": 70}, "5": {"n": 4, "pass@1": 0.5}}}}
J
"$R" report "$D" >/dev/null
"$PY" - "$D/report.html" <<'P' || fail "samples coloured wrongly (see above)"
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
colour = {m.group(2).rsplit(">", 1)[-1].split()[-1]: m.group(1) for m in re.finditer(r'<div class="sample (\w+)">(.*?)</pre>', page, re.S)}
want = {"WRONG-BUT-FORMATTED": "bad", "RIGHT": "good", "OLD-LOG-PAID": "good", "RIGHT-UNPAID": "good"}
if colour != want:
    sys.exit("FAIL: sample colours %s, expected %s" % (colour, want))
P
grep -qF '<b>wrong</b>' "$D/report.html" || fail "a wrong sample is not labelled wrong"
grep -qF '<table class="breakdown" data-key="by_difficulty">' "$D/report.html" || fail "no by-difficulty table"
for row in '<td>3</td><td>pass@1</td><td>0.5</td><td>1</td><td class="up">+0.5</td>' \
           '<td>4</td><td>mean_length</td><td>33</td><td>70</td><td class="up">+37</td>' \
           '<td>5</td><td>pass@1</td><td></td><td>0.5</td><td></td>' \
           '<td>pass@1</td><td>0.25</td><td>0.75</td><td class="up">+0.5</td>'; do
  grep -qF "$row" "$D/report.html" || fail "zero table lacks the row $row"
done
! grep -qF '&quot;pass@1&quot;' "$D/report.html" || fail "by-difficulty results shown as JSON text"
! grep -qF '<td>by_difficulty</td>' "$D/report.html" || fail "by_difficulty has a row in the headline table"

# --- Bad input: a clear message naming file:line, exit 1, the old report kept.
C="$T/run-c"
$CHECK make-run "$C"
echo "old report" >"$C/report.html"
cp "$C/metrics.jsonl" "$T/metrics.good"
sed -i '7s/.*/{"step": 7, "reward": 0.5,/' "$C/metrics.jsonl"
expect_fail 1 "metrics\.jsonl:7: invalid JSON" "$R" report "$C"
expect_fail 1 "^aha report: $C/metrics\.jsonl:7: invalid JSON near column" "$R" report "$C/"
[ "$(cat "$C/report.html")" = "old report" ] || fail "a failed run replaced the report"
ls "$C" | grep -q '\.tmp\.' && fail "a temporary file was left behind"
sed '3s/"reward": [^,]*,/"reward": "high",/' "$T/metrics.good" >"$C/metrics.jsonl"
expect_fail 1 'metrics\.jsonl:3: field "reward" must be a number' "$R" report "$C"
sed '4s/.*/[1, 2]/' "$T/metrics.good" >"$C/metrics.jsonl"
expect_fail 1 "metrics\.jsonl:4: expected a JSON object" "$R" report "$C"
cp "$T/metrics.good" "$C/metrics.jsonl"
sed -i '9s/"step": [0-9]*, //' "$C/samples.jsonl"
expect_fail 1 'samples\.jsonl:9: missing field "step"' "$R" report "$C"
rm "$C/metrics.jsonl"
expect_fail 1 "metrics\.jsonl: No such file" "$R" report "$C"
echo '{"before": 1}' >"$C/zero.json" && cp "$T/metrics.good" "$C/metrics.jsonl" && rm "$C/samples.jsonl"
expect_fail 1 'zero\.json: expected \{"before"' "$R" report "$C"
# An empty metrics file is a run that has not stepped yet: a page with no charts.
rm "$C/zero.json" && : >"$C/metrics.jsonl"
"$R" report "$C" >/dev/null
grep -qF 'no steps logged yet' "$C/report.html" || fail "empty run not reported as such"
! grep -qF '<svg' "$C/report.html" || fail "charts drawn for an empty run"

# --- The command line.
"$AHA" report --help | grep -q 'usage: aha report RUN_DIR' || fail "--help"
expect_fail 2 "unknown option '--bogus'" "$AHA" report "$A" --bogus
expect_fail 2 "missing RUN_DIR" "$AHA" report
expect_fail 2 "--out" "$AHA" report "$A" --out
expect_fail 1 "not a directory" "$AHA" report "$T/nowhere"
# A path that does not fit is refused naming it (its start: the message is
# bounded), never cut short to a path that names another file.
long="$T/too-long$(printf '/%0200d' $(seq 1 21))/report.html"
expect_fail 2 "^aha report: --out is ${#long} bytes, longer than the 4095 allowed" "$AHA" report "$A" --out "$long"
echo "test_report: ok"
