#!/usr/bin/env bash
# aha sft end to end on the bundled model: a dataset with rows of all three
# shapes (prompt/completion, messages, text) trains with a falling loss, logs
# TRL's metric names and eval_loss, writes config.json and a model directory
# that aha sample loads; --no-completion-only trains on more tokens; bad rows
# are refused naming FILE:LINE and the field, and a refused start leaves no run
# directory; a run resumed from a checkpoint ends bit for bit where the
# uninterrupted run did.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
T=$TEST_TMP/sft
rm -rf "$T" && mkdir -p "$T"
M=models/aha-tiny

$PYTHON - "$T" <<'P'
import json, random, sys
d = sys.argv[1]
rng = random.Random(3)
def problem():
    xs = [rng.randint(1, 9) for _ in range(rng.randint(3, 4))]
    steps, s = [], xs[0]
    for x in xs[1:]:
        steps.append(f"{s} + {x} = {s + x}.")
        s += x
    return "Compute " + " + ".join(map(str, xs)), f" <think> step by step: {' '.join(steps)} </think> <answer> {s} </answer>"
rows = []
for i in range(24):
    p, c = problem()
    if i % 3 == 0:
        rows.append({"prompt": p, "completion": c})
    elif i % 3 == 1:
        rows.append({"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": c.strip()}]})
    else:
        rows.append({"text": p + "." + c})
