"""
contrib/daemontools: the run scripts of a daemontools (svscan, supervise,
multilog) or runit service, tested by hand and under a real svscan.

Each test builds a service directory from a copy of contrib/daemontools in
a temporary folder that every user may traverse, with a copy of transitd
in a bin/ folder first in PATH: as root (as CI runs) the run scripts drop
privileges, to `nobody` here, who must reach the binary and the database
folder. Listeners are on 127.0.0.1 with kernel-chosen ports, read from the
"listening on" lines.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (LISTEN_RE, wait_for, SOCK_TIMEOUT, START_DEADLINE, LineCollector,
                      expect_ok, handshake, new_side, new_token,
                      parse_log_line, pattern, recv_exact, transitd_path)

pytestmark = pytest.mark.transitd_only

CONTRIB = Path(__file__).resolve().parents[2] / "contrib" / "daemontools"
ROOT = os.geteuid() == 0
LOOPBACK = "tcp:0:interface=127.0.0.1"
SVSCAN_DEADLINE = 15.0      # svscan, supervise and multilog doing a step
DB_DEADLINE = 10.0          # a usage row reaching the database
TAI64N_RE = re.compile(r"^@4000[0-9a-f]{20} (.*)$")
# Variables of a service manager that would change how transitd starts.
FOREIGN = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
           "WATCHDOG_USEC", "WATCHDOG_PID")



def killpg(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def proc_status(pid, key):
    """A line of /proc/PID/status, split: e.g. Uid -> [real, eff, ...]."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == key:
                return v.split()
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def proc_environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(e.decode().split("=", 1)
                    for e in f.read().split(b"\0") if b"=" in e)


def usage_rows(db):
    """(result, total_bytes, started) of every usage row, read-only (a
    journal made by root would lock the relay's user out)."""
    if not db.exists():
        return []
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return c.execute("SELECT result, total_bytes, started FROM usage "
                         "ORDER BY rowid").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        c.close()


def wait_rows(db, n, mood="happy"):
    return wait_for(lambda: (lambda r: r if len(r) >= n else None)(
        [r for r in usage_rows(db) if r[0] == mood]), DB_DEADLINE,
        f"{n} {mood} rows in {db}: {usage_rows(db)}")


def relay_pair(ports, n=1000, host="127.0.0.1"):
    """Pair two clients (on ports[0] and ports[-1]) and send n bytes each
    way; 2n bytes are relayed."""
    token = new_token()
    socks = []
    try:
        for p in (ports[0], ports[-1]):
            s = socket.create_connection((host, p), timeout=SOCK_TIMEOUT)
            s.settimeout(SOCK_TIMEOUT)
            socks.append(s)
        a, b = socks
        a.sendall(handshake(token, new_side()))
        b.sendall(handshake(token, new_side()))
        expect_ok(a)
        expect_ok(b)
        da, db = pattern(1, n), pattern(2, n)
        a.sendall(da)
        assert recv_exact(b, n) == da
        b.sendall(db)
        assert recv_exact(a, n) == db
    finally:
        for s in socks:
            s.close()


def open_pair(port, host="127.0.0.1"):
    """A paired, open (a, b); the caller closes them."""
    token = new_token()
    a = socket.create_connection((host, port), timeout=SOCK_TIMEOUT)
    b = socket.create_connection((host, port), timeout=SOCK_TIMEOUT)
    for s in (a, b):
        s.settimeout(SOCK_TIMEOUT)
        s.sendall(handshake(token, new_side()))
    expect_ok(a)
    expect_ok(b)
    return a, b


