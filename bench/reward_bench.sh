#!/usr/bin/env bash
# Builds and runs bench/reward_bench.c: completions/s of the math, format and
# tag_count rewards on one thread. Usage: bench/reward_bench.sh [N completions]
set -eu
cd "$(dirname "$0")/.."
make -s -j2 aha >/dev/null
# libaha.a is built with OpenMP when the compiler has it; link the same way.
flags=$(echo 'int main(void){return 0;}' | cc -fopenmp -x c - -o /dev/null 2>/dev/null && echo -fopenmp || true)
cc -O2 -std=c11 -D_GNU_SOURCE $flags -Isrc bench/reward_bench.c build/libaha.a -lcjson -lm -lpthread \
  -o build/reward_bench
OMP_NUM_THREADS=1 build/reward_bench "${1:-400000}"
