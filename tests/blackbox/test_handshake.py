"""Handshake line: good forms, bad forms, length limit, byte-at-a-time."""

import pytest

from conftest import (REFERENCE, assert_silent, expect_closed_with, expect_ok,
                      handshake, new_side, new_token, recv_exact, wait_read)


def test_unsided_handshake_pairs(server):
    tok = new_token()
    a = server.client(tok)
    assert_silent(a, 0.2)            # no ok before a partner exists
    b = server.client(tok)
    expect_ok(a)
    expect_ok(b)
    a.sendall(b"x")
    assert recv_exact(b, 1) == b"x"
    assert_silent(a, 0.2)            # ok is sent once only


def test_sided_handshake_pairs(server):
    tok = new_token()
    a = server.client(tok, new_side())
    assert_silent(a, 0.2)
    b = server.client(tok, new_side())
    expect_ok(a)
    expect_ok(b)
    b.sendall(b"y")
    assert recv_exact(a, 1) == b"y"
    assert_silent(b, 0.2)


TOK = "0123456789abcdef" * 4
BAD_LINES = {
    "junk": b"hello world\n",
    "crlf": b"please relay " + TOK.encode() + b"\r\n",
    "crlf_sided": b"please relay " + TOK.encode() + b" for side 0123456789abcdef\r\n",
    "token63": b"please relay " + TOK[:63].encode() + b"\n",
    "token65": b"please relay " + TOK.encode() + b"a\n",
    "side15": b"please relay " + TOK.encode() + b" for side 0123456789abcde\n",
    "side17": b"please relay " + TOK.encode() + b" for side 0123456789abcdef0\n",
    "for_side_no_side": b"please relay " + TOK.encode() + b" for side \n",
    "uppercase_verb": b"PLEASE RELAY " + TOK.encode() + b"\n",
    "extra_space": b"please relay  " + TOK.encode() + b"\n",
    "trailing_space": b"please relay " + TOK.encode() + b" \n",
    "extra_space_sided": b"please relay " + TOK.encode() + b" for side  0123456789abcdef\n",
    "nonword_token": b"please relay " + TOK[:63].encode() + b"-\n",
    "binary": bytes(range(256)).replace(b"\n", b"") + b"\n",
    "empty": b"\n",
    "exactly_1024": b"a" * 1024 + b"\n",
}
# The Debian reference (0.2.x) waits forever for more bytes on these.
REFERENCE_HANGS = {"token63", "side15"}


@pytest.mark.parametrize("name", sorted(BAD_LINES))
def test_bad_handshake(server, name):
    if REFERENCE and name in REFERENCE_HANGS:
        pytest.skip("the reference waits for more bytes on this line")
    s = server.connect()
    s.sendall(BAD_LINES[name])
    expect_closed_with(s, b"bad handshake\n")
    recs = server.log.wait(1)
    assert [r["mood"] for r in recs] == ["errory"]
    rec = recs[0]
    assert rec["waiting_time"] is None
    assert rec["total_bytes"] == 0


@pytest.mark.transitd_only
def test_errory_record_written_before_client_closes(server):
    s = server.connect()
    s.sendall(b"nonsense\n")
    assert recv_exact(s, len(b"bad handshake\n")) == b"bad handshake\n"
    # the client keeps its end open: the record must exist already
    recs = server.log.wait(1, timeout=5)
    assert recs[0]["mood"] == "errory"
    expect_closed_with(s, b"")


@pytest.mark.transitd_only
@pytest.mark.parametrize("payload", [
    b"a" * 1025,                      # over the limit, no newline yet
    b"a" * 1025 + b"\n",              # over the limit with its newline
    b"please relay " + b"b" * 3000,   # much longer, no newline
    b"x" * 2000 + b"\n",
], ids=["1025", "1025nl", "3013", "2000nl"])
def test_overlong_first_line_closed_without_reply(server, payload):
    s = server.connect()
    s.sendall(payload)
    expect_closed_with(s, b"")
    recs = server.log.wait(1)
    assert [r["mood"] for r in recs] == ["empty"]
    assert recs[0]["waiting_time"] is None
    assert recs[0]["total_bytes"] == 0


@pytest.mark.transitd_only
def test_1024_bytes_without_newline_still_waits(server):
    s = server.connect()
    s.sendall(b"a" * 1024)
    assert_silent(s, 0.4)
    s.sendall(b"\n")
    expect_closed_with(s, b"bad handshake\n")
    assert server.log.wait(1)[0]["mood"] == "errory"


@pytest.mark.parametrize("sided", [False, True], ids=["unsided", "sided"])
def test_handshake_one_byte_at_a_time(server, sided):
    tok = new_token()
    line = handshake(tok, new_side() if sided else None)
    a = server.connect()
    for i in range(len(line)):
        a.sendall(line[i:i + 1])
        wait_read(a)                 # read byte by byte
    assert_silent(a, 0.1)
    b = server.client(tok, new_side() if sided else None)
    expect_ok(a)
    expect_ok(b)
    a.sendall(b"hello")
    assert recv_exact(b, 5) == b"hello"


def test_handshake_split_both_connections(server):
    tok = new_token()
    la, lb = handshake(tok, new_side()), handshake(tok, new_side())
    a = server.connect()
    b = server.connect()
    a.sendall(la[:20])
    b.sendall(lb[:50])
    wait_read(a)                     # each part read on its own
    wait_read(b)
    a.sendall(la[20:])
    wait_read(a)
    assert_silent(a, 0.1)
    b.sendall(lb[50:])
    expect_ok(a)
    expect_ok(b)


@pytest.mark.transitd_only
def test_connect_and_close_without_sending_is_empty(server):
    s = server.connect()
    wait_read(s)                     # accepted
    s.close()
    recs = server.log.wait(1)
    assert [r["mood"] for r in recs] == ["empty"]
    assert recs[0]["waiting_time"] is None
    assert recs[0]["total_bytes"] == 0


@pytest.mark.transitd_only
def test_partial_handshake_then_close_is_empty(server):
    s = server.connect()
    s.sendall(handshake(new_token())[:30])
    wait_read(s)
    s.close()
    recs = server.log.wait(1)
    assert [r["mood"] for r in recs] == ["empty"]


def test_token_and_side_are_word_characters(server):
    tok = "Ab_9" * 16
    a = server.client(tok, "Z_z_" * 4)
    b = server.client(tok, "q_Q_" * 4)
    expect_ok(a)
    expect_ok(b)


def test_tokens_are_case_sensitive(server):
    tok = new_token()
    a = server.client(tok)
    b = server.client(tok.upper())
    assert_silent(a, 0.3)
    assert_silent(b, 0.01)
    c = server.client(tok.upper())
    expect_ok(b)
    expect_ok(c)
    assert_silent(a, 0.1)