open(d + "/mixed.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in rows))
P

run() { $AHA sft --model $M --template r1zero --batch 4 --lr 2e-3 --warmup 2 --threads 1 "$@"; }
run --dataset "$T/mixed.jsonl" --out "$T/r" --max-steps 12 --log-every 2 --eval-every 6 >"$T/r.log" 2>&1
check "sft exits 0" '[ $? -eq 0 ]'
for f in config.json metrics.jsonl model/config.json model/model.safetensors model/tokenizer.json model/tokenizer_config.json; do
    check "sft wrote $f" "[ -s '$T/r/$f' ]"
done
check "progress shows an ETA" "grep -q 'eta' '$T/r.log'"
check "report.html charts train and eval loss and token accuracy" \
    "grep -q 'data-chart=\"loss\"' '$T/r/report.html' && grep -q 'data-chart=\"token_accuracy\"' '$T/r/report.html'"
check "report.html lists no RL chart as missing" "! grep -q 'Not logged in this run' '$T/r/report.html'"
$PYTHON - "$T/r" <<'P' || fail=1
import json, sys
d = sys.argv[1]
lines = [json.loads(l) for l in open(d + "/metrics.jsonl")]
train = [l for l in lines if "loss" in l]
evals = [l for l in lines if "eval_loss" in l]
assert len(train) == 6, train
for l in train:
    for k in ("step", "loss", "learning_rate", "grad_norm", "num_tokens", "mean_token_accuracy", "epoch"):
        assert k in l, (k, l)
    assert 0 <= l["mean_token_accuracy"] <= 1, l
assert train[-1]["loss"] < train[0]["loss"], ("loss did not fall", train)
assert [e["step"] for e in evals] == [6, 12], evals
assert all(0 <= e["eval_mean_token_accuracy"] <= 1 for e in evals), evals
assert train[-1]["mean_token_accuracy"] > train[0]["mean_token_accuracy"], train
assert evals[-1]["eval_loss"] < evals[0]["eval_loss"] * 1.5 and evals[-1]["eval_loss"] > 0, evals
assert train[-1]["num_tokens"] > train[0]["num_tokens"] > 0
assert 0 < train[0]["epoch"] < train[-1]["epoch"], train
cfg = json.load(open(d + "/config.json"))
assert cfg["batch"] == 4 and cfg["template"] == "r1zero" and cfg["completion_only"] is True, cfg
P
$AHA sample --model "$T/r/model" --template r1zero --prompt "Compute 1 + 2 + 3" --max-new-tokens 8 --threads 1 >"$T/s.log" 2>&1
check "aha sample loads the fine-tuned model" '[ $? -eq 0 ]'

# Every token trained: more target tokens than completion-only for the same updates.
run --dataset "$T/mixed.jsonl" --out "$T/all" --max-steps 2 --no-completion-only >"$T/all.log" 2>&1
check "--no-completion-only exits 0" '[ $? -eq 0 ]'
run --dataset "$T/mixed.jsonl" --out "$T/co" --max-steps 2 >"$T/co.log" 2>&1
tok() { sed -n 's/.*(\([0-9]*\) target tokens).*/\1/p' "$1"; }
check "every-token run trains on more tokens ($(tok "$T/all.log") vs $(tok "$T/co.log"))" \
    '[ "$(tok "$T/all.log")" -gt "$(tok "$T/co.log")" ]'

# Bad inputs: exit 1, FILE:LINE and the field named, no run directory.
long=$($PYTHON -c 'print("1 + " * 400)')
head -n 4 "$T/mixed.jsonl" >"$T/ok4.jsonl"
bad() {   # name, expected text, then the rows
    local name=$1 want=$2
    shift 2
    cp "$T/mixed.jsonl" "$T/$name.jsonl"
    printf '%s\n' "$@" >>"$T/$name.jsonl"
    run --dataset "$T/$name.jsonl" --out "$T/x_$name" --max-steps 1 >"$T/$name.log" 2>&1
    local rc=$?
    check "$name: exit 1 (got $rc)" "[ $rc -eq 1 ]"
    check "$name: message names '$want'" "grep -qF -- '$want' '$T/$name.log'"
    check "$name: no run directory" "[ ! -e '$T/x_$name' ]"
}
bad nokeys "nokeys.jsonl:25: a row needs \"prompt\" and \"completion\"" '{"prompt": "Compute 1 + 2"}'
bad role "role.jsonl:26: messages[1]: role " '{"text": "ok"}' \
    '{"messages": [{"role": "user", "content": "hi"}, {"role": "tool", "content": "x"}]}'
check "role: names the role and the known ones" "grep -q \"'tool' is not one the chatml template knows (system, user, assistant)\" '$T/role.log'"
bad nocontent "nocontent.jsonl:25: messages[0]: missing field \"content\"" '{"messages": [{"role": "user"}]}'
bad empty "empty.jsonl:25: completion (empty): nothing to train on" '{"prompt": "Compute 1 + 2", "completion": ""}'
bad noasst "noasst.jsonl:25: messages (no assistant turn): nothing to train on" \
    '{"messages": [{"role": "user", "content": "Compute 1 + 2"}]}'
bad long "long.jsonl:25: the row has" "{\"text\": \"$long\"}"
check "long: names the context" "grep -q 'more than the model.s context of 256' '$T/long.log'"
bad json "json.jsonl:25" '{"text": '
bad type "type.jsonl:25: field \"completion\" must be a string" '{"prompt": "a", "completion": 5}'

# --skip-long drops the long row instead.
run --dataset "$T/long.jsonl" --out "$T/skip" --max-steps 1 --skip-long >"$T/skip.log" 2>&1
check "--skip-long runs" '[ $? -eq 0 ]'
check "--skip-long counts the row" "grep -q '1 skipped as too long' '$T/skip.log'"

run --dataset "$T/ok4.jsonl" --out "$T/few" --max-steps 1 >"$T/few.log" 2>&1
check "fewer rows than a batch: exit 1" '[ $? -eq 1 ]'
check "fewer rows than a batch: named" "grep -q 'ok4.jsonl: 3 training rows (1 of 4 held out for eval), fewer than a batch of 4' '$T/few.log'"
check "fewer rows than a batch: no run directory" "[ ! -e '$T/few' ]"

# A token budget: an update takes rows until the next would pass 300 tokens, so
# there are more updates than 2 epochs of 16-row batches (3), each of at most
# 300 tokens, and the last ends the second epoch.
run --dataset "$T/mixed.jsonl" --out "$T/bt" --batch 16 --batch-tokens 300 --epochs 2 --log-every 1 >"$T/bt.log" 2>&1
check "--batch-tokens run exits 0" '[ $? -eq 0 ]'
$PYTHON - "$T/bt/metrics.jsonl" <<'P' || fail=1
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l]
sizes = [b["num_tokens"] - a["num_tokens"] for a, b in zip([{"num_tokens": 0}] + rows, rows)]
ok = len(rows) > 3 and max(sizes) <= 300 and min(sizes) > 0 and rows[-1]["epoch"] == 2 and rows[-2]["epoch"] < 2
if not ok: print("FAIL: token budget: %d updates, sizes %s, last epochs %s" % (len(rows), sizes, [r["epoch"] for r in rows[-2:]]))
sys.exit(0 if ok else 1)
P

# Bit-exact resume: a copy of a finished run, cut back to its step-5
# checkpoint, resumed, ends with the same weights, optimizer and metrics.
R="--dataset $T/mixed.jsonl --max-steps 12 --micro-batch 3 --log-every 2 --eval-every 3 --save-steps 5"
run $R --out "$T/a" >"$T/a.log" 2>&1
check "checkpointed run exits 0" '[ $? -eq 0 ]'
check "checkpoints at 5, 10 and 12, latest the newest" \
    '[ "$(ls "$T/a/checkpoints" | tr "\n" " ")" = "latest step_10 step_12 step_5 " ] && [ "$(cat "$T/a/checkpoints/latest")" = step_12 ]'
