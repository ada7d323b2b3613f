#!/usr/bin/env bash
# All-scenario RL in the chat world (task chat), end to end from the R1-Zero
# checkpoint: SFT on the checkpoint's own sums and on unfiltered chat logs, a
# helpfulness and a safety reward model initialised from the SFT model (task
# pairs and labels plus the SFT policy's own answers judged by the rule), then
# GRPO on sums (verifier) and chat prompts (the two reward models). The rule
# judge `chat` is never paid: it is logged beside the reward models during the
# run and scores the held-out (test-split) prompts before and after.
#   examples/chat_rl.sh [OUT]    (default runs/chat_rl; ZERO=DIR picks the checkpoint,
#                                 STEPS=N the GRPO steps, default 90)
# Without ZERO, runs `aha zero --out runs/zero` first when runs/zero is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/chat_rl}
PY=${PYTHON:-python3}
AHA=${AHA:-./aha}
STEPS=${STEPS:-90}
if [ -z "${ZERO:-}" ]; then
  ZERO=runs/zero/checkpoints/step_80
  [ -d "$ZERO" ] || $AHA zero --out runs/zero >runs/zero.log 2>&1
fi
mkdir -p "$OUT"
T0=$SECONDS
stage() { echo "[$((SECONDS - T0))s] $*"; }

stage "1/5 SFT data: 300 of the checkpoint's own right sums, 2000 unfiltered chat logs"
$AHA rejection-sample --model "$ZERO" --task sum --difficulty 2 --problems 300 -n 4 --max-keep 1 \
  --out "$OUT/sums.jsonl" >"$OUT/sums.log" 2>&1
$AHA task chat -n 2000 --as sft --template r1zero >"$OUT/chat_logs.jsonl"
cat "$OUT/sums.jsonl" "$OUT/chat_logs.jsonl" >"$OUT/sft.jsonl"
stage "    SFT: 8 epochs"
$AHA sft --model "$ZERO" --dataset "$OUT/sft.jsonl" --template raw --epochs 8 --batch 16 --lr 2e-3 \
  --out "$OUT/sft" >"$OUT/sft.log" 2>&1
SFT=$OUT/sft/model

# Held-out evaluation: sums (difficulty 2, 100 x 4) and chat (200 x 4), test split, T 0.7.
evaluate() {
  $AHA eval --model "$1" --task sum --difficulty 2 --problems 100 --k 4 --temperature 0.7 \
    --samples "$OUT/eval_$2_sum.jsonl" >"$OUT/eval_$2_sum.log" 2>&1
  $AHA eval --model "$1" --task chat --problems 200 --k 4 --temperature 0.7 \
    --samples "$OUT/eval_$2_chat.jsonl" >"$OUT/eval_$2_chat.log" 2>&1
}
stage "2/5 held-out eval of the SFT model"
evaluate "$SFT" before

stage "3/5 reward models from the SFT model"
$AHA eval --model "$SFT" --task chat --split train --problems 200 --k 8 --temperature 0.7 \
  --samples "$OUT/onpolicy_train.jsonl" >/dev/null 2>&1
$AHA rm pairs --input "$OUT/onpolicy_train.jsonl" --out "$OUT/onpolicy_pairs.jsonl" 2>/dev/null
$AHA rm labels --input "$OUT/onpolicy_train.jsonl" --out "$OUT/onpolicy_labels.jsonl" 2>/dev/null
# Hard pairs, twice: the rejected answer has the right shape with the wrong name
# or word, the case a 4-layer reward model learns last. Each seed gives other ones.
for s in $(seq 1 24); do $AHA task chat -n 600 --seed "$s" --as hard-pairs; done | awk '!seen[$0]++' >"$OUT/hard_pairs.jsonl"
$AHA task chat -n 2000 --as pairs | cat - "$OUT/hard_pairs.jsonl" "$OUT/hard_pairs.jsonl" "$OUT/onpolicy_pairs.jsonl" \
  >"$OUT/helpful.jsonl"
$AHA task chat -n 1000 --as labels | cat - "$OUT/onpolicy_labels.jsonl" >"$OUT/safety.jsonl"
$AHA rm train --model "$SFT" --dataset "$OUT/helpful.jsonl" --max-steps 1500 --batch 16 --lr 1e-3 \
  --out "$OUT/rm-helpful" >"$OUT/rm-helpful.log" 2>&1
$AHA rm train --model "$SFT" --dataset "$OUT/safety.jsonl" --max-steps 150 --lr 1e-3 \
  --out "$OUT/rm-safety" >"$OUT/rm-safety.log" 2>&1
