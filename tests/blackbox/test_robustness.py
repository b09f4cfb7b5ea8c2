"""Garbage, idle connections, signals, IPv6."""

import os
import random
import resource
import signal
import socket
import time

import pytest

from conftest import (REFERENCE, assert_silent, expect_ok, handshake,
                      new_side, new_token, read_to_eof, recv_exact,
                      proc_tcp, thread_fds, wait_read, wait_stderr)


def listener_fd(pid, port):
    """The descriptor number of pid's IPv4 listener on port."""
    inode = None
    for fields in proc_tcp():
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
            inode = fields[9]
    assert inode, f"no listener on port {port}"
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                return int(fd)
        except FileNotFoundError:
            continue
    raise AssertionError(f"pid {pid} does not hold the listener")


def polled_fds(pid):
    """The descriptors in pid's epoll sets (/proc/PID/fdinfo)."""
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != \
                    "anon_inode:[eventpoll]":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("tfd:"):
                        out.add(int(line.split()[1]))
        except FileNotFoundError:
            continue
    return out


def _check_pair(server, **kw):
    tok = new_token()
    a = server.client(tok, new_side(), **kw)
    b = server.client(tok, new_side(), **kw)
    expect_ok(a)
    expect_ok(b)
    a.sendall(b"ping" * 100)
    assert recv_exact(b, 400) == b"ping" * 100
    b.sendall(b"pong")
    assert recv_exact(a, 4) == b"pong"
    return a, b


def test_garbage_burst_then_normal_pair(server):
    rnd = random.Random(1234)
    junk = []
    for i in range(100):
        s = server.connect()
        n = rnd.randrange(1, 3000)
        data = rnd.randbytes(n)
        if i % 3 == 0:
            data += b"\n"
        try:
            s.sendall(data)
        except OSError:
            pass                     # the relay may have hung up already
        junk.append(s)
    for i, s in enumerate(junk):
        if i % 2:
            s.close()
    _check_pair(server)
    for s in junk:
        s.close()
    _check_pair(server)
    if not REFERENCE:
        recs = server.log.wait(100, timeout=10)
        assert all(r["mood"] in ("errory", "empty") for r in recs), \
            [r["_raw"] for r in recs if r["mood"] not in ("errory", "empty")]


def test_garbage_with_valid_prefix(server):
    # junk that starts like a handshake, then breaks the grammar
    tok = new_token()
    for bad in (b"please relay " + tok.encode() + b"\x00\n",
                b"please relay " + tok.encode() + b" for side \xff\xfe\n",
                b"please relay " + tok.encode()[:10] + b"\n"):
        s = server.connect()
        s.sendall(bad)
        assert read_to_eof(s) == b"bad handshake\n"
    # the token is not poisoned
    a = server.client(tok)
    b = server.client(tok)
    expect_ok(a)
    expect_ok(b)


def test_half_open_connections_do_not_block(server):
    idle = [server.connect() for _ in range(50)]
    partial = []
    for _ in range(20):
        s = server.connect()
        s.sendall(handshake(new_token())[:40])
        partial.append(s)
    _check_pair(server)                 # served while they hang on
    _check_pair(server)
    for s in idle + partial:
        assert_silent(s, 0.0)
    for s in idle + partial:
        s.close()
    if not REFERENCE:
        recs = server.log.wait(70, mood="empty")
        assert len(recs) == 70


@pytest.mark.transitd_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT],
                         ids=["TERM", "INT"])
def test_signal_exits_0_and_records_everything(server, sig):
    lonely = server.client(new_token(), new_side())
    a, b = _check_pair(server)          # 404 bytes relayed
    idle = server.connect()
    partial = server.connect()
    partial.sendall(b"please relay ")
    for s in (idle, partial):
        wait_read(s)                    # each has its mood by now
    assert_silent(lonely, 0.0)          # (this one too)
    # the live pair may drain; the signal again ends it at once
    rc = server.signal_and_wait(sig, timeout=30, again=0.5)
    assert rc == 0, f"exit status {rc}; stderr:\n{server.stderr_after_exit()}"
    for s in (lonely, a, b, idle, partial):
        read_to_eof(s)
    recs = server.log.drain_to_eof()
    moods = sorted(r["mood"] for r in recs)
    assert moods == ["empty", "empty", "happy", "lonely"], moods
    happy = [r for r in recs if r["mood"] == "happy"][0]
    assert happy["total_bytes"] == 404
    assert happy["waiting_time"] is not None
    lone = [r for r in recs if r["mood"] == "lonely"][0]
    assert lone["waiting_time"] is None
    err = server.stderr_after_exit()
    for line in err.splitlines():
        assert line.startswith("transitd: "), f"stderr line: {line!r}"
    # the listener is gone
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)