def refused(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


class Layout:
    """base/bin/transitd, base/scan/transitd (the service), base/data."""

    def __init__(self, base):
        self.base = base
        self.bin = base / "bin"
        self.scan = base / "scan"
        self.svc = self.scan / "transitd"
        self.data = base / "data"
        self.db = self.data / "usage.sqlite"
        self.user = pwd.getpwnam("nobody") if ROOT else None
        self.bin.mkdir(mode=0o755)
        self.transitd = self.bin / "transitd"
        shutil.copy(transitd_path(), self.transitd)
        os.chmod(self.transitd, 0o755)
        self.scan.mkdir(mode=0o755)
        shutil.copytree(CONTRIB, self.svc)
        for d, _, files in os.walk(self.svc):    # srcdir may be read-only
            for f in [d, *(os.path.join(d, f) for f in files)]:
                os.chmod(f, os.stat(f).st_mode | stat.S_IWUSR)
        self.data.mkdir(mode=0o750)
        if ROOT:
            os.chown(self.data, self.user.pw_uid, self.user.pw_gid)
            self.setenv(TRANSITD_USER="nobody")
        # the test's own port and database instead of the example's
        self.setenv(TRANSITD_PORT=LOOPBACK, TRANSITD_USAGE_DB=str(self.db))
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("TRANSITD_") and k not in FOREIGN}
        path = os.environ.get("PATH", "/usr/bin:/bin")
        self.env["PATH"] = f"{self.bin}:{path}"
        self.procs = []

    def setenv(self, **kw):
        """Write env/NAME files (None removes one)."""
        for k, v in kw.items():
            f = self.svc / "env" / k
            if v is None:
                f.unlink(missing_ok=True)
            else:
                f.write_text(v + "\n")

    def spawn(self, argv, cwd, **kw):
        p = subprocess.Popen(argv, cwd=cwd, env=self.env,
                             start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        """Kill every process group started (svscan's holds supervise,
        run, transitd and multilog) and reap the leaders."""
        for p in self.procs:
            killpg(p.pid)
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
            for f in (p.stdin, p.stdout, p.stderr):
                if f is not None:
                    f.close()


@pytest.fixture
def lay():
    for f in ("run", "log/run"):
        assert os.access(CONTRIB / f, os.X_OK), f"{CONTRIB / f} not executable"
    base = Path(tempfile.mkdtemp(prefix="transitd-dt-"))
    os.chmod(base, 0o755)
    layout = None
    try:
        layout = Layout(base)
        yield layout
    finally:
        if layout is not None:
            layout.cleanup()
        shutil.rmtree(base, ignore_errors=True)


class Hand:
    """./run started by hand, as supervise would (no arguments)."""

    def __init__(self, lay, args=(), **kw):
        self.proc = lay.spawn([str(lay.svc / "run"), *args], lay.svc,
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              **kw)
        self.pid = self.proc.pid
        self.out = LineCollector(self.proc.stdout)
        self.err = LineCollector(self.proc.stderr)
        self.out.start()
        self.err.start()

    def ports(self, n=1):
        def found():
            ms = [m for m in map(LISTEN_RE.match, self.out.snapshot()) if m]
            if len(ms) >= n:
                return ms
            assert self.proc.poll() is None, (
                f"run exited with {self.proc.returncode}:\n{self.text()}")
            return None
        ms = wait_for(found, START_DEADLINE, f"{n} listening lines")
        assert all(m.group(1) == "127.0.0.1" for m in ms), self.text()
        return [int(m.group(2)) for m in ms[:n]]

    def wait(self, timeout=10):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"run did not exit within {timeout}s:\n"
                                 f"{self.text()}")
        self.out.done.wait(5)
        self.err.done.wait(5)
        return rc

    def term(self, timeout=10):
        self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def text(self):
        return (f"stdout:\n{self.out.text()}\nstderr:\n{self.err.text()}")


def check_exec_chain(lay, pid):
    """run, envdir, sh and setuidgid all exec'd: pid is transitd itself, so
    supervise's signals reach it."""
    assert os.readlink(f"/proc/{pid}/exe") == str(lay.transitd)


# ---------------------------------------------------------------------------

