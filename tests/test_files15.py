"""Issue 15: many files as one input, and `compute --workers N`.

A glob pattern or a directory is its files read as one table in name order; two of
them pair file by file. `--workers N` reads the pieces in N processes and merges
their partial results: the JSON must be one process's, to the bit, with every
diagnostic that merges. Errors name the shard and its line, in both paths.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import BCE, Files, Run, output, refused

HAS_ARROW = importlib.util.find_spec("pyarrow") is not None


def bce_loss(p: list[float], y: list[float]) -> float:
    """PyTorch's BCE mean with its −100 clamp, summed exactly (an independent formula)."""
    terms = [-(t * max(math.log(q) if q > 0 else -math.inf, -100.0)
               + (1 - t) * max(math.log1p(-q) if q < 1 else -math.inf, -100.0))
             for q, t in zip(p, y, strict=True)]
    return math.fsum(terms) / len(terms)


SHARDS = {  # name → rows of (prediction, target); glob order is name order: c10 < c2
    "b.csv": [(0.8, 1), (0.3, 0)],
    "a.csv": [(0.6, 1), (0.1, 1), (0.45, 0)],
    "c2.csv": [(0.99, 0)],
    "c10.csv": [(0.15, 0), (0.65, 1)],
}
ORDER = ["a.csv", "b.csv", "c10.csv", "c2.csv"]


def write_shards(folder: str = "d", header: str = "p,y", **extra: str) -> None:
    Path(folder).mkdir()
    for name, rows in SHARDS.items():
        text = (header + "\n" if header else "") + "".join(f"{p},{y}\n" for p, y in rows)
        (Path(folder) / name).write_text(text)
    for name, text in extra.items():
        (Path(folder) / name).write_text(text)


def test_a_glob_is_its_files_in_name_order(bce: Run, files: Files) -> None:
    files()
    write_shards()
    rows = [row for name in ORDER for row in SHARDS[name]]
    result = output(bce, "d/*.csv", "--top", "9")
    assert result["loss"] == pytest.approx(bce_loss([p for p, _ in rows], [y for _, y in rows]),
                                           rel=1e-15)
    assert (result["count"], result["predictions"]) == (8, "d/*.csv")
    # --top names each shard and its own line; the ties-free ranking is the losses'
    losses = {f"d/{name}:{line}": -math.log(p if y else 1 - p)
              for name in ORDER for line, (p, y) in enumerate(SHARDS[name], start=2)}
    assert [item["where"] for item in result["top"]] == sorted(losses, key=lambda k: -losses[k])


def test_a_directory_reads_its_data_files_only(bce: Run, files: Files) -> None:
    files()
    write_shards(**{"_SUCCESS": "", ".hidden.csv": "p,y\n2,2\n", "part.csv.crc": "x",
                    "notes.md": "# notes\n"})
    Path("d/sub.csv").mkdir()
    whole = output(bce, "d/*.csv")
    folder = output(bce, "d")
    assert folder["loss"] == whole["loss"] and folder["count"] == 8
    assert folder["predictions"] == "d"


def test_same_result_as_the_files_concatenated(bce: Run, files: Files) -> None:
    files()
    write_shards(header="")
    Path("all.csv").write_text("".join(f"{p},{y}\n" for name in ORDER for p, y in SHARDS[name]))
    many = output(bce, "d", "--metrics", "--hist")
    one = output(bce, "all.csv", "--metrics", "--hist")
    for key in ("loss", "count", "metrics", "histogram"):
        assert many[key] == one[key]


def test_two_globs_pair_file_by_file(bce: Run, files: Files) -> None:
    files()
    for folder, column in (("p", 0), ("y", 1)):
        Path(folder).mkdir()
        for name, rows in SHARDS.items():
            (Path(folder) / name).write_text("".join(f"{row[column]}\n" for row in rows))
    rows = [row for name in ORDER for row in SHARDS[name]]
    result = output(bce, "p/*.csv", "y")
    assert result["loss"] == pytest.approx(bce_loss([p for p, _ in rows], [y for _, y in rows]),
                                           rel=1e-15)
    Path("y/c2.csv").write_text("0\n1\n")
    assert refused(bce, "p/*.csv", "y") == (
        "bce: error: p/c2.csv: has 1 row but y/c2.csv has 2: paired shards must have as many "
        "rows\nhint: the files of each input pair one to one in name order\n")
    Path("y/c2.csv").write_text("0\n")
    Path("y/a.csv").write_text("1\n1\n")  # shorter than p/a.csv: found at its end
    assert refused(bce, "p/*.csv", "y") == (
        "bce: error: y/a.csv: has 2 rows but p/a.csv has 3: paired shards must have as many "
        "rows\nhint: the files of each input pair one to one in name order\n")
    Path("y/a.csv").write_text("1\n1\n0\n")
    Path("y/c2.csv").unlink()
    assert refused(bce, "p/*.csv", "y/*.csv") == (
        "bce: error: p/*.csv has 4 files but y/*.csv has 3: many-file inputs pair shard by "
        "shard, in name order\n")


