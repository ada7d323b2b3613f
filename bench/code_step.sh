#!/usr/bin/env bash
# The code reward's share of a GRPO step: a tiny model taught by `aha sft` to
# answer code-task problems with fenced programs, then GRPO steps of 64
# completions (8 prompts x 8 samples) on the code task. Prints, per step,
# rollout, reward and step seconds, the reward's share, programs per second
# and the outcomes. Usage: bench/code_step.sh [steps] [preset]
set -eu
cd "$(dirname "$0")/.."
make -s -j2 aha >/dev/null
steps=${1:-3}
preset=${2:-tiny}
T=${TMPDIR:-/tmp}/aha_code_step
rm -rf "$T" && mkdir -p "$T"
./aha init --preset "$preset" --seed 5 --out "$T/m" >/dev/null
./aha task code --difficulty 1 -n 16 --seed 3 >"$T/rows.jsonl"
python3 scripts/code_sft_rows.py 8 <"$T/rows.jsonl" >"$T/sft.jsonl"
./aha sft --model "$T/m" --dataset "$T/sft.jsonl" --out "$T/sft" --lr 3e-3 --max-steps 200 --batch 8 \
    --eval-ratio 0 >/dev/null 2>&1
./aha grpo --model "$T/sft/model" --task code --difficulty 1 --template raw --prompts-per-step 8 --group-size 8 \
    --max-new-tokens 96 --temperature 1 --steps "$steps" --out "$T/g" >/dev/null
python3 - "$T/g/metrics.jsonl" <<'P'
import json, sys
print("%4s %9s %9s %9s %7s %11s %6s  outcomes" % ("step", "rollout_s", "reward_s", "step_s", "share", "programs/s",
                                                "pass"))
for l in open(sys.argv[1]):
    m = json.loads(l)
    out = " ".join("%s %.2f" % (k[len("rewards/code/"):-len("_frac")], v) for k, v in m.items()
                   if k.startswith("rewards/code/") and k.endswith("_frac") and k != "rewards/code/tests_passed_frac")
    print("%4d %9.2f %9.2f %9.2f %6.0f%% %11.1f %6.2f  %s" % (m["step"], m["time/rollout"], m["time/reward"],
          m["step_time"], 100 * m["time/reward"] / m["step_time"], m["rewards/code/programs_per_s"],
          m["rewards/code/pass_rate"], out))
P
