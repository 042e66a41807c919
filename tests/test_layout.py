"""The package's shape: imports run one way, and what an input is gets decided once.

The import graph is read from the source (every `import`, lazy ones inside
functions included), so a cycle hidden by a lazy import still fails here.
"""

from __future__ import annotations

import ast
import gzip
import io
from pathlib import Path

import numpy as np
import pytest

import bcecli.readers as readers_package
from bcecli.readers import arrow
from tests.helpers import ROOT, Files, Run, loss_of

PACKAGE = ROOT / "bcecli"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The bcecli modules a file imports, anywhere in it.

    `from bcecli.x import y` is an edge to `bcecli.x.y` when that is a module,
    else to `bcecli.x`. A package's `__init__` runs before its submodules
    whatever they import, so that is not counted as an edge.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module in modules:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports(path, set(files)) - {name} for name, path in files.items()}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a path of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_sees_lazy_imports() -> None:
    graph = import_graph()
    assert "bcecli.readers.arrow" in graph["bcecli.readers"]  # imported inside a function
    assert "bcecli.cli" in graph["bcecli.__main__"]


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    assert cycle(import_graph()) is None


def test_formats_import_only_base() -> None:
    """Format modules never import the readers package itself, nor each other
    (but JSON documents may fall back to JSON Lines, and the JSON readers share
    `jsonnumbers`); `base` builds on `cells`."""
    graph = import_graph()
    allowed = {"bcecli.readers.base", "bcecli.readers.cells", "bcecli.readers.jsonlines",
               "bcecli.readers.jsonnumbers"}
    for name, targets in graph.items():
        if name.startswith("bcecli.readers."):
            readers = {t for t in targets if t.startswith("bcecli.readers")}
            assert readers <= allowed, (name, readers)
            assert "bcecli.readers" not in targets, name


def test_the_core_imports_numpy_only() -> None:
    tree = ast.parse((PACKAGE / "core.py").read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    assert modules <= {"__future__", "math", "enum", "typing", "numpy", "bcecli"}
    assert import_graph()["bcecli.core"] <= {"bcecli.errors"}


# -- what an input is, decided from its bytes --------------------------------------------


def test_gzip_is_what_the_bytes_say(bce: Run, files: Files) -> None:
    """A gzipped `.npy` or `.csv` whose name has no `.gz` is still read as gzip."""
    buffer = io.BytesIO()
    np.save(buffer, np.array([0.8, 0.3, 0.6]))
    files(p__npy=gzip.compress(buffer.getvalue()), y__csv=gzip.compress(b"1\n0\n1\n"))
    plain = loss_of(bce("compute", "p.npy", "y.csv", "--json"))
    files(p__npy=buffer.getvalue(), y__csv="1\n0\n1\n")
    assert plain == loss_of(bce("compute", "p.npy", "y.csv", "--json"))


def test_open_input_says_what_it_found(files: Files) -> None:
    from contextlib import ExitStack

    files(a__csv__gz=gzip.compress(b"[0.5]"), b__txt="[0.5]\n", c__dat=b"\x93NUMPY")
    with ExitStack() as resources:
        a = readers_package.open_input("a.csv.gz", resources)
        b = readers_package.open_input("b.txt", resources)
        c = readers_package.open_input("c.dat", resources)
        stdin = readers_package.open_input("-", resources, input_format="jsonl",
                                           stdin=io.BytesIO(b"1\n"))
    assert (a.name, a.path, a.compression, a.format, a.plain_file) == \
        ("a.csv.gz", "a.csv.gz", "gzip", "csv", None)
    assert (b.compression, b.format, b.plain_file) == (None, "json", "b.txt")
    assert c.format == "npy"
    assert (stdin.name, stdin.path, stdin.format, stdin.plain_file) == \
        ("<stdin>", None, "jsonl", None)


@pytest.mark.skipif(not arrow.available(), reason="the arrow extra is not installed")
def test_gzip_without_gz_name_never_reaches_pyarrow(bce: Run, files: Files,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The arrow CSV path takes plain files only: a gzipped `.csv` goes to bce's reader."""
    monkeypatch.setattr(arrow, "MIN_BYTES", 0)
    monkeypatch.setattr(readers_package, "fixed_width_lines", lambda chunk: False)
    rows = "".join(f"{(i * 37 % 101) / 101!r},{i % 2}\n" for i in range(500))
    files(d__csv=rows)
    expected = loss_of(bce("compute", "d.csv", "--json"))
    files(d__csv=gzip.compress(rows.encode()))
    assert loss_of(bce("compute", "d.csv", "--json")) == expected
