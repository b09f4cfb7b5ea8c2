"""Deadlines, limits and byte budgets (issue: protect a public relay).

Each one ends or refuses connections as its option says, writes the
record the Python relay would for the state they were in, and is counted
by cause in /status and once every few seconds on stderr. Clients bound
to 127.0.0.2, 127.0.0.3, ... stand for distinct sources."""

import json
import re
import signal
import socket
import time
import urllib.request

import pytest

from conftest import (SOCK_TIMEOUT, expect_ok, handshake, launch, new_token,
                      wait_read, wait_readable, wait_stderr)

pytestmark = pytest.mark.transitd_only

STATUS_RE = re.compile(r"^transitd: status on (\S+) port (\d+) ")


def start(start_server, *opts, log=True):
    """transitd on a kernel port with --status and opts."""
    s = start_server(args=["--port=tcp:0:interface=127.0.0.1",
                           "--status=tcp:0:interface=127.0.0.1",
                           "--log-fd={LOGFD}", *opts] if log else
                     ["--port=tcp:0:interface=127.0.0.1",
                      "--status=tcp:0:interface=127.0.0.1", *opts],
                     nlisten=1, log=log)
    line = wait_stderr(s, "transitd: status on ")
    s.status_port = int(STATUS_RE.match(line).group(2))
    return s


def get(server, path):
    """GET path from the status listener: (code, body)."""
    url = f"http://127.0.0.1:{server.status_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=SOCK_TIMEOUT) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def status(server):
    code, body = get(server, "/status")
    assert code == 200, body
    return json.loads(body)


def connect_from(server, src, port=None):
    """A client bound to source address src."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(SOCK_TIMEOUT)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port or server.port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server.socks.append(s)
    return s


def closed_within(sock, secs):
    """Whether the relay closes sock (EOF or reset) within secs."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if not wait_readable([sock], deadline - time.monotonic()):
            return False
        try:
            if sock.recv(65536) == b"":
                return True
        except ConnectionResetError:
            return True
    return False


def refused(sock, secs=SOCK_TIMEOUT):
    """The relay closed sock at once, without a word."""
    try:
        sock.sendall(handshake(new_token()))
    except (BrokenPipeError, ConnectionResetError):
        return True
    return closed_within(sock, secs)


def counted(server, group, cause, n=1):
    """Wait until /status counts n of cause in group."""
    deadline = time.monotonic() + SOCK_TIMEOUT
    while (got := status(server)[group][cause]) < n:
        assert time.monotonic() < deadline, f"{group}.{cause}: {got}"
        time.sleep(0.02)
    return got


# -- deadlines ---------------------------------------------------------------

def test_handshake_timeout_closes_a_silent_client(start_server):
    s = start(start_server, "--handshake-timeout=1")
    t0 = time.monotonic()
    c = s.connect()
    assert closed_within(c, SOCK_TIMEOUT)
    assert time.monotonic() - t0 >= 0.9
    rec = s.log.wait(1)[0]
    assert rec["mood"] == "empty" and rec["total_bytes"] == 0
    assert counted(s, "timeouts", "handshake") == 1
    line = wait_stderr(s, "--handshake-timeout")
    assert "ended 1 connection in the last 5 s" in line


def test_handshake_timeout_closes_a_partial_handshake(start_server):
    s = start(start_server, "--handshake-timeout=1")
    c = s.connect()
    c.sendall(b"please relay " + new_token()[:20].encode())
    assert closed_within(c, SOCK_TIMEOUT)
    assert s.log.wait(1)[0]["mood"] == "empty"


def test_handshake_in_time_is_not_ended(start_server):
    """A client that completes its handshake waits past the deadline."""
    s = start(start_server, "--handshake-timeout=1")
    c = s.client(new_token())
    wait_read(c)
    assert not closed_within(c, 2.0)
    assert status(s)["timeouts"]["handshake"] == 0


def test_defaults_keep_handshake_and_keepalive_on(start_server):
    s = start(start_server)
    o = status(s)["options"]
    assert (o["handshake_timeout"], o["keepalive"]) == (60, 300)
    for k in ("lonely_timeout", "idle_timeout", "max_session_time",
              "max_session_bytes", "per_session_rate", "global_rate",
              "max_connections", "max_per_ip", "max_waiting_per_ip",
              "daily_bytes_per_ip"):
        assert o[k] == 0, k
    assert o["ipv6_prefix"] == 64 and o["trusted_net"] == []


