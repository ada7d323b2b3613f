#!/usr/bin/env bash
# aha grpo with several prompt sources (all-scenario RL): each source's groups
# are scored only by its own reward terms, the mix follows the weights, the
# per-source reward means are logged (and add up to the overall mean), a
# source's verifier outside its terms is judged with weight 0, a
# reward term with start=N is 0 before step N+1, a mixed run resumed halfway
# ends bit for bit where the straight run did, and bad source specs are
# refused naming the field.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
T=$TEST_TMP/grpo_sources
rm -rf "$T" && mkdir -p "$T"
. tests/grpo_setup.sh
$PYTHON - "$T" <<'P'
import json, sys
words = ["cats", "rain", "bread", "music", "trees", "rivers", "friends", "books", "stars", "tea"]
open(sys.argv[1] + "/general.jsonl", "w").write(
    "".join(json.dumps({"prompt": f"Say something kind about {w}.", "answer": w}) + "\n" for w in words))
P
MIX=(--model "$T/model" --template raw --prompts-per-step 4 --group-size 4 --max-new-tokens 12 --max-prompt-tokens 64
     --lr 3e-3 --beta 0.05 --seed 7 --threads 1
     --reward math --reward overlong:1:max=12,cache=10 --reward overlong:0.5:max=8,cache=6,start=2
     --source task=arithmetic:weight=3:rewards=math,overlong
     --source "dataset=$T/general.jsonl:name=general:rewards=overlong,overlong#2")
$AHA grpo "${MIX[@]}" --steps 6 --save-every 3 --out "$T/a" >"$T/a.log" 2>&1
check "a mixed run completes" '[ $? -eq 0 ]'
check "per-source metrics" "$PYTHON - '$T/a' <<'P'
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(d + '/metrics.jsonl')]
ok, groups = len(rows) == 6, {'arithmetic': 0, 'general': 0}
for m in rows:
    g = {s: m[f'sources/{s}/groups'] for s in groups}
    ok &= sum(g.values()) == 4
    for s in groups: groups[s] += g[s]
    # the overall mean is the row-weighted mean of the sources' means
    tot = sum(m[f'sources/{s}/reward'] * g[s] for s in groups if g[s])
    ok &= abs(tot / 4 - m['reward']) < 1e-9
    ok &= 'sources/arithmetic/rewards/overlong#2/mean' not in m and 'sources/general/rewards/math/mean' not in m
    # the general source's verifier (math) is judged with weight 0: logged, not paid
    ok &= g['general'] == 0 or 'sources/general/rewards/math#2/mean' in m
    if g['general'] and m['step'] <= 2:
        ok &= m['sources/general/rewards/overlong#2/mean'] == 0
print('groups over 6 steps:', groups)
ok &= groups['arithmetic'] > groups['general'] > 0
samples = [json.loads(l) for l in open(d + '/samples.jsonl')]
for s in samples:
    ok &= s['source'] in groups and (s['source'] == 'arithmetic' or s['math'] == 0)
sys.exit(0 if ok else 1)
P"
check "the start=2 term is 0 for the first two steps and scores after" "$PYTHON - '$T/a/metrics.jsonl' <<'P'
import json, sys
m = [json.loads(l).get('rewards/overlong#2/mean') for l in open(sys.argv[1])]
sys.exit(0 if m[0] == 0 and m[1] == 0 and any(x != 0 for x in m[2:]) else 1)
P"
$AHA grpo "${MIX[@]}" --steps 3 --save-every 3 --out "$T/b" >"$T/b.log" 2>&1 &&
  $AHA grpo --resume "$T/b" --steps 6 >>"$T/b.log" 2>&1
check "a resumed mixed run equals the straight one" \
  '[ $? -eq 0 ] && diff <(strip "$T/a/metrics.jsonl") <(strip "$T/b/metrics.jsonl") >/dev/null &&
   cmp -s "$T/a/checkpoints/step_6/model.safetensors" "$T/b/checkpoints/step_6/model.safetensors"'

# Relative dataset= and rm: paths are kept absolute in config.json, so a resume
# from another directory finds them.
AHA_ABS=$(cd "$(dirname "$AHA")" && pwd)/$(basename "$AHA")
(cd "$T" && "$AHA_ABS" grpo --model model --template raw --prompts-per-step 2 --group-size 2 --max-new-tokens 8 \
   --max-prompt-tokens 64 --steps 1 --reward overlong:1:max=8,cache=6 --source dataset=general.jsonl --out rel \
   --threads 1 >rel.log 2>&1) && (cd / && "$AHA_ABS" grpo --resume "$T/rel" --steps 2 >>"$T/rel.log" 2>&1)
check "relative source paths are kept absolute and a resume from elsewhere finds them" \
  '[ $? -eq 0 ] && grep -q "\"dataset=$T/general.jsonl\"" "$T/rel/config.json" && [ "$(wc -l <"$T/rel/metrics.jsonl")" -eq 2 ]'

# Difficulty 0 cycles 1..max_difficulty: sums of 3 and 4 terms only, both seen
# (grpo source and flag alike), and eval's --max-difficulty the same.
$AHA grpo --model "$T/model" --template raw --prompts-per-step 4 --group-size 2 --max-new-tokens 4 --steps 2 \
  --reward math --source task=sum:difficulty=0:max_difficulty=2 --log-samples 8 --threads 1 --out "$T/md" >"$T/md.log" 2>&1 &&
  $AHA grpo --model "$T/model" --template raw --prompts-per-step 4 --group-size 2 --max-new-tokens 4 --steps 2 \
    --reward math --task sum --difficulty 0 --max-difficulty 2 --log-samples 8 --threads 1 --out "$T/md2" >>"$T/md.log" 2>&1 &&
  $AHA eval --model "$T/model" --task sum --difficulty 0 --max-difficulty 3 --problems 6 --k 1 --max-new-tokens 4 \
    --samples "$T/md_eval.jsonl" >>"$T/md.log" 2>&1
check "difficulty 0 with max_difficulty cycles 1..max" "$PYTHON - '$T' <<'P'
import json, sys
d = sys.argv[1]
terms = lambda f: sorted({json.loads(l)['prompt'].count('+') + 1 for l in open(f)})
ok = terms(d + '/md/samples.jsonl') == [3, 4] and terms(d + '/md2/samples.jsonl') == [3, 4]
ok &= sorted({json.loads(l)['difficulty'] for l in open(d + '/md_eval.jsonl')}) == [1, 2, 3]
sys.exit(0 if ok else 1)
P"

refused() {   # what, pattern, args...
    local what=$1 pat=$2; shift 2
    $AHA grpo --model "$T/model" --steps 1 --reward math "$@" --out "$T/bad" >"$T/bad.log" 2>&1; rc=$?
    check "$what" '[ $rc -ne 0 ] && grep -q -- "$pat" "$T/bad.log" && [ ! -e "$T/bad" ]'
}
refused "an unknown reward label is refused naming the run's terms" "no --reward term is called 'format' (the run's terms: math)" \
  --source task=sum:rewards=format
refused "a source with both task and dataset is refused" "exactly one of task= and dataset=" \
  --source "task=sum:dataset=$T/general.jsonl"
refused "--task beside --source is refused" "source replaces task and dataset" --task sum --source task=sum
refused "an unknown source key is refused" "unknown key 'ratio'" --source task=sum:ratio=2
refused "a max_difficulty out of range is refused" "max_difficulty: a whole number in \[0, 5\]" --source task=sum:max_difficulty=6
refused "two sources with one name are refused" "two sources are called 'sum'" --source task=sum --source task=sum
exit $fail
