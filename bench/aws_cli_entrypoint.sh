#!/bin/sh
# A peer for `make bench`: the shell entrypoint many images use instead of injector. One
# `aws secretsmanager get-secret-value` per secret (jq picks the JSON key), then exec.
#
# usage: aws_cli_entrypoint.sh LIST COMMAND [ARG...]
# LIST: one "VAR SECRET_ID [JSON_KEY]" per line. AWS_CLI names the aws binary (default: aws).
# --endpoint-url is passed explicitly: Debian's awscli 2.9 predates AWS_ENDPOINT_URL.
set -eu
list=$1
shift
aws=${AWS_CLI:-aws}
while read -r var id key; do
    val=$("$aws" secretsmanager get-secret-value --endpoint-url "$AWS_ENDPOINT_URL" \
        --secret-id "$id" --query SecretString --output text)
    if [ -n "$key" ]; then
        val=$(printf '%s' "$val" | jq -r --arg k "$key" '.[$k]')
    fi
    export "$var=$val"
done < "$list"
exec "$@"