def test_keepalive_is_set_on_accepted_connections(start_server):
    """ss(8) shows the keepalive timer of the relay's end: at most
    --keepalive seconds."""
    import subprocess
    s = start(start_server, "--keepalive=77")
    c = s.client(new_token())
    wait_read(c)
    out = subprocess.run(["ss", "-tno", "state", "established", "sport",
                          "=", f":{s.port}"], capture_output=True,
                         text=True, timeout=10).stdout
    m = re.search(r"timer:\(keepalive,(?:(\d+)min)?(\d+)(?:\.\d+)?sec", out)
    assert m, out
    secs = int(m.group(1) or 0) * 60 + int(m.group(2))
    assert 60 < secs <= 77, out


def test_lonely_timeout_ends_a_waiter_as_lonely(start_server):
    s = start(start_server, "--lonely-timeout=1")
    c = s.client(new_token())
    t0 = time.monotonic()
    assert closed_within(c, SOCK_TIMEOUT)
    assert time.monotonic() - t0 >= 0.9
    rec = s.log.wait(1)[0]
    assert rec["mood"] == "lonely" and rec["waiting_time"] is None
    assert counted(s, "timeouts", "lonely") == 1
    assert status(s)["waiting_tokens"] == 0


def test_idle_timeout_ends_a_silent_pair_as_happy(start_server):
    s = start(start_server, "--idle-timeout=1")
    a, b = s.pair()
    a.sendall(b"x" * 1000)
    assert len(b.recv(1000)) > 0
    assert closed_within(a, SOCK_TIMEOUT) and closed_within(b, SOCK_TIMEOUT)
    rec = s.log.wait(1)[0]
    assert rec["mood"] == "happy" and rec["total_bytes"] == 1000
    assert counted(s, "timeouts", "idle") == 1
    line = wait_stderr(s, "--idle-timeout")
    assert "ended 1 pair in the last 5 s: --idle-timeout (1 since start)" \
        in line, line


def test_idle_timeout_spares_a_pair_that_moves(start_server):
    """A byte every 0.1 s (either way) keeps a pair with --idle-timeout=3
    alive past its deadline."""
    s = start(start_server, "--idle-timeout=3")
    a, b = s.pair()
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < 4:
        (a if i % 2 else b).sendall(b"y")
        assert (b if i % 2 else a).recv(1) == b"y"
        time.sleep(0.1)
        i += 1
    assert status(s)["timeouts"]["idle"] == 0
    assert status(s)["pairs"] == 1


def test_max_session_time_ends_a_busy_pair(start_server):
    s = start(start_server, "--max-session-time=1")
    a, b = s.pair()
    t0 = time.monotonic()
    total = 0
    while time.monotonic() - t0 < SOCK_TIMEOUT:
        try:
            a.sendall(b"z" * 4096)
        except (BrokenPipeError, ConnectionResetError):
            break
        if wait_readable([b], 0.05):
            got = b.recv(65536)
            if not got:
                break
            total += len(got)
    assert time.monotonic() - t0 >= 0.9
    rec = s.log.wait(1)[0]
    assert rec["mood"] == "happy" and rec["total_bytes"] >= total
    assert counted(s, "timeouts", "session_time") == 1


def test_max_session_bytes_relays_exactly_that_many(start_server):
    s = start(start_server, "--max-session-bytes=100k")
    a, b = s.pair()
    a.sendall(b"q" * 30000)
    try:
        a.sendall(b"q" * 170000)
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = b""
    while True:
        try:
            chunk = b.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        got += chunk
    assert len(got) == 100000
    rec = s.log.wait(1)[0]
    assert rec["mood"] == "happy" and rec["total_bytes"] == 100000
    assert counted(s, "timeouts", "session_bytes") == 1


# -- rates -------------------------------------------------------------------

