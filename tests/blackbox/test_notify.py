"""Notifications to a service manager (sd_notify(3)'s protocol, without
systemd): NOTIFY_SOCKET names an AF_UNIX datagram socket that the test
binds and reads in a thread; transitd sends READY=1 once it listens and
its --usage-db is open, STATUS= lines (at most one a second, only when
the counts change), WATCHDOG=1 every WATCHDOG_USEC/2, STOPPING=1 and a
draining STATUS on SIGTERM, RELOADING=1 + MONOTONIC_USEC and READY=1 on
SIGHUP. Without a usable NOTIFY_SOCKET it says so (or nothing) and serves.
"""

import os
import re
import signal
import socket
import sqlite3
import struct
import threading
import time

import pytest

from conftest import (Server, fault_env, free_port, new_side, new_token,
                      read_to_eof, recv_exact, stop_all, transitd_path,
                      wait_stderr)

pytestmark = pytest.mark.transitd_only

LOOPBACK = "tcp:0:interface=127.0.0.1"
ENV_VARS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PID",
            "LISTEN_FDS", "LISTEN_FDNAMES")
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)   # Linux
STATUS0 = "STATUS=0 pairs relaying, 0 waiting for a partner, 0 connections"
WAIT = 20.0         # waiting for any one notification: a hang


# ---------------------------------------------------------------------------
# the manager's end of NOTIFY_SOCKET

