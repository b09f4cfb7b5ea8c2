"""--threads: how many threads relay, that pairs spread over them, and
that pairing, moods, records, drain and the current row stay exact when
the two sides of pairs and their bytes are handled by different
threads."""

import hashlib
import os
import signal
import threading
import time

import pytest

from conftest import (DEFAULT_PORT, as_rows, expect_ok, new_side,
                      new_token, pattern, poll_rows, q, read_to_eof,
                      recv_exact, run, send_in_chunks, sha, transitd_path,
                      wait_read)

pytestmark = pytest.mark.transitd_only

MIB = 1 << 20


def tasks(pid):
    return sorted(os.listdir(f"/proc/{pid}/task"))


def names(pid):
    out = []
    for t in tasks(pid):
        with open(f"/proc/{pid}/task/{t}/comm") as f:
            out.append(f.read().strip())
    return sorted(out)


def relayed_per_thread(s):
    """Stop the relay; the pairs each thread relayed, from its last
    words ("pairs relayed per thread: N N ...", in thread order)."""
    assert s.signal_and_wait(signal.SIGTERM, timeout=30) == 0
    lines = [l for l in s.stderr_after_exit().splitlines()
             if l.startswith("transitd: pairs relayed per thread:")]
    assert len(lines) == 1, s.stderr_after_exit()
    return [int(x) for x in lines[0].split(":")[2].split()]


def start(start_server, threads, *extra, log=True):
    args = [f"--port={DEFAULT_PORT}", f"--threads={threads}", *extra]
    if log:
        args.append("--log-fd={LOGFD}")
    return start_server(args=args, log=log)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_thread_count(start_server, n):
    """--threads=N runs N threads (no database: no writer thread), named
    for top -H: the first is the process's own."""
    s = start(start_server, n, log=False)
    assert names(s.pid) == ["transitd"] + [f"transitd-{i}"
                                           for i in range(1, n)]


def test_database_writer_thread_is_named(start_server, tmp_path):
    s = start(start_server, 2, f"--usage-db={tmp_path / 'u.db'}", log=False)
    assert names(s.pid) == ["transitd", "transitd-1", "transitd-db"]


def test_default_is_one_thread_per_core(start_server):
    s = start_server(env={"TRANSITD_THREADS": ""})     # empty: unset
    assert len(tasks(s.pid)) == os.cpu_count()


def test_variable_sets_threads(start_server):
    s = start_server(env={"TRANSITD_THREADS": "3"}, log=False)
    assert len(tasks(s.pid)) == 3


@pytest.mark.parametrize("value", ["0", "257", "-2", "two", ""])
def test_bad_threads_exits_2(value):
    r = run(transitd_path(), f"--threads={value}",
            f"--port={DEFAULT_PORT}")
    assert r.returncode == 2, r
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and "--threads" in lines[0], lines
    assert "not a number of threads from 1 to 256" in lines[0], lines


def test_pairs_spread_over_threads_byte_exact(start_server, tmp_path):
    """16 pairs, 4 MiB each way at once: every byte arrives, one happy
    record each with the right size, and every thread did relaying."""
    db = tmp_path / "u.db"
    s = start(start_server, 4, f"--usage-db={db}")
    pairs = [s.pair() for _ in range(16)]
    # The first bytes of each pair, pair after pair, place the pairs on
    # threads in a known order: no pair ends meanwhile.
    for a, b in pairs:
        a.sendall(b"1")
        assert recv_exact(b, 1) == b"1"
    n = 4 * MIB
    errors = []

    def stream(i, a, b):
        try:
            x, y = pattern(2 * i, n), pattern(2 * i + 1, n)
            t = threading.Thread(target=send_in_chunks, args=(a, x))
            t.start()
            b.sendall(y)
            got_b = recv_exact(b, n, timeout=30)
            got_a = recv_exact(a, n, timeout=30)
            t.join(30)
            assert sha(got_b) == sha(x) and sha(got_a) == sha(y), i
        except BaseException as e:          # reported below
            errors.append(e)
    ts = [threading.Thread(target=stream, args=(i, a, b))
          for i, (a, b) in enumerate(pairs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not errors, errors
    for a, b in pairs:
        a.close()
        assert read_to_eof(b, timeout=5) == b""
        b.close()
    recs = s.log.wait(16)
    assert [(r["mood"], r["total_bytes"]) for r in recs] == \
        [("happy", 2 * n + 1)] * 16
    assert poll_rows(db, 16) == as_rows(recs)
    # Each of the four threads relayed pairs.
    per = relayed_per_thread(s)
    assert len(per) == 4 and sum(per) == 16 and min(per) >= 1, per


def test_many_tokens_pairs_and_moods(start_server):
    """Waiters and their partners arrive interleaved over many tokens,
    with spares and lonely ones: the records are what one thread gives."""
    s = start(start_server, 4)
    firsts = []
    for _ in range(40):
        tok = new_token()
        firsts.append((tok, s.client(tok, new_side())))
    for tok, a in firsts:
        wait_read(a)                        # every first one waits
    pairs = []
    for i, (tok, a) in enumerate(firsts):
        if i % 10 == 9:
            continue                        # stays lonely
        b = s.client(tok, new_side())
        expect_ok(a)
        expect_ok(b)
        pairs.append((a, b))
    for i, (a, b) in enumerate(pairs):
        a.sendall(pattern(i, 1000 + i))
        assert recv_exact(b, 1000 + i) == pattern(i, 1000 + i)
        b.close()
        assert read_to_eof(a, timeout=5) == b""
        a.close()
    for i, (tok, a) in enumerate(firsts):
        if i % 10 == 9:
            a.close()
    recs = s.log.wait(40)
    moods = sorted(r["mood"] for r in recs)
    assert moods == ["happy"] * 36 + ["lonely"] * 4, moods
    sizes = sorted(r["total_bytes"] for r in recs if r["mood"] == "happy")
    assert sizes == [1000 + i for i in range(36)], sizes


def test_drain_and_current_row_across_threads(start_server, tmp_path):
    """SIGTERM with pairs live on several threads: the current row counts
    them all with their bytes, they finish, and the relay exits once the
    last one closes, with every record written."""
    db = tmp_path / "u.db"
    s = start(start_server, 4, f"--usage-db={db}")
    pairs = [s.pair() for _ in range(8)]
    for i, (a, b) in enumerate(pairs):
        a.sendall(b"x" * (100 + i))
        assert recv_exact(b, 100 + i) == b"x" * (100 + i)
    s.stopped = True                        # it is to exit
    s.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        cur = q(db, "SELECT connected, waiting, incomplete_bytes FROM "
                "current")
        if cur and cur[0][0] == 16:
            break
        time.sleep(0.02)
    assert cur == [(16, 0, sum(100 + i for i in range(8)))], cur
    h = hashlib.sha256()
    for a, b in pairs:                      # still relaying
        b.sendall(b"back")
        assert recv_exact(a, 4) == b"back"
        h.update(b"back")
    assert s.alive()
    for a, b in pairs:
        a.close()
        assert read_to_eof(b, timeout=5) == b""
        b.close()
    assert s.proc.wait(10) == 0
    assert "transitd: drained: every pair has finished" in \
        s.stderr_after_exit().splitlines()
    recs = s.log.drain_to_eof()
    assert sorted(r["total_bytes"] for r in recs) == \
        [104 + i for i in range(8)]
    assert q(db, "SELECT connected, waiting, incomplete_bytes FROM "
             "current") == [(0, 0, 0)]