def timed_transfer(pairs, n):
    """Send n bytes one way through each pair at once: seconds taken."""
    t0 = time.monotonic()
    left = {b: n for _, b in pairs}
    sent = {a: 0 for a, _ in pairs}
    for a, _ in pairs:
        a.setblocking(False)
    while any(left.values()):
        assert time.monotonic() - t0 < 60, left
        for a, _ in pairs:
            if sent[a] < n:
                try:
                    sent[a] += a.send(b"r" * min(65536, n - sent[a]))
                except BlockingIOError:
                    pass
        for b in [b for b, k in left.items() if k]:
            if wait_readable([b], 0.01):
                got = b.recv(65536)
                assert got, "closed early"
                left[b] -= len(got)
    return time.monotonic() - t0


def test_per_session_rate_holds_a_pair_to_its_rate(start_server):
    s = start(start_server, "--per-session-rate=200k/s")
    a, b = s.pair()
    secs = timed_transfer([(a, b)], 600000)
    # 600 kB at 200 kB/s, less the burst (a tenth of a second's worth):
    # about 2.9 s; never much less, whatever the machine.
    assert secs >= 2.3, secs
    assert secs < 30, secs


def test_global_rate_is_shared_by_every_pair(start_server):
    s = start(start_server, "--global-rate=200k/s")
    pairs = [s.pair(), s.pair()]
    secs = timed_transfer(pairs, 300000)
    assert secs >= 2.3, secs


def test_rates_off_by_default_relay_everything(start_server):
    s = start(start_server)
    a, b = s.pair()
    timed_transfer([(a, b)], 2000000)
    a.close()
    assert s.log.wait(1)[0]["total_bytes"] == 2000000
    assert status(s)["options"]["per_session_rate"] == 0


# -- admission ---------------------------------------------------------------

def test_max_connections_refuses_at_accept(start_server):
    s = start(start_server, "--max-connections=2")
    a = s.client(new_token())
    b = s.client(new_token())
    wait_read(a)
    wait_read(b)
    c = s.connect()
    assert refused(c)
    assert counted(s, "refusals", "max_connections") == 1
    a.close()
    s.log.wait(1)
    d = s.client(new_token())
    assert not closed_within(d, 0.5)
    line = wait_stderr(s, "--max-connections")
    assert re.search(r"refused 1 connection in the last 5 s: "
                     r"--max-connections \(1 since start\)", line), line


def test_max_per_ip_counts_each_source(start_server):
    s = start(start_server, "--max-per-ip=2")
    keep = [connect_from(s, "127.0.0.2") for _ in range(2)]
    for k in keep:
        k.sendall(handshake(new_token()))
        wait_read(k)
    assert refused(connect_from(s, "127.0.0.2"))
    other = connect_from(s, "127.0.0.3")
    other.sendall(handshake(new_token()))
    assert not closed_within(other, 0.5)
    assert counted(s, "refusals", "per_ip") == 1
    keep[0].close()
    s.log.wait(1)
    again = connect_from(s, "127.0.0.2")
    again.sendall(handshake(new_token()))
    assert not closed_within(again, 0.5)


def test_trusted_net_is_exempt(start_server):
    s = start(start_server, "--max-per-ip=1", "--trusted-net=127.0.0.4/32",
              "--max-connections=100")
    many = [connect_from(s, "127.0.0.4") for _ in range(3)]
    for m in many:
        m.sendall(handshake(new_token()))
        assert not closed_within(m, 0.2)
    connect_from(s, "127.0.0.5").sendall(handshake(new_token()))
    assert refused(connect_from(s, "127.0.0.5"))
    assert status(s)["options"]["trusted_net"] == ["127.0.0.4/32"]


def test_max_waiting_per_ip_stops_token_squatting(start_server):
    s = start(start_server, "--max-waiting-per-ip=1")
    w = connect_from(s, "127.0.0.6")
    w.sendall(handshake(new_token()))
    wait_read(w)
    counted_before = status(s)["refusals"]["waiting_per_ip"]
    assert refused(connect_from(s, "127.0.0.6"))
    assert counted(s, "refusals", "waiting_per_ip", counted_before + 1)
    # Another source may still wait, and the squatter's partner pairs.
    token = new_token()
    x = connect_from(s, "127.0.0.7")
    x.sendall(handshake(token))
    y = connect_from(s, "127.0.0.8")
    y.sendall(handshake(token))
    expect_ok(x)
    expect_ok(y)


