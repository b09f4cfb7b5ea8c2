"""
Helpers for the tests of transitd's Munin plugins (munin/transitd-munin.c,
one program called through symlinks named wormhole_transit_GRAPH).

Each test builds, in a world-readable temporary directory, a usage database
(schema v1, contents chosen by the test), a service directory of symlinks to
the program, a plugin-conf.d and a munin-node.conf, and runs the plugins
through Munin 2.0's munin-run (which, run as root, switches to user nobody)
or munin-node-configure.

Environment:
  TRANSITD_MUNIN=/path/to/transitd-munin   the program under test (required)
  TRANSITD_MUNIN_REFERENCE=DIR             a directory holding the reference
      relay's Python plugins (misc/munin/wormhole_transit_* of
      magic-wormhole-transit-relay); tests comparing outputs with them are
      skipped without it

Run with Debian's pytest:  /usr/bin/python3 -m pytest tests/munin
munin-run and munin-node-configure come from the Debian package munin-node.
"""

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time

import pytest

# tests/: the helpers every suite shares (testlib.py).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testlib import free_port, free_ports, wait_for  # noqa: E402,F401

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = [
    "/usr/lib/python3/dist-packages/wormhole_transit_relay/db-schemas/v1.sql",
    os.path.join(HERE, "..", "..", "db", "usage-v1.sql"),
]
GRAPHS = ["active", "bytes", "bytes_alltime", "events", "events_alltime",
          "rates", "rates_bytes"]
PREFIX = "wormhole_transit_"
RUN_TIMEOUT = 30.0      # every munin-run, munin-node-configure, plugin run
MUNIN_RUN = shutil.which("munin-run", path=os.environ.get("PATH", "") +
                         ":/usr/sbin:/sbin")
MUNIN_NODE_CONFIGURE = shutil.which(
    "munin-node-configure", path=os.environ.get("PATH", "") +
    ":/usr/sbin:/sbin")
IS_ROOT = os.geteuid() == 0


def pytest_configure(config):
    prog = os.environ.get("TRANSITD_MUNIN")
    if not prog:
        raise pytest.UsageError(
            "TRANSITD_MUNIN is not set: point it at the built "
            "munin/transitd-munin program")
    if not (os.path.isfile(prog) and os.access(prog, os.X_OK)):
        raise pytest.UsageError(
            "TRANSITD_MUNIN=%s is not an executable file" % prog)
    config.addinivalue_line(
        "markers", "root: needs root (munin-run then runs plugins as nobody)")


def schema_text():
    """The v1 schema of the usage database, as the reference ships it."""
    for path in SCHEMAS:
        if os.path.exists(path):
            with open(path) as f:
                return f.read()
    pytest.fail("no v1 schema found in %s" % SCHEMAS)


def make_db(path, current=None, usage=(), version=1, journal=None,
            schema=True):
    """Create a usage database at path with the given rows.

    current: (rebooted, updated, connected, waiting, incomplete_bytes) or
    None for no row; usage: (started, total_time, waiting_time,
    total_bytes, result) tuples.
    """
    db = sqlite3.connect(path)
    try:
        if journal is not None:
            db.execute("PRAGMA journal_mode=%s" % journal)
        if schema:
            db.executescript(schema_text())
            if version is not None:
                db.execute("INSERT INTO version (version) VALUES (?)",
                           (version,))
            if current is not None:
                db.execute("INSERT INTO current VALUES (?, ?, ?, ?, ?)",
                           current)
            db.executemany("INSERT INTO usage VALUES (?, ?, ?, ?, ?)",
                           list(usage))
        db.commit()
    finally:
        db.close()
    os.chmod(path, 0o644)
    return path


def parse_values(text):
    """FIELD.value lines into a dict of strings, in order."""
    values = {}
    for line in text.splitlines():
        field, _, value = line.partition(".value ")
        assert value, "not a value line: %r" % line
        assert field not in values, "field twice: %r" % field
        values[field] = value
    return values


