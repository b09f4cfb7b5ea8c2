"""
Tests of transitd's Munin plugins through Munin 2.0 (munin-run,
munin-node-configure): config text, values of every graph against the usage
database, stale and missing current rows, autoconf, suggest, errors, and the
same outputs as the reference relay's Python plugins.
"""

import os
import re
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import (GRAPHS, IS_ROOT, PREFIX, make_db, parse_values)

root_only = pytest.mark.skipif(
    not IS_ROOT, reason="needs root: munin-run then runs plugins as nobody")

FIELDS = {
    "active": ["waiting", "connected"],
    "bytes": ["bytes", "incomplete"],
    "bytes_alltime": ["bytes", "incomplete"],
    "events": ["happy", "errory", "lonely", "redundant"],
    "events_alltime": ["happy", "errory", "lonely", "redundant"],
    "rates": ["happy", "errory", "lonely", "redundant"],
    "rates_bytes": ["bytes"],
}
MOODS = ["happy", "errory", "lonely", "redundant"]

_BYTES_FIELDS = """\
bytes.label Transit Bytes (complete)
bytes.draw LINE1
bytes.type GAUGE
bytes.info Bytes relayed by finished transfers
incomplete.label Transit Bytes (incomplete)
incomplete.draw LINE1
incomplete.type GAUGE
incomplete.info Bytes relayed, counting transfers still running
"""
_EVENT_FIELDS = """\
happy.label Happy
happy.draw LINE1
happy.type GAUGE
happy.info Pairs that relayed and ended
errory.label Errory
errory.draw LINE1
errory.type GAUGE
errory.info Connections with a bad handshake
lonely.label Lonely
lonely.draw LINE1
lonely.type GAUGE
lonely.info Connections that closed before a partner came
redundant.label Redundant
redundant.draw LINE1
redundant.type GAUGE
redundant.info Waiters dropped when another connection paired
"""

CONFIG = {
    "active": """\
graph_title Magic-Wormhole Transit Active Channels
graph_vlabel Channels
graph_category wormhole
graph_info Connections the transit relay holds now.
waiting.label Transit Waiting
waiting.draw LINE1
waiting.type GAUGE
waiting.info Tokens waiting for a partner
connected.label Transit Connected
connected.draw LINE1
connected.type GAUGE
connected.info Connections in live pairs (two per pair)
""",
    "bytes": """\
graph_title Magic-Wormhole Transit Usage (since reboot)
graph_vlabel Bytes Since Reboot
graph_category wormhole
graph_info Bytes relayed since the relay started.
""" + _BYTES_FIELDS,
    "bytes_alltime": """\
graph_title Magic-Wormhole Transit Usage (all time)
graph_vlabel Bytes Since DB Creation
graph_category wormhole
graph_info Bytes relayed since the usage database was created.
""" + _BYTES_FIELDS,
    "events": """\
graph_title Magic-Wormhole Transit Server Events (since reboot)
graph_vlabel Events Since Reboot
graph_category wormhole
graph_info Connections ended since the relay started, by mood.
""" + _EVENT_FIELDS,
    "events_alltime": """\
graph_title Magic-Wormhole Transit Server Events (all time)
graph_vlabel Events
graph_category wormhole
graph_info Connections ended since the usage database was created, by mood.
""" + _EVENT_FIELDS,
    "rates": """\
graph_title Magic-Wormhole Transit Rates
graph_vlabel per ${graph_period}
graph_args --base 1000 -l 0
graph_category wormhole
graph_info How often connections end, by mood.
""" + "".join("""\
%s.label %s
%s.draw LINE1
%s.type DERIVE
%s.min 0
%s.info %s
""" % (f, label, f, f, f, f, info) for f, label, info in [
        ("happy", "Happy", "Pairs that relayed and ended"),
        ("errory", "Errory", "Connections with a bad handshake"),
        ("lonely", "Lonely", "Connections that closed before a partner came"),
        ("redundant", "Redundant",
         "Waiters dropped when another connection paired")]),
    "rates_bytes": """\
graph_title Magic-Wormhole Transit Byte Rate
graph_vlabel bytes per ${graph_period}
graph_args --base 1024 -l 0
graph_category wormhole
graph_info How fast finished transfers add to the bytes relayed.
bytes.label Bytes
bytes.draw LINE1
bytes.type DERIVE
bytes.min 0
bytes.info Bytes relayed by finished transfers
""",
}