def test_waiters_over_the_limit_before_their_handshake_end_lonely(
        start_server):
    """Two connections opened before either registered: the second to
    register is over the limit and ends (lonely, counted)."""
    s = start(start_server, "--max-waiting-per-ip=1")
    a = connect_from(s, "127.0.0.9")
    b = connect_from(s, "127.0.0.9")
    wait_read(a)
    wait_read(b)
    a.sendall(handshake(new_token()))
    wait_read(a)
    b.sendall(handshake(new_token()))
    assert closed_within(b, SOCK_TIMEOUT)
    assert not closed_within(a, 0.3)
    assert s.log.wait(1)[0]["mood"] == "lonely"


def test_refusals_are_one_line_per_cause_every_few_seconds(start_server):
    s = start(start_server, "--max-per-ip=1")
    hold = connect_from(s, "127.0.0.10")
    hold.sendall(handshake(new_token()))
    wait_read(hold)
    t0 = time.monotonic()
    for _ in range(40):
        assert refused(connect_from(s, "127.0.0.10"))
    counted(s, "refusals", "per_ip", 40)
    wait_stderr(s, "--max-per-ip (40 since start)")
    # One line per 5 s at most, however long the refusals took.
    most = int(time.monotonic() - t0) // 5 + 2
    lines = [l for l in s.err.snapshot() if "--max-per-ip" in l]
    assert len(lines) <= most, lines
    assert sum(int(re.search(r"refused (\d+)", l).group(1))
               for l in lines) == 40


# -- byte budgets ------------------------------------------------------------

def pair_from(s, src_a, src_b):
    token = new_token()
    a = connect_from(s, src_a)
    a.sendall(handshake(token))
    wait_read(a)
    b = connect_from(s, src_b)
    b.sendall(handshake(token))
    return a, b


def test_daily_budget_refuses_a_source_over_it(start_server):
    s = start(start_server, "--daily-bytes-per-ip=100000")
    a, b = pair_from(s, "127.0.0.11", "127.0.0.12")
    expect_ok(a)
    expect_ok(b)
    a.sendall(b"b" * 60000)
    got = 0
    while got < 60000:
        got += len(b.recv(65536))
    b.sendall(b"c" * 50000)
    got = 0
    while got < 50000:
        got += len(a.recv(65536))
    a.close()
    b.close()
    s.log.wait(1)
    # Both sources have 110 kB: over. A third source is not.
    c = connect_from(s, "127.0.0.11")
    c.sendall(handshake(new_token()))
    assert c.recv(64) == b"bad handshake\n"
    assert closed_within(c, SOCK_TIMEOUT)
    assert counted(s, "refusals", "daily_bytes") == 1
    assert [r["mood"] for r in s.log.wait(2)] == ["happy", "errory"]
    fresh = connect_from(s, "127.0.0.13")
    fresh.sendall(handshake(new_token()))
    assert not closed_within(fresh, 0.3)
    # The budgets survive SIGHUP.
    s.proc.send_signal(signal.SIGHUP)
    wait_stderr(s, "SIGHUP")
    d = connect_from(s, "127.0.0.12")
    d.sendall(handshake(new_token()))
    assert d.recv(64) == b"bad handshake\n"
    # Only keyed hashes are kept: the sources tracked, never addresses.
    st = status(s)
    assert st["sources_tracked"] >= 2
    assert "127.0.0.11" not in json.dumps(st)


# -- WebSocket clients -------------------------------------------------------

def test_websocket_without_handshake_message_times_out(start_server):
    """Upgraded, but no handshake message: a close frame, then the end;
    recorded empty and counted."""
    from wsutil import OP_CLOSE, ws_connect, ws_listeners
    s = start_server(args=["--port=tcp:0:interface=127.0.0.1",
                           "--websocket=tcp:0:interface=127.0.0.1",
                           "--status=tcp:0:interface=127.0.0.1",
                           "--handshake-timeout=1", "--log-fd={LOGFD}"],
                     nlisten=1)
    s.ws = ws_listeners(s)
    s.status_port = int(STATUS_RE.match(
        wait_stderr(s, "transitd: status on ")).group(2))
    t0 = time.monotonic()
    c = ws_connect(s)
    f = c.recv_frame()
    assert f is not None and f.opcode == OP_CLOSE, f
    assert time.monotonic() - t0 >= 0.9
    assert s.log.wait(1)[0]["mood"] == "empty"
    assert counted(s, "timeouts", "handshake") == 1


