"""The installed systemd files as systemd reads them: systemd-analyze
verify and security, and systemd-sysusers."""

import os
import re
import shutil
import subprocess

from conftest import UNITS, run_tool, tool

MAX_EXPOSURE = 2.0
EXPOSURE_RE = re.compile(
    r"Overall exposure level for transitd\.service: (\d+(?:\.\d+)?)")
NOLOGIN = {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false",
           "/usr/bin/false"}


def verify(unitdir):
    """systemd-analyze verify of the three units in unitdir: its stderr
    (it exits 0 even for unknown keys)."""
    p = run_tool([tool("systemd-analyze"), "verify", "--man=no"] +
                 [os.path.join(unitdir, u) for u in UNITS])
    return p.returncode, p.stderr


def exposure(unit):
    """systemd-analyze security's exit status and overall exposure level."""
    p = run_tool([tool("systemd-analyze"), "security", "--offline=true",
                  f"--threshold={int(MAX_EXPOSURE * 10)}", unit])
    m = EXPOSURE_RE.search(p.stdout)
    assert m, f"no exposure level in:\n{p.stdout}\n{p.stderr}"
    return p.returncode, float(m.group(1))


def test_verify(prefix_install):
    """The units under a prefix, whose ExecStart= is a real binary."""
    rc, err = verify(os.path.join(prefix_install, "lib/systemd/system"))
    assert (rc, err) == (0, "")


def test_verify_catches_an_unknown_key(prefix_install, tmp_path):
    """The check above can fail: a unit with an unknown key."""
    units = tmp_path / "units"
    shutil.copytree(os.path.join(prefix_install, "lib/systemd/system"),
                    units)
    service = units / "transitd.service"
    service.write_text(service.read_text().replace(
        "[Service]\n", "[Service]\nNoSuchSetting=1\n"))
    rc, err = verify(str(units))
    assert "NoSuchSetting" in err


def test_security_exposure(usr_install):
    rc, level = exposure(os.path.join(usr_install, "lib/systemd/system",
                                      "transitd.service"))
    assert rc == 0
    assert level <= MAX_EXPOSURE


def test_security_check_can_fail(usr_install, tmp_path):
    """Without its sandboxing lines the same unit scores worse than the
    threshold, and systemd-analyze says so with its exit status."""
    src = os.path.join(usr_install, "lib/systemd/system", "transitd.service")
    with open(src) as f:
        text = f.read()
    bare = text[:text.index("# Sandboxing")] + text[text.index("[Install]"):]
    unit = tmp_path / "transitd.service"
    unit.write_text(bare)
    rc, level = exposure(str(unit))
    assert level > MAX_EXPOSURE
    assert rc != 0


def test_sysusers_creates_the_user(usr_install, tmp_path):
    conf = os.path.join(usr_install, "usr/lib/sysusers.d/transitd.conf")
    (tmp_path / "etc").mkdir()
    p = run_tool([tool("systemd-sysusers"), f"--root={tmp_path}", conf])
    assert p.returncode == 0, p.stderr
    users = [l.split(":") for l in
             (tmp_path / "etc/passwd").read_text().splitlines()]
    groups = [l.split(":") for l in
              (tmp_path / "etc/group").read_text().splitlines()]
    assert [u[0] for u in users] == ["_transitd"]
    name, _, uid, gid, gecos, home, shell = users[0]
    assert 0 < int(uid) <= system_uid_max(), users
    assert [(g[0], g[2]) for g in groups] == [("_transitd", gid)]
    assert home == "/nonexistent"
    assert shell in NOLOGIN


def system_uid_max():
    """The last system uid systemd was built with (999 on Debian)."""
    try:
        out = subprocess.run(["pkg-config", "--variable=system_uid_max",
                              "systemd"], capture_output=True, text=True,
                             timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return int(out) if out.isdigit() else 999