class Notify(threading.Thread):
    """An AF_UNIX datagram socket that a reader thread drains at once (the
    relay sends without blocking: a full queue would drop messages).
    Each message is kept as (time, sender pid, text); SO_PASSCRED gives
    the sender's pid, which systemd checks (NotifyAccess=main). The time
    is the kernel's (SO_TIMESTAMPNS, wall clock): when the relay sent
    it, however late this thread gets to read it."""

    def __init__(self, addr, read=True):
        super().__init__(daemon=True)
        self.addr = addr                 # what NOTIFY_SOCKET says
        self.sock = socket.socket(socket.AF_UNIX,
                                  socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.bind("\0" + addr[1:] if addr.startswith("@") else addr)
        self.sock.settimeout(0.02)
        self.msgs = []
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.reading = threading.Event()
        self.on_message = None           # called in the thread, per message
        if read:
            self.reading.set()
        self.start()

    def run(self):
        space = socket.CMSG_SPACE(struct.calcsize("iII")) + \
            socket.CMSG_SPACE(struct.calcsize("qq"))
        while not self.halt.is_set():
            if not self.reading.wait(0.02):
                continue
            try:
                data, anc, _, _ = self.sock.recvmsg(65536, space)
            except socket.timeout:
                continue
            except OSError:
                break
            t = time.time()
            pid = None
            for level, kind, cdata in anc:
                if level == socket.SOL_SOCKET and \
                        kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", cdata[:12])[0]
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", cdata[:16])
                    t = sec + nsec / 1e9
            text = data.decode("utf-8", "replace")
            if self.on_message is not None:
                self.on_message(t, pid, text)
            with self.lock:
                self.msgs.append((t, pid, text))

    def close(self):
        self.halt.set()
        self.reading.set()
        self.join(2)
        self.sock.close()

    def snapshot(self):
        with self.lock:
            return list(self.msgs)

    def texts(self):
        return [m[2] for m in self.snapshot()]

    def wait_for(self, pred, timeout=WAIT, start=0):
        """Index of the first message from index start that pred(text)
        accepts; fails after timeout."""
        if isinstance(pred, str):
            want = pred
            pred = lambda t: t == want          # noqa: E731
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.snapshot()
            for i in range(start, len(msgs)):
                if pred(msgs[i][2]):
                    return i
            if time.monotonic() > deadline:
                raise AssertionError(f"no such notification within "
                                     f"{timeout}s; got {self.texts()!r}")
            time.sleep(0.01)

    def collect(self, secs):
        time.sleep(secs)
        return self.snapshot()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No manager variables leak in from whatever runs pytest."""
    for v in ENV_VARS:
        monkeypatch.delenv(v, raising=False)


@pytest.fixture
def notifies():
    made = []

    def make(addr, read=True):
        n = Notify(str(addr), read)
        made.append(n)
        return n

    yield make
    for n in made:
        n.close()


@pytest.fixture
def notify(notifies, tmp_path, monkeypatch):
    """A notification socket at a path, exported as NOTIFY_SOCKET."""
    n = notifies(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", n.addr)
    return n


@pytest.fixture
def spawn():
    """Start an arbitrary argv as a Server (e.g. through sh, so that a
    variable can name transitd's own pid); shut down at teardown."""
    servers = []

    def start(argv, nlisten=1):
        s = Server(argv, None, (), nlisten)
        servers.append(s)
        return s

    yield start
    stop_all(servers)


def relay(server, token=None, nbytes=1000):
    """A pair that relays nbytes each way, then closes: it must work."""
    a, b = server.pair(token, sides=(new_side(), new_side()))
    a.sendall(b"a" * nbytes)
    assert recv_exact(b, nbytes) == b"a" * nbytes
    b.sendall(b"b" * nbytes)
    assert recv_exact(a, nbytes) == b"b" * nbytes
    a.close()
    assert read_to_eof(b) == b""
    b.close()


def db_current(db):
    """The current rows of the database, or None if there is no file."""
    if not os.path.exists(db):
        return None
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return c.execute("SELECT rebooted, updated, connected, waiting, "
                         "incomplete_bytes FROM current").fetchall()
    finally:
        c.close()


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError as e:
        return repr(e)


def stderr_lines(server, text):
    return [l for l in server.err.snapshot() if text in l]


# ---------------------------------------------------------------------------
# READY=1 and the first STATUS

def test_ready_when_listening_and_db_open(start_server, notify, tmp_path):
    """READY=1 is the first message, sent once; at that moment the port
    already accepts (the test connects from its reader thread, without
    looking at stderr) and the usage database exists with its current
    row. Then STATUS= with zero counts. Every message comes from
    transitd's own pid (what NotifyAccess=main checks)."""
    db = tmp_path / "usage.sqlite"
    port = free_port("127.0.0.1")
    at_ready = {}

    def on_message(t, pid, text):
        if text == "READY=1" and not at_ready:
            at_ready["accepts"] = accepts(port)
            at_ready["current"] = db_current(db)

    notify.on_message = on_message
    t0 = int(time.time())
    server = start_server(args=[f"--port=tcp:{port}:interface=127.0.0.1",
                                f"--usage-db={db}"], log=False)
    notify.wait_for("READY=1")
    t1 = int(time.time()) + 1
    assert at_ready["accepts"] is True, at_ready
    cur = at_ready["current"]
    assert cur is not None, "no database file when READY=1 came"
    assert len(cur) == 1, cur
    rebooted, updated, connected, waiting, incomplete = cur[0]
    assert t0 <= rebooted <= t1 and updated == rebooted, cur
    assert (connected, waiting, incomplete) == (0, 0, 0), cur
    notify.wait_for(STATUS0)
    relay(server)
    msgs = notify.collect(0.5)
    texts = [m[2] for m in msgs]
    assert texts[0] == "READY=1", texts
    assert texts[1] == STATUS0, texts
    assert texts.count("READY=1") == 1, texts
    assert {m[1] for m in msgs} == {server.pid}, \
        f"sender pids {[m[1] for m in msgs]} vs transitd {server.pid}"
    assert not stderr_lines(server, "NOTIFY_SOCKET"), server.err.text()


def test_abstract_notify_socket(start_server, notifies, monkeypatch):
    """NOTIFY_SOCKET=@name: the abstract namespace (a NUL first, no
    terminator in the address length)."""
    name = "@transitd-test-" + os.urandom(6).hex()
    n = notifies(name)
    monkeypatch.setenv("NOTIFY_SOCKET", name)
    server = start_server(args=[f"--port={LOOPBACK}"], log=False)
    n.wait_for("READY=1")
    n.wait_for(STATUS0)
    relay(server)
    assert {m[1] for m in n.snapshot()} == {server.pid}
    assert not stderr_lines(server, "NOTIFY_SOCKET"), server.err.text()


@pytest.mark.parametrize("why", ["db", "port"])
def test_no_ready_when_startup_fails(notify, tmp_path, why):
    """A relay that cannot start (its database directory is missing, its
    port is taken) exits 1 and never says READY=1."""
    import subprocess
    busy = None
    args = [transitd_path()]
    if why == "db":
        args += [f"--port={LOOPBACK}",
                 f"--usage-db={tmp_path / 'missing' / 'usage.sqlite'}"]
    else:
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        args += [f"--port=tcp:{busy.getsockname()[1]}:interface=127.0.0.1"]
    try:
        r = subprocess.run(args, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=10)
    finally:
        if busy is not None:
            busy.close()
    assert r.returncode == 1, r
    msgs = notify.collect(0.3)
    assert "READY=1" not in [m[2] for m in msgs], msgs


# ---------------------------------------------------------------------------
# STATUS=

def test_status_follows_the_counts(start_server, notify):
    """STATUS= says pairs, tokens waiting and connections, with singular
    and plural; a second waiter of the same token (and side) is one more
    connection, not one more waiting."""
    server = start_server(args=[f"--port={LOOPBACK}"], log=False)
    notify.wait_for(STATUS0)
    tok = new_token()
    side = new_side()
    w = server.client(tok, side)
    i = notify.wait_for("STATUS=0 pairs relaying, 1 waiting for a partner, "
                        "1 connection")
    w2 = server.client(tok, side)      # the same side: never pairs with w
    a, b = server.pair(sides=(new_side(), new_side()))
    c, d = server.pair(sides=(new_side(), new_side()))
    i = notify.wait_for("STATUS=2 pairs relaying, 1 waiting for a partner, "
                        "6 connections", start=i + 1)
    for s in (w, w2, a, b, c, d):
        s.close()
    i = notify.wait_for(STATUS0, start=i + 1)
    # nothing changes: nothing more is said (but the relay still serves)
    more = [m[2] for m in notify.collect(1.2)[i + 1:]]
    assert not [t for t in more if t.startswith("STATUS=")], more
    relay(server)


def test_status_at_most_once_a_second(start_server, notify):
    """Counts that change every 20 ms (one more waiter each time, so that
    every sample differs) give one STATUS= a second at most: the relay
    reports the growth, three times, and never two lines within a second
    of each other (by the kernel's send times)."""
    server = start_server(args=[f"--port={LOOPBACK}"], log=False)
    i = notify.wait_for(STATUS0)
    grown = []
    for _ in range(400):                   # 8 s or more: several ticks
        server.client(new_token())
        time.sleep(0.02)
        grown = [m for m in notify.snapshot()[i + 1:]
                 if m[2].startswith("STATUS=")]
        if len(grown) >= 3:
            break
    assert len(grown) >= 3, notify.texts()
    nclients = len(server.socks)
    server.close_clients()
    notify.wait_for(STATUS0, start=i + 1)
    status = [m for m in notify.snapshot() if m[2].startswith("STATUS=")]
    waiting = [int(re.search(r"(\d+) waiting", m[2]).group(1))
               for m in grown]
    assert waiting == sorted(waiting) and waiting[0] > 0, grown
    assert nclients > len(grown), (nclients, grown)    # changes merged
    times = [m[0] for m in status]
    gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.99, (gaps, status)


# ---------------------------------------------------------------------------
# WATCHDOG=1

def watchdog_times(n, secs):
    """The send times of the pings in the next secs (a negative check:
    pings that should not come)."""
    start = len(n.snapshot())
    time.sleep(secs)
    return [m[0] for m in n.snapshot()[start:] if m[2] == "WATCHDOG=1"]


def wait_pings(n, count, start=0, timeout=WAIT):
    """The send times of count pings from message start on."""
    deadline = time.monotonic() + timeout
    while len(got := [m[0] for m in n.snapshot()[start:]
                      if m[2] == "WATCHDOG=1"]) < count:
        assert time.monotonic() < deadline, f"{len(got)} pings: {n.texts()}"
        time.sleep(0.01)
    return got


@pytest.mark.parametrize("pid", ["unset", "own"])
def test_watchdog_every_half_interval(spawn, notify, monkeypatch, pid):
    """WATCHDOG_USEC=200000 (WATCHDOG_PID absent, or transitd's own pid):
    WATCHDOG=1 every 100 ms."""
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    argv = [transitd_path(), f"--port={LOOPBACK}"]
    if pid == "own":
        argv = ["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" "$@"'] + argv
    server = spawn(argv)
    notify.wait_for("READY=1")
    assert stderr_lines(server, "watchdog") == \
        ["transitd: watchdog: WATCHDOG=1 every 0.1 s"], server.err.text()
    times = wait_pings(notify, 10)
    # Never more often than that: a timer on a fixed 100 ms grid (late
    # ticks, on a busy machine, only make fewer).
    assert len(times) - 1 <= (times[-1] - times[0]) / 0.1 + 1, times
    relay(server)
    assert {m[1] for m in notify.snapshot()} == {server.pid}


@pytest.mark.parametrize("env", [
    {"WATCHDOG_USEC": "20000", "WATCHDOG_PID": "1"},
    {"WATCHDOG_USEC": "20000", "WATCHDOG_PID": "test"},
    {"WATCHDOG_USEC": "0"},
    {"WATCHDOG_USEC": "junk"},
    {"WATCHDOG_USEC": "-100000"},
    {}], ids=["other-pid", "parent-pid", "zero", "junk", "negative", "none"])
def test_no_watchdog(start_server, notify, monkeypatch, env):
    """The watchdog is for transitd only when WATCHDOG_PID (if set) is its
    pid, and only with a positive WATCHDOG_USEC; otherwise no pings, but
    READY and STATUS as usual."""
    for k, v in env.items():
        monkeypatch.setenv(k, str(os.getpid()) if v == "test" else v)
    server = start_server(args=[f"--port={LOOPBACK}"], log=False)
    notify.wait_for("READY=1")
    notify.wait_for(STATUS0)
    assert watchdog_times(notify, 0.3) == []
    relay(server)
    assert "WATCHDOG=1" not in notify.texts(), notify.texts()


# ---------------------------------------------------------------------------
# STOPPING=1, draining, RELOADING=1

def test_stopping_then_draining(start_server, notify, monkeypatch):
    """SIGTERM: STOPPING=1, then at once STATUS=draining: ... counting
    the live pair (the lone waiter was dropped); the pair still relays;
    once it has ended (both clients closed) the process exits 0. No
    READY=1 after STOPPING=1."""
    monkeypatch.setenv("WATCHDOG_USEC", "10000")     # a ping every 5 ms
    server = start_server(args=[f"--port={LOOPBACK}", "--drain-timeout=10"],
                          log=False)
    notify.wait_for(STATUS0)
    a, b = server.pair(sides=(new_side(), new_side()))
    w = server.client(new_token())
    i = notify.wait_for("STATUS=1 pair relaying, 1 waiting for a partner, "
                        "3 connections")
    server.stopped = True
    server.proc.send_signal(signal.SIGTERM)
    j = notify.wait_for("STOPPING=1", start=i + 1)
    k = notify.wait_for(lambda t: t.startswith("STATUS=draining: "),
                        start=j + 1)
    msgs = notify.snapshot()
    assert msgs[k][2] == ("STATUS=draining: 1 pair relaying, 0 waiting "
                          "for a partner, 2 connections"), msgs
    # Right after STOPPING=1, in the same callback, not at the next tick
    # of the STATUS timer: no watchdog ping came between them.
    assert k == j + 1, msgs[j:k + 1]
    assert read_to_eof(w, timeout=5) == b""
    for _ in range(3):
        a.sendall(b"x" * 1000)
        assert recv_exact(b, 1000) == b"x" * 1000
        b.sendall(b"y" * 1000)
        assert recv_exact(a, 1000) == b"y" * 1000
        time.sleep(0.2)
    assert server.alive()
    a.close()
    assert read_to_eof(b, timeout=5) == b""
    b.close()
    assert server.proc.wait(5) == 0
    after = [m for m in notify.collect(0.2)[j + 1:] if m[2] != "WATCHDOG=1"]
    assert "READY=1" not in [m[2] for m in after], after
    assert all(m[2].startswith("STATUS=draining: ") for m in after), after


def test_stopping_without_pairs(start_server, notify):
    """SIGTERM with nothing to drain: STOPPING=1 and exit 0 (a draining
    STATUS is optional then, but nothing after it claims readiness)."""
    server = start_server(args=[f"--port={LOOPBACK}"], log=False)
    notify.wait_for(STATUS0)
    assert server.signal_and_wait(signal.SIGTERM) == 0
    j = notify.wait_for("STOPPING=1")
    rest = [m[2] for m in notify.collect(0.2)[j + 1:]]
    assert "READY=1" not in rest, rest


@pytest.mark.parametrize("log_file", [False, True])
def test_sighup_reloading_then_ready(start_server, notify, tmp_path,
                                     log_file):
    """SIGHUP: one message "RELOADING=1\\nMONOTONIC_USEC=<now>", then
    READY=1; a pair made before it keeps relaying; new pairs work."""
    args = [f"--port={LOOPBACK}"]
    if log_file:
        args.append(f"--log-file={tmp_path / 'usage.log'}")
    server = start_server(args=args, log=False)
    i = notify.wait_for(STATUS0)
    a, b = server.pair(sides=(new_side(), new_side()))
    for round_ in range(2):
        before = time.monotonic()
        server.proc.send_signal(signal.SIGHUP)
        j = notify.wait_for(lambda t: t.startswith("RELOADING=1"),
                            start=i + 1)
        after = time.monotonic()
        msg = notify.snapshot()[j]
        lines = msg[2].split("\n")
        assert len(lines) == 2 and lines[0] == "RELOADING=1", msg
        assert lines[1].startswith("MONOTONIC_USEC="), msg
        usec = int(lines[1][len("MONOTONIC_USEC="):])
        assert before * 1e6 - 1000 <= usec <= after * 1e6 + 1000, \
            (before, usec, after)
        i = notify.wait_for("READY=1", start=j + 1)
        a.sendall(b"after hup")
        assert recv_exact(b, 9) == b"after hup"
    relay(server)
    assert server.alive()
    texts = notify.texts()
    assert texts.count("READY=1") == 3, texts
    assert sum(t.startswith("RELOADING=1") for t in texts) == 2, texts


def test_sighup_while_draining(start_server, notify):
    """SIGHUP (logrotate) during the drain: the pair still relays and the
    process still ends when it does, but it must not tell the manager it
    is ready again once it has said STOPPING=1."""
    server = start_server(args=[f"--port={LOOPBACK}", "--drain-timeout=10"],
                          log=False)
    notify.wait_for(STATUS0)
    a, b = server.pair(sides=(new_side(), new_side()))
    server.stopped = True
    server.proc.send_signal(signal.SIGTERM)
    j = notify.wait_for("STOPPING=1")
    server.proc.send_signal(signal.SIGHUP)
    wait_stderr(server, "transitd: SIGHUP: stopping; ignored")
    a.sendall(b"after hup")
    assert recv_exact(b, 9) == b"after hup"
    a.close()
    assert read_to_eof(b, timeout=5) == b""
    b.close()
    assert server.proc.wait(5) == 0
    after = [m[2] for m in notify.collect(0.1)[j + 1:]]
    assert not [t for t in after if t == "READY=1" or
                t.startswith("RELOADING=1")], after
    assert "still serving" not in server.stderr_after_exit()


# ---------------------------------------------------------------------------
# without a usable NOTIFY_SOCKET

def test_without_notify_socket(start_server):
    """No NOTIFY_SOCKET: nothing said about it, the relay serves, SIGHUP
    and SIGTERM behave."""
    server = start_server(args=[f"--port={LOOPBACK}"], log=False)
    relay(server)
    server.proc.send_signal(signal.SIGHUP)
    wait_stderr(server, "transitd: SIGHUP: nothing to reload; still serving")
    relay(server)
    assert server.signal_and_wait(signal.SIGTERM) == 0
    err = server.stderr_after_exit()
    assert "NOTIFY" not in err and "WATCHDOG" not in err, err


@pytest.mark.parametrize("value", ["notify", "./notify", "", "x"])
def test_relative_notify_socket(start_server, notifies, tmp_path,
                                monkeypatch, value):
    """A NOTIFY_SOCKET that is neither an absolute path nor @abstract gets
    a warning line and is not used (not even relative to the working
    directory, where the test binds one); the relay serves."""
    monkeypatch.chdir(tmp_path)
    n = notifies(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", value)
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    server = start_server(args=[f"--port={LOOPBACK}"], log=False)
    relay(server)
    time.sleep(0.3)
    warn = stderr_lines(server, "NOTIFY_SOCKET")
    assert warn == ["transitd: NOTIFY_SOCKET is not a socket address; not "
                    "notifying the service manager"], server.err.text()
    assert n.texts() == []


def test_notify_socket_missing(start_server, tmp_path, monkeypatch):
    """An absolute NOTIFY_SOCKET with nobody there: one line about it
    (not one per failed ping), and the relay serves."""
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody"))
    monkeypatch.setenv("WATCHDOG_USEC", "50000")
    server = start_server(args=[f"--port={LOOPBACK}"], log=False)
    relay(server)
    time.sleep(0.6)                       # a dozen failed pings
    relay(server)
    warn = stderr_lines(server, "NOTIFY_SOCKET")
    assert warn == ["transitd: NOTIFY_SOCKET: No such file or directory"], \
        server.err.text()
    assert server.signal_and_wait(signal.SIGTERM) == 0


def test_manager_not_reading(start_server, notifies, tmp_path, monkeypatch):
    """A manager that stops reading fills its socket's queue: the relay's
    sends fail without blocking it (one line on stderr) and it serves;
    once the manager reads again, notifications resume."""
    n = notifies(tmp_path / "notify", read=False)
    monkeypatch.setenv("NOTIFY_SOCKET", n.addr)
    monkeypatch.setenv("WATCHDOG_USEC", "4000")       # a ping every 2 ms
    server = start_server(args=[f"--port={LOOPBACK}"], log=False)
    # The queue fills (its length, not the time, decides when).
    wait_stderr(server, "transitd: NOTIFY_SOCKET: Resource temporarily "
                "unavailable")
    relay(server)                         # not blocked by it
    warn = stderr_lines(server, "NOTIFY_SOCKET")
    assert warn == ["transitd: NOTIFY_SOCKET: Resource temporarily "
                    "unavailable"], server.err.text()
    n.reading.set()
    n.wait_for("READY=1")
    assert n.texts()[0] == "READY=1", n.texts()[:5]
    # a ping sent after the queue was read
    wait_pings(n, 1, start=len(n.snapshot()))
    assert server.alive()
    # it said so once per failing spell, not per dropped message
    assert len(stderr_lines(server, "NOTIFY_SOCKET")) <= 3, \
        server.err.text()


def test_late_thread_is_named_and_counts_as_busy(start_server, notify,
                                                 tmp_path, fault_so):
    """A worker thread that stops answering (stalled by the fault
    library) does not stall the home loop: its figures are marked old,
    once on stderr and in every STATUS= line while it lasts, and a
    drain waits for it (it counts as busy) until it answers again."""
    stall = tmp_path / "stall"
    server = start_server(
        args=["--port=tcp:0:interface=127.0.0.1", "--threads=2"],
        log=False, env=fault_env(fault_so, stall=stall))
    notify.wait_for(STATUS0)
    stall.touch()
    wait_stderr(server, "thread transitd-1 did not answer in 2 s: its "
                "figures are old, and it counts as busy")
    notify.wait_for(lambda t: t.startswith("STATUS=") and
                    t.endswith("(a thread is not answering: its figures "
                               "are old)"))
    server.stopped = True
    server.proc.send_signal(signal.SIGTERM)
    wait_stderr(server, "Terminated: stopping; 0 pairs may finish")
    assert server.alive(), "it stopped with a thread not answering"
    stall.unlink()
    assert server.proc.wait(20) == 0
    err = server.stderr_after_exit()
    assert "drained: every pair has finished" in err, err
    assert err.count("did not answer") == 1, err
