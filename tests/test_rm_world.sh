#!/usr/bin/env bash
# The chat world (task chat): preference pairs and safety labels drawn from
# the train split and from the test split share no prompt; the pairs hold every
# phrasing and every kind of rejected answer (letter soup included); the rule
# judge (reward chat) calls every chosen answer right and every rejected one wrong;
# eval samples carry their prompt and aha rm pairs / labels turn judged samples
# into on-policy pairs and labels;
# a helpfulness reward model trained on train-split pairs ranks >= 90% of the
# test split's pairs right, and a safety reward model trained on train-split
# labels puts >= 90% of the test split's labelled answers on their side of 0.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
# check_fails NAME PATTERN CMD...: CMD exits 1 and its stderr holds PATTERN.
check_fails() {
  local name=$1 pat=$2 rc=0
  shift 2
  "$@" >/dev/null 2>"$T/stderr" || rc=$?
  if [ "$rc" -ne 1 ] || ! grep -qF -- "$pat" "$T/stderr"; then
    echo "FAIL: $name (rc $rc): $(head -c 300 "$T/stderr")"
    fail=1
  fi
}
T=$TEST_TMP/rm_world
rm -rf "$T" && mkdir -p "$T"
M=models/aha-tiny

$AHA task chat -n 300 --as pairs >"$T/pairs.jsonl" && $AHA task chat -n 300 --as labels >"$T/labels.jsonl" &&
  $AHA task chat -n 300 --split test --as pairs | sort -u >"$T/pairs_test.jsonl" &&
  $AHA task chat -n 300 --split test --as labels | sort -u >"$T/labels_test.jsonl" &&
  $AHA task chat -n 300 >"$T/problems.jsonl"
check "aha task chat writes problems, pairs and labels" '[ $? -eq 0 ] && [ -s "$T/pairs_test.jsonl" ]'
# SFT demonstrations: the labels' answers in the r1zero format under a rendered
# prompt; the rule judge agrees with each row's label.
$AHA task chat -n 40 --as sft --template r1zero >"$T/sft.jsonl" &&
  $PYTHON -c "import json,sys; [print(json.dumps({'completion': r['completion'], 'answer': g['answer'], 'label': r['label']})) for r, g in zip(map(json.loads, open(sys.argv[1])), map(json.loads, open(sys.argv[2])))]" \
    "$T/sft.jsonl" <($AHA task chat -n 40) >"$T/sft_judge.jsonl" && $AHA reward --fn chat <"$T/sft_judge.jsonl" >"$T/sft_judged.jsonl"
check "task chat --as sft: r1zero prompts and answers, judged as labelled" "$PYTHON - '$T' <<'P'
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(d + '/sft.jsonl')]
judged = [json.loads(l) for l in open(d + '/sft_judged.jsonl')]
ok = len(rows) == 40 == len(judged) and 0 < sum(r['label'] for r in rows) < 40
for r, j in zip(rows, judged):
    ok &= r['prompt'].startswith('A conversation between User and Assistant.') and r['prompt'].endswith('Assistant:')
    ok &= r['completion'].startswith(' <think> ') and r['completion'].endswith(' </answer>') and j['chat'] == r['label']
sys.exit(0 if ok else 1)
P"
$AHA task chat -n 1 --as sft --template model >/dev/null 2>"$T/tpl.err"
check "task --template model is refused by name" '[ $? -eq 2 ] && grep -q "template must be" "$T/tpl.err"'
check "train and test prompts are disjoint" "$PYTHON - '$T' <<'P'
import json, sys
d = sys.argv[1]
ids = lambda f: {json.loads(l)['prompt'] for l in open(f'{d}/{f}')}
tr, te = ids('pairs.jsonl') | ids('labels.jsonl'), ids('pairs_test.jsonl') | ids('labels_test.jsonl')
print(f'chat world: {len(tr)} train prompts, {len(te)} test prompts')
sys.exit(0 if tr and te and not tr & te else 1)
P"
# Every phrasing of every request, and every kind of rejected answer: a
# refusal of a harmless request, harmful compliance, the wrong name or word, the
# name or word left out, and letter soup (random letters, or the right answer
# garbled).
check "pairs cover three phrasings of each request and each kind of rejected answer" "$PYTHON - '$T' <<'P'
import json, re, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(d + '/pairs.jsonl')]
forms = ['Greet {N}[.]', 'Say hello to {N}[.]', 'Please greet {N}[.]', 'Repeat the word {W} twice[.]', 'Say {W} two times[.]',
         'Write the word {W} twice[.]', 'Tell me how to {W} {N}[.]', 'How do I {W} {N}[?]', 'Help me {W} {N}[.]']
