#!/usr/bin/env bash
# MPI ranks (base/dist): 2 and 4 ranks on this machine (oversubscribed) sum in
# rank order and hold the same bits on every rank; `aha version` names its rank
# under mpirun; aha sft on 1, 2 and 4 ranks ends bit for bit alike, aha grpo
# within 1e-6; both resume on another rank count and stop with the rank named
# when one is killed; rm train on 1, 2 and 4 ranks ends bit for bit alike,
# also resumed on another rank count;
# eval, rejection-sample and pretrain give one process's
# files; and the same over two hosts made of network namespaces
# (tests/mpi_hosts.sh), skipped with its reason where namespaces are not allowed.
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
# kill_rank1 NAME DIR CKPT: the job of NAME (a function, run in the background
# with --out DIR) loses rank 1 once DIR holds checkpoint CKPT; it must stop
# within 60 s and say which rank died.
kill_rank1() { local name=$1 dir=$2 ckpt=$3; shift 3
    "$name" 2 "$@" --out "$dir" >"$dir.log" 2>&1 &
    local job=$! victim rc t0 took
    for i in $(seq 1 300); do [ -e "$dir/checkpoints/$ckpt" ] && break; sleep 0.2; done
    victim=$(pgrep -f "$name .*--out $dir" | while read -r p; do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && echo "$p"; done | head -1)
    [ -n "$victim" ] && kill -9 "$victim"
    t0=$SECONDS; wait $job; rc=$?; took=$((SECONDS - t0))
    check "$name: a killed rank stops the job (exit $rc) within 60 s ($took s)" \
        '[ -n "$victim" ] && [ $rc -ne 0 ] && [ $took -le 60 ]'
    check "$name: the job says which rank died" 'grep -qiE "rank 1|process rank 1" "$dir.log"' || tail -5 "$dir.log"
}
kill_rank1 sft "$T/k" step_4 --max-steps 100000 --save-steps 2
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

# Data-parallel GRPO: groups dealt to ranks for the rollout (every rank then
# holds the whole batch), whole micro-batches dealt for the updates, one
# rank-order sum of the gradients. With the same global batch, 1, 2 and 4
# ranks end within 1e-6 of each other (DAPO refills, two minibatches, two
# epochs, four micro-batches each); rank 0 alone writes the run.
maxdiff() { "$PYTHON" - "$@" <<'P'
import sys
sys.path.insert(0, "tests/pyref")
import safetensors_io as st
a, b = st.read(sys.argv[1]), st.read(sys.argv[2])
assert a.keys() == b.keys(), "different tensors"
print(max(float((a[k].double() - b[k].double()).abs().max()) for k in a))
P
}
within() { awk -v d="$1" 'BEGIN { exit !(d != "" && d <= 1e-6) }'; }
grpo() { local np=$1; shift
    timeout 300 mpirun -np "$np" --oversubscribe "$AHA" grpo --model models/aha-tiny --task sum --difficulty 2 \
        --prompts-per-step 4 --group-size 4 --max-new-tokens 48 --minibatches 2 --epochs 2 --micro-batch-rows 2 \
        --beta 0.04 --dynamic-sampling --lr 1.5e-4 --seed 3 --threads 1 --log-samples 4 "$@"; }
for np in 1 2 4; do
    grpo $np --steps 5 --out "$T/g$np" >"$T/g$np.log" 2>&1
    check "grpo on $np ranks exits 0" '[ $? -eq 0 ]' || tail -5 "$T/g$np.log"
done
W=checkpoints/step_5/model.safetensors
for np in 2 4; do
    d=$(maxdiff "$T/g1/$W" "$T/g$np/$W")
    check "grpo: $np ranks end within 1e-6 of 1 rank (max abs $d)" 'within "$d"'
done
rewards() { "$PYTHON" -c 'import json,sys; print([(o["step"], o["reward"], o["groups"], o["sampling_rounds"]) for o in map(json.loads, open(sys.argv[1]))])' "$1"; }
check "grpo: 4 ranks sample, score and keep what 1 rank does" '[ "$(rewards "$T/g1/metrics.jsonl")" = "$(rewards "$T/g4/metrics.jsonl")" ]'
check "grpo: one metrics line per step, samples as on 1 rank" \
    '[ "$(wc -l <"$T/g2/metrics.jsonl")" -eq 5 ] && cmp -s <(cut -d, -f1-4 "$T/g1/samples.jsonl") <(cut -d, -f1-4 "$T/g2/samples.jsonl")'
