"""Impatience, relaying, close orders, usage records of pairs, volume."""

import hashlib
import signal
import socket
import subprocess
import struct
import threading
import time

import pytest

from conftest import (IMPATIENT_MOOD, REFERENCE, SOCK_TIMEOUT, assert_silent,
                      expect_closed_with, expect_ok, handshake, new_side,
                      new_token, pattern, read_to_eof, recv_exact,
                      send_in_chunks, sha, wait_read, wait_writable)


# -- impatience --------------------------------------------------------------

def test_impatient_data_before_ok(server):
    a = server.client(new_token(), new_side())
    assert_silent(a, 0.2)
    a.sendall(b"too early")
    expect_closed_with(a, b"impatient\n")
    recs = server.log.wait(1)
    assert [r["mood"] for r in recs] == [IMPATIENT_MOOD]
    assert recs[0]["waiting_time"] is None
    assert recs[0]["total_bytes"] == 0


def test_impatient_data_with_handshake_while_alone(server):
    a = server.connect()
    a.sendall(handshake(new_token()) + b"X")
    expect_closed_with(a, b"impatient\n")
    assert [r["mood"] for r in server.log.wait(1)] == [IMPATIENT_MOOD]


def test_impatient_waiter_token_released(server):
    tok = new_token()
    a = server.client(tok, new_side())
    wait_read(a)                     # a waiter, then impatient
    a.sendall(b"!")
    expect_closed_with(a, b"impatient\n")
    server.log.wait(1)
    # the impatient connection must not be paired with anyone later
    b = server.client(tok, new_side())
    assert_silent(b, 0.3)
    c = server.client(tok, new_side())
    expect_ok(b)
    expect_ok(c)


@pytest.mark.transitd_only
def test_data_with_completing_handshake_is_relayed(server):
    tok = new_token()
    a = server.client(tok, new_side())
    assert_silent(a, 0.2)
    b = server.connect()
    b.sendall(handshake(tok, new_side()) + b"early bytes")
    expect_ok(b)
    expect_ok(a)
    assert recv_exact(a, 11) == b"early bytes"
    a.sendall(b"reply")
    assert recv_exact(b, 5) == b"reply"
    b.close()
    assert read_to_eof(a) == b""
    recs = server.log.wait(1, mood="happy")
    assert recs[0]["total_bytes"] == 16


# -- relaying and records ----------------------------------------------------

def test_relay_both_ways_many_messages(server):
    a, b = server.pair(sides=(new_side(), new_side()))
    for i in range(50):
        msg = b"message %d " % i * (i + 1)
        a.sendall(msg)
        assert recv_exact(b, len(msg)) == msg
        b.sendall(msg[::-1])
        assert recv_exact(a, len(msg)) == msg[::-1]


@pytest.mark.parametrize("closer", ["first", "second"])
def test_close_order_and_single_happy_record(server, closer):
    tok = new_token()
    t0 = time.time()
    a = server.client(tok, new_side())
    wait_read(a)
    t_a = time.time()                # a was accepted before this
    time.sleep(0.4)                  # the waiting time to measure
    t1 = time.time()
    b = server.client(tok, new_side())
    expect_ok(a)
    expect_ok(b)
    t_ok = time.time()               # b was accepted before this
    da = pattern(1, 300_000)
    db = pattern(2, 123_457)
    x, y = (a, b) if closer == "first" else (b, a)
    dx, dy = (da, db) if closer == "first" else (db, da)
    # y sends, x reads it all, then x sends and closes at once
    y.sendall(dy)
    assert recv_exact(x, len(dy)) == dy
    x.sendall(dx)
    x.close()
    t_close = time.time()
    got = read_to_eof(y)
    assert len(got) == len(dx) and got == dx
    recs = server.log.wait(1)
    time_after = time.time()
    extra = server.log.settle(0.4)
    assert len(extra) == 1, [r["_raw"] for r in extra]
    rec = recs[0]
    assert rec["mood"] == "happy"
    assert rec["total_bytes"] == len(da) + len(db)
    assert isinstance(rec["waiting_time"], float)
    # Bounds from what the clients saw, true however slow the machine:
    # a was accepted between t0 and t_a, b between t1 and t_ok.
    eps = 0.005                      # float rounding, clock reads
    assert t1 - t_a - eps <= rec["waiting_time"] <= t_ok - t0 + eps, rec
    assert rec["total_time"] >= rec["waiting_time"]
    assert rec["total_time"] <= time_after - t0 + eps
    if not REFERENCE:
        # started is the acceptance of the first connection
        assert t0 - eps <= rec["started"] <= t_a + eps, (rec, t0, t_a)
        assert rec["total_time"] >= t_close - t_a - eps
    else:
        assert t0 - 0.5 <= rec["started"] <= time_after


