"""Helpers shared by every Python suite (blackbox, e2e, munin, install):
each suite's conftest puts this directory on sys.path."""

import socket
import time


def free_port(host="127.0.0.1"):
    """A TCP port on host that was free a moment ago."""
    return free_ports(1, host)[0]


def free_ports(n, host="127.0.0.1"):
    """n distinct TCP ports on host that were free a moment ago."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(fam, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for(pred, timeout, what, interval=0.02):
    """Poll pred until it returns something true, and return that; fail
    after timeout seconds, naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(interval)