def test_run_by_hand_serves_as_env_says(lay):
    """env/ sets two listeners, the database, the JSON lines on fd 1 and
    blurring; the output is one stream of 'transitd: ' lines and JSON."""
    lay.setenv(TRANSITD_PORT=f"{LOOPBACK} {LOOPBACK}",
               TRANSITD_USAGE_DB=str(lay.db), TRANSITD_LOG_FD="1",
               TRANSITD_BLUR_USAGE="3600", TRANSITD_DRAIN_TIMEOUT="5")
    h = Hand(lay)
    ports = h.ports(2)
    check_exec_chain(lay, h.pid)
    relay_pair(ports, 1000)         # one client on each listener

    def happy_line():
        for line in h.out.snapshot():
            if line.startswith("{"):
                rec = parse_log_line(line.encode())
                if rec["mood"] == "happy":
                    return rec
        return None
    rec = wait_for(happy_line, DB_DEADLINE, "happy JSON line on stdout")
    assert rec["total_bytes"] == 10000, rec          # 2000 blurred up
    assert rec["started"] % 3600 == 0, rec
    rows = wait_rows(lay.db, 1)
    assert rows[0][1] == 10000 and rows[0][2] % 3600 == 0, rows
    # umask 027: the new database is readable by the group only.
    st = lay.db.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode)
    if ROOT:
        assert st.st_uid == lay.user.pw_uid

    assert h.term() == 0, h.text()
    assert h.err.snapshot() == [], "exec 2>&1 should merge stderr:\n" + \
        h.text()
    lines = h.out.snapshot()
    for line in lines:
        if line.startswith("{"):
            parse_log_line(line.encode())
        else:
            assert re.match(r"^transitd: \S", line), \
                f"not a bare 'transitd: ' line: {line!r}\n{h.text()}"
    assert "transitd: Terminated: stopping" in lines, h.text()


@pytest.mark.parametrize("var, value, arg", [
    ("TRANSITD_BLUR_USAGE", "soon", "--blur-usage=1"),
    ("TRANSITD_PORT", "tcp:notaport", f"--port={LOOPBACK}")])
def test_bad_env_value_exits_2_naming_it(lay, var, value, arg):
    """A bad value in env/ ends run with status 2 and one line naming the
    variable. run takes no arguments (supervise gives none): a good option
    given to it by hand does not reach transitd, or it would win over the
    bad variable and the relay would start."""
    lay.setenv(**{var: value})
    h = Hand(lay, args=[arg])
    rc = h.wait()
    lines = h.out.snapshot()
    assert rc == 2, h.text()
    assert len(lines) == 1 and lines[0].startswith(f"transitd: {var}="), \
        h.text()
    assert h.err.snapshot() == [], h.text()


def test_envdir_empty_file_unsets_and_first_line_only(lay):
    """An empty env/ file unsets a variable inherited from the supervisor
    (a bad one here); only a file's first line is its value."""
    lay.env["TRANSITD_BLUR_USAGE"] = "soon"
    lay.setenv(TRANSITD_PORT=f"{LOOPBACK}\ntcp:notaport",
               TRANSITD_LOG_FD="1")
    (lay.svc / "env" / "TRANSITD_BLUR_USAGE").write_text("")
    h = Hand(lay)
    ports = h.ports(1)
    relay_pair(ports, 3)
    rec = wait_for(lambda: [l for l in h.out.snapshot() if l.startswith("{")],
                   DB_DEADLINE, "a JSON line")
    assert parse_log_line(rec[0].encode())["total_bytes"] == 6, \
        "blurred, so TRANSITD_BLUR_USAGE was not unset"
    assert h.term() == 0, h.text()
    assert len([l for l in h.out.snapshot() if LISTEN_RE.match(l)]) == 1, \
        h.text()


@pytest.mark.skipif(not ROOT, reason="needs root")
def test_root_drops_to_env_transitd_user(lay):
    """As root, env/TRANSITD_USER=nobody: transitd runs as nobody, without
    TRANSITD_USER in its environment, and writes its database as nobody."""
    lay.setenv(TRANSITD_PORT=LOOPBACK, TRANSITD_USAGE_DB=str(lay.db))
    h = Hand(lay)
    ports = h.ports(1)
    check_exec_chain(lay, h.pid)
    nb = lay.user
    assert proc_status(h.pid, "Uid") == [str(nb.pw_uid)] * 4
    assert proc_status(h.pid, "Gid") == [str(nb.pw_gid)] * 4
    assert proc_status(h.pid, "Groups") in ([], [str(nb.pw_gid)])
    env = proc_environ(h.pid)
    assert "TRANSITD_USER" not in env, env
    assert env.get("TRANSITD_PORT") == LOOPBACK, env
    relay_pair(ports)
    wait_rows(lay.db, 1)
    assert lay.db.stat().st_uid == nb.pw_uid
    assert h.term() == 0, h.text()


