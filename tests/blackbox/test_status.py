"""--status: /status (JSON), /metrics (Prometheus, checked by promtool)
and /health, and the listener's own limits."""

import json
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import SOCK_TIMEOUT, new_token, wait_read, wait_stderr
from test_protect import get, start, status

pytestmark = pytest.mark.transitd_only

PROMTOOL = shutil.which("promtool")


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} in:\n{text}")


def test_status_has_every_field(start_server):
    s = start(start_server, "--lonely-timeout=30", "--trusted-net=10.0.0.0/8")
    a, b = s.pair()
    w = s.client(new_token())
    wait_read(w)
    st = status(s)
    for k in ("version", "uptime_seconds", "options", "connections", "pairs",
              "waiting_tokens", "bytes_relayed", "rates_bytes_per_second",
              "moods", "refusals", "timeouts", "database"):
        assert k in st, k
    assert (st["connections"], st["pairs"], st["waiting_tokens"]) == (3, 1, 1)
    assert set(st["rates_bytes_per_second"]) == {"10s", "1m", "5m", "15m"}
    assert set(st["moods"]) == {"happy", "lonely", "redundant", "errory",
                                "impatient", "empty"}
    assert set(st["refusals"]) == {"max_connections", "per_ip",
                                   "waiting_per_ip", "daily_bytes"}
    assert set(st["timeouts"]) == {"handshake", "lonely", "idle",
                                   "session_time", "session_bytes"}
    assert st["database"] == {"enabled": False, "queue": 0, "dropped": 0}
    assert st["options"]["lonely_timeout"] == 30
    assert st["options"]["trusted_net"] == ["10.0.0.0/8"]
    a.close()
    s.log.wait(1)
    deadline = time.monotonic() + SOCK_TIMEOUT
    while status(s)["moods"]["happy"] != 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_bytes_count_while_a_pair_is_live(start_server):
    s = start(start_server)
    a, b = s.pair()
    a.sendall(b"m" * 300000)
    got = 0
    while got < 300000:
        got += len(b.recv(65536))
    # The pair is still open: no record yet, the bytes are counted.
    assert s.log.settle(0.1) == []
    code, text = get(s, "/metrics")
    assert code == 200
    assert metric(text, "transitd_relayed_bytes_total") == 300000
    assert metric(text, "transitd_pairs") == 1
    assert status(s)["bytes_relayed"] == 300000


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian's prometheus)")
def test_metrics_pass_promtool(start_server):
    s = start(start_server)
    a, b = s.pair()
    a.sendall(b"p" * 5000)
    b.recv(5000)
    a.close()
    s.log.wait(1)
    code, text = get(s, "/metrics")
    assert code == 200
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=30)
    assert r.returncode == 0, (r.stdout, r.stderr, text)
    assert r.stdout == b"" and r.stderr == b"", (r.stdout, r.stderr)
    for name in ("transitd_waiting_time_seconds_bucket",
                 "transitd_session_duration_seconds_bucket",
                 "transitd_session_bytes_bucket"):
        assert name + '{le="+Inf"} 1' in text, name
    assert 'transitd_usage_records_total{mood="happy"} 1' in text


def test_health_pairs_through_the_matcher(start_server):
    s = start(start_server)
    code, body = get(s, "/health")
    assert code == 200, body
    assert body.startswith("ok: a pair through the relay took")
    # The check's own pair is neither recorded nor limited.
    assert s.log.settle(0.3) == []


def test_health_is_503_while_draining(start_server):
    s = start(start_server, "--drain-timeout=30")
    a, b = s.pair()
    a.sendall(b"d")
    b.recv(1)
    s.proc.send_signal(signal.SIGTERM)
    wait_stderr(s, "stopping")
    code, body = get(s, "/health")
    assert code == 503 and body.startswith("draining"), (code, body)
    assert status(s)["draining"] is True
    a.close()


def test_health_pair_is_not_limited(start_server):
    """With every connection a client may have taken, the check's own
    pair still goes through, and is not recorded."""
    s = start(start_server, "--max-connections=1")
    c = s.client(new_token())
    wait_read(c)
    code, body = get(s, "/health")
    assert code == 200, body    # the relay's own pair is not limited
    assert s.log.settle(0.1) == []


def test_unknown_path_is_404(start_server):
    s = start(start_server)
    code, body = get(s, "/nope")
    assert code == 404 and "/status" in body


def test_idle_http_clients_do_not_stall_relaying(start_server):
    """Hold more HTTP connections than the listener takes, sending
    nothing: pairs still relay, and /status answers once they time out."""
    s = start(start_server)
    idle = []
    for _ in range(80):
        c = socket.create_connection(("127.0.0.1", s.status_port),
                                     timeout=SOCK_TIMEOUT)
        idle.append(c)
    try:
        a, b = s.pair()
        a.sendall(b"s" * 100000)
        got = 0
        while got < 100000:
            got += len(b.recv(65536))
        deadline = time.monotonic() + 30
        while True:
            try:
                code, _ = get(s, "/status")
                if code == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline
        # evhttp closed the silent ones after its deadline.
        closed = 0
        for c in idle[:5]:
            c.settimeout(SOCK_TIMEOUT)
            try:
                closed += c.recv(1) == b""
            except (ConnectionResetError, socket.timeout):
                pass
        assert closed >= 1
    finally:
        for c in idle:
            c.close()


def test_health_is_503_out_of_descriptors(start_server):
    """Once accept fails for want of descriptors, /health says so."""
    from conftest import thread_fds
    nofile = 40 + thread_fds()
    s = start_server(args=["--port=tcp:0:interface=127.0.0.1",
                           "--status=tcp:0:interface=127.0.0.1"],
                     nlisten=1, log=False,
                     preexec_fn=lambda: __import__("resource").setrlimit(
                         __import__("resource").RLIMIT_NOFILE,
                         (nofile, nofile)))
    from test_protect import STATUS_RE
    s.status_port = int(STATUS_RE.match(
        wait_stderr(s, "transitd: status on ")).group(2))
    socks = [s.connect() for _ in range(60)]
    wait_stderr(s, "pausing")
    for c in socks:
        c.close()
    s.socks = []
    code, body = get(s, "/health")
    assert code == 503 and "out of file descriptors" in body, (code, body)


def test_a_dripping_http_client_is_shut(start_server):
    """One header byte every half second never trips a read deadline;
    the connection is shut anyway once its 10 s are up."""
    s = start(start_server)
    c = socket.create_connection(("127.0.0.1", s.status_port),
                                 timeout=SOCK_TIMEOUT)
    c.sendall(b"GET /status HTTP/1.1\r\nX-Drip: ")
    t0 = time.monotonic()
    closed = False
    while time.monotonic() - t0 < 30:
        try:
            c.sendall(b"a")
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        r, _, _ = __import__("select").select([c], [], [], 0.5)
        if r:
            try:
                if c.recv(4096) == b"":
                    closed = True
                    break
            except ConnectionResetError:
                closed = True
                break
    assert closed
    assert time.monotonic() - t0 >= 9
    c.close()
    assert get(s, "/status")[0] == 200