# Held-out accuracy: test-split pairs and labels, and the SFT policy's own
# test-split answers judged by the rule.
$AHA task chat -n 300 --split test --as pairs | sort -u >"$OUT/pairs_test.jsonl"
$AHA task chat -n 300 --split test --as labels | sort -u >"$OUT/labels_test.jsonl"
$AHA rm pairs --input "$OUT/eval_before_chat.jsonl" --out "$OUT/onpolicy_pairs_test.jsonl" 2>/dev/null
$AHA rm labels --input "$OUT/eval_before_chat.jsonl" --out "$OUT/onpolicy_labels_test.jsonl" 2>/dev/null
for f in pairs_test onpolicy_pairs_test; do
  $AHA rm score --model "$OUT/rm-helpful/model" --input "$OUT/$f.jsonl" --out "$OUT/$f.scored.jsonl" 2>/dev/null
done
for f in labels_test onpolicy_labels_test; do
  $AHA rm score --model "$OUT/rm-safety/model" --input "$OUT/$f.jsonl" --out "$OUT/$f.scored.jsonl" 2>/dev/null
done

stage "4/5 all-scenario GRPO: sums paid by the verifier, chat prompts by the reward models"
H=$OUT/rm-helpful/model S=$OUT/rm-safety/model
$AHA grpo --model "$SFT" --preset r1zero --steps "$STEPS" --prompts-per-step 16 --temperature 1.0 --lr 1e-4 --beta 0.05 \
  --reward math --reward format:0.1 --reward "rm:$H:1:view=answer" --reward "rm:$S:1:view=answer" \
  --source task=sum:difficulty=2:rewards=math,format \
  --source task=chat:weight=2:rewards=format,rm:rm-helpful,rm:rm-safety \
  --out "$OUT/grpo" >"$OUT/grpo.log" 2>&1

stage "5/5 held-out eval after RL"
evaluate "$OUT/grpo/checkpoints/step_$STEPS" after
# Both reward models' scores of the held-out answers, before and after, beside the rule.
for when in before after; do
  $PY -c "import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print(json.dumps({'prompt': r['prompt'], 'completion': r['completion'], 'answer': r['gold']}))" \
    <"$OUT/eval_${when}_chat.jsonl" >"$OUT/rm_in_$when.jsonl"
  $AHA reward --fn chat --fn "rm:$H:1:view=answer" --fn "rm:$S:1:view=answer" \
    <"$OUT/rm_in_$when.jsonl" >"$OUT/rm_out_$when.jsonl" 2>/dev/null
done
stage "done"

$PY - "$OUT" <<'P'
import json, sys
d = sys.argv[1]
rows = lambda f: [json.loads(l) for l in open(f'{d}/{f}')]
mean = lambda v: sum(v) / len(v) if v else float('nan')
pairs = lambda f: mean([r['score_chosen'] > r['score_rejected'] for r in rows(f)])
labels = lambda f: mean([(r['score'] > 0) == (r['label'] == 1) for r in rows(f)])
print('held-out reward-model accuracy: helpful %.3f (task pairs) %.3f (SFT answers), safety %.3f (task labels) %.3f (SFT answers)'
      % (pairs('pairs_test.scored.jsonl'), pairs('onpolicy_pairs_test.scored.jsonl'),
         labels('labels_test.scored.jsonl'), labels('onpolicy_labels_test.scored.jsonl')))
# helpful: pass@1 on greet and repeat prompts; safe: on harmful ones; insults:
# answers to harmless prompts that insult, the chat logs' bad answer.
print('%-7s %7s %7s %7s %7s %8s %9s %9s' % ('', 'sum', 'chat', 'helpful', 'safe', 'insults', 'rm:help', 'rm:safe'))
for when in ('before', 'after'):
    s, c, m = rows(f'eval_{when}_sum.jsonl'), rows(f'eval_{when}_chat.jsonl'), rows(f'rm_out_{when}.jsonl')
    harm = [r['gold'] == 'REFUSE' for r in c]
    insults = sum('You are stupid' in r['completion'] for r, h in zip(c, harm) if not h)
    print('%-7s %7.3f %7.3f %7.3f %7.3f %4d/%-3d %9.2f %9.2f' % (
        when, mean([r['correct'] for r in s]), mean([r['correct'] for r in c]),
        mean([r['correct'] for r, h in zip(c, harm) if not h]), mean([r['correct'] for r, h in zip(c, harm) if h]),
        insults, harm.count(False), mean([x['rm:rm-helpful'] for x in m]), mean([x['rm:rm-safety'] for x in m])))
P
