"""WebSocket framing as transitd checks it (RFC 6455 section 5): malformed
frames get close 1002, close payloads, oversized handshakes (1009), pings.
Contract: PROTOCOL.md (WebSocket flavour)."""

import struct

import pytest

from conftest import (assert_silent, expect_ok, handshake, new_side,
                      new_token, read_to_eof, recv_exact, wait_read)
from wsutil import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT,
                    WSConn, build_request, encode_frame, make_key,
                    request_fields, ws_client, ws_connect,
                    ws_silent, ws, only_moods, pairs_with_tcp)  # noqa: F401

pytestmark = pytest.mark.transitd_only


def in_state(server, state, partner="tcp"):
    """A WebSocket client in state fresh (upgraded), waiting (handshake
    sent, alone) or paired (after ok, 'hello' already relayed to the
    partner). Returns (client, partner or None)."""
    if state == "fresh":
        return ws_connect(server), None
    tok = new_token()
    c = ws_client(server, tok, new_side())
    ws_silent(c, 0.05)
    if state == "waiting":
        return c, None
    if partner == "tcp":
        p = server.client(tok, new_side())
        c.expect_ok()
        expect_ok(p)
        c.send_binary(b"hello")
        assert recv_exact(p, 5) == b"hello"
    else:
        p = ws_client(server, tok, new_side())
        c.expect_ok()
        p.expect_ok()
        c.send_binary(b"hello")
        assert p.recv_data(5) == b"hello"
    return c, p


def check_end(server, state, c, p, code, relayable=b"", partner="tcp"):
    """c got close code then EOF; records and the partner as the state
    says. relayable: bytes the relay may have passed on before it saw the
    error."""
    c.expect_closed(code)
    if state != "paired":
        rec = only_moods(server, ["errory"])[0]
        assert rec["total_bytes"] == 0
        return
    if partner == "tcp":
        got = read_to_eof(p)
    else:
        got, f = p.read_until_close()
        assert f.code == 1000, f
        p.send_close(1000)              # the relay waits for this answer
        p.expect_eof()
    assert relayable.startswith(got), got
    rec = only_moods(server, ["happy"])[0]
    assert rec["total_bytes"] == 5 + len(got)


def F(*a, **kw):
    return encode_frame(*a, **kw)


MALFORMED = {
    # name: (bytes, payload the relay may pass on first)
    "unmasked": (F(OP_BINARY, b"data", masked=False), b""),
    "unmasked_ping": (F(OP_PING, b"p", masked=False), b""),
    "rsv1": (F(OP_BINARY, b"data", rsv=4), b""),
    "rsv2": (F(OP_BINARY, b"data", rsv=2), b""),
    "rsv3": (F(OP_BINARY, b"data", rsv=1), b""),
    "rsv1_ping": (F(OP_PING, b"p", rsv=4), b""),
    "opcode_3": (F(3, b"data"), b""),
    "opcode_7": (F(7, b"data"), b""),
    "opcode_b": (F(0xB, b"data"), b""),
    "opcode_f": (F(0xF, b"data"), b""),
    "fragmented_ping": (F(OP_PING, b"p", fin=False), b""),
    "fragmented_pong": (F(OP_PONG, b"p", fin=False), b""),
    "fragmented_close": (F(OP_CLOSE, b"\x03\xe8", fin=False), b""),
    "oversized_ping": (F(OP_PING, b"p" * 126), b""),
    "oversized_pong": (F(OP_PONG, b"p" * 126), b""),
    "oversized_close": (F(OP_CLOSE, b"\x03\xe8" + b"r" * 124), b""),
    "continuation_without_start": (F(OP_CONT, b"x"), b""),
    "continuation_without_start_nofin": (F(OP_CONT, b"x", fin=False), b""),
    # (b"p" could still start a handshake: no bad handshake when fresh)
    "continuation_after_message_end": (F(OP_BINARY, b"p") + F(OP_CONT, b"b"),
                                       b"p"),
    "binary_inside_fragmented": (F(OP_BINARY, b"a", fin=False) +
                                 F(OP_BINARY, b"b"), b"a"),
    "text_inside_fragmented": (F(OP_BINARY, b"a", fin=False) +
                               F(OP_TEXT, b"b"), b"a"),
    "len64_top_bit": (F(OP_BINARY, b"", length_form=64, declared=1 << 63),
                      b""),
    "len64_all_ones": (F(OP_BINARY, b"", length_form=64,
                         declared=(1 << 64) - 1), b""),
    "nonminimal_16": (F(OP_BINARY, b"hello", length_form=16), b""),
    "nonminimal_16_zero": (F(OP_BINARY, b"", length_form=16), b""),
    "nonminimal_64_small": (F(OP_BINARY, b"hello", length_form=64), b""),
    "nonminimal_64_medium": (F(OP_BINARY, b"x" * 1000, length_form=64), b""),
    "nonminimal_64_65535": (F(OP_BINARY, b"", length_form=64,
                              declared=65535), b""),
    "nonminimal_16_ping": (F(OP_PING, b"p", length_form=16), b""),
}


