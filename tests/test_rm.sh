#!/usr/bin/env bash
# aha rm end to end on the bundled model: pairwise rows (text and
# conversational) train a reward model whose held-out accuracy is high and
# whose metrics.jsonl has loss, accuracy and margin on train and eval; the
# model directory loads again in aha rm score and ranks fresh pairs; pointwise
# rows train with binary cross-entropy; bad input is refused naming FILE:LINE
# and the field (equal sides, a label outside {0, 1}, mixed kinds), a model
# directory without a head is refused, and a refused start leaves no run.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
T=$TEST_TMP/rm
rm -rf "$T" && mkdir -p "$T"
M=models/aha-tiny

$PYTHON - "$T" <<'P'
import json, random, sys
d = sys.argv[1]
rng = random.Random(5)
def q():
    a, b = rng.randint(1, 40), rng.randint(1, 40)
    return f"What is {a} + {b}?", f" {a} + {b} = {a + b}. The answer is {a + b}."
bad = [" No.", " I will not help with that.", " Ask someone else."]
def rows(n, conv_every=0):
    out = []
    for i in range(n):
        p, good = q()
        r = {"prompt": p, "chosen": good, "rejected": rng.choice(bad)}
        if conv_every and i % conv_every == 0:
            r = {"prompt": [{"role": "user", "content": p}], "chosen": [{"role": "assistant", "content": good}],
                 "rejected": [{"role": "assistant", "content": r["rejected"]}]}
        out.append(r)
    return out
w = lambda name, rs: open(f"{d}/{name}", "w").write("".join(json.dumps(r) + "\n" for r in rs))
w("pairs.jsonl", rows(160, conv_every=4))
w("fresh.jsonl", rows(20))
pts = []
for i in range(120):
    p, good = q()
    pts.append({"prompt": p, "completion": good if i % 2 else rng.choice(bad), "label": i % 2})
w("points.jsonl", pts)
w("same.jsonl", [{"prompt": "a", "chosen": " x", "rejected": " y"}, {"prompt": "b", "chosen": " z", "rejected": " z"}])
w("label.jsonl", [{"prompt": "a", "completion": " x", "label": 1}, {"prompt": "b", "completion": " y", "label": 0.5}])
w("mixed.jsonl", [{"prompt": "a", "chosen": " x", "rejected": " y"}, {"prompt": "b", "completion": " y", "label": 1}])
P

run() { $AHA rm train --model $M --batch 8 --lr 1e-3 --warmup 2 --threads 1 "$@"; }
run --dataset "$T/pairs.jsonl" --out "$T/r" --max-steps 30 --log-every 5 --eval-every 15 --eval-ratio 0.2 >"$T/r.log" 2>&1
check "pairwise training runs" '[ $? -eq 0 ] && [ -s "$T/r/model/score.safetensors" ] && [ -s "$T/r/model/rm.json" ] && [ -s "$T/r/config.json" ]'
check "metrics have loss, accuracy, margin and their eval_ twins" \
  'grep -q "\"loss\".*\"accuracy\".*\"margin\"" "$T/r/metrics.jsonl" && grep -q "\"eval_loss\".*\"eval_accuracy\".*\"eval_margin\"" "$T/r/metrics.jsonl"'
$PYTHON - "$T/r/metrics.jsonl" <<'P' || fail=1
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
tr = [r for r in rows if "loss" in r]
ev = [r for r in rows if "eval_loss" in r]
ok = tr[-1]["loss"] < 0.5 * tr[0]["loss"] and ev[-1]["eval_accuracy"] >= 0.9 and ev[-1]["eval_margin"] > 0
print(f"rm: loss {tr[0]['loss']:.3f} -> {tr[-1]['loss']:.3f}, eval_accuracy {ev[-1]['eval_accuracy']:.3f}, eval_margin {ev[-1]['eval_margin']:.2f}")
if not ok: print("FAIL: the reward model did not learn the preference")
sys.exit(0 if ok else 1)
P
$AHA rm score --model "$T/r/model" --input "$T/fresh.jsonl" --out "$T/scored.jsonl" 2>"$T/score.log"
check "rm score loads the model and ranks fresh pairs" \
  '[ $? -eq 0 ] && [ "$(grep -c score_chosen "$T/scored.jsonl")" -eq 20 ] && grep -qE "(1[89]|20) of 20 pairs" "$T/score.log"'
head -3 "$T/fresh.jsonl" | $PYTHON -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l); print(json.dumps({"prompt": r["prompt"], "completion": r["chosen"]}))' |
  $AHA rm score --model "$T/r/model" --input - >"$T/one.jsonl" 2>/dev/null
check "a completion row gets a score that matches its pair's score_chosen" "$PYTHON - '$T' <<'P'
import json, sys
d = sys.argv[1]
a = [json.loads(l)['score'] for l in open(d + '/one.jsonl')]
b = [json.loads(l)['score_chosen'] for l in open(d + '/scored.jsonl')][:3]
sys.exit(0 if len(a) == 3 and all(abs(x - y) < 1e-5 for x, y in zip(a, b)) else 1)
P"