class MuninEnv:
    """A private Munin node: service dir, plugin-conf.d, munin-node.conf."""

    def __init__(self, base):
        self.base = base
        self.services = os.path.join(base, "services")
        self.confdir = os.path.join(base, "plugin-conf.d")
        self.bindir = os.path.join(base, "bin")
        self.libdir = os.path.join(base, "lib")     # Munin's plugin library
        self.conf = os.path.join(base, "munin-node.conf")
        self.db = os.path.join(base, "usage.sqlite")
        for d in (self.services, self.confdir, self.bindir, self.libdir):
            os.mkdir(d)
            os.chmod(d, 0o755)
        # A copy, so that user nobody can run it wherever it was built;
        # not in libdir, where munin-node-configure would take it for a
        # plugin of its own.
        self.prog = os.path.join(self.bindir, "transitd-munin")
        shutil.copy(os.environ["TRANSITD_MUNIN"], self.prog)
        os.chmod(self.prog, 0o755)
        with open(self.conf, "w") as f:
            f.write("# munin-node.conf for munin-run in the tests\n"
                    "ignore_file [\\#~]$\n")
        os.chmod(self.conf, 0o644)
        for g in GRAPHS + [""]:
            os.symlink(self.prog, os.path.join(self.services, PREFIX + g))
        self.plugin_conf(usagedb=self.db)

    def plugin_conf(self, usagedb=None, text=None):
        """Write plugin-conf.d/transitd: env.usagedb, or the given text."""
        if text is None:
            text = "[wormhole_transit_*]\n"
            if usagedb is not None:
                text += "env.usagedb %s\n" % usagedb
        path = os.path.join(self.confdir, "transitd")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)

    def link(self, name, target=None):
        """Add a service named name, a symlink to the program."""
        os.symlink(target or self.prog, os.path.join(self.services, name))

    def munin_run(self, plugin, arg=None, timeout=RUN_TIMEOUT):
        """munin-run PLUGIN [ARG]: the CompletedProcess (text)."""
        if MUNIN_RUN is None:
            pytest.skip("munin-run not found (Debian package munin-node)")
        cmd = [MUNIN_RUN, "--config", self.conf, "--servicedir",
               self.services, "--sconfdir", self.confdir,
               "--ignore-systemd-properties", plugin]
        if arg is not None:
            cmd.append(arg)
        return subprocess.run(cmd, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              timeout=timeout)

    def fetch(self, graph):
        """Values of wormhole_transit_GRAPH, checking a clean exit."""
        r = self.munin_run(PREFIX + graph)
        assert r.returncode == 0, r
        assert r.stderr == "", r
        return parse_values(r.stdout)

    def node_configure(self, *args, timeout=RUN_TIMEOUT):
        """munin-node-configure on this node, libdir self.libdir."""
        if MUNIN_NODE_CONFIGURE is None:
            pytest.skip("munin-node-configure not found (munin-node)")
        cmd = [MUNIN_NODE_CONFIGURE, "--config", self.conf,
               "--servicedir", self.services, "--sconfdir", self.confdir,
               "--libdir", self.libdir] + list(args)
        return subprocess.run(cmd, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              timeout=timeout)


def world_readable_tree(path):
    """Make path and every ancestor searchable by user nobody."""
    p = os.path.abspath(path)
    while True:
        mode = os.stat(p).st_mode
        assert mode & stat.S_IXOTH, (
            "%s is not searchable by others: user nobody (munin-run) "
            "cannot reach the test files; set TMPDIR" % p)
        parent = os.path.dirname(p)
        if parent == p:
            return
        p = parent


@pytest.fixture
def munin():
    """A fresh MuninEnv in a world-readable temporary directory."""
    base = tempfile.mkdtemp(prefix="transitd-munin-")
    try:
        os.chmod(base, 0o755)      # mkdtemp makes it 0700
        world_readable_tree(base)
        yield MuninEnv(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def now():
    """The current time, whole seconds."""
    return int(time.time())


@pytest.fixture
def reference():
    """Run a reference plugin: f(graph, usagedb, arg) -> CompletedProcess."""
    ref = os.environ.get("TRANSITD_MUNIN_REFERENCE")
    if not ref:
        pytest.skip("TRANSITD_MUNIN_REFERENCE is not set")

    def run(graph, usagedb, arg=None):
        path = os.path.join(ref, PREFIX + graph)
        assert os.path.exists(path), path
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
               "usagedb": usagedb}
        cmd = ["/usr/bin/python3", path] + ([arg] if arg else [])
        return subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
    return run
