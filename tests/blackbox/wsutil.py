"""Helpers for the WebSocket black-box tests of transitd (see the WebSocket
flavour in /work/shared/PROTOCOL.md): starting a relay with a WebSocket
listener, a tiny raw RFC 6455 client (masked frames, any malformation on
demand), an HTTP response reader, and an asyncio adapter for autobahn."""

import asyncio
import base64
import hashlib
import os
import re
import socket
import struct
import threading
import time

import pytest

from conftest import (SOCK_TIMEOUT, expect_ok, handshake, new_token,
                      recv_hashing, wait_read, wait_readable)

WS_LISTEN_RE = re.compile(
    r"^transitd: listening for WebSocket on (\S+) port (\d+) \((\S+)\)$")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


# ---------------------------------------------------------------------------
# the server

def ws_listeners(server, n=1, timeout=10.0):
    """Wait for n 'listening for WebSocket' lines: [(addr, port, url)]."""
    deadline = time.monotonic() + timeout
    while True:
        found = [WS_LISTEN_RE.match(l) for l in server.err.snapshot()]
        found = [m for m in found if m]
        if len(found) >= n:
            return [(m.group(1), int(m.group(2)), m.group(3))
                    for m in found[:n]]
        if not server.alive():
            server.err.done.wait(2)
            raise AssertionError(f"transitd exited with "
                                 f"{server.proc.returncode}; stderr:\n"
                                 f"{server.err.text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {n} 'listening for WebSocket' lines "
                                 f"within {timeout}s; stderr:\n"
                                 f"{server.err.text()}")
        time.sleep(0.01)


def start_ws(start_server, extra=(), nws=1, log=True,
             endpoint="tcp:0:interface=127.0.0.1"):
    """A relay with one TCP listener and nws WebSocket listeners on
    loopback. server.ws = [(addr, port, url)], server.wsport = first."""
    args = ["--port=tcp:0:interface=127.0.0.1"]
    args += [f"--websocket={endpoint}"] * nws
    if log:
        args.append("--log-fd={LOGFD}")
    args += list(extra)
    server = start_server(args=args, nlisten=1, log=log)
    server.ws = ws_listeners(server, nws)
    server.wsport = server.ws[0][1]
    return server


@pytest.fixture
def ws(start_server):
    """A relay with a TCP and a WebSocket listener and a log pipe."""
    return start_ws(start_server)


def pairs_with_tcp(server, c, tok=None):
    """Upgraded client c sends a handshake and pairs with a new TCP
    client: both get ok. Returns the TCP socket."""
    tok = tok or new_token()
    c.send_binary(handshake(tok))
    t = server.client(tok)
    c.expect_ok()
    expect_ok(t)
    return t


def only_moods(server, want, settle=0.2):
    """The records, once they are exactly the moods want (in any order)."""
    server.log.wait(len(want))
    server.log.settle(settle)
    assert server.log.moods() == sorted(want), \
        [r["_raw"] for r in server.log.records]
    return server.log.records


# ---------------------------------------------------------------------------
# HTTP

def make_key():
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key):
    return base64.b64encode(
        hashlib.sha1(key.encode() + GUID).digest()).decode()


def request_fields(port, key, protocols=None):
    f = [("Host", f"127.0.0.1:{port}"), ("Upgrade", "websocket"),
         ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
         ("Sec-WebSocket-Version", "13")]
    if protocols is not None:
        f.append(("Sec-WebSocket-Protocol", protocols))
    return f


def build_request(fields, target="/", method="GET", version="HTTP/1.1",
                  eol=b"\r\n", request_line=None):
    if request_line is None:
        request_line = f"{method} {target} {version}".encode()
    out = request_line + eol
    for f in fields:
        if isinstance(f, bytes):
            out += f + eol
        else:
            out += f"{f[0]}: {f[1]}".encode() + eol
    return out + eol