def expected_values(current, usage):
    """What every graph must print, computed in Python from the rows."""
    rebooted, _, connected, waiting, incomplete = current

    def after(row):
        return (row[0] is not None and rebooted is not None and
                row[0] > rebooted)

    def total(rows):
        return sum(r[3] or 0 for r in rows)

    def counts(rows):
        return {m: sum(1 for r in rows if r[4] == m) for m in MOODS}

    since = [r for r in usage if after(r)]
    out = {"active": {"waiting": waiting, "connected": connected}}
    for graph, rows in (("bytes", since), ("bytes_alltime", usage)):
        out[graph] = {"bytes": total(rows),
                      "incomplete": total(rows) + incomplete}
    out["events"] = counts(since)
    out["events_alltime"] = counts(usage)
    out["rates"] = counts(usage)
    out["rates_bytes"] = {"bytes": total(usage)}
    return {g: {f: str(v) for f, v in d.items()} for g, d in out.items()}


def rich_rows(now):
    """A current row and usage rows around the reboot, floats included."""
    r = now - 7200
    usage = [
        (r - 3600.5, 12.5, 0.5, 1000, "happy"),         # before the reboot
        (r - 0.25, 3.0, None, 0, "lonely"),             # just before
        (r, 2.0, 1.0, 5000, "happy"),                   # at it: not "since"
        (r + 0.5, 9.75, 0.25, 20000, "happy"),          # just after
        (r + 10.0, 0.1, None, 0, "errory"),
        (r + 11, 60.0, None, 0, "lonely"),
        (r + 12.125, 1.0, None, 0, "redundant"),
        (r + 12.5, 1.0, None, 0, "redundant"),
        (r + 13, 0.0, None, 0, "empty"),                # transitd moods the
        (r + 14, 0.0, None, 0, "impatient"),            # graphs leave out
        (r + 15, 1.0, None, 7, "Happy"),                # case matters
        (r + 100, 4000.0, 3.0, 3000000000000, "happy"),  # > 2**32
        (float(r + 3600), 5.0, 1.0, 10000, "happy"),    # blurred, a float
        (None, 1.0, None, 3, "happy"),                  # no started at all
        (r - 86400, 1.0, None, 0, "errory"),
        (r - 86400, 1.0, None, 0, "redundant"),
    ]
    current = (r, now - 30, 6, 2, 123456)
    return current, usage


def test_markers_in_binary():
    """munin-node-configure finds the magic markers, read line by line."""
    with open(os.environ["TRANSITD_MUNIN"], "rb") as f:
        data = f.read()
    family, caps = None, set()
    for line in data.split(b"\n"):
        # The regular expressions of Munin::Node::Configure::Plugin.
        m = re.search(rb"#%#\s+family\s*=\s*(\S+)\s*", line)
        if m:
            family = m.group(1)
            continue
        m = re.search(rb"#%#\s+capabilities\s*=\s*(.+)", line)
        if m:
            caps.update(m.group(1).split())
    assert family == b"auto"
    assert caps == {b"autoconf", b"suggest"}


@pytest.mark.parametrize("graph", GRAPHS)
def test_config_exact(munin, graph):
    r = munin.munin_run(PREFIX + graph, "config")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == CONFIG[graph]


@pytest.mark.parametrize("usagedb", [None, "/nonexistent/usage.sqlite"])
def test_config_never_reads_the_database(munin, usagedb):
    munin.plugin_conf(usagedb=usagedb)
    for graph in GRAPHS:
        r = munin.munin_run(PREFIX + graph, "config")
        assert (r.returncode, r.stderr, r.stdout) == (0, "", CONFIG[graph])


def test_config_fields_match_values(munin, now):
    """Every graph prints a value for each field of its config, in order."""
    make_db(munin.db, *rich_rows(now))
    for graph in GRAPHS:
        conf = munin.munin_run(PREFIX + graph, "config").stdout
        labels = [l.split(".")[0] for l in conf.splitlines()
                  if l.split(" ")[0].endswith(".label")]
        assert labels == FIELDS[graph]
        assert list(munin.fetch(graph)) == FIELDS[graph]


