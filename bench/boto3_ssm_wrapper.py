#!/usr/bin/python3
"""A peer for `make bench` (SSM rows): what many images run today instead of injector for
Parameter Store. A Python entrypoint that reads the parameters with boto3 get_parameters
(WithDecryption, batches of 10 names, the API's limit, one after another), puts the values
into the environment and execs the app.

usage: boto3_ssm_wrapper.py LIST COMMAND [ARG...]
LIST: one "VAR PARAMETER_NAME" per line. The endpoint comes from AWS_ENDPOINT_URL_SSM,
passed explicitly because Debian's boto3 1.26 predates the endpoint variables."""
import os
import sys

import boto3


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: boto3_ssm_wrapper.py LIST COMMAND [ARG...]")
    client = boto3.client("ssm", region_name=os.environ.get("AWS_REGION"),
                          endpoint_url=os.environ.get("AWS_ENDPOINT_URL_SSM"))
    with open(sys.argv[1]) as f:
        wanted = [line.split() for line in f if line.strip()]
    env = dict(os.environ)
    for i in range(0, len(wanted), 10):
        batch = wanted[i:i + 10]
        resp = client.get_parameters(Names=[name for _, name in batch], WithDecryption=True)
        if resp["InvalidParameters"]:
            sys.exit(f"parameters not found: {', '.join(resp['InvalidParameters'])}")
        values = {p["Name"]: p["Value"] for p in resp["Parameters"]}
        for var, name in batch:
            env[var] = values[name]
    os.execve(sys.argv[2], sys.argv[2:], env)


if __name__ == "__main__":
    main()
