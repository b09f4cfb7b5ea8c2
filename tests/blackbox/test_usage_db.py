"""The usage database (--usage-db=FILE), and interop with twist3's."""

import ctypes
import importlib.util
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time

import pytest

from conftest import (DEFAULT_PORT, Server, as_rows,
                      expect_closed_with, expect_ok, free_port,
                      new_side, new_token, pattern, q, read_to_eof, recv_exact,
                      poll_rows, rows, wait_read, wait_stderr)

pytestmark = pytest.mark.transitd_only

REFUSE = {"junk": b"this is not a database\n" * 100, "empty": b"",
          "other": "CREATE TABLE foo (x);",
          "v2": "CREATE TABLE version (version INTEGER);"
                "INSERT INTO version VALUES (2);",
          "norow": "CREATE TABLE version (version INTEGER);", "nodir": None}


def describe(c):
    """Every table and index with its columns, declared types and order."""
    return [(name, kind, c.execute(f"PRAGMA {kind[:5]}_info({name})")
             .fetchall()) for name, kind in c.execute(
                 "SELECT name, type FROM sqlite_master ORDER BY name")]


def reference_schema():
    spec = importlib.util.find_spec("wormhole_transit_relay")
    if spec is None:
        pytest.skip("the Python reference is not installed")
    path = os.path.join(os.path.dirname(spec.origin), "db-schemas/v1.sql")
    with open(path) as f:
        c = sqlite3.connect(":memory:")
        return describe(c.executescript(f.read()).connection)


def n_err(s, text):
    return sum(text in l for l in s.err.snapshot())


def start_db(start_server, db, *extra, log=True, sep=False, **kw):
    dbarg = ["--usage-db", str(db)] if sep else [f"--usage-db={db}"]
    logarg = ["--log-fd={LOGFD}"] if log else []
    return start_server(args=[f"--port={DEFAULT_PORT}", *dbarg, *logarg,
                              *extra], nlisten=1, log=log, **kw)


def quick_pair(s):
    token = new_token()
    a, b = s.client(token, new_side()), s.client(token, new_side())
    expect_ok(a), expect_ok(b)
    return a, b


def happy(s, nbytes=10):
    a, b = quick_pair(s)
    a.sendall(b"x" * nbytes)
    assert recv_exact(b, nbytes) == b"x" * nbytes
    a.close()
    assert read_to_eof(b) == b""


def make_every_mood(s):
    """One record of each mood; returns the moods made, in order."""
    happy(s, 123)
    c = s.client(new_token(), new_side())             # lonely
    wait_read(c)
    c.close()
    c = s.connect()                                   # errory
    c.sendall(b"GET / HTTP/1.0\n")
    expect_closed_with(c, b"bad handshake\n")
    c = s.client(new_token(), new_side())             # impatient
    wait_read(c)
    c.sendall(b"early")
    expect_closed_with(c, b"impatient\n")
    tok, side = new_token(), new_side()               # redundant, then happy
    w1, w2 = s.client(tok, side), s.client(tok, side)
    wait_read(w1)
    wait_read(w2)
    p = s.client(tok, new_side())
    expect_ok(w1), expect_ok(p), expect_closed_with(w2, b"")
    w1.close()
    assert read_to_eof(p) == b""
    s.connect().close()                               # empty
    return "happy lonely errory impatient redundant happy empty".split()


def relay_many(s, npairs, nbytes):
    """npairs pairs relay nbytes each, all at once, then close."""
    data = pattern(7, nbytes)
    pairs = [quick_pair(s) for _ in range(npairs)]
    ts = [threading.Thread(target=a.sendall, args=(data,), daemon=True)
          for a, _ in pairs]
    [t.start() for t in ts]
    for _, b in pairs:
        assert recv_exact(b, nbytes) == data
    [t.join(10) for t in ts]
    for a, b in pairs:
        a.close()
        assert read_to_eof(b) == b""


