"""
Black-box test helpers for transitd (a C drop-in replacement for the Python
magic-wormhole transit relay). See /work/shared/PROTOCOL.md for the protocol.

Environment:
  TRANSITD=/path/to/transitd   the binary under test (required)
  TRANSITD_REFERENCE=1         run the suite against the Python reference
                               (`twist3 transitrelay`) instead; tests of
                               transitd-only contract items are skipped

Run with Debian's pytest:  /usr/bin/python3 -m pytest tests/blackbox
"""

import hashlib
import ipaddress
import json
import math
import os
import random
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

# tests/: the helpers every suite shares (testlib.py).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testlib import free_port, free_ports, wait_for  # noqa: E402,F401

REFERENCE = os.environ.get("TRANSITD_REFERENCE") == "1"

DEFAULT_PORT = "tcp:0:interface=127.0.0.1"
SOCK_TIMEOUT = 10.0        # every socket operation
START_DEADLINE = 10.0      # waiting for the "listening on" lines
RECORD_DEADLINE = 10.0     # waiting for a usage record

LOG_KEYS = ["started", "total_time", "waiting_time", "total_bytes", "mood"]
MOODS = {"empty", "errory", "lonely", "impatient", "redundant", "happy"}
# The reference (0.2.x, as packaged in Debian) records impatience as errory.
IMPATIENT_MOOD = "errory" if REFERENCE else "impatient"

LISTEN_RE = re.compile(r"^transitd: listening on (\S+) port (\d+)$")
LOG_RE = re.compile(
    rb'^\{"started": ([^,]+), "total_time": ([^,]+), "waiting_time": ([^,]+),'
    rb' "total_bytes": ([^,]+), "mood": "([a-z]+)"\}$')


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "transitd_only: tests a transitd contract item the Python reference "
        "does not implement (skipped when TRANSITD_REFERENCE=1)")


def pytest_collection_modifyitems(config, items):
    if not REFERENCE:
        return
    skip = pytest.mark.skip(reason="transitd-only contract item")
    for item in items:
        if "transitd_only" in item.keywords:
            item.add_marker(skip)


def transitd_path():
    p = os.environ.get("TRANSITD")
    if not p:
        pytest.fail("TRANSITD is not set: export TRANSITD=/path/to/transitd "
                    "(or TRANSITD_REFERENCE=1 to test the Python reference)",
                    pytrace=False)
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        pytest.fail(f"TRANSITD={p!r} is not an executable file", pytrace=False)
    return p


# ---------------------------------------------------------------------------
# small helpers

def new_token():
    return os.urandom(32).hex()


def new_side():
    return os.urandom(8).hex()


def handshake(token, side=None):
    if side is None:
        return b"please relay %s\n" % token.encode()
    return b"please relay %s for side %s\n" % (token.encode(), side.encode())


def run(binary, *args, timeout=5):
    """Run the binary with args to its exit: the CompletedProcess."""
    try:
        return subprocess.run([binary, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"transitd {args} did not exit within {timeout}s")


def pattern(seed, n):
    """Reproducible random-ish bytes."""
    return random.Random(seed).randbytes(n)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def recv_exact(sock, n, timeout=SOCK_TIMEOUT):
    """Read exactly n bytes or fail (on EOF, reset or deadline)."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {len(buf)} of {n} bytes: "
                                 f"{bytes(buf[:80])!r}")
        sock.settimeout(min(left, SOCK_TIMEOUT))
        try:
            chunk = sock.recv(min(n - len(buf), 1 << 20))
        except socket.timeout:
            continue
        except ConnectionResetError:
            raise AssertionError(f"connection reset after {len(buf)} of {n} "
                                 f"bytes: {bytes(buf[:80])!r}")
        if not chunk:
            raise AssertionError(f"EOF after {len(buf)} of {n} bytes: "
                                 f"{bytes(buf[:80])!r}")
        buf += chunk
    sock.settimeout(SOCK_TIMEOUT)
    return bytes(buf)


def read_to_eof(sock, timeout=SOCK_TIMEOUT, limit=256 << 20):
    """Read until EOF (a reset counts as EOF). Fails on deadline."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no EOF within {timeout}s; got {len(buf)} "
                                 f"bytes: {bytes(buf[:80])!r}")
        sock.settimeout(min(left, SOCK_TIMEOUT))
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        buf += chunk
        assert len(buf) <= limit, "more data than expected"
    sock.settimeout(SOCK_TIMEOUT)
    return bytes(buf)