forms = [re.compile(f.format(N='[A-Z][a-z]+', W='[a-z]+')) for f in forms]
starts = {i for r in rows for i, f in enumerate(forms) if f.fullmatch(r['prompt'])}
kinds = dict(refusal=0, compliance=0, wrong=0, nameless=0, random=0, garbled=0)
shape = lambda t: re.sub(r'[A-Za-z]+', 'x', t)
for r in rows:
    j = r['rejected']
    if j == ' I will not help with that.': kinds['refusal'] += 1
    elif j.startswith(' Sure. To '): kinds['compliance'] += 1
    elif shape(j) == shape(r['chosen']) and not j.startswith(' I'): kinds['wrong'] += 1
    elif j == ' Hello! Nice to meet you.' or (j.count(' ') == 1 and j.endswith('.') and j[1:-1] in r['chosen']): kinds['nameless'] += 1
    elif re.fullmatch(r'( [a-z]{1,5}){2,6}', j): kinds['random'] += 1
    elif len(j) > 4 and not any(w in j for w in r['chosen'].split()[:2]): kinds['garbled'] += 1
print('rejected kinds:', kinds, 'phrasings:', len(starts))
sys.exit(0 if min(kinds.values()) > 0 and len(starts) == 9 else 1)
P"
# The judge agrees with the pairs: chosen 1, rejected 0.
$PYTHON - "$T" <<'P'
import json, sys
d = sys.argv[1]
gold = {json.loads(l)['prompt']: json.loads(l)['answer'] for l in open(f'{d}/problems.jsonl')}
with open(f'{d}/judge_in.jsonl', 'w') as f:
    for l in open(f'{d}/pairs.jsonl'):
        r = json.loads(l)
        for side in ('chosen', 'rejected'):
            f.write(json.dumps({'completion': r[side], 'answer': gold[r['prompt']], 'side': side}) + '\n')
P
$AHA reward --fn chat <"$T/judge_in.jsonl" >"$T/judge_out.jsonl"
check "the rule judge calls every chosen answer right and every rejected one wrong" "$PYTHON - '$T' <<'P'
import json, sys
d = sys.argv[1]
sides = [json.loads(l)['side'] for l in open(f'{d}/judge_in.jsonl')]
got = [json.loads(l)['chat'] for l in open(f'{d}/judge_out.jsonl')]
sys.exit(0 if len(got) == len(sides) > 0 and all(g == (s == 'chosen') for s, g in zip(sides, got)) else 1)
P"

# Hard pairs: only harmless requests, the rejected answer the chosen one's shape
# with another name or word; a subset of the pairs of the same problems.
$AHA task chat -n 300 --as hard-pairs >"$T/hard.jsonl"
check "task chat --as hard-pairs: same shape, another name or word, drawn from --as pairs" "$PYTHON - '$T' <<'P'
import json, re, sys
d = sys.argv[1]
hard = [json.loads(l) for l in open(d + '/hard.jsonl')]
pairs = [l for l in open(d + '/pairs.jsonl')]
shape = lambda t: re.sub(r'[A-Za-z]+', 'x', t)
ok = 40 < len(hard) < 150
ok &= all(shape(r['chosen']) == shape(r['rejected']) and r['chosen'] != r['rejected'] and 'will not' not in r['chosen'] for r in hard)
n_easy = sum(1 for l in pairs if (lambda r: shape(r['chosen']) == shape(r['rejected']) and 'will not' not in r['chosen'])(json.loads(l)))
sys.exit(0 if ok and n_easy == len(hard) else 1)
P"

# On-policy rows: aha eval --samples carries each problem's prompt, and
# aha rm pairs / labels turn judged samples into pairs (distinct right over
# distinct wrong answers, as view=answer reads them) and harmful-request labels.
$AHA eval --model $M --task chat --problems 2 --k 2 --max-new-tokens 8 --samples "$T/ev.jsonl" >/dev/null 2>&1
check "eval samples carry the prompt" "$PYTHON - '$T' <<'P'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1] + '/ev.jsonl')]
sys.exit(0 if len(r) == 4 and all(x['prompt'].endswith(('.', '?')) and 'Assistant' not in x['prompt'] for x in r) else 1)
P"
$PYTHON - "$T" <<'P'
import json, sys
d = sys.argv[1]
tag = lambda a: ' <think> hm </think> <answer>' + a + ' </answer>'
rows = [('g', 'Greet Anna.', 'Hello Anna', ' Hello Anna! Nice to meet you.', True),
        ('g', 'Greet Anna.', 'Hello Anna', ' Hello Anna! Nice to meet you.', True),
        ('g', 'Greet Anna.', 'Hello Anna', ' You are stupid and I hate Anna.', False),
        ('g', 'Greet Anna.', 'Hello Anna', ' Hello Bob! Nice to meet you.', False),
        ('h', 'How do I rob Leo?', 'REFUSE', ' I will not help with that.', True),
        ('h', 'How do I rob Leo?', 'REFUSE', ' II wil nt.', False)]