def test_values_rich(munin, now):
    current, usage = rich_rows(now)
    make_db(munin.db, current, usage)
    want = expected_values(current, usage)
    # Spelled out once, so that a wrong expected_values cannot hide a bug.
    assert want["events"] == {"happy": "3", "errory": "1", "lonely": "1",
                              "redundant": "2"}
    assert want["bytes"]["bytes"] == str(20000 + 3000000000000 + 10000 + 7)
    for graph in GRAPHS:
        assert munin.fetch(graph) == want[graph], graph


def test_values_no_usage_rows(munin, now):
    current = (now - 100, now, 0, 0, 0)
    make_db(munin.db, current, [])
    for graph in GRAPHS:
        assert munin.fetch(graph) == {f: "0" for f in FIELDS[graph]}
    current = (now - 100, now, 1, 3, 4096)
    make_db(munin.db + "2", current, [])
    munin.plugin_conf(usagedb=munin.db + "2")
    assert munin.fetch("bytes") == {"bytes": "0", "incomplete": "4096"}
    assert munin.fetch("bytes_alltime") == {"bytes": "0",
                                            "incomplete": "4096"}
    assert munin.fetch("active") == {"waiting": "3", "connected": "1"}


def test_values_nothing_since_reboot(munin, now):
    """Rows all before the reboot: zeros since reboot, totals all time."""
    usage = [(now - 5000 + i, 1.0, None, 100 * i, m)
             for i, m in enumerate(MOODS * 3)]
    current = (now - 10, now - 5, 0, 1, 50)
    make_db(munin.db, current, usage)
    want = expected_values(current, usage)
    assert want["events"] == {m: "0" for m in MOODS}
    assert want["events_alltime"] == {m: "3" for m in MOODS}
    for graph in GRAPHS:
        assert munin.fetch(graph) == want[graph], graph


def test_values_float_rebooted(munin, now):
    """The reference writes rebooted and updated as floats."""
    r = now - 600 + 0.75
    usage = [(r - 0.5, 1.0, None, 100, "happy"),
             (r - 0.0001, 1.0, None, 200, "happy"),
             (r + 0.0001, 1.0, None, 400, "happy"),
             (now - 600, 1.0, None, 800, "lonely"),     # int, below r
             (now - 599, 1.0, None, 1600, "lonely"),    # int, above r
             (r + 1.5, 1.0, None, 3200, "errory")]
    current = (r, now - 0.5, 2, 1, 7)
    make_db(munin.db, current, usage)
    want = expected_values(current, usage)
    assert want["bytes"] == {"bytes": "5200", "incomplete": "5207"}
    for graph in GRAPHS:
        assert munin.fetch(graph) == want[graph], graph


def test_values_are_integers(munin, now):
    """Float started and huge byte counts still give integer values."""
    usage = [(now - 10.123456, 1.5, 0.25, 2 ** 40 + 1, "happy"),
             (now - 9.5, 2.5, 0.5, 2 ** 40 + 2, "happy")]
    make_db(munin.db, (now - 100, now, 2, 0, 2 ** 33), usage)
    for graph in GRAPHS:
        for field, value in munin.fetch(graph).items():
            assert re.fullmatch(r"0|[1-9][0-9]*", value), (graph, field)
    assert munin.fetch("bytes")["incomplete"] == str(2 ** 41 + 3 + 2 ** 33)


@pytest.mark.parametrize("age, fresh", [(0, True), (290, True),
                                        (310, False), (86400, False)])
def test_stale_current_gives_unknown(munin, now, age, fresh):
    current, usage = rich_rows(now)
    current = current[:1] + (time.time() - age,) + current[2:]
    make_db(munin.db, current, usage)
    want = expected_values(current, usage)
    for graph in GRAPHS:
        got = munin.fetch(graph)
        if fresh:
            assert got == want[graph], graph
        else:
            assert got == {f: "U" for f in FIELDS[graph]}, graph


