#!/usr/bin/env python3
"""make bench: transitd side by side with HAProxy, the Python reference
relay and direct loopback, on 127.0.0.1. See bench/README.md.

    bench/run.py --transitd=transitd/transitd --generator=bench/transit-bench
                 [--quick] [--rounds=N] [--targets=a,b,...]

BENCH_QUICK=1 in the environment is the same as --quick. Prints progress on
stderr and, on stdout, one table, a line of ratios, a line of targets
(PASS/FAIL) and a table of the spread (min-max) of the rounds. Exit
status: 0 whatever the results; 1 if a target could not be started or
died, or the generator failed; 2 on a usage error.
"""

import argparse
import os
import resource
import select
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Row order, which is also the order within a round (rotated each round).
# haproxy (splice-auto) is the row the targets use; HAProxy 2.6's
# splice-auto does not splice on loopback, and haproxy-splice shows what
# forced splicing does (ratios for information only). ceiling is
# "transit-bench nullrelay", the least a relay must do to pair: pairs/s only.
# transitd-records writes every usage record (JSON lines and database): it
# shows whether the records keep up with the pairing rate (pairs/s only).
ORDER = ["direct", "ceiling", "transitd", "transitd-records", "transitd-1",
         "haproxy", "haproxy-splice", "reference"]
DEFAULT_TARGETS = list(ORDER)
LABEL = {
    "direct": "direct",
    "ceiling": "ceiling (minimal pairing loop)",
    "transitd": "transitd",
    "transitd-1": "transitd --threads=1",
    "transitd-records": "transitd + usage db + log",
    "haproxy": "haproxy",
    "haproxy-splice": "haproxy forced splice",
    "reference": "reference",
}
FORWARDERS = ["haproxy", "haproxy-splice"]
RELAYS = ["transitd", "transitd-1", "reference"]
# Measured for pairs/s only (no streams, no RSS).
PAIRING_ONLY = ["ceiling", "transitd-records"]

# Streaming cases: (key, column heading, pairs, both directions).
CASES = [
    ("1", "1 pair", 1, False),
    ("16", "16 pairs", 16, False),
    ("256", "256 pairs", 256, False),
    ("1both", "1 pair both", 1, True),
]
# transitd --threads=1 runs only these cases (to show what the workers buy).
THREADS1_CASES = ["16"]


class BenchError(Exception):
    pass


START = time.monotonic()


def progress(msg):
    print("[%5.1fs] %s" % (time.monotonic() - START, msg), file=sys.stderr,
          flush=True)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """Whether something listens on 127.0.0.1:port (read from /proc)."""
    want = "0100007F:%04X" % port
    anyaddr = "00000000:%04X" % port
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[3] == "0A" and fields[1] in (want, anyaddr):
                return True
    return False


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # utime, stime


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise BenchError("no VmRSS for pid %d" % pid)


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def listen_overflows():
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            d = dict(zip(names.split()[1:], values.split()[1:]))
            return int(d.get("ListenOverflows", 0))
    return 0


class Target:
    def __init__(self, key, kind):
        self.key = key
        self.kind = kind            # "relay", "forward" or "direct"
        self.proc = None
        self.port = None
        self.receiver_port = None   # haproxy's backend: the generator
        self.log = None
        self.cpu_ticks = 0          # over the streaming runs
        self.bytes = 0              # relayed in those runs
        self.overflows = 0          # listen queue overflows in its runs
        self.stream = {c[0]: [] for c in CASES}
        self.rate = []
        self.rss_conn = None
        self.rss_waiter = None
        self.pairs_done = 0         # pairs the rate runs completed
        self.records = None         # (pairs, lines, rows, loss messages)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise BenchError("%s exited (status %s); its output:\n%s" % (
                LABEL[self.key], self.proc.returncode, self.log_tail()))

    def log_tail(self, n=20):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except (OSError, TypeError):
            return ""

    def connect_args(self):
        if self.kind == "direct":
            return ["--direct"]
        if self.kind == "forward":
            return ["--forward", "--connect=127.0.0.1:%d" % self.port,
                    "--receiver-port=%d" % self.receiver_port]
        return ["--relay", "--connect=127.0.0.1:%d" % self.port]


def preexec():
    raise_nofile()


