"""transitd-probe: reports a working relay (transitd or the Python
reference), and fails clearly on a dead port or a refusing relay."""

import os
import socket
import subprocess

import pytest

from testlib import free_port, wait_for


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False

PROBE = os.environ.get("TRANSITD_PROBE") or os.path.join(
    os.path.dirname(os.environ.get("TRANSITD", "")), "..", "probe",
    "transitd-probe")


def probe(*args, timeout=60):
    if not os.access(PROBE, os.X_OK):
        pytest.fail(f"no transitd-probe at {PROBE} (TRANSITD_PROBE)")
    return subprocess.run([PROBE, *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.transitd_only
def test_probe_reports_a_working_transitd(start_server):
    s = start_server()
    r = probe("--seconds=1", f"tcp:127.0.0.1:{s.port}")
    assert r.returncode == 0, r
    out = r.stdout
    assert "pairing" in out and "the relay works" in out, out
    assert "A -> B" in out and "B -> A" in out
    assert "every byte checked" in out
    # Not a terminal: plain lines, no carriage returns.
    assert "\r" not in out and "\033" not in out
    recs = s.log.wait(1)
    assert recs[0]["mood"] == "happy" and recs[0]["total_bytes"] > 0


@pytest.mark.transitd_only
def test_probe_over_ipv6(start_server):
    s = start_server(ports=("tcp:0:interface=\\:\\:1",))
    r = probe("--seconds=0.5", f"tcp:[::1]:{s.port}")
    assert r.returncode == 0, r


def test_probe_reports_the_python_relay():
    port = free_port()
    ref = subprocess.Popen(["twist3", "transitrelay",
                            f"--port=tcp:{port}:interface=127.0.0.1"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: listening(port), 30, "the reference listening")
        r = probe("--seconds=0.5", "--timeout=5", f"tcp:127.0.0.1:{port}")
        assert r.returncode == 0, r
        assert "the relay works" in r.stdout
    finally:
        ref.terminate()
        ref.wait(10)


def test_probe_fails_clearly_on_a_dead_port():
    port = free_port()
    r = probe(f"tcp:127.0.0.1:{port}")
    assert r.returncode == 1, r
    assert "the relay does NOT work: cannot connect to 127.0.0.1 port " \
        f"{port}: Connection refused" in r.stdout


@pytest.mark.transitd_only
def test_probe_fails_on_a_refusing_relay(start_server):
    s = start_server(args=["--port=tcp:0:interface=127.0.0.1",
                           "--max-connections=1"], nlisten=1, log=False)
    hold = s.connect()
    hold.sendall(b"please relay " + b"a" * 64 + b"\n")
    from conftest import wait_read
    wait_read(hold)
    r = probe("--timeout=3", f"tcp:127.0.0.1:{s.port}")
    assert r.returncode == 1, r
    assert "does NOT work" in r.stdout


def test_probe_usage_errors():
    assert probe().returncode == 2
    r = probe("127.0.0.1:4001")
    assert r.returncode == 2 and "tcp:HOST:PORT" in r.stderr
    assert probe("--seconds=x", "tcp:h:1").returncode == 2
    r = probe("--help")
    assert r.returncode == 0 and "usage" in r.stdout


@pytest.mark.transitd_only
def test_probe_draws_progress_on_a_terminal(start_server):
    """On a terminal the progress line is redrawn in place."""
    import pty
    s = start_server()
    mfd, sfd = pty.openpty()
    try:
        p = subprocess.Popen([PROBE, "--seconds=1.5",
                              f"tcp:127.0.0.1:{s.port}"], stdout=sfd,
                             stderr=sfd, stdin=subprocess.DEVNULL)
        os.close(sfd)
        out = b""
        while True:
            try:
                chunk = os.read(mfd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        assert p.wait(60) == 0, out
    finally:
        os.close(mfd)
    text = out.decode()
    assert "\r  relaying" in text, text
    assert "the relay works" in text