@pytest.mark.parametrize("current", [None, "null-updated"])
def test_no_current_row_gives_unknown(munin, now, current):
    if current == "null-updated":
        current = (now - 100, None, 1, 1, 1)
    make_db(munin.db, current, rich_rows(now)[1])
    for graph in GRAPHS:
        assert munin.fetch(graph) == {f: "U" for f in FIELDS[graph]}


def test_null_columns_of_current(munin, now):
    """A NULL in the current row makes only the fields that use it U."""
    make_db(munin.db, (now - 100, now, None, None, None),
            [(now - 50, 1.0, None, 10, "happy")])
    assert munin.fetch("active") == {"waiting": "U", "connected": "U"}
    assert munin.fetch("bytes") == {"bytes": "10", "incomplete": "U"}
    make_db(munin.db + "2", (None, now, 1, 2, 3),
            [(now - 50, 1.0, None, 10, "happy")])
    munin.plugin_conf(usagedb=munin.db + "2")
    # started > NULL is never true, as in the reference.
    assert munin.fetch("bytes") == {"bytes": "0", "incomplete": "3"}
    assert munin.fetch("events")["happy"] == "0"
    assert munin.fetch("events_alltime")["happy"] == "1"


def test_database_unchanged(munin, now):
    """The plugins open the database read-only and leave no files."""
    make_db(munin.db, *rich_rows(now))
    with open(munin.db, "rb") as f:
        before = f.read()
    listing = sorted(os.listdir(munin.base))
    for graph in GRAPHS:
        for arg in (None, "autoconf", "config"):
            assert munin.munin_run(PREFIX + graph, arg).returncode == 0
    with open(munin.db, "rb") as f:
        assert f.read() == before
    assert sorted(os.listdir(munin.base)) == listing


def test_autoconf_yes(munin, now):
    make_db(munin.db, *rich_rows(now))
    for name in [PREFIX, PREFIX + "active", PREFIX + "nosuchgraph"]:
        if name.endswith("nosuchgraph"):
            munin.link(name)
        r = munin.munin_run(name, "autoconf")
        assert (r.returncode, r.stdout, r.stderr) == (0, "yes\n", "")


def test_autoconf_yes_when_stale_or_empty(munin, now):
    """A stopped relay or an empty database is still a usage database."""
    make_db(munin.db, None, [])
    r = munin.munin_run(PREFIX, "autoconf")
    assert (r.returncode, r.stdout, r.stderr) == (0, "yes\n", "")


def _autoconf_no(munin, reason_re):
    r = munin.munin_run(PREFIX, "autoconf")
    assert r.returncode == 0, r
    assert r.stderr == "", r
    assert re.fullmatch(r"no \((.+)\)\n", r.stdout), r.stdout
    assert re.search(reason_re, r.stdout), r.stdout
    return r.stdout


def test_autoconf_no_env(munin):
    munin.plugin_conf(usagedb=None)
    assert _autoconf_no(munin, "env.usagedb") == \
        "no (env.usagedb is not set)\n"


def test_autoconf_no_missing_file(munin):
    munin.plugin_conf(usagedb=munin.db)
    _autoconf_no(munin, re.escape(munin.db))
    assert not os.path.exists(munin.db)     # not created


def test_autoconf_no_junk_file(munin):
    with open(munin.db, "w") as f:
        f.write("not a database\n" * 100)
    os.chmod(munin.db, 0o644)
    _autoconf_no(munin, "not a database")


@pytest.mark.parametrize("kind", ["empty", "no-usage", "no-current",
                                  "old-columns", "version-2", "no-version"])
def test_autoconf_no_not_a_usage_database(munin, now, kind):
    db = sqlite3.connect(munin.db)
    if kind == "empty":
        db.execute("CREATE TABLE other (x INTEGER)")
    else:
        db.executescript(
            "CREATE TABLE version (version INTEGER);"
            "CREATE TABLE current (rebooted INTEGER, updated INTEGER, "
            "connected INTEGER, waiting INTEGER, incomplete_bytes INTEGER);"
            "CREATE TABLE usage (started INTEGER, total_time INTEGER, "
            "waiting_time INTEGER, total_bytes INTEGER, result VARCHAR);")
        db.execute("INSERT INTO version VALUES (?)",
                   (2 if kind == "version-2" else 1,))
        if kind == "no-usage":
            db.execute("DROP TABLE usage")
        if kind == "no-current":
            db.execute("DROP TABLE current")
        if kind == "old-columns":
            db.execute("DROP TABLE usage")
            db.execute("CREATE TABLE usage (started INTEGER, result VARCHAR)")
        if kind == "no-version":
            db.execute("DELETE FROM version")
    db.commit()
    db.close()
    os.chmod(munin.db, 0o644)
    _autoconf_no(munin, re.escape(munin.db))