def check_records(t, tmp):
    """Stop the relay that writes records (it flushes them at exit) and
    count them: every paired pair has its JSON line and its row."""
    t.alive()
    stop(t)
    with open(os.path.join(tmp, "usage.log"), "rb") as f:
        lines = f.read().count(b"\n")
    db = sqlite3.connect(os.path.join(tmp, "usage.sqlite"))
    try:
        rows = db.execute("SELECT COUNT(*) FROM usage").fetchone()[0]
    finally:
        db.close()
    lost = [l for l in open(t.log, errors="replace") if "lost" in l]
    t.records = (t.pairs_done, lines, rows, len(lost))
    progress("records: %d pairs paired, %d JSON lines, %d database rows, "
             "%d lines about losses" % t.records)


def start(target, argv, tmp, startup_timeout):
    target.log = os.path.join(tmp, target.key + ".log")
    with open(target.log, "wb") as log:
        try:
            target.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=tmp, preexec_fn=preexec, start_new_session=True)
        except OSError as e:
            raise BenchError("cannot start %s: %s" % (LABEL[target.key], e))
    deadline = time.monotonic() + startup_timeout
    while not listening(target.port):
        target.alive()
        if time.monotonic() > deadline:
            raise BenchError("%s does not listen on 127.0.0.1:%d after %g s;"
                             " its output:\n%s" % (
                                 LABEL[target.key], target.port,
                                 startup_timeout, target.log_tail()))
        time.sleep(0.05)


def stop(target):
    p = target.proc
    if p is None or p.poll() is not None:
        return
    try:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)


HAPROXY_CFG = """\
# Written by bench/run.py: a plain TCP forwarder, for comparison.
global
    maxconn 6000

defaults
    mode tcp
    timeout connect 10s
    timeout client 1h
    timeout server 1h

    {splice}

frontend bench
    bind 127.0.0.1:{port}
    maxconn 6000
    default_backend generator

backend generator
    server receiver 127.0.0.1:{receiver_port}
"""


def start_targets(args, tmp, keys, targets):
    for key in keys:
        kind = ("direct" if key == "direct" else
                "forward" if key in FORWARDERS else "relay")
        t = Target(key, kind)
        targets[key] = t
        if key == "direct":
            continue
        t.port = free_port()
        if key == "ceiling":
            start(t, [args.generator, "nullrelay",
                      "--listen-port=%d" % t.port, "--lifetime=7200"],
                  tmp, 10)
        elif key in ("transitd", "transitd-1", "transitd-records"):
            argv = [args.transitd, "--port=tcp:%d:interface=127.0.0.1" %
                    t.port]
            if key == "transitd-1":
                argv.append("--threads=1")
            if key == "transitd-records":
                argv += ["--usage-db=" + os.path.join(tmp, "usage.sqlite"),
                         "--log-file=" + os.path.join(tmp, "usage.log")]
            start(t, argv, tmp, 10)
        elif key == "reference":
            start(t, [args.twist, "transitrelay",
                      "--port=tcp:%d:interface=127.0.0.1" % t.port], tmp, 30)
        elif key in FORWARDERS:
            t.receiver_port = free_port()
            while t.receiver_port == t.port:
                t.receiver_port = free_port()
            cfg = os.path.join(tmp, key + ".cfg")
            splice = ("option splice-auto" if key == "haproxy" else
                      "option splice-request\n    option splice-response")
            with open(cfg, "w") as f:
                f.write(HAPROXY_CFG.format(port=t.port, splice=splice,
                                           receiver_port=t.receiver_port))
            start(t, [args.haproxy, "-f", cfg, "-db"], tmp, 10)
        progress("started %s (pid %d, 127.0.0.1:%d)" % (
            LABEL[key], t.pid, t.port))


def parse_kv(line):
    return dict(f.split("=", 1) for f in line.split() if "=" in f)


def generator(args, target, cmd, extra, timeout):
    argv = [args.generator, cmd] + target.connect_args() + extra
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError("generator timed out after %g s: %s" % (
            timeout, " ".join(argv)))
    target.alive()
    if r.returncode != 0:
        raise BenchError("generator failed (status %d) against %s: %s\n%s" % (
            r.returncode, LABEL[target.key], " ".join(argv),
            r.stderr.strip()))
    lines = r.stdout.strip().splitlines()
    if not lines:
        raise BenchError("generator printed nothing: " + " ".join(argv))
    return parse_kv(lines[-1])