def test_what_is_refused(bce: Run, files: Files) -> None:
    files()
    write_shards()
    Path("empty").mkdir()
    assert refused(bce, "nothing/*.csv") == \
        "bce: error: nothing/*.csv: no file matches this pattern\n"
    assert refused(bce, "empty") == (
        "bce: error: empty: a directory with no data file in it (.csv, .tsv, .txt, .json, "
        ".jsonl, .ndjson, .npy, .parquet, .feather, …, or compressed)\n")
    Path("d/c3.csv").write_text("q,y\n0.5,1\n")
    assert refused(bce, "d") == (
        "bce: error: d/c3.csv: its columns ('q', 'y') are not those of d/a.csv ('p', 'y'): "
        "every file of d must have the same header\n")
    Path("d/c3.csv").write_text("0.5,1\n")
    assert refused(bce, "d") == (
        "bce: error: d/c3.csv: its columns (2 columns without a header) are not those of "
        "d/a.csv ('p', 'y'): every file of d must have the same header\n")
    Path("d/c3.json").write_text('{"predictions": [0.5], "targets": [1]}')
    Path("d/c3.csv").unlink()
    assert refused(bce, "d") == (
        "bce: error: d/c3.json: holds named arrays (a JSON object of predictions and targets, "
        "an .npz): the files of a glob or directory must be tables\n")


def test_an_error_names_the_shard_and_its_line(bce: Run, files: Files) -> None:
    files()
    write_shards(header="")
    Path("d/c10.csv").write_text("0.2,0\n# a comment\n1.5,1\n")
    expected = ("bce: error: d/c10.csv:3: prediction 1.5 in column 0 is outside [0, 1]\n"
                "hint: if these are logits (raw scores), pass --logits\n")
    assert refused(bce, "d") == expected
    assert refused(bce, "d", "--workers", "2") == expected


def test_an_id_in_an_earlier_shard_is_named_with_its_line(bce: Run, files: Files) -> None:
    """--id-col reads TARGETS whole before any prediction: its messages name shards that
    were read to their end."""
    files()
    for folder in ("p", "y"):
        Path(folder).mkdir()
    Path("p/1.csv").write_text("id,p\na,0.5\nb,0.25\n")
    Path("p/2.csv").write_text("id,p\nc,0.75\n")
    Path("y/1.csv").write_text("id,y\nb,1\nx,0\n")
    Path("y/2.csv").write_text("id,y\nc,1\na,0\n")
    assert refused(bce, "p", "y", "--id-col", "id").splitlines()[0] == (
        "bce: error: y/1.csv:3: id 'x' of y is not in p")


def test_a_single_file_is_read_as_before(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n")
    assert output(bce, "p.csv", "y.csv", "--workers", "3")["loss"] == \
        output(bce, "p.csv", "y.csv")["loss"]
    Path("folder").mkdir()
    assert refused(bce, "folder") == (
        "bce: error: folder: a directory with no data file in it (.csv, .tsv, .txt, .json, "
        ".jsonl, .ndjson, .npy, .parquet, .feather, …, or compressed)\n")


@pytest.mark.parametrize(("args", "message"), [
    (["-", "--workers", "2"], "--workers splits files: stdin ('-') is read by one process"),
    (["d", "-r", "none", "--workers", "2"],
     "--workers merges totals: -r none writes every loss in order, in one process\n"
     "hint: drop --workers"),
    (["d", "--metrics", "--bootstrap", "5", "--workers", "2"],
     "--bootstrap with --workers needs --id-col: each piece numbers its rows from 1, so only "
     "an id draws a row's replicates alike in every piece and in one run"),
    (["d", "--pos-label", "1", "--workers", "2"],
     "--pos-label learns the other label from the rows in their order: it is read by one "
     "process\nhint: drop --workers, or write the targets as 0 and 1"),
    (["d", "--workers", "0"], "--workers must be between 1 and 1024, not 0"),
    (["d", "t.csv", "--pred-col", "p", "--target-col", "y", "--workers", "2"],
     "--workers reads the inputs' files in pairs, but t.csv is one file beside the 4 of d\n"
     "hint: give it as a glob or directory of as many files, or drop --workers"),
])
def test_what_workers_refuse(bce: Run, files: Files, args: list[str], message: str) -> None:
    files(t__csv="y\n" + "1\n" * 8)
    write_shards()
    assert refused(bce, *args, input=b"0.5 1\n") == f"bce: error: {message}\n"


def shards_of(fmt: str, rng: np.random.Generator) -> None:
    """Five shards of random sizes (one with equal losses across shards, for --top's ties),
    with two classes and weights, as `fmt`."""
    Path("s").mkdir()
    for k, rows in enumerate((700, 1, 2500, 40, 1300)):
        p = rng.random((rows, 2)).round(int(rng.integers(2, 9)))
        p[: min(rows, 3), 0] = 0.001  # the same, highest loss in every shard
        y = (rng.random((rows, 2)) < p).astype(np.int64)
        y[: min(rows, 3), 0] = 1
        columns = {"p1": p[:, 0], "p2": p[:, 1], "y1": y[:, 0], "y2": y[:, 1],
                   "w": rng.uniform(0.1, 3, rows), "g": rng.integers(0, 4, rows)}
        path = Path("s") / f"part-{k:02d}.{fmt}"
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table(columns), path, row_group_size=500)
        elif fmt == "jsonl":
            path.write_text("".join(json.dumps({c: v[i].item() for c, v in columns.items()}) + "\n"
                                    for i in range(rows)))
        else:
            path.write_text(",".join(columns) + "\n" + "".join(
                ",".join(repr(v[i].item()) for v in columns.values()) + "\n" for i in range(rows)))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", pytest.param("parquet", marks=pytest.mark.skipif(
    not HAS_ARROW, reason="needs pyarrow"))])
