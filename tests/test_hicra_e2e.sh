#!/usr/bin/env bash
# aha grpo --preset hicra end to end on the bundled tiny model: every logged
# completion's per-token advantages (what the loss trained on) are checked
# against an independent reading of the same batch. The planning tokens are
# found again here from the ids (tokenizer.json's byte-level vocabulary) and a
# two-gram lexicon; the group advantage is recomputed from the logged rewards
# (sample std, eps 1e-4); a planning token must carry A + 0.2 |A| and every
# other token A. One group is worked by hand: rewards (1.1, 0.1, 0.1, 0.1)
# have mean 0.35 and sample std 0.5, so the correct row has A = 0.75 / 0.5001
# = 1.49970 and its planning tokens 1.2 A = 1.79964; a wrong row has
# A = -0.25 / 0.5001 = -0.49990 and planning tokens 0.8 A = -0.39992.
set -euo pipefail
AHA=${AHA:-./aha}; PYTHON=${PYTHON:-/usr/bin/python3}
T=${TEST_TMP:-$(mktemp -d)}/hicra_e2e; rm -rf "$T"; mkdir -p "$T"
printf '# planning phrases\nlet me check\nwait let me check\n' > "$T/lexicon.txt"
"$AHA" grpo --preset hicra --model models/aha-tiny --task sum --steps 2 --prompts-per-step 4 --group-size 4 \
  --max-new-tokens 80 --log-samples 16 --seed 1 --hicra-lexicon "$T/lexicon.txt" --out "$T/run" >"$T/log" 2>&1 \
  || { tail -n 20 "$T/log"; exit 1; }

"$PYTHON" - "$T/run" models/aha-tiny/tokenizer.json "$T/lexicon.txt" <<'PY'
import json, re, statistics, sys
run, tok_path, lex_path = sys.argv[1:]
cfg = json.load(open(run + "/config.json"))
assert cfg["hicra_alpha"] == 0.2 and cfg["adv_scale"] == "group", (cfg["hicra_alpha"], cfg["adv_scale"])
alpha, eps = cfg["hicra_alpha"], cfg["adv_eps"]

# Byte-level BPE: each vocabulary string maps printable stand-ins back to bytes.
bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
cs, extra = bs[:], 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + extra); extra += 1
unbyte = {chr(c): b for b, c in zip(bs, cs)}
tj = json.load(open(tok_path))
piece = {i: bytes(unbyte[ch] for ch in s) for s, i in tj["model"]["vocab"].items()}
for a in tj["added_tokens"]:
    piece[a["id"]] = a["content"].encode()

grams = [l.strip() for l in open(lex_path) if l.strip() and not l.startswith("#")]
def planning(ids):
    text, off = b"", []
    for i in ids:
        off.append(len(text)); text += piece[i]
    off.append(len(text))
    words = [(m.start(), m.end(), m.group().lower()) for m in re.finditer(rb"[A-Za-z0-9']+", text)]
    marked = set()
    for w in range(len(words)):
        for n in range(3, 6):
            if w + n <= len(words) and b" ".join(x[2] for x in words[w:w + n]).decode() in grams:
                b, e = words[w][0], words[w + n - 1][1]
                marked |= {t for t in range(len(ids)) if off[t] < e and off[t + 1] > b}
    return sorted(marked)

rows = [json.loads(l) for l in open(run + "/samples.jsonl")]
assert len(rows) == 2 * 16, len(rows)
groups = {}
for r in rows:
    groups.setdefault((r["step"], r["prompt"]), []).append(r)
assert all(len(g) == 4 for g in groups.values()), [len(g) for g in groups.values()]
boosted = hand = 0
for g in groups.values():
    rw = [r["reward"] for r in g]
    mean, std = statistics.fmean(rw), statistics.stdev(rw)
    for r in g:
        A = (r["reward"] - mean) / (std + eps)
        plan = planning(r["ids"])
        assert plan == r["planning"], (plan, r["planning"], r["completion"])
        want = [A + alpha * abs(A) if j in plan else A for j in range(len(r["ids"]))]
        got = r["token_advantages"]
        assert len(got) == len(want) and all(abs(a - b) <= 1e-5 * max(1, abs(b)) for a, b in zip(got, want)), \
            (r["completion"], got, want)
        boosted += bool(plan) and A != 0
        if sorted(rw) == [0.1, 0.1, 0.1, 1.1] and plan:
            v = got[plan[0]]
            assert abs(v - (1.79964 if r["correct"] else -0.39992)) < 1e-4, v
            hand += 1
print(f"{len(rows)} rows, {boosted} with boosted planning tokens, {hand} in the hand-worked group")
assert boosted >= 3 and hand >= 1, (boosted, hand)
PY