def run_stream(args, target, pairs, both):
    extra = ["--pairs=%d" % pairs, "--seconds=%g" % args.seconds,
             "--warmup=%g" % args.warmup] + (["--both"] if both else [])
    pid = target.pid
    c0 = cpu_ticks(pid) if pid else 0
    o0 = listen_overflows()
    kv = generator(args, target, "stream", extra,
                   60 + 2 * (args.seconds + args.warmup))
    if pid:
        target.cpu_ticks += cpu_ticks(pid) - c0
    target.overflows += listen_overflows() - o0
    if kv.get("sent") != kv.get("received"):
        raise BenchError("generator: sent %s but received %s" % (
            kv.get("sent"), kv.get("received")))
    target.bytes += int(kv["received"])
    args.recv_mode = kv.get("recv", "?")
    args.last_detail = "setup %ss, drain %ss" % (kv.get("setup", "?"),
                                                 kv.get("drain", "?"))
    return float(kv["MBps"])


def run_rate(args, target):
    o0 = listen_overflows()
    kv = generator(args, target, "rate", [
        "--concurrency=%d" % args.concurrency,
        "--seconds=%g" % args.rate_seconds, "--warmup=%g" % args.warmup],
        60 + 2 * (args.rate_seconds + args.warmup))
    target.overflows += listen_overflows() - o0
    target.pairs_done += int(kv.get("total", 0))
    return float(kv["per_sec"])


