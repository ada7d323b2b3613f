#!/usr/bin/env bash
# Every command `aha --help` lists: `aha CMD --help` exits 0 with its usage
# line, every flag its option lines name is accepted (tests/test_cli_options.c
# checks the other way: every flag a table accepts is in the help), an unknown
# flag exits 2 naming it, and switches work bare (--x, --no-x) without eating
# the next argument.
set -u
AHA=${AHA:-./aha}
T=${TEST_TMP:-/tmp}/cli_help
mkdir -p "$T"
fails=0 checks=0
fail() { fails=$((fails + 1)); echo "FAIL: $*"; }
check() { checks=$((checks + 1)); eval "$2" || fail "$1"; }

cmds=$("$AHA" --help | sed -n '/^commands:/,$p' | awk 'NR > 1 && NF { print $1 }')
check "aha --help lists the commands" '[ "$(wc -w <<<"$cmds")" -ge 18 ] && grep -qx task <<<"$cmds" && grep -qx version <<<"$cmds"'
"$AHA" nosuch >/dev/null 2>"$T/err"; rc=$?
check "unknown command: exit 2 naming it" '[ $rc -eq 2 ] && grep -q "unknown command .nosuch." "$T/err"'

for c in $cmds; do
    "$AHA" "$c" --help >"$T/help" 2>"$T/err"; rc=$?
    check "aha $c --help exits 0" '[ $rc -eq 0 ] && [ ! -s "$T/err" ]'
    check "aha $c --help has its usage line" 'grep -q "^usage: aha $c" "$T/help"'

    # Flags on the option lines ("  -n, --count ...", "  --jsonl, --no-jsonl ...").
    flags=$(grep -E '^  +-' "$T/help" | grep -oE '^ +(-[-a-z0-9.]+(, )?)+' | grep -oE -- '-[-a-z0-9.]+' | sort -u)
    [ "$c" = version ] || check "aha $c --help has option lines" '[ -n "$flags" ]'
    for f in $flags; do
        out=$("$AHA" "$c" "$f" x --zzz-not-a-flag 2>&1); rc=$?
        check "aha $c accepts $f" '[ $rc -eq 2 ] && ! grep -qF "unknown option '"'$f'"'" <<<"$out"'
    done

    "$AHA" "$c" --bogus-flag >/dev/null 2>"$T/err"; rc=$?
    check "aha $c --bogus-flag: exit 2 naming it" '[ $rc -eq 2 ] && grep -q "unknown option .--bogus-flag." "$T/err"'

    # A switch given bare leaves the next flag alone: only --zzz is refused.
    for s in $(grep -oE '^  +--[a-z0-9-]+, --no-[a-z0-9-]+' "$T/help" | grep -oE -- '--[a-z0-9-]+'); do
        out=$("$AHA" "$c" "$s" --zzz 2>&1); rc=$?
        check "aha $c $s is a bare switch" '[ $rc -eq 2 ] && grep -q "unknown option .--zzz." <<<"$out" && ! grep -q "needs a value\|must be" <<<"$out"'
    done
done

# Switches at work: bare, negated, and =false.
"$AHA" version >"$T/v"; rc=$?
check "aha version prints the version" '[ $rc -eq 0 ] && grep -q "^aha [0-9]" "$T/v"'
"$AHA" init --preset tiny --force --out "$T/m" >/dev/null 2>&1; rc=$?
check "init --force bare before --out" '[ $rc -eq 0 ] && [ -f "$T/m/config.json" ]'
"$AHA" init --preset tiny --no-force --out "$T/m" >/dev/null 2>"$T/err"; rc=$?
check "init --no-force refuses to overwrite" '[ $rc -eq 1 ] && grep -q "already holds a model" "$T/err"'
"$AHA" init --preset tiny --force=false --out "$T/m" >/dev/null 2>"$T/err"; rc=$?
check "init --force=false refuses to overwrite" '[ $rc -eq 1 ] && grep -q "already holds a model" "$T/err"'
ids=$(printf '"ab"\n"c"\n' | "$AHA" tokenize --jsonl --tokenizer "$T/m")
check "tokenize --jsonl bare: one array per line" '[ "$(wc -l <<<"$ids")" -eq 2 ] && [[ "$ids" == "["* ]]'
one=$(printf '"ab"\n' | "$AHA" tokenize --no-jsonl --tokenizer "$T/m")
check "tokenize --no-jsonl: one array for all of stdin" '[ "$(wc -l <<<"$one")" -eq 1 ] && [[ "$one" == "["*"]" ]]'
# An alias and its long form set the same value.
check "task -n and --count agree" '[ "$("$AHA" task sum -n 3 | wc -l)" -eq 3 ] && [ "$("$AHA" task sum --count 3)" = "$("$AHA" task sum -n 3)" ]'

echo "test_cli_help: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
