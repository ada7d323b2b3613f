#!/usr/bin/env bash
# aha corpus and aha pretrain end to end at toy size: the corpus has the asked
# number of documents in three styles, pretraining writes a model directory that
# loads (aha eval runs on it), the loss log falls, and bad flags are refused.
set -u
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
T=$TEST_TMP/pretrain
mkdir -p "$T"

$AHA corpus --out "$T/c.jsonl" --docs 300 >"$T/corpus.log" 2>&1
check "corpus exits 0" '[ $? -eq 0 ]'
check "corpus has 300 lines" '[ "$(wc -l <"$T/c.jsonl")" -eq 300 ]'
for s in hasty careful check; do
    check "corpus has style $s" "grep -q '\"style\":\"$s\"' '$T/c.jsonl'"
done

$AHA pretrain --out "$T/m" --corpus "$T/c.jsonl" --vocab 512 --dim 16 --layers 1 --heads 2 --kv-heads 2 \
    --ffn 32 --context 256 --steps 20 --batch 4 --lr 1e-2 --warmup 2 --threads 1 >"$T/pt.log" 2>&1
check "pretrain exits 0" '[ $? -eq 0 ]'
for f in config.json model.safetensors tokenizer.json tokenizer_config.json pretrain.json train_log.jsonl; do
    check "pretrain wrote $f" "[ -s '$T/m/$f' ]"
done
check "loss log has 2 lines (every 10 updates)" '[ "$(wc -l <"$T/m/train_log.jsonl")" -eq 2 ]'
$PYTHON - "$T/m" <<'P' || fail=1
import json, sys
d = sys.argv[1]
log = [json.loads(l) for l in open(d + "/train_log.jsonl")]
s = json.load(open(d + "/pretrain.json"))
assert log[-1]["loss"] < log[0]["loss"], ("loss did not fall", log)
assert s["final_loss"] == log[-1]["loss"] and s["settings"]["dim"] == 16, s
cfg = json.load(open(d + "/config.json"))
assert cfg["hidden_size"] == 16 and cfg["torch_dtype"] == "bfloat16", cfg
P
$AHA eval --model "$T/m" --task arithmetic --problems 2 --k 2 --max-new-tokens 8 --threads 1 --json "$T/e.json" >"$T/eval.log" 2>&1
check "eval on the pretrained model exits 0" '[ $? -eq 0 ]'
check "eval json has pass@1" "grep -q 'pass@1' '$T/e.json'"

$AHA pretrain --out "$T/x" --no-such-flag 1 >"$T/bad.log" 2>&1
check "unknown flag exits 2" '[ $? -eq 2 ]'
check "unknown flag is named" "grep -q 'no-such-flag' '$T/bad.log'"
$AHA pretrain --out "$T/x" --corpus "$T/missing.jsonl" >"$T/bad2.log" 2>&1
check "missing corpus exits 1" '[ $? -eq 1 ]'
check "missing corpus is named" "grep -q 'missing.jsonl' '$T/bad2.log'"
$AHA eval --model "$T/m" >"$T/bad3.log" 2>&1
check "eval without a task exits 2" '[ $? -eq 2 ]'
exit $fail
