"""Faults the relay cannot provoke itself, injected with an LD_PRELOAD
library (tests/fault/fault.c): the connection that meets one ends with
its record and a line on stderr, it is counted, and the relay goes on
serving everybody else."""

import socket

import pytest

from conftest import (REFERENCE, expect_closed_with, fault_env, free_port,
                      read_to_eof, recv_exact, wait_stderr)

pytestmark = pytest.mark.transitd_only

@pytest.mark.skipif(REFERENCE, reason="transitd only")
def test_event_add_failure_ends_the_connection(start_server, fault_so):
    """epoll_ctl refuses one client's socket (ENOSPC, as when
    fs.epoll.max_user_watches is reached): libevent's event_add fails.
    The relay must not leave that client hung: it closes it, writes its
    record (empty: it sent nothing), says why, counts it at exit, and
    serves the next clients."""
    port = free_port()
    srv = start_server(env=fault_env(fault_so, epoll_port=port))
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.settimeout(10)
    s.connect(("127.0.0.1", srv.port))
    assert read_to_eof(s) == b""
    s.close()
    wait_stderr(srv, "cannot wait for its events: No space left on device")
    assert [r["mood"] for r in srv.log.wait(1)] == ["empty"]
    # Everybody else is served.
    a, b = srv.pair()
    a.sendall(b"hello")
    assert recv_exact(b, 5) == b"hello"
    a.close()
    expect_closed_with(b, b"")
    srv.log.wait(2)
    assert srv.signal_and_wait() == 0
    err = srv.stderr_after_exit()
    assert "1 connection ended because its events could not be set" in err
