#!/usr/bin/env bash
# The tokenizer commands at the edge: --help, usage errors (exit 2), failures naming the
# file/line/field (exit 1, one message, no crash: run under the ASan build), and the
# round trip tokenize -> detokenize on a tokenizer trained here.
set -u
AHA=${AHA:-./aha}; AHA_DEBUG=${AHA_DEBUG:-./aha-debug}; T=${TEST_TMP:-/tmp}/tok_cli
mkdir -p "$T"
fails=0 checks=0
expect() {   # name, wanted exit status, wanted stderr/stdout substring, command...
  local name=$1 want=$2 text=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  checks=$((checks + 1))
  if [ "$rc" != "$want" ] || [[ "$out" != *"$text"* ]]; then
    fails=$((fails + 1)); echo "FAIL $name: exit $rc (wanted $want), output: ${out:0:300}"
  fi
}
for c in tokenize detokenize train-tokenizer; do
  expect "$c --help" 0 "usage: aha $c" "$AHA" $c --help
  expect "$c unknown flag" 2 "unknown option '--bogus'" "$AHA" $c --bogus
done
expect "tokenize needs --tokenizer" 2 "--tokenizer is required" "$AHA" tokenize
expect "missing file" 1 "$T/none/tokenizer.json" "$AHA_DEBUG" tokenize --tokenizer "$T/none/tokenizer.json" </dev/null
echo '{"model": {"type": "Unigram", "vocab": []}}' >"$T/unigram.json"
expect "unknown model type" 1 "model.type 'Unigram' is not supported" "$AHA_DEBUG" tokenize --tokenizer "$T/unigram.json" </dev/null
echo '{"model": ' >"$T/broken.json"
expect "not JSON" 1 "not valid JSON" "$AHA_DEBUG" tokenize --tokenizer "$T/broken.json" </dev/null
echo '{"version": "1.0"}' >"$T/nomodel.json"
expect "missing model" 1 "missing field 'model'" "$AHA_DEBUG" tokenize --tokenizer "$T/nomodel.json" </dev/null

# A trained tokenizer: round trip through the commands, errors naming the line.
printf 'the cat sat on the mat\nthe dog ate the cat food\n数学 123 4567\n' >"$T/corpus.txt"
expect "train" 0 "wrote" "$AHA_DEBUG" train-tokenizer --corpus "$T/corpus.txt" --vocab-size 280 --special '<|endoftext|>' --out "$T"
expect "train too small" 2 "--vocab-size must be" "$AHA" train-tokenizer --corpus "$T/corpus.txt" --vocab-size 10 --out "$T"
expect "train needs corpus" 1 "$T/nope.txt" "$AHA" train-tokenizer --corpus "$T/nope.txt" --vocab-size 300 --out "$T"
text=$'the cat<|endoftext|> 数学\n\tx\xff'
ids=$(printf '%s' "$text" | "$AHA_DEBUG" tokenize --tokenizer "$T")
back=$(printf '%s' "$ids" | "$AHA_DEBUG" detokenize --tokenizer "$T/tokenizer.json"; echo x)
want=$'the cat<|endoftext|> 数学\n\tx\xef\xbf\xbd'
checks=$((checks + 1))
[ "${back%x}" == "$want" ] || { fails=$((fails + 1)); echo "FAIL round trip: ids $ids gave '${back%x}'"; }
expect "jsonl" 0 $'[' bash -c "printf '\"the cat\"\n\n\"sat\"\n' | '$AHA' tokenize --tokenizer '$T' --jsonl"
lines=$(printf '"the cat"\n"sat"\n' | "$AHA" tokenize --tokenizer "$T" --jsonl | wc -l)
checks=$((checks + 1)); [ "$lines" = 2 ] || { fails=$((fails + 1)); echo "FAIL jsonl gave $lines lines"; }
expect "jsonl not a string" 1 "<stdin>:2: expected a JSON string" bash -c "printf '\"a\"\n[1]\n' | '$AHA_DEBUG' tokenize --tokenizer '$T' --jsonl"
expect "detok bad id" 1 "ids[1] = 999999" bash -c "echo '[1, 999999]' | '$AHA_DEBUG' detokenize --tokenizer '$T'"
expect "detok not ints" 1 "ids[0] is not a token id" bash -c "echo '[\"a\"]' | '$AHA_DEBUG' detokenize --tokenizer '$T'"
expect "detok jsonl line" 1 "<stdin>:2" bash -c "printf '[1]\n[-5]\n' | '$AHA_DEBUG' detokenize --tokenizer '$T' --jsonl"
echo "$((checks - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