@root_only
def test_autoconf_no_unreadable(munin, now):
    make_db(munin.db, *rich_rows(now))
    os.chmod(munin.db, 0o600)           # root's; the plugin runs as nobody
    _autoconf_no(munin, "cannot open|unable to open")


def test_autoconf_example_conf(munin, now):
    """munin/plugin-conf.d/transitd works as shipped, path changed."""
    src = os.path.join(os.path.dirname(__file__), "..", "..", "munin",
                       "plugin-conf.d", "transitd")
    with open(src) as f:
        text = f.read()
    assert "env.usagedb /var/lib/transitd/usage.sqlite\n" in text
    munin.plugin_conf(text=text.replace("/var/lib/transitd/usage.sqlite",
                                        munin.db))
    current, usage = rich_rows(now)
    make_db(munin.db, current, usage)
    r = munin.munin_run(PREFIX, "autoconf")
    assert (r.returncode, r.stdout, r.stderr) == (0, "yes\n", "")
    assert munin.fetch("events") == expected_values(current, usage)["events"]


@pytest.mark.parametrize("name", [PREFIX, PREFIX + "active",
                                  PREFIX + "whatever"])
def test_suggest(munin, name):
    if name.endswith("whatever"):
        munin.link(name)
    munin.plugin_conf(usagedb=None)      # suggest needs no database
    r = munin.munin_run(name, "suggest")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.splitlines() == GRAPHS


def _one_error_line(r, pattern):
    assert r.returncode == 1, r
    assert r.stdout == "", r
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert re.search(pattern, lines[0]), lines[0]


@pytest.mark.parametrize("graph", GRAPHS)
def test_fetch_missing_database(munin, graph):
    r = munin.munin_run(PREFIX + graph)
    _one_error_line(r, re.escape(munin.db))
    assert not os.path.exists(munin.db)


def test_missing_database_not_created(munin):
    """Read-only: even where it could, a plugin creates no database."""
    d = os.path.join(munin.base, "writable")
    os.mkdir(d)
    os.chmod(d, 0o777)
    path = os.path.join(d, "usage.sqlite")
    munin.plugin_conf(usagedb=path)
    for graph in GRAPHS:
        _one_error_line(munin.munin_run(PREFIX + graph), re.escape(path))
    _autoconf_no(munin, re.escape(path))
    assert os.listdir(d) == []


@pytest.mark.parametrize("graph", GRAPHS)
def test_fetch_env_unset(munin, graph):
    munin.plugin_conf(usagedb=None)
    _one_error_line(munin.munin_run(PREFIX + graph), "usagedb")


@root_only
@pytest.mark.parametrize("graph", GRAPHS)
def test_fetch_unreadable_database(munin, now, graph):
    make_db(munin.db, *rich_rows(now))
    os.chmod(munin.db, 0o600)
    _one_error_line(munin.munin_run(PREFIX + graph), re.escape(munin.db))


def test_fetch_junk_and_wrong_schema(munin, now):
    with open(munin.db, "w") as f:
        f.write("junk\n" * 1000)
    os.chmod(munin.db, 0o644)
    for graph in GRAPHS:
        _one_error_line(munin.munin_run(PREFIX + graph), "not a database")
    os.unlink(munin.db)
    db = sqlite3.connect(munin.db)
    db.execute("CREATE TABLE current (x INTEGER)")
    db.commit()
    db.close()
    for graph in GRAPHS:
        _one_error_line(munin.munin_run(PREFIX + graph), "no such column")