@pytest.mark.parametrize("options", [
    ["--pred-col", "p1", "--target-col", "y1", "--metrics", "--top", "7", "--hist"],
    ["--pred-col", "p1", "--target-col", "y1", "--weight-col", "w", "--metrics", "--binning",
     "mass", "--top", "4", "--base", "2"],
    ["--pred-col", "p1,p2", "--target-col", "y1,y2", "--metrics", "--hist", "--top", "5"],
    ["--pred-col", "p1", "--target-col", "y1", "--by", "g", "--max-slices", "4", "--metrics",
     "--top", "7"],
])
def test_workers_give_one_process_result_to_the_bit(files: Files, fmt: str,
                                                    options: list[str]) -> None:
    """Real processes: the JSON of --workers 1 and 2 is the same text."""
    files()
    shards_of(fmt, np.random.default_rng(15))
    runs = [subprocess.run([str(BCE), "compute", "s", *options, "--json", "--workers", str(n)],
                           capture_output=True, text=True, check=False) for n in (1, 2)]
    assert [(run.returncode, run.stderr) for run in runs] == [(0, "")] * 2
    assert runs[1].stdout == runs[0].stdout
    top = json.loads(runs[0].stdout)["top"]
    assert len({item["where"].split(":")[0].split("[")[0] for item in top}) > 1


def test_workers_partial_merges_with_other_parts(bce: Run, files: Files) -> None:
    files()
    write_shards()
    Path("more.csv").write_text("p,y\n0.9,1\n0.05,1\n")
    part = bce("compute", "d", "--partial", "--top", "3", "--workers", "2")
    assert part.exit_code == 0, part.stderr
    Path("part1.jsonl").write_text(part.stdout)
    Path("part2.jsonl").write_text(bce("compute", "more.csv", "--partial", "--top", "3").stdout)
    merged = bce("merge", "part1.jsonl", "part2.jsonl", "--json")
    assert merged.exit_code == 0, merged.stderr
    Path("all.csv").write_text("p,y\n" + "".join(
        f"{p},{y}\n" for name in ORDER for p, y in SHARDS[name]) + "0.9,1\n0.05,1\n")
    whole = output(bce, "all.csv", "--top", "3")
    assert json.loads(merged.stdout)["loss"] == whole["loss"]
    assert [item["loss"] for item in json.loads(merged.stdout)["top"]] == \
        [item["loss"] for item in whole["top"]]


def test_warnings_are_those_of_one_run(bce: Run, files: Files) -> None:
    files()
    write_shards()
    one = bce("compute", "d", "--logits", "--json")
    many = bce("compute", "d", "--logits", "--json", "--workers", "2")
    assert one.stderr.startswith("bce: warning: every prediction is in [0, 1]")
    assert (many.stdout, many.stderr) == (one.stdout, one.stderr)


