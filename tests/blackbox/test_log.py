"""JSON usage lines (--log-fd), blurring, and a log fd that cannot be
written."""

import fcntl
import re
import signal
import time

import pytest

from conftest import (REFERENCE, expect_closed_with, expect_ok, new_side,
                      new_token, read_to_eof, recv_exact, wait_read)

FLOAT = r"-?[0-9]+(?:\.[0-9]+)?(?:e[+-][0-9]+)?"
LINE = re.compile(
    r'^\{"started": (%s), "total_time": (%s), "waiting_time": (%s|null), '
    r'"total_bytes": ([0-9]+), "mood": "(happy|lonely|errory|empty|'
    r'impatient|redundant)"\}$' % (FLOAT, FLOAT, FLOAT))


def make_happy(server, nbytes_a, nbytes_b, **kw):
    a, b = server.pair(sides=(new_side(), new_side()), **kw)
    if nbytes_a:
        a.sendall(b"a" * nbytes_a)
        assert recv_exact(b, nbytes_a) == b"a" * nbytes_a
    if nbytes_b:
        b.sendall(b"b" * nbytes_b)
        assert recv_exact(a, nbytes_b) == b"b" * nbytes_b
    a.close()
    assert read_to_eof(b) == b""
    b.close()


def make_lonely(server):
    s = server.client(new_token(), new_side())
    wait_read(s)                     # a waiter, then gone
    s.close()


def make_errory(server):
    s = server.connect()
    s.sendall(b"GET / HTTP/1.0\n")
    expect_closed_with(s, b"bad handshake\n")
    s.close()


def test_json_lines_exact_format(server):
    t0 = time.time()
    make_happy(server, 10, 20, delay=0.2)
    server.log.wait(1)
    make_lonely(server)
    server.log.wait(2)
    make_errory(server)
    recs = server.log.wait(3)
    # many quick records: tiny durations must be formatted like repr() too
    # (e.g. 5.1021575927734375e-05); parse_log_line checks every one
    for _ in range(30):
        make_errory(server)
    server.log.wait(33)
    t1 = time.time()
    assert [r["mood"] for r in recs[:3]] == ["happy", "lonely", "errory"]
    for r in recs[:3]:
        raw = r["_raw"]
        m = LINE.match(raw)
        assert m, raw
        started, total_time, waiting = m.group(1), m.group(2), m.group(3)
        assert "." in started or "e" in started, raw
        assert repr(float(started)) == started, raw
        assert repr(float(total_time)) == total_time, raw
        assert t0 - 1 <= float(started) <= t1, raw
        assert float(started) != int(float(started)) or REFERENCE, \
            f"started should keep sub-second precision: {raw}"
        assert 0 <= float(total_time) <= t1 - t0 + 1, raw
    happy, lonely, errory = recs[:3]
    assert happy["total_bytes"] == 30
    assert 0.2 - 0.005 <= happy["waiting_time"] <= t1 - t0
    assert lonely["waiting_time"] is None and '"waiting_time": null' in lonely["_raw"]
    assert errory["waiting_time"] is None and errory["total_bytes"] == 0
    assert lonely["total_bytes"] == 0
    assert '"total_bytes": 0,' in lonely["_raw"]


def test_no_log_fd_still_relays(start_server):
    server = start_server(log=False)
    a, b = server.pair()
    a.sendall(b"hi")
    assert recv_exact(b, 2) == b"hi"


def test_blur_usage(start_server):
    server = start_server(blur=3600)
    # Pairs relayed by different threads may end in either order: each
    # record is awaited before the next pair, so the order is known.
    for i, make in enumerate([
            lambda: make_happy(server, 1, 0),
            lambda: make_happy(server, 10000, 1),
            lambda: make_happy(server, 0, 0),
            lambda: make_lonely(server),
            lambda: make_happy(server, 1_000_001, 0),
            lambda: make_happy(server, 5000, 5000),
            lambda: make_happy(server, 999_999, 0)]):
        make()
        server.log.wait(i + 1)
    recs = server.log.wait(7)
    assert [r["mood"] for r in recs] == ["happy"] * 3 + ["lonely"] + ["happy"] * 3
    assert [r["total_bytes"] for r in recs] == [10000, 20000, 0, 0, 2000000,
                                                10000, 1000000]
    now = time.time()
    for r in recs:
        assert r["started"] % 3600 == 0, r["_raw"]
        assert now - 3600 - 60 <= r["started"] <= now, r["_raw"]
        assert re.match(r'^\{"started": [0-9]+\.0, ', r["_raw"]), r["_raw"]
        # durations are not blurred
        assert r["total_time"] < 60
    assert recs[0]["waiting_time"] is not None and recs[0]["waiting_time"] < 60


@pytest.mark.transitd_only
def test_blur_usage_separate_argument_form(start_server):
    server = start_server(args=["--port", "tcp:0:interface=127.0.0.1",
                                "--blur-usage", "60", "--log-fd", "{LOGFD}"],
                          nlisten=1)
    make_happy(server, 1, 1)
    rec = server.log.wait(1)[0]
    assert rec["total_bytes"] == 10000
    assert rec["started"] % 60 == 0


# -- a log fd that cannot be written -------------------------------------------

def _pairs_work(server, n):
    for i in range(n):
        a, b = server.pair(sides=(new_side(), new_side()))
        a.sendall(b"x" * (i + 1))
        assert recv_exact(b, i + 1) == b"x" * (i + 1)
        b.sendall(b"y")
        assert recv_exact(a, 1) == b"y"
        (a if i % 2 else b).close()
        assert read_to_eof(b if i % 2 else a) == b""


def _stderr_mentions_lost(server):
    # accept the message at the time of loss or at exit
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if "lost" in server.err.text().lower():
            break
        time.sleep(0.05)
    assert server.signal_and_wait(signal.SIGTERM) == 0
    err = server.stderr_after_exit()
    assert "lost" in err.lower(), f"stderr does not mention lost lines:\n{err}"
    for line in err.splitlines():
        assert line.startswith("transitd: "), f"stderr line: {line!r}"


@pytest.mark.transitd_only
def test_log_reader_closed(server):
    server.log.close_read()
    _pairs_work(server, 6)
    # errory and lonely records are lost too, without harm
    make_errory(server)
    make_lonely(server)
    _pairs_work(server, 2)
    assert server.alive()
    _stderr_mentions_lost(server)


@pytest.mark.transitd_only
def test_log_pipe_full(start_server):
    server = start_server()
    # shrink the pipe to one page, and never read it while working
    fcntl.fcntl(server.log.r, fcntl.F_SETPIPE_SZ, 4096)
    for _ in range(400):             # ~100 bytes per record: ~10 pages
        make_errory(server)          # each answered: the relay never waits
    _pairs_work(server, 3)
    assert server.alive()
    _stderr_mentions_lost(server)
    # what did reach the pipe is whole lines only
    recs = server.log.drain_to_eof()
    assert 1 <= len(recs) < 400 + 3


@pytest.mark.transitd_only
def test_log_fd_not_open(start_server):
    server = start_server(log=False, args=["--port=tcp:0:interface=127.0.0.1",
                                           "--log-fd=57"], nlisten=1)
    _pairs_work(server, 3)
    make_errory(server)
    _pairs_work(server, 1)
    assert server.alive()