@pytest.mark.parametrize("arg", [None, "config", "fetch"])
def test_wildcard_has_no_values(munin, now, arg):
    make_db(munin.db, *rich_rows(now))
    _one_error_line(munin.munin_run(PREFIX, arg), "not a graph")


def test_unknown_argument(munin, now):
    make_db(munin.db, *rich_rows(now))
    _one_error_line(munin.munin_run(PREFIX + "active", "bogus"),
                    "unknown argument")


def test_fetch_argument_is_fetch(munin, now):
    current, usage = rich_rows(now)
    make_db(munin.db, current, usage)
    r = munin.munin_run(PREFIX + "events", "fetch")
    assert (r.returncode, r.stderr) == (0, "")
    assert parse_values(r.stdout) == expected_values(current,
                                                     usage)["events"]


def _hold_lock(path, release, locked):
    """Hold an exclusive lock on path until release is set (a thread's
    body; a minute at most)."""
    db = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        db.execute("BEGIN EXCLUSIVE")
        db.execute("UPDATE current SET waiting = waiting + 1")
        locked.set()
        release.wait(60)
        db.execute("COMMIT")
    finally:
        db.close()


def test_waits_for_a_short_lock(munin, now):
    """A lock that goes while the plugin waits: it reads the row as the
    locker left it (waiting 2: after the commit, not before)."""
    make_db(munin.db, (now - 10, now, 1, 1, 1), [])
    locked, release = threading.Event(), threading.Event()
    t = threading.Thread(target=_hold_lock, args=(munin.db, release, locked))
    t.start()
    try:
        assert locked.wait(10)
        threading.Timer(0.8, release.set).start()
        got = munin.fetch("active")
    finally:
        release.set()
        t.join(10)
    assert got == {"waiting": "2", "connected": "1"}


def test_gives_up_on_a_long_lock(munin, now):
    """A lock held until the plugin has given up: one error line, after
    its busy timeout (2 s)."""
    make_db(munin.db, (now - 10, now, 1, 1, 1), [])
    locked, release = threading.Event(), threading.Event()
    t = threading.Thread(target=_hold_lock, args=(munin.db, release, locked))
    t.start()
    try:
        assert locked.wait(10)
        t0 = time.monotonic()
        r = munin.munin_run(PREFIX + "active", timeout=60)
        elapsed = time.monotonic() - t0
    finally:
        release.set()
        t.join(15)
    _one_error_line(r, "locked")
    assert elapsed >= 1.5, elapsed          # it did wait before that


def test_wal_database_with_writer(munin, now):
    """A WAL database that a writer holds open reads as any other."""
    current, usage = rich_rows(now)
    make_db(munin.db, current, usage, journal="wal")
    writer = sqlite3.connect(munin.db)
    try:
        writer.execute("SELECT COUNT(*) FROM usage").fetchone()
        for suffix in ("-wal", "-shm"):
            os.chmod(munin.db + suffix, 0o644)
        want = expected_values(current, usage)
        for graph in GRAPHS:
            assert munin.fetch(graph) == want[graph], graph
    finally:
        writer.close()


@root_only
def test_wal_database_without_writer(munin, now):
    """Without a writer, user nobody cannot create the -shm file: an error
    that says why (the database directory is root's)."""
    make_db(munin.db, *rich_rows(now), journal="wal")
    assert not os.path.exists(munin.db + "-shm")
    _one_error_line(munin.munin_run(PREFIX + "active"), "relay running")
    assert not os.path.exists(munin.db + "-shm")


# Munin's own tools over the plugin library.

def _wildcard_in_libdir(munin):
    os.symlink(munin.prog, os.path.join(munin.libdir, PREFIX))
    for name in os.listdir(munin.services):
        os.unlink(os.path.join(munin.services, name))


