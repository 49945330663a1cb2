"""A throwaway PostgreSQL server for end-to-end tests: initdb in a temp dir, password
(SCRAM) authentication on 127.0.0.1 only, no Unix socket in a shared place, no trust rules.
As root, the server runs as the 'postgres' system user (initdb refuses root)."""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import time


def _bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return dirs[-1] if dirs else None


def available():
    return _bindir() is not None and shutil.which("psql") is not None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self, base):
        self.base = base
        self.data = os.path.join(base, "data")
        self.sock = os.path.join(base, "sock")
        self.port = _free_port()
        self.bindir = _bindir()
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")

    def _run(self, args, **kw):
        if self.user:
            args = ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}",
                    "--clear-groups", "--"] + args
        return subprocess.run(args, check=True, capture_output=True, text=True, **kw)

    def start(self):
        os.makedirs(self.sock, exist_ok=True)
        if self.user:
            for d in (self.base, self.sock):
                os.chown(d, self.user.pw_uid, self.user.pw_gid)
        pwfile = os.path.join(self.base, "superpw")
        with open(pwfile, "w") as f:
            f.write(os.urandom(12).hex())
        if self.user:
            os.chown(pwfile, self.user.pw_uid, self.user.pw_gid)
        os.chmod(pwfile, 0o600)
        self._run([f"{self.bindir}/initdb", "-D", self.data, "-U", "pgadmin",
                   "--auth-local=peer", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
                   "-E", "UTF8", "--locale=C.UTF-8"])
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            # Only password logins over TCP, plus peer on our private socket for setup.
            f.write("local all pgadmin peer map=admin\n"
                    "host all all 127.0.0.1/32 scram-sha-256\n")
        with open(os.path.join(self.data, "pg_ident.conf"), "w") as f:
            who = self.user.pw_name if self.user else pwd.getpwuid(os.geteuid()).pw_name
            f.write(f"admin {who} pgadmin\n")
        # A server in another process cannot be handed a reserved socket: the port is only
        # free when chosen, so a start that lost it to another test picks a new one.
        for attempt in range(5):
            try:
                self._run([f"{self.bindir}/pg_ctl", "-D", self.data, "-l",
                           os.path.join(self.base, "log"), "-w", "-t", "30", "-o",
                           f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                           f"-c unix_socket_directories={self.sock}", "start"])
                return self
            except subprocess.CalledProcessError:
                with open(os.path.join(self.base, "log")) as f:
                    taken = "Address already in use" in f.read()
                if not taken or attempt == 4:
                    raise
                self.port = _free_port()

    def admin_sql(self, sql):
        """Runs SQL as the superuser over the private socket (peer auth)."""
        return self._run(["psql", "-X", "-q", "-h", self.sock, "-p", str(self.port),
                          "-U", "pgadmin", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                          "-c", sql])

    def create_login(self, user, password):
        lit = "'" + password.replace("'", "''") + "'"
        self.admin_sql(f'CREATE ROLE "{user}" LOGIN PASSWORD {lit}')

    def set_password(self, user, password):
        lit = "'" + password.replace("'", "''") + "'"
        self.admin_sql(f'ALTER ROLE "{user}" PASSWORD {lit}')

    def stop(self):
        try:
            self._run([f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "-w",
                       "stop"])
        except subprocess.CalledProcessError:
            pass
        time.sleep(0.1)
