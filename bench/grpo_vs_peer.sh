#!/usr/bin/env bash
# One GRPO step, aha (bench/grpo_step) against the PyTorch peer
# (../shared/bench/torch_grpo_peer.py) in the same run, alternating: for every
# round, config and precision, aha's step and then the peer's, so that a noisy
# machine slows both alike. Prints each run's step time, then medians over the
# rounds and aha's speed-up against the peer's fp32 and bf16 autocast steps.
#   bench/grpo_vs_peer.sh [rounds] [configs] [reps]     (defaults: 2 "small large" 3)
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-2}
configs=${2:-small large}
reps=${3:-3}
peer=../shared/bench/torch_grpo_peer.py
[ -f "$peer" ] || { echo "grpo_vs_peer: $peer not found" >&2; exit 2; }
make -s -j2 bench >/dev/null
export OMP_WAIT_POLICY=PASSIVE
log=$(mktemp)
trap 'rm -f "$log"' EXIT
grep -m1 "model name" /proc/cpuinfo | sed 's/^.*: /cpu: /'
echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|amx_bf16|amx_tile)$' | tr '\n' ' ')"
for r in $(seq 1 "$rounds"); do
  for c in $configs; do
    for p in fp32 bf16; do
      a=$(build/bench/grpo_step "$c" "$reps" 2 "$p" | sed -n 's/^JSON //p')
      echo "aha $r $c $p $a" >>"$log"
      flag=""; [ "$p" = bf16 ] && flag=--bf16
      t=$(/usr/bin/python3 "$peer" --config "$c" --threads 2 --reps "$reps" $flag | sed -n 's/^JSON //p')
      echo "torch $r $c $p $t" >>"$log"
      python3 - "$r" "$c" "$p" "$a" "$t" <<'P'
import json, sys
r, c, p, a, t = sys.argv[1:]
a, t = json.loads(a), json.loads(t)["grpo"][0]
print("round %s %-5s %s: aha %.3f s (rollout %.3f s, %.0f tok/s; train %.3f s; matmuls %.0f GFLOP/s; %.0f MiB)"
      " | torch %.3f s (rollout %.0f tok/s)" % (r, c, p, a["step_s"], a["rollout_s"], a["rollout_tok_s"],
      a["train_s"], a["train_matmul_gflops"], a["peak_rss_mib"], t["step_s"], t["rollout_tok_s"]))
P
    done
  done
done
python3 - "$log" <<'P'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, r, c, p, js = line.split(" ", 4)
    j = json.loads(js)
    runs.setdefault((who, c, p), []).append(j["step_s"] if who == "aha" else j["grpo"][0]["step_s"])
print("\nmedian step seconds over rounds, and aha's speed-up")
print("%-6s %-5s %9s %11s %11s %12s %12s" % ("config", "prec", "aha", "torch fp32", "torch bf16", "vs fp32", "vs bf16"))
for c in dict.fromkeys(k[1] for k in runs):
    tf, tb = statistics.median(runs[("torch", c, "fp32")]), statistics.median(runs[("torch", c, "bf16")])
    for p in ("fp32", "bf16"):
        a = statistics.median(runs[("aha", c, p)])
        print("%-6s %-5s %9.3f %11.3f %11.3f %11.2fx %11.2fx" % (c, p, a, tf, tb, tf / a, tb / a))
P
