"""The shape of transitd's sources (issue "One connection lifecycle"):
no circle among the files (who includes whom), no source file with its
header over 500 lines, no function over 70 lines."""

import os
import re

import pytest

TOP = os.path.join(os.environ.get("TESTS_SRCDIR",
                                  os.path.dirname(os.path.dirname(
                                      os.path.abspath(__file__)))), "..")
SRC = os.path.join(TOP, "transitd")
# Every C file of the project, for the function length.
C_FILES = [os.path.join("transitd", f) for f in sorted(os.listdir(SRC))
           if f.endswith(".c")] + ["munin/transitd-munin.c",
                                   "probe/transitd-probe.c", "probe/probe.c"]
FILE_MAX = 500
FUNC_MAX = 70
INCLUDE_RE = re.compile(r'^#include "([a-z0-9_]+)\.h"', re.M)
# OpenBSD style: the return type on its own line, the name at column 0.
FUNC_RE = re.compile(r"^([a-z_][a-z0-9_]*)\(", re.M)


def sources():
    return sorted(f for f in os.listdir(SRC) if f.endswith((".c", ".h")))


def module(f):
    return f.rsplit(".", 1)[0]


def graph():
    """Module -> the modules it includes (a module is a .c and its .h)."""
    g = {}
    for f in sources():
        with open(os.path.join(SRC, f)) as fh:
            deps = set(INCLUDE_RE.findall(fh.read()))
        g.setdefault(module(f), set()).update(deps - {module(f)})
    # schema.h is generated data, not a module.
    return {m: {d for d in ds if d in g} for m, ds in g.items()}


def cycles(g):
    """The strongly connected components of more than one module."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def functions(path):
    """(name, lines) of each function definition in a .c file."""
    with open(path) as fh:
        lines = fh.read().split("\n")
    out = []
    for i, line in enumerate(lines):
        m = FUNC_RE.match(line)
        if not m or line.rstrip().endswith(";"):
            continue
        j = i
        while j < len(lines) and lines[j] != "}":
            j += 1
        # From the return type's line to the closing brace.
        out.append((m.group(1), j - i + 2))
    return out


def test_no_circle():
    assert cycles(graph()) == []


def test_munin_plugin_size():
    with open(os.path.join(TOP, "munin/transitd-munin.c")) as fh:
        assert fh.read().count("\n") <= FILE_MAX


def test_function_finder_measures():
    """The check itself can fail: server_run is found, with its length."""
    found = dict(functions(os.path.join(SRC, "server.c")))
    assert 10 < found["server_run"] <= FUNC_MAX


def test_cycle_finder_finds_one():
    """The check itself can fail."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == \
        [["a", "b", "c"]]


@pytest.mark.parametrize("mod", sorted({module(f) for f in sources()}))
def test_file_size(mod):
    n = 0
    for ext in (".c", ".h"):
        p = os.path.join(SRC, mod + ext)
        if os.path.exists(p):
            with open(p) as fh:
                n += fh.read().count("\n")
    if mod == "schema":
        pytest.skip("generated")
    assert n <= FILE_MAX, f"{mod}.c and .h: {n} lines"


@pytest.mark.parametrize("src", C_FILES)
def test_function_length(src):
    long = [(f, n) for f, n in functions(os.path.join(TOP, src))
            if n > FUNC_MAX]
    assert long == [], f"over {FUNC_MAX} lines: {long}"
