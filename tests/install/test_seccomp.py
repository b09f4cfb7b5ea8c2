"""transitd.service's SystemCallFilter= lets through every system call that
transitd makes: run the built transitd under strace doing what it does in
service (listening, sockets from a service manager, notifications, a
TCP pair, a WebSocket client paired with a TCP one, the usage database
and log file, SIGHUP, SIGTERM) and compare with systemd-analyze's lists.
As root transitd runs as nobody, like the service's own user (SQLite, for
one, calls fchown only as root)."""

import base64
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

import pytest

from conftest import run_tool, tool, wait_for

ALLOW = "@system-service"
DENY = ["@privileged", "@resources"]
MUST_SEE = {"accept4", "epoll_wait", "splice", "sendto"}
DEADLINE = 20.0         # every wait for transitd
SOCK_TIMEOUT = 10.0
LISTEN_RE = re.compile(r"^transitd: listening on \S+ port (\d+)$", re.M)
WS_LISTEN_RE = re.compile(
    r"^transitd: listening for WebSocket on \S+ port (\d+) ", re.M)
TRACE_RE = re.compile(r"^(\d+) +(?:<\.\.\. )?([a-z0-9_]+)(?:\(| resumed>)")

# Exec transitd (argv[3:]) with the listening sockets argv[1] and argv[2]
# as descriptors 3 and 4 and LISTEN_PID its own pid, as systemd does.
ACTIVATE = """
import fcntl, os, sys
a, b = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3])
os.dup2(a, 3)
os.dup2(b, 4)
os.close(a)
os.close(b)
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[3], sys.argv[3:])
"""


def syscall_groups():
    """{"@group": set of entries} from systemd-analyze syscall-filter."""
    p = run_tool([tool("systemd-analyze"), "syscall-filter"])
    assert p.returncode == 0, p.stderr
    groups, cur = {}, None
    for line in p.stdout.splitlines():
        if line.startswith("@"):
            cur = groups.setdefault(line.strip(), set())
        elif line.startswith(" ") and cur is not None:
            entry = line.split("#")[0].strip()
            if entry:
                cur.add(entry)
    return groups


def expand(groups, name, seen=()):
    """The system calls of a group, its nested groups expanded."""
    assert name not in seen, f"groups nest in a loop: {seen}"
    out = set()
    for e in groups[name]:
        out |= expand(groups, e, seen + (name,)) if e.startswith("@") \
            else {e}
    return out


def allowed():
    groups = syscall_groups()
    deny = set()
    for g in DENY:
        deny |= expand(groups, g)
    return expand(groups, ALLOW) - deny


def test_allowed_set_is_sane():
    a = allowed()
    assert MUST_SEE <= a
    assert "setrlimit" not in a and "setuid" not in a and "chown" not in a


def traced_calls(trace, binary):
    """The system calls in an strace -f file, from the exec of binary on."""
    calls = set()
    started = False
    with open(trace) as f:
        for line in f:
            if not started:
                started = line.split(" ", 1)[-1].lstrip().startswith(
                    f'execve("{binary}"') and "= 0" in line
                continue
            m = TRACE_RE.match(line)
            if m:
                calls.add(m.group(2))
    assert started, f"no exec of {binary} in the trace"
    return calls



def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        assert chunk, f"EOF after {buf!r}"
        buf += chunk
    return buf


def ws_connect(port):
    """A WebSocket client upgraded on 127.0.0.1:port."""
    s = socket.create_connection(("127.0.0.1", port), timeout=SOCK_TIMEOUT)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        assert chunk and len(head) < 4096, f"no HTTP response: {head!r}"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 "), head
    return s


