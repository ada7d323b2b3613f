#!/usr/bin/env bash
# Data-parallel GRPO on this machine: the same global batch (zero's settings,
# 8 prompts x 8 samples, 80 new tokens, on the bundled model) on 1 rank with
# T threads and on 2 ranks with T/2 threads each (micro-batches of 32 rows, so
# that each rank trains on one of the two). Prints the mean step time,
# rollout and train tokens/s and the allreduce's share of the step over the
# steps after the first. Usage: bench/mpi_scaling.sh [steps] [threads]
set -eu
cd "$(dirname "$0")/.."
make -s -j2 aha >/dev/null
steps=${1:-4}
threads=${2:-$(nproc)}
T=${TMPDIR:-/tmp}/aha_mpi_scaling
rm -rf "$T" && mkdir -p "$T"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run() { local np=$1 th=$2
    mpirun -np "$np" --oversubscribe --bind-to none ./aha grpo --model models/aha-tiny --preset r1zero --task sum \
        --difficulty 2 --prompts-per-step 8 --group-size 8 --max-new-tokens 80 --max-prompt-tokens 128 \
        --micro-batch-rows 32         --lr 1.5e-4 --beta 0.001 --steps "$steps" --threads "$th" --out "$T/np$np" >/dev/null 2>&1
    python3 - "$T/np$np/metrics.jsonl" "$np" "$th" <<'P'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])][1:]
mean = lambda k: sum(x.get(k, 0) for x in m) / len(m)
step = mean("step_time")
print("%5s %7s %9.2f %12.0f %12.0f %9.1f%% %9.2f" % (sys.argv[2], sys.argv[3], step, mean("rollout_tokens_per_s"),
      mean("train_tokens_per_s"), 100 * mean("time/allreduce") / step, mean("time/allreduce")))
P
}
printf "%5s %7s %9s %12s %12s %10s %9s\n" ranks threads step_s rollout_tok/s train_tok/s allreduce allred_s
run 1 "$threads"
run 2 $(( threads / 2 > 0 ? threads / 2 : 1 ))
