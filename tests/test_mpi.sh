#!/usr/bin/env bash
# MPI ranks (base/dist): 2 and 4 ranks on this machine (oversubscribed) sum in
# rank order and hold the same bits on every rank; `aha version` names its rank
# under mpirun; and the same over two hosts made of network namespaces
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
exit $fail