class Response:
    def __init__(self, raw_head, body):
        head = raw_head.decode("latin-1")
        lines = head.split("\r\n")
        self.status_line = lines[0]
        m = re.match(r"^HTTP/1\.1 (\d{3}) (.*)$", lines[0])
        assert m, f"bad status line: {lines[0]!r} in {head!r}"
        self.status = int(m.group(1))
        self.reason = m.group(2)
        self.headers = []
        for line in lines[1:]:
            if not line:
                continue
            assert ":" in line, f"bad header line {line!r} in {head!r}"
            n, v = line.split(":", 1)
            assert n == n.strip() and n, f"bad header line {line!r}"
            self.headers.append((n.lower(), v.strip()))
        self.body = body
        self.raw = raw_head + body

    def get(self, name):
        vals = [v for n, v in self.headers if n == name.lower()]
        assert len(vals) <= 1, f"duplicate header {name}: {self.raw!r}"
        return vals[0] if vals else None

    def tokens(self, name):
        v = self.get(name) or ""
        return [t.strip().lower() for t in v.split(",") if t.strip()]

    def __repr__(self):
        return f"<Response {self.raw[:600]!r}>"


def read_refusal(sock, timeout=SOCK_TIMEOUT):
    """Read an HTTP error response up to EOF (fails if no EOF)."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"connection not closed within {timeout}s "
                                 f"after {bytes(buf[:600])!r}")
        if not wait_readable([sock], min(left, 1.0)):
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        buf += chunk
        assert len(buf) < 65536, f"huge response: {bytes(buf[:600])!r}"
    i = buf.find(b"\r\n\r\n")
    assert i >= 0, f"no complete HTTP head before EOF: {bytes(buf)!r}"
    return Response(bytes(buf[:i + 4]), bytes(buf[i + 4:]))


# ---------------------------------------------------------------------------
# frames

def mask_bytes(data, key):
    n = len(data)
    if n == 0 or key == b"\0\0\0\0":
        return bytes(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^
            int.from_bytes(k, "little")).to_bytes(n, "little")


def encode_frame(opcode, payload=b"", fin=True, rsv=0, masked=True,
                 key=None, length_form=None, declared=None):
    """One client frame. length_form: None (minimal), 7, 16 or 64 to force
    an encoding; declared: the length written in the header (default
    len(payload))."""
    n = len(payload) if declared is None else declared
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if masked else 0
    if length_form is None:
        length_form = 7 if n < 126 else 16 if n < 65536 else 64
    if length_form == 7:
        head = struct.pack("!BB", b0, mbit | n)
    elif length_form == 16:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not masked:
        return head + bytes(payload)
    if key is None:
        key = os.urandom(4)
    return head + key + mask_bytes(payload, key)


class Frame:
    def __init__(self, fin, opcode, payload):
        self.fin, self.opcode, self.payload = fin, opcode, payload

    @property
    def code(self):
        if self.opcode != OP_CLOSE or len(self.payload) < 2:
            return None
        return struct.unpack("!H", self.payload[:2])[0]

    def __repr__(self):
        return (f"<Frame fin={self.fin} op={self.opcode:#x} "
                f"{self.payload[:60]!r}{'...' if len(self.payload) > 60 else ''}"
                f" ({len(self.payload)} bytes)>")


class WSConn:
    """A raw WebSocket client connection. The socket keeps a constant
    timeout; reads wait with poll, so a reader thread and a writer thread
    can share it."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.pending = bytearray()    # binary payload read but not taken
        self.eof = False
        self.response = None
        self.key = None
        self.got_close = None         # the close frame, once received

    # -- bytes ---------------------------------------------------------

    def _fill(self, deadline):
        """Read some bytes; False on EOF or reset. Fails at deadline."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"timed out waiting for the relay; have "
                    f"{bytes(self.buf[:80])!r}")
            if not wait_readable([self.sock], min(left, 1.0)):
                continue
            try:
                chunk = self.sock.recv(1 << 20)
            except ConnectionResetError:
                chunk = b""
            except socket.timeout:
                continue
            if not chunk:
                self.eof = True
                return False
            self.buf += chunk
            return True

    def send_raw(self, data):
        self.sock.sendall(data)

    # -- upgrade -------------------------------------------------------

    def upgrade(self, port, protocols=None, fields=None, timeout=SOCK_TIMEOUT,
                expect=101):
        self.key = make_key()
        if fields is None:
            fields = request_fields(port, self.key, protocols)
        self.send_raw(build_request(fields))
        return self.read_upgrade_response(timeout, expect)

    def read_upgrade_response(self, timeout=SOCK_TIMEOUT, expect=101):
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            assert len(self.buf) < 16384, bytes(self.buf[:600])
            if not self._fill(deadline):
                raise AssertionError(f"EOF instead of an upgrade response: "
                                     f"{bytes(self.buf)!r}")
        i = self.buf.index(b"\r\n\r\n") + 4
        resp = Response(bytes(self.buf[:i]), b"")
        del self.buf[:i]
        self.response = resp
        if expect == 101:
            check_101(resp, self.key)
        return resp

    # -- frames --------------------------------------------------------

    def send_frame(self, opcode, payload=b"", **kw):
        self.send_raw(encode_frame(opcode, payload, **kw))

    def send_binary(self, data, **kw):
        self.send_frame(OP_BINARY, data, **kw)

    def send_text(self, data, **kw):
        self.send_frame(OP_TEXT, data, **kw)

    def send_ping(self, data=b"", **kw):
        self.send_frame(OP_PING, data, **kw)

    def send_close(self, code=None, reason=b"", **kw):
        p = b"" if code is None else struct.pack("!H", code) + reason
        self.send_frame(OP_CLOSE, p, **kw)

    def send_fragments(self, parts, opcode=OP_BINARY):
        out = b""
        for i, p in enumerate(parts):
            out += encode_frame(opcode if i == 0 else OP_CONT, p,
                                fin=(i == len(parts) - 1))
        self.send_raw(out)

    def recv_frame(self, timeout=SOCK_TIMEOUT):
        """The next server frame, or None on EOF (no partial frame)."""
        deadline = time.monotonic() + timeout
        while True:
            b = self.buf
            if len(b) >= 2:
                b0, b1 = b[0], b[1]
                n = b1 & 0x7F
                h = 2
                if n == 126:
                    h = 4
                elif n == 127:
                    h = 10
                if len(b) >= h:
                    if n == 126:
                        n = struct.unpack_from("!H", b, 2)[0]
                    elif n == 127:
                        n = struct.unpack_from("!Q", b, 2)[0]
                    if len(b) >= h + n:
                        assert not b1 & 0x80, "server frame is masked"
                        assert not b0 & 0x70, f"server frame RSV {b0:#x}"
                        op = b0 & 0xF
                        assert op in (0, 1, 2, 8, 9, 10), f"opcode {op}"
                        fin = bool(b0 & 0x80)
                        if op >= 8:
                            assert fin and n <= 125, "bad control frame"
                        payload = bytes(b[h:h + n])
                        del b[:h + n]
                        f = Frame(fin, op, payload)
                        if op == OP_CLOSE:
                            self.got_close = f
                        return f
            if not self._fill(deadline):
                assert not self.buf, (f"EOF inside a frame: "
                                      f"{bytes(self.buf[:80])!r}")
                return None

    def recv_data(self, n, timeout=SOCK_TIMEOUT, pongs=None):
        """Exactly n bytes of binary payload (pongs collected into the list
        pongs if given, else an error). Fails on close, EOF, text."""
        deadline = time.monotonic() + timeout
        while len(self.pending) < n:
            left = deadline - time.monotonic()
            assert left > 0, (f"timed out after {len(self.pending)} of {n} "
                              f"bytes: {bytes(self.pending[:80])!r}")
            f = self.recv_frame(left)
            assert f is not None, (f"EOF after {len(self.pending)} of {n} "
                                   f"bytes: {bytes(self.pending[:80])!r}")
            if f.opcode in (OP_BINARY, OP_CONT):
                self.pending += f.payload
            elif f.opcode == OP_PONG and pongs is not None:
                pongs.append(f.payload)
            else:
                raise AssertionError(f"unexpected {f!r} after "
                                     f"{len(self.pending)} of {n} bytes: "
                                     f"{bytes(self.pending[:80])!r}")
        out = bytes(self.pending[:n])
        del self.pending[:n]
        return out

    def expect_ok(self, timeout=SOCK_TIMEOUT):
        got = self.recv_data(3, timeout)
        assert got == b"ok\n", f"expected ok, got {got!r}"

    def read_until_close(self, timeout=SOCK_TIMEOUT, limit=256 << 20):
        """Binary payload until the close frame: (data, close frame).
        Fails on EOF without a close frame, text or deadline."""
        deadline = time.monotonic() + timeout
        data = bytearray(self.pending)
        self.pending = bytearray()
        while True:
            left = deadline - time.monotonic()
            assert left > 0, (f"no close frame within {timeout}s; got "
                              f"{len(data)} bytes {bytes(data[:80])!r}")
            f = self.recv_frame(left)
            assert f is not None, (f"EOF without a close frame after "
                                   f"{len(data)} bytes: {bytes(data[:80])!r}")
            if f.opcode in (OP_BINARY, OP_CONT):
                data += f.payload
                assert len(data) <= limit, "more data than expected"
            elif f.opcode == OP_CLOSE:
                return bytes(data), f
            elif f.opcode == OP_PONG:
                continue
            else:
                raise AssertionError(f"unexpected {f!r}")

    def expect_eof(self, timeout=SOCK_TIMEOUT):
        """After the close frame: nothing more, then the TCP close."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            if not self._fill(deadline):
                break
        assert not self.buf, f"bytes after the close frame: " \
                             f"{bytes(self.buf[:80])!r}"

    def expect_closed(self, code, data=b"", timeout=SOCK_TIMEOUT,
                      reply=True):
        """Exactly data (binary), then a close frame with code, then EOF.
        Like a proper client, it answers the close (unless reply=False):
        the relay waits for that answer before it closes TCP."""
        got, f = self.read_until_close(timeout, limit=max(4096, len(data)))
        assert got == data, f"expected {data[:80]!r} before the close, " \
                            f"got {got[:80]!r} ({len(got)} bytes)"
        assert f.code == code, f"expected close {code}, got {f!r}"
        if reply:
            try:
                self.send_close(code)
            except OSError:
                pass
        self.expect_eof(timeout)
        return f

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def check_101(resp, key):
    assert resp.status == 101, f"expected 101, got {resp!r}"
    assert resp.status_line == "HTTP/1.1 101 Switching Protocols", resp
    assert resp.tokens("upgrade") == ["websocket"], resp
    assert "upgrade" in resp.tokens("connection"), resp
    assert resp.get("sec-websocket-accept") == accept_for(key), resp
    assert resp.get("sec-websocket-extensions") is None, resp