@pytest.mark.parametrize("state", ["fresh", "paired"])
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_frame_1002(ws, name, state):
    data, relayable = MALFORMED[name]
    c, p = in_state(ws, state)
    c.send_raw(data)
    check_end(ws, state, c, p, 1002, relayable)


@pytest.mark.parametrize("name", ["unmasked", "rsv1", "opcode_3",
                                  "oversized_ping", "len64_top_bit",
                                  "continuation_without_start",
                                  "nonminimal_16"])
def test_malformed_frame_while_waiting_1002(ws, name):
    c, p = in_state(ws, "waiting")
    c.send_raw(MALFORMED[name][0])
    check_end(ws, "waiting", c, p, 1002)


@pytest.mark.parametrize("name", ["rsv1", "binary_inside_fragmented",
                                  "len64_top_bit"])
def test_malformed_frame_ws_partner_gets_1000(ws, name):
    data, relayable = MALFORMED[name]
    c, p = in_state(ws, "paired", partner="ws")
    c.send_raw(data)
    check_end(ws, "paired", c, p, 1002, relayable, partner="ws")


def test_malformed_header_split_across_writes(ws):
    """A frame header that arrives a byte at a time is still checked."""
    c, p = in_state(ws, "paired")
    good = F(OP_BINARY, b"z" * 300)
    for i in range(len(good)):
        c.send_raw(good[i:i + 1])
    assert recv_exact(p, 300) == b"z" * 300
    bad = F(OP_BINARY, b"hello", length_form=16)
    for i in range(8):                  # the whole header, mask key too
        c.send_raw(bad[i:i + 1])
        wait_read(c.sock)               # each byte read on its own
    c.expect_closed(1002)
    assert read_to_eof(p) == b""
    assert only_moods(ws, ["happy"])[0]["total_bytes"] == 305


# -- close payloads ------------------------------------------------------------

BAD_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
             5000, 65535]
GOOD_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1011, 1012, 1014, 3000,
              4000, 4999]
BAD_UTF8 = {"ff": b"\xff", "overlong_nul": b"\xc0\x80",
            "surrogate": b"\xed\xa0\x80", "truncated": b"abc\xe2\x82",
            "above_10ffff": b"\xf4\x90\x80\x80", "lone_continuation": b"\x80",
            "overlong_3": b"\xe0\x80\xaf"}


@pytest.mark.parametrize("state", ["fresh", "paired"])
def test_close_payload_one_byte_1002(ws, state):
    c, p = in_state(ws, state)
    c.send_frame(OP_CLOSE, b"\x03")
    check_end(ws, state, c, p, 1002)


@pytest.mark.parametrize("code", BAD_CODES)
def test_close_invalid_code_1002(ws, code):
    c, p = in_state(ws, "fresh")
    c.send_close(code)
    check_end(ws, "fresh", c, p, 1002)


def test_close_invalid_code_paired_1002(ws):
    c, p = in_state(ws, "paired")
    c.send_close(1005)
    check_end(ws, "paired", c, p, 1002)


@pytest.mark.parametrize("name", sorted(BAD_UTF8))
def test_close_reason_not_utf8_1007(ws, name):
    c, p = in_state(ws, "fresh")
    c.send_close(1000, b"bye " + BAD_UTF8[name])
    check_end(ws, "fresh", c, p, 1007)


def test_close_reason_not_utf8_paired_1007(ws):
    c, p = in_state(ws, "paired")
    c.send_close(1001, b"\xff\xfe")
    check_end(ws, "paired", c, p, 1007)


@pytest.mark.parametrize("code", GOOD_CODES)
def test_close_valid_code_echoed(ws, code):
    c, p = in_state(ws, "fresh")
    c.send_close(code, b"reason")
    c.expect_closed(code)
    only_moods(ws, ["empty"])


def test_close_longest_valid_reason_echoed(ws):
    c, p = in_state(ws, "paired")
    reason = ("é" * 61 + "x").encode()           # 123 bytes: payload 125
    assert len(reason) == 123
    c.send_close(4321, reason)
    c.expect_closed(4321)
    assert read_to_eof(p) == b""
    assert only_moods(ws, ["happy"])[0]["total_bytes"] == 5


