#!/usr/bin/env bash
# Code RL end to end: a tiny model from `aha init` is taught by `aha sft` to
# answer four `aha task code` problems with their reference solutions in a
# ```python fence; GRPO on those rows (a code dataset: no answer field) then
# samples groups where some programs pass their tests and others do not. The
# code reward must reach the loss: within a group a passing completion gets a
# positive advantage and a failing one a negative one, the gradient is not
# zero and the weights move. samples.jsonl carries each completion's code
# report and metrics.jsonl the rewards/code/* keys. `aha eval` on the same rows
# reports pass@1 and pass@k with the code verifier.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
T=${TEST_TMP:-/tmp}/code_e2e
rm -rf "$T" && mkdir -p "$T"
$AHA init --preset tiny --seed 5 --out "$T/m" >/dev/null 2>&1
check "init" '[ $? -eq 0 ]'
$AHA task code --difficulty 1 -n 4 --seed 3 >"$T/rows.jsonl"
check "aha task code" '[ $? -eq 0 ] && [ "$(wc -l <"$T/rows.jsonl")" -eq 4 ]'
$PYTHON scripts/code_sft_rows.py 16 <"$T/rows.jsonl" >"$T/sft.jsonl"
# The rows as a user's data set: prompt and tests only, no answer.
$PYTHON - "$T" <<'P'
import json, sys
t = sys.argv[1]
rows = [json.loads(l) for l in open(t + "/rows.jsonl")]
with open(t + "/data.jsonl", "w") as f:
    for r in rows:
        keep = {k: r[k] for k in ("prompt", "tests", "fn_name", "inputs", "outputs") if k in r}
        f.write(json.dumps(keep) + "\n")
P
$AHA sft --model "$T/m" --dataset "$T/sft.jsonl" --out "$T/sft" --lr 3e-3 --max-steps 200 --batch 8 --eval-ratio 0 \
    --threads 2 >"$T/sft.log" 2>&1
check "sft exits 0" '[ $? -eq 0 ]'
$AHA grpo --model "$T/sft/model" --dataset "$T/data.jsonl" --template raw --prompts-per-step 2 --group-size 8 \
    --max-new-tokens 96 --temperature 1 --steps 2 --lr 1e-3 --seed 1 --threads 2 --log-samples 16 --save-every 2 \
    --out "$T/g" >"$T/grpo.log" 2>&1
check "grpo exits 0" '[ $? -eq 0 ] || { cat "$T/grpo.log"; false; }'
check "the code reward reaches the loss" '$PYTHON - "$T" <<P
import json, sys
t = sys.argv[1]
m = [json.loads(l) for l in open(t + "/g/metrics.jsonl")]
s = [json.loads(l) for l in open(t + "/g/samples.jsonl")]
for k in ("rewards/code/mean", "rewards/code/pass_rate", "rewards/code/no_program_frac", "rewards/code/crash_frac",
          "rewards/code/timeout_frac", "rewards/code/wrong_output_frac", "rewards/code/programs_per_s"):
    assert all(k in x for x in m), k
assert any(x["reward_std"] > 0 and x["grad_norm"] > 0 for x in m), [(x["reward_std"], x["grad_norm"]) for x in m]
passed = [x for x in s if x["code_report"].get("result") == "pass"]
failed = [x for x in s if "first_failure" in x["code_report"]]
assert passed and failed, "no mix of passing and failing programs"
for x in passed:
    assert x["reward"] == 1 and x["code_report"]["passed"] == x["code_report"]["tests"] == 5, x
# The step where both occur: passing rows are pushed up, failing rows of that step down.
step = passed[0]["step"]
assert all(x["advantage"] > 0 for x in passed if x["step"] == step)
assert any(x["advantage"] < 0 for x in failed if x["step"] == step)
print("pass rate per step", [x["rewards/code/pass_rate"] for x in m], "reward_std", [round(x["reward_std"], 3) for x in m])
P'
check "the weights moved" '! cmp -s "$T/sft/model/model.safetensors" "$T/g/checkpoints/step_2/model.safetensors"'
$AHA eval --model "$T/sft/model" --dataset "$T/data.jsonl" --template raw --k 4 --max-new-tokens 96 \
    --temperature 1 --threads 2 --json "$T/eval.json" >"$T/eval.log" 2>&1
check "eval on code rows" '[ $? -eq 0 ] && $PYTHON -c "
import json, sys
e = json.load(open(sys.argv[1]))
assert 0 < e[\"pass@1\"] <= e[\"pass@k\"] <= 1, e
" "$T/eval.json" || { cat "$T/eval.log"; false; }'
$AHA eval --model "$T/sft/model" --task code --split train --difficulty 1 --problems 2 --k 2 --max-new-tokens 96 \
    --threads 2 --json "$T/eval_task.json" >"$T/eval_task.log" 2>&1
check "eval --task code" '[ $? -eq 0 ] && $PYTHON -c "
import json, sys
e = json.load(open(sys.argv[1]))
assert e[\"n_problems\"] == 2 and 0 <= e[\"pass@1\"] <= e[\"pass@k\"] <= 1, e
" "$T/eval_task.json" || { cat "$T/eval_task.log"; false; }'
[ "$fail" -eq 0 ] && echo "code RL end to end: ok"
exit $fail