def inotify_events(path, action):
    """(mask, cookie, name) of creations and renames in path during action"""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK)
    assert fd >= 0 and libc.inotify_add_watch(fd, str(path).encode(),
                                              0x1c0) >= 0   # CREATE, MOVED_*
    try:
        action()
        data, events = os.read(fd, 1 << 16), []
    finally:
        os.close(fd)
    while data:
        _, mask, cookie, n = struct.unpack_from("iIII", data)
        events.append((mask, cookie, data[16:16 + n].rstrip(b"\0").decode()))
        data = data[16 + n:]
    return events


@pytest.mark.parametrize("umask", [0o002, 0o027])
def test_new_file_schema_mode_and_atomic_creation(start_server, tmp_path,
                                                  umask):
    db, t0, got = tmp_path / "u.db", int(time.time()), []
    ev = inotify_events(tmp_path, lambda: got.append(start_db(
        start_server, db, preexec_fn=lambda: os.umask(umask))))
    t1, s = time.time(), got[0]
    # built under a temporary name in the same folder, then renamed
    to = [c for m, c, n in ev if m == 0x80 and n == "u.db"]
    tmp = [n for m, c, n in ev if m == 0x40 and [c] == to]
    assert len(to) == 1 and len(tmp) == 1 and tmp[0] != "u.db", ev
    assert (0x100, 0, tmp[0]) in ev and (0x100, 0, "u.db") not in ev, ev
    assert os.stat(db).st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["u.db"]     # no temporary file left
    got = describe(sqlite3.connect(str(db)))
    assert [n for n, _, _ in got] == ["current", "usage", "usage_result_index",
                                      "usage_started_index", "version"]
    assert got == reference_schema()
    # the current row is committed before "listening on"
    cur = q(db, "SELECT *, typeof(rebooted), typeof(updated) FROM current")
    assert len(cur) == 1 and cur[0][2:] == (0, 0, 0, "integer", "integer")
    assert t0 <= cur[0][0] <= cur[0][1] <= t1, cur
    assert rows(db) == [] and s.alive()


