"""Stopping gracefully (SIGTERM/SIGINT and --drain-timeout), SIGHUP and
--log-file, and the TRANSITD_* environment variables."""

import hashlib
import os
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

from conftest import (DEFAULT_PORT, as_rows, assert_silent,
                      expect_closed_with, expect_ok, free_port, handshake,
                      new_side, new_token, parse_log_line, pattern, q,
                      poll_rows, read_to_eof, recv_exact, recv_hashing, rows,
                      send_in_chunks, sha, transitd_path, wait_read)
from wsutil import (pairs_with_tcp, start_ws, ws_client, ws_connect,
                    ws_listeners, ws_silent)

pytestmark = pytest.mark.transitd_only

LOOP4 = DEFAULT_PORT                    # tcp:0:interface=127.0.0.1
LOOP6 = r"tcp:0:interface=\:\:1"
MIB = 1 << 20
OPTION_VARS = ["TRANSITD_PORT", "TRANSITD_USAGE_DB", "TRANSITD_LOG_FD",
               "TRANSITD_LOG_FILE", "TRANSITD_BLUR_USAGE",
               "TRANSITD_WEBSOCKET", "TRANSITD_WEBSOCKET_URL",
               "TRANSITD_DRAIN_TIMEOUT"]
SIGNALS = [(signal.SIGTERM, "Terminated"), (signal.SIGINT, "Interrupt")]
SIG_IDS = ["TERM", "INT"]


@pytest.fixture(autouse=True)
def no_option_variables(monkeypatch):
    """The runner's own TRANSITD_* settings must not leak into the relays
    started here (each test sets the ones it means)."""
    for v in OPTION_VARS:
        monkeypatch.delenv(v, raising=False)


# ---------------------------------------------------------------------------
# helpers

def current(db):
    got = q(db, "SELECT rebooted, updated, connected, waiting, "
            "incomplete_bytes FROM current")
    assert len(got) == 1, got
    return got[0]


def wait_line(s, line, timeout=10.0):
    """Wait until stderr holds exactly this line."""
    deadline = time.monotonic() + timeout
    while line not in s.err.snapshot():
        assert s.alive() or line in s.stderr_after_exit().splitlines(), \
            f"exited ({s.proc.returncode}) without {line!r}:\n{s.err.text()}"
        assert time.monotonic() < deadline, f"{line!r}?\n{s.err.text()}"
        time.sleep(0.01)


def send_signal(s, sig):
    s.stopped = True                    # its exit is expected from now on
    s.proc.send_signal(sig)


def wait_exit(s, timeout):
    try:
        return s.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {timeout}s later; stderr:\n"
                             f"{s.err.text()}")


def check_stderr(s):
    """Every stderr line is one of ours; nothing was lost. The lines."""
    lines = s.stderr_after_exit().splitlines()
    for l in lines:
        assert l.startswith("transitd: "), f"stderr line: {l!r}"
        assert "lost" not in l and "cannot" not in l, l
    return lines


def refused(port, host="127.0.0.1"):
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, port), timeout=2).close()


def quick_pair(s, **kw):
    tok = new_token()
    a = s.client(tok, new_side(), **kw)
    wait_read(a)                        # a registers first: it is "first"
    b = s.client(tok, new_side(), **kw)
    expect_ok(a)
    expect_ok(b)
    return a, b


def relay_both_ways(a, b, n, m):
    """a sends n bytes to b, b sends m back; checks them."""
    x, y = pattern(n, n), pattern(m + 1, m)
    a.sendall(x)
    assert recv_exact(b, n) == x
    b.sendall(y)
    assert recv_exact(a, m) == y


def close_pair(a, b):
    """a hangs up; the relay ends b too (no half-close)."""
    a.close()
    assert read_to_eof(b, timeout=5) == b""
    b.close()


def start_db(start_server, db, *extra, log=True, **kw):
    args = [f"--port={LOOP4}", f"--usage-db={db}"]
    args += ["--log-fd={LOGFD}"] if log else []
    return start_server(args=args + list(extra), nlisten=1, log=log, **kw)


