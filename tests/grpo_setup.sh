# Sourced by the GRPO shell tests (T set): a tiny random model in $T/model,
# the settings of a short run on it (COMMON) and strip FILE, a metrics log
# without its timings, which differ between runs. The reward is the DAPO
# overlong term, which a random model earns unevenly, so the advantages are
# non-zero and the updates real.
$AHA init --preset tiny --seed 5 --out "$T/model" >"$T/init.log" 2>&1 || { echo "FAIL: init"; cat "$T/init.log"; exit 1; }
COMMON=(--model "$T/model" --task arithmetic --template raw --prompts-per-step 2 --group-size 4
        --max-new-tokens 12 --max-prompt-tokens 64 --reward overlong:1:max=12,cache=10 --lr 3e-3
        --beta 0.05 --ref-reset-every 3 --minibatches 2 --epochs 2 --seed 7 --threads 1)
strip() { $PYTHON - "$1" <<'P'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    print(json.dumps({k: v for k, v in sorted(o.items()) if not (k.startswith("time/") or k.endswith("per_s") or k == "step_time")}))
P
}
