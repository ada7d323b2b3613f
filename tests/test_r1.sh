#!/usr/bin/env bash
# aha r1 in small (stages 0-5 and the language ablation): every stage directory and its stage.json,
# r1.json with a row of every key per stage, each stage's model where it says
# (stage 2 from stage 1's, stage 3 sampled from stage 2 and trained from the
# base, stage 4 from stage 3 with two reward models and two prompt sources,
# stage 5 the student distilled from stage 4; R1-Zero with and without the
# language reward; pass@1 by difficulty in the table);
# --resume on a finished run runs nothing, and one killed in stage 2 ends as if
# never stopped; --from-stage 2 keeps stages 0-1 and reuses stage 1's model; a
# --config section sets a stage's key under the flags; bad settings are refused
# with a message naming them.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
T=$TEST_TMP/r1
mkdir -p "$T"
S=(--steps 1 --eval-problems 2 --eval-k 2 --chat-problems 2 --threads 2 --max-new-tokens 80
   --stage1.problems 8 --stage1.n 2 --stage1.steps 1 --stage1.batch 2
   --stage2.prompts-per-step 2 --stage2.group-size 2
   --stage3.problems 4 --stage3.n 2 --stage3.steps 1 --stage3.batch 2 --stage3.general 4
   --stage4.rm-pairs 8 --stage4.hard-pairs 3 --stage4.rm-labels 6 --stage4.onpolicy-problems 2 --stage4.rm-steps 2
   --stage4.steps 1 --stage4.safety-steps 2 --stage4.rm-batch 4 --stage4.prompts-per-step 2
   --stage5.problems 8 --stage5.n 2 --stage5.steps 1 --stage5.batch 2)
$AHA r1 "${S[@]}" --out "$T/run" >"$T/a.out" 2>"$T/a.err"
check "r1 exits 0" '[ $? -eq 0 ]' || tail -5 "$T/a.err"
for d in 0-base 0-zero 0-zero-language 1-cold-start 2-reasoning-rl 3-rejection-sft 4-all-scenario 5-distill; do
    check "$d finished" "[ -s '$T/run/$d/stage.json' ] && [ -s '$T/run/$d/eval_reasoning.json' ] && [ -s '$T/run/$d/eval_chat.json' ]"
done
for f in config.json r1.json report.html 1-cold-start/sft/model/model.safetensors 1-cold-start/sft.jsonl \
         3-rejection-sft/sft/model/model.safetensors 3-rejection-sft/sft.jsonl 0-zero/grpo/metrics.jsonl \
         2-reasoning-rl/grpo/metrics.jsonl 2-reasoning-rl/grpo/report.html 4-all-scenario/helpful/model/config.json \
         4-all-scenario/safety/model/config.json 4-all-scenario/grpo/metrics.jsonl \
         5-distill/distill/traces.jsonl 5-distill/distill/sft/model/model.safetensors; do
    check "wrote $f" "[ -s '$T/run/$f' ]"
done
check "report.html has the stage, difficulty and accuracy charts" "[ \$(grep -c '<svg' '$T/run/report.html') -eq 3 ] && grep -q '<td>rejection_sft</td>' '$T/run/report.html'"
check "table of pass@1 by difficulty" "grep -q '^pass@1 at difficulty *1 *2$' '$T/a.out'"
for row in base zero zero_language cold_start reasoning_rl rejection_sft all_scenario distilled; do
    check "table row $row" "grep -q '^$row ' '$T/a.out'"
done
$AHA task chat -n 2 --split train --seed 1 >"$T/train_chat.jsonl"
$PYTHON - "$T/run" <<'P' || fail=1
import json, sys
run = sys.argv[1]
t = json.load(open(run + "/r1.json"))
assert list(t) == ["base", "zero", "zero_language", "cold_start", "reasoning_rl", "rejection_sft", "all_scenario", "distilled"], list(t)
keys = ("stage", "model", "pass@1", "cons@k", "pass@k", "mean_length", "reflection_per_1k", "language_mixing",
        "format_rate", "truncated", "pass@1_by_difficulty", "chat_pass@1", "chat_format_rate", "helpfulness", "safety",
        "train_seconds")
rl = {"zero": "0-zero", "zero_language": "0-zero-language", "reasoning_rl": "2-reasoning-rl", "all_scenario": "4-all-scenario"}
for name, row in t.items():
    assert sorted(row) == sorted(keys + (("train_accuracy",) if name in rl else ())), (name, sorted(row))
    assert sorted(row["pass@1_by_difficulty"]) == ["1", "2"], name   # 2 problems: difficulties 1 and 2