@pytest.mark.transitd_only
def test_sigterm_idle_server(server):
    assert server.signal_and_wait(signal.SIGTERM, timeout=5) == 0
    assert server.log.drain_to_eof() == []


@pytest.mark.transitd_only
def test_sighup_keeps_serving(server):
    """SIGHUP (as log rotation sends it) neither kills the relay nor drops
    a live pair."""
    a, b = _check_pair(server)
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "SIGHUP" not in server.err.text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "SIGHUP" in server.err.text()
    assert server.alive()
    a.sendall(b"still here")
    assert recv_exact(b, 10) == b"still here"
    c, d = _check_pair(server)


def test_ipv6_loopback(start_server):
    server = start_server(ports=[r"tcp:0:interface=\:\:1"])
    assert server.listeners[0][0] == "::1"
    a, b = _check_pair(server, host="::1")
    assert a.family == socket.AF_INET6
    a.close()
    assert read_to_eof(b) == b""
    assert server.log.wait(1)[0]["mood"] == "happy"


def test_dual_stack_listener(start_server):
    server = start_server(ports=[r"tcp:0:interface=\:\:"])
    assert server.listeners[0][0] == "::"
    tok = new_token()
    a = server.client(tok, new_side(), host="127.0.0.1")
    b = server.client(tok, new_side(), host="::1")
    assert a.family == socket.AF_INET and b.family == socket.AF_INET6
    expect_ok(a)
    expect_ok(b)
    a.sendall(b"v4 to v6")
    assert recv_exact(b, 8) == b"v4 to v6"
    b.sendall(b"v6 to v4")
    assert recv_exact(a, 8) == b"v6 to v4"
    b.close()
    assert read_to_eof(a) == b""
    rec = server.log.wait(1)[0]
    assert rec["mood"] == "happy" and rec["total_bytes"] == 16


def _raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= n:
        return
    if hard != resource.RLIM_INFINITY and hard < n:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {n}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))


def test_more_than_1024_connections(server):
    """fds above FD_SETSIZE must work (no select(2) limits)."""
    _raise_nofile(3000)
    idle = []
    for _ in range(1100):
        idle.append(server.connect())
    a, b = _check_pair(server)
    c, d = _check_pair(server)
    for s in idle:
        assert_silent(s, 0.0)
    for s in idle:
        s.close()
    a.close()
    assert read_to_eof(b) == b""
    if not REFERENCE:
        server.log.wait(1100, mood="empty", timeout=20)
        server.log.wait(1, mood="happy")


@pytest.mark.transitd_only
def test_out_of_file_descriptors(start_server):
    """With few fds, a flood of connections must not kill or wedge the
    relay; once they are gone it serves again."""
    nofile = 48 + thread_fds()          # the same room on any core count

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    server = start_server(preexec_fn=low_nofile)
    flood = []
    for _ in range(80):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", server.port))
        except OSError:
            s.close()
            break
        flood.append(s)
    wait_stderr(server, "pausing")
    assert server.alive()
    # The relay must not spin while it cannot accept: during the pause
    # its listener is out of its event loop, though connections wait.
    lfd = listener_fd(server.pid, server.port)
    for _ in range(10):
        if lfd not in polled_fds(server.pid):
            break
        time.sleep(0.05)                # the pause is a second long
    else:
        raise AssertionError("the listener stays polled: a busy loop")
    for s in flood:
        s.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            _check_pair(server)
            break
        except (AssertionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert server.alive()


@pytest.mark.transitd_only
def test_ipv4_and_ipv6_listeners_together(start_server):
    server = start_server(ports=["tcp:0:interface=127.0.0.1",
                                 r"tcp:0:interface=\:\:1"])
    assert [a for a, _ in server.listeners] == ["127.0.0.1", "::1"]
    tok = new_token()
    a = server.client(tok, new_side(), index=0)
    b = server.client(tok, new_side(), index=1)
    assert b.family == socket.AF_INET6
    expect_ok(a)
    expect_ok(b)
    a.sendall(b"x")
    assert recv_exact(b, 1) == b"x"
