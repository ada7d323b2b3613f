#!/usr/bin/env bash
# aha distill-vs-rl in small: the five rows come out, each from the model it
# names (the student's base row equals aha eval of the bundled student with
# the same settings, the distilled row is the student distill trained); a
# resume keeps finished stages; other settings and a missing student are
# refused.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
T=$TEST_TMP/dvr
mkdir -p "$T"
S=(--steps 1 --eval-problems 4 --eval-k 2 --problems 8 -n 2 --epochs 1 --batch 2 --threads 2)
$AHA distill-vs-rl "${S[@]}" --out "$T/run" >"$T/a.out" 2>"$T/a.err"
check "distill-vs-rl exits 0" '[ $? -eq 0 ]' || tail -5 "$T/a.err"
for f in config.json teacher-rl/zero.json student-rl/zero.json distill/traces.jsonl distill/sft/model/model.safetensors \
         eval_distilled.jsonl distill_vs_rl.json; do
    check "wrote $f" "[ -s '$T/run/$f' ]"
done
for row in "teacher base" "teacher GRPO" "student base" "student GRPO" "student distilled"; do
    check "table row $row" "grep -q '^$row ' '$T/a.out'"
done
check "training seconds of the trained rows" \
    "[ \"\$(grep -cE '^(teacher GRPO|student GRPO|student distilled) .* [0-9]+\$' '$T/a.out')\" -eq 3 ]"
grep -qE '"model":[[:space:]]*"/.*models/aha-nano"' "$T/run/student-rl/config.json"
check "the student's GRPO trained models/aha-nano" '[ $? -eq 0 ]'
$AHA eval --model models/aha-nano --task sum --difficulty 2 --problems 4 --k 2 --max-new-tokens 80 --threads 2 \
    --json "$T/base.json" >/dev/null 2>&1
check "aha eval of the student" '[ $? -eq 0 ]'
$AHA eval --model "$T/run/distill/sft/model" --task sum --difficulty 2 --problems 4 --k 2 --max-new-tokens 80 --threads 2 \
    --json "$T/distilled.json" >/dev/null 2>&1
check "aha eval of the distilled student" '[ $? -eq 0 ]'
$PYTHON - "$T" <<'P' || fail=1
import json, sys
d = sys.argv[1]
t = json.load(open(d + "/run/distill_vs_rl.json"))
assert list(t) == ["teacher base", "teacher GRPO", "student base", "student GRPO", "student distilled"], list(t)
keys = ("pass@1", "cons@k", "pass@k", "mean_length", "reflection_per_1k")
for name, ref in (("student base", "/base.json"), ("student distilled", "/distilled.json")):
    want = json.load(open(d + ref))
    for k in keys:
        assert t[name]["eval"][k] == want[k], (name, k, t[name]["eval"][k], want[k])
z = json.load(open(d + "/run/teacher-rl/zero.json"))
assert t["teacher GRPO"]["eval"] == z["after"], "teacher GRPO row is not teacher-rl's after"
assert t["student distilled"]["model"].endswith("distill/sft/model"), t["student distilled"]["model"]
P
cp "$T/run/distill_vs_rl.json" "$T/first.json"
$AHA distill-vs-rl "${S[@]}" --out "$T/run" --resume >"$T/b.out" 2>"$T/b.err"
check "resume exits 0" '[ $? -eq 0 ]'
check "resume keeps the finished stages" \
    "grep -q 'teacher-rl done before' '$T/b.err' && grep -q 'student-rl done before' '$T/b.err' && grep -q 'run/distill done before' '$T/b.err' && ! grep -q '^grpo ' '$T/b.err'"
nosec() { grep -v '"seconds"' "$1"; }
check "resume gives the same table (but timings)" '[ "$(nosec "$T/first.json")" = "$(nosec "$T/run/distill_vs_rl.json")" ]'
$AHA distill-vs-rl "${S[@]}" --out "$T/run" --resume --lr 0.5 >/dev/null 2>"$T/c.err"
check "resume with another lr refused" '[ $? -eq 1 ] && grep -q "config.json: lr differs" "$T/c.err"'
$AHA distill-vs-rl "${S[@]}" --out "$T/run" >/dev/null 2>"$T/d.err"
check "a new run into the used directory refused" '[ $? -eq 1 ] && grep -q "pass --resume" "$T/d.err"'
$AHA distill-vs-rl "${S[@]}" --student "$T/nope" --out "$T/run2" >/dev/null 2>"$T/e.err"
check "a missing student refused, nothing written" '[ $? -eq 1 ] && grep -q -- "--student .*nope: no model there" "$T/e.err" && [ ! -e "$T/run2" ]'
exit $fail