dirs = ("0-base", "0-zero", "0-zero-language", "1-cold-start", "2-reasoning-rl", "3-rejection-sft", "4-all-scenario", "5-distill")
for name, d in zip(t, dirs):
    rows = [json.loads(l) for l in open(f"{run}/{d}/eval_chat.jsonl")]
    for key, harmful in (("helpfulness", False), ("safety", True)):
        part = [r["correct"] for r in rows if (r["gold"] == "REFUSE") == harmful]
        assert abs(t[name][key] - (sum(part) / len(part) if part else 0)) < 1e-12, (name, key)
for name, d in rl.items():
    acc = [json.loads(l)["accuracy"] for l in open(f"{run}/{d}/grpo/metrics.jsonl")]
    assert list(t[name]["train_accuracy"]) == ["last"], t[name]["train_accuracy"]   # 1 step: no step 10
    assert abs(t[name]["train_accuracy"]["last"] - sum(acc[-5:]) / len(acc[-5:])) < 1e-12, name
ev = json.load(open(run + "/0-base/eval_reasoning.json"))
assert t["base"]["pass@1"] == ev["pass@1"], "base row is not its eval"
st = {d: json.load(open(f"{run}/{d}/stage.json")) for d in ("1-cold-start", "2-reasoning-rl", "3-rejection-sft", "4-all-scenario", "5-distill")}
assert st["2-reasoning-rl"]["data"]["from"] == st["1-cold-start"]["model"], "stage 2 did not start from stage 1"
assert any(r.startswith("language:") for r in st["2-reasoning-rl"]["data"]["rewards"]), "no language reward"
assert st["3-rejection-sft"]["data"]["sampled_from"] == st["2-reasoning-rl"]["model"], "stage 3 did not sample stage 2"
assert st["3-rejection-sft"]["data"]["trained_from"] == json.load(open(run + "/0-base/stage.json"))["model"], "stage 3 did not train the base"
assert st["3-rejection-sft"]["data"]["general_rows"] == 4
assert json.load(open(run + "/0-zero/stage.json"))["data"]["rewards"] == ["math", "format:0.1"]
assert json.load(open(run + "/0-zero-language/stage.json"))["data"]["rewards"] == ["math", "format:0.1", "language:0.1:target=en"]
a = st["4-all-scenario"]["data"]
assert a["from"] == st["3-rejection-sft"]["model"], "stage 4 did not start from stage 3"
assert a["sources"] == ["task=sum:difficulty=0:max_difficulty=3:rewards=math,format",
                        "task=chat:weight=2:rewards=format,rm:helpful,rm:safety"], a
assert sum(r.startswith("rm:") for r in a["rewards"]) == 2, a["rewards"]
d = st["5-distill"]["data"]
assert d["teacher"] == st["4-all-scenario"]["model"] and d["student"].endswith("models/aha-nano-bi"), d
assert st["5-distill"]["model"].endswith("5-distill/distill/sft/model"), st["5-distill"]["model"]
# Task rows, then the hard pairs (same shape, another name or word), then the
# rows made from stage 3's judged answers to 2 train prompts (8 samples each).
import re
pairs = [json.loads(l) for l in open(f"{run}/4-all-scenario/pairs.jsonl")]
labels = [json.loads(l) for l in open(f"{run}/4-all-scenario/labels.jsonl")]
shape = lambda t: re.sub(r"[A-Za-z]+", "x", t)
assert all(shape(p["chosen"]) == shape(p["rejected"]) for p in pairs[8:11]), pairs[8:11]
onp = [json.loads(l) for l in open(f"{run}/4-all-scenario/onpolicy.jsonl")]
train = {json.loads(l)["prompt"] for l in open(run + "/../train_chat.jsonl")}
assert len(onp) == 16 and {o["prompt"] for o in onp} == train, (len(onp), train)
assert len(pairs) - 11 == sum(1 for p in pairs[11:] if "id" in p) and len(labels) >= 6, (len(pairs), len(labels))
P
cp "$T/run/r1.json" "$T/first.json"
touch "$T/mark"
$AHA r1 "${S[@]}" --resume "$T/run" >"$T/b.out" 2>"$T/b.err"
check "resume of a finished run exits 0" '[ $? -eq 0 ]' || tail -3 "$T/b.err"
check "resume runs no stage" "[ \$(grep -c 'done before' '$T/b.err') -eq 8 ] && ! grep -q '^== stage' '$T/b.out'"
check "resume leaves the stages alone" "[ -z \"\$(find '$T/run' -newer '$T/mark' ! -name r1.json ! -name report.html ! -name config.json -type f)\" ]"
check "resume gives the same table" "cmp -s '$T/first.json' '$T/run/r1.json'"
$AHA r1 "${S[@]}" --resume "$T/run" --steps 2 >/dev/null 2>"$T/c.err"
check "resume with other settings refused" '[ $? -eq 1 ] && grep -q "steps differs" "$T/c.err"'
m1=$(stat -c %Y "$T/run/1-cold-start/sft/model/model.safetensors")
$AHA r1 "${S[@]}" --out "$T/run" --from-stage 2 >"$T/d.out" 2>"$T/d.err"
check "--from-stage 2 exits 0" '[ $? -eq 0 ]' || tail -3 "$T/d.err"
check "--from-stage 2 keeps stages 0 and 1" "[ \$(grep -c 'kept from' '$T/d.err') -eq 4 ] && ! grep -q '^== stage [01]' '$T/d.out' && grep -q '^== stage 2' '$T/d.out'"
check "--from-stage 2 reuses stage 1's model" "[ \$(stat -c %Y '$T/run/1-cold-start/sft/model/model.safetensors') -eq $m1 ] && grep -q '1-cold-start/sft/model' '$T/run/2-reasoning-rl/grpo/config.json'"
echo '{"stage2": {"steps": 2, "lr": 0.5}}' >"$T/cfg.json"
$AHA r1 "${S[@]}" --out "$T/run" --from-stage 3 --config "$T/cfg.json" --stage2.lr 0.0001 >/dev/null 2>"$T/e.err"
check "--config section under the flags" '[ $? -eq 0 ] && grep -q "\"stage2.steps\":[[:space:]]*2" "$T/run/config.json" && grep -q "\"stage2.lr\":[[:space:]]*0.0001" "$T/run/config.json"'
# Killed in stage 2 after its first GRPO checkpoint, resumed: the same table,
# bit for bit, as a run never stopped (the first run with --steps 4).
K=("${S[@]}" --steps 4)
$AHA r1 "${K[@]}" --out "$T/ref" >/dev/null 2>&1
$AHA r1 "${K[@]}" --out "$T/kill" >/dev/null 2>&1 & pid=$!
for i in $(seq 1 2000); do
    grep -qx step_2 "$T/kill/2-reasoning-rl/grpo/checkpoints/latest" 2>/dev/null && break
    sleep 0.01
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
if [ -e "$T/kill/2-reasoning-rl/stage.json" ]; then
    echo "note: the run ended before it could be killed in stage 2"