@pytest.mark.skipif(not ROOT, reason="needs root")
def test_root_default_user_is__transitd(lay):
    """As root without env/TRANSITD_USER, run drops to _transitd (or, where
    that user does not exist, fails saying so rather than run as root)."""
    lay.setenv(TRANSITD_USER=None, TRANSITD_USAGE_DB=None)
    try:
        pw = pwd.getpwnam("_transitd")
    except KeyError:
        pw = None
    h = Hand(lay)
    if pw is None:
        rc = h.wait()
        assert rc != 0, h.text()
        assert "_transitd" in h.out.text(), h.text()
        return
    h.ports(1)
    assert proc_status(h.pid, "Uid") == [str(pw.pw_uid)] * 4
    assert h.term() == 0, h.text()


def test_not_root_runs_transitd_directly(lay):
    """Not root, run ignores TRANSITD_USER and execs transitd as itself
    (as root, the test first becomes nobody)."""
    lay.setenv(TRANSITD_PORT=LOOPBACK, TRANSITD_USER="no-such-user-here",
               TRANSITD_USAGE_DB=str(lay.db))
    kw = {}
    if ROOT:
        kw = dict(user=lay.user.pw_uid, group=lay.user.pw_gid,
                  extra_groups=[])
    uid = lay.user.pw_uid if ROOT else os.getuid()
    h = Hand(lay, **kw)
    ports = h.ports(1)
    check_exec_chain(lay, h.pid)
    assert proc_status(h.pid, "Uid")[0] == str(uid)
    assert "TRANSITD_USER" not in proc_environ(h.pid)
    relay_pair(ports)
    wait_rows(lay.db, 1)
    assert h.term() == 0, h.text()


