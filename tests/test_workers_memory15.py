"""Issue 15, memory: `--workers` pieces come back as lines and arrays, not text.

A piece's part travels as `shards.Lines` (a sketch's columns as arrays, sent through
the worker's pipe as raw bytes only when the parent reaches that piece), and is read
as a file is: every checksum checked. The file a part makes on disk is still v3, a
column the base64 of its little-endian bytes. How little the parent then holds is
measured by `bench/run.py --only workers`, not here (no timed or memory asserts).
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import signal
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bcecli import parallel, shards
from bcecli.commands import diagnostics_of
from bcecli.errors import InputError
from tests.helpers import Files, Run, output

SCORES = [0.125, 0.3, 0.01, 0.49, 0.2]  # distinct, below 0.5: a key is the float's bits
LABELS = [1, 0, 0, 1, 1]


def write_part(bce: Run, files: Files) -> list[bytes]:
    """`bce compute --partial --metrics --top 2 --hist` of SCORES: the file's lines."""
    files(s__csv="p,y\n" + "".join(f"{p!r},{y}\n" for p, y in zip(SCORES, LABELS,
                                                                   strict=True)))
    part = bce("compute", "s.csv", "--metrics", "--top", "2", "--hist", "--partial")
    assert part.exit_code == 0, part.stderr
    Path("s.part").write_text(part.stdout)
    return Path("s.part").read_bytes().splitlines(keepends=True)


def shards_of(files: Files, texts: list[str]) -> None:
    """A folder d of CSV files 0.csv, 1.csv, ...: one input of many files."""
    files()
    Path("d").mkdir()
    for k, text in enumerate(texts):
        Path(f"d/{k}.csv").write_text(text)


def section(line: bytes) -> tuple[str, Any]:
    data = json.loads(line)
    return data["section"], data["data"]


def test_a_sketch_column_on_disk_is_base64_of_little_endian_bytes(bce: Run,
                                                                   files: Files) -> None:
    """The v3 file as it was: each column a line, its values' bytes in base64."""
    lines = dict(section(line) for line in write_part(bce, files)[1:])
    keys = sorted(struct.unpack("<Q", struct.pack("<d", p))[0] for p in SCORES)
    assert base64.b64decode(lines["metrics.sketch.keys"]) == struct.pack("<5Q", *keys)
    assert base64.b64decode(lines["metrics.sketch.count"]) == struct.pack("<5q", *[1] * 5)
    assert base64.b64decode(lines["metrics.sketch.sum_p"]) == struct.pack(
        "<10d", *sorted(SCORES), *[0.0] * 5)  # (hi, lo) rows
    assert base64.b64decode(lines["metrics.sketch.single"]) == b"\x01" * 5


def in_memory(lines: list[bytes]) -> shards.Lines:
    """A part file's lines as a worker sends them: each sketch column as its array."""
    from bcecli.ranking import decode_column

    def line_of(line: bytes) -> bytes | shards.Column:
        if b'"section": "metrics.sketch.' not in line:
            return line
        name, text = section(line)
        return shards.Column(name, decode_column(name.rsplit(".", 1)[1], text))

    return shards.Lines(line_of(line) for line in lines)


def merged(name: str, part: shards.Opened) -> dict[str, Any]:
    combined, state = shards.merged([(name, part)], diagnostics_of)
    assert combined is not None and state is not None
    return state.report(())


def test_a_part_in_memory_reads_as_its_file(bce: Run, files: Files) -> None:
    lines = write_part(bce, files)
    memory = in_memory(lines)
    assert sum(isinstance(line, shards.Column) for line in memory.lines) == 7
    assert merged("s", shards.in_memory(memory, "s")) == merged("s.part",
                                                                shards.opened("s.part"))
    assert not memory.lines  # every line let go as it was read


@pytest.mark.parametrize(("change", "message"), [
    (lambda column: column.values.__setitem__(0, 2),
     "section metrics.sketch.count does not match its checksum: it was changed after bce "
     "wrote it"),
    (lambda column: object.__setattr__(column, "name", "metrics.sketch.positives"),
     # after the header, histogram, top, sums, sketch, keys, first and single
     'line 9 must be section metrics.sketch.count: {"section": ..., "data": ...}'),
])
def test_a_part_in_memory_is_checked_as_a_file_is(bce: Run, files: Files, change: Any,
                                                  message: str) -> None:
    memory = in_memory(write_part(bce, files))
    count = next(line for line in memory.lines if isinstance(line, shards.Column)
                 and line.name == "metrics.sketch.count")
    change(count)
    with pytest.raises(InputError) as error:
        merged("s", shards.in_memory(memory, "s"))
    assert str(error.value) == f"s: a broken partial result: {message}"


