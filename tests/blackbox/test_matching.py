"""Matching by token and side; redundant waiters; tokens forgotten."""

import time

import pytest

from conftest import (REFERENCE, SOCK_TIMEOUT, assert_silent,
                      expect_closed_with, expect_ok, new_side, new_token,
                      read_to_eof, recv_exact, wait_read, wait_readable)


def split_winner(socks, timeout=SOCK_TIMEOUT):
    """Exactly one of socks gets ok; the others are closed with no reply.
    Returns (winner, losers)."""
    deadline = time.monotonic() + timeout
    first = {}
    while len(first) < len(socks):
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(first)} of {len(socks)} answered"
        r = wait_readable([s for s in socks if s not in first], left)
        for s in r:
            try:
                first[s] = s.recv(3)
            except ConnectionResetError:
                first[s] = b""
    winners = [s for s in socks if first[s] == b"ok\n"]
    losers = [s for s in socks if first[s] != b"ok\n"]
    assert len(winners) == 1, f"first bytes: {list(first.values())!r}"
    for s in losers:
        assert first[s] == b"", f"spare waiter got {first[s]!r}"
        expect_closed_with(s, b"")
    return winners[0], losers


def check_relay(a, b, n=1000):
    a.sendall(b"A" * n)
    b.sendall(b"B" * n)
    assert recv_exact(b, n) == b"A" * n
    assert recv_exact(a, n) == b"B" * n


def test_same_token_unsided_pair(server):
    a, b = server.pair()
    check_relay(a, b)


def test_different_sides_pair(server):
    a, b = server.pair(sides=(new_side(), new_side()))
    check_relay(a, b)


@pytest.mark.parametrize("order", ["unsided_first", "sided_first"])
def test_unsided_and_sided_pair(server, order):
    sides = (None, new_side()) if order == "unsided_first" else (new_side(), None)
    a, b = server.pair(sides=sides)
    check_relay(a, b)


def test_different_tokens_do_not_pair(server):
    a = server.client(new_token())
    b = server.client(new_token())
    assert_silent(a, 0.4)
    assert_silent(b, 0.05)


def test_same_side_never_pair_then_third_pairs(server):
    tok, s1 = new_token(), new_side()
    a = server.client(tok, s1)
    wait_read(a)                       # a waits longest
    b = server.client(tok, s1)
    wait_read(b)                       # both wait before c comes
    assert_silent(a, 0.5)
    assert_silent(b, 0.05)
    assert server.log.settle(0.05) == []
    c = server.client(tok, new_side())
    expect_ok(c)
    winner, losers = split_winner([a, b])
    if not REFERENCE:
        assert winner is a, "transitd must pick the longest-waiting match"
    check_relay(winner, c)
    recs = server.log.wait(1, mood="redundant")
    assert len(recs) == 1
    assert recs[0]["waiting_time"] is None and recs[0]["total_bytes"] == 0
    winner.close()
    server.log.wait(1, mood="happy")
    c_rest = read_to_eof(c)
    assert c_rest == b""
    assert server.log.settle(0.3) and server.log.moods() == ["happy", "redundant"]


def test_three_waiters_then_match(server):
    tok, s1 = new_token(), new_side()
    waiters = []
    for _ in range(3):
        waiters.append(server.client(tok, s1))
        wait_read(waiters[-1])         # registered in this order
    for w in waiters:
        assert_silent(w, 0.15)
    d = server.client(tok, new_side())
    expect_ok(d)
    winner, losers = split_winner(waiters)
    if not REFERENCE:
        assert winner is waiters[0], "transitd must pick the longest waiter"
    assert len(losers) == 2
    check_relay(winner, d)
    recs = server.log.wait(2, mood="redundant")
    assert len(recs) == 2
    for r in recs:
        assert r["waiting_time"] is None and r["total_bytes"] == 0
    d.close()
    assert read_to_eof(winner) == b""
    server.log.wait(1, mood="happy")
    server.log.settle(0.3)
    assert server.log.moods() == ["happy", "redundant", "redundant"]


def test_three_unsided_waiters_cannot_exist(server):
    # unsided connections pair at once, so the third one waits alone
    tok = new_token()
    a, b = server.pair(token=tok)
    c = server.client(tok)
    assert_silent(c, 0.3)
    check_relay(a, b, 10)


def test_token_forgotten_after_pairing(server):
    tok = new_token()
    a, b = server.pair(token=tok, sides=(new_side(), new_side()))
    c = server.client(tok, new_side())
    assert_silent(c, 0.5)
    assert_silent(a, 0.01)
    assert_silent(b, 0.01)
    d = server.client(tok, new_side())
    expect_ok(c)
    expect_ok(d)
    check_relay(a, b, 100)
    check_relay(c, d, 200)
    for s in (a, c):
        s.close()
    assert read_to_eof(b) == b""
    assert read_to_eof(d) == b""
    recs = server.log.wait(2, mood="happy")
    assert sorted(r["total_bytes"] for r in recs) == [200, 400]


def test_redundant_waiter_of_other_token_untouched(server):
    tok1, tok2, s1 = new_token(), new_token(), new_side()
    other = server.client(tok2, s1)
    a = server.client(tok1, s1)
    wait_read(other)
    wait_read(a)
    b = server.client(tok1, new_side())
    expect_ok(a)
    expect_ok(b)
    assert_silent(other, 0.3)          # not paired, not closed
    c = server.client(tok2, new_side())
    expect_ok(other)
    expect_ok(c)
