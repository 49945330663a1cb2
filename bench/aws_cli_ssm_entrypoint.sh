#!/bin/sh
# A peer for `make bench` (SSM rows): the shell entrypoint many images use for Parameter
# Store. One `aws ssm get-parameters --with-decryption` per 10 names (the API's limit),
# then exec.
#
# usage: aws_cli_ssm_entrypoint.sh LIST COMMAND [ARG...]
# LIST: one "VAR PARAMETER_NAME" per line. AWS_CLI names the aws binary (default: aws).
# --endpoint-url is passed explicitly: Debian's awscli 2.9 predates AWS_ENDPOINT_URL_SSM.
set -eu
list=$1
shift
aws=${AWS_CLI:-aws}
fetch() {
    # $@: up to 10 "VAR=NAME" pairs
    names=""
    for pair in "$@"; do
        names="$names ${pair#*=}"
    done
    # shellcheck disable=SC2086  # names: one word each (parameter names have no blanks)
    out=$("$aws" ssm get-parameters --endpoint-url "$AWS_ENDPOINT_URL_SSM" --with-decryption \
        --names $names --output json)
    for pair in "$@"; do
        val=$(printf '%s' "$out" | jq -er --arg n "${pair#*=}" \
            '.Parameters[] | select(.Name == $n) | .Value')
        export "${pair%%=*}=$val"
    done
}
batch=""
count=0
while read -r var name; do
    batch="$batch $var=$name"
    count=$((count + 1))
    if [ "$count" -eq 10 ]; then
        # shellcheck disable=SC2086
        fetch $batch
        batch=""
        count=0
    fi
done < "$list"
if [ -n "$batch" ]; then
    # shellcheck disable=SC2086
    fetch $batch
fi
exec "$@"
