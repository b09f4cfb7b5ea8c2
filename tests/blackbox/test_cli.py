"""Command line of transitd: errors, --help, --version, option forms,
several listeners."""

import re
import socket

import pytest

from conftest import (expect_ok, new_side, new_token, read_to_eof, recv_exact,
                      run)

pytestmark = pytest.mark.transitd_only

GOOD_PORT = "--port=tcp:0:interface=127.0.0.1"


def one_line(stderr):
    text = stderr.decode("utf-8", "replace")
    lines = text.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {text!r}"
    assert text.endswith("\n"), repr(text)
    assert lines[0].startswith("transitd: "), repr(text)
    assert len(lines[0]) > len("transitd: ")
    return lines[0]


USAGE_ERRORS = {
    "unknown_long": [GOOD_PORT, "--bogus"],
    "unknown_long_value": [GOOD_PORT, "--frobnicate=3"],
    "unknown_short": [GOOD_PORT, "-z"],
    "log_fd_abc": [GOOD_PORT, "--log-fd=abc"],
    "log_fd_empty": [GOOD_PORT, "--log-fd="],
    "blur_x": [GOOD_PORT, "--blur-usage=x"],
    "blur_trailing": [GOOD_PORT, "--blur-usage=10x"],
    "port_bogus": ["--port=bogus"],
    "port_70000": ["--port=tcp:70000"],
    "port_70000_iface": ["--port=tcp:70000:interface=127.0.0.1"],
    "port_not_number": ["--port=tcp:abc:interface=127.0.0.1"],
    "port_unknown_type": ["--port=udp:0:interface=127.0.0.1"],
    "missing_port_value": ["--port"],
    "missing_log_fd_value": [GOOD_PORT, "--log-fd"],
    "missing_blur_value": [GOOD_PORT, "--blur-usage"],
    "missing_short_p_value": ["-p"],
    "positional": [GOOD_PORT, "extra"],
    "positional_first": ["extra", GOOD_PORT],
}


@pytest.mark.parametrize("name", sorted(USAGE_ERRORS))
def test_usage_error_exit_2(transitd_bin, name):
    r = run(transitd_bin, *USAGE_ERRORS[name])
    assert r.returncode == 2, (r.returncode, r.stderr)
    one_line(r.stderr)
    assert r.stdout == b""


def test_address_in_use_exit_1(transitd_bin):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = run(transitd_bin, f"--port=tcp:{port}:interface=127.0.0.1")
    assert r.returncode == 1, (r.returncode, r.stderr)
    one_line(r.stderr)


def test_help(transitd_bin):
    r = run(transitd_bin, "--help")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "--port" in out and "--log-fd" in out and "--blur-usage" in out
    assert r.stderr == b""


def test_version(transitd_bin):
    r = run(transitd_bin, "--version")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(rb"transitd [0-9A-Za-z][^\s]*\n", r.stdout), r.stdout
    assert r.stderr == b""


def _check_pair(server, index=0, index_b=None):
    tok = new_token()
    a = server.client(tok, new_side(), index=index)
    b = server.client(tok, new_side(),
                      index=index if index_b is None else index_b)
    expect_ok(a)
    expect_ok(b)
    a.sendall(b"ping")
    assert recv_exact(b, 4) == b"ping"
    b.sendall(b"pong")
    assert recv_exact(a, 4) == b"pong"
    a.close()
    assert read_to_eof(b) == b""


def test_listening_line(start_server):
    server = start_server()
    assert server.listeners[0][0] == "127.0.0.1"
    assert 0 < server.port < 65536
    for line in server.err.snapshot():
        assert line.startswith("transitd: ")
    _check_pair(server)


@pytest.mark.parametrize("args", [
    ["--port", "tcp:0:interface=127.0.0.1", "--log-fd", "{LOGFD}"],
    ["-p", "tcp:0:interface=127.0.0.1", "--log-fd={LOGFD}"],
    ["-p", "tcp:port=0:interface=127.0.0.1:backlog=10", "--log-fd={LOGFD}"],
], ids=["separate", "short_p", "keyword_endpoint"])
def test_option_forms(start_server, args):
    server = start_server(args=args, nlisten=1)
    assert server.listeners[0][0] == "127.0.0.1"
    _check_pair(server)
    assert server.log.wait(1)[0]["mood"] == "happy"


def test_several_ports(start_server):
    server = start_server(ports=["tcp:0:interface=127.0.0.1",
                                 "tcp:0:interface=127.0.0.1",
                                 "tcp:0:interface=127.0.0.1"])
    ports = [p for _, p in server.listeners]
    assert len(set(ports)) == 3, server.listeners
    for i in range(3):
        _check_pair(server, index=i)
    # one relay behind all listeners: a pair may span two of them
    _check_pair(server, index=0, index_b=2)
    recs = server.log.wait(4, mood="happy")
    assert len(recs) == 4
