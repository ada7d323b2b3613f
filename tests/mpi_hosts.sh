#!/usr/bin/env bash
# Two "hosts" on this machine for MPI tests: network namespaces joined by a
# veth pair (10.231.77.1 and .2, nothing outside them), OpenMPI launching the
# second host's ranks through `ip netns exec` instead of ssh.
#   tests/mpi_hosts.sh NP COMMAND...   mpirun -np NP COMMAND over both hosts
# Exit 77 (skipped) with a message when namespaces cannot be made here.
set -u
np=$1; shift
id=$$ A=ahaA$$ B=ahaB$$ dir=$(mktemp -d)
cleanup() { ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "network namespaces need root here"
command -v ip >/dev/null && command -v mpirun >/dev/null || skip "needs ip (iproute2) and mpirun (openmpi-bin)"
ip netns add "$A" 2>/dev/null && ip netns add "$B" 2>/dev/null || skip "this machine does not allow network namespaces"
ip link add "va$id" type veth peer name "vb$id" || skip "this machine does not allow veth links"
ip link set "va$id" netns "$A" && ip link set "vb$id" netns "$B" &&
    ip -n "$A" addr add 10.231.77.1/24 dev "va$id" && ip -n "$B" addr add 10.231.77.2/24 dev "vb$id" &&
    ip -n "$A" link set lo up && ip -n "$B" link set lo up &&
    ip -n "$A" link set "va$id" up && ip -n "$B" link set "vb$id" up || { echo "FAIL: could not wire the namespaces"; exit 1; }
cat >"$dir/agent" <<AGENT
#!/bin/sh
# OpenMPI's remote launcher: "\$1" is the host, the rest the command line.
host=\$1; shift
case "\$host" in
  10.231.77.1) ns=$A ;;
  10.231.77.2) ns=$B ;;
  *) echo "mpi_hosts: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" sh -c "\$*"
AGENT
chmod +x "$dir/agent"
per=$(( (np + 1) / 2 ))
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ip netns exec "$A" timeout 300 mpirun -np "$np" --host "10.231.77.1:$per,10.231.77.2:$per" \
    --mca plm_rsh_agent "$dir/agent" --mca btl tcp,self \
    --mca oob_tcp_if_include 10.231.77.0/24 --mca btl_tcp_if_include 10.231.77.0/24 "$@"