# As a reward term: aha reward --fn rm:DIR gives rm score's numbers; view=answer
# reads only the text after </think> (and of that, an <answer> tag's content,
# trailing whitespace dropped); norm=sigmoid maps them into (0, 1).
$PYTHON - "$T" <<'P'
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(d + "/scored.jsonl")][:4]
with open(d + "/terms.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps({"prompt": r["prompt"], "completion": "<think> 1 + 1 = 2 </think>" + r["chosen"]}) + "\n")
    for r in rows:
        f.write(json.dumps({"prompt": r["prompt"], "completion": "<think> 1 </think> <answer>" + r["chosen"] + "</answer>"}) + "\n")
    for r in rows:
        f.write(json.dumps({"prompt": r["prompt"], "completion": "<think> 1 </think> <answer>" + r["chosen"] + " </answer>"}) + "\n")
P
$AHA reward --fn "rm:$T/r/model:1:view=answer" --fn "rm:$T/r/model:1:view=answer,norm=sigmoid" --fn "rm:$T/r/model" \
  <"$T/terms.jsonl" >"$T/terms.out" 2>"$T/terms.log"
check "rm terms: view=answer equals the bare completion's score, tagged or not, sigmoid maps it, view=all differs" "$PYTHON - '$T' <<'P'
import json, math, sys
d = sys.argv[1]
want = [json.loads(l)['score_chosen'] for l in open(d + '/scored.jsonl')][:4] * 3
got = [json.loads(l) for l in open(d + '/terms.out')]
ok = len(got) == 12
for w, g in zip(want, got):
    ok &= abs(g['rm:r'] - w) < 1e-5 and abs(g['rm:r#2'] - 1 / (1 + math.exp(-w))) < 1e-6 and abs(g['rm:r#3'] - w) > 1e-4
sys.exit(0 if ok else 1)
P"

# In aha grpo, with start=2: 0 for two steps, then on; the policy's tokenizer
# differs from the reward model's, which is said and allowed.
$AHA init --preset tiny --seed 5 --out "$T/policy" >/dev/null 2>&1
$AHA grpo --model "$T/policy" --task sum --template raw --prompts-per-step 2 --group-size 2 --max-new-tokens 8 \
  --steps 3 --reward math --reward "rm:$T/r/model:0.5:norm=sigmoid,start=2" --out "$T/g" --threads 1 >"$T/g.log" 2>&1
check "grpo runs with a reward-model term" '[ $? -eq 0 ] && grep -q "tokenizer other than the policy.s" "$T/g.log"'
check "the term is off for its first two steps, then scores in (0, 1)" "$PYTHON - '$T/g/metrics.jsonl' <<'P'
import json, sys
m = [json.loads(l)['rewards/rm:r/mean'] for l in open(sys.argv[1])]
sys.exit(0 if len(m) == 3 and m[0] == 0 and m[1] == 0 and 0 < m[2] < 1 else 1)
P"
$AHA grpo --model "$T/policy" --task sum --steps 1 --reward "rm:$M" --out "$T/g2" >"$T/g2.log" 2>&1
check "grpo refuses a reward model directory without a head" '[ $? -ne 0 ] && grep -q "rm:.*$M: .*no reward head" "$T/g2.log"'

for opt in view=middle norm=zscore batch=0; do
    $AHA reward --fn "rm:$T/r/model:1:$opt" <"$T/terms.jsonl" >/dev/null 2>"$T/opt.log"; rc=$?
    check "rm term option $opt is refused naming it" '[ $rc -ne 0 ] && grep -q "rm:$T/r/model: ${opt%%=*} must be" "$T/opt.log"'
done

run --dataset "$T/points.jsonl" --out "$T/p" --max-steps 30 --eval-ratio 0.2 >"$T/p.log" 2>&1
check "pointwise training reaches held-out accuracy >= 0.9" \
  '[ $? -eq 0 ] && tail -1 "$T/p/metrics.jsonl" | grep -qE "\"eval_accuracy\":(1|0\.9)" && grep -q "\"kind\":[[:space:]]*\"pointwise\"" "$T/p/model/rm.json"'

refused() {   # name, dataset, pattern
    run --dataset "$2" --out "$T/bad" --max-steps 1 --batch 1 >"$T/bad.log" 2>&1; rc=$? pat=$3
    check "$1 is refused naming it" '[ $rc -ne 0 ] && grep -q -- "$pat" "$T/bad.log" && [ ! -e "$T/bad" ]'
}
refused "a pair whose chosen equals rejected" "$T/same.jsonl" "same.jsonl:2: chosen and rejected are equal"
refused "a label outside {0, 1}" "$T/label.jsonl" "label.jsonl:2: label: must be 0 or 1.*got 0.5"
refused "a pointwise row in a pairwise file" "$T/mixed.jsonl" "mixed.jsonl:2: a pointwise row in a pairwise dataset"
$AHA rm score --model $M --input "$T/fresh.jsonl" >/dev/null 2>"$T/nohead.log"
check "a model directory without a head is refused" '[ $? -ne 0 ] && grep -q "no reward head" "$T/nohead.log"'
run --dataset "$T/pairs.jsonl" --out "$T/r" --max-steps 1 >"$T/again.log" 2>&1
check "a run directory that holds a run is refused" '[ $? -ne 0 ]'
exit $fail