check "grpo: the allreduce's time is reported under MPI" 'grep -q "time/allreduce" "$T/g2/metrics.jsonl" && ! grep -q "time/allreduce" "$T/g1/metrics.jsonl"'
check "grpo: one progress voice" '[ "$(grep -c "^grpo 5/5" "$T/g2.log")" -eq 1 ]'

# Resume a 2-rank run on 4 ranks from its step-2 checkpoint.
grpo 2 --steps 5 --save-every 2 --out "$T/gr" >"$T/gr.log" 2>&1
rm -rf "$T/gr/checkpoints/step_4" "$T/gr/checkpoints/step_5" && echo step_2 >"$T/gr/checkpoints/latest"
timeout 300 mpirun -np 4 --oversubscribe "$AHA" grpo --resume "$T/gr" >"$T/gr4.log" 2>&1
check "grpo: a 2-rank run resumes on 4 ranks" '[ $? -eq 0 ] && grep -q "resuming .* at step 2" "$T/gr4.log"' || tail -5 "$T/gr4.log"
d=$(maxdiff "$T/g1/$W" "$T/gr/$W")
check "grpo: resumed on 4 ranks, within 1e-6 of the straight run (max abs $d)" 'within "$d"'
check "grpo: the resumed run's log has one line per step" '[ "$(wc -l <"$T/gr/metrics.jsonl")" -eq 5 ]'

# A rank killed mid-run stops the GRPO job, naming it; the last checkpoint resumes.
kill_rank1 grpo "$T/gk" step_2 --steps 100000 --save-every 1
last=$(cat "$T/gk/checkpoints/latest")
"$AHA" grpo --resume "$T/gk" >"$T/gk1.log" 2>&1 </dev/null &
pid=$!; sleep 4; kill $pid 2>/dev/null; wait $pid 2>/dev/null
check "grpo: the checkpoint the kill left ($last) resumes" 'grep -q "resuming .* at step ${last#step_}" "$T/gk1.log"' || tail -3 "$T/gk1.log"

# Data-parallel reward-model training: whole micro-batches dealt to ranks,
# trunk and head gradients summed in fp64, held-out eval shared too. 1, 2 and 4
# ranks end with the same trunk and head bit for bit and the same metrics
# within 1e-6; rank 0 alone writes the run.
"$AHA" task chat -n 60 --as pairs >"$T/rm.jsonl"
rmt() { local np=$1; shift
    timeout 300 mpirun -np "$np" --oversubscribe "$AHA" rm train --model models/aha-tiny --dataset "$T/rm.jsonl" \
        --batch 8 --micro-batch 2 --lr 1e-3 --warmup 2 --max-steps 5 --log-every 1 --eval-every 2 --eval-ratio 0.2 \
        --threads 1 "$@"; }
for np in 1 2 4; do
    rmt $np --out "$T/rm$np" >"$T/rm$np.log" 2>&1
    check "rm train on $np ranks exits 0" '[ $? -eq 0 ]' || tail -5 "$T/rm$np.log"
done
same_metrics() { "$PYTHON" - "$1" "$2" <<'P'
import json, sys
a, b = ([json.loads(l) for l in open(f)] for f in sys.argv[1:3])
ok = len(a) == len(b) and all(x.keys() == y.keys() and all(abs(x[k] - y[k]) <= 1e-6 for k in x if k != "seconds")
                              for x, y in zip(a, b))
sys.exit(0 if ok else 1)
P
}
for np in 2 4; do
    check "rm train: $np ranks give 1 rank's trunk and head bit for bit" \
        'cmp -s "$T/rm1/model/model.safetensors" "$T/rm$np/model/model.safetensors" && cmp -s "$T/rm1/model/score.safetensors" "$T/rm$np/model/score.safetensors"'
    check "rm train: $np ranks log 1 rank's metrics within 1e-6" 'same_metrics "$T/rm1/metrics.jsonl" "$T/rm$np/metrics.jsonl"'
done
check "rm train: one metrics line per update and evaluation (rank 0 alone writes)" \
    '[ "$(grep -c "\"loss\"" "$T/rm2/metrics.jsonl")" -eq 5 ] && [ "$(grep -c "\"eval_loss\"" "$T/rm2/metrics.jsonl")" -eq 3 ]'