class LineReader:
    """Lines from a child's stdout, each within a deadline."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b""

    def line(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError("generator (hold) said nothing for %g s" %
                                 timeout)
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    err = self.proc.stderr.read().decode(errors="replace")
                    raise BenchError("generator (hold) exited: " +
                                     err.strip())
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


def wait_fds(target, at_least, timeout):
    """Wait (bounded) until the target holds at least this many fds."""
    deadline = time.monotonic() + timeout
    while nfds(target.pid) < at_least and time.monotonic() < deadline:
        target.alive()
        time.sleep(0.02)


def settle_fds(target, at_most, timeout):
    """Wait (bounded) until the target has closed what it held."""
    deadline = time.monotonic() + timeout
    while nfds(target.pid) > at_most and time.monotonic() < deadline:
        target.alive()
        time.sleep(0.05)


def run_hold(args, target):
    """RSS per held connection (and per lone waiter, for relays)."""
    pid = target.pid
    waiters = args.hold_waiters if target.kind == "relay" else 0
    conns = 2 * args.hold_pairs
    argv = [args.generator, "hold"] + target.connect_args() + [
        "--pairs=%d" % args.hold_pairs, "--waiters=%d" % waiters]
    fd0 = nfds(pid)
    rss0 = rss_bytes(pid)
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        reader = LineReader(p)
        if waiters:
            line = reader.line(60)
            if not line.startswith("waiters-ready"):
                raise BenchError("generator (hold): " + line)
            wait_fds(target, fd0 + waiters, 10)
            time.sleep(0.3)
            rss1 = rss_bytes(pid)
            target.rss_waiter = (rss1 - rss0) / waiters
            p.stdin.write(b"go\n")
            p.stdin.flush()
        else:
            rss1 = rss0
        line = reader.line(120)
        if not line.startswith("ready"):
            raise BenchError("generator (hold): " + line)
        wait_fds(target, fd0 + waiters + conns, 10)
        time.sleep(0.3)
        target.alive()
        rss2 = rss_bytes(pid)
        target.rss_conn = (rss2 - rss1) / conns
        p.stdin.close()
        rc = p.wait(timeout=60)
        err = p.stderr.read().decode(errors="replace").strip()
        if rc != 0:
            raise BenchError("generator (hold) failed against %s: %s" % (
                LABEL[target.key], err))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    settle_fds(target, fd0 + 4, 30)
    target.alive()


def rotate(seq, r):
    if not seq:
        return seq
    r %= len(seq)
    return seq[r:] + seq[:r]


def median(xs):
    return statistics.median(xs) if xs else None


def summary(xs, spec):
    """median [min-max], for the progress output."""
    return (spec + " [" + spec + "-" + spec + "]") % (
        median(xs), min(xs), max(xs))


def fmt(v, spec="%.1f"):
    return "-" if v is None else spec % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def spread(xs, spec):
    if not xs:
        return "-"
    return (spec + "-" + spec) % (min(xs), max(xs))


def fmt_ratio(x):
    return "n/a" if x is None else "%.2fx" % x


def per_round(a, b):
    """The ratios a[i]/b[i] of values measured in the same round i: on a
    noisy machine their median holds up better than a ratio of medians,
    since a slow round slows both sides of its ratio."""
    return [x / y for x, y in zip(a, b) if x is not None and y]


def fmt_rounds(xs):
    """median [min-max] of per-round ratios."""
    if not xs:
        return "n/a"
    return "%.2fx [%.2f-%.2f]" % (median(xs), min(xs), max(xs))


def round_report(targets, has_threads):
    """Per workload, the median of per-round ratios of transitd against
    each baseline, with their spread."""
    td = targets.get("transitd")
    if td is None:
        return
    parts = []
    for c, label, _, _ in CASES:
        cells = []
        for other in ("haproxy", "haproxy-splice", "reference"):
            o = targets.get(other)
            if o is not None and o.stream[c]:
                cells.append("transitd/%s=%s" % (other, fmt_rounds(
                    per_round(td.stream[c], o.stream[c]))))
        if cells:
            parts.append("%s %s" % (label, " ".join(cells)))
    cells = []
    for other in ("reference", "ceiling"):
        o = targets.get(other)
        if o is not None and o.rate:
            cells.append("transitd/%s=%s" % (other, fmt_rounds(
                per_round(td.rate, o.rate))))
    if cells:
        parts.append("pairs/s " + " ".join(cells))
    t1 = targets.get("transitd-1")
    if has_threads and t1 is not None and t1.stream["16"]:
        parts.append("16 pairs transitd/--threads=1=%s" % fmt_rounds(
            per_round(td.stream["16"], t1.stream["16"])))
    print("per-round ratios (median [min-max] of the rounds' own ratios): "
          + "; ".join(parts))


def report(args, targets, has_threads, keys):
    def col(key, f):
        t = targets.get(key)
        return f(t) if t else None

    def stream(key, case):
        return col(key, lambda t: median(t.stream[case]))

    def rate(key):
        return col(key, lambda t: median(t.rate))

    def rss(key):
        return col(key, lambda t: t.rss_conn)

    def cpu_gb(key):
        t = targets.get(key)
        if t is None or t.kind == "direct" or t.bytes == 0:
            return None
        return (t.cpu_ticks / CLK_TCK) / (t.bytes / 1e9)

    head = ["target"] + [c[1] for c in CASES] + [
        "pairs/s", "RSS/conn", "RSS/waiter", "CPU/GB"]
    units = [""] + ["MB/s"] * len(CASES) + ["", "bytes", "bytes", "s"]
    rows = []
    for key in keys:
        t = targets[key]
        rows.append([LABEL[key]] +
                    [fmt(median(t.stream[c[0]])) for c in CASES] +
                    [fmt(median(t.rate), "%.0f"), fmt(t.rss_conn, "%.0f"),
                     fmt(t.rss_waiter, "%.0f"), fmt(cpu_gb(key), "%.2f")])
    widths = [max(len(r[i]) for r in [head, units] + rows)
              for i in range(len(head))]

    def line(cells):
        return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                         for i, c in enumerate(cells)).rstrip()

    print()
    print("transitd bench: medians of %d rounds; streams: %g s windows after"
          " %g s warm-up; pairs/s: %d loops for %g s; RSS: %d idle pairs"
          " held, %d lone waiters" % (
              args.rounds, args.seconds, args.warmup, args.concurrency,
              args.rate_seconds, args.hold_pairs, args.hold_waiters))
    print(line(head))
    print(line(units))
    for r in rows:
        print(line(r))
    print()

    td, hp, hs, ref = "transitd", "haproxy", "haproxy-splice", "reference"
    r = {}
    for c, label, _, _ in CASES:
        for other in (hp, hs, ref):
            r[c, other] = ratio(stream(td, c), stream(other, c))
    r["rate"] = ratio(rate(td), rate(ref))
    r["ceiling"] = ratio(rate(td), rate("ceiling"))
    r["records"] = ratio(rate("transitd-records"), rate(td))
    r["rss"] = ratio(rss(td), rss(ref))
    r["cpu"] = ratio(cpu_gb(td), cpu_gb(hp))
    r["cpu", hs] = ratio(cpu_gb(td), cpu_gb(hs))
    r["threads"] = ratio(stream(td, "16"), stream("transitd-1", "16"))
    # The haproxy-splice and ceiling ratios are for information: no target.

    def streams(c, label):
        return ("%s transitd/haproxy=%s transitd/haproxy-splice=%s"
                " transitd/reference=%s" % (
                    label, fmt_ratio(r[c, hp]), fmt_ratio(r[c, hs]),
                    fmt_ratio(r[c, ref])))

    parts = [streams(c, label) for c, label, _, _ in CASES if c != "1both"]
    parts.append("pairs/s transitd/reference=%s transitd/ceiling=%s "
                 "with-records/without=%s" % (
                     fmt_ratio(r["rate"]), fmt_ratio(r["ceiling"]),
                     fmt_ratio(r["records"])))
    parts.append("RSS/conn transitd/reference=%s" % fmt_ratio(r["rss"]))
    parts.append("CPU/GB transitd/haproxy=%s transitd/haproxy-splice=%s" % (
        fmt_ratio(r["cpu"]), fmt_ratio(r["cpu", hs])))
    parts.append("16 pairs transitd/--threads=1=%s" % (
        fmt_ratio(r["threads"]) if has_threads else "n/a (no --threads)"))
    parts.append(streams("1both", "1 pair both ways"))
    print("ratios: " + "; ".join(parts))
    round_report(targets, has_threads)
    t = targets.get("transitd-records")
    if t is not None and t.records is not None:
        print("records (transitd + usage db + log): %d pairs paired, %d "
              "JSON lines, %d database rows, %d lines about losses" %
              t.records)

    def check(x, op, bound):
        if x is None:
            return "n/a"
        ok = x >= bound if op == ">=" else x <= bound if op == "<=" else \
            x > bound
        return "PASS" if ok else "FAIL"

    goals = [
        ("1 pair >=1.0x haproxy", check(r["1", hp], ">=", 1.0)),
        ("1 pair >=2.5x reference", check(r["1", ref], ">=", 2.5)),
        ("16 pairs >=1.0x haproxy", check(r["16", hp], ">=", 1.0)),
        ("16 pairs >=4x reference", check(r["16", ref], ">=", 4.0)),
        ("256 pairs >=1.0x haproxy", check(r["256", hp], ">=", 1.0)),
        ("256 pairs >=4x reference", check(r["256", ref], ">=", 4.0)),
        ("pairs/s >=5x reference", check(r["rate"], ">=", 5.0)),
        ("RSS/conn <=0.5x reference", check(r["rss"], "<=", 0.5)),
        ("CPU/GB <=1.0x haproxy", check(r["cpu"], "<=", 1.0)),
        ("16 pairs default threads > --threads=1",
         check(r["threads"], ">", 1.0) if has_threads else
         "n/a (no --threads)"),
    ]
    print("targets: " + "; ".join("%s %s" % g for g in goals))
    npass = sum(1 for _, v in goals if v == "PASS")
    nfail = sum(1 for _, v in goals if v == "FAIL")
    print("targets met: %d PASS, %d FAIL, %d n/a" % (
        npass, nfail, len(goals) - npass - nfail))

    # The noise: lowest and highest of the rounds behind each median.
    shead = ["spread (min-max)"] + [c[1] for c in CASES] + ["pairs/s"]
    srows = []
    for key in keys:
        t = targets[key]
        cells = [spread(t.stream[c[0]], "%.0f") for c in CASES] + [
            spread(t.rate, "%.0f")]
        if any(c != "-" for c in cells):
            srows.append([LABEL[key]] + cells)
    swidths = [max(len(x[i]) for x in [shead] + srows)
               for i in range(len(shead))]
    print()
    for cells in [shead] + srows:
        print("  ".join(c.ljust(swidths[0]) if i == 0 else
                        c.rjust(swidths[i])
                        for i, c in enumerate(cells)).rstrip())

    notes = []
    for key in keys:
        t = targets[key]
        if t.overflows:
            notes.append("%d listen queue overflows on the machine during"
                         " the runs of %s (SYNs dropped, 1 s retransmits;"
                         " ListenOverflows counts every listener)" % (
                             t.overflows, LABEL[key]))
    if getattr(args, "recv_mode", "trunc") != "trunc":
        notes.append("the generator received with copies (recv MSG_TRUNC"
                     " unavailable)")
    for n in notes:
        print("note: " + n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--transitd", default="transitd/transitd")
    ap.add_argument("--generator", default="bench/transit-bench")
    ap.add_argument("--haproxy", default="/usr/sbin/haproxy")
    ap.add_argument("--twist", default=shutil.which("twist3") or
                    "/usr/bin/twist3")
    ap.add_argument("--quick", action="store_true",
                    help="2 rounds, short windows (also BENCH_QUICK=1)")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--targets", default=",".join(DEFAULT_TARGETS),
                    help="comma-separated, of " + ",".join(ORDER) +
                    " (default: all)")
    args = ap.parse_args()

    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    if quick:
        args.rounds = args.rounds or 2
        args.warmup, args.seconds, args.rate_seconds = 0.2, 0.5, 0.5
        args.hold_pairs, args.hold_waiters = 1000, 200
    else:
        # 7 rounds, so that a median stands against the odd run in the
        # other mode of a bimodal target; 1 s windows keep the whole run
        # under 7 minutes on a 2-core machine.
        args.rounds = args.rounds or 7
        args.warmup, args.seconds, args.rate_seconds = 0.3, 1.0, 1.0
        args.hold_pairs, args.hold_waiters = 5000, 1000
    # 24 loops keep at most 48 connections in the listen queue: below the
    # Python relay's backlog of 50, so no SYN is dropped.
    args.concurrency = 24

    wanted = [k.strip() for k in args.targets.split(",") if k.strip()]
    for k in wanted:
        if k not in ORDER:
            ap.error("unknown target %r (known: %s)" % (k, ",".join(ORDER)))
    args.transitd = os.path.abspath(args.transitd)
    args.generator = os.path.abspath(args.generator)
    for path in (args.transitd, args.generator):
        if not os.access(path, os.X_OK):
            ap.error("not an executable: " + path)

    raise_nofile()
    help_text = subprocess.run([args.transitd, "--help"],
                               capture_output=True, text=True)
    has_threads = "--threads" in help_text.stdout + help_text.stderr
    keys = [k for k in ORDER if k in wanted and
            (k != "transitd-1" or has_threads)]
    if not has_threads:
        progress("transitd has no --threads option: no --threads=1 row")

    tmp = tempfile.mkdtemp(prefix="transitd-bench-")
    targets = {}
    try:
        start_targets(args, tmp, keys, targets)

        # RSS first, on fresh processes.
        for key in keys:
            t = targets[key]
            if t.kind == "direct" or key in PAIRING_ONLY:
                continue
            run_hold(args, t)
            progress("hold %-30s RSS/conn %s B, RSS/waiter %s B" % (
                LABEL[key], fmt(t.rss_conn, "%.0f"),
                fmt(t.rss_waiter, "%.0f")))

        for rnd in range(args.rounds):
            for case, label, pairs, both in CASES:
                order = [k for k in keys if k not in PAIRING_ONLY and
                         (k != "transitd-1" or case in THREADS1_CASES)]
                for key in rotate(order, rnd):
                    t = targets[key]
                    v = run_stream(args, t, pairs, both)
                    t.stream[case].append(v)
                    progress("round %d/%d %-12s %-30s %8.1f MB/s (%s)" % (
                        rnd + 1, args.rounds, label, LABEL[key], v,
                        args.last_detail))
            for key in rotate([k for k in keys if k in RELAYS + PAIRING_ONLY],
                              rnd):
                t = targets[key]
                v = run_rate(args, t)
                t.rate.append(v)
                progress("round %d/%d %-12s %-30s %8.0f pairs/s" % (
                    rnd + 1, args.rounds, "pairing", LABEL[key], v))
        if "transitd-records" in targets:
            check_records(targets["transitd-records"], tmp)
        for key in keys:
            t = targets[key]
            if key != "transitd-records":
                t.alive()
            cols = ["%s %s" % (label, summary(t.stream[c], "%.1f"))
                    for c, label, _, _ in CASES if t.stream[c]]
            if t.rate:
                cols.append("pairs/s " + summary(t.rate, "%.0f"))
            progress("median [min-max] %s: %s" % (LABEL[key],
                                                  "; ".join(cols)))
    except BenchError as e:
        print("bench: " + str(e), file=sys.stderr)
        return 1
    finally:
        for t in targets.values():
            stop(t)
        shutil.rmtree(tmp, ignore_errors=True)

    report(args, targets, has_threads, keys)
    progress("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