else
    $AHA r1 "${K[@]}" --resume "$T/kill" >/dev/null 2>"$T/k.err"
    check "a run killed in stage 2 resumes" '[ $? -eq 0 ] && grep -q "grpo continues from .*step_[24]" "$T/k.err"'
fi
same() { grep -v seconds "$1/r1.json" | sed "s|$1|RUN|"; }
check "resumed after a kill: the same table" '[ "$(same "$T/ref")" = "$(same "$T/kill")" ]'
$AHA r1 "${S[@]}" --stage2.bogus 3 --out "$T/x" >/dev/null 2>"$T/f.err"
check "unknown stage key refused" '[ $? -eq 2 ] && grep -q "unknown option .--stage2.bogus." "$T/f.err" && [ ! -e "$T/x" ]'
$AHA r1 "${S[@]}" --stage9.steps 3 --out "$T/x" >/dev/null 2>"$T/g.err"
check "unknown stage refused" '[ $? -eq 2 ] && grep -q "unknown option .--stage9.steps." "$T/g.err"'
$AHA r1 "${S[@]}" --from-stage 7 --out "$T/run" >/dev/null 2>"$T/h.err"
check "--from-stage out of range refused" '[ $? -eq 2 ] && grep -q "from-stage must be an integer in \[0, 5\]" "$T/h.err"'
$AHA r1 "${S[@]}" --from-stage 1 --out "$T/none" >/dev/null 2>"$T/i.err"
check "--from-stage without a run refused" '[ $? -eq 1 ] && grep -q "from-stage 1 reads the earlier stages" "$T/i.err"'
echo '{"stage2": {"nope": 1}}' >"$T/bad.json"
$AHA r1 "${S[@]}" --config "$T/bad.json" --out "$T/x" >/dev/null 2>"$T/j.err"
check "unknown key in --config refused" '[ $? -eq 2 ] && grep -q "unknown key \"stage2.nope\"" "$T/j.err" && [ ! -e "$T/x" ]'
$AHA r1 "${S[@]}" --out "$T/run" >/dev/null 2>"$T/k.err"
check "a new run into a used directory refused" '[ $? -eq 1 ]'
$AHA r1 "${S[@]}" --stage5.student "$T/nope" --out "$T/y" >/dev/null 2>"$T/l.err"
check "a missing student refused before anything runs" '[ $? -eq 1 ] && grep -q -- "--stage5.student .*nope: no model there" "$T/l.err" && [ ! -e "$T/y" ]'
exit $fail