def test_websocket_handshake_in_time_pairs_with_tcp(start_server):
    from wsutil import ws_client, ws_listeners
    s = start_server(args=["--port=tcp:0:interface=127.0.0.1",
                           "--websocket=tcp:0:interface=127.0.0.1",
                           "--handshake-timeout=1", "--log-fd={LOGFD}"],
                     nlisten=1)
    s.ws = ws_listeners(s)
    token = new_token()
    w = ws_client(s, token)
    t = s.client(token)
    expect_ok(t)
    w.send_binary(b"hello")
    assert t.recv(5) == b"hello"
    assert not closed_within(t, 1.5)


# -- options -----------------------------------------------------------------

def test_every_limit_has_its_variable(start_server):
    s = start_server(args=["--port=tcp:0:interface=127.0.0.1",
                           "--lonely-timeout=9"], nlisten=1, log=False,
                     env={"TRANSITD_STATUS": "tcp:0:interface=127.0.0.1",
                          "TRANSITD_LONELY_TIMEOUT": "7",
                          "TRANSITD_IDLE_TIMEOUT": "8",
                          "TRANSITD_HANDSHAKE_TIMEOUT": "30",
                          "TRANSITD_KEEPALIVE": "120",
                          "TRANSITD_MAX_SESSION_TIME": "86400",
                          "TRANSITD_MAX_SESSION_BYTES": "50G",
                          "TRANSITD_PER_SESSION_RATE": "50M/s",
                          "TRANSITD_GLOBAL_RATE": "1Gi/s",
                          "TRANSITD_MAX_CONNECTIONS": "20000",
                          "TRANSITD_MAX_PER_IP": "100",
                          "TRANSITD_MAX_WAITING_PER_IP": "20",
                          "TRANSITD_IPV6_PREFIX": "56",
                          "TRANSITD_TRUSTED_NET": "10.0.0.0/8 2001:db8::/32",
                          "TRANSITD_DAILY_BYTES_PER_IP": "200G"})
    s.status_port = int(STATUS_RE.match(
        wait_stderr(s, "transitd: status on ")).group(2))
    o = status(s)["options"]
    assert o["lonely_timeout"] == 9          # the command line wins
    assert (o["idle_timeout"], o["handshake_timeout"], o["keepalive"],
            o["max_session_time"]) == (8, 30, 120, 86400)
    assert o["max_session_bytes"] == 50 * 10**9
    assert o["per_session_rate"] == 50 * 10**6
    assert o["global_rate"] == 2**30
    assert (o["max_connections"], o["max_per_ip"], o["max_waiting_per_ip"],
            o["ipv6_prefix"]) == (20000, 100, 20, 56)
    assert o["trusted_net"] == ["10.0.0.0/8", "2001:db8::/32"]
    assert o["daily_bytes_per_ip"] == 200 * 10**9


@pytest.mark.parametrize("arg,env", [
    ("--idle-timeout=soon", None),
    ("--max-per-ip=-3", None),
    ("--ipv6-prefix=0", None),
    ("--trusted-net=10.0.0.0/40", None),
    ("--global-rate=5X", None),
    (None, ("TRANSITD_MAX_CONNECTIONS", "many")),
    (None, ("TRANSITD_TRUSTED_NET", "10.0.0.0/8 nonsense")),
])
def test_bad_limit_values_are_refused(arg, env):
    import os
    import subprocess
    from conftest import transitd_path
    r = subprocess.run([transitd_path(), "--port=tcp:0:interface=127.0.0.1"]
                       + ([arg] if arg else []), capture_output=True,
                       text=True, timeout=10, stdin=subprocess.DEVNULL,
                       env={**os.environ, **dict([env])} if env else None)
    assert r.returncode == 2, r
    name = arg.split("=")[0] if arg else env[0]
    assert name in r.stderr and r.stderr.count("\n") == 1, r.stderr