def ws_connect(server, index=0, protocols=None):
    """A raw client on WebSocket listener index, upgraded."""
    s = server.connect(port=server.ws[index][1])
    c = WSConn(s)
    c.upgrade(server.ws[index][1], protocols=protocols)
    return c


def ws_client(server, token, side=None, **kw):
    c = ws_connect(server, **kw)
    c.send_binary(handshake(token, side))
    return c


def ws_silent(conn, secs=0.3):
    """Nothing arrives and the connection stays open for secs, counted
    from when the relay has read what conn sent."""
    assert not conn.buf and not conn.pending, bytes(conn.buf or conn.pending)
    wait_read(conn.sock)
    if wait_readable([conn.sock], secs):
        try:
            data = conn.sock.recv(4096, socket.MSG_PEEK)
        except ConnectionResetError:
            data = None
        if data:
            raise AssertionError(f"unexpected data: {data[:80]!r}")
        raise AssertionError("connection unexpectedly closed")


# ---------------------------------------------------------------------------
# bulk transfer (threads)

def ws_send_stream(conn, data, chunk=256 << 10):
    mv = memoryview(data)
    for off in range(0, len(mv), chunk):
        conn.send_binary(mv[off:off + chunk])


def ws_recv_stream(conn, n, deadline):
    """(count, sha256) of n bytes of binary payload."""
    h = hashlib.sha256()
    got = 0
    if conn.pending:
        h.update(conn.pending)
        got += len(conn.pending)
        conn.pending = bytearray()
    while got < n:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out after {got} of {n} bytes"
        f = conn.recv_frame(left)
        assert f is not None, f"EOF after {got} of {n} bytes"
        assert f.opcode in (OP_BINARY, OP_CONT), f"{f!r} after {got} bytes"
        h.update(f.payload)
        got += len(f.payload)
    assert got == n, f"got {got} bytes, wanted {n}"
    return got, h.hexdigest()