def ws_send(s, payload):
    """One masked binary frame (payloads under 126 bytes)."""
    mask = os.urandom(4)
    s.sendall(bytes([0x82, 0x80 | len(payload)]) + mask +
              bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def ws_recv(s):
    """One short unmasked frame's payload."""
    op, n = recv_exact(s, 2)
    assert op == 0x82 and n < 126, (op, n)
    return recv_exact(s, n)


def relay_pair(tcp_port, ws_port=None):
    """Pair two clients (the first a WebSocket one if ws_port) and relay
    bytes each way."""
    token = os.urandom(32).hex()
    hello = f"please relay {token} for side %s\n"
    if ws_port is None:
        a = socket.create_connection(("127.0.0.1", tcp_port),
                                     timeout=SOCK_TIMEOUT)
        a.sendall((hello % "1111111111111111").encode())
    else:
        a = ws_connect(ws_port)
        ws_send(a, (hello % "1111111111111111").encode())
    b = socket.create_connection(("127.0.0.1", tcp_port),
                                 timeout=SOCK_TIMEOUT)
    with a, b:
        b.sendall((hello % "2222222222222222").encode())
        assert recv_exact(b, 3) == b"ok\n"
        if ws_port is None:
            assert recv_exact(a, 3) == b"ok\n"
            data = os.urandom(50000)
            a.sendall(data)
            assert recv_exact(b, len(data)) == data
        else:
            assert ws_recv(a) == b"ok\n"
            ws_send(a, b"to tcp")
            assert recv_exact(b, 6) == b"to tcp"
            b.sendall(b"to ws")
            assert ws_recv(a) == b"to ws"


class Traced:
    """transitd (argv) run under strace -f in directory d, as nobody when
    we are root; its stderr in d/err, the trace in d/trace."""

    def __init__(self, d, argv, env, pass_fds=()):
        self.d = d
        self.err = open(os.path.join(d, "err"), "wb")
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen(
            [tool("strace"), "-f", "-qq", "-o", os.path.join(d, "trace")] +
            user + ["--"] + argv, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.err, pass_fds=pass_fds)
        self.pid = None

    def stderr(self):
        with open(os.path.join(self.d, "err")) as f:
            return f.read()

    def transitd_pid(self):
        """The traced process: the first pid in the trace."""
        def first():
            try:
                with open(os.path.join(self.d, "trace")) as f:
                    line = f.readline()
            except FileNotFoundError:
                return None
            if self.proc.poll() is not None:
                raise AssertionError(f"strace exited: {self.stderr()}")
            return int(line.split()[0]) if line.endswith("\n") else None
        self.pid = wait_for(first, DEADLINE, "strace start")
        return self.pid

    def wait_stderr(self, what, pattern):
        def found():
            if self.proc.poll() is not None:
                raise AssertionError(f"exited early: {self.stderr()}")
            return pattern.findall(self.stderr())
        return wait_for(found, DEADLINE, what)

    def stop(self):
        """SIGTERM to transitd; its exit status."""
        if self.pid is not None:
            os.kill(self.pid, signal.SIGTERM)
        try:
            return self.proc.wait(DEADLINE)
        finally:
            self.kill()

    def kill(self):
        if self.proc.poll() is None:
            if self.pid is not None:
                os.kill(self.pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait(DEADLINE)
        self.err.close()


@pytest.fixture
def rundir():
    """A directory the traced transitd may write, with a copy of it (the
    build tree may not be open to nobody): (dir, binary)."""
    src = os.environ.get("TRANSITD")
    if not src:
        raise pytest.UsageError("TRANSITD is not set: point it at the "
                                "built transitd")
    d = tempfile.mkdtemp(prefix="transitd-seccomp-")
    try:
        os.chmod(d, 0o755)
        binary = os.path.join(d, "transitd")
        shutil.copy(src, binary)
        os.chmod(binary, 0o755)
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
        yield d, binary
    finally:
        shutil.rmtree(d, ignore_errors=True)


def listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s


class Notes(threading.Thread):
    """The datagrams a service manager would get on NOTIFY_SOCKET."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.settimeout(0.1)
        self.lines = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                msg = self.sock.recv(4096)
            except socket.timeout:
                continue
            self.lines += msg.decode("utf-8", "replace").split("\n")

    def wait(self, line):
        wait_for(lambda: line in self.lines, DEADLINE, line)

    def close(self):
        self.done.set()
        self.join(DEADLINE)
        self.sock.close()


@pytest.mark.parametrize("how", ["endpoints", "activated"])
def test_syscalls_allowed(rundir, how):
    """The same as systemd runs it (activated), and with its own
    listeners (endpoints)."""
    d, binary = rundir
    notes = Notes(os.path.join(d, "notify"))
    notes.start()
    socks = []
    try:
        env = {"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET":
               os.path.join(d, "notify"), "WATCHDOG_USEC": "200000",
               "TRANSITD_USAGE_DB": os.path.join(d, "usage.sqlite"),
               "TRANSITD_LOG_FILE": os.path.join(d, "usage.log")}
        if how == "endpoints":
            argv = [binary, "--port=tcp:0:interface=127.0.0.1",
                    "--websocket=tcp:0:interface=127.0.0.1"]
            fds = ()
        else:
            socks = [listener(), listener()]
            fds = tuple(s.fileno() for s in socks)
            env.update(LISTEN_FDS="2", LISTEN_FDNAMES="tcp:websocket")
            argv = [sys.executable, "-c", ACTIVATE] + \
                [str(fd) for fd in fds] + [binary]
        t = Traced(d, argv, env, pass_fds=fds)
        try:
            t.transitd_pid()
            if how == "endpoints":
                port = int(t.wait_stderr("the TCP port", LISTEN_RE)[0])
                ws_port = int(t.wait_stderr("the WebSocket port",
                                            WS_LISTEN_RE)[0])
            else:
                port, ws_port = (s.getsockname()[1] for s in socks)
            notes.wait("READY=1")
            relay_pair(port)
            relay_pair(port, ws_port)
            os.kill(t.pid, signal.SIGHUP)
            notes.wait("RELOADING=1")
            notes.wait("WATCHDOG=1")
            rc = t.stop()
        finally:
            t.kill()
        assert rc == 0, t.stderr()
        notes.wait("STOPPING=1")
    finally:
        notes.close()
        for s in socks:
            s.close()
    calls = traced_calls(os.path.join(d, "trace"), binary)
    assert MUST_SEE <= calls, f"the trace lacks {MUST_SEE - calls}"
    if how == "activated":
        assert "bind" not in calls, "transitd did not use the sockets given"
    assert sorted(calls - allowed()) == [], t.stderr()