def test_a_partial_file_of_workers_is_one_process_file(bce: Run, files: Files) -> None:
    """`compute --partial --workers` writes the v3 text a part makes, and it merges."""
    shards_of(files, ["p,y\n" + "".join(f"{p!r},{y}\n" for p, y in rows)
                      for rows in [[(0.2, 1), (0.7, 0)], [(0.4, 1)], [(0.9, 1), (0.1, 0)]]])
    part = bce("compute", "d", "--metrics", "--partial", "--workers", "2")
    assert part.exit_code == 0, part.stderr
    Path("d.part").write_text(part.stdout)
    names = [json.loads(line).get("section") for line in part.stdout.splitlines()[1:]]
    assert names[-7:] == [f"metrics.sketch.{name}" for name in (
        "keys", "first", "single", "count", "positives", "sum_p", "sum_y")]
    whole = output(bce, "d", "--metrics")
    merged_part = bce("merge", "d.part", "--json")
    assert merged_part.exit_code == 0, merged_part.stderr
    assert json.loads(merged_part.stdout)["metrics"] == whole["metrics"]


def test_a_killed_worker_is_one_line(bce: Run, files: Files,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies (the OOM killer) is named by its piece; the others are ended."""
    shards_of(files, [f"p,y\n0.{k + 1},1\n" for k in range(4)])
    run_piece = parallel.run_piece

    def dying(piece: parallel.Piece) -> parallel.Part:
        if piece.index == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return run_piece(piece)

    monkeypatch.setattr(parallel, "run_piece", dying)  # the forked workers inherit it
    result = bce("compute", "d", "--metrics", "--workers", "2")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("bce: error: a --workers process ended abruptly, reading d/2.csv "
                             "(killed, or out of memory)\nhint: run with fewer --workers, or "
                             "without\n")
    assert multiprocessing.active_children() == []


def test_spawned_workers_send_the_same_parts(bce: Run, files: Files,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Where fork is unsafe (macOS) the workers are spawned: the pipe is theirs alike."""
    shards_of(files, ["p,y\n" + "".join(f"{(k * 7 + i) % 10 / 10 + 0.05!r},{i % 2}\n"
                                         for i in range(5)) for k in range(3)])
    one = bce("compute", "d", "--metrics", "--top", "3", "--json")
    spawn = multiprocessing.get_context("spawn")
    monkeypatch.setattr(multiprocessing, "get_context", lambda method=None: spawn)
    many = bce("compute", "d", "--metrics", "--top", "3", "--json", "--workers", "2")
    assert (many.exit_code, many.stderr) == (0, "")
    assert many.stdout == one.stdout


def test_arrays_of_the_wrong_kind_are_refused() -> None:
    """An in-memory column must be what `decode_column` would give."""
    from bcecli.diagnostics import sketch_column

    assert sketch_column("keys", np.arange(3, dtype=np.uint64)).tolist() == [0, 1, 2]
    for name, value in (("keys", np.arange(3, dtype=np.int64)),
                        ("sum_p", np.zeros(3)), ("count", [1, 2])):
        with pytest.raises(ValueError, match=f"^metrics.sketch.{name} must be base64 text$"):
            sketch_column(name, value)


class Local:
    """Exceptions of a piece that is a bug: one pickles, one does not (a local class)."""

    @staticmethod
    def picklable() -> Exception:
        return KeyError("boom")

    @staticmethod
    def unpicklable() -> Exception:
        class Unnamed(Exception):
            pass

        return Unnamed("boom")


@pytest.mark.parametrize(("error", "shown"), [
    (Local.picklable, "KeyError: 'boom'"), (Local.unpicklable, "RuntimeError: Unnamed: boom")])
def test_a_bug_in_a_worker_is_one_line(bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch,
                                       error: Any, shown: str) -> None:
    shards_of(files, [f"p,y\n0.{k + 1},1\n" for k in range(3)])

    def failing(piece: parallel.Piece) -> parallel.Part:
        raise error()

    monkeypatch.setattr(parallel, "run_piece", failing)
    result = bce("compute", "d", "--workers", "2")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"bce: error: internal error: {shown}\nhint: this is a bug in bce; "
                             "please report it with the command that caused it (BCE_TRACEBACK=1 "
                             "shows where it happened)\n")


# The merge's pieces that work a chunk at a time (2**16 rows), on more than a chunk,
# against the plain formulas.