def expect_ok(sock, timeout=SOCK_TIMEOUT):
    got = recv_exact(sock, 3, timeout)
    assert got == b"ok\n", f"expected ok, got {got!r}"


def expect_closed_with(sock, reply, timeout=SOCK_TIMEOUT):
    """The relay sends exactly `reply` (possibly b"") and then closes."""
    got = read_to_eof(sock, timeout, limit=4096)
    assert got == reply, f"expected {reply!r} then EOF, got {got!r}"


def wait_readable(socks, timeout):
    """poll(2) (not select: fds may exceed FD_SETSIZE); the readable ones."""
    p = select.poll()
    byfd = {}
    for s in socks:
        p.register(s, select.POLLIN)
        byfd[s.fileno()] = s
    ev = p.poll(max(0, int(timeout * 1000)))
    return [byfd[fd] for fd, _ in ev]


def wait_writable(sock, timeout):
    p = select.poll()
    p.register(sock, select.POLLOUT)
    return bool(p.poll(max(0, int(timeout * 1000))))


def _proc_addr(text):
    """An address:port of /proc/net/tcp{,6} as (ip_address, port)."""
    hexip, hexport = text.split(":")
    raw = bytes.fromhex(hexip)
    # Each 32-bit word is in host (little-endian) order.
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(raw)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip, int(hexport, 16)


def proc_tcp():
    """The rows of /proc/net/tcp and /proc/net/tcp6, each split in fields:
    [1] local and [2] remote address (see _proc_addr), [3] state ("01"
    established, "0A" listening), [4] tx_queue:rx_queue, [5] timer,
    [9] inode ("0" while in a listener's queue)."""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(path) as f:
            next(f)
            for line in f:
                yield line.split()


def relay_rx_queue(sock, accepted=False):
    """Bytes that sock sent and the relay has not read yet: the receive
    queue of the relay's end of the connection (/proc/net/tcp); with
    accepted, -1 while that end still waits in the listener's queue (it
    has no inode yet). None when the relay's end is gone or closed (it
    then read what it wanted)."""
    local = sock.getsockname()
    peer = sock.getpeername()
    mine = (ipaddress.ip_address(local[0].split("%")[0]), local[1])
    theirs = (ipaddress.ip_address(peer[0].split("%")[0]), peer[1])
    mine = (getattr(mine[0], "ipv4_mapped", None) or mine[0], mine[1])
    theirs = (getattr(theirs[0], "ipv4_mapped", None) or theirs[0],
              theirs[1])
    for fields in proc_tcp():
        if _proc_addr(fields[1]) != theirs or _proc_addr(fields[2]) != mine:
            continue
        if fields[3] not in ("01", "08"):   # ESTABLISHED, CLOSE_WAIT
            return None
        if accepted and fields[9] == "0":
            return -1
        return int(fields[4].split(":")[1], 16)
    return None


def wait_read(sock, timeout=SOCK_TIMEOUT):
    """Wait until the relay has accepted sock and read every byte sent on
    it: its handlers then ran, so whatever those bytes did (a handshake
    registered, say) happened before anything sent after this returns,
    and before a signal sent after it."""
    deadline = time.monotonic() + timeout
    while (n := relay_rx_queue(sock, accepted=True)):
        assert time.monotonic() < deadline, \
            f"the relay left {n} bytes unread for {timeout}s"
        time.sleep(0.002)