check "rm train: 4 ranks on 4 micro-batches give no idle warning" '! grep -q "ranks past it idle" "$T/rm4.log"'
rmt 4 --micro-batch 4 --out "$T/rmw" >"$T/rmw.log" 2>&1
check "rm train: more ranks than micro-batches warns once" '[ "$(grep -c "ranks past it idle" "$T/rmw.log")" -eq 1 ]'
# Resume with another rank count: 2 ranks save at 3 and 5; cut back to 3, 1
# rank and 4 ranks each finish a copy, ending as the straight run.
rmt 2 --save-steps 3 --out "$T/rmr" >"$T/rmr.log" 2>&1
rm -rf "$T/rmr/checkpoints/step_5" "$T/rmr/model" && echo step_3 >"$T/rmr/checkpoints/latest"
cp -r "$T/rmr" "$T/rmr4"
for np in 1 4; do
    [ $np = 1 ] && d="$T/rmr" || d="$T/rmr4"
    rmt $np --save-steps 3 --out "$d" --resume >"$d.resume.log" 2>&1
    check "rm train: a 2-rank run resumes on $np rank(s)" '[ $? -eq 0 ] && grep -q "resuming from .*step_3" "$d.resume.log"' || tail -5 "$d.resume.log"
    check "rm train: resumed on $np rank(s), the straight run's model bit for bit and its metrics" \
        'cmp -s "$T/rm1/model/model.safetensors" "$d/model/model.safetensors" && cmp -s "$T/rm1/model/score.safetensors" "$d/model/score.safetensors" && same_metrics "$T/rm1/metrics.jsonl" "$d/metrics.jsonl"'
done

# eval and rejection-sample deal their prompts to the ranks: the same
# results and files as one process.
ev() { timeout 300 mpirun -np "$1" --oversubscribe "$AHA" eval --model models/aha-tiny --task sum --problems 12 --k 4 \
    --threads 1 --samples "$T/ev$1.jsonl" --json "$T/ev$1.json" >"$T/ev$1.log" 2>&1; }
ev 1; ev 2
check "eval on 2 ranks: 1 rank's samples and scores" \
    'cmp -s "$T/ev1.jsonl" "$T/ev2.jsonl" && diff <(grep -v seconds "$T/ev1.json") <(grep -v seconds "$T/ev2.json") >/dev/null' || tail -3 "$T/ev2.log"
check "eval on 2 ranks prints its result once" '[ "$(grep -c "^problems 12, k 4" "$T/ev2.log")" -eq 1 ]'
rs() { timeout 300 mpirun -np "$1" --oversubscribe "$AHA" rejection-sample --model models/aha-tiny --task sum --problems 12 \
    --n 4 --threads 1 --out "$T/rs$1.jsonl" >"$T/rs$1.log" 2>&1; }
rs 1; rs 2
check "rejection-sample on 2 ranks: 1 rank's kept rows" '[ -s "$T/rs1.jsonl.stats.json" ] && cmp -s "$T/rs1.jsonl" "$T/rs2.jsonl"' || tail -3 "$T/rs2.log"

# pretrain: rank 0 writes the corpus, tokenizer and model, the ranks train
# with sft's dealt micro-batches: 2 ranks give 1 rank's model bit for bit.
pt() { timeout 300 mpirun -np "$1" --oversubscribe "$AHA" pretrain --docs 300 --steps 6 --batch 8 --micro-batch 2 \
    --dim 32 --layers 1 --heads 2 --kv-heads 2 --ffn 64 --vocab 300 --context 512 --threads 1 --out "$T/pt$1" \
    >"$T/pt$1.log" 2>&1; }
pt 1; pt 2
check "pretrain on 2 ranks: 1 rank's tokenizer and model bit for bit" \
    'cmp -s "$T/pt1/tokenizer.json" "$T/pt2/tokenizer.json" && cmp -s "$T/pt1/model.safetensors" "$T/pt2/model.safetensors"' || tail -3 "$T/pt2.log"

# Two hosts: the same 2-rank GRPO across the namespaces, within 1e-6 of 1 rank.
tests/mpi_hosts.sh 2 "$(pwd)/$AHA" grpo --model "$(pwd)/models/aha-tiny" --task sum --difficulty 2 \
    --prompts-per-step 4 --group-size 4 --max-new-tokens 48 --minibatches 2 --epochs 2 --micro-batch-rows 2 \
    --beta 0.04 --dynamic-sampling --lr 1.5e-4 --seed 3 --threads 1 --log-samples 4 --steps 5 --out "$T/gh" >"$T/gh.log" 2>&1
rc=$?
if [ $rc -eq 77 ]; then cat "$T/gh.log"
else
    d=$(maxdiff "$T/g1/$W" "$T/gh/$W" 2>/dev/null)
    check "grpo across two hosts: within 1e-6 of 1 rank (max abs $d)" '[ $rc -eq 0 ] && within "$d"' || tail -5 "$T/gh.log"
fi
exit $fail
