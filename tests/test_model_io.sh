#!/usr/bin/env bash
# Broken model directories through the CLI under ASan/UBSan (./aha-debug): a
# truncated weight file, a wrong header length, a bad dtype, a shape mismatch,
# a missing tensor and bad config.json each give exit status 1 and one message
# naming the file (and tensor or field); usage errors give 2.
set -u
AHA_DEBUG=${AHA_DEBUG:-./aha-debug}
PYTHON=${PYTHON:-/usr/bin/python3}
T=${TEST_TMP:-/tmp}/model_io_sh
rm -rf "$T" && mkdir -p "$T"
fails=0

# expect STATUS NEEDLE... -- CMD...: runs CMD, checks status and that stderr holds each needle.
expect() {
  local want=$1; shift
  local needles=()
  while [ "$1" != "--" ]; do needles+=("$1"); shift; done
  shift
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL: '$*' exited $rc, want $want"; cat "$T/err"; fails=$((fails + 1)); return
  fi
  for n in "${needles[@]}"; do
    if ! grep -qF -- "$n" "$T/err"; then
      echo "FAIL: '$*': stderr lacks '$n':"; cat "$T/err"; fails=$((fails + 1))
    fi
  done
  if grep -q "Sanitizer" "$T/err"; then echo "FAIL: sanitizer report from '$*'"; fails=$((fails + 1)); fi
}

expect 0 -- "$AHA_DEBUG" init --preset tiny --out "$T/base" --seed 5
expect 0 -- "$AHA_DEBUG" init --help
expect 2 "unknown option '--bogus'" -- "$AHA_DEBUG" init --out "$T/x" --bogus
expect 2 "--out is required" -- "$AHA_DEBUG" init --preset tiny
expect 2 "unknown preset 'huge'" -- "$AHA_DEBUG" init --preset huge --out "$T/x"
expect 2 "--dtype must be f32 or bf16" -- "$AHA_DEBUG" init --preset tiny --dtype f8 --out "$T/x"
expect 1 "already holds a model" -- "$AHA_DEBUG" init --preset tiny --out "$T/base"

# variant NAME PYTHON-CODE: a copy of base whose files the code edits (st = path of the weights).
variant() {
  cp -r "$T/base" "$T/$1"
  "$PYTHON" - "$T/$1" <<EOF || { echo "FAIL: could not build variant $1"; fails=$((fails + 1)); }
import json, os, struct, sys
d = sys.argv[1]; st = os.path.join(d, "model.safetensors"); cf = os.path.join(d, "config.json")
raw = open(st, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; hdr = json.loads(raw[8:8 + n])
def put(h, data=None):
    js = json.dumps(h).encode(); js += b" " * (-len(js) % 8)
    open(st, "wb").write(struct.pack("<Q", len(js)) + js + (raw[8 + n:] if data is None else data))
$2
EOF
}

variant truncated 'open(st, "wb").write(raw[:len(raw) - 100])'
expect 1 "model.safetensors" "past the end of the file" -- "$AHA_DEBUG" init --from "$T/truncated" --out "$T/o1"

variant headerlen 'open(st, "wb").write(struct.pack("<Q", len(raw)) + raw[8:])'
expect 1 "model.safetensors" "header length" -- "$AHA_DEBUG" init --from "$T/headerlen" --out "$T/o2"

variant dtype 'hdr["model.norm.weight"]["dtype"] = "F99"; put(hdr)'
expect 1 "model.safetensors" "model.norm.weight" "unknown dtype F99" -- "$AHA_DEBUG" init --from "$T/dtype" --out "$T/o3"

variant shape 'c = json.load(open(cf)); c["intermediate_size"] = 160; json.dump(c, open(cf, "w"))'
expect 1 "model.safetensors" "mlp.gate_proj.weight" "has shape [176, 64]" "implies [160, 64]" -- \
  "$AHA_DEBUG" init --from "$T/shape" --out "$T/o4"

variant missing 'del hdr["model.layers.1.mlp.down_proj.weight"]; put(hdr)'
expect 1 "missing tensor \"model.layers.1.mlp.down_proj.weight\"" -- "$AHA_DEBUG" init --from "$T/missing" --out "$T/o5"

variant badjson 'open(cf, "w").write("{\"model_type\": \"llama\", ")'
expect 1 "config.json" "not valid JSON" -- "$AHA_DEBUG" init --from "$T/badjson" --out "$T/o6"

variant nofield 'c = json.load(open(cf)); del c["hidden_size"]; json.dump(c, open(cf, "w"))'
expect 1 "config.json" "hidden_size" -- "$AHA_DEBUG" init --from "$T/nofield" --out "$T/o7"

variant scaling 'c = json.load(open(cf)); c["rope_scaling"] = {"rope_type": "yarn", "factor": 8.0}; json.dump(c, open(cf, "w"))'
expect 1 "config.json" "rope_scaling" -- "$AHA_DEBUG" init --from "$T/scaling" --out "$T/o8"

variant gpt2 'c = json.load(open(cf)); c["model_type"] = "gpt2"; json.dump(c, open(cf, "w"))'
expect 1 "config.json" "model_type" "gpt2" -- "$AHA_DEBUG" init --config "$T/gpt2/config.json" --out "$T/o9"

expect 1 "nowhere" -- "$AHA_DEBUG" init --from "$T/nowhere" --out "$T/o10"

# The untouched copy still loads and converts, and nothing was left in failed outputs.
expect 0 -- "$AHA_DEBUG" init --from "$T/base" --out "$T/ok" --dtype bf16
[ -f "$T/ok/tokenizer.json" ] || { echo "FAIL: --from did not keep tokenizer.json"; fails=$((fails + 1)); }
[ ! -e "$T/o1/config.json" ] || { echo "FAIL: a failed load wrote $T/o1/config.json"; fails=$((fails + 1)); }

echo "$fails failures"
[ "$fails" -eq 0 ]
