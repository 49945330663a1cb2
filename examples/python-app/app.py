#!/usr/bin/env python3
"""A tiny web app that takes its secrets the way injector hands them over: PGUSER,
PGPASSWORD and API_TOKEN in its environment, and the database secret as a JSON file on
tmpfs. It never prints or serves a value, only which settings it has.

    python3 app.py           serve http://0.0.0.0:8000/healthz
    python3 app.py --check   print what it got and exit: 0 when everything is there

DB_SECRET_FILE overrides the file's path (default /dev/shm/secrets/db.json)."""
import http.server
import json
import os
import sys

SECRET_FILE = os.environ.get("DB_SECRET_FILE", "/dev/shm/secrets/db.json")
ENV_NEEDED = ("PGUSER", "PGPASSWORD", "API_TOKEN")
FILE_NEEDED = ("host", "port", "dbname", "username", "password")


def settings():
    """(summary dict without values, list of what is missing)."""
    missing = [n for n in ENV_NEEDED if not os.environ.get(n)]
    summary = {n: f"{len(os.environ.get(n, ''))} chars" for n in ENV_NEEDED}
    try:
        with open(SECRET_FILE, encoding="utf-8") as f:
            db = json.load(f)
    except (OSError, ValueError) as e:
        missing.append(f"{SECRET_FILE}: {e.__class__.__name__}")
        return summary, missing
    missing += [f"{SECRET_FILE}: {k}" for k in FILE_NEEDED if k not in db]
    # Host, port and database name are not secret; the credentials are.
    summary["database"] = f"{db.get('host')}:{db.get('port')}/{db.get('dbname')}"
    summary["file mode"] = oct(os.stat(SECRET_FILE).st_mode & 0o777)
    return summary, missing


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/healthz":
            self.send_error(404)
            return
        summary, missing = settings()
        body = json.dumps({"ok": not missing, "settings": summary, "missing": missing})
        self.send_response(200 if not missing else 503)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode() + b"\n")


def main():
    if sys.argv[1:] == ["--check"]:
        summary, missing = settings()
        for k, v in summary.items():
            print(f"{k}: {v}")
        for m in missing:
            print(f"missing: {m}")
        return 1 if missing else 0
    http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Health).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