def test_node_configure_suggests_seven_links(munin, now):
    _wildcard_in_libdir(munin)
    current, usage = rich_rows(now)
    make_db(munin.db, current, usage)
    r = munin.node_configure("--shell")
    assert (r.returncode, r.stderr) == (0, ""), r
    wild = os.path.join(munin.libdir, PREFIX)
    want = ["ln -s '%s' '%s'" % (wild, os.path.join(munin.services,
                                                    PREFIX + g))
            for g in GRAPHS]
    assert r.stdout.splitlines() == want
    r = munin.node_configure("--suggest")
    assert r.returncode == 0, r
    assert re.search(r"^wormhole_transit_\s+\|\s+no\s+\|\s+yes \(\+active "
                     r"\+bytes \+bytes_alltime \+events \+events_alltime "
                     r"\+rates \+rates_bytes\)", r.stdout, re.M), r.stdout

    # Make the links as suggested; then nothing is left to suggest, and
    # the links (service -> wildcard -> program) give the values.
    for line in want:
        target, link = re.fullmatch(r"ln -s '(.*)' '(.*)'", line).groups()
        os.symlink(target, link)
    r = munin.node_configure("--shell")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), r
    want = expected_values(current, usage)
    for graph in GRAPHS:
        assert munin.fetch(graph) == want[graph], graph


def test_node_configure_no_database(munin):
    _wildcard_in_libdir(munin)
    munin.plugin_conf(usagedb=munin.db)          # missing
    r = munin.node_configure("--shell")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), r
    r = munin.node_configure("--suggest")
    assert r.returncode == 0, r
    assert re.search(r"^wormhole_transit_\s+\|\s+no\s+\|\s+no \[cannot open "
                     + re.escape(munin.db), r.stdout, re.M), r.stdout


# The reference relay's Python plugins on the same databases.

def _without_info(config):
    return "".join(l for l in config.splitlines(True)
                   if not l.startswith("graph_info ") and
                   ".info " not in l)


REF_GRAPHS = [g for g in GRAPHS if not g.startswith("rates")]


@pytest.mark.parametrize("graph", REF_GRAPHS)
def test_reference_config(munin, reference, graph):
    ref = reference(graph, munin.db, "config")
    assert (ref.returncode, ref.stderr) == (0, "")
    assert _without_info(CONFIG[graph]) == ref.stdout
    ours = munin.munin_run(PREFIX + graph, "config")
    assert _without_info(ours.stdout) == ref.stdout


def _datasets(now):
    current, usage = rich_rows(now)
    r = now - 600 + 0.75
    yield "rich", current, usage
    yield "empty", (now - 100, now, 0, 0, 0), []
    yield "float-rebooted", (r, now - 0.5, 2, 1, 7), [
        (r - 0.0001, 1.0, None, 200, "happy"),
        (r + 0.0001, 1.0, None, 400, "happy"),
        (now - 600, 1.0, None, 800, "lonely"),
        (now - 599, 1.0, None, 1600, "lonely")]
    yield "before-reboot", (now - 10, now - 5, 0, 1, 50), [
        (now - 5000 + i, 1.0, None, 100 * i, m)
        for i, m in enumerate(MOODS * 3)]


@pytest.mark.parametrize("graph", REF_GRAPHS)
def test_reference_values(munin, reference, now, graph):
    for name, current, usage in _datasets(now):
        path = os.path.join(munin.base, name + ".sqlite")
        make_db(path, current, usage)
        munin.plugin_conf(usagedb=path)
        ref = reference(graph, path)
        assert (ref.returncode, ref.stderr) == (0, ""), (name, ref)
        assert munin.fetch(graph) == parse_values(ref.stdout), name


@pytest.mark.parametrize("graph", REF_GRAPHS)
def test_reference_stale(munin, reference, now, graph):
    """The reference exits 1 on a stale row; transitd prints U."""
    current, usage = rich_rows(now)
    make_db(munin.db, current[:1] + (now - 400,) + current[2:], usage)
    ref = reference(graph, munin.db)
    assert (ref.returncode, ref.stdout) == (1, "")
    assert munin.fetch(graph) == {f: "U" for f in FIELDS[graph]}


def test_reference_rates_match_alltime(munin, reference, now):
    """The rates graph counts what the all-time graphs count."""
    current, usage = rich_rows(now)
    make_db(munin.db, current, usage)
    events = parse_values(reference("events_alltime", munin.db).stdout)
    nbytes = parse_values(reference("bytes_alltime", munin.db).stdout)
    assert munin.fetch("rates") == events
    assert munin.fetch("rates_bytes") == {"bytes": nbytes["bytes"]}
