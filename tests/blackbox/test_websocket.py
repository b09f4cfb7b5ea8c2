"""The WebSocket flavour of transitd (--websocket, --websocket-url): command
line, the HTTP Upgrade, the relay over WebSocket (WS-WS, WS-TCP, TCP-WS),
moods and records, backpressure, robustness. Framing errors are in
test_websocket_frames.py. Contract: PROTOCOL.md (WebSocket flavour)."""

import asyncio
import random
import socket
import sqlite3
import threading
import time

import pytest

from conftest import (IMPATIENT_MOOD, LISTEN_RE, SOCK_TIMEOUT, assert_silent,
                      expect_ok, handshake, new_side,
                      new_token, pattern, read_to_eof, recv_exact,
                      run, send_in_chunks, sha, wait_read, wait_readable,
                      wait_writable)
from wsutil import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG,
                    WS_LISTEN_RE, ABClient, Bg, WSConn, autobahn_run,
                    build_request, encode_frame, make_key, read_refusal,
                    request_fields, run_threads, start_ws, tcp_recv_stream,
                    ws_client, ws_connect, ws_listeners, ws_recv_stream,
                    ws_send_stream, ws_silent, ws, only_moods,
                    pairs_with_tcp)  # noqa: F401

pytestmark = pytest.mark.transitd_only

TCP_EP = "tcp:0:interface=127.0.0.1"


def ws_tcp_pair(server, ws_first=True, sides=True):
    tok = new_token()
    sa, sb = (new_side(), new_side()) if sides else (None, None)
    if ws_first:
        w = ws_client(server, tok, sa)
        wait_read(w.sock)               # w registers first
        t = server.client(tok, sb)
    else:
        t = server.client(tok, sa)
        wait_read(t)
        w = ws_client(server, tok, sb)
    w.expect_ok()
    expect_ok(t)
    return w, t


def ws_ws_pair(server, sides=True, index_b=0):
    tok = new_token()
    sa, sb = (new_side(), new_side()) if sides else (None, None)
    a = ws_client(server, tok, sa)
    ws_silent(a, 0.05)
    b = ws_client(server, tok, sb, index=index_b)
    a.expect_ok()
    b.expect_ok()
    return a, b


# ===========================================================================
# command line

def test_listening_lines_and_default_url(ws):
    lines = ws.err.snapshot()
    assert all(l.startswith("transitd: ") for l in lines), lines
    tcp = [i for i, l in enumerate(lines) if LISTEN_RE.match(l)]
    wsl = [i for i, l in enumerate(lines) if WS_LISTEN_RE.match(l)]
    assert len(tcp) == 1 and len(wsl) == 1, lines
    assert tcp[0] < wsl[0], f"WebSocket line before the TCP line: {lines}"
    addr, port, url = ws.ws[0]
    assert addr == "127.0.0.1"
    assert 0 < port < 65536 and port != ws.port
    assert url == f"ws://localhost:{port}/"
    w, t = ws_tcp_pair(ws)
    w.send_binary(b"hi")
    assert recv_exact(t, 2) == b"hi"


@pytest.mark.parametrize("form", ["long_eq", "long_sep", "short"])
@pytest.mark.parametrize("url", ["wss://relay.example.org/transit",
                                 "ws://relay.example.org:4002/"])
def test_websocket_url_printed(start_server, form, url):
    if form == "long_eq":
        args = [f"--websocket={TCP_EP}", f"--websocket-url={url}"]
    elif form == "long_sep":
        args = ["--websocket", TCP_EP, "--websocket-url", url]
    else:
        args = ["-w", TCP_EP, "-u", url]
    server = start_server(args=["--port=tcp:0:interface=127.0.0.1",
                                "--log-fd={LOGFD}"] + args, nlisten=1)
    server.ws = ws_listeners(server)
    server.wsport = server.ws[0][1]
    assert server.ws[0][0] == "127.0.0.1"
    assert server.ws[0][2] == url
    server.log.settle(0.1)
    lines = server.err.snapshot()
    assert len(lines) == 2, lines        # no warning when -w is given
    w, t = ws_tcp_pair(server)
    t.sendall(b"x")
    assert w.recv_data(1) == b"x"