def tcp_recv_stream(sock, n, deadline):
    h = hashlib.sha256()
    recv_hashing(sock, n, h, deadline)
    return n, h.hexdigest()


def run_threads(fns, timeout):
    """Run the callables concurrently; return their results; re-raise the
    first exception; fail if any is still running after timeout."""
    results = [None] * len(fns)
    errors = [None] * len(fns)

    def wrap(i, fn):
        try:
            results[i] = fn()
        except BaseException as e:     # reported below
            errors[i] = e

    ts = [threading.Thread(target=wrap, args=(i, fn), daemon=True)
          for i, fn in enumerate(fns)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + timeout
    for t in ts:
        t.join(max(0.1, deadline - time.monotonic()))
    for e in errors:
        if e is not None:
            raise e
    stuck = [i for i, t in enumerate(ts) if t.is_alive()]
    assert not stuck, f"threads {stuck} still running after {timeout}s"
    return results


# ---------------------------------------------------------------------------
# autobahn (asyncio)

def autobahn_run(coro_fn, timeout=30):
    """Run coro_fn(loop) on a fresh event loop with a deadline."""
    import txaio
    txaio.use_asyncio()
    loop = asyncio.new_event_loop()
    txaio.config.loop = loop
    try:
        return loop.run_until_complete(
            asyncio.wait_for(coro_fn(loop), timeout))
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(
                asyncio.gather(*pending, return_exceptions=True))
        loop.close()


class ABClient:
    """An autobahn WebSocket client with awaitable reads."""

    @classmethod
    async def connect(cls, loop, port, protocols=("transit_relay",)):
        from autobahn.asyncio.websocket import (WebSocketClientFactory,
                                                WebSocketClientProtocol)
        self = cls()
        self.data = bytearray()
        self.texts = []
        self.pongs = []
        self.closed = loop.create_future()
        self.opened = loop.create_future()
        self.changed = asyncio.Event()
        me = self

        class Proto(WebSocketClientProtocol):
            def onOpen(self):
                me.proto = self
                if not me.opened.done():
                    me.opened.set_result(True)

            def onMessage(self, payload, isBinary):
                if isBinary:
                    me.data += payload
                else:
                    me.texts.append(payload)
                me.changed.set()

            def onPong(self, payload):
                me.pongs.append(payload)
                me.changed.set()

            def onClose(self, wasClean, code, reason):
                if not me.opened.done():
                    me.opened.set_exception(AssertionError(
                        f"autobahn: not opened: {code} {reason}"))
                if not me.closed.done():
                    me.closed.set_result((wasClean, code, reason))
                me.changed.set()

        factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/",
                                         protocols=list(protocols or []),
                                         loop=loop)
        factory.protocol = Proto
        factory.setProtocolOptions(openHandshakeTimeout=10,
                                   closeHandshakeTimeout=5,
                                   maxMessagePayloadSize=0,
                                   maxFramePayloadSize=0)
        await loop.create_connection(factory, "127.0.0.1", port)
        await asyncio.wait_for(self.opened, 10)
        return self

    def send(self, data):
        self.proto.sendMessage(bytes(data), isBinary=True)

    async def recv(self, n, timeout=10):
        async def wait():
            while len(self.data) < n:
                assert not self.closed.done(), \
                    f"closed {self.closed.result()} after {len(self.data)}" \
                    f" of {n} bytes: {bytes(self.data[:80])!r}"
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(wait(), timeout)
        out = bytes(self.data[:n])
        del self.data[:n]
        return out

    async def pong(self, timeout=10):
        async def wait():
            while not self.pongs:
                assert not self.closed.done(), "closed while awaiting pong"
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(wait(), timeout)
        return self.pongs.pop(0)

    async def wait_closed(self, timeout=10):
        return await asyncio.wait_for(asyncio.shield(self.closed), timeout)


class Bg:
    """Run fn in a background thread; result() joins it (re-raising)."""

    def __init__(self, fn):
        self.value = None
        self.error = None
        self.t = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.t.start()

    def _run(self, fn):
        try:
            self.value = fn()
        except BaseException as e:     # re-raised by result()
            self.error = e

    def result(self, timeout=30):
        self.t.join(timeout)
        assert not self.t.is_alive(), f"background task still running " \
                                      f"after {timeout}s"
        if self.error is not None:
            raise self.error
        return self.value
