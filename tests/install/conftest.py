"""
Helpers for the tests of what make install puts where (systemd units,
sysusers.d, the default file, daemontools scripts, Munin), and of the
systemd units themselves (systemd-analyze, systemd-sysusers, and the
system call filter against what transitd really calls, under strace).

Environment (set by make check):
  TRANSITD_BUILDDIR=DIR   the configured build tree, where the tests run
                          "make install" with their own DESTDIR and prefix
  TRANSITD=FILE           the built transitd, for the strace test

The tests assume a build configured without --sysconfdir,
--with-systemdsystemunitdir or --with-sysusersdir (any --prefix will do:
they give their own prefix to make install).
"""

import os
import shutil
import stat
import subprocess
import sys

import pytest

# tests/: the helpers every suite shares (testlib.py).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testlib import free_port, free_ports, wait_for  # noqa: E402,F401

MAKE_TIMEOUT = 300.0
TOOL_TIMEOUT = 60.0
HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))   # the source tree

UNITS = ["transitd.service", "transitd.socket", "transitd-websocket.socket"]


def layout(usr):
    """What make install puts where, relative to the prefix, or with
    prefix /usr (usr) to DESTDIR: {path: mode, or None for a link}."""
    top = "usr/" if usr else ""
    units = "lib/systemd/system/"
    files = {
        "etc/default/transitd": 0o644,
        top + "lib/sysusers.d/transitd.conf": 0o644,
        top + "libexec/transitd/transitd-munin": 0o755,
        top + "sbin/transitd": 0o755,
        top + "bin/transitd-probe": 0o755,
        top + "share/man/man8/transitd.8": 0o644,
        top + "share/man/man1/transitd-probe.1": 0o644,
        top + "share/munin/plugins/wormhole_transit_": None,
        top + "share/transitd/daemontools/env/TRANSITD_PORT": 0o644,
        top + "share/transitd/daemontools/env/TRANSITD_USAGE_DB": 0o644,
        top + "share/transitd/daemontools/log/run": 0o755,
        top + "share/transitd/daemontools/run": 0o755,
        top + "share/transitd/munin/plugin-conf.d/transitd": 0o644,
        top + "share/transitd/usage-v1.sql": 0o644,
    }
    for u in UNITS:
        files[units + u] = 0o644
    return files


def builddir():
    d = os.environ.get("TRANSITD_BUILDDIR")
    if not d:
        raise pytest.UsageError(
            "TRANSITD_BUILDDIR is not set: point it at the configured build "
            "tree (make check sets it)")
    return d


def shipped_default():
    """The default file as shipped, to compare installed copies with."""
    with open(os.path.join(SRCDIR, "systemd", "transitd.default"),
              "rb") as f:
        return f.read()


def make(target, destdir=None, prefix=None):
    """Run make TARGET in the build tree, alone (not in the jobserver of
    the make check that runs us); fail with its output if it fails."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
                        "DESTDIR", "GNUMAKEFLAGS")}
    argv = ["make", "-C", builddir(), target]
    if destdir is not None:
        argv.append(f"DESTDIR={destdir}")
    if prefix is not None:
        argv.append(f"prefix={prefix}")
    try:
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True,
                           timeout=MAKE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{argv} did not finish in {MAKE_TIMEOUT}s")
    assert p.returncode == 0, \
        f"{argv} exited with {p.returncode}:\n{p.stdout}\n{p.stderr}"
    return p.stdout


def listing(root):
    """{path relative to root: mode, None for a symlink} of every file and
    link under root (not directories)."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                continue
            rel = os.path.relpath(p, root)
            out[rel] = None if stat.S_ISLNK(st.st_mode) else \
                stat.S_IMODE(st.st_mode)
    return out


def unit_value(path, key):
    """The values of key= in a unit file, in order."""
    vals = []
    with open(path) as f:
        for line in f:
            if line.startswith(key + "="):
                vals.append(line[len(key) + 1:].rstrip("\n"))
    return vals


def tool(name):
    """The path of a program, or skip the test saying which is missing."""
    p = shutil.which(name, path=os.environ.get("PATH", "") +
                     ":/usr/sbin:/sbin:/usr/bin:/bin")
    if p is None:
        pytest.skip(f"{name} is not installed (./autogen.sh --deps "
                    f"installs it)")
    return p


def run_tool(argv, timeout=TOOL_TIMEOUT, **kw):
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{argv} did not finish in {timeout}s")


@pytest.fixture(scope="session")
def usr_install(tmp_path_factory):
    """make install prefix=/usr DESTDIR=D: D."""
    d = tmp_path_factory.mktemp("destdir")
    make("install", destdir=str(d), prefix="/usr")
    return str(d)


@pytest.fixture(scope="session")
def prefix_install(tmp_path_factory):
    """make install prefix=P (no DESTDIR): P. Not to be changed."""
    p = str(tmp_path_factory.mktemp("prefix"))
    make("install", prefix=p)
    return p
