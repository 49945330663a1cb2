#!/usr/bin/python3
"""A peer for `make bench`: what many images run today instead of injector. A Python
entrypoint that fetches each secret with boto3, as the Secrets Manager console's sample code
does (one get_secret_value per secret, then json.loads), puts the values into the environment
and execs the app.

usage: boto3_wrapper.py LIST COMMAND [ARG...]
LIST: one "VAR SECRET_ID [JSON_KEY]" per line. The endpoint comes from AWS_ENDPOINT_URL,
passed explicitly because Debian's boto3 1.26 predates that variable."""
import json
import os
import sys

import boto3


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: boto3_wrapper.py LIST COMMAND [ARG...]")
    client = boto3.client("secretsmanager", region_name=os.environ.get("AWS_REGION"),
                          endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    env = dict(os.environ)
    with open(sys.argv[1]) as f:
        for line in f:
            var, secret_id, *key = line.split()
            resp = client.get_secret_value(SecretId=secret_id)
            text = resp.get("SecretString")
            if text is None:
                text = resp["SecretBinary"].decode("utf-8")
            env[var] = str(json.loads(text)[key[0]]) if key else text
    os.execve(sys.argv[2], sys.argv[2:], env)


if __name__ == "__main__":
    main()