@pytest.mark.parametrize("closer", ["first", "second"])
def test_close_flushes_queued_data(server, closer):
    """x sends 16 MiB to a y that is not reading yet, then closes at once:
    y must still get every byte, then EOF."""
    a, b = server.pair()
    x, y = (a, b) if closer == "first" else (b, a)
    data = pattern(16, 16 << 20)
    done = {}

    def send_and_close():
        try:
            send_in_chunks(x, data)
            done["sent"] = True
        except Exception as e:
            done["error"] = repr(e)
        finally:
            x.close()

    t = threading.Thread(target=send_and_close, daemon=True)
    t.start()
    time.sleep(0.5)                  # y is stalled; x blocks in send
    got = read_to_eof(y, timeout=30)
    t.join(10)
    assert done.get("sent"), done
    assert len(got) == len(data), f"got {len(got)} of {len(data)} bytes"
    assert sha(got) == sha(data)
    rec = server.log.wait(1)[0]
    assert rec["mood"] == "happy" and rec["total_bytes"] == len(data)


def test_server_closes_partner_without_half_close(server):
    a, b = server.pair()
    a.shutdown(socket.SHUT_WR)       # half-close by a
    # the relay closes b, and does not keep relaying b -> a
    assert read_to_eof(b) == b""
    try:
        b.sendall(b"late")
    except OSError:
        pass
    assert read_to_eof(a) == b""
    assert server.log.wait(1)[0]["mood"] == "happy"


def test_lonely_waiter(server):
    a = server.client(new_token(), new_side())
    wait_read(a)
    t_a = time.time()                # accepted before this
    assert_silent(a, 0.3)
    t_close = time.time()
    a.close()
    recs = server.log.wait(1)
    assert [r["mood"] for r in recs] == ["lonely"]
    assert recs[0]["waiting_time"] is None
    assert recs[0]["total_bytes"] == 0
    assert recs[0]["total_time"] >= t_close - t_a - 0.005


# -- volume ------------------------------------------------------------------

def _pump(sock_from, sock_to, data, result, key, deadline):
    def sender():
        try:
            send_in_chunks(sock_from, data)
            result[key + "_sent"] = True
        except Exception as e:       # reported by the main thread
            result[key + "_send_error"] = repr(e)

    def receiver():
        h = hashlib.sha256()
        n = 0
        buf = bytearray(1 << 20)
        try:
            while n < len(data) and time.monotonic() < deadline:
                k = sock_to.recv_into(buf)
                if not k:
                    break
                h.update(memoryview(buf)[:k])
                n += k
        except Exception as e:
            result[key + "_recv_error"] = repr(e)
        result[key + "_n"] = n
        result[key + "_hash"] = h.hexdigest()

    return [threading.Thread(target=sender, daemon=True),
            threading.Thread(target=receiver, daemon=True)]


def test_64mib_both_directions(server):
    n = 64 << 20
    da, db = pattern(64, n), pattern(65, n)
    a, b = server.pair(sides=(new_side(), new_side()))
    result = {}
    deadline = time.monotonic() + 60
    threads = _pump(a, b, da, result, "ab", deadline) + \
        _pump(b, a, db, result, "ba", deadline)
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"transfer stuck: {result}"
    assert result.get("ab_n") == n and result.get("ba_n") == n, result
    assert result["ab_hash"] == sha(da), "a->b data corrupted"
    assert result["ba_hash"] == sha(db), "b->a data corrupted"
    a.close()
    assert read_to_eof(b) == b""
    rec = server.log.wait(1)[0]
    assert rec["mood"] == "happy" and rec["total_bytes"] == 2 * n


def test_stalled_receiver_applies_backpressure(server):
    limit = 64 << 20
    data = pattern(7, limit)
    a, b = server.pair()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    a.setblocking(False)
    mv = memoryview(data)
    pushed = 0
    end = time.monotonic() + 3.0
    max_rss = 0
    while time.monotonic() < end and pushed < limit:
        try:
            pushed += a.send(mv[pushed:pushed + (256 << 10)])
        except BlockingIOError:
            wait_writable(a, 0.05)
        if not REFERENCE and int(time.monotonic() * 10) % 5 == 0:
            max_rss = max(max_rss, server.rss_kib())
    assert pushed < limit, "sender was never slowed down: no backpressure"
    if not REFERENCE:
        max_rss = max(max_rss, server.rss_kib())
        assert max_rss < 40 * 1024, f"transitd RSS {max_rss} KiB while stalled"
    a.setblocking(True)
    a.settimeout(SOCK_TIMEOUT)
    # now b reads everything
    got = recv_exact(b, pushed, timeout=30)
    assert sha(got) == sha(data[:pushed])
    # and the flow resumes
    a.sendall(mv[pushed:pushed + (1 << 20)])
    got = recv_exact(b, 1 << 20, timeout=30)
    assert got == data[pushed:pushed + (1 << 20)]
    a.close()
    assert read_to_eof(b) == b""
    rec = server.log.wait(1)[0]
    assert rec["mood"] == "happy" and rec["total_bytes"] == pushed + (1 << 20)


