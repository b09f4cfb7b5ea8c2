"""make install and make uninstall: where each file goes, with prefix /usr
into a DESTDIR (as a Debian package has them) and with another prefix;
the default file of settings survives reinstalls and edits."""

import os

from conftest import (layout, listing, make, shipped_default,
                      unit_value)

MUNIN_LINK = "share/munin/plugins/wormhole_transit_"


def host_state(paths):
    """What is at each path on this machine: (exists, mtime) for each."""
    out = {}
    for p in paths:
        try:
            st = os.lstat(p)
            out[p] = (True, st.st_mtime_ns)
        except FileNotFoundError:
            out[p] = (False, None)
    return out


def test_usr_destdir_layout(usr_install):
    """Everything at its Debian path, with its mode, nothing else."""
    want = layout(usr=True)
    got = listing(usr_install)
    assert sorted(got) == sorted(want), \
        f"missing: {sorted(set(want) - set(got))}, " \
        f"unexpected: {sorted(set(got) - set(want))}"
    wrong = {p: oct(got[p]) if got[p] is not None else "a link"
             for p in want if got[p] != want[p]}
    assert not wrong, f"wrong modes (want {want}): {wrong}"


def test_usr_munin_link(usr_install):
    link = os.path.join(usr_install, "usr", MUNIN_LINK)
    assert os.readlink(link) == "/usr/libexec/transitd/transitd-munin"


def test_usr_unit_paths(usr_install):
    unit = os.path.join(usr_install, "lib/systemd/system/transitd.service")
    assert unit_value(unit, "ExecStart") == ["/usr/sbin/transitd"]
    assert unit_value(unit, "EnvironmentFile") == ["-/etc/default/transitd"]
    # The shipped unit has Debian's paths already: installed as it is.
    srcdir = os.environ.get("TESTS_SRCDIR", os.path.join(
        os.path.dirname(__file__), ".."))
    with open(unit) as f, open(os.path.join(
            srcdir, "..", "systemd", "transitd.service")) as g:
        assert f.read() == g.read()


def test_usr_default_file_is_shipped(usr_install):
    with open(os.path.join(usr_install, "etc/default/transitd"), "rb") as f:
        assert f.read() == shipped_default()


def test_usr_destdir_touches_nothing_outside(tmp_path):
    """A staged install and uninstall leave the real /usr, /lib and /etc
    as they were (and everything lands in DESTDIR: see the layout test)."""
    real = ["/" + p for p in layout(usr=True)]
    before = host_state(real)
    make("install", destdir=str(tmp_path), prefix="/usr")
    make("uninstall", destdir=str(tmp_path), prefix="/usr")
    assert host_state(real) == before


def test_usr_uninstall_leaves_no_files(tmp_path):
    make("install", destdir=str(tmp_path), prefix="/usr")
    assert listing(str(tmp_path)), "nothing was installed"
    make("uninstall", destdir=str(tmp_path), prefix="/usr")
    assert listing(str(tmp_path)) == {}


def test_prefix_layout(prefix_install):
    want = layout(usr=False)
    got = listing(prefix_install)
    assert got == want
    assert os.readlink(os.path.join(prefix_install, MUNIN_LINK)) == \
        os.path.join(prefix_install, "libexec/transitd/transitd-munin")
    unit = os.path.join(prefix_install, "lib/systemd/system",
                        "transitd.service")
    assert unit_value(unit, "ExecStart") == \
        [os.path.join(prefix_install, "sbin/transitd")]
    assert unit_value(unit, "EnvironmentFile") == \
        ["-" + os.path.join(prefix_install, "etc/default/transitd")]


def test_reinstall_keeps_edited_default_file(tmp_path):
    """An operator's /etc/default/transitd is data: a second make install
    keeps it (and says so), make uninstall keeps it too."""
    prefix = str(tmp_path)
    make("install", prefix=prefix)
    default = os.path.join(prefix, "etc/default/transitd")
    edited = shipped_default() + b"TRANSITD_BLUR_USAGE=60 # marker\n"
    with open(default, "wb") as f:
        f.write(edited)
    out = make("install", prefix=prefix)
    assert "keeping" in out and default in out, out
    with open(default, "rb") as f:
        assert f.read() == edited
    make("uninstall", prefix=prefix)
    assert listing(prefix) == {"etc/default/transitd": 0o644}
    with open(default, "rb") as f:
        assert f.read() == edited


def test_uninstall_removes_unchanged_default_file(tmp_path):
    """A default file installed earlier and left as shipped goes."""
    prefix = str(tmp_path)
    make("install", prefix=prefix)
    out = make("install", prefix=prefix)
    assert "keeping" in out
    make("uninstall", prefix=prefix)
    assert listing(prefix) == {}