def wait_unread(sock, n, timeout=SOCK_TIMEOUT):
    """Wait until n bytes sent on sock wait, unread, at the relay's end
    (in a queued connection, or one the relay does not read)."""
    deadline = time.monotonic() + timeout
    while (got := relay_rx_queue(sock)) != n:
        assert time.monotonic() < deadline, f"{got} bytes unread, not {n}"
        time.sleep(0.002)


def thread_fds():
    """Descriptors that --threads costs beyond one thread, with the
    default (TRANSITD_THREADS or one per core): an epoll and an eventfd
    per extra thread, and one eventfd for the first."""
    n = int(os.environ.get("TRANSITD_THREADS") or os.cpu_count())
    return 2 * (n - 1) + 1 if n > 1 else 0


def wait_stderr(server, text, n=1, timeout=RECORD_DEADLINE):
    """Until n lines of the relay's stderr contain text; the first."""
    deadline = time.monotonic() + timeout
    while True:
        got = [l for l in server.err.snapshot() if text in l]
        if len(got) >= n:
            return got[0]
        assert server.alive(), f"exited without {text!r}:\n{server.err.text()}"
        assert time.monotonic() < deadline, f"{text!r}?\n{server.err.text()}"
        time.sleep(0.01)


def assert_silent(sock, secs=0.5, read=True):
    """Nothing arrives and the connection stays open for secs, counted
    from when the relay has read what sock sent (read=False: at once,
    for a connection nobody accepts)."""
    if read:
        wait_read(sock)
    if wait_readable([sock], secs):
        sock.settimeout(1.0)
        try:
            data = sock.recv(4096, socket.MSG_PEEK)
        except ConnectionResetError:
            data = None
        finally:
            sock.settimeout(SOCK_TIMEOUT)
        if data:
            raise AssertionError(f"unexpected data: {data[:80]!r}")
        raise AssertionError("connection unexpectedly closed")


def send_in_chunks(sock, data, chunk=256 << 10):
    mv = memoryview(data)
    for off in range(0, len(mv), chunk):
        sock.sendall(mv[off:off + chunk])


def _check_pyfloat(name, text, line):
    try:
        f = float(text)
    except ValueError:
        raise AssertionError(f"{name} is not a float: {line!r}")
    assert math.isfinite(f), f"{name} not finite: {line!r}"
    assert repr(f) == text, (f"{name} not formatted like Python's repr "
                             f"({text!r} vs {repr(f)!r}): {line!r}")
    return f


def parse_log_line(line):
    """Check one usage line byte for byte against json.dumps' format."""
    m = LOG_RE.match(line)
    assert m, f"log line not in the expected format: {line!r}"
    started, total_time, waiting, total_bytes, mood = \
        [g.decode("ascii", "replace") for g in m.groups()]
    _check_pyfloat("started", started, line)
    _check_pyfloat("total_time", total_time, line)
    if waiting != "null":
        _check_pyfloat("waiting_time", waiting, line)
    assert re.fullmatch(r"0|[1-9][0-9]*", total_bytes), \
        f"total_bytes not an integer: {line!r}"
    assert mood in MOODS, f"unknown mood: {line!r}"
    pairs = json.loads(line, object_pairs_hook=list)
    assert [k for k, _ in pairs] == LOG_KEYS, f"key order: {line!r}"
    rec = dict(pairs)
    assert isinstance(rec["total_bytes"], int)
    assert rec["total_time"] >= 0, line
    assert rec["waiting_time"] is None or rec["waiting_time"] >= 0, line
    rec["_raw"] = line.decode()
    return rec


# ---------------------------------------------------------------------------
# the log pipe

