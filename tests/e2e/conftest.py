"""Fixtures for the transitd end-to-end tests.

Every process started here goes through the ``procs`` fixture, which puts it
in its own session (process group) and kills that group at teardown.  Every
wait is bounded by an explicit deadline.

Environment:
  TRANSITD            path of the transitd binary under test (required unless
                      TRANSITD_REFERENCE=1)
  TRANSITD_REFERENCE  if "1", run the Python reference relay
                      (``twist3 transitrelay``) instead of transitd
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# tests/: the helpers every suite shares (testlib.py).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testlib import free_port, free_ports, wait_for  # noqa: E402,F401

LOOPBACK = "127.0.0.1"
TWIST = "/usr/bin/twist3"
STARTUP_TIMEOUT = 30.0  # seconds for a server to become connectable


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def read_text(path, limit=200_000):
    """Contents of a log file for diagnostics (tail, if huge)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        return "<unreadable: %s>" % e
    if len(data) > limit:
        data = b"...[truncated]...\n" + data[-limit:]
    return data.decode("utf-8", "replace")


class Proc:
    """A started process with its stdout/stderr captured in files."""

    def __init__(self, name, popen, stdout_path, stderr_path, argv):
        self.name = name
        self.popen = popen
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path
        self.argv = argv

    @property
    def pid(self):
        return self.popen.pid

    def poll(self):
        return self.popen.poll()

    def stdout(self, limit=200_000):
        return read_text(self.stdout_path, limit)

    def stderr(self, limit=200_000):
        return read_text(self.stderr_path, limit)

    def describe(self):
        rc = self.popen.poll()
        return (
            "===== %s (pid %d, %s) =====\n"
            "argv: %s\n"
            "--- stdout ---\n%s\n"
            "--- stderr ---\n%s\n"
            % (self.name, self.pid,
               "running" if rc is None else "exit status %r" % rc,
               " ".join(self.argv), self.stdout(20_000), self.stderr(20_000))
        )


class ProcManager:
    def __init__(self, logdir):
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.procs = []

    def start(self, name, argv, **kwargs):
        out = self.logdir / (name + ".stdout")
        err = self.logdir / (name + ".stderr")
        with open(out, "wb") as fo, open(err, "wb") as fe:
            popen = subprocess.Popen(
                [str(a) for a in argv],
                stdin=subprocess.DEVNULL,
                stdout=fo,
                stderr=fe,
                start_new_session=True,  # own process group, killed below
                **kwargs,
            )
        p = Proc(name, popen, out, err, [str(a) for a in argv])
        self.procs.append(p)
        return p

    @staticmethod
    def _signal_group(p, sig):
        try:
            os.killpg(p.pid, sig)  # the group created for this process only
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, p, grace=5.0):
        if p.popen.poll() is None:
            self._signal_group(p, signal.SIGTERM)
            try:
                p.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # make sure nothing of the group survives (also reaps the leader)
        self._signal_group(p, signal.SIGKILL)
        try:
            p.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p)

    def describe_all(self):
        return "\n".join(p.describe() for p in self.procs)


def wait_connectable(port, proc, timeout=STARTUP_TIMEOUT):
    """Wait until 127.0.0.1:port accepts a TCP connection.

    Fails early (with the process's output) if ``proc`` exits.
    """
    deadline = time.monotonic() + timeout
    last_err = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("%s exited before accepting connections on port %d\n%s"
                        % (proc.name, port, proc.describe()))
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1.0):
                return
        except OSError as e:
            last_err = e
        time.sleep(0.1)
    pytest.fail("%s did not accept connections on %s:%d within %.0fs (%s)\n%s"
                % (proc.name, LOOPBACK, port, timeout, last_err,
                   proc.describe()))


def wait_for_stderr_line(proc, regex, timeout=STARTUP_TIMEOUT):
    """Wait until a line of proc's stderr matches regex; return the match."""
    rx = re.compile(regex, re.M)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = rx.search(proc.stderr())
        if m:
            return m
        if proc.poll() is not None:
            m = rx.search(proc.stderr())
            if m:
                return m
            pytest.fail("%s exited without printing a line matching %r\n%s"
                        % (proc.name, regex, proc.describe()))
        time.sleep(0.05)
    pytest.fail("%s printed no stderr line matching %r within %.0fs\n%s"
                % (proc.name, regex, timeout, proc.describe()))


