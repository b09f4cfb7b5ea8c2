"""End-to-end: a real ``wormhole send`` / ``wormhole receive`` pair moves a
20 MB file through the transit relay under test.

Both clients run with ``--no-listen``, so neither offers a direct-connection
hint and the only way for the data to flow is through the relay; the relay's
JSON usage log (``--log-fd``) must show a "happy" session carrying at least
the file's size.

Run against transitd:   TRANSITD=/work/main/transitd/transitd \
                            /usr/bin/python3 -m pytest tests/e2e
Run against reference:  TRANSITD_REFERENCE=1 /usr/bin/python3 -m pytest tests/e2e
"""

import hashlib
import json
import os
import subprocess
import time

import pytest

WORMHOLE = "/usr/bin/wormhole"
FILE_SIZE = 20 * 1024 * 1024  # 20 MiB of random bytes
MIN_RELAYED = 20_000_000
CODE = "7-some-words"
TRANSFER_TIMEOUT = 120.0      # for both wormhole processes together
USAGE_LOG_TIMEOUT = 15.0      # for the relay's usage record to appear after


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _wormhole_env(home):
    """Environment for a wormhole client: private HOME, no Tor, no proxies,
    no WORMHOLE_* overrides (click reads WORMHOLE_RELAY_URL and
    WORMHOLE_TRANSIT_HELPER from the environment)."""
    env = {}
    for k, v in os.environ.items():
        ku = k.upper()
        if ku.startswith(("WORMHOLE_", "_MAGIC_WORMHOLE_", "TOR")):
            continue
        if ku.endswith("_PROXY"):
            continue
        env[k] = v
    env.update({
        "HOME": str(home),
        "LC_ALL": "C.UTF-8",   # click refuses to run under an ASCII locale
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NO_PROXY": "*",
        "no_proxy": "*",
    })
    return env


def _parse_usage(text):
    records, bad = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        records.append(rec)
    return records, bad


def _happy_records(records, min_bytes):
    return [r for r in records
            if isinstance(r, dict) and r.get("mood") == "happy"
            and isinstance(r.get("total_bytes"), int)
            and r["total_bytes"] >= min_bytes]


def test_wormhole_file_transfer_through_relay(tmp_path, procs, mailbox,
                                              relay):
    # ---- payload -------------------------------------------------------
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    src = src_dir / "payload.bin"
    with open(src, "wb") as f:
        f.write(os.urandom(FILE_SIZE))
    src_sha = _sha256(src)

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    # In wormhole 0.12, -o names the file to create; an *existing* path is
    # deleted first ("overwrite is intentional"), so give a fresh file name
    # inside the output directory.
    dst = out_dir / "payload.bin"

    common = [WORMHOLE,
              "--relay-url", mailbox,
              "--transit-helper", relay.hint]

    send_home = tmp_path / "home-send"
    recv_home = tmp_path / "home-recv"
    send_home.mkdir()
    recv_home.mkdir()

    def diagnostics():
        records_text = relay.usage_text()
        return ("\nrelay under test: %s on %s\n"
                "===== relay JSON usage log (%s) =====\n%s\n%s"
                % (relay.kind, relay.hint, relay.log_path, records_text,
                   procs.describe_all()))

    sender = procs.start(
        "wormhole-send",
        common + ["send", "--hide-progress", "--no-listen",
                  "--code", CODE, str(src)],
        env=_wormhole_env(send_home), cwd=src_dir,
    )
    receiver = procs.start(
        "wormhole-receive",
        common + ["receive", "--hide-progress", "--no-listen",
                  "--accept-file", "-o", str(dst), CODE],
        env=_wormhole_env(recv_home), cwd=out_dir,
    )

    # ---- wait for both, under one deadline ------------------------------
    started = time.monotonic()
    deadline = started + TRANSFER_TIMEOUT
    for p in (receiver, sender):
        try:
            p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail("%s did not finish within %.0fs%s"
                        % (p.name, TRANSFER_TIMEOUT, diagnostics()))
    elapsed = time.monotonic() - started

    assert sender.poll() == 0, "wormhole send failed%s" % diagnostics()
    assert receiver.poll() == 0, "wormhole receive failed%s" % diagnostics()
    # the relay must still be alive after serving the transfer
    assert relay.proc.poll() is None, \
        "relay died during the transfer%s" % diagnostics()

    # ---- content ---------------------------------------------------------
    assert dst.is_file(), "no received file at %s%s" % (dst, diagnostics())
    assert dst.stat().st_size == FILE_SIZE, \
        "received %d bytes, expected %d%s" % (dst.stat().st_size, FILE_SIZE,
                                              diagnostics())
    assert _sha256(dst) == src_sha, \
        "received file differs from the sent one%s" % diagnostics()

    # ---- it went through the relay ---------------------------------------
    # wormhole prints how the transit connection was made, e.g.
    # "Sending (->relay:tcp:127.0.0.1:PORT).." / "Receiving (->relay:...)"
    send_out = sender.stdout() + sender.stderr()
    recv_out = receiver.stdout() + receiver.stderr()
    assert "relay:" + relay.hint in send_out, \
        "sender did not report using the relay%s" % diagnostics()
    assert "relay:" + relay.hint in recv_out, \
        "receiver did not report using the relay%s" % diagnostics()

    # The usage record is written when the relayed pair has disconnected,
    # which can trail the clients' exit slightly.
    log_deadline = time.monotonic() + USAGE_LOG_TIMEOUT
    while True:
        records, bad = _parse_usage(relay.usage_text())
        happy = _happy_records(records, MIN_RELAYED)
        if happy or time.monotonic() >= log_deadline:
            break
        time.sleep(0.2)
    assert not bad, "relay usage log has non-JSON lines: %r%s" % (
        bad, diagnostics())
    assert happy, ("relay usage log has no record with mood 'happy' and "
                   "total_bytes >= %d%s" % (MIN_RELAYED, diagnostics()))

    print("\n%s relay: transfer of %d bytes took %.1fs; usage record: %s"
          % (relay.kind, FILE_SIZE, elapsed, json.dumps(happy[0])))
