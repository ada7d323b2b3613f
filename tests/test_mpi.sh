#!/usr/bin/env bash
# MPI ranks (base/dist): 2 and 4 ranks on this machine (oversubscribed) sum in
# rank order and hold the same bits on every rank; `aha version` names its rank
# under mpirun; aha sft on 1, 2 and 4 ranks ends bit for bit alike, resumes on
# another rank count, and stops with the rank named when one is killed; and
# the same over two hosts made of network namespaces (tests/mpi_hosts.sh),
# skipped with its reason where namespaces are not allowed.
set -u
cd "$(dirname "$0")/.."
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
AHA=${AHA:-./aha}
BIN=${CBUILD:-build-debug}/tests/test_dist
T=${TEST_TMP:-$(mktemp -d)}/mpi; mkdir -p "$T"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# OpenMPI's own allocations outlive MPI_Finalize; leaks of aha's code are
# checked by the single-rank runs of the same test.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
if ! "$AHA" version | grep -q '+mpi'; then
    echo "skipped: this build has no MPI ($("$AHA" version))"; exit 0
fi
for np in 2 4; do
    timeout 120 mpirun -np $np --oversubscribe "$BIN" $np >"$T/np$np.log" 2>&1
    check "$np ranks: test_dist passes on every rank" \
        "[ \$? -eq 0 ] && [ \"\$(grep -c ' 0 failed' '$T/np$np.log')\" -eq $np ]" || tail -5 "$T/np$np.log"
done
timeout 60 mpirun -np 2 --oversubscribe "$AHA" version >"$T/version.log" 2>&1
check "aha version names its rank" "grep -q '(rank 0 of 2)' '$T/version.log' && grep -q '(rank 1 of 2)' '$T/version.log'"
"$AHA" version >"$T/alone.log" 2>&1
check "alone, aha is a world of one" "! grep -q rank '$T/alone.log'"
tests/mpi_hosts.sh 2 "$(pwd)/$BIN" 2 >"$T/hosts.log" 2>&1
rc=$?
if [ $rc -eq 77 ]; then
    echo "$(cat "$T/hosts.log")"
else
    check "two namespace hosts: test_dist passes on both" \
        "[ $rc -eq 0 ] && [ \"\$(grep -c ' 0 failed' '$T/hosts.log')\" -eq 2 ]" || tail -5 "$T/hosts.log"
fi

# Data-parallel SFT: whole micro-batches dealt to ranks, gradients summed in
# fp64. The same global batch on 1, 2 and 4 ranks ends with the same weights,
# bit for bit; rank 0 alone writes the run directory.
"$PYTHON" - "$T/sft.jsonl" <<'P'
import json, sys
rows = [{"prompt": "Compute %d + %d" % (a, b), "completion": " %d + %d = %d." % (a, b, a + b)}
        for a in range(1, 7) for b in range(2, 6)]
open(sys.argv[1], "w").write("".join(json.dumps(r) + "\n" for r in rows))
P
sft() { local np=$1; shift
    timeout 300 mpirun -np "$np" --oversubscribe "$AHA" sft --model models/aha-tiny --dataset "$T/sft.jsonl" \
        --template r1zero --batch 8 --micro-batch 2 --lr 2e-3 --warmup 2 --log-every 1 --threads 1 "$@"; }
for np in 1 2 4; do
    sft $np --max-steps 6 --out "$T/s$np" >"$T/s$np.log" 2>&1
    check "sft on $np ranks exits 0" '[ $? -eq 0 ]' || tail -5 "$T/s$np.log"
done
check "sft: 2 ranks give 1 rank's weights bit for bit" 'cmp -s "$T/s1/model/model.safetensors" "$T/s2/model/model.safetensors"'
check "sft: 4 ranks give 1 rank's weights bit for bit" 'cmp -s "$T/s1/model/model.safetensors" "$T/s4/model/model.safetensors"'
check "sft: one metrics line per update (rank 0 alone writes)" '[ "$(grep -c "\"loss\"" "$T/s2/metrics.jsonl")" -eq 6 ]'
check "sft: one progress voice" '[ "$(grep -c "^sft: 6 updates" "$T/s2.log")" -eq 1 ]'

# Resume with another rank count: 2 ranks save at 3 and 6; cut back to 3, 4 ranks finish it.
sft 2 --max-steps 6 --save-steps 3 --out "$T/r" >"$T/r.log" 2>&1
rm -rf "$T/r/checkpoints/step_6" "$T/r/model" && echo step_3 >"$T/r/checkpoints/latest"
sft 4 --max-steps 6 --save-steps 3 --out "$T/r" --resume >"$T/r4.log" 2>&1
check "resume of a 2-rank run on 4 ranks exits 0" '[ $? -eq 0 ] && grep -q "resuming from .*step_3" "$T/r4.log"' || tail -5 "$T/r4.log"
check "resume on 4 ranks: the straight run's weights" 'cmp -s "$T/s1/model/model.safetensors" "$T/r/model/model.safetensors"'

# A rank killed mid-run stops the job within a bounded time, naming the rank;
# the last checkpoint is whole and resumes.
sft 2 --max-steps 100000 --save-steps 2 --out "$T/k" >"$T/k.log" 2>&1 &
job=$!
for i in $(seq 1 300); do [ -e "$T/k/checkpoints/step_4" ] && break; sleep 0.2; done
victim=$(pgrep -f "sft .*--out $T/k" | while read -r p; do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && echo "$p"; done | head -1)
[ -n "$victim" ] && kill -9 "$victim"
t0=$SECONDS; wait $job; rc=$?; took=$((SECONDS - t0))
check "a killed rank stops the job (exit $rc) within 60 s ($took s)" '[ -n "$victim" ] && [ $rc -ne 0 ] && [ $took -le 60 ]'
check "the job says which rank died" 'grep -qiE "rank 1|process rank 1" "$T/k.log"' || tail -5 "$T/k.log"
last=$(cat "$T/k/checkpoints/latest")
"$AHA" sft --model models/aha-tiny --dataset "$T/sft.jsonl" --template r1zero --batch 8 --micro-batch 2 --lr 2e-3 \
    --warmup 2 --log-every 1 --threads 1 --max-steps 100000 --save-steps 2 --out "$T/k" --resume \
    >"$T/k1.log" 2>&1 </dev/null &
pid=$!; sleep 3; kill $pid 2>/dev/null; wait $pid 2>/dev/null
check "the checkpoint the kill left ($last) resumes" 'grep -q "resuming from .*$last" "$T/k1.log"' || tail -3 "$T/k1.log"

# Two hosts: the same 2-rank SFT across the namespaces equals 1 rank.
tests/mpi_hosts.sh 2 "$(pwd)/$AHA" sft --model "$(pwd)/models/aha-tiny" --dataset "$T/sft.jsonl" --template r1zero \
    --batch 8 --micro-batch 2 --lr 2e-3 --warmup 2 --log-every 1 --threads 1 --max-steps 6 --out "$T/h" >"$T/h.log" 2>&1
rc=$?
if [ $rc -eq 77 ]; then cat "$T/h.log"
else check "sft across two hosts: 1 rank's weights" '[ $rc -eq 0 ] && cmp -s "$T/s1/model/model.safetensors" "$T/h/model/model.safetensors"' || tail -5 "$T/h.log"
fi
exit $fail