def start_on_free_port(procs, name, what, workdir, argv_for, **kwargs):
    """Start argv_for(port) in workdir on a free port until it accepts.

    Returns (port, proc); retries on a new port in case the picked one got
    taken, and fails with the last attempt's output if none came up.
    """
    last = None
    for attempt in range(3):  # retry in case the picked port got taken
        port = free_port()
        p = procs.start("%s%d" % (name, attempt), argv_for(port), cwd=workdir,
                        **kwargs)
        last = p
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and p.poll() is None:
            try:
                with socket.create_connection((LOOPBACK, port), timeout=1.0):
                    return port, p
            except OSError:
                time.sleep(0.1)
        procs.stop(p)
    pytest.fail("%s did not come up\n%s" % (what, last.describe()))


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

@pytest.fixture
def procs(tmp_path):
    mgr = ProcManager(tmp_path / "logs")
    try:
        yield mgr
    finally:
        mgr.stop_all()


@pytest.fixture
def mailbox(procs, tmp_path):
    """A local magic-wormhole mailbox (rendezvous) server.

    Returns the ws:// URL for ``wormhole --relay-url``.
    """
    workdir = tmp_path / "mailbox"
    workdir.mkdir()
    port, _ = start_on_free_port(
        procs, "mailbox", "mailbox server", workdir,
        lambda port: [TWIST, "wormhole-mailbox",
                      "--port", "tcp:%d:interface=%s" % (port, LOOPBACK),
                      "--channel-db", str(workdir / "channel.sqlite")])
    return "ws://%s:%d/v1" % (LOOPBACK, port)


class Relay:
    def __init__(self, kind, port, proc, log_path):
        self.kind = kind          # "transitd" or "reference"
        self.port = port
        self.proc = proc
        self.log_path = log_path  # the file behind --log-fd

    @property
    def hint(self):
        return "tcp:%s:%d" % (LOOPBACK, self.port)

    def usage_text(self):
        return read_text(self.log_path)


@pytest.fixture
def relay(procs, tmp_path):
    """The transit relay under test, with its JSON usage log in a file."""
    log_path = tmp_path / "usage.jsonl"
    log_file = open(log_path, "wb")
    fd = log_file.fileno()
    try:
        if os.environ.get("TRANSITD_REFERENCE") == "1":
            yield _start_reference_relay(procs, tmp_path, log_path, fd)
        else:
            yield _start_transitd(procs, log_path, fd)
    finally:
        log_file.close()


def _start_transitd(procs, log_path, fd):
    binary = os.environ.get("TRANSITD")
    if not binary:
        pytest.fail("environment variable TRANSITD is not set: set it to the "
                    "transitd binary (e.g. TRANSITD=/work/main/transitd/"
                    "transitd), or set TRANSITD_REFERENCE=1 to run against "
                    "the Python reference relay", pytrace=False)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        pytest.fail("TRANSITD=%r is not an executable file" % binary,
                    pytrace=False)
    p = procs.start(
        "transitd",
        [binary, "--port=tcp:0:interface=%s" % LOOPBACK, "--log-fd=%d" % fd],
        pass_fds=(fd,),
    )
    m = wait_for_stderr_line(
        p, r"^transitd: listening on 127\.0\.0\.1 port (\d+)\s*$")
    port = int(m.group(1))
    assert 0 < port < 65536, "bad port in transitd's stderr: %r" % m.group(0)
    wait_connectable(port, p)
    return Relay("transitd", port, p, log_path)


def _start_reference_relay(procs, tmp_path, log_path, fd):
    workdir = tmp_path / "refrelay"
    workdir.mkdir()
    port, p = start_on_free_port(
        procs, "transitrelay", "reference transit relay", workdir,
        lambda port: [TWIST, "transitrelay",
                      "--port=tcp:%d:interface=%s" % (port, LOOPBACK),
                      "--log-fd=%d" % fd],
        pass_fds=(fd,))
    return Relay("reference", port, p, log_path)
