#!/bin/sh
# The main job, end to end, against the bundled local Secrets Manager endpoint (real TLS,
# SigV4 checked by botocore): fetch, inject, exec. Prints names and lengths, never values.
set -eu
BIN=${1:-build/injector}
PY=/usr/bin/python3
dir=$(mktemp -d)
# Secret files go to tmpfs: injector refuses a disk filesystem unless an entry says allow_disk.
shm=$(mktemp -d -p /dev/shm injector-demo.XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir" "$shm"' EXIT INT TERM
$PY tests/fake/sm_server.py --dir "$dir/sm" > "$dir/ready" &
pid=$!
i=0
until grep -q READY "$dir/ready" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "demo: endpoint did not start" >&2; exit 1; }
  sleep 0.1
done
. "$dir/sm/env"
echo "== injector check (offline validation)"
"$BIN" check -c examples/app.yaml
# /run here is not the tmpfs a container has: the file goes to a temp dir on /dev/shm.
sed "s#/run/secrets/db.json#$shm/run/secrets/db.json#" examples/app.yaml > "$dir/app.yaml"
echo "== injector --dry-run (what would be injected, every target checked; lengths only)"
"$BIN" --dry-run -c "$dir/app.yaml"
echo "== injector -- app (env + a 0400 file on a temp dir, then exec)"
"$BIN" -c "$dir/app.yaml" -- sh -c '
  echo "app pid $$: PGUSER=$PGUSER, PGPASSWORD has ${#PGPASSWORD} chars,"
  echo "  DB_CONNECTION_STRING has ${#DB_CONNECTION_STRING} chars, API_TOKEN has ${#API_TOKEN} chars"
  f='"$shm"'/run/secrets/db.json
  echo "  $(stat -c "%a %s bytes" "$f") in $f"'
echo "demo: ok"