def log_lines(path):
    """The usage lines of a --log-file (each checked), or [] if absent."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    assert data == b"" or data.endswith(b"\n"), f"partial line: {data[-80:]!r}"
    return [parse_log_line(l) for l in data.split(b"\n")[:-1]]


def wait_log_lines(path, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while len(got := log_lines(path)) < n:
        assert time.monotonic() < deadline, f"wanted {n} lines: {got}"
        time.sleep(0.02)
    return got


@pytest.fixture
def spawn(start_server):
    """Start transitd with extra environment variables. spawn(args, env=,
    nlisten=, log=, log_env=): log gives it a LogPipe (server.log), whose
    fd replaces "{LOGFD}" in args, or (log_env) goes in TRANSITD_LOG_FD."""
    def start(args, env=None, nlisten=1, log=False, log_env=False,
              preexec_fn=None):
        env = dict(env or {})
        if log_env:
            env["TRANSITD_LOG_FD"] = "{LOGFD}"
        return start_server(args=args, env=env, nlisten=nlisten, log=log,
                            preexec_fn=preexec_fn)

    return start


def run_env(args, env, timeout=5):
    """Run transitd to its exit with these variables added."""
    e = dict(os.environ)
    e.update(env)
    try:
        return subprocess.run([transitd_path(), *args], env=e,
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{args} {env} did not exit within {timeout}s")


def one_error_line(r, rc):
    lines = r.stderr.decode().splitlines()
    assert r.returncode == rc and r.stdout == b"", r
    assert len(lines) == 1 and lines[0].startswith("transitd: "), r
    return lines[0]


# ---------------------------------------------------------------------------
# SIGTERM / SIGINT: drain

def test_sigterm_lets_a_large_transfer_finish(start_server, tmp_path):
    """A 64 MiB transfer under way when SIGTERM comes completes byte for
    byte; meanwhile new connections are refused; once the pair closes the
    relay exits 0 by itself (well before the 60 s default), with the
    record in the JSON log and the database and a final current row."""
    db = tmp_path / "u.db"
    s = start_db(start_server, db)
    rebooted, updated0 = current(db)[:2]
    a, b = quick_pair(s)
    total, first = 64 * MIB, 16 * MIB
    data, errors = pattern(64, total), []

    def sender():
        try:
            send_in_chunks(a, data)
        except BaseException as e:      # reported by the main thread
            errors.append(e)
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    h = hashlib.sha256()
    recv_hashing(b, first, h, time.monotonic() + 30)
    assert t.is_alive(), "the transfer is not under way"
    send_signal(s, signal.SIGTERM)      # mid-transfer: b just pauses
    wait_line(s, "transitd: Terminated: stopping; 1 pair may finish for up "
              "to 60 s (send it again to end them now)")
    refused(s.port)
    recv_hashing(b, total - first, h, time.monotonic() + 60)
    t.join(20)
    assert not t.is_alive() and not errors, errors
    assert h.hexdigest() == sha(data), "the transfer was damaged"
    b.sendall(b"thanks" * 1000)         # the other way, too
    assert recv_exact(a, 6000) == b"thanks" * 1000
    refused(s.port)
    assert s.alive(), "exited while the pair was live"
    deadline = time.monotonic() + 2     # let 'updated' move on
    while int(time.time()) <= updated0 and time.monotonic() < deadline:
        time.sleep(0.02)
    close_pair(a, b)
    assert wait_exit(s, 30) == 0        # once drained: well before 60 s
    t_end = time.time()
    lines = check_stderr(s)
    assert "transitd: drained: every pair has finished" in lines, lines
    assert not any("drain timeout" in l or " again:" in l for l in lines)
    recs = s.log.drain_to_eof()
    assert [(r["mood"], r["total_bytes"]) for r in recs] == \
        [("happy", total + 6000)]
    assert rows(db) == as_rows(recs)
    cur = current(db)
    assert cur[0] == rebooted and updated0 < cur[1] <= t_end, cur
    assert cur[2:] == (0, 0, 0), cur


@pytest.mark.parametrize("sig,name", SIGNALS, ids=SIG_IDS)
def test_drain_timeout_ends_a_pair_that_never_closes(start_server, tmp_path,
                                                     sig, name):
    db = tmp_path / "u.db"
    s = start_db(start_server, db, "--drain-timeout=2")
    rebooted = current(db)[0]
    a, b = quick_pair(s)
    relay_both_ways(a, b, 1000, 10)
    t0 = time.monotonic()
    send_signal(s, sig)
    wait_line(s, f"transitd: {name}: stopping; 1 pair may finish for up to "
              "2 s (send it again to end them now)")
    refused(s.port)
    relay_both_ways(b, a, 3000, 20)     # relaying goes on meanwhile
    assert wait_exit(s, 30) == 0
    took = time.monotonic() - t0
    assert took >= 1.5, f"exited {took:.2f}s after the signal: too soon"
    for c in (a, b):
        assert read_to_eof(c, timeout=10) == b""
    lines = check_stderr(s)
    assert "transitd: drain timeout (2 s): ending 1 pair now" in lines, lines
    assert "transitd: drained: every pair has finished" not in lines
    recs = s.log.drain_to_eof()
    assert [(r["mood"], r["total_bytes"]) for r in recs] == \
        [("happy", 4030)]
    assert recs[0]["total_time"] >= 1.5
    assert rows(db) == as_rows(recs)
    assert current(db)[0] == rebooted and current(db)[2:] == (0, 0, 0)


@pytest.mark.parametrize("sig,name", SIGNALS, ids=SIG_IDS)
def test_second_signal_ends_the_drain_at_once(start_server, tmp_path, sig,
                                              name):
    db = tmp_path / "u.db"
    s = start_db(start_server, db)      # the default: up to 60 s
    pairs = [quick_pair(s) for _ in range(2)]
    for i, (a, b) in enumerate(pairs):
        relay_both_ways(a, b, 100 + i, 5)
    send_signal(s, sig)
    wait_line(s, f"transitd: {name}: stopping; 2 pairs may finish for up "
              "to 60 s (send it again to end them now)")
    s.proc.send_signal(signal.SIGHUP)   # not a second stop signal
    wait_line(s, "transitd: SIGHUP: stopping; ignored")
    relay_both_ways(pairs[1][1], pairs[1][0], 1, 1)
    assert_silent(pairs[0][0], 0.3)     # still draining
    assert s.alive()
    s.proc.send_signal(sig)
    assert wait_exit(s, 30) == 0        # not the 60 s of the drain
    for a, b in pairs:
        assert read_to_eof(a, timeout=10) == b""
        assert read_to_eof(b, timeout=10) == b""
    lines = check_stderr(s)
    assert f"transitd: {name} again: ending 2 pairs now" in lines, lines
    recs = s.log.drain_to_eof()
    assert sorted((r["mood"], r["total_bytes"]) for r in recs) == \
        [("happy", 105), ("happy", 108)]
    assert rows(db) == as_rows(recs)
    assert current(db)[2:] == (0, 0, 0)


def test_drain_timeout_0_ends_pairs_at_once(start_server, tmp_path):
    db = tmp_path / "u.db"
    s = start_db(start_server, db, "--drain-timeout=0")
    a, b = quick_pair(s)
    relay_both_ways(a, b, 7, 3)
    w = s.client(new_token(), new_side())
    wait_read(w)                        # a waiter when the signal comes
    send_signal(s, signal.SIGTERM)
    assert wait_exit(s, 30) == 0        # not the 60 s default
    for c in (a, b, w):
        assert read_to_eof(c, timeout=10) == b""
    lines = check_stderr(s)
    assert "transitd: Terminated: stopping" in lines, lines
    assert not any("may finish" in l or "drain" in l for l in lines), lines
    recs = s.log.drain_to_eof()
    assert sorted((r["mood"], r["total_bytes"]) for r in recs) == \
        [("happy", 10), ("lonely", 0)]
    assert sorted(rows(db), key=repr) == sorted(as_rows(recs), key=repr)
    assert current(db)[2:] == (0, 0, 0)


def test_unpaired_clients_are_dropped_at_once_while_pairs_drain(
        start_server, tmp_path):
    """On SIGTERM, TCP waiters and clients that sent nothing (or part of a
    handshake) are closed at once with their records, an unpaired
    WebSocket client gets a close frame 1000 first; a TCP pair and a
    WebSocket-TCP pair keep relaying until they close; then exit 0."""
    db = tmp_path / "u.db"
    s = start_ws(start_server, extra=[f"--usage-db={db}"])
    a, b = quick_pair(s)
    wc = ws_connect(s, 0)
    t = pairs_with_tcp(s, wc)
    lone = s.client(new_token(), new_side())
    idle = s.connect()
    part = s.connect()
    part.sendall(handshake(new_token())[:30])
    wlone = ws_client(s, new_token(), new_side())
    wquiet = ws_connect(s, 0)           # upgraded, sent nothing
    wraw = s.connect(port=s.wsport)     # not even an Upgrade request
    for c in (lone, idle, part, wraw):
        wait_read(c)                    # accepted, all of it read
    ws_silent(wlone, 0.0)               # (so are these)
    ws_silent(wquiet, 0.0)
    send_signal(s, signal.SIGTERM)
    # At once: while the pairs drain (for up to 60 s), not after.
    for c in (lone, idle, part, wraw):
        assert read_to_eof(c, timeout=20) == b""
    for c in (wlone, wquiet):
        c.expect_closed(1000, timeout=20)
    wait_line(s, "transitd: Terminated: stopping; 2 pairs may finish for up "
              "to 60 s (send it again to end them now)")
    refused(s.port)
    refused(s.wsport)
    recs = s.log.wait(6)
    assert sorted(r["mood"] for r in recs) == ["empty"] * 4 + ["lonely"] * 2
    # the pairs still relay
    relay_both_ways(a, b, 5000, 50)
    wc.send_binary(b"from ws")
    assert recv_exact(t, 7) == b"from ws"
    t.sendall(b"to ws" * 100)
    assert wc.recv_data(500) == b"to ws" * 100
    assert s.alive()
    close_pair(a, b)
    assert_silent(t, 0.3)               # the other pair holds on
    assert s.alive()
    t.close()
    wc.expect_closed(1000, timeout=5)
    wc.close()              # the relay waits for the client's FIN, too
    assert wait_exit(s, 5) == 0
    lines = check_stderr(s)
    assert "transitd: drained: every pair has finished" in lines, lines
    recs = s.log.drain_to_eof()
    happy = sorted(r["total_bytes"] for r in recs if r["mood"] == "happy")
    assert happy == [507, 5050]
    assert len(recs) == 8
    assert rows(db) == as_rows(recs)
    assert current(db)[2:] == (0, 0, 0)


def test_unpaired_websocket_clients_get_1000_then_exit_at_once(start_server):
    """With no pair to wait for the relay exits at once, yet an unpaired
    WebSocket client's close frame still comes before its TCP close."""
    s = start_ws(start_server)
    w1 = ws_client(s, new_token(), new_side())
    w2 = ws_client(s, new_token())
    w3 = ws_connect(s, 0)
    for w in (w1, w2, w3):
        wait_read(w.sock)               # both handshakes registered
    send_signal(s, signal.SIGTERM)
    for w in (w1, w2, w3):
        w.expect_closed(1000, timeout=20, reply=False)
    assert wait_exit(s, 30) == 0        # not the 60 s of a drain
    assert "transitd: Terminated: stopping" in check_stderr(s)
    assert sorted(r["mood"] for r in s.log.drain_to_eof()) == \
        ["empty", "lonely", "lonely"]


