"""Soak: many concurrent clients doing a random mix of everything a relay
sees, against one relay on its default threads, then the books are
checked. TRANSITD_SOAK_SECONDS sets the length (default 30: two halves of
15 s); TRANSITD_SOAK_SEED replays a run.

- happy TCP pairs and WebSocket+TCP pairs of random sizes (some several
  MB), data flowing both ways at once, checked byte for byte;
- lonely, errory, impatient, empty and redundant connections.

Afterwards the records per mood, in the log lines and in the usage
database, equal what the clients did; the happy total_bytes sum to what
the clients sent; and after the second half the relay holds no more
sockets and no more memory than after the first (nothing leaks).
"""

import collections
import hashlib
import os
import random
import threading
import time

import pytest

from conftest import (REFERENCE, expect_closed_with, expect_ok, handshake,
                      new_side, new_token, poll_rows, read_to_eof,
                      recv_hashing, wait_read)
from wsutil import ws_client, ws_listeners

pytestmark = pytest.mark.transitd_only

SECONDS = float(os.environ.get("TRANSITD_SOAK_SECONDS", "30"))
SEED = int(os.environ.get("TRANSITD_SOAK_SEED", str(int(time.time()))))
JOBS = 8                    # clients' jobs at once
BIG = 4 << 20               # largest transfer, one way
PIPES_PER_THREAD = 2 * 16   # descriptors of the pipes a thread may keep
RSS_SLACK_KIB = 2048        # allocator noise between two idle moments


class Books:
    """What the clients did, counted under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.moods = collections.Counter()
        self.happy_bytes = 0
        self.errors = []

    def add(self, mood, nbytes=0):
        with self.lock:
            self.moods[mood] += 1
            self.happy_bytes += nbytes


def stream(rng):
    """The bytes one side sends: mostly small, now and then several MB."""
    r = rng.random()
    n = (rng.randrange(1 << 20, BIG) if r < 0.08 else
         rng.randrange(1, 256 << 10) if r < 0.6 else rng.randrange(0, 4096))
    return rng.randbytes(n)


def send_all(send, data, chunk):
    for i in range(0, len(data), chunk):
        send(data[i:i + chunk])


def happy(srv, rng, books, ws):
    """A pair, one side a WebSocket client if ws; both send at once and
    each checks what it received byte for byte."""
    tok = new_token()
    da, db = stream(rng), stream(rng)
    if ws:
        a = ws_client(srv, tok)
    else:
        a = srv.connect()
        a.sendall(handshake(tok))
    b = srv.connect()
    b.sendall(handshake(tok))
    try:
        a.expect_ok() if ws else expect_ok(a)
        expect_ok(b)
        send_a = (lambda d: a.send_binary(d)) if ws else a.sendall
        ta = threading.Thread(target=send_all, args=(send_a, da, 60000))
        tb = threading.Thread(target=send_all, args=(b.sendall, db, 1 << 16))
        ta.start()
        tb.start()
        deadline = time.monotonic() + 60
        if ws:
            got = a.recv_data(len(db), timeout=60)
            assert got == db, "WebSocket side: bytes differ"
        else:
            h = hashlib.sha256()
            recv_hashing(a, len(db), h, deadline)
            assert h.digest() == hashlib.sha256(db).digest(), "a: differ"
        h = hashlib.sha256()
        recv_hashing(b, len(da), h, deadline)
        assert h.digest() == hashlib.sha256(da).digest(), "b: differ"
        ta.join(60)
        tb.join(60)
    finally:
        a.close()
        b.close()
    books.add("happy", len(da) + len(db))


def lonely(srv, rng, books):
    s = srv.connect()
    s.sendall(handshake(new_token()))
    wait_read(s)
    s.close()
    books.add("lonely")


def errory(srv, rng, books):
    s = srv.connect()
    s.sendall(b"please relay nothing\n")
    expect_closed_with(s, b"bad handshake\n")
    s.close()
    books.add("errory")


def impatient(srv, rng, books):
    s = srv.connect()
    s.sendall(handshake(new_token()) + b"hurry")
    expect_closed_with(s, b"impatient\n")
    s.close()
    books.add("impatient")


def empty(srv, rng, books):
    s = srv.connect()
    s.sendall(b"please relay "[:rng.randrange(0, 13)])
    wait_read(s)
    s.close()
    books.add("empty")


def redundant(srv, rng, books):
    """Two waiters of one side; a partner of the other side pairs with
    the first, and the second is dropped."""
    tok, side = new_token(), new_side()
    w1 = srv.connect()
    w1.sendall(handshake(tok, side))
    wait_read(w1)
    w2 = srv.connect()
    w2.sendall(handshake(tok, side))
    wait_read(w2)
    p = srv.connect()
    p.sendall(handshake(tok, new_side()))
    try:
        expect_ok(w1)
        expect_ok(p)
        assert read_to_eof(w2) == b"", "the redundant waiter got bytes"
    finally:
        for s in (w1, w2, p):
            s.close()
    books.add("redundant")
    books.add("happy")


SCENARIOS = [(happy, 30, {"ws": False}), (happy, 15, {"ws": True}),
             (lonely, 10, {}), (errory, 10, {}), (impatient, 10, {}),
             (empty, 5, {}), (redundant, 5, {})]


def run_jobs(srv, seconds, books, seed):
    """JOBS threads, each running random scenarios until the time is up;
    the log pipe is read meanwhile."""
    stop = time.monotonic() + seconds
    weights = [w for _, w, _ in SCENARIOS]

    def job(k):
        rng = random.Random(seed * 1000 + k)
        while time.monotonic() < stop and not books.errors:
            fn, _, kw = rng.choices(SCENARIOS, weights)[0]
            try:
                fn(srv, rng, books, **kw)
            except BaseException as e:      # reported by the main thread
                books.errors.append(f"{fn.__name__}{kw}: {e!r}")

    threads = [threading.Thread(target=job, args=(k,)) for k in range(JOBS)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        srv.log.pump(0.1)
        assert time.monotonic() < stop + 120, "the jobs do not finish"
    for t in threads:
        t.join()
    assert not books.errors, books.errors[:5]


def settle(srv, books, db):
    """Once every connection has its record: the records, in the log and
    the database, match the books."""
    want = sum(books.moods.values()) - books.moods["redundant"]
    recs = srv.log.wait(want, timeout=30)
    srv.log.settle(0.2)
    recs = srv.log.records
    got = collections.Counter(r["mood"] for r in recs)
    assert got == books.moods, (got, books.moods)
    assert sum(r["total_bytes"] for r in recs if r["mood"] == "happy") == \
        books.happy_bytes
    rows = poll_rows(db, len(recs), timeout=30)
    assert collections.Counter(r[4] for r in rows) == books.moods
    assert sum(r[3] for r in rows if r[4] == "happy") == books.happy_bytes


def holdings(pid):
    """The relay's sockets, other descriptors and pipes, and RSS in KiB."""
    socks = other = pipes = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if t.startswith("socket:"):
            socks += 1
        elif t.startswith("pipe:"):
            pipes += 1
        else:
            other += 1
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return socks, other, pipes, rss


