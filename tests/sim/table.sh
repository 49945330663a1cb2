#!/bin/sh
# tests/sim/table.sh SIM [SIM options...]: the tables of docs/throttling.md (make sim).
# 10,000 tasks, N = 1, 10, 50 secrets, deployments over 10 s, 60 s and 300 s: injector's
# defaults first, then the same deployments without the batch fallback (--fetch batch),
# with GetSecretValue only (--fetch single) and with AWS_RETRY_MODE=adaptive.
set -e
sim=$1
shift
echo "### Defaults (fetch auto, standard retry mode, 60 s start deadline)"
echo
"$sim" --header --tasks 10000 --over 10 --secrets 1 "$@"
for over in 10 60 300; do
    for n in 1 10 50; do
        [ "$over$n" = 101 ] || "$sim" --tasks 10000 --over "$over" --secrets "$n" "$@"
    done
done
for variant in "--fetch batch" "--fetch single" "--retry-mode adaptive"; do
    echo
    echo "### $variant"
    echo
    first=--header
    for over in 10 60 300; do
        for n in 10 50; do
            # shellcheck disable=SC2086
            "$sim" $first --tasks 10000 --over "$over" --secrets "$n" $variant "$@"
            first=
        done
    done
done