def test_distinct_counts_and_fitting_without_the_union() -> None:
    from bcecli.ranking import CHUNK, distinct_sorted, fitting, outside

    rng = np.random.default_rng(15)
    keys = np.unique(np.concatenate([rng.integers(0, 1 << 40, 3 * CHUNK, dtype=np.uint64),
                                     np.arange(1, 40, dtype=np.uint64) << np.uint64(42)]))
    # near and equal keys, and a run of others in no key's bucket across a chunk's end
    # (2 * CHUNK and 2 * CHUNK + 2 share a bucket at 2 bits)
    others = np.unique(np.concatenate([keys[::5] + np.uint64(1), keys[1::7],
                                       np.arange(1, 2 * CHUNK, dtype=np.uint64) * 2
                                       + np.uint64(1 << 41)]))
    union = np.union1d(keys, others)
    at = np.searchsorted(keys, others)
    distinct = [int(np.count_nonzero(np.diff(union >> np.uint64(e)))) + 1 for e in range(64)]
    for shift in (0, 1, 2, 3, 17, 41):
        assert distinct_sorted(union, shift) == distinct[shift]
        mine, theirs = (np.unique(a >> np.uint64(shift)) for a in (keys, others))
        assert outside(keys, others, at, shift) == len(np.setdiff1d(theirs, mine))
    for cap in (1, 1000, CHUNK, len(keys), len(union) - 1, len(union)):
        expected = next(e for e, count in enumerate(distinct) if count <= cap)
        assert fitting(keys, cap, others, at) == fitting(union, cap) == expected
    none = np.empty(0, np.uint64)
    assert fitting(none, 10, others, np.zeros(len(others), np.int64)) == fitting(others, 10)


def test_sums_by_runs_are_sums_by_segments() -> None:
    from bcecli.ranking import CHUNK, dd_column, dd_runs

    rng = np.random.default_rng(16)
    rows = 3 * CHUNK + 5
    starts = np.unique(np.concatenate([[0, CHUNK, CHUNK + 1, 2 * CHUNK - 1],
                                       rng.integers(0, rows, 5000)]))
    segments = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, rows)))
    values = rng.random(rows) * 10.0 ** rng.integers(-5, 5, rows)
    assert dd_runs(starts, values).tobytes() == \
        dd_column(len(starts), segments, values).tobytes()


@pytest.mark.parametrize("weighted", [False, True])
def test_large_sketches_merge_to_one_run(weighted: bool) -> None:
    """Parts of more buckets than a chunk: the buckets both have, those one has, and a
    merge that must coarsen both (cap 2**17)."""
    from bcecli.ranking import ScoreSketch

    rng = np.random.default_rng(17)
    p = np.concatenate([rng.random(200_000), rng.random(100_000).round(4)])
    y = (rng.random(len(p)) < p).astype(np.float64)
    w = rng.uniform(0.1, 2, len(p)) if weighted else None
    whole = ScoreSketch(weighted, cap=1 << 17)
    whole.add(p, y, w)
    merged = ScoreSketch(weighted, cap=1 << 17)
    for part in np.array_split(rng.permutation(len(p)), 3):
        piece = ScoreSketch(weighted, cap=1 << 17)
        piece.add(p[part], y[part], None if w is None else w[part])
        merged.merge(piece, consume=True)
    assert merged.shift == whole.shift > 0
    for name, column in whole.columns.items():
        if name in ("sum_p", "sum_y", "weight_neg", "weight_pos"):
            np.testing.assert_allclose(merged.columns[name].sum(axis=0), column.sum(axis=0),
                                       rtol=1e-15, atol=0)
        else:
            assert merged.columns[name].tobytes() == column.tobytes(), name


ORPHAN = """
import os, sys, time
from bcecli import parallel

def quick(piece):
    open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
    return parallel.Part({}, None)

parallel.run_piece = quick  # the forked workers inherit it
parts = parallel.texts([parallel.Piece(None, k, {}) for k in range(4)], 2)
next(parts)
print("merging", flush=True)
time.sleep(600)
"""


def ended(pid: int) -> bool:
    """Gone, or a zombie no one reaps yet (its parent died)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_workers_end_when_the_parent_is_killed(tmp_path: Path) -> None:
    """SIGKILL (the OOM killer) leaves no worker behind: each sees its pipe close, as no
    other worker holds a copy of the parent's end."""
    import subprocess
    import sys
    import time

    workers: list[int] = []
    try:
        with subprocess.Popen([sys.executable, "-c", ORPHAN, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True) as parent:
            try:
                assert parent.stdout is not None
                assert parent.stdout.readline() == "merging\n"
                deadline = time.monotonic() + 60  # bounds, not speeds: each takes a moment
                while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
                    time.sleep(0.1)  # the second worker has its first piece too
                workers = [int(path.name) for path in tmp_path.iterdir()]
                assert len(workers) == 2 and not any(ended(pid) for pid in workers)
            finally:
                parent.kill()
        deadline = time.monotonic() + 60
        while not all(ended(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(ended(pid) for pid in workers)
    finally:  # none left behind, whatever failed
        for pid in workers:
            if not ended(pid):
                os.kill(pid, signal.SIGKILL)