def test_200_concurrent_pairs(server):
    npairs = 200
    pairs = []
    toks = [new_token() for _ in range(npairs)]
    firsts = [server.client(t, new_side()) for t in toks]
    seconds = [server.client(t, new_side()) for t in toks]
    for s in firsts + seconds:
        expect_ok(s)
    sizes = [(1000 + 37 * i, 5000 - 13 * i) for i in range(npairs)]
    for i in range(npairs):
        firsts[i].sendall(pattern(2 * i, sizes[i][0]))
        seconds[i].sendall(pattern(2 * i + 1, sizes[i][1]))
    for i in range(npairs):
        assert recv_exact(seconds[i], sizes[i][0]) == pattern(2 * i, sizes[i][0])
        assert recv_exact(firsts[i], sizes[i][1]) == pattern(2 * i + 1, sizes[i][1])
    for i in range(npairs):
        (firsts if i % 2 else seconds)[i].close()
    for i in range(npairs):
        other = (seconds if i % 2 else firsts)[i]
        assert read_to_eof(other) == b""
    recs = server.log.wait(npairs, mood="happy", timeout=20)
    server.log.settle(0.3)
    assert len(server.log.records) == npairs
    assert sorted(r["total_bytes"] for r in recs) == \
        sorted(x + y for x, y in sizes)


# -- edge cases around pairing and closing -------------------------------------

@pytest.mark.transitd_only
def test_completing_handshake_followed_by_a_lot_of_data(server):
    tok = new_token()
    a = server.client(tok, new_side())
    assert_silent(a, 0.2)
    b = server.connect()
    data = pattern(99, 4 << 20)
    t = threading.Thread(target=lambda: b.sendall(handshake(tok, new_side())
                                                  + data), daemon=True)
    t.start()
    expect_ok(a)
    got = recv_exact(a, len(data), timeout=30)
    t.join(10)
    expect_ok(b)
    assert sha(got) == sha(data)


def test_completing_handshake_then_immediate_close(server):
    tok = new_token()
    a = server.client(tok, new_side())
    assert_silent(a, 0.2)
    b = server.connect()
    b.sendall(handshake(tok, new_side()))
    b.close()
    assert read_to_eof(a) == b"ok\n"
    recs = server.log.wait(1)
    server.log.settle(0.3)
    assert server.log.moods() == ["happy"]
    assert recs[0]["total_bytes"] == 0


@pytest.mark.transitd_only
def test_completing_handshake_data_then_close(server):
    tok = new_token()
    a = server.client(tok)
    assert_silent(a, 0.2)
    b = server.connect()
    b.sendall(handshake(tok) + b"last words")
    b.close()
    assert read_to_eof(a) == b"ok\nlast words"
    assert server.log.wait(1)[0]["total_bytes"] == 10


@pytest.mark.parametrize("who", ["first", "second"])
def test_reset_while_paired(server, who):
    a, b = server.pair()
    a.sendall(b"abc")
    assert recv_exact(b, 3) == b"abc"
    x, y = (a, b) if who == "first" else (b, a)
    x.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 struct.pack("ii", 1, 0))
    x.close()                        # sends RST
    assert read_to_eof(y) == b""
    rec = server.log.wait(1)[0]
    server.log.settle(0.3)
    assert server.log.moods() == ["happy"]
    assert rec["total_bytes"] == 3


def test_reset_while_waiting_is_lonely(server):
    a = server.client(new_token(), new_side())
    assert_silent(a, 0.2)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    a.close()
    assert [r["mood"] for r in server.log.wait(1)] == ["lonely"]


def test_lonely_waiter_token_reusable(server):
    tok = new_token()
    a = server.client(tok)
    assert_silent(a, 0.2)
    a.close()
    server.log.wait(1, mood="lonely")
    b = server.client(tok)
    assert_silent(b, 0.3)
    c = server.client(tok)
    expect_ok(b)
    expect_ok(c)


@pytest.mark.transitd_only
def test_second_sigterm_with_stalled_pair_exits_promptly(server):
    """The first SIGTERM lets the live pair drain; the second ends it at
    once, even with undeliverable bytes queued, and still records it."""
    a, b = server.pair()
    a.setblocking(False)
    data = pattern(3, 32 << 20)
    pushed = 0
    end = time.monotonic() + 1.5
    while time.monotonic() < end and pushed < len(data):
        try:
            pushed += a.send(memoryview(data)[pushed:pushed + (256 << 10)])
        except BlockingIOError:
            wait_writable(a, 0.05)
    # b never reads: transitd holds undeliverable data for b
    server.proc.send_signal(signal.SIGTERM)
    with pytest.raises(subprocess.TimeoutExpired):
        server.proc.wait(1.0)                   # draining the live pair
    # promptly: well before the 60 s the drain would take
    assert server.signal_and_wait(timeout=30) == 0
    recs = server.log.drain_to_eof()
    assert [r["mood"] for r in recs] == ["happy"]
    assert 0 < recs[0]["total_bytes"] <= pushed