def test_log_run_stamps_lines_into_main(lay):
    """log/run: multilog writes TAI64N-stamped lines to ./main/current; as
    root it makes ./main for env/TRANSITD_LOG_USER (before TRANSITD_USER)
    and writes as that user."""
    if ROOT:
        try:
            logger = pwd.getpwnam("daemon")
        except KeyError:
            pytest.skip("no user 'daemon'")
        lay.setenv(TRANSITD_LOG_USER="daemon")
    log = lay.svc / "log"
    p = lay.spawn([str(log / "run")], log, stdin=subprocess.PIPE,
                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(b"transitd: one\nsecond line\n", timeout=10)
    except subprocess.TimeoutExpired:
        raise AssertionError("log/run did not exit at end of input")
    assert p.returncode == 0, out
    current = log / "main" / "current"
    lines = current.read_text().splitlines()
    got = [TAI64N_RE.match(l) for l in lines]
    assert all(got) and [m.group(1) for m in got] == \
        ["transitd: one", "second line"], lines
    if ROOT:
        assert (log / "main").stat().st_uid == logger.pw_uid
        assert current.stat().st_uid == logger.pw_uid


# ---------------------------------------------------------------------------
# under svscan

def svstat(path):
    r = subprocess.run(["svstat", str(path)], capture_output=True, text=True,
                       timeout=5)
    return r.stdout.strip()


def svc(*args):
    return subprocess.run(["svc", *map(str, args)], capture_output=True,
                          timeout=5).returncode


def svok(path):
    return subprocess.run(["svok", str(path)], timeout=5).returncode == 0


def up_pid(path, other_than=None):
    m = re.search(r": up \(pid (\d+)\)", svstat(path))
    if m and int(m.group(1)) != other_than:
        return int(m.group(1))
    return None


def logged(lay):
    """The lines of log/main/current, each checked for its TAI64N stamp."""
    f = lay.svc / "log" / "main" / "current"
    if not f.exists():
        return []
    out = []
    for line in f.read_text().splitlines():
        m = TAI64N_RE.match(line)
        assert m, f"line without a TAI64N stamp in {f}: {line!r}"
        out.append(m.group(1))
    return out


def logged_ports(lay):
    return [int(m.group(2)) for m in map(LISTEN_RE.match, logged(lay)) if m]


def test_svscan_supervise_multilog(lay):
    """The service under a real svscan: it comes up and logs through
    multilog; svc -t drains a live pair then restarts it (the database
    keeps its rows); svc -d stops it."""
    lay.setenv(TRANSITD_PORT=LOOPBACK, TRANSITD_USAGE_DB=str(lay.db),
               TRANSITD_DRAIN_TIMEOUT="10")
    svcdir = lay.svc
    with open(lay.base / "svscan.out", "wb") as out:
        scan = lay.spawn(["svscan", str(lay.scan)], lay.scan,
                         stdin=subprocess.DEVNULL, stdout=out,
                         stderr=subprocess.STDOUT)
    try:
        # up, and logging
        port = wait_for(lambda: logged_ports(lay), SVSCAN_DEADLINE,
                        "listening line in log/main/current")[0]
        pid = wait_for(lambda: up_pid(svcdir), SVSCAN_DEADLINE, "svstat up")
        assert svok(svcdir) and svok(svcdir / "log")
        check_exec_chain(lay, pid)
        if ROOT:
            assert proc_status(pid, "Uid")[0] == str(lay.user.pw_uid)
            assert (svcdir / "log" / "main").stat().st_uid == lay.user.pw_uid
        relay_pair([port])
        wait_rows(lay.db, 1)

        # svc -t: SIGTERM; the listener closes, the live pair finishes
        a, b = open_pair(port)
        try:
            assert svc("-t", svcdir) == 0
            wait_for(lambda: any(l.startswith("transitd: Terminated: stopping")
                                 for l in logged(lay)), SVSCAN_DEADLINE,
                     "'Terminated: stopping' in the log")
            assert refused(port), "listener still open while draining"
            assert up_pid(svcdir) == pid, "restarted before the pair ended"
            a.sendall(b"ping")
            assert recv_exact(b, 4) == b"ping"
            b.sendall(b"pong")
            assert recv_exact(a, 4) == b"pong"
        finally:
            a.close()
            b.close()
        wait_for(lambda: "transitd: drained: every pair has finished"
                 in logged(lay), SVSCAN_DEADLINE, "'drained' in the log")
        pid2 = wait_for(lambda: up_pid(svcdir, other_than=pid),
                        SVSCAN_DEADLINE, "a new pid in svstat")
        ports = wait_for(lambda: (lambda p: p if len(p) >= 2 else None)(
            logged_ports(lay)), SVSCAN_DEADLINE, "second listening line")
        check_exec_chain(lay, pid2)
        relay_pair([ports[1]])
        rows = wait_rows(lay.db, 3)
        assert len(rows) == 3, rows     # two before the restart, one after

        # svc -d: down for good
        assert svc("-d", svcdir) == 0
        wait_for(lambda: re.search(r": down \d+ seconds", svstat(svcdir)),
                 SVSCAN_DEADLINE, f"svstat down: {svstat(svcdir)}")
        assert not os.path.exists(f"/proc/{pid2}")
        assert refused(ports[1])
        log = logged(lay)
        assert sum(l.startswith("transitd: Terminated: stopping")
                   for l in log) == 2, log
        assert all(l.startswith("transitd: ") for l in log), log
        assert svok(svcdir / "log"), "the log service should stay up"
    finally:
        scan.kill()
        scan.wait(5)
        for d in (svcdir, svcdir / "log"):
            svc("-dx", d)
        deadline = time.monotonic() + 5
        while (svok(svcdir) or svok(svcdir / "log")) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        # lay.cleanup() kills whatever is left of svscan's process group