def test_a_plain_run_imports_no_multiprocessing(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    script = (
        "import sys\nfrom bcecli.cli import run\n"
        f"sys.argv = ['bce', 'compute', {str(root / 'sample_data' / 'preds.csv')!r}, "
        f"{str(root / 'sample_data' / 'targets.csv')!r}, '-f', 'plain']\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('multiprocessing', "
        "'concurrent', 'glob', 'bcecli.parallel', 'bcecli.sources'))))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    assert run.stdout.splitlines() == ["0.36354803967297755", "[]"]


def test_the_worker_function_returns_a_part(files: Files) -> None:
    """The task unit another engine would map: picklable pieces, picklable parts out (the
    partial result's lines), merged in."""
    import pickle

    from bcecli.core import DType, Reduction
    from bcecli.environment import Environment
    from bcecli.job import Evaluation, InputOptions, Job
    from bcecli.parallel import merge_texts, pieces, run_piece
    from bcecli.settings import Settings

    files()
    write_shards()
    job = Job(InputOptions("d", None, None, None, None, None, None, None, False, True),
              Settings(), False, Reduction.MEAN, DType.FLOAT64, None, Evaluation(), 2, False,
              None, True)
    from contextlib import ExitStack

    with ExitStack() as resources:
        plan = job.inputs.plan(resources, Environment(), job.settings)
    split = [pickle.loads(pickle.dumps(piece)) for piece in pieces(job, plan)]
    assert [piece.name for piece in split] == [f"d/{name}" for name in ORDER]
    parts = [pickle.loads(pickle.dumps(run_piece(piece))) for piece in split]
    assert [part.stats["rows"] for part in parts] == [len(SHARDS[name]) for name in ORDER]
    assert all(part.partial is not None and json.loads(part.partial.lines[0])[
        "bcecli_partial"] == 3 for part in parts)
    streamed, state = merge_texts(job, plan, zip(split, parts, strict=True))
    rows = [row for name in ORDER for row in SHARDS[name]]
    assert streamed.totals[0].result(Reduction.MEAN) == pytest.approx(
        bce_loss([p for p, _ in rows], [y for _, y in rows]), rel=1e-15)
    assert state is not None and int(sum(state.counts)) == 8


def test_list_columns_must_be_as_long_in_every_file(bce: Run, files: Files) -> None:
    files()
    Path("d").mkdir()
    Path("d/a.jsonl").write_text('{"probs": [0.1, 0.9], "labels": [0, 1]}\n'
                                 '{"probs": [0.5, 0.5], "labels": [1, 0]}\n')
    Path("d/b.jsonl").write_text('{"probs": [0.2, 0.7], "labels": [0, 1]}\n')
    Path("all.jsonl").write_text(Path("d/a.jsonl").read_text() + Path("d/b.jsonl").read_text())
    assert output(bce, "d")["loss"] == output(bce, "all.jsonl")["loss"]
    assert output(bce, "d")["shape"] == [3, 2]
    Path("d/c.jsonl").write_text('{"probs": [0.2, 0.7, 0.1], "labels": [0, 1, 1]}\n')
    assert refused(bce, "d") == (
        "bce: error: d/c.jsonl: its lists in column 'probs' hold 3 values, those of d/a.jsonl "
        "2: every file of d must have the same columns\n")


@pytest.mark.skipif(not HAS_ARROW, reason="needs the arrow extra")
def test_shards_are_parsed_by_pyarrow_when_the_whole_input_is_large(
        files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow's parser pays for its import on MIN_BYTES of input: a glob's shards each
    smaller but together larger are all parsed by it (and a piece of `--workers` as its
    whole input would be); the same files one by one are not."""
    from contextlib import ExitStack

    from bcecli.inputs import gather
    from bcecli.readers import arrow
    from bcecli.sources import Selection, ShardsReader

    files()
    Path("d").mkdir()
    rows = "".join(f"{i / 7},{i % 2}\n" for i in range(1, 60_000))  # not fixed-width lines
    for k in range(3):  # each over a block, so a stream of it would go to pyarrow too
        Path(f"d/s{k}.csv").write_text("p,y\n" + rows)
    size = sum(path.stat().st_size for path in Path("d").iterdir())
    monkeypatch.setattr(arrow, "MIN_BYTES", size - 1)
    for only in [{}, {"d": Selection("d/s0.csv", ("d/s1.csv",), size)}]:
        with ExitStack() as resources:
            plan = gather("d", only=only, resources=resources)
            reader = plan.readers[0]
            assert isinstance(reader, ShardsReader)
            used = []
            for _ in reader.blocks([0, 1]):
                assert reader.current is not None
                used.append(getattr(reader.current, "fast", None) is not None)
            assert used and all(used), only
    with ExitStack() as resources:
        one = gather("d/s1.csv", resources=resources).readers[0]
        assert getattr(one, "fast", "no such attribute") is None