def nthreads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def sanitized(pid):
    """A sanitizer's runtime in the relay: its allocator keeps freed
    memory aside (ASan's quarantine), so RSS says nothing of leaks."""
    with open(f"/proc/{pid}/maps") as f:
        return any(n in f.read() for n in ("libasan", "libtsan"))


@pytest.mark.skipif(REFERENCE, reason="transitd only")
def test_soak(start_server, tmp_path):
    db = tmp_path / "usage.sqlite"
    srv = start_server(args=["--port=tcp:0:interface=127.0.0.1",
                             "--websocket=tcp:0:interface=127.0.0.1",
                             "--log-fd={LOGFD}", f"--usage-db={db}"],
                       nlisten=1)
    srv.ws = ws_listeners(srv)
    books = Books()
    half = SECONDS / 2
    print(f"soak: seed {SEED}, {SECONDS} s")

    run_jobs(srv, half, books, SEED)
    settle(srv, books, db)
    first = holdings(srv.pid)
    run_jobs(srv, half, books, SEED + 1)
    settle(srv, books, db)
    second = holdings(srv.pid)

    print(f"soak: {dict(books.moods)}, {books.happy_bytes} happy bytes; "
          f"sockets/other/pipes/RSS KiB after each half: {first} {second}")
    assert books.moods["happy"] > 0 and books.happy_bytes > 0
    socks1, other1, _, rss1 = first
    socks2, other2, pipes2, rss2 = second
    assert socks2 <= socks1, (first, second)
    assert other2 <= other1, (first, second)
    # Empty pipes kept for the next pairs are bounded per thread.
    assert pipes2 <= PIPES_PER_THREAD * nthreads(srv.pid), (first, second)
    if not sanitized(srv.pid):
        assert rss2 <= rss1 + RSS_SLACK_KIB, (first, second)
    assert srv.signal_and_wait() == 0
    assert "drained" in srv.stderr_after_exit() or \
        "stopping" in srv.stderr_after_exit()
