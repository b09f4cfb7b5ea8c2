"""The data path: what each connection and pair costs the relay in
system resources (pipes, threads woken, socket options), observed from
outside through /proc."""

import fcntl
import os
import time

import pytest

from conftest import (DEFAULT_PORT, LogPipe, Server, pattern, proc_tcp,
                      read_to_eof, recv_exact, transitd_path)

pytestmark = pytest.mark.transitd_only


def start(start_server, threads):
    return start_server(args=[f"--port={DEFAULT_PORT}",
                              f"--threads={threads}", "--log-fd={LOGFD}"])


def pipes(pid):
    """The pipe inodes transitd holds open (each pipe: two descriptors)."""
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if link.startswith("pipe:"):
            out.append(link)
    return sorted(out)


def settle(pid, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    while (got := len(pipes(pid))) != want and time.monotonic() < deadline:
        time.sleep(0.02)
    return got


def both_ways(a, b, n):
    a.sendall(pattern(n, n))
    assert recv_exact(b, n) == pattern(n, n)
    b.sendall(pattern(n + 1, n))
    assert recv_exact(a, n) == pattern(n + 1, n)


def test_spare_pipes_are_kept_reused_and_bounded(start_server):
    """An ended pair's two empty pipes are kept for the next pair, which
    takes the same ones; at most 16 are kept per thread."""
    s = start(start_server, 1)
    base = len(pipes(s.pid))                # the log pipe
    a, b = s.pair()
    assert len(pipes(s.pid)) == base, "an idle pair took a pipe"
    both_ways(a, b, 100000)
    first = pipes(s.pid)
    assert len(first) == base + 4           # two pipes, two fds each
    a.close()
    assert read_to_eof(b, timeout=5) == b""
    b.close()
    assert settle(s.pid, base + 4) == base + 4, "the pipes were not kept"
    a, b = s.pair()
    both_ways(a, b, 100000)
    assert pipes(s.pid) == first, "the kept pipes were not reused"
    a.close()
    b.close()
    many = [s.pair() for _ in range(12)]
    for a, b in many:
        both_ways(a, b, 70000)
    assert len(pipes(s.pid)) == base + 48
    for a, b in many:
        a.close()
        assert read_to_eof(b, timeout=5) == b""
        b.close()
    assert settle(s.pid, base + 32) == base + 32, "more than 16 kept"


def switches(pid):
    """Voluntary context switches of each thread but the first: a thread
    that was never woken has the same count."""
    out = {}
    for t in sorted(os.listdir(f"/proc/{pid}/task"))[1:]:
        with open(f"/proc/{pid}/task/{t}/status") as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    out[t] = int(line.split()[1])
    return out


def wait_idle(pid, timeout=30.0):
    """Until every thread but the first waits for events (blocked in
    epoll_wait): from then on, a voluntary switch means a wake-up."""
    deadline = time.monotonic() + timeout
    while True:
        busy = []
        for t in sorted(os.listdir(f"/proc/{pid}/task"))[1:]:
            with open(f"/proc/{pid}/task/{t}/wchan") as f:
                if f.read().strip() != "do_epoll_wait":
                    busy.append(t)
        if not busy:
            return
        assert time.monotonic() < deadline, f"threads {busy} never idle"
        time.sleep(0.01)


def test_pairs_that_never_send_stay_on_the_first_thread(start_server):
    """Handing a pair to another thread costs more than a pair that only
    pairs and closes: those stay; pairs that move data are handed."""
    s = start(start_server, 4)
    wait_idle(s.pid)                        # the workers are waiting
    before = switches(s.pid)
    assert len(before) == 3, before
    for _ in range(20):
        a, b = s.pair()
        a.close()
        assert read_to_eof(b, timeout=5) == b""
        b.close()
    assert len(s.log.wait(20)) == 20
    assert switches(s.pid) == before, "a worker was woken"
    pairs = [s.pair() for _ in range(6)]
    for a, b in pairs:
        both_ways(a, b, 1000)
    after = switches(s.pid)
    assert sum(after[t] > before[t] for t in before) == 3, (before, after)


def keepalive_timers(port):
    """For each of the relay's established sockets on port (IPv4): whether
    its keepalive timer runs (/proc/net/tcp "tr" field 2)."""
    out = []
    for fields in proc_tcp():
        local, state, timer = fields[1], fields[3], fields[5]
        # len 13: an IPv4 row ("0100007F:0FA1"), not a tcp6 one
        if len(local) == 13 and int(local.split(":")[1], 16) == port and \
                state == "01":
            out.append(timer.split(":")[0] == "02")
    return out


def test_every_connection_has_keepalive(start_server):
    """SO_KEEPALIVE reaches accepted sockets (set once, on the listener),
    before and after pairing."""
    s = start(start_server, 1)
    lone = s.connect()
    a, b = s.pair()
    both_ways(a, b, 10)
    deadline = time.monotonic() + 5
    # Another timer (a retransmit or loss probe) shows instead while one
    # is pending: wait for the acks.
    while (got := keepalive_timers(s.port)) != [True] * 3 and \
            time.monotonic() < deadline:
        time.sleep(0.02)
    assert got == [True] * 3, got
    lone.close()


def pipe_soft_limit():
    with open("/proc/sys/fs/pipe-user-pages-soft") as f:
        return int(f.read()) * 4096


def open_transferring_pairs(s, n):
    pairs = [s.pair() for _ in range(n)]
    for a, b in pairs:
        both_ways(a, b, 70000)
    return pairs


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_unprivileged_relay_keeps_within_the_pipe_budget(request):
    """As an unprivileged user the kernel gives 8 KiB pipes past
    fs.pipe-user-pages-soft: the relay stops short of it (three quarters:
    1 MiB pipes up to half of that, 64 KiB ones up to all of it), says so
    once, and relays the pairs beyond it through buffers, byte-exact."""
    soft = pipe_soft_limit()
    if soft == 0:
        pytest.skip("fs.pipe-user-pages-soft is 0 (no limit)")
    budget = soft // 4 * 3                 # room for the user's others
    mib, small = 1 << 20, 64 << 10
    big = (budget // 2) // mib
    want = big + (budget - big * mib) // small
    # The budget is the user's: one such relay at a time on the machine
    # (tests/check-steady may run suites side by side).
    lock = open("/tmp/transitd-test-nobody-pipes.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    request.addfinalizer(lock.close)
    lp = LogPipe()
    argv = ["setpriv", "--reuid=nobody", "--regid=nogroup",
            "--clear-groups", transitd_path(), f"--port={DEFAULT_PORT}",
            "--threads=2", f"--log-fd={lp.w}"]
    s = Server(argv, lp, (lp.w,), 1)
    try:
        base = len(pipes(s.pid))
        n = want // 2 + 20                  # 40 pumps past the budget
        pairs = open_transferring_pairs(s, n)
        assert len(pipes(s.pid)) == base + 2 * want, (base, want)
        lines = [l for l in s.err.text().splitlines() if "pipes:" in l]
        assert lines == [f"transitd: pipes: the budget for "
                         f"fs.pipe-user-pages-soft is used ({budget >> 20} "
                         f"MiB); more pairs relay through buffers (raise "
                         f"it, or give the relay CAP_SYS_RESOURCE)"], lines
        for a, b in pairs[-5:]:             # buffers: still byte-exact
            both_ways(a, b, 300000)
        for a, b in pairs:
            a.close()
            assert read_to_eof(b, timeout=5) == b""
            b.close()
        assert len(s.log.wait(n)) == n
    finally:
        problem = s.shutdown()
    assert problem is None, problem


def test_privileged_relay_has_no_pipe_budget(start_server):
    """Root (CAP_SYS_RESOURCE) is not held to the per-user limit: every
    direction that moves data gets its pipe."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    s = start(start_server, 2)
    base = len(pipes(s.pid))
    n = 40
    pairs = open_transferring_pairs(s, n)
    assert len(pipes(s.pid)) == base + 4 * n
    assert "pipes:" not in s.err.text()
    for a, b in pairs:
        a.close()
        b.close()