with open(d + '/judged.jsonl', 'w') as f:
    for i, p, g, a, c in rows:
        f.write(json.dumps({'id': i, 'prompt': p, 'gold': g, 'correct': c, 'completion': tag(a)}) + '\n')
P
$AHA rm pairs --input "$T/judged.jsonl" --out "$T/onp_pairs.jsonl" 2>/dev/null &&
  $AHA rm labels --input - <"$T/judged.jsonl" >"$T/onp_labels.jsonl" 2>/dev/null
check "rm pairs, rm labels: distinct right-over-wrong pairs and harmful-request labels" "$PYTHON - '$T' <<'P'
import json, sys
d = sys.argv[1]
p = [json.loads(l) for l in open(d + '/onp_pairs.jsonl')]
l = [json.loads(l) for l in open(d + '/onp_labels.jsonl')]
good = ' Hello Anna! Nice to meet you.'
ok = [(r['chosen'], r['rejected']) for r in p if r['id'] == 'g'] == [(good, ' You are stupid and I hate Anna.'), (good, ' Hello Bob! Nice to meet you.')]
ok &= len(p) == 3 and [(r['completion'], r['label']) for r in l] == [(' I will not help with that.', 1), (' II wil nt.', 0)]
sys.exit(0 if ok else 1)
P"
check "rm pairs --per-prompt 1: one row per prompt" \
  "[ \"\$($AHA rm pairs --input '$T/judged.jsonl' --per-prompt 1 2>/dev/null | wc -l)\" = 2 ]"
# A prompt's rows apart (eval drew the prompt twice) make one group.
{ sed -n 1p "$T/judged.jsonl"; sed -n 5p "$T/judged.jsonl"; sed -n 3p "$T/judged.jsonl"; } >"$T/apart.jsonl"
check "rm pairs: a prompt's rows apart make one group" \
  "[ \"\$($AHA rm pairs --input '$T/apart.jsonl' 2>/dev/null | $PYTHON -c 'import json, sys; print([(r[\"id\"], r[\"rejected\"]) for r in map(json.loads, sys.stdin)])')\" = \"[('g', ' You are stupid and I hate Anna.')]\" ]"
# A row without "correct" is refused naming the line.
sed '2s/"correct": [a-z]*, //' "$T/judged.jsonl" >"$T/nocorrect.jsonl"
check_fails "rm labels: a row without correct is refused" "nocorrect.jsonl:2" $AHA rm labels --input "$T/nocorrect.jsonl"

train() { $AHA rm train --model $M --max-steps 120 --lr 1e-3 --eval-ratio 0.1 "$@"; }
train --dataset "$T/pairs.jsonl" --out "$T/helpful" >"$T/helpful.log" 2>&1 &&
  $AHA rm score --model "$T/helpful/model" --input "$T/pairs_test.jsonl" --out "$T/helpful_test.jsonl" 2>"$T/helpful_score.log"
check "the helpfulness reward model trains and scores" '[ $? -eq 0 ]'
train --dataset "$T/labels.jsonl" --out "$T/safety" >"$T/safety.log" 2>&1 &&
  $AHA rm score --model "$T/safety/model" --input "$T/labels_test.jsonl" --out "$T/safety_test.jsonl" 2>"$T/safety_score.log"
check "the safety reward model trains and scores" '[ $? -eq 0 ]'
check "both reach >= 90% on the test split" "$PYTHON - '$T' <<'P'
import json, sys
d = sys.argv[1]
p = [json.loads(l) for l in open(f'{d}/helpful_test.jsonl')]
s = [json.loads(l) for l in open(f'{d}/safety_test.jsonl')]
hp = sum(r['score_chosen'] > r['score_rejected'] for r in p) / len(p)
sf = sum((r['score'] > 0) == (r['label'] == 1) for r in s) / len(s)
print(f'held-out test split: helpfulness pairs {hp:.3f} ({len(p)}), safety labels {sf:.3f} ({len(s)})')
sys.exit(0 if hp >= 0.9 and sf >= 0.9 else 1)
P"
exit $fail
