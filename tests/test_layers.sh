#!/usr/bin/env bash
# The modules' dependency direction: every #include "x/..." in src/ may name its
# own module, one on its level or one below, never one above, and the modules
# must not include each other in a cycle. Usage: test_layers.sh [SRC_DIR].
set -u
# Levels, top to bottom; modules on one line share a level. A module listed
# here need not have a folder yet (rollout/).
LEVELS='
cli
train
eval
rollout
gen reward rl report
model tok task
kernels
base
'
if [ $# -eq 0 ]; then
    # The check must itself catch a planted upward include and a planted cycle.
    fake=$(mktemp -d "${TEST_TMP:-/tmp}/layers.XXXXXX")
    mkdir -p "$fake/gen" "$fake/reward" "$fake/base"
    echo '#include "reward/r.h"' >"$fake/gen/g.c"
    echo '#include "gen/g.h"' >"$fake/reward/r.h"
    echo '#include "gen/g.h"' >"$fake/base/b.c"
    out=$(bash "$0" "$fake") && { echo "FAIL: a planted violation passed"; exit 1; }
    rm -rf "$fake"
    grep -qx 'base/b.c: includes gen/g.h (level gen above level base)' <<<"$out" &&
        grep -qx 'include cycle among gen/ reward/' <<<"$out" || { echo "FAIL: planted violations missed:"; echo "$out"; exit 1; }
fi
src="${1:-$(dirname "$0")/../src}"
[ -d "$src" ] || { echo "FAIL: no source folder $src"; exit 1; }
find "$src" -name '*.[ch]' | sort | while read -r f; do
    grep -HnoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[A-Za-z0-9_]+/[^"]*"' "$f" | sed "s|^$src/||"
done | awk -v levels="$LEVELS" '
BEGIN {
    n = split(levels, lines, "\n")
    for (i = 1; i <= n; i++) {
        if (lines[i] ~ /^[[:space:]]*$/) continue
        depth++
        k = split(lines[i], mods, " ")
        for (j = 1; j <= k; j++) { level[mods[j]] = depth; order[++nm] = mods[j] }
    }
}
{   # module/file.c:line:#include "x/y.h"
    split($0, parts, ":"); file = parts[1]
    mod = file; sub(/\/.*/, "", mod)
    inc = $0; sub(/^[^"]*"/, "", inc); sub(/"$/, "", inc)
    to = inc; sub(/\/.*/, "", to)
    if (!(mod in level)) { if (!(mod in unknown)) print file ": module " mod "/ is not in the levels table"; unknown[mod] = 1; bad = 1; next }
    if (!(to in level)) { print file ": includes " inc " (module " to "/ is not in the levels table)"; bad = 1; next }
    if (level[to] < level[mod]) {
        print file ": includes " inc " (level " to " above level " mod ")"; bad = 1
    }
    if (to != mod && !((mod, to) in edge)) { edge[mod, to] = file " includes " inc; reach[mod, to] = 1 }
}
END {
    for (k in level) for (i in level) if ((i, k) in reach) for (j in level) if ((k, j) in reach) reach[i, j] = 1
    # A cycle: the modules that reach each other (a strongly connected set),
    # named once by its first member, with the includes that close it.
    for (i = 1; i <= nm; i++) {
        a = order[i]; if (done[a] || !((a, a) in reach)) continue
        names = ""
        for (j = i; j <= nm; j++) { b = order[j]; if (b == a || (((a, b) in reach) && ((b, a) in reach))) { done[b] = 1; comp[b] = a; names = names " " b "/" } }
        print "include cycle among" names; bad = 1
        for (e in edge) { split(e, ab, SUBSEP); if (comp[ab[1]] == a && comp[ab[2]] == a) print "  " edge[e] }
    }
    exit bad
}'