BAD_URLS = ["http://example.org/", "https://example.org/", "example.org",
            "ws://", "wss://", "ws:///path", "ws://:4002/", "", "ws:/x",
            "ftp://example.org/", "wsx://example.org/"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_websocket_url_exit_2(transitd_bin, url):
    r = run(transitd_bin, "--port=tcp:0:interface=127.0.0.1",
            f"--websocket={TCP_EP}", f"--websocket-url={url}")
    assert r.returncode == 2, (r.returncode, r.stderr)
    text = r.stderr.decode("utf-8", "replace")
    lines = text.splitlines()
    assert len(lines) == 1 and text.endswith("\n"), repr(text)
    assert lines[0].startswith("transitd: "), repr(text)
    assert "--websocket-url" in lines[0], repr(text)
    assert r.stdout == b""


def test_bad_websocket_url_short_option_exit_2(transitd_bin):
    r = run(transitd_bin, "--port=tcp:0:interface=127.0.0.1",
            "-w", TCP_EP, "-u", "http://example.org/")
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and "--websocket-url" in lines[0], lines


def test_url_without_websocket_warns_and_starts(start_server):
    server = start_server(args=["--port=tcp:0:interface=127.0.0.1",
                                "--websocket-url=ws://relay.example.org/",
                                "--log-fd={LOGFD}"], nlisten=1)
    tok = new_token()
    a = server.client(tok)
    assert_silent(a, 0.3)
    b = server.client(tok)
    expect_ok(a)
    expect_ok(b)
    lines = server.err.snapshot()
    others = [l for l in lines if not LISTEN_RE.match(l)]
    assert len(others) == 1, lines
    assert others[0].startswith("transitd: ")
    assert "websocket" in others[0].lower(), others
    assert not any(WS_LISTEN_RE.match(l) for l in lines), lines


def test_several_websocket_listeners(start_server):
    server = start_ws(start_server, nws=3)
    ports = [p for _, p, _ in server.ws]
    assert len(set(ports)) == 3 and server.port not in ports, server.ws
    for _, p, url in server.ws:
        assert url == f"ws://localhost:{p}/"
    a, b = ws_ws_pair(server, index_b=2)
    a.send_binary(b"across")
    assert b.recv_data(6) == b"across"
    tok = new_token()
    c = ws_client(server, tok, index=1)
    ws_silent(c, 0.05)
    d = server.client(tok)
    c.expect_ok()
    expect_ok(d)


def test_sixteen_websocket_listeners_keyword_endpoint(start_server):
    server = start_ws(start_server, nws=16,
                      endpoint="tcp:port=0:interface=127.0.0.1:backlog=5")
    ports = {p for _, p, _ in server.ws}
    assert len(ports) == 16, server.ws
    a, b = ws_ws_pair(server, index_b=15)
    b.send_binary(b"15")
    assert a.recv_data(2) == b"15"


# ===========================================================================
# the Upgrade request

def test_upgrade_response(ws):
    s = ws.connect(port=ws.wsport)
    c = WSConn(s)
    resp = c.upgrade(ws.wsport)
    assert resp.get("sec-websocket-protocol") is None, resp
    assert resp.body == b""
    assert not c.buf, f"bytes after the 101 response: {bytes(c.buf)!r}"
    ws_silent(c, 0.2)
    pairs_with_tcp(ws, c)


@pytest.mark.parametrize("offer,selected", [
    (None, None),
    ("transit_relay", "transit_relay"),
    ("foo, transit_relay", "transit_relay"),
    ("transit_relay, foo", "transit_relay"),
    ("foo", None),
    ("foo, bar", None),
])
def test_subprotocol(ws, offer, selected):
    c = ws_connect(ws, protocols=offer)
    assert c.response.get("sec-websocket-protocol") == selected, c.response
    c.send_binary(handshake(new_token()))
    ws_silent(c, 0.1)


def test_upgrade_names_case_insensitive_and_extra_fields(ws):
    key = make_key()
    fields = [("hOST", f"127.0.0.1:{ws.wsport}"), ("User-Agent", "test/1"),
              ("UPGRADE", "WebSocket"),
              ("connection", "keep-alive, Upgrade"),
              ("sec-websocket-key", key), ("SEC-WEBSOCKET-VERSION", "13"),
              ("Origin", "http://example.org"), ("Cookie", "a=b"),
              ("Sec-WebSocket-Extensions", "permessage-deflate"),
              ("Content-Length", "0"), ("Pragma", "no-cache")]
    s = ws.connect(port=ws.wsport)
    c = WSConn(s)
    c.key = key
    c.send_raw(build_request(fields, target="/some/path?x=1"))
    resp = c.read_upgrade_response()
    assert resp.get("sec-websocket-extensions") is None, resp
    a = ws.client(tok := new_token())
    assert_silent(a, 0.05)
    c.send_binary(handshake(tok))
    expect_ok(a)
    c.expect_ok()


@pytest.mark.parametrize("upgrade,connection", [
    ("websocket", "Upgrade"), ("WEBSOCKET", "upgrade"),
    ("h2c, websocket", "Upgrade, HTTP2-Settings"),
    ("websocket", "keep-alive,Upgrade"), ("websocket", "keep-alive , upgrade"),
])
def test_upgrade_token_lists(ws, upgrade, connection):
    key = make_key()
    fields = [(n, {"Upgrade": upgrade, "Connection": connection}.get(n, v))
              for n, v in request_fields(ws.wsport, key)]
    c = WSConn(ws.connect(port=ws.wsport))
    c.key = key
    c.send_raw(build_request(fields))
    c.read_upgrade_response()
    c.send_binary(handshake(new_token()))
    ws_silent(c, 0.1)


def _req(port, key, drop=(), add=(), replace=None, **kw):
    f = [x for x in request_fields(port, key) if x[0] not in drop]
    if replace:
        f = [(n, replace.get(n, v)) for n, v in f]
    return build_request(f + list(add), **kw)


def _many(n):
    return [(f"X-Field-{i}", "v") for i in range(n)]


REFUSALS = {
    # name: (builder(port, key) -> bytes, status)
    "request_line_two_parts": (
        lambda p, k: _req(p, k, request_line=b"GET /"), 400),
    "request_line_one_part": (
        lambda p, k: _req(p, k, request_line=b"GET"), 400),
    "bare_lf": (lambda p, k: _req(p, k, eol=b"\n"), 400),
    "bare_lf_in_field": (
        lambda p, k: _req(p, k).replace(b"Upgrade: websocket\r\n",
                                        b"Upgrade: websocket\n"), 400),
    "field_without_colon": (lambda p, k: _req(p, k, add=[b"X-Junk value"]),
                            400),
    "space_before_colon": (
        lambda p, k: _req(p, k, add=[b"X-Junk : value"]), 400),
    "obs_fold": (lambda p, k: _req(p, k, add=[b"X-Folded: a", b" b"]), 400),
    "missing_host": (lambda p, k: _req(p, k, drop=["Host"]), 400),
    "duplicate_host": (lambda p, k: _req(p, k, add=[("Host", "example.org")]),
                       400),
    "duplicate_key": (
        lambda p, k: _req(p, k, add=[("Sec-WebSocket-Key", make_key())]), 400),
    "duplicate_version": (
        lambda p, k: _req(p, k, add=[("Sec-WebSocket-Version", "13")]), 400),
    "connection_without_upgrade": (
        lambda p, k: _req(p, k, replace={"Connection": "keep-alive"}), 400),
    "missing_key": (lambda p, k: _req(p, k, drop=["Sec-WebSocket-Key"]), 400),
    "key_empty": (lambda p, k: _req(p, k, replace={"Sec-WebSocket-Key": ""}),
                  400),
    "key_15_bytes": (lambda p, k: _req(p, k, replace={
        "Sec-WebSocket-Key": "AAAAAAAAAAAAAAAAAAAA"}), 400),
    "key_17_bytes": (lambda p, k: _req(p, k, replace={
        "Sec-WebSocket-Key": "AAAAAAAAAAAAAAAAAAAAAAA="}), 400),
    "key_not_base64": (lambda p, k: _req(p, k, replace={
        "Sec-WebSocket-Key": "!!!!!!!!!!!!!!!!!!!!!!=="}), 400),
    "missing_version": (
        lambda p, k: _req(p, k, drop=["Sec-WebSocket-Version"]), 400),
    "content_length": (
        lambda p, k: _req(p, k, add=[("Content-Length", "5")]) + b"hello",
        400),
    "transfer_encoding": (
        lambda p, k: _req(p, k, add=[("Transfer-Encoding", "chunked")])
        + b"0\r\n\r\n", 400),
    "method_post": (lambda p, k: _req(p, k, method="POST"), 405),
    "method_options": (lambda p, k: _req(p, k, method="OPTIONS"), 405),
    "http_1_0": (lambda p, k: _req(p, k, version="HTTP/1.0"), 505),
    "http_2_0": (lambda p, k: _req(p, k, version="HTTP/2.0"), 505),
    "plain_browser_get": (lambda p, k: build_request([
        ("Host", f"127.0.0.1:{p}"), ("User-Agent", "Mozilla/5.0"),
        ("Accept", "text/html")]), 426),
    "upgrade_h2c": (lambda p, k: _req(p, k, replace={"Upgrade": "h2c"}), 426),
    "no_upgrade_field": (lambda p, k: _req(p, k, drop=["Upgrade"]), 426),
    "version_8": (lambda p, k: _req(p, k, replace={
        "Sec-WebSocket-Version": "8"}), 426),
    "version_14": (lambda p, k: _req(p, k, replace={
        "Sec-WebSocket-Version": "14"}), 426),
    "too_big": (lambda p, k: _req(p, k, add=[("X-Big", "b" * 9000)]), 431),
    "too_many_fields": (lambda p, k: _req(p, k, add=_many(70)), 431),
}

STATUS_LINES = {400: "HTTP/1.1 400 Bad Request",
                405: "HTTP/1.1 405 Method Not Allowed",
                408: "HTTP/1.1 408 Request Timeout",
                426: "HTTP/1.1 426 Upgrade Required",
                431: "HTTP/1.1 431 Request Header Fields Too Large",
                505: "HTTP/1.1 505 HTTP Version Not Supported"}


def check_refusal(resp, status, name=""):
    assert resp.status == status, f"{name}: expected {status}: {resp!r}"
    assert resp.status_line == STATUS_LINES[status], resp
    assert "close" in resp.tokens("connection"), resp
    assert 0 < len(resp.body) <= 1024, f"no short text body: {resp!r}"
    cl = resp.get("content-length")
    if cl is not None:
        assert int(cl) == len(resp.body), resp
    assert resp.get("sec-websocket-accept") is None, resp
    if status == 405:
        assert resp.get("allow") == "GET", resp
    if status == 426 and not name.startswith("version_"):
        assert resp.tokens("upgrade") == ["websocket"], resp


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_upgrade_refused(ws, name):
    build, status = REFUSALS[name]
    s = ws.connect(port=ws.wsport)
    try:
        s.sendall(build(ws.wsport, make_key()))
    except OSError:
        pass                          # it may hang up before reading it all
    resp = read_refusal(s)
    check_refusal(resp, status, name)
    if name.startswith("version_"):
        assert resp.get("sec-websocket-version") == "13", resp
    only_moods(ws, ["empty"])


def _sized_request(port, key, total):
    """A valid request of exactly total bytes (blank line included)."""
    base = _req(port, key, add=[("X-Pad", "")])
    pad = total - len(base)
    assert pad >= 0
    return _req(port, key, add=[("X-Pad", "p" * pad)])


@pytest.mark.parametrize("total,ok", [(8192, True), (8193, False)])
def test_request_size_limit(ws, total, ok):
    key = make_key()
    req = _sized_request(ws.wsport, key, total)
    assert len(req) == total
    s = ws.connect(port=ws.wsport)
    c = WSConn(s)
    c.key = key
    try:
        c.send_raw(req)
    except OSError:
        pass
    if ok:
        c.read_upgrade_response()
        c.send_binary(handshake(new_token()))
        ws_silent(c, 0.1)
    else:
        check_refusal(read_refusal(s), 431)


@pytest.mark.parametrize("nfields,ok", [(64, True), (65, False)])
def test_header_line_limit(ws, nfields, ok):
    key = make_key()
    req = _req(ws.wsport, key, add=_many(nfields - 5))
    assert req.count(b"\r\n") == nfields + 2
    s = ws.connect(port=ws.wsport)
    c = WSConn(s)
    c.key = key
    c.send_raw(req)
    if ok:
        c.read_upgrade_response()
        c.send_binary(handshake(new_token()))
        ws_silent(c, 0.1)
    else:
        check_refusal(read_refusal(s), 431)


def test_slow_byte_by_byte_upgrade(ws):
    key = make_key()
    req = _req(ws.wsport, key, add=[("User-Agent", "slowpoke/1.0")])
    s = ws.connect(port=ws.wsport)
    c = WSConn(s)
    c.key = key
    for i in range(len(req)):
        s.send(req[i:i + 1])
        wait_read(s)                    # the relay reads it byte by byte
    c.read_upgrade_response()
    tok = new_token()
    hs = handshake(tok)
    for i in range(len(hs)):             # and the handshake one frame a byte
        c.send_frame(OP_BINARY if i == 0 else OP_CONT, hs[i:i + 1],
                     fin=(i == len(hs) - 1))
    t = ws.client(tok)
    c.expect_ok()
    expect_ok(t)
    c.send_binary(b"after")
    assert recv_exact(t, 5) == b"after"


def test_stalled_upgrade_gets_408(ws):
    """Idle, partial and dripping (never complete) requests all get 408
    10 s after connecting, and count as empty. The drip goes on until its
    408 comes: a deadline that each byte put off would never come."""
    t0 = time.monotonic()
    idle = ws.connect(port=ws.wsport)
    partial = ws.connect(port=ws.wsport)
    partial.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    drip = ws.connect(port=ws.wsport)
    drip_data = _req(ws.wsport, make_key())
    # a good upgrade made meanwhile is not affected
    good = ws_connect(ws)
    stop = threading.Event()

    def dripping():
        for i in range(len(drip_data) - 3):     # never the whole request
            if stop.is_set() or wait_readable([drip], 0.25):
                return                          # its answer came
            try:
                drip.send(drip_data[i:i + 1])
            except OSError:
                return
    th = threading.Thread(target=dripping, daemon=True)
    th.start()
    try:
        for s in (idle, partial, drip):
            resp = read_refusal(s, timeout=60)
            elapsed = time.monotonic() - t0
            check_refusal(resp, 408)
            assert elapsed >= 9.9, f"408 after {elapsed:.1f}s: too soon"
    finally:
        stop.set()
        th.join(5)
    ws_silent(good, 0.0)
    pairs_with_tcp(ws, good)
    only_moods(ws, ["empty"] * 3)


def test_partial_request_then_rest_accepted(ws):
    """A partial request is not refused early (it has 10 s)."""
    s = ws.connect(port=ws.wsport)
    key = make_key()
    req = _req(ws.wsport, key)
    s.sendall(req[:30])
    assert_silent(s, 0.7)
    c = WSConn(s)
    c.key = key
    s.sendall(req[30:])
    c.read_upgrade_response()


def test_refusals_are_empty_records_abandoned_too(ws):
    s = ws.connect(port=ws.wsport)
    s.close()                                   # nothing at all
    s = ws.connect(port=ws.wsport)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # abandoned
    wait_read(s)
    s.close()
    c = ws_connect(ws)                          # upgraded, then closed
    c.close()
    c = ws_connect(ws)                          # upgraded, then close frame
    c.send_close(1000)
    c.expect_closed(1000)
    c = ws_connect(ws)                          # partial handshake
    c.send_binary(b"please relay ")
    ws_silent(c, 0.1)
    c.close()
    recs = only_moods(ws, ["empty"] * 5)
    assert all(r["total_bytes"] == 0 and r["waiting_time"] is None
               for r in recs)


# ===========================================================================
# handshake over WebSocket

def _hs_parts(form, tok, side):
    """(list of frames as (opcode, payload, fin))."""
    full = handshake(tok, side)
    if form == "whole_nl":
        return [(OP_BINARY, full, True)]
    if form == "whole_no_nl":
        return [(OP_BINARY, full[:-1], True)]
    if form == "split_messages":
        cuts = sorted({min(c, len(full)) for c in (0, 7, 13, 40, 76, 79,
                                                      len(full))})
        return [(OP_BINARY, full[a:b], True) for a, b in zip(cuts, cuts[1:])]
    if form == "byte_messages":
        # no newline: the last message completes it. A message boundary
        # right after the token would make 'please relay TOKEN' complete
        # (the unsided form), so for the sided form that one is skipped.
        data = full[:-1]
        cuts = [i for i in range(len(data) + 1) if side is None or i != 77]
        return [(OP_BINARY, data[a:b], True) for a, b in zip(cuts, cuts[1:])]
    if form in ("fragments", "fragments_no_nl"):
        data = full if form == "fragments" else full[:-1]
        cuts = [0, 5, 20, 21, 60, len(data)]
        return [(OP_BINARY if i == 0 else OP_CONT, data[a:b],
                 b == len(data)) for i, (a, b) in
                enumerate(zip(cuts, cuts[1:]))]
    if form == "messages_and_fragments":
        return [(OP_BINARY, full[:10], True), (OP_BINARY, full[10:30], False),
                (OP_CONT, full[30:31], False), (OP_CONT, b"", False),
                (OP_CONT, full[31:50], True), (OP_BINARY, b"", True),
                (OP_BINARY, full[50:], True)]
    raise ValueError(form)


HS_FORMS = ["whole_nl", "whole_no_nl", "split_messages", "byte_messages",
            "fragments", "fragments_no_nl", "messages_and_fragments"]


@pytest.mark.parametrize("sided", [True, False], ids=["sided", "unsided"])
@pytest.mark.parametrize("form", HS_FORMS)
def test_handshake_forms(ws, form, sided):
    tok = new_token()
    side = new_side() if sided else None
    c = ws_connect(ws)
    out = b"".join(encode_frame(op, p, fin=fin)
                   for op, p, fin in _hs_parts(form, tok, side))
    c.send_raw(out)
    ws_silent(c, 0.1)                    # accepted, waiting
    t = ws.client(tok, new_side() if sided else None)
    c.expect_ok()
    expect_ok(t)
    c.send_binary(b"to tcp")
    assert recv_exact(t, 6) == b"to tcp"
    t.sendall(b"to ws")
    assert c.recv_data(5) == b"to ws"
    t.close()
    c.expect_closed(1000)
    rec = only_moods(ws, ["happy"])[0]
    assert rec["total_bytes"] == 11


def test_handshake_fragments_with_pings(ws):
    tok = new_token()
    full = handshake(tok, new_side())
    c = ws_connect(ws)
    # (one ping a write: several queued pings may get one pong, RFC 6455
    # section 5.5.3)
    c.send_raw(encode_frame(OP_BINARY, full[:20], fin=False) +
               encode_frame(OP_PING, b"p1"))
    f = c.recv_frame()
    assert (f.opcode, f.payload) == (OP_PONG, b"p1"), f
    c.send_raw(encode_frame(OP_CONT, full[20:50], fin=False) +
               encode_frame(OP_PONG, b"unsolicited") +
               encode_frame(OP_PING, b""))
    f = c.recv_frame()
    assert (f.opcode, f.payload) == (OP_PONG, b""), f
    ws_silent(c, 0.2)
    c.send_raw(encode_frame(OP_CONT, full[50:], fin=True))
    ws_silent(c, 0.2)
    t = ws.client(tok, new_side())
    c.expect_ok()
    expect_ok(t)


def test_partial_handshake_waits_for_more(ws):
    tok = new_token()
    c = ws_connect(ws)
    c.send_binary(b"please relay " + tok[:20].encode())
    ws_silent(c, 0.3)
    c.send_binary(tok[20:].encode() + b"\n")
    ws_silent(c, 0.2)
    t = ws.client(tok)
    c.expect_ok()
    expect_ok(t)


def test_empty_messages_before_handshake_are_harmless(ws):
    c = ws_connect(ws)
    for _ in range(5):
        c.send_binary(b"")
    ws_silent(c, 0.2)
    pairs_with_tcp(ws, c)


def test_ok_is_a_binary_message(ws):
    tok = new_token()
    c = ws_client(ws, tok)
    ws_silent(c, 0.05)
    t = ws.client(tok)
    f = c.recv_frame()
    assert (f.fin, f.opcode, f.payload) == (True, OP_BINARY, b"ok\n"), f
    expect_ok(t)


def test_unsided_message_then_side_is_impatient(ws):
    """A first message of exactly 'please relay TOKEN' is the unsided form:
    what follows it before ok is impatience."""
    tok = new_token()
    c = ws_connect(ws)
    c.send_binary(b"please relay " + tok.encode())
    ws_silent(c, 0.2)
    c.send_binary(b" for side " + new_side().encode() + b"\n")
    f = c.recv_frame()
    assert (f.opcode, f.payload) == (OP_BINARY, b"impatient\n"), f
    c.expect_closed(1000)
    only_moods(ws, [IMPATIENT_MOOD])


BAD_WS_HANDSHAKES = {
    "junk_nl": [b"hello world\n"],
    "junk_no_nl": [b"hello world"],
    "short_token_nl": [b"please relay abc\n"],
    "crlf": [b"please relay " + b"a" * 64 + b"\r\n"],
    "crlf_split": [b"please relay " + b"a" * 64 + b"\r", b"\n"],
    "token65_no_nl": [b"please relay " + b"a" * 65],
    "side17_no_nl": [b"please relay " + b"a" * 64 + b" for side " + b"b" * 17],
    "split_then_bad": [b"please relay ", b"xyz\n"],
    "split_then_bad_no_nl": [b"please ", b"relax"],
    "uppercase": [b"PLEASE RELAY " + b"a" * 64],
    "binary": [bytes(range(256)).replace(b"\n", b"")],
    "newline_only": [b"\n"],
}


@pytest.mark.parametrize("name", sorted(BAD_WS_HANDSHAKES))
def test_bad_handshake(ws, name):
    c = ws_connect(ws)
    msgs = BAD_WS_HANDSHAKES[name]
    c.send_raw(b"".join(encode_frame(OP_BINARY, m) for m in msgs))
    f = c.recv_frame()
    assert f is not None and (f.fin, f.opcode, f.payload) == \
        (True, OP_BINARY, b"bad handshake\n"), f
    c.expect_closed(1000)
    rec = only_moods(ws, ["errory"])[0]
    assert rec["total_bytes"] == 0 and rec["waiting_time"] is None


def test_impatient_second_message(ws):
    c = ws_client(ws, new_token(), new_side())
    ws_silent(c, 0.2)
    c.send_binary(b"too early")
    f = c.recv_frame()
    assert (f.opcode, f.payload) == (OP_BINARY, b"impatient\n"), f
    c.expect_closed(1000)
    rec = only_moods(ws, [IMPATIENT_MOOD])[0]
    assert rec["total_bytes"] == 0


def test_impatient_same_message(ws):
    c = ws_connect(ws)
    c.send_binary(handshake(new_token()) + b"X")
    c.expect_closed(1000, b"impatient\n")
    only_moods(ws, [IMPATIENT_MOOD])


def test_impatient_token_released(ws):
    tok = new_token()
    c = ws_client(ws, tok, new_side())
    ws_silent(c, 0.1)
    c.send_binary(b"!")
    c.expect_closed(1000, b"impatient\n")
    ws.log.wait(1)
    a = ws_client(ws, tok, new_side())
    ws_silent(a, 0.2)
    b = ws.client(tok, new_side())
    a.expect_ok()
    expect_ok(b)


@pytest.mark.parametrize("who", ["ws_completes", "tcp_completes"])
def test_data_with_completing_handshake_is_relayed(ws, who):
    tok = new_token()
    if who == "ws_completes":
        t = ws.client(tok, new_side())
        wait_read(t)
        c = ws_connect(ws)
        c.send_binary(handshake(tok, new_side()) + b"early bytes")
        c.expect_ok()
        expect_ok(t)
        assert recv_exact(t, 11) == b"early bytes"
    else:
        c = ws_client(ws, tok, new_side())
        ws_silent(c, 0.1)
        t = ws.connect()
        t.sendall(handshake(tok, new_side()) + b"early bytes")
        expect_ok(t)
        c.expect_ok()
        assert c.recv_data(11) == b"early bytes"
    c.send_close()
    c.expect_closed(1000)
    assert read_to_eof(t) == b""
    assert only_moods(ws, ["happy"])[0]["total_bytes"] == 11


def test_redundant_ws_waiter(ws):
    tok = new_token()
    same = new_side()
    a = ws_client(ws, tok, same)
    ws_silent(a, 0.05)
    b = ws_client(ws, tok, same)        # same side: they do not pair
    ws_silent(a, 0.2)
    ws_silent(b, 0.0)
    c = ws.client(tok, new_side())
    a.expect_ok()                       # the one waiting longest
    expect_ok(c)
    b.expect_closed(1000)
    recs = ws.log.wait(1, mood="redundant")
    assert recs[0]["waiting_time"] is None and recs[0]["total_bytes"] == 0
    c.close()
    a.expect_closed(1000)
    only_moods(ws, ["happy", "redundant"])


@pytest.mark.parametrize("how", ["close_frame", "tcp_close"])
def test_lonely_ws_waiter(ws, how):
    c = ws_client(ws, new_token(), new_side())
    ws_silent(c, 0.3)
    if how == "close_frame":
        c.send_close()
        c.expect_closed(1000)
    else:
        c.close()
    rec = only_moods(ws, ["lonely"])[0]
    assert rec["waiting_time"] is None and rec["total_bytes"] == 0
    assert rec["total_time"] >= 0.25


def test_sided_unsided_matching_rules(ws):
    tok = new_token()
    a = ws_client(ws, tok, "a" * 16)
    b = ws_client(ws, tok, "a" * 16)
    ws_silent(a, 0.2)
    ws_silent(b, 0.0)
    c = ws_client(ws, tok)                   # unsided matches sided
    a.expect_ok()
    c.expect_ok()
    b.expect_closed(1000)
    a.send_binary(b"1")
    assert c.recv_data(1) == b"1"


# ===========================================================================
# relaying, both kinds of partner

def test_ws_ws_pair_autobahn(ws):
    tok = new_token()
    port = ws.wsport
    da, db = pattern(1, 300_000), pattern(2, 150_001)

    async def main(loop):
        a = await ABClient.connect(loop, port)
        b = await ABClient.connect(loop, port)
        a.send(handshake(tok, new_side()))
        await asyncio.sleep(0.05)
        b.send(handshake(tok, new_side()))
        assert await a.recv(3) == b"ok\n"
        assert await b.recv(3) == b"ok\n"
        a.proto.sendPing(b"ping after ok")
        assert await a.pong() == b"ping after ok"
        for i in range(0, len(da), 70_000):
            a.send(da[i:i + 70_000])
        b.send(db)
        assert await b.recv(len(da)) == da
        assert await a.recv(len(db)) == db
        a.proto.sendClose(1000)
        ca = await a.wait_closed()
        cb = await b.wait_closed()
        return ca, cb, bytes(a.data), bytes(b.data), a.texts + b.texts

    ca, cb, resta, restb, texts = autobahn_run(main)
    assert ca[0] and ca[1] == 1000, ca
    assert cb[0] and cb[1] == 1000, cb
    assert resta == restb == b"" and texts == []
    rec = only_moods(ws, ["happy"])[0]
    assert rec["total_bytes"] == len(da) + len(db)


def test_ws_tcp_autobahn_ping_and_close_code(ws):
    tok = new_token()
    port = ws.wsport
    data = pattern(3, 1 << 20)

    async def main(loop):
        a = await ABClient.connect(loop, port, protocols=None)
        a.proto.sendPing(b"before handshake")
        assert await a.pong() == b"before handshake"
        a.send(handshake(tok))
        a.proto.sendPing(b"while waiting")
        assert await a.pong() == b"while waiting"
        t = await loop.run_in_executor(None, ws.client, tok)
        assert await a.recv(3) == b"ok\n"
        await loop.run_in_executor(None, expect_ok, t)
        reader = loop.run_in_executor(None, read_to_eof, t, 20)
        a.send(data)
        a.proto.sendClose(4000, "done")
        closed = await a.wait_closed(20)
        got = await reader
        return closed, got

    closed, got = autobahn_run(main)
    assert closed[0] and closed[1] == 4000, closed
    assert len(got) == len(data) and got == data
    assert only_moods(ws, ["happy"])[0]["total_bytes"] == len(data)


def test_websockets_client_partner_closes(ws):
    import websockets
    tok = new_token()
    data = pattern(4, 4 << 20)

    async def main():
        async with websockets.connect(
                f"ws://127.0.0.1:{ws.wsport}/", max_size=None,
                compression=None, ping_interval=None, open_timeout=10,
                close_timeout=5, subprotocols=["transit_relay"]) as c:
            assert c.subprotocol == "transit_relay"
            await c.send(handshake(tok, new_side()))
            loop = asyncio.get_running_loop()
            t = await loop.run_in_executor(None, ws.client, tok, new_side())
            assert await c.recv() == b"ok\n"
            await loop.run_in_executor(None, expect_ok, t)
            await c.send(b"hello")
            assert await loop.run_in_executor(None, recv_exact, t, 5) == \
                b"hello"
            bg = Bg(lambda: (t.sendall(data), t.close()))
            got = bytearray()
            try:
                while True:
                    m = await asyncio.wait_for(c.recv(), 10)
                    assert isinstance(m, bytes), f"text message {m!r}"
                    got += m
            except websockets.ConnectionClosedOK:
                pass
            bg.result()
            # A clean closing handshake (RFC 6455 7.1.1): the relay waits
            # for the client's close before it closes TCP, so the client's
            # own close frame was sent, not cut off.
            assert c.close_rcvd is not None, "no close frame from the relay"
            assert c.close_sent is not None, "client could not answer"
            assert c.close_rcvd_then_sent is True
            return bytes(got), c.close_rcvd.code

    loop = asyncio.new_event_loop()
    try:
        got, code = loop.run_until_complete(asyncio.wait_for(main(), 30))
    finally:
        loop.close()
    assert code == 1000
    assert len(got) == len(data) and got == data
    assert only_moods(ws, ["happy"])[0]["total_bytes"] == len(data) + 5


@pytest.mark.parametrize("kind", ["ws-ws", "ws-tcp", "tcp-ws"])
def test_64mib_both_directions(ws, kind):
    n = 64 << 20
    da, db = pattern(640, n), pattern(641, n)
    if kind == "ws-ws":
        a, b = ws_ws_pair(ws)
    elif kind == "ws-tcp":
        a, b = ws_tcp_pair(ws, ws_first=True)
    else:
        b, a = ws_tcp_pair(ws, ws_first=False)
    deadline = time.monotonic() + 60

    def sender(x, d, frag):
        if isinstance(x, WSConn):
            if frag:
                step = 256 << 10
                for off in range(0, len(d), step):
                    c = d[off:off + step]
                    x.send_fragments([c[:1000], c[1000:100_000], b"",
                                      c[100_000:]])
            else:
                ws_send_stream(x, d)
        else:
            send_in_chunks(x, d)
        return True

    def receiver(x, size):
        if isinstance(x, WSConn):
            return ws_recv_stream(x, size, deadline)
        return tcp_recv_stream(x, size, deadline)

    res = run_threads([lambda: sender(a, da, False),
                       lambda: sender(b, db, kind == "ws-ws"),
                       lambda: receiver(b, n), lambda: receiver(a, n)], 70)
    assert res[2] == (n, sha(da)), "a->b data corrupted"
    assert res[3] == (n, sha(db)), "b->a data corrupted"
    if isinstance(a, WSConn):
        a.send_close()
        a.expect_closed(1000)
    else:
        a.close()
    if isinstance(b, WSConn):
        b.expect_closed(1000)
    else:
        assert read_to_eof(b) == b""
    rec = only_moods(ws, ["happy"])[0]
    assert rec["total_bytes"] == 2 * n


def test_ping_interleaved_in_fragmented_message_after_ok(ws):
    w, t = ws_tcp_pair(ws)
    w.send_raw(encode_frame(OP_BINARY, b"abc", fin=False) +
               encode_frame(OP_PING, b"p1"))
    f = w.recv_frame()
    assert (f.opcode, f.payload) == (OP_PONG, b"p1"), f
    assert recv_exact(t, 3) == b"abc"   # relayed while the message is open
    w.send_raw(encode_frame(OP_CONT, b"def", fin=False) +
               encode_frame(OP_PONG, b"ignored") +
               encode_frame(OP_PING, b"x" * 125))
    f = w.recv_frame()
    assert (f.opcode, f.payload) == (OP_PONG, b"x" * 125), f
    w.send_raw(encode_frame(OP_CONT, b"ghi", fin=True))
    assert recv_exact(t, 6) == b"defghi"
    ws_silent(w, 0.2)                   # the pong got no answer
    assert_silent(t, 0.0)
    t.sendall(b"back")
    assert w.recv_data(4) == b"back"
    w.send_ping(b"p3")
    f = w.recv_frame()
    assert (f.opcode, f.payload) == (OP_PONG, b"p3"), f
    t.close()
    w.expect_closed(1000)
    assert only_moods(ws, ["happy"])[0]["total_bytes"] == 13


def test_message_boundaries_carry_no_meaning(ws):
    a, b = ws_ws_pair(ws)
    rnd = random.Random(5)
    data = pattern(6, 200_000)
    out = b""
    off = 0
    while off < len(data):
        k = rnd.choice([0, 1, 2, 17, 1000, 40_000])
        out += encode_frame(OP_BINARY, data[off:off + k])
        off += k
    bg = Bg(lambda: a.send_raw(out))
    assert b.recv_data(len(data), timeout=20) == data
    bg.result()


@pytest.mark.parametrize("code", [None, 1000, 1001, 1003, 1011, 3000, 4999])
def test_close_from_ws_client_tcp_partner(ws, code):
    w, t = ws_tcp_pair(ws)
    data = pattern(7, 1 << 20)
    bg = Bg(lambda: w.send_raw(
        encode_frame(OP_BINARY, data) +
        encode_frame(OP_CLOSE, b"" if code is None else
                     code.to_bytes(2, "big"))))
    got = read_to_eof(t, timeout=20)
    bg.result()
    w.expect_closed(1000 if code is None else code)
    assert len(got) == len(data) and got == data
    rec = only_moods(ws, ["happy"])[0]
    assert rec["total_bytes"] == len(data)


def test_close_with_utf8_reason_echoed(ws):
    c = ws_connect(ws)
    c.send_close(1001, "au revoir, ça va ✓".encode())
    c.expect_closed(1001)
    only_moods(ws, ["empty"])


def test_ws_client_tcp_close_partner_gets_all(ws):
    w, t = ws_tcp_pair(ws, ws_first=False)
    data = pattern(8, 2 << 20)
    bg = Bg(lambda: (w.send_binary(data), w.sock.shutdown(socket.SHUT_WR)))
    got = read_to_eof(t, timeout=20)
    bg.result()
    assert len(got) == len(data) and got == data
    f = w.recv_frame()                  # a close frame is allowed, no more
    if f is not None:
        assert f.opcode == OP_CLOSE, f
        w.expect_eof()
    assert only_moods(ws, ["happy"])[0]["total_bytes"] == len(data)


@pytest.mark.parametrize("ws_first", [True, False], ids=["ws_first",
                                                        "tcp_first"])
def test_tcp_partner_closes_ws_gets_all_then_1000(ws, ws_first):
    w, t = ws_tcp_pair(ws, ws_first=ws_first)
    data = pattern(9, 8 << 20)
    w.send_binary(b"hi")
    assert recv_exact(t, 2) == b"hi"
    bg = Bg(lambda: (send_in_chunks(t, data), t.close()))
    time.sleep(0.3)                       # let the relay hold some of it
    w.expect_closed(1000, data, timeout=30)
    bg.result()
    assert only_moods(ws, ["happy"])[0]["total_bytes"] == len(data) + 2


def test_relay_waits_for_the_clients_close(ws):
    """RFC 6455 7.1.1: after its close frame the relay keeps TCP open
    until the client answers with its own close, then closes at once; a
    client that never answers is closed after a few seconds."""
    w, t = ws_tcp_pair(ws, ws_first=True)
    t.close()
    got, f = w.read_until_close()
    assert got == b"" and f.code == 1000
    assert not wait_readable([w.sock], 1.0), "TCP closed before the reply"
    w.send_close(1000)
    w.expect_eof(timeout=4)             # at once: before its 5 s linger
    # No answer at all: the relay still closes, after its linger time.
    w2, t2 = ws_tcp_pair(ws, ws_first=True)
    t0 = time.monotonic()
    t2.close()
    got, f = w2.read_until_close()
    assert f.code == 1000
    w2.expect_eof(timeout=60)
    assert time.monotonic() - t0 >= 4.9     # the linger: 5 s


def test_ws_partner_close_frame_ws_gets_all_then_1000(ws):
    a, b = ws_ws_pair(ws)
    data = pattern(10, 4 << 20)
    out = b"".join(encode_frame(OP_BINARY, data[i:i + 100_000])
                   for i in range(0, len(data), 100_000))
    bg = Bg(lambda: a.send_raw(out + encode_frame(
        OP_CLOSE, (1000).to_bytes(2, "big"))))
    time.sleep(0.3)
    b.expect_closed(1000, data, timeout=30)
    bg.result()
    a.expect_closed(1000)
    assert only_moods(ws, ["happy"])[0]["total_bytes"] == len(data)


@pytest.mark.parametrize("when", ["before_handshake", "waiting"])
def test_text_message_before_ok(ws, when):
    c = ws_connect(ws)
    if when == "waiting":
        c.send_binary(handshake(new_token()))
        ws_silent(c, 0.1)
    c.send_text(b"hello")
    c.expect_closed(1003)
    rec = only_moods(ws, ["errory"])[0]
    assert rec["total_bytes"] == 0


@pytest.mark.parametrize("partner", ["tcp", "ws"])
def test_text_message_after_ok_ends_pair(ws, partner):
    if partner == "tcp":
        w, t = ws_tcp_pair(ws)
    else:
        w, t = ws_ws_pair(ws)
    w.send_binary(b"abc")
    w.send_text(b"oops")
    w.expect_closed(1003)
    if partner == "tcp":
        assert read_to_eof(t) == b"abc"
    else:
        t.expect_closed(1000, b"abc")
    rec = only_moods(ws, ["happy"])[0]
    assert rec["total_bytes"] == 3


# ===========================================================================
# records

def test_usage_db_row_for_ws_pair(start_server, tmp_path):
    db = tmp_path / "usage.sqlite"
    server = start_ws(start_server, extra=[f"--usage-db={db}"])
    a, b = ws_ws_pair(server)
    da, dbb = pattern(11, 100_000), pattern(12, 23_456)
    bg = Bg(lambda: [a.send_binary(da[i:i + 10_000])
                     for i in range(0, len(da), 10_000)])
    b.send_fragments([dbb[:6], dbb[6:20_000], dbb[20_000:]])
    assert b.recv_data(len(da)) == da
    assert a.recv_data(len(dbb)) == dbb
    bg.result()
    b.send_close()
    b.expect_closed(1000)
    a.expect_closed(1000)
    rec = only_moods(server, ["happy"])[0]
    assert rec["total_bytes"] == 123_456
    deadline = time.monotonic() + 10
    rows = []
    while time.monotonic() < deadline:
        try:
            c = sqlite3.connect(str(db), timeout=5)
            try:
                rows = c.execute("SELECT started, total_bytes, result FROM "
                                 "usage").fetchall()
            finally:
                c.close()
        except sqlite3.Error:
            rows = []
        if rows:
            break
        time.sleep(0.1)
    assert len(rows) == 1, rows
    assert rows[0][1:] == (123_456, "happy"), rows
    assert rows[0][0] == rec["started"], (rows, rec)


def test_refused_and_errory_records_mix(ws):
    s = ws.connect(port=ws.wsport)
    s.sendall(b"POST / HTTP/1.1\r\n\r\n")
    read_refusal(s)
    c = ws_connect(ws)
    c.send_binary(b"junk\n")
    c.expect_closed(1000, b"bad handshake\n")
    c = ws_client(ws, new_token())
    ws_silent(c, 0.1)
    c.close()
    only_moods(ws, ["empty", "errory", "lonely"])


# ===========================================================================
# backpressure

def _push_nonblocking(sock, stream, secs, server, sample):
    sock.setblocking(False)
    mv = memoryview(stream)
    pushed = 0
    end = time.monotonic() + secs
    max_rss = 0
    i = 0
    while time.monotonic() < end and pushed < len(stream):
        try:
            pushed += sock.send(mv[pushed:pushed + (256 << 10)])
        except BlockingIOError:
            wait_writable(sock, 0.05)
        i += 1
        if i % 8 == 0:
            max_rss = max(max_rss, server.rss_kib())
    max_rss = max(max_rss, server.rss_kib())
    sock.setblocking(True)
    sock.settimeout(SOCK_TIMEOUT)
    return pushed, max_rss


@pytest.mark.parametrize("sender,receiver", [("tcp", "ws"), ("ws", "ws"),
                                              ("ws", "tcp")])
def test_stalled_receiver_throttles_sender(ws, sender, receiver):
    """A receiver that stops reading throttles its sender: 64 MiB cannot be
    pushed in 1.5 s and the relay's memory stays bounded; then every byte
    pushed arrives, in order, and the flow resumes."""
    limit = 64 << 20
    step = 256 << 10
    data = pattern(13, limit)
    if sender == "ws" and receiver == "ws":
        r, s = ws_ws_pair(ws)
    elif sender == "tcp":
        r, s = ws_tcp_pair(ws)
    else:
        s, r = ws_tcp_pair(ws, ws_first=False)
    if sender == "ws":
        frames = [encode_frame(OP_BINARY, data[i:i + step])
                  for i in range(0, limit, step)]
        stream = b"".join(frames)
        ssock = s.sock
    else:
        stream = data
        ssock = s
    rsock = r.sock if receiver == "ws" else r
    rsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    base = ws.rss_kib()
    pushed, max_rss = _push_nonblocking(ssock, stream, 1.5, ws, 8)
    assert pushed < len(stream), "sender was never slowed down"
    assert max_rss - base < 16 * 1024, \
        f"transitd RSS grew from {base} to {max_rss} KiB while stalled"
    if sender == "ws":
        # finish the frame in progress; expect the payload of whole frames
        k = 0
        off = 0
        while off < pushed:
            off += len(frames[k])
            k += 1
        bg = Bg(lambda: ssock.sendall(stream[pushed:off]))
        expect = k * step
    else:
        bg = None
        expect = pushed
    if receiver == "ws":
        got = r.recv_data(expect, timeout=60)
    else:
        got = recv_exact(r, expect, timeout=60)
    if bg:
        bg.result()
    assert sha(got) == sha(data[:expect]), "data corrupted"
    more = pattern(14, 1 << 20)
    bg = Bg(lambda: s.send_binary(more) if sender == "ws" else s.sendall(more))
    if receiver == "ws":
        assert r.recv_data(len(more), timeout=30) == more
        ws_silent(r, 0.1)
    else:
        assert recv_exact(r, len(more), timeout=30) == more
        assert_silent(r, 0.1)
    bg.result()
    assert ws.alive()


def test_ping_flood_without_reading_is_bounded(ws):
    """A client that sends pings but never reads the pongs does not make the
    relay hoard pongs."""
    c = ws_client(ws, new_token())
    ws_silent(c, 0.1)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    ping = encode_frame(OP_PING, b"p" * 125)
    stream = ping * ((48 << 20) // len(ping))
    base = ws.rss_kib()
    pushed, max_rss = _push_nonblocking(c.sock, stream, 2.0, ws, 8)
    # (it may be throttled, or answer only the latest of queued pings:
    # either way its memory stays bounded)
    assert max_rss - base < 16 * 1024, (base, max_rss)
    assert ws.alive()
    # it still reads (the pongs arrive, in order), then relays
    n = 0
    while n < 20:
        f = c.recv_frame()
        assert f and (f.opcode, f.payload) == (OP_PONG, b"p" * 125), f
        n += 1


# ===========================================================================
# robustness

def _flood_one(ws, rnd, i):
    p = ws.wsport
    kind = i % 10
    s = socket.create_connection(("127.0.0.1", p), timeout=SOCK_TIMEOUT)
    try:
        if kind == 0:
            s.sendall(rnd.randbytes(rnd.randrange(1, 5000)))
        elif kind == 1:                             # TLS ClientHello-ish
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" +
                      rnd.randbytes(300))
        elif kind == 2:
            s.sendall(b"GET / HTTP/1.1\r\n" + rnd.randbytes(200) +
                      b"\r\n\r\n")
        elif kind == 3:
            s.sendall(_req(p, make_key(), add=[("X-Big", "x" * 9000)]))
        elif kind == 4:
            s.sendall(_req(p, "bogus"))
        elif kind == 5:
            s.sendall(b"GET / HTTP/1.1\r\n")           # then idle
        else:
            c = WSConn(s)
            c.upgrade(p)
            if kind == 6:
                c.send_raw(rnd.randbytes(rnd.randrange(1, 3000)))
            elif kind == 7:
                c.send_frame(OP_BINARY, b"x", masked=False)
            elif kind == 8:
                c.send_frame(OP_BINARY, b"", declared=1 << 62)
                c.send_raw(rnd.randbytes(2000))
            else:
                c.send_text(b"text")
    except OSError:
        pass
    return s


def test_flood_of_garbage_while_pair_relays(ws):
    n = 16 << 20
    da, db = pattern(16, n), pattern(17, n)
    a, b = ws_ws_pair(ws)
    t, u = ws_tcp_pair(ws)
    deadline = time.monotonic() + 60
    rnd = random.Random(99)
    junk = []

    def flood():
        for i in range(300):
            junk.append(_flood_one(ws, rnd, i))
            if i % 4 == 3 and junk:
                junk.pop(0).close()
        return True

    res = run_threads([lambda: ws_send_stream(a, da, chunk=64 << 10),
                       lambda: ws_send_stream(b, db, chunk=100_000),
                       lambda: ws_recv_stream(b, n, deadline),
                       lambda: ws_recv_stream(a, n, deadline),
                       lambda: send_in_chunks(u, da[:4 << 20]),
                       lambda: ws_recv_stream(t, 4 << 20, deadline),
                       flood], 70)
    assert res[2] == (n, sha(da))
    assert res[3] == (n, sha(db))
    assert res[5] == (4 << 20, sha(da[:4 << 20]))
    assert ws.alive()
    for s in junk:
        s.close()
    # still serving both kinds
    c, d = ws_ws_pair(ws)
    c.send_binary(b"still here")
    assert d.recv_data(10) == b"still here"
    w, x = ws_tcp_pair(ws)
    x.sendall(b"yes")
    assert w.recv_data(3) == b"yes"
    assert ws.alive()
    recs = ws.log.wait(300, timeout=20)
    assert all(r["mood"] in ("empty", "errory") for r in recs), \
        [r["_raw"] for r in recs if r["mood"] not in ("empty", "errory")]
