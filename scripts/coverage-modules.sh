#!/bin/sh
# Fails unless every module of the binary executed at least one line in a --coverage build's
# run (make valgrind-coverage: is the valgrind list still covering every module?).
# usage: coverage-modules.sh OBJDIR SRC...
set -eu
obj=$1
shift
missing=0
for src in "$@"; do
    m=$(basename "$src" .c)
    [ -f "$obj/$m.gcda" ] || { echo "coverage: $m: never ran"; missing=1; continue; }
    line=$(gcov -n -o "$obj" "$src" 2>/dev/null | sed -n '2p')
    pct=$(printf '%s\n' "$line" | sed -n 's/^Lines executed:\([0-9.]*\)%.*/\1/p')
    printf 'coverage: %-14s %s\n' "$m" "$line"
    case "$pct" in ""|0.00) echo "coverage: $m: no line executed"; missing=1 ;; esac
done
exit $missing
