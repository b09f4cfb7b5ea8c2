"""Descriptor exhaustion: transitd pauses accepting instead of spinning or
dying, and relays through plain buffers when no pipe can be had."""

import os
import time

import pytest

from conftest import (DEFAULT_PORT, LogPipe, Server, expect_ok, new_token,
                      pattern, recv_exact, transitd_path)

pytestmark = pytest.mark.transitd_only


def thread_fds():
    """Descriptors that --threads costs beyond one thread: an epoll and
    an eventfd per extra thread, and one eventfd for the first."""
    n = int(os.environ.get("TRANSITD_THREADS") or os.cpu_count())
    return 2 * (n - 1) + 1 if n > 1 else 0


def start_limited(nofile):
    nofile += thread_fds()
    lp = LogPipe()
    argv = ["prlimit", f"--nofile={nofile}:{nofile}", transitd_path(),
            f"--port={DEFAULT_PORT}", f"--log-fd={lp.w}"]
    return Server(argv, lp, (lp.w,), 1)


def test_emfile_pauses_accept_then_recovers():
    """Past the descriptor limit the relay pauses accept, says so, stays up,
    and serves again once descriptors are free."""
    srv = start_limited(32)
    try:
        socks = [srv.connect() for _ in range(60)]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and \
                "pausing" not in srv.err.text():
            time.sleep(0.05)
        assert "pausing" in srv.err.text(), srv.err.text()
        assert srv.alive()
        for s in socks:
            s.close()
        srv.socks = []
        time.sleep(1.5)
        tok = new_token()
        a = srv.client(tok, "a" * 16)
        b = srv.client(tok, "b" * 16)
        expect_ok(a)
        expect_ok(b)
        a.sendall(b"after")
        assert recv_exact(b, 5) == b"after"
    finally:
        problem = srv.shutdown()
    assert problem is None, problem


def test_no_pipes_left_falls_back_to_buffers():
    """With too few descriptors for a pipe per direction, pairs still relay
    byte-exact in both directions through the buffer path."""
    srv = start_limited(40)
    try:
        pairs = []
        for i in range(12):
            tok = new_token()
            a = srv.client(tok, "a" * 16)
            b = srv.client(tok, "b" * 16)
            expect_ok(a)
            expect_ok(b)
            pairs.append((a, b))
        for i, (a, b) in enumerate(pairs):
            data = pattern(i, 200000)
            a.sendall(data)
            assert recv_exact(b, len(data)) == data
            b.sendall(data[:1000])
            assert recv_exact(a, 1000) == data[:1000]
        assert srv.alive()
    finally:
        problem = srv.shutdown()
    assert problem is None, problem