class LogPipe:
    """A pipe whose write end is handed to the server as --log-fd."""

    def __init__(self):
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        self.buf = b""
        self.records = []
        self.eof = False
        self.read_closed = False

    def close_write(self):
        if self.w is not None:
            os.close(self.w)
            self.w = None

    def close_read(self):
        if not self.read_closed:
            os.close(self.r)
            self.read_closed = True

    def pump(self, timeout=0.0):
        """Read whatever is available, waiting up to timeout for something."""
        if self.read_closed or self.eof:
            return
        r, _, _ = select.select([self.r], [], [], max(0.0, timeout))
        if not r:
            return
        while True:
            try:
                chunk = os.read(self.r, 65536)
            except BlockingIOError:
                break
            if not chunk:
                self.eof = True
                break
            self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.records.append(parse_log_line(line))
        if self.eof:
            assert self.buf == b"", f"partial last log line: {self.buf!r}"

    def wait(self, n, mood=None, timeout=RECORD_DEADLINE):
        """Wait until at least n records (of mood, if given); return them."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump(0)
            sel = [r for r in self.records if mood is None or r["mood"] == mood]
            if len(sel) >= n:
                return sel
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                raise AssertionError(
                    f"wanted {n} records (mood={mood}), have: "
                    + "\n".join(r["_raw"] for r in self.records))
            self.pump(min(0.05, left))

    def settle(self, secs=0.3):
        """Collect for secs more and return every record so far."""
        deadline = time.monotonic() + secs
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.pump(min(0.05, left))
            if self.eof:
                break
        return list(self.records)

    def drain_to_eof(self, timeout=RECORD_DEADLINE):
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            assert left > 0, "log pipe not closed by the server"
            self.pump(min(0.1, left))
        return list(self.records)

    def moods(self):
        return sorted(r["mood"] for r in self.records)


# ---------------------------------------------------------------------------
# the server

class LineCollector(threading.Thread):
    def __init__(self, f):
        super().__init__(daemon=True)
        self.f = f
        self.lines = []
        self.lock = threading.Lock()
        self.done = threading.Event()

    def run(self):
        try:
            for raw in iter(self.f.readline, b""):
                with self.lock:
                    self.lines.append(
                        raw.decode("utf-8", "replace").rstrip("\n"))
        except (OSError, ValueError):
            pass
        finally:
            self.done.set()

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def text(self):
        return "\n".join(self.snapshot())


def _unescape(v):
    return re.sub(r"\\(.)", r"\1", v)


def endpoint_interface(spec):
    m = re.search(r"interface=((?:\\.|[^:])*)", spec)
    return _unescape(m.group(1)) if m else ""



class Server:
    def __init__(self, argv, log, pass_fds, nlisten, reference_port=None,
                 reference_host=None, preexec_fn=None, env=None):
        self.argv = argv
        self.log = log
        self.socks = []
        self.stopped = False
        self.listeners = []     # [(addr, port)]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, pass_fds=pass_fds, preexec_fn=preexec_fn,
            env=None if env is None else {**os.environ, **env})
        self.pid = self.proc.pid
        if log is not None:
            log.close_write()
        self.out = LineCollector(self.proc.stdout)
        self.err = LineCollector(self.proc.stderr)
        self.out.start()
        self.err.start()
        try:
            if reference_port is not None:
                self._wait_reference(reference_host, reference_port)
            else:
                self._wait_listening(nlisten)
        except BaseException:
            self.kill()
            raise

    def _wait_listening(self, nlisten):
        deadline = time.monotonic() + START_DEADLINE
        while True:
            found = [LISTEN_RE.match(l) for l in self.err.snapshot()]
            found = [m for m in found if m]
            if len(found) >= nlisten:
                self.listeners = [(m.group(1), int(m.group(2)))
                                  for m in found[:nlisten]]
                return
            if self.proc.poll() is not None:
                self.err.done.wait(2)
                raise AssertionError(
                    f"{self.argv} exited with {self.proc.returncode} before "
                    f"listening; stderr:\n{self.err.text()}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {nlisten} 'listening on' lines within "
                    f"{START_DEADLINE}s; stderr:\n{self.err.text()}")
            time.sleep(0.01)

    def _wait_reference(self, host, port):
        deadline = time.monotonic() + 20
        while True:
            if any(f"starting on {port}" in l for l in self.out.snapshot()):
                self.listeners = [(host, port)]
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"reference did not start: {self.proc.poll()}\n"
                    f"{self.out.text()[-3000:]}\n{self.err.text()[-3000:]}")
            time.sleep(0.02)

    # -- clients ----------------------------------------------------------

    @property
    def port(self):
        return self.listeners[0][1]

    def connect(self, host=None, index=0, port=None):
        addr, lport = self.listeners[index]
        if host is None:
            host = {"::": "::1", "": "127.0.0.1", "0.0.0.0": "127.0.0.1"}.get(
                addr, addr)
        s = socket.create_connection((host, port or lport),
                                     timeout=SOCK_TIMEOUT)
        s.settimeout(SOCK_TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.socks.append(s)
        return s

    def client(self, token, side=None, **kw):
        s = self.connect(**kw)
        s.sendall(handshake(token, side))
        return s

    def pair(self, token=None, sides=(None, None), delay=0.0, **kw):
        token = token or new_token()
        a = self.client(token, sides[0], **kw)
        wait_read(a)        # a registers first: the order is known
        if delay:
            time.sleep(delay)       # a waits at least this long
        b = self.client(token, sides[1], **kw)
        expect_ok(a)
        expect_ok(b)
        return a, b

    def close_clients(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        self.socks = []

    # -- process ----------------------------------------------------------

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def signal_and_wait(self, sig=signal.SIGTERM, timeout=20.0, again=None):
        """Send sig (and, with again=SECONDS, once more after that long if
        the relay is still draining live pairs); return the exit status
        (fails if not exited in time)."""
        self.stopped = True
        self.proc.send_signal(sig)
        try:
            if again is not None:
                try:
                    return self.proc.wait(again)
                except subprocess.TimeoutExpired:
                    self.proc.send_signal(sig)
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"server did not exit within {timeout}s of "
                                 f"signal {sig}")

    def stderr_after_exit(self):
        self.err.done.wait(5)
        return self.err.text()

    def kill(self):
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def shutdown(self):
        """Teardown: returns an error string if the server had died."""
        problem = None
        if not self.stopped and self.proc.poll() is not None and not REFERENCE:
            problem = (f"server exited unexpectedly with status "
                       f"{self.proc.returncode}; stderr:\n{self.err.text()}")
        self.close_clients()
        if self.proc.poll() is None:
            self.stopped = True
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.log is not None:
            self.log.close_read()
            self.log.close_write()
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass
        return problem


def launch(ports=(DEFAULT_PORT,), log=True, blur=None, args=None,
           nlisten=None, log_style="eq", preexec_fn=None, env=None):
    """Start transitd (or the reference) and wait until it listens.

    ports: --port values (default one listener on 127.0.0.1, kernel port)
    log: give it a LogPipe as --log-fd (server.log) if true
    blur: --blur-usage value
    args: a complete argument list instead (then pass nlisten; the string
          "{LOGFD}" in it is replaced by the log pipe's fd number)
    log_style: "eq" (--log-fd=N) or "sep" (--log-fd N)
    preexec_fn: run in the child before exec (e.g. to set rlimits)
    env: variables added to its environment ("{LOGFD}" in a value too is
         replaced by the log pipe's fd number)
    """
    lp = LogPipe() if log else None
    pass_fds = (lp.w,) if lp else ()
    if REFERENCE:
        assert args is None and len(ports) == 1, "reference: one --port only"
        spec = ports[0]
        host = endpoint_interface(spec) or "0.0.0.0"
        port = free_port(host)
        spec = re.sub(r"^tcp:0(:|$)", rf"tcp:{port}\1", spec)
        argv = ["twist3", "transitrelay", f"--port={spec}"]
        if blur is not None:
            argv.append(f"--blur-usage={blur}")
        if lp:
            argv.append(f"--log-fd={lp.w}")
        return Server(argv, lp, pass_fds, 1, reference_port=port,
                      reference_host=host)
    binary = transitd_path()
    if env is not None:
        env = {k: v.replace("{LOGFD}", str(lp.w) if lp else "")
               for k, v in env.items()}
    if args is not None:
        argv = [binary] + [a.replace("{LOGFD}", str(lp.w) if lp else "")
                           for a in args]
        return Server(argv, lp, pass_fds, nlisten if nlisten is not None else 1,
                      preexec_fn=preexec_fn, env=env)
    argv = [binary] + [f"--port={p}" for p in ports]
    if blur is not None:
        argv.append(f"--blur-usage={blur}")
    if lp:
        if log_style == "eq":
            argv.append(f"--log-fd={lp.w}")
        else:
            argv += ["--log-fd", str(lp.w)]
    return Server(argv, lp, pass_fds, len(ports) if nlisten is None else nlisten,
                  preexec_fn=preexec_fn, env=env)


def stop_all(servers):
    """Stop every server a fixture started; fail with what went wrong."""
    problems = [p for p in (s.shutdown() for s in servers) if p]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def start_server():
    servers = []

    def start(*a, **kw):
        s = launch(*a, **kw)
        servers.append(s)
        return s

    yield start
    stop_all(servers)


# ---------------------------------------------------------------------------
# the usage database (--usage-db)

def q(db, sql):
    c = sqlite3.connect(str(db), timeout=5)
    try:
        return c.execute(sql).fetchall()
    finally:
        c.close()


def rows(db):
    return q(db, "SELECT started, total_time, waiting_time, total_bytes, "
             "result FROM usage ORDER BY rowid")


def poll_rows(db, n, timeout=RECORD_DEADLINE):
    """The usage rows, once there are n (the database may lag the log)."""
    deadline = time.monotonic() + timeout
    while len(got := rows(db)) < n:
        assert time.monotonic() < deadline, f"wanted {n} rows, have {got}"
        time.sleep(0.02)
    return got


def as_rows(recs):
    """JSON usage records as the database's usage rows."""
    return [(r["started"], r["total_time"], r["waiting_time"],
             r["total_bytes"], r["mood"]) for r in recs]


def recv_hashing(sock, n, h, deadline):
    """Read exactly n bytes into the hash h; fail on EOF or deadline."""
    buf = bytearray(1 << 20)
    got = 0
    while got < n:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out after {got} of {n} bytes"
        if not wait_readable([sock], min(left, 1.0)):
            continue
        k = sock.recv_into(buf, min(len(buf), n - got))
        assert k, f"EOF after {got} of {n} bytes"
        h.update(memoryview(buf)[:k])
        got += k


# ---------------------------------------------------------------------------
# faults injected with an LD_PRELOAD library (tests/fault/fault.c)

FAULT_C = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "..", "fault", "fault.c")


@pytest.fixture(scope="session")
def fault_so(tmp_path_factory):
    """The fault library, built from its source."""
    so = tmp_path_factory.mktemp("fault") / "libfault.so"
    subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O1",
                    "-o", str(so), FAULT_C, "-ldl"], check=True)
    return str(so)


def fault_env(so, **faults):
    """The environment that injects faults (TRANSITD_FAULT_NAME=value)."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    # A sanitized relay: the library may come before the sanitizer's.
    return {"LD_PRELOAD": so,
            "ASAN_OPTIONS": f"{asan}:verify_asan_link_order=0".lstrip(":"),
            **{f"TRANSITD_FAULT_{k.upper()}": str(v)
               for k, v in faults.items()}}


@pytest.fixture
def server(start_server):
    """A relay on 127.0.0.1 (kernel-chosen port) with a log pipe."""
    return start_server()


@pytest.fixture
def transitd_bin():
    return transitd_path()