check "a checkpoint lists its files with checksums" \
    "grep -q '\"optimizer.safetensors\"' '$T/a/checkpoints/step_5/trainer_state.json' && grep -q crc32c '$T/a/checkpoints/step_5/trainer_state.json'"
# What a run killed between its step-5 and step-10 checkpoints leaves.
cp -r "$T/a" "$T/b" && rm -rf "$T/b/checkpoints/step_10" "$T/b/checkpoints/step_12" "$T/b/model"
echo step_5 >"$T/b/checkpoints/latest"
run $R --out "$T/b" --resume >"$T/b.log" 2>&1
check "resume exits 0" '[ $? -eq 0 ] && grep -q "resuming from .*step_5" "$T/b.log"'
check "resume: same final weights" 'cmp -s "$T/a/model/model.safetensors" "$T/b/model/model.safetensors"'
check "resume: same optimizer at step 10" \
    'cmp -s "$T/a/checkpoints/step_10/optimizer.safetensors" "$T/b/checkpoints/step_10/optimizer.safetensors"'
nosec() { sed 's/,"seconds":[0-9.e+-]*//' "$1"; }
check "resume: same metrics lines (but seconds)" '[ "$(nosec "$T/a/metrics.jsonl")" = "$(nosec "$T/b/metrics.jsonl")" ]'
# 8-bit AdamW learns as fp32 AdamW does: same losses within 5% at every log line.
run $R --optim adamw_8bit --out "$T/a8" >"$T/a8.log" 2>&1
check "8-bit run exits 0" '[ $? -eq 0 ]'
$PYTHON - "$T/a/metrics.jsonl" "$T/a8/metrics.jsonl" <<'P' || fail=1
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(f) if '"loss"' in l] for f in sys.argv[1:])
ok = len(a) == len(b) > 3 and a[-1] < a[0] * 0.9 and all(abs(x - y) <= 0.05 * x for x, y in zip(a, b)) and a != b
print("fp32 losses", a, "\n8-bit losses", b)
if not ok: print("FAIL: 8-bit AdamW does not follow fp32")
sys.exit(0 if ok else 1)
P
# A checkpoint whose file changed after it was saved is refused, naming the file.
cp -r "$T/a" "$T/c" && rm -rf "$T/c/model" && echo step_5 >"$T/c/checkpoints/latest"
printf 'x' | dd of="$T/c/checkpoints/step_5/optimizer.safetensors" bs=1 seek=200 conv=notrunc 2>/dev/null
run $R --out "$T/c" --resume >"$T/c.log" 2>&1
check "a damaged checkpoint is refused" \
    '[ $? -eq 1 ] && grep -q "step_5/optimizer.safetensors: checksum mismatch" "$T/c.log" && [ ! -e "$T/c/model" ]'
run $R --out "$T/a2" --save-total-limit 2 >/dev/null 2>&1
check "--save-total-limit 2 keeps the newest two" '[ "$(ls "$T/a2/checkpoints" | tr "\n" " ")" = "latest step_10 step_12 " ]'
run $R --out "$T/b" --resume --lr 1e-3 >"$T/blr.log" 2>&1
check "resume with other settings is refused" '[ $? -eq 1 ] && grep -q "lr differs" "$T/blr.log"'
run --dataset "$T/mixed.jsonl" --out "$T/r" --max-steps 12 --log-every 2 --eval-every 6 --resume >"$T/rnock.log" 2>&1
check "resume without checkpoints is refused" '[ $? -eq 1 ] && grep -q "no checkpoint to resume from" "$T/rnock.log"'

run --dataset "$T/mixed.jsonl" --out "$T/r" --max-steps 1 >"$T/again.log" 2>&1
check "a run directory with metrics is refused" '[ $? -eq 1 ] && grep -q "metrics" "$T/again.log"'
$AHA sft --model $M --dataset "$T/mixed.jsonl" >"$T/noout.log" 2>&1
check "--out is required (exit 2)" '[ $? -eq 2 ] && grep -q -- "--out" "$T/noout.log"'
run --dataset "$T/mixed.jsonl" --out "$T/tpl" --template nope >"$T/tpl.log" 2>&1
check "an unknown template is refused" '[ $? -eq 1 ] && grep -q "unknown template" "$T/tpl.log" && [ ! -e "$T/tpl" ]'
exit $fail