def sender_then_close(sock, data, errors):
    """A thread: send data, then hang up (a client whose last bytes are
    still in flight when it closes)."""
    def run():
        try:
            send_in_chunks(sock, data)
            sock.close()
        except BaseException as e:      # reported by the main thread
            errors.append(e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_tail_sent_before_a_hang_up_is_delivered(start_server, tmp_path):
    """SIGTERM while a transfer is under way; the sender finishes and
    hangs up at once, with megabytes still in flight; its partner still
    gets every byte, then EOF, and the relay exits 0 once that is done."""
    db = tmp_path / "u.db"
    s = start_db(start_server, db, "--drain-timeout=30")
    a, b = quick_pair(s)
    data, errors = pattern(16, 64 * MIB), []
    th = sender_then_close(a, data, errors)
    h = hashlib.sha256()
    recv_hashing(b, 4 * MIB, h, time.monotonic() + 30)
    assert th.is_alive(), "60 MiB fitted in the buffers?"
    send_signal(s, signal.SIGTERM)
    wait_line(s, "transitd: Terminated: stopping; 1 pair may finish for up "
              "to 30 s (send it again to end them now)")
    time.sleep(0.2)                     # b stalls a while
    recv_hashing(b, len(data) - 4 * MIB, h, time.monotonic() + 60)
    th.join(10)
    assert not th.is_alive() and not errors, errors
    assert h.hexdigest() == sha(data), "the tail was damaged"
    assert read_to_eof(b, timeout=5) == b""
    assert wait_exit(s, 5) == 0
    assert "transitd: drained: every pair has finished" in check_stderr(s)
    recs = s.log.drain_to_eof()
    assert [(r["mood"], r["total_bytes"]) for r in recs] == \
        [("happy", len(data))]
    assert rows(db) == as_rows(recs)


def test_tail_survives_a_partner_that_keeps_talking(start_server):
    """As above, but the receiver sends a byte now and then while it
    catches up (as a client may, e.g. acks). Outside a drain the relay
    lingers for its FIN and every byte arrives; the drain must not do
    worse."""
    s = start_server()
    a, b = quick_pair(s)
    data = pattern(4, 2 * MIB)          # fits in the buffers: a can close
    a.sendall(data)
    send_signal(s, signal.SIGTERM)
    wait_line(s, "transitd: Terminated: stopping; 1 pair may finish for up "
              "to 60 s (send it again to end them now)")
    stop = threading.Event()

    def chatter():
        for _ in range(2000):           # at most ~4 s
            if stop.wait(0.002):
                return
            try:
                b.send(b"k")
            except OSError:
                return
    th = threading.Thread(target=chatter, daemon=True)
    th.start()
    try:
        a.close()
        time.sleep(0.5)                 # b reads nothing for a while
        h = hashlib.sha256()
        recv_hashing(b, len(data), h, time.monotonic() + 20)
        assert h.hexdigest() == sha(data)
    finally:
        stop.set()
        th.join(5)
    b.close()
    assert wait_exit(s, 10) == 0


# ---------------------------------------------------------------------------
# SIGHUP and --log-file

def test_sighup_without_log_file_keeps_serving(server):
    a, b = quick_pair(server)
    server.proc.send_signal(signal.SIGHUP)
    wait_line(server, "transitd: SIGHUP: nothing to reload; still serving")
    assert server.alive()
    relay_both_ways(a, b, 10, 10)
    c, d = quick_pair(server)
    close_pair(a, b)
    assert server.log.wait(1)[0]["total_bytes"] == 20


def test_sighup_reopens_the_log_file(start_server, tmp_path):
    """Rotation: rename the file away, SIGHUP, and the lines written after
    go to a new file; the renamed one keeps those before; none is lost,
    torn or written twice; a live pair relays across the SIGHUP."""
    path, old = tmp_path / "usage.log", tmp_path / "usage.log.1"
    s = start_server(args=[f"--port={LOOP4}", f"--log-file={path}"],
                     nlisten=1, log=False)
    live_a, live_b = quick_pair(s)
    relay_both_ways(live_a, live_b, 1000, 1)
    n_pairs, errors = 80, []
    renamed, hup_done = threading.Event(), threading.Event()

    def churn():                        # pair i relays i bytes: its mark
        try:
            for i in range(1, n_pairs + 1):
                if i == 21:
                    assert renamed.wait(20)
                if i == 61:
                    assert hup_done.wait(20)
                a, b = quick_pair(s)
                a.sendall(b"m" * i)
                assert recv_exact(b, i) == b"m" * i
                close_pair(a, b)
        except BaseException as e:      # reported by the main thread
            errors.append(e)
    th = threading.Thread(target=churn, daemon=True)
    th.start()
    try:
        wait_log_lines(path, 20)
        os.rename(path, old)
    finally:
        renamed.set()
    wait_log_lines(old, 30)             # still written to, under its new name
    assert not path.exists()
    try:                                # SIGHUP while pairs come and go
        s.proc.send_signal(signal.SIGHUP)
        wait_line(s, f"transitd: SIGHUP: reopened {path}; still serving")
    finally:
        hup_done.set()
    th.join(30)
    assert not th.is_alive() and not errors, errors
    relay_both_ways(live_b, live_a, 2000, 2)
    close_pair(live_a, live_b)
    wait_log_lines(path, n_pairs - 60 + 1)
    assert s.signal_and_wait(signal.SIGTERM, timeout=5) == 0
    before = [r["total_bytes"] for r in log_lines(old)]
    after = [r["total_bytes"] for r in log_lines(path)]
    k = len(before)
    assert 30 <= k <= 60, before
    # Pairs relayed on different threads may end in either order, so
    # their lines may too: compare as sets. Lines 1-20 came before the
    # rename, pairs 61-80 started after the reopen.
    assert sorted(before + after) == list(range(1, n_pairs + 1)) + [3003]
    assert set(range(1, 21)) <= set(before), before
    assert set(range(61, n_pairs + 1)) | {3003} <= set(after), after
    assert all(r["mood"] == "happy" for r in log_lines(path))


def test_sighup_cannot_reopen_keeps_the_old_file(start_server, tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    s = start_server(args=[f"--port={LOOP4}", f"--log-file={d}/u.log"],
                     nlisten=1, log=False)
    a, b = quick_pair(s)
    close_pair(a, b)
    wait_log_lines(d / "u.log", 1)
    os.rename(d, tmp_path / "moved")
    s.proc.send_signal(signal.SIGHUP)
    wait_line(s, f"transitd: SIGHUP: cannot reopen {d}/u.log: No such file "
              "or directory; still writing to the old file")
    assert s.alive()
    a, b = quick_pair(s)
    relay_both_ways(a, b, 5, 0)
    close_pair(a, b)
    got = wait_log_lines(tmp_path / "moved" / "u.log", 2)
    assert [r["total_bytes"] for r in got] == [0, 5]
    assert not d.exists()


def test_sighup_reopened_fifo_never_blocks_the_relay(start_server, tmp_path):
    """--log-file may be a FIFO read by a log shipper. Before SIGHUP a
    stalled reader costs usage lines, never service; after SIGHUP it must
    be the same."""
    fifo = tmp_path / "usage.fifo"
    os.mkfifo(fifo)
    rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)    # never reads
    try:
        s = start_server(args=[f"--port={LOOP4}", f"--log-file={fifo}"],
                         nlisten=1, log=False)
        try:
            s.proc.send_signal(signal.SIGHUP)
            wait_line(s, f"transitd: SIGHUP: reopened {fifo}; still serving")
            for i in range(1500):       # ~190 kB of lines: the pipe fills
                c = s.connect()
                c.sendall(b"junk\n")
                expect_closed_with(c, b"bad handshake\n", timeout=10)
                c.close()
        finally:
            s.kill()                    # it may be stuck in write(2)
    finally:
        os.close(rd)


@pytest.mark.parametrize("umask", [0o002, 0o027])
def test_log_file_created_with_umask_then_appended(start_server, tmp_path,
                                                   umask):
    path = tmp_path / "u.log"
    for run_no in (1, 2):
        s = start_server(args=[f"--port={LOOP4}", f"--log-file={path}"],
                         nlisten=1, log=False,
                         preexec_fn=lambda: os.umask(umask))
        a, b = quick_pair(s)
        relay_both_ways(a, b, run_no, 0)
        close_pair(a, b)
        wait_log_lines(path, run_no)
        assert s.signal_and_wait(signal.SIGTERM, timeout=5) == 0
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask
    # appended: the first run's line kept, in front
    assert [r["total_bytes"] for r in log_lines(path)] == [1, 2]


def test_log_file_appends_to_foreign_content(start_server, tmp_path):
    path = tmp_path / "u.log"
    path.write_bytes(b"a line from before\n")
    os.chmod(path, 0o600)
    s = start_server(args=[f"--port={LOOP4}", f"--log-file={path}"],
                     nlisten=1, log=False)
    a, b = quick_pair(s)
    close_pair(a, b)
    assert s.signal_and_wait(signal.SIGTERM, timeout=5) == 0
    first, rest = path.read_bytes().split(b"\n", 1)
    assert first == b"a line from before"
    assert parse_log_line(rest.rstrip(b"\n"))["mood"] == "happy"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_log_file_in_a_missing_folder_exits_1(tmp_path):
    path = tmp_path / "nodir" / "u.log"
    r = run_env([f"--port={LOOP4}", f"--log-file={path}"], {})
    line = one_error_line(r, 1)
    assert "log file" in line and str(path) in line, line
    assert not path.parent.exists()


@pytest.mark.parametrize("order", ["fd-first", "file-first"])
def test_log_fd_and_log_file_together_exit_2(tmp_path, order):
    args = ["--log-fd=2", f"--log-file={tmp_path}/u.log"]
    if order == "file-first":
        args.reverse()
    r = run_env([f"--port={LOOP4}", *args], {})
    line = one_error_line(r, 2)
    assert "--log-fd" in line and "--log-file" in line, line
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("where", ["fd-in-env", "file-in-env"])
def test_log_destination_on_the_command_line_wins(tmp_path, where):
    """--log-fd and --log-file are one choice: either on the command line
    overrides the other's variable, as any option overrides its own."""
    path = tmp_path / "u.log"
    if where == "fd-in-env":
        args, env = [f"--log-file={path}"], {"TRANSITD_LOG_FD": "1"}
    else:
        args, env = ["--log-fd=1"], {"TRANSITD_LOG_FILE": str(path)}
    p = subprocess.Popen([transitd_path(), f"--port={LOOP4}", *args],
                         env={**os.environ, **env}, stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL)
    try:
        line = p.stderr.readline().decode()
        assert "listening on" in line, line
    finally:
        p.kill()
        p.wait(5)
    assert path.exists() == (where == "fd-in-env")


# ---------------------------------------------------------------------------
# TRANSITD_* variables

def test_every_variable_works_like_its_option(spawn, tmp_path):
    db = tmp_path / "u.db"
    url = "ws://relay.example:4002/transit"
    env = {"TRANSITD_PORT": f"  {LOOP4} \t{LOOP6}\n",
           "TRANSITD_USAGE_DB": str(db),
           "TRANSITD_BLUR_USAGE": "3600",
           "TRANSITD_WEBSOCKET": f"{LOOP4} {LOOP4}",
           "TRANSITD_WEBSOCKET_URL": url,
           "TRANSITD_DRAIN_TIMEOUT": "1"}
    s = spawn([], env=env, nlisten=2, log=True, log_env=True)
    assert [a for a, _ in s.listeners] == ["127.0.0.1", "::1"]
    s.ws = ws_listeners(s, 2)
    assert [(a, u) for a, _, u in s.ws] == [("127.0.0.1", url)] * 2
    tok = new_token()                   # the IPv4 and the IPv6 listener
    a = s.client(tok, new_side(), index=0)
    b = s.client(tok, new_side(), index=1, host="::1")
    expect_ok(a)
    expect_ok(b)
    relay_both_ways(a, b, 10, 0)
    close_pair(a, b)
    tok = new_token()                   # both WebSocket listeners
    w0 = ws_client(s, tok, new_side(), index=0)
    wait_read(w0.sock)
    w1 = ws_client(s, tok, new_side(), index=1)
    w0.expect_ok()
    w1.expect_ok()
    w0.send_binary(b"live")
    assert w1.recv_data(4) == b"live"
    rec = s.log.wait(1)[0]              # TRANSITD_LOG_FD
    assert rec["total_bytes"] == 10000 and rec["started"] % 3600 == 0, rec
    assert poll_rows(db, 1) == as_rows([rec])     # TRANSITD_USAGE_DB
    t0 = time.monotonic()
    send_signal(s, signal.SIGTERM)
    assert wait_exit(s, 30) == 0
    assert time.monotonic() - t0 >= 0.7  # the 1 s drain timeout
    lines = check_stderr(s)
    assert "transitd: Terminated: stopping; 1 pair may finish for up to 1 s "\
        "(send it again to end them now)" in lines, lines
    assert "transitd: drain timeout (1 s): ending 1 pair now" in lines
    recs = s.log.drain_to_eof()
    assert len(recs) == 2 and rows(db) == as_rows(recs)


def test_log_file_variable(spawn, tmp_path):
    path = tmp_path / "u.log"
    s = spawn([f"--port={LOOP4}"], env={"TRANSITD_LOG_FILE": str(path)})
    a, b = quick_pair(s)
    close_pair(a, b)
    assert wait_log_lines(path, 1)[0]["mood"] == "happy"
    os.rename(path, tmp_path / "old.log")
    s.proc.send_signal(signal.SIGHUP)
    wait_line(s, f"transitd: SIGHUP: reopened {path}; still serving")
    c = s.connect()
    c.sendall(b"nonsense\n")
    expect_closed_with(c, b"bad handshake\n")
    assert wait_log_lines(path, 1)[0]["mood"] == "errory"
    assert len(log_lines(tmp_path / "old.log")) == 1


def test_command_line_wins_option_by_option(spawn, tmp_path):
    db = tmp_path / "u.db"
    env_port = free_port("127.0.0.1")
    env = {"TRANSITD_PORT": f"tcp:{env_port}:interface=127.0.0.1 {LOOP6}",
           "TRANSITD_USAGE_DB": str(db),         # not on the command line
           "TRANSITD_WEBSOCKET": LOOP4,          # nor this
           "TRANSITD_WEBSOCKET_URL": "ws://from.env/",
           "TRANSITD_BLUR_USAGE": "1h",          # bad, but overridden
           "TRANSITD_DRAIN_TIMEOUT": "soon",     # bad, but overridden
           "TRANSITD_LOG_FILE": ""}              # empty: unset, no clash
    s = spawn([f"--port={LOOP4}", "--log-fd={LOGFD}", "--blur-usage=60",
               "--drain-timeout=0", "--websocket-url=ws://from.cli/"],
              env=env, log=True)
    s.ws = ws_listeners(s, 1)
    assert s.ws[0][2] == "ws://from.cli/"
    lines = s.err.snapshot()
    assert len([l for l in lines if l.startswith("transitd: listening on")]) \
        == 1, lines
    assert s.port != env_port
    refused(env_port)
    a, b = quick_pair(s)
    relay_both_ways(a, b, 10, 0)
    close_pair(a, b)
    rec = s.log.wait(1)[0]
    assert rec["total_bytes"] == 10000 and rec["started"] % 60 == 0, rec
    assert poll_rows(db, 1) == as_rows([rec])
    a, b = quick_pair(s)
    send_signal(s, signal.SIGTERM)      # --drain-timeout=0 won
    assert wait_exit(s, 30) == 0
    lines = check_stderr(s)
    assert "transitd: Terminated: stopping" in lines, lines
    assert not any("may finish" in l for l in lines), lines
    assert len(s.log.drain_to_eof()) == 2
    assert len(rows(db)) == 2


def test_empty_and_unrelated_variables_are_ignored(spawn, tmp_path):
    env = {v: "" for v in OPTION_VARS if v != "TRANSITD_PORT"}
    env.update({"TRANSITD_FOO": "bar", "TRANSITD_PORTS": "bogus",
                "TRANSITD_PORT_X": "bogus", "TRANSITD_DRAIN": "x",
                "TRANSITD_LOG": "/nonexistent/x", "transitd_port": "bogus",
                "TRANSITD_": "1"})
    s = spawn([f"--port={LOOP4}", "--log-fd={LOGFD}"], env=env, log=True,
              preexec_fn=lambda: os.chdir(tmp_path))
    a, b = quick_pair(s)
    relay_both_ways(a, b, 10, 0)
    close_pair(a, b)
    rec = s.log.wait(1)[0]
    assert rec["total_bytes"] == 10, rec          # not blurred
    a, b = quick_pair(s)
    send_signal(s, signal.SIGTERM)      # the default drain timeout: 60 s
    wait_line(s, "transitd: Terminated: stopping; 1 pair may finish for up "
              "to 60 s (send it again to end them now)")
    s.proc.send_signal(signal.SIGTERM)
    assert wait_exit(s, 5) == 0
    lines = check_stderr(s)
    assert not any("WebSocket" in l or "websocket" in l for l in lines), lines
    assert os.listdir(tmp_path) == [], "a file was made"
    assert len(s.log.drain_to_eof()) == 2


BAD_VARS = [
    pytest.param("TRANSITD_PORT", f"{LOOP4} bogus", id="port-junk"),
    pytest.param("TRANSITD_PORT", f"{LOOP4} tcp:70000:interface=127.0.0.1",
                 id="port-range"),
    pytest.param("TRANSITD_PORT", " ".join([LOOP4] * 17), id="port-17"),
    pytest.param("TRANSITD_WEBSOCKET", "tcp:x", id="websocket"),
    pytest.param("TRANSITD_WEBSOCKET_URL", "http://relay.example/",
                 id="websocket-url"),
    pytest.param("TRANSITD_BLUR_USAGE", "1h", id="blur-1h"),
    pytest.param("TRANSITD_BLUR_USAGE", "-5", id="blur-negative"),
    pytest.param("TRANSITD_DRAIN_TIMEOUT", "-1", id="drain-negative"),
    pytest.param("TRANSITD_DRAIN_TIMEOUT", "2.5", id="drain-fraction"),
    pytest.param("TRANSITD_LOG_FD", "x", id="log-fd"),
    pytest.param("TRANSITD_THREADS", "0", id="threads-0"),
    pytest.param("TRANSITD_THREADS", "many", id="threads-many")]


@pytest.mark.parametrize("var,value", BAD_VARS)
def test_bad_variable_exits_2(var, value):
    args = [] if var == "TRANSITD_PORT" else [f"--port={LOOP4}"]
    r = run_env(args, {var: value})
    line = one_error_line(r, 2)
    assert var in line, line


@pytest.mark.parametrize("var", ["TRANSITD_USAGE_DB", "TRANSITD_LOG_FILE"])
def test_file_variable_in_a_missing_folder_exits_1(tmp_path, var):
    path = tmp_path / "nodir" / "x"
    r = run_env([f"--port={LOOP4}"], {var: str(path)})
    line = one_error_line(r, 1)
    assert str(path) in line, line
    assert not path.parent.exists()