def test_close_while_waiting_is_lonely(ws):
    c, _ = in_state(ws, "waiting")
    c.send_close(1001)
    c.expect_closed(1001)
    only_moods(ws, ["lonely"])


def test_nothing_read_after_close(ws):
    """Frames after the client's close frame are not relayed."""
    c, p = in_state(ws, "paired")
    c.send_raw(F(OP_BINARY, b"last") + F(OP_CLOSE, struct.pack("!H", 1000))
               + F(OP_BINARY, b"after close"))
    c.expect_closed(1000)
    assert read_to_eof(p) == b"last"
    assert only_moods(ws, ["happy"])[0]["total_bytes"] == 9


# -- text messages ---------------------------------------------------------------

@pytest.mark.parametrize("frames", ["empty", "fragmented", "utf8"])
def test_text_variants_1003(ws, frames):
    c, p = in_state(ws, "fresh")
    if frames == "empty":
        c.send_text(b"")
    elif frames == "fragmented":
        c.send_raw(F(OP_TEXT, b"hel", fin=False) + F(OP_CONT, b"lo"))
    else:
        c.send_text("please relay ✓".encode())
    check_end(ws, "fresh", c, p, 1003)


def test_text_handshake_is_not_a_handshake(ws):
    tok = new_token()
    t = ws.client(tok)
    wait_read(t)
    c = ws_connect(ws)
    c.send_text(handshake(tok))
    c.expect_closed(1003)
    assert_silent(t, 0.2)                # not paired with the text sender
    only_moods(ws, ["errory"])


# -- oversized handshake -------------------------------------------------------------

@pytest.mark.parametrize("how", ["one_fragment", "many_fragments",
                                 "handshake_prefix"])
def test_oversized_handshake_1009(ws, how):
    c, _ = in_state(ws, "fresh")
    if how == "one_fragment":
        c.send_frame(OP_BINARY, b"a" * 1100, fin=False)
    elif how == "many_fragments":
        c.send_raw(F(OP_BINARY, b"b" * 100, fin=False) +
                   b"".join(F(OP_CONT, b"b" * 100, fin=False)
                            for _ in range(10)))
    else:
        c.send_frame(OP_BINARY, b"please relay " + b"c" * 1200, fin=False)
    c.expect_closed(1009)
    only_moods(ws, ["errory"])


def test_oversized_handshake_boundary(ws):
    c, _ = in_state(ws, "fresh")
    c.send_frame(OP_BINARY, b"a" * 1024, fin=False)
    ws_silent(c, 0.3)                    # 1024 bytes, message open: waits
    c.send_frame(OP_CONT, b"a", fin=False)
    c.expect_closed(1009)
    only_moods(ws, ["errory"])


# -- pings -----------------------------------------------------------------------------

def test_pings_answered(ws):
    """Each ping gets its pong; of pings sent back to back, at least the
    last (RFC 6455 5.5.3 lets an endpoint answer only the latest)."""
    c, _ = in_state(ws, "fresh")
    for i in range(20):
        c.send_ping(b"one %d" % i)
        f = c.recv_frame()
        assert f is not None and (f.opcode, f.payload) == \
            (OP_PONG, b"one %d" % i), (i, f)
    c.send_raw(b"".join(F(OP_PING, b"%d" % i) for i in range(200)))
    last = -1
    for _ in range(200):
        f = c.recv_frame()
        assert f is not None and f.opcode == OP_PONG, f
        i = int(f.payload)
        assert last < i < 200, (last, f)
        last = i
        if i == 199:
            break
    ws_silent(c, 0.2)
    pairs_with_tcp(ws, c)


def test_unsolicited_pongs_ignored(ws):
    c, p = in_state(ws, "paired")
    c.send_raw(b"".join(F(OP_PONG, b"x" * (i % 126)) for i in range(100)))
    ws_silent(c, 0.3)
    assert_silent(p, 0.0)
    c.send_binary(b"!")
    assert recv_exact(p, 1) == b"!"
    p.sendall(b"?")
    assert c.recv_data(1) == b"?"


def test_ping_before_upgrade_response_read(ws):
    """Frames sent right behind the Upgrade request (same write) work."""
    s = ws.connect(port=ws.wsport)
    c = WSConn(s)
    c.key = make_key()
    tok = new_token()
    c.send_raw(build_request(request_fields(ws.wsport, c.key)) +
               F(OP_PING, b"early") + F(OP_BINARY, handshake(tok)))
    c.read_upgrade_response()
    f = c.recv_frame()
    assert (f.opcode, f.payload) == (OP_PONG, b"early"), f
    t = ws.client(tok)
    c.expect_ok()
    expect_ok(t)