@pytest.mark.parametrize("kind", REFUSE)
def test_refused_database(transitd_bin, tmp_path, kind):
    db = tmp_path / ("nodir/u.db" if kind == "nodir" else "u.db")
    if isinstance(REFUSE[kind], bytes):
        db.write_bytes(REFUSE[kind])
    elif REFUSE[kind]:
        sqlite3.connect(str(db)).executescript(REFUSE[kind]).connection \
            .close()
    before = None if kind == "nodir" else db.read_bytes()
    r = subprocess.run([transitd_bin, f"--port={DEFAULT_PORT}",
                        f"--usage-db={db}"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=10)
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 1 and r.stdout == b"", r
    assert len(lines) == 1 and lines[0].startswith("transitd: usage db"), r
    if kind == "nodir":
        assert not db.parent.exists()
    else:
        assert db.read_bytes() == before, "refused file was changed"
        assert os.listdir(tmp_path) == ["u.db"]


@pytest.mark.parametrize("blur", [None, 3600])
def test_rows_equal_json_lines_for_every_mood(start_server, tmp_path, blur):
    db = tmp_path / "u.db"
    s = start_db(start_server, db, *([f"--blur-usage={blur}"] if blur else []))
    moods = make_every_mood(s)
    recs = s.log.wait(len(moods))
    assert sorted(r["mood"] for r in recs) == sorted(moods)
    got = poll_rows(db, len(moods))
    assert got == as_rows(recs)
    for ts, tw, tb, tr, mood, started, nbytes in q(
            db, "SELECT typeof(started), typeof(waiting_time), typeof("
            "total_bytes), typeof(result), result, started, total_bytes "
            "FROM usage"):
        assert (tb, tr, tw == "null") == ("integer", "text", mood != "happy")
        if blur:
            assert started % blur == 0 and nbytes in (0, 10000)
        else:
            assert ts == "real" and started != int(started)
    happy_bytes = sorted(r[3] for r in got if r[4] == "happy")
    assert happy_bytes == ([0, 10000] if blur else [0, 123])


def test_current_row_at_clean_exit(start_server, tmp_path):
    db = tmp_path / "u.db"
    s = start_db(start_server, db, sep=True)    # --usage-db FILE
    rebooted = q(db, "SELECT rebooted FROM current")[0][0]
    a, b = quick_pair(s)                        # live at exit
    a.sendall(b"y" * 5000)
    assert recv_exact(b, 5000) == b"y" * 5000
    w = s.client(new_token(), new_side())       # waiting at exit
    wait_read(w)
    while int(time.time()) <= rebooted:         # let 'updated' move on
        time.sleep(0.02)
    assert s.signal_and_wait(signal.SIGTERM, timeout=12, again=0.5) == 0
    t_end = time.time()
    recs = s.log.drain_to_eof()
    assert sorted(r["mood"] for r in recs) == ["happy", "lonely"]
    assert rows(db) == as_rows(recs)
    cur = q(db, "SELECT * FROM current")
    assert len(cur) == 1 and cur[0][0] == rebooted, cur
    assert rebooted < cur[0][1] <= t_end and cur[0][2:] == (0, 0, 0), cur
    assert "cannot write" not in s.stderr_after_exit()


def test_reader_holding_a_read_transaction_does_not_delay_relay(
        start_server, tmp_path):
    db = tmp_path / "u.db"
    s = start_db(start_server, db)
    rd = sqlite3.connect(str(db), isolation_level=None, timeout=5)
    try:
        rd.execute("BEGIN")
        assert rd.execute("SELECT count(*) FROM usage").fetchall() == [(0,)]
        t0 = time.monotonic()
        # All of it while the reader holds the database: relaying never
        # waits for the writer (which would wait for the reader).
        relay_many(s, 20, 1 << 20)
        a, b = quick_pair(s)
        for i in range(20):                     # round trips while locked
            a.sendall(b"p%02d" % i)
            assert recv_exact(b, 3) == b"p%02d" % i
            b.sendall(b"q")
            assert recv_exact(a, 1) == b"q"
        a.close()
        assert read_to_eof(b) == b""
        wait_stderr(s, "cannot write")             # the lock was felt ...
        # ... and the JSON lines did not wait for the database either.
        recs = s.log.wait(21)
        time.sleep(max(0.0, t0 + 3.0 - time.monotonic()))  # retries
    finally:
        rd.close()                              # ... and now let go
    assert poll_rows(db, 21) == as_rows(recs)
    assert [r[3] for r in rows(db)].count(1 << 20) == 20
    wait_stderr(s, "writing again")
    assert n_err(s, "cannot write") == 1, s.err.text()


def test_exclusive_lock_episodes_and_exit_while_locked(start_server,
                                                       tmp_path):
    db = tmp_path / "u.db"
    s = start_db(start_server, db)
    happy(s)
    poll_rows(db, 1)
    lk = sqlite3.connect(str(db), isolation_level=None, timeout=5,
                         check_same_thread=False)
    try:
        lk.execute("BEGIN EXCLUSIVE")
        moods = make_every_mood(s)              # relaying goes on meanwhile
        happy(s, 100000)
        wait_stderr(s, "cannot write")
        time.sleep(2.5)                         # several retries, one line
        assert n_err(s, "cannot write") == 1, s.err.text()
        lk.execute("COMMIT")
        n = 2 + len(moods)
        assert poll_rows(db, n) == as_rows(s.log.wait(n))
        wait_stderr(s, "writing again")
        lk.execute("BEGIN EXCLUSIVE")           # a second episode
        happy(s, 7)
        wait_stderr(s, "cannot write", n=2)
        # SIGTERM while locked: the exit waits for the lock to go
        committing = threading.Event()

        def commit():
            committing.set()
            lk.execute("COMMIT")
        threading.Timer(2.0, commit).start()
        assert s.signal_and_wait(signal.SIGTERM, timeout=12) == 0
        assert committing.is_set(), "exited before the lock went"
    finally:
        time.sleep(0.1)
        lk.close()
    recs = s.log.drain_to_eof()
    assert rows(db) == as_rows(recs) and len(recs) == n + 1
    assert q(db, "SELECT connected, waiting, incomplete_bytes FROM "
             "current") == [(0, 0, 0)]
    err = s.stderr_after_exit()
    assert n_err(s, "writing again") == 2, err
    assert "could not be written" not in err


def test_folder_renamed_away_and_back(start_server, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    s = start_db(start_server, d / "u.db")
    happy(s)
    poll_rows(d / "u.db", 1)
    os.rename(d, tmp_path / "gone")
    try:
        make_every_mood(s)
        relay_many(s, 3, 300000)
        wait_stderr(s, "cannot write")
        happy(s, 10)                            # still serving
    finally:
        os.rename(tmp_path / "gone", d)
    assert poll_rows(d / "u.db", 12) == as_rows(s.log.wait(12))
    wait_stderr(s, "writing again")
    assert n_err(s, "cannot write") == 1


def test_kill9_during_writes_leaves_a_sound_database(start_server, tmp_path):
    db, stop, t0, done = tmp_path / "u.db", threading.Event(), time.time(), []
    s = start_db(start_server, db, log=False)   # nobody to drain a log

    def churn():            # errory records as fast as they come
        while not stop.is_set():
            try:
                c = s.connect()
                c.sendall(b"bad\n")
                read_to_eof(c, timeout=2)
                c.close()
                done.append(1)
            except (OSError, AssertionError):
                return
    ts = [threading.Thread(target=churn, daemon=True) for _ in range(4)]
    [t.start() for t in ts]
    deadline = time.monotonic() + 10            # no reads meanwhile: a busy
    while len(done) < 2000 and time.monotonic() < deadline:   # writer
        time.sleep(0.01)                        # would starve them
    s.kill()                                    # SIGKILL, mid-write
    stop.set()
    [t.join(5) for t in ts]
    assert q(db, "PRAGMA integrity_check") == [("ok",)]
    assert q(db, "SELECT version FROM version") == [(1,)]
    got, t1 = rows(db), time.time()
    assert 0 < len(got) <= len(done) + 4, (len(got), len(done))
    for started, total_time, waiting, nbytes, mood in got:  # none torn
        assert (waiting, nbytes, mood) == (None, 0, "errory")
        assert t0 <= started <= t1 and 0 <= total_time < t1 - t0
    s2 = start_db(start_server, db)             # and it opens again
    happy(s2, 42)
    r2 = s2.log.wait(1)
    assert poll_rows(db, len(got) + 1)[len(got):] == as_rows(r2)


def start_reference(db):
    port = free_port("127.0.0.1")
    ref = Server(["twist3", "transitrelay",
                  f"--port=tcp:{port}:interface=127.0.0.1",
                  f"--usage-db={db}"], None, (), 1, reference_port=port,
                 reference_host="127.0.0.1")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError:
        ref.shutdown()
        raise
    return ref


def test_reference_starts_on_a_transitd_database(start_server, tmp_path):
    db = tmp_path / "u.db"
    s = start_db(start_server, db)
    happy(s, 55)
    recs = s.log.wait(1)
    assert s.signal_and_wait(signal.SIGTERM, timeout=12) == 0
    ref = start_reference(db)
    try:
        happy(ref, 66)                          # the reference adds a row
        got = poll_rows(db, 2)
        # twist3 re-raises SIGTERM after a clean shutdown
        assert ref.signal_and_wait(signal.SIGTERM, timeout=10) in (0, -15)
    finally:
        ref.shutdown()
    assert got[0] == as_rows(recs)[0] and got[1][3:] == (66, "happy")
    assert q(db, "PRAGMA integrity_check") == [("ok",)]
    assert q(db, "SELECT version FROM version") == [(1,)]


def test_transitd_starts_on_a_reference_database(start_server, tmp_path):
    db = tmp_path / "ref.db"
    ref = start_reference(db)
    try:
        assert db.exists()
        happy(ref, 77)
        poll_rows(db, 1)
        ref.signal_and_wait(signal.SIGTERM, timeout=10)
    finally:
        ref.shutdown()
    t0 = int(time.time())
    s = start_db(start_server, db)
    cur = q(db, "SELECT rebooted, typeof(rebooted), connected FROM current")
    assert len(cur) == 1 and cur[0][1] == "integer" and cur[0][0] >= t0, cur
    happy(s, 88)
    got = poll_rows(db, 2)
    assert got[0][3:] == (77, "happy") and got[1:] == as_rows(s.log.wait(1))
    assert s.signal_and_wait(signal.SIGTERM, timeout=12) == 0
    assert q(db, "PRAGMA integrity_check") == [("ok",)]
