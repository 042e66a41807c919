"""Issue 15: `--workers` cuts one large Parquet file into pieces of whole row groups.

One process reads Parquet a row group at a time, no block spanning two, so a piece
of row groups is read in the blocks one process reads them in: the JSON of
`--workers 2` is one process's, to the bit, and an error names the row of the
whole file.
"""

from __future__ import annotations

import json
import subprocess
from contextlib import ExitStack

import numpy as np
import pytest

from tests.helpers import BCE, Files

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

GROUP = 1 << 16  # parallel.PIECE_ROWS: a piece per row group


def write(path: str, rows: int, rng: np.random.Generator, group: int = GROUP, **columns: object
          ) -> None:
    p = rng.random((rows, 2))
    table = {"p1": p[:, 0], "p2": p[:, 1], "y1": (rng.random(rows) < p[:, 0]).astype(np.int64),
             "y2": (rng.random(rows) < p[:, 1]).astype(np.int64),
             "w": rng.uniform(0.1, 3, rows), "g": rng.integers(0, 4, rows)} | columns
    pq.write_table(pa.table(table), path, row_group_size=group)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BCE), "compute", *args], capture_output=True, text=True,
                          check=False)


def pieces_of(*paths: str) -> list[str]:
    """The names of the pieces `--workers` would read (the run's own planning)."""
    from bcecli.core import DType, Reduction
    from bcecli.environment import Environment
    from bcecli.job import Evaluation, InputOptions, Job
    from bcecli.parallel import pieces
    from bcecli.settings import Settings

    targets = paths[1] if len(paths) > 1 else None
    job = Job(InputOptions(paths[0], targets, None, "p1", "y1", None, None, None, False, True),
              Settings(), False, Reduction.MEAN, DType.FLOAT64, None, Evaluation(), 2, False,
              None, True)
    with ExitStack() as resources:
        plan = job.inputs.plan(resources, Environment(), job.settings)
    return [piece.name if piece.only else "not cut" for piece in pieces(job, plan)]


@pytest.mark.parametrize("options", [
    ["--pred-col", "p1", "--target-col", "y1", "--metrics", "--top", "7", "--hist"],
    ["--pred-col", "p1", "--target-col", "y1", "--weight-col", "w", "--metrics", "--binning",
     "mass", "--top", "4"],
    ["--pred-col", "p1,p2", "--target-col", "y1,y2", "--metrics", "--hist", "--top", "5"],
    ["--pred-col", "p1", "--target-col", "y1", "--by", "g", "--metrics", "--top", "3"],
])
def test_row_group_pieces_give_one_process_result_to_the_bit(
        files: Files, options: list[str]) -> None:
    files()
    write("d.parquet", 3 * GROUP + 1000, np.random.default_rng(7))
    assert pieces_of("d.parquet") == [f"d.parquet (row groups {k} to {k})" for k in (1, 2, 3, 4)]
    runs = [run("d.parquet", *options, "--json", "--workers", str(n)) for n in (1, 2)]
    assert [(r.returncode, r.stderr) for r in runs] == [(0, "")] * 2
    assert runs[1].stdout == runs[0].stdout
    classes = len(options[options.index("--pred-col") + 1].split(","))
    assert json.loads(runs[0].stdout)["count"] == (3 * GROUP + 1000) * classes


def test_paired_files_with_the_same_row_groups_are_cut_alike(files: Files) -> None:
    files()
    rng = np.random.default_rng(8)
    write("a.parquet", 2 * GROUP + 10, rng)
    write("b.parquet", 2 * GROUP + 10, rng)
    assert pieces_of("a.parquet", "b.parquet") == [
        f"a.parquet (row groups {k} to {k})" for k in (1, 2, 3)]
    runs = [run("a.parquet", "b.parquet", "--pred-col", "p1", "--target-col", "y1", "--top", "3",
                "--json", "--workers", str(n)) for n in (1, 2)]
    assert runs[0].returncode == 0 and runs[1].stdout == runs[0].stdout
    write("c.parquet", 2 * GROUP + 10, rng, group=GROUP // 2)  # other row groups: one piece
    assert pieces_of("a.parquet", "c.parquet") == ["not cut"]


def test_small_row_groups_join_into_pieces(files: Files) -> None:
    files()
    write("d.parquet", 3 * GROUP, np.random.default_rng(9), group=GROUP // 4)
    assert pieces_of("d.parquet") == ["d.parquet (row groups 1 to 4)",
                                      "d.parquet (row groups 5 to 8)",
                                      "d.parquet (row groups 9 to 12)"]


def test_an_error_names_the_row_of_the_whole_file(files: Files) -> None:
    files()
    rows = 2 * GROUP + 5
    y = np.zeros(rows, dtype=np.int64)
    y[GROUP + 17] = 3  # in the second row group
    write("d.parquet", rows, np.random.default_rng(10), y1=y)
    runs = [run("d.parquet", "--pred-col", "p1", "--target-col", "y1", "--workers", str(n))
            for n in (1, 2)]
    assert runs[0].returncode == 2 and runs[0].stdout == ""
    assert runs[0].stderr.splitlines()[0] == \
        f"bce: error: d.parquet[{GROUP + 17}]: target 3.0 in column 'y1' is outside [0, 1]"
    assert runs[1].stderr == runs[0].stderr


def test_no_block_spans_two_row_groups(files: Files) -> None:
    """What makes a piece's blocks one process's: blocks end where row groups end (the
    sketch's double-double sums are then added in one grouping), for numbers and lists."""
    from bcecli.inputs import gather

    files()
    write("d.parquet", 5000, np.random.default_rng(11), group=1000)
    pq.write_table(pa.table({"p": [[0.5, 0.25]] * 5000, "y": [[1, 0]] * 5000}), "l.parquet",
                   row_group_size=1000)
    for path, columns in (("d.parquet", [0, 2]), ("l.parquet", [0, 1])):
        with ExitStack() as resources:
            reader = gather(path, pred_col="p1" if path == "d.parquet" else "p",
                            target_col="y1" if path == "d.parquet" else "y",
                            resources=resources).readers[0]
            starts = [(block.start, len(block.values)) for block in reader.blocks(columns)]
        assert starts == [(k * 1000, 1000) for k in range(5)], path
