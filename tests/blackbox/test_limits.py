"""Descriptor exhaustion: transitd pauses accepting instead of spinning or
dying, and relays through plain buffers when no pipe can be had."""


import pytest

from conftest import (DEFAULT_PORT, LogPipe, Server, expect_ok, new_token,
                      pattern, recv_exact, thread_fds, transitd_path,
                      wait_stderr)

pytestmark = pytest.mark.transitd_only


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
        wait_stderr(srv, "pausing")
        assert srv.alive()
        for s in socks:
            s.close()
        srv.socks = []
        # Served once the pause is over (the connections queue meanwhile).
        tok = new_token()
        a = srv.client(tok, "a" * 16)
        b = srv.client(tok, "b" * 16)
        expect_ok(a, timeout=30)
        expect_ok(b, timeout=30)
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
