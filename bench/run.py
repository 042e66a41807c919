"""Benchmark bce against the one-liners users would otherwise write: issue 12's matrix.

    bash bench/setup.sh                  # once: three virtual environments under bench/.venvs
    python3 bench/run.py                 # the whole matrix at 5M rows (see the end for its time)
    python3 bench/run.py --only csv,jsonl --repeats 5
    python3 bench/run.py --quick         # 200k rows, one repeat: a smoke test
    python3 bench/run.py --scale         # adds the 1M/10M/100M-row memory run
    .venv/bin/python bench/run.py --only workers  # issue 15's --workers row alone

Each row races bce, from the numpy-only install and from the one with the
`arrow` extra, against the peers (DuckDB, polars, pyarrow, pandas, numpy or a
stdlib `json` loop) reading the same file and printing the same numbers: the
BCE mean with PyTorch's clamp of each log term at -100 (plus the top 10 losses,
the metrics, or every loss, for the rows of those options). Every contender is
a child process under GNU time (%M is its peak RSS), stdout to a file; one
warm-up each (page cache, imports), then `--repeats` runs in rotating order;
the median wall time is reported. A peer whose warm-up took over 4x the row's
fastest contender and over 2 s is timed once more only (`n` in the details):
it is far from the fastest, and the full run stays near half an hour.
Each contender's output is compared with bce's (relative difference; bce's sum
is the exactly rounded one), so a peer computing something else shows.

Nothing here is a test: the machine is shared and noisy, so the suite checks
correctness and this script reports speed. The data (bench/datagen.py) is made
once per row count and seed, in the peers' venv, and cached under bench/data/.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / "bench" / ".venvs"
TIME = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"  # GNU time (apt: time)
PEAK_LIMIT = 150  # MiB, issue 12
SLOW = 4.0  # a peer whose warm-up is this many times the fastest is timed once more only


def python(venv: str) -> str:
    return str(VENVS / venv / "bin" / "python")


def bce(venv: str) -> str:
    return str(VENVS / venv / "bin" / "bce")


# -- the peers ----------------------------------------------------------------------------
# Each is a script run as `python -c SCRIPT FILE...` (FILEs in sys.argv[1:]) that prints
# the mean loss, or for --top the mean then the top 10 losses, or for --metrics a JSON
# object of bce's keys, or for -r none the CSV of every loss.

NUMPY_LOSS = "-(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))"
POLARS_LOSS = ('(-(pl.col("label") * pl.col("prediction").log().clip(-100)'
               ' + (1 - pl.col("label")) * (-pl.col("prediction")).log1p().clip(-100)))')
SQL_LOSS = ("-(label * greatest(ln(prediction), -100)"
            " + (1 - label) * greatest(ln(1 - prediction), -100))")

# How each tool reads each input into p and y (numpy arrays), a polars LazyFrame `df`,
# or a DuckDB FROM clause (an f-string over `a = sys.argv[1:]`).
COLUMNS = "\np = t['prediction'].to_numpy(); y = t['label'].to_numpy()"
NUMPY_READ = {
    "pair": "p = np.loadtxt(a[0], skiprows=1); y = np.loadtxt(a[1], skiprows=1)",
    "table": 'p, y = np.loadtxt(a[0], delimiter=",", skiprows=1, usecols=(1, 2), unpack=True)',
    "stdin": 'p, y = np.loadtxt(sys.stdin, delimiter=",", skiprows=1, usecols=(1, 2), unpack=True)',
    "jsonl": ('import json\np, y = np.array([(r["prediction"], r["label"])'
              ' for r in map(json.loads, open(a[0]))]).T'),
    "json": ('import json\nd = json.load(open(a[0]))\n'
             'p = np.array(d["predictions"]); y = np.array(d["targets"])'),
    "npy": "p = np.load(a[0]); y = np.load(a[1])",
    "fixed": "p = np.loadtxt(a[0]); y = np.loadtxt(a[1])",
}
PYARROW_READ = {
    "pair": ("import pyarrow.csv as pc\np = pc.read_csv(a[0])['prediction'].to_numpy()\n"
             "y = pc.read_csv(a[1])['label'].to_numpy()"),
    "table": "import pyarrow.csv as pc\nt = pc.read_csv(a[0])" + COLUMNS,
    "stdin": "import pyarrow.csv as pc\nt = pc.read_csv(sys.stdin.buffer)" + COLUMNS,
    "jsonl": "import pyarrow.json as pj\nt = pj.read_json(a[0])" + COLUMNS,
    "json": ("import pyarrow.json as pj\n"
             "t = pj.read_json(a[0], read_options=pj.ReadOptions(block_size=1 << 30))\n"
             "p = t['predictions'].combine_chunks().flatten().to_numpy()\n"
             "y = t['targets'].combine_chunks().flatten().to_numpy()"),
    "parquet": ("import pyarrow.parquet as pq\n"
                "t = pq.read_table(a[0], columns=['prediction', 'label'])" + COLUMNS),
    "fixed": ("import pyarrow.csv as pc\no = pc.ReadOptions(autogenerate_column_names=True)\n"
              "p = pc.read_csv(a[0], read_options=o)[0].to_numpy()\n"
              "y = pc.read_csv(a[1], read_options=o)[0].to_numpy()"),
}
PANDAS_READ = {
    "pair": ("p = pd.read_csv(a[0])['prediction'].to_numpy()\n"
             "y = pd.read_csv(a[1])['label'].to_numpy()"),
    "table": "t = pd.read_csv(a[0])" + COLUMNS,
    "stdin": "t = pd.read_csv(sys.stdin)" + COLUMNS,
    "jsonl": "t = pd.read_json(a[0], lines=True)" + COLUMNS,
    "json": "d = pd.read_json(a[0]); p = d['predictions'].to_numpy(); y = d['targets'].to_numpy()",
    "parquet": "t = pd.read_parquet(a[0], columns=['prediction', 'label'])" + COLUMNS,
    "fixed": ("p = pd.read_csv(a[0], header=None)[0].to_numpy()\n"
              "y = pd.read_csv(a[1], header=None)[0].to_numpy()"),
}
POLARS_READ = {
    "pair": 'df = pl.concat([pl.scan_csv(a[0]), pl.scan_csv(a[1])], how="horizontal")',
    "table": "df = pl.scan_csv(a[0])",
    "gzip": "df = pl.read_csv(a[0]).lazy()",
    "stdin": "df = pl.read_csv(sys.stdin.buffer).lazy()",
    "jsonl": "df = pl.scan_ndjson(a[0])",
    "json": ('df = pl.read_json(a[0]).explode(["predictions", "targets"]).lazy()'
             '.rename({"predictions": "prediction", "targets": "label"})'),
    "parquet": "df = pl.scan_parquet(a[0])",
    "fixed": ('df = pl.concat([pl.scan_csv(a[0], has_header=False, new_columns=["prediction"]),'
              ' pl.scan_csv(a[1], has_header=False, new_columns=["label"])], how="horizontal")'),
}
DUCKDB_FROM = {
    "pair": "read_csv('{a[0]}') POSITIONAL JOIN read_csv('{a[1]}')",
    "table": "read_csv('{a[0]}')",
    # a pipe cannot be sniffed twice: the columns are given
    "stdin": ("read_csv('/dev/stdin', auto_detect=false, skip=1, columns={{'id': 'BIGINT', "
              "'prediction': 'DOUBLE', 'label': 'BIGINT'}})"),
    "jsonl": "read_json('{a[0]}')",
    "json": ("(SELECT unnest(predictions) AS prediction, unnest(targets) AS label "
             "FROM read_json('{a[0]}', maximum_object_size=2000000000))"),
    "parquet": "read_parquet('{a[0]}')",
    "fixed": ("read_csv('{a[0]}', header=false, names=['prediction']) POSITIONAL JOIN "
              "read_csv('{a[1]}', header=false, names=['label'])"),
}


def array_peer(module: str, read: str, task: str) -> str:
    """A peer that reads into numpy arrays p and y and reports."""
    report = {
        "mean": "print(float(np.mean(loss)))",
        "top": ("print(float(np.mean(loss)),"
                " *np.sort(loss[np.argpartition(loss, -10)[-10:]])[::-1])"),
    }[task]
    return (f"import sys\nimport numpy as np\n{module}a = sys.argv[1:]\n{read}\n"
            f"loss = {NUMPY_LOSS}\n{report}")


def polars_peer(read: str, task: str) -> str:
    report = {
        "mean": f"print(df.select({POLARS_LOSS}.mean()).collect().item())",
        "top": (f'd = df.with_columns(loss={POLARS_LOSS}).collect()\n'
                'print(d["loss"].mean(),'
                ' *d.top_k(10, by="loss").sort("loss", descending=True)["loss"])'),
        "none": f'df.select(loss={POLARS_LOSS}).collect().write_csv(sys.stdout.buffer)',
        "metrics": ('d = df.collect()\n'
                    'p = d["prediction"].to_numpy(); y = d["label"].to_numpy()\n'
                    "from sklearn.metrics import (accuracy_score, average_precision_score,"
                    " brier_score_loss, log_loss, roc_auc_score)\n"
                    "from sklearn.calibration import calibration_curve\n"
                    "true, mean_p = calibration_curve(y, p, n_bins=10)\n"
                    "edges = np.linspace(0, 1, 11)\n"
                    "count = np.bincount(np.searchsorted(edges[1:-1], p), minlength=10)\n"
                    "loss = log_loss(y, p); q = y.mean()\n"
                    'print(json.dumps({"loss": loss,'
                    ' "accuracy": accuracy_score(y, p >= 0.5),'
                    ' "brier": brier_score_loss(y, p), "roc_auc": roc_auc_score(y, p),'
                    ' "average_precision": average_precision_score(y, p),'
                    ' "ece": float(np.sum(count[count > 0] * np.abs(true - mean_p)) / len(p)),'
                    ' "normalized_entropy": loss / (-q * np.log(q) - (1 - q) * np.log1p(-q)),'
                    ' "calibration": float(p.sum() / y.sum())}))'),
    }[task]
    return ("import sys, json\nimport numpy as np\nimport polars as pl\n"
            f"a = sys.argv[1:]\n{read}\n{report}")


def duckdb_peer(source: str, task: str) -> str:
    query = {
        "mean": f"SELECT avg({SQL_LOSS}) FROM {source}",
        "top": (f"SELECT avg(loss) OVER () AS mean, loss FROM (SELECT *, {SQL_LOSS} AS loss "
                f"FROM {source}) ORDER BY loss DESC LIMIT 10"),
        "none": f"COPY (SELECT {SQL_LOSS} AS loss FROM {source}) TO '/dev/stdout' (HEADER)",
    }[task]
    report = {"mean": "print(r[0][0])", "top": "print(r[0][0], *(row[1] for row in r))",
              "none": ""}[task]
    run = "duckdb.sql(q)" if task == "none" else "r = duckdb.sql(q).fetchall()"
    # the progress bar, drawn on stdout after 2 s, would be in the output
    return ("import sys\nimport duckdb\nduckdb.sql('SET enable_progress_bar = false')\n"
            f'a = sys.argv[1:]\nq = f"""{query}"""\n{run}\n{report}')


def pandas_none() -> str:
    return ("import sys\nimport numpy as np\nimport pandas as pd\na = sys.argv[1:]\n"
            f"{PANDAS_READ['pair']}\nloss = {NUMPY_LOSS}\n"
            "pd.DataFrame({'loss': loss}).to_csv(sys.stdout, index=False)")


# -- the matrix ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    name: str
    command: list[str]
    stdin: str | None = None  # a file piped in with cat, as `cat FILE | command`


@dataclass(frozen=True)
class Line:
    """One line of the summary: a bce contender against the fastest of some peers."""
    label: str
    bce: str
    peers: list[str]
    slowest: float | None = None  # start-up: the most bce/peer may be (else peer/bce >= 1)
    table: str = "main"  # "main" or "numpy-only"


@dataclass
class Row:
    name: str  # for --only
    title: str
    contenders: list[Contender]
    lines: list[Line]
    output: str = "result"  # or "losses" (-r none: every loss, compared line by line)
    repeats_factor: int = 1


@dataclass
class Outcome:
    output: Path  # the warm-up's stdout, which is checked
    wall: float = math.nan
    peak: float = math.nan
    runs: int = 0
    diff: float | None = None  # relative difference from the row's bce
    error: str = ""
    walls: list[float] = field(default_factory=list)


PEER_TOOLS = ("duckdb", "polars", "pyarrow", "pandas")
TEXT_NP_PEER = {"pair": "numpy.loadtxt", "table": "numpy.loadtxt", "gzip": "numpy.loadtxt",
                "stdin": "numpy.loadtxt", "jsonl": "stdlib json loop", "json": "stdlib json",
                "fixed": "numpy.loadtxt", "npy": "numpy.load"}


def peers_for(kind: str, files: list[str], task: str = "mean") -> list[Contender]:
    """The one-liners that read `kind` (a key of the read tables) and do `task`."""
    py = python("peers")
    read_kind = "table" if kind == "gzip" else kind
    out: list[Contender] = []
    stdin = files[0] if kind == "stdin" else None
    args = [] if stdin else files
    if read_kind in DUCKDB_FROM and task in ("mean", "top", "none"):
        out.append(Contender("duckdb", [py, "-c", duckdb_peer(DUCKDB_FROM[read_kind], task), *args],
                             stdin))
    if kind in POLARS_READ or read_kind in POLARS_READ:
        out.append(Contender("polars" + (" + sklearn" if task == "metrics" else ""),
                             [py, "-c", polars_peer(POLARS_READ.get(kind, POLARS_READ[read_kind]),
                                                    task), *args], stdin))
    if task in ("mean", "top"):
        if read_kind in PYARROW_READ:
            out.append(Contender("pyarrow", [
                py, "-c", array_peer("", PYARROW_READ[read_kind], task), *args], stdin))
        if read_kind in PANDAS_READ:
            out.append(Contender("pandas", [py, "-c", array_peer(
                "import pandas as pd\n", PANDAS_READ[read_kind], task), *args], stdin))
        if read_kind in NUMPY_READ:
            out.append(Contender(TEXT_NP_PEER[kind], [py, "-c", array_peer(
                "", NUMPY_READ[read_kind], task), *args], stdin))
    if task == "none":
        out.append(Contender("pandas", [py, "-c", pandas_none(), *args], stdin))
    return out


def bce_pair(args: list[str], files: list[str], kind: str, arrow_only: bool = False
             ) -> list[Contender]:
    """bce from both installs (the arrow extra's only, for what only it reads)."""
    stdin = files[0] if kind == "stdin" else None
    paths = ["-"] if stdin else files
    installs = [("bce[arrow]", "arrow")] + ([] if arrow_only else [("bce (numpy-only)", "default")])
    return [Contender(name, [bce(venv), "compute", *paths, *args], stdin)
            for name, venv in installs]


def matrix(data: Path, fixed: Path, small: Path, rows: int) -> list[Row]:
    """Issue 12's rows, in its order."""
    pair = [str(data / "preds.csv"), str(data / "targets.csv")]
    table = [str(data / "data.csv")]
    spec: list[tuple[str, str, str, list[str], list[str], str]] = [
        # name, title, kind, files, bce's options, task
        ("csv-pair", "CSV pair (preds.csv + targets.csv)", "pair", pair, [], "mean"),
        ("csv", "CSV id,prediction,label", "table", table, [], "mean"),
        ("csv-gz", "CSV id,prediction,label, gzipped", "gzip", [str(data / "data.csv.gz")], [],
         "mean"),
        ("jsonl", "JSON Lines", "jsonl", [str(data / "data.jsonl")], [], "mean"),
        ("json", 'JSON document {"predictions", "targets"}', "json", [str(data / "data.json")], [],
         "mean"),
        ("npy", "two .npy (float64, int64)", "npy",
         [str(data / "preds.npy"), str(data / "targets.npy")], [], "mean"),
        ("parquet", "Parquet id,prediction,label", "parquet", [str(data / "data.parquet")], [],
         "mean"),
        ("stdin", "CSV id,prediction,label on stdin", "stdin", table, [], "mean"),
        ("top", "--top 10 on the CSV", "table", table, ["--top", "10"], "top"),
        ("metrics", "--metrics on the CSV", "table", table, ["--metrics"], "metrics"),
        ("none-csv", "-r none -f csv on the CSV pair", "pair", pair, ["-r", "none"], "none"),
        ("fixed", f"fixed-width CSV pair (%.6f, 0/1), {2 * rows:,} rows", "fixed",
         [str(fixed / "preds.csv"), str(fixed / "targets.csv")], [], "mean"),
        ("metrics-fixed", f"--metrics on the fixed-width CSV pair, {2 * rows:,} rows", "fixed",
         [str(fixed / "preds.csv"), str(fixed / "targets.csv")], ["--metrics"], "metrics"),
    ]
    out = []
    for name, title, kind, files, options, task in spec:
        output = ["-f", "csv"] if task == "none" else ["-f", "json"]
        bces = bce_pair([*options, *output], files, kind, arrow_only=kind == "parquet")
        peers = peers_for(kind, files, task)
        lines = [Line(name, "bce[arrow]", [p.name for p in peers])]
        np_peer = TEXT_NP_PEER.get(kind)
        if np_peer and kind != "parquet" and any(c.name == np_peer for c in peers):
            lines.append(Line(name, "bce (numpy-only)", [np_peer], table="numpy-only"))
        out.append(Row(name, title, bces + peers, lines, "losses" if task == "none" else "result"))
    files = [str(small / "preds.csv"), str(small / "targets.csv")]
    startup = [Contender("python -c 'import numpy'", [python("default"), "-c", "import numpy"])]
    for venv, suffix in (("default", ""), ("arrow", "[arrow]")):
        for fmt in ("json", "table"):
            startup.append(Contender(f"bce{suffix} -f {fmt}",
                                     [bce(venv), "compute", *files, "-f", fmt]))
    out.append(Row("startup", "1,000 rows: start-up", startup, [
        Line(f"startup{suffix} -f {fmt}", f"bce{suffix} -f {fmt}", [startup[0].name],
             slowest={"json": 1.5, "table": 1.8}[fmt])
        for suffix in ("", "[arrow]") for fmt in ("json", "table")], repeats_factor=4))
    return out


# -- measuring ----------------------------------------------------------------------------


def measure(contender: Contender, output: Path, timeout: float) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run, stdout to `output`.

    The peak comes from GNU time, not from this process's own wait4: Linux carries
    a parent's peak RSS into a child across exec, so a child of this process would
    report at least this process's peak. With stdin piped through `sh -c 'cat | ...'`,
    %M is the largest of sh, cat and the command (wait4 folds in waited-for children).
    """
    command = contender.command
    if contender.stdin:
        command = ["sh", "-c", 'f=$1; shift; cat "$f" | "$@"', "sh", contender.stdin, *command]
    with tempfile.NamedTemporaryFile("r") as peak, open(output, "wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen([TIME, "-f", "%M", "-o", peak.name, *command], stdout=out,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        try:
            _, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            raise RuntimeError(f"timed out after {timeout:.0f} s") from None
        wall = time.perf_counter() - start
        if child.returncode != 0:
            message = [line for line in stderr.decode(errors="replace").splitlines()
                       if line.strip() and not line.startswith("Command exited")]
            # bce's own "bce: error: ..." line (a hint may follow), else a traceback's last
            said = [line for line in message if line.startswith("bce: error")] or message[-1:]
            raise RuntimeError(said[0][:160] if said else f"exit {child.returncode}")
        return wall, int(peak.read().split()[-1]) / 1024


def race(row: Row, repeats: int, timeout: float, scratch: Path) -> dict[str, Outcome]:
    """Every contender once to warm up, then `repeats` timed runs in rotating order."""
    outcomes = {c.name: Outcome(scratch / f"{row.name}-{i}.out")
                for i, c in enumerate(row.contenders)}
    peaks: dict[str, list[float]] = {c.name: [] for c in row.contenders}
    warm: dict[str, float] = {}
    for c in row.contenders:
        try:
            warm[c.name], peak = measure(c, outcomes[c.name].output, timeout)
            peaks[c.name].append(peak)
        except RuntimeError as error:
            outcomes[c.name].error = str(error)
    fastest = min(warm.values(), default=0.0)
    plan = {name: 1 if not name.startswith("bce") and wall > max(SLOW * fastest, 2.0) else repeats
            for name, wall in warm.items()}
    scratch_out = scratch / f"{row.name}-timed.out"
    runnable = [c for c in row.contenders if c.name in plan]
    for r in range(max(plan.values(), default=0)):
        shift = r % len(runnable)
        for c in runnable[shift:] + runnable[:shift]:
            if len(outcomes[c.name].walls) >= plan[c.name] or outcomes[c.name].error:
                continue
            try:
                wall, peak = measure(c, scratch_out, timeout)
            except RuntimeError as error:
                outcomes[c.name].error = str(error)
                continue
            outcomes[c.name].walls.append(wall)
            peaks[c.name].append(peak)
    for name, outcome in outcomes.items():
        if outcome.walls and not outcome.error:
            outcome.wall = statistics.median(outcome.walls)
            outcome.runs = len(outcome.walls)
            outcome.peak = max(peaks[name])
    scratch_out.unlink(missing_ok=True)
    return outcomes


# -- checking the numbers -----------------------------------------------------------------


METRIC_KEYS = ("accuracy", "brier", "roc_auc", "average_precision", "ece", "normalized_entropy",
               "calibration")  # what the metrics peer computes too


def values(path: Path) -> dict[str, Any]:
    """The numbers a contender printed: bce's JSON, a peer's JSON object, or plain numbers."""
    text = path.read_text().strip()
    if not text:
        return {}
    if text.startswith("{"):
        data: dict[str, Any] = json.loads(text)
        if "reduction" not in data:  # a peer's JSON object
            return data
        out: dict[str, Any] = {"loss": data["loss"]}
        if data.get("top"):
            out["top"] = [t["loss"] for t in data["top"]]
        if "metrics" in data:  # the peer's keys, and the bounds that certify an estimate
            out |= {key: value for key, value in data["metrics"].items()
                    if key in METRIC_KEYS or key.endswith("_bounds")}
        return out
    numbers = [float(word) for word in text.split()]
    return {"loss": numbers[0], **({"top": numbers[1:]} if len(numbers) > 1 else {})}


def relative(a: float, b: float) -> float:
    return 0.0 if a == b else abs(a - b) / max(abs(b), 1e-300)


def compare(found: Path, reference: Path, losses: bool) -> float:
    """The largest relative difference of found's numbers from reference's (inf: missing)."""
    if losses:
        worst = 0.0
        with open(found) as found_lines, open(reference) as reference_lines:
            for count, (a, b) in enumerate(itertools.zip_longest(found_lines, reference_lines)):
                if a is None or b is None:
                    return math.inf  # not as many lines
                if count and a != b:  # past the header, not the same text
                    worst = max(worst, relative(float(a), float(b)))
        return worst
    ours, theirs = values(found), values(reference)
    worst = 0.0
    for key, expected in theirs.items():
        got = ours.get(key)
        if key.endswith("_bounds"):
            continue
        if f"{key}_bounds" in ours or f"{key}_bounds" in theirs:
            # a sketch's estimate: it agrees when its certified bounds meet the other's
            # (an exact value is bounds of width 0)
            if got is None or expected is None:
                return math.inf
            (a, b), (c, d) = (side.get(f"{key}_bounds", [side[key]] * 2) for side in (ours, theirs))
            if max(a, c) > min(b, d):
                return math.inf
            continue
        if isinstance(expected, list):
            if not isinstance(got, list) or len(got) != len(expected):
                return math.inf
            pairs = list(zip(sorted(got, reverse=True), expected, strict=True))
        elif expected is None or got is None:
            if expected is not got:
                return math.inf
            continue
        else:
            pairs = [(got, expected)]
        worst = max([worst, *(relative(float(g), float(e)) for g, e in pairs)])
    return worst


def check(row: Row, outcomes: dict[str, Outcome]) -> None:
    reference = next((outcomes[name] for name in ("bce[arrow]", "bce (numpy-only)")
                      if name in outcomes and not outcomes[name].error), None)
    if reference is None or row.name == "startup":
        return
    for outcome in outcomes.values():
        if not outcome.error:
            try:
                outcome.diff = compare(outcome.output, reference.output, row.output == "losses")
            except ValueError:  # not numbers: shown as a mismatch
                outcome.diff = math.inf


# -- reporting ----------------------------------------------------------------------------


def seconds(outcome: Outcome) -> str:
    return "failed" if outcome.error else f"{outcome.wall:.3f}"


def detail(row: Row, outcomes: dict[str, Outcome]) -> list[str]:
    lines = []
    for name, o in outcomes.items():
        if o.error:
            lines.append(f"| {row.name} | {name} | failed: {o.error} | | | |")
            continue
        diff = "-" if o.diff is None else ("MISMATCH" if o.diff > 1e-9 else f"{o.diff:.1e}")
        lines.append(f"| {row.name} | {name} | {o.wall:.3f} | {o.runs} | {o.peak:.0f} | {diff} |")
    return lines


def summary(row: Row, outcomes: dict[str, Outcome], line: Line) -> str:
    mine = outcomes[line.bce]
    peers = [(outcomes[p].wall, p) for p in line.peers if not outcomes[p].error]
    if not peers:
        return f"| {line.label} | {seconds(mine)} | | (every peer failed) | | | | | |"
    name = min(peers)[1]
    peer = outcomes[name]
    if mine.error:
        return (f"| {line.label} | failed | | {name} | {peer.wall:.3f} | {peer.peak:.0f} | | | "
                f"bce failed: {mine.error} |")
    if line.slowest is None:
        ratio, target, slower = f"{peer.wall / mine.wall:.2f}", "≥ 1", peer.wall < mine.wall
    else:
        times = mine.wall / peer.wall
        ratio, target, slower = f"bce {times:.2f}×", f"bce ≤ {line.slowest}×", times > line.slowest
    misses = [what for what, bad in (
        ("slower", slower),
        (f"peak > {PEAK_LIMIT}", mine.peak > PEAK_LIMIT and row.name != "startup"),
        ("peer disagrees", peer.diff is not None and peer.diff > 1e-9)) if bad]
    return (f"| {line.label} | {mine.wall:.3f} | {mine.peak:.0f} | {name} | {peer.wall:.3f} | "
            f"{peer.peak:.0f} | **{ratio}** | {target} | "
            f"{', '.join(misses) or 'met'} |")


SUMMARY_HEAD = ["| row | bce s | bce MiB | fastest peer | peer s | peer MiB | peer/bce | target"
                " | |",
                "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
DETAIL_HEAD = ["| row | contender | median s | n | peak MiB | rel. diff vs bce |",
               "| --- | --- | ---: | ---: | ---: | ---: |"]


def generate(kind: str, rows: int, seed: int) -> Path:
    """bench/datagen.py in the peers' venv (it needs numpy, pandas and pyarrow)."""
    done = subprocess.run([python("peers"), str(ROOT / "bench" / "datagen.py"), kind, str(rows),
                           str(seed)], check=True, capture_output=True, text=True)
    return Path(done.stdout.strip())


def scale_run(report: list[str], checks: list[str], timeout: float) -> None:
    """Peak RSS of bce over 1M, 10M and 100M fixed-width rows: it must not grow."""
    peaks = {}
    with tempfile.TemporaryDirectory() as scratch:
        for rows in (1_000_000, 10_000_000, 100_000_000):
            folder = generate("fixed", rows, 0)
            files = [str(folder / "preds.csv"), str(folder / "targets.csv")]
            row = Row("scale", f"{rows:,} rows", [
                Contender(f"bce{'[arrow]' if v == 'arrow' else ''} {rows:,}",
                          [bce(v), "compute", *files, "-f", "json"]) for v in ("default", "arrow")],
                [])
            outcomes = race(row, 1, timeout, Path(scratch))
            report.extend(detail(row, outcomes))
            print("\n".join(report[-2:]), flush=True)
            peaks[rows] = max(o.peak for o in outcomes.values())
    spread = max(peaks.values()) / min(peaks.values()) - 1
    checks.append(f"- peak RSS spread over 1M/10M/100M rows: **{spread:.2f}** (target ≤ 0.20) "
                  f"{'met' if spread <= 0.2 else 'MISSED'}")


# -- issue 15: --workers ------------------------------------------------------------------

SHARDS = 16


def shard_files(rows: int, seed: int, shards: int = SHARDS) -> Path:
    """`shards` CSV files of id,prediction,label (repr floats) holding `rows` rows in all,
    made here with the standard library (no venv needed), cached under bench/data/."""
    import random

    folder = ROOT / "bench" / "data" / f"shards-{rows}-{shards}-s{seed}"
    if (folder / ".complete").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    draw = random.Random(seed)
    for k in range(shards):
        with open(folder / f"part-{k:05d}.csv", "w") as out:
            out.write("id,prediction,label\n")
            for i in range(k * rows // shards, (k + 1) * rows // shards):
                p = draw.random()
                out.write(f"{i},{p!r},{int(draw.random() < p)}\n")
    (folder / ".complete").touch()
    return folder


def workers_run(repeats: int, timeout: float, rows: int, seed: int) -> list[str]:
    """`--workers 2` against the same run pinned to one core (`taskset -c 0`, --workers 1),
    on SHARDS CSV shards of `rows` rows; and the cost of a piece: the wall of 16 and of 32
    tiny shards (1,000 rows each) with --workers 2, whose difference, times the 2 workers,
    over the 16 more pieces, is the worker time one piece costs beyond its rows."""
    commands = {venv: bce(venv) for venv in ("default", "arrow") if Path(bce(venv)).exists()}
    if not commands:
        commands = {"beside python": str(Path(sys.executable).parent / "bce")}
    big = shard_files(rows, seed)
    tiny = {n: shard_files(n * 1000, seed, n) for n in (16, 32)}
    lines = ["| install | taskset -c 0, --workers 1 s | --workers 2 s | speed-up | target | "
             "peak MiB (w1 / w2) | 16 tiny shards s | 32 tiny shards s | per piece ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    with tempfile.TemporaryDirectory(prefix="bce-bench-") as scratch:
        for venv, command in commands.items():
            one = Contender("one core", ["taskset", "-c", "0", command, "compute", str(big),
                                         "-f", "json", "--no-progress"])
            two = Contender("--workers 2", [command, "compute", str(big), "-f", "json",
                                            "--workers", "2", "--no-progress"])
            small = [Contender(f"{n} tiny", [command, "compute", str(folder), "-f", "json",
                                            "--workers", "2", "--no-progress"])
                     for n, folder in tiny.items()]
            row = Row("workers", f"{rows:,} rows in {SHARDS} CSV shards ({venv})",
                      [one, two, *small], [])
            outcomes = race(row, repeats, timeout, Path(scratch))
            failed = [f"{name}: {o.error}" for name, o in outcomes.items() if o.error]
            if failed:
                lines.append(f"| {venv} | failed: {'; '.join(failed)} | | | | | | | |")
                continue
            same = values(outcomes["one core"].output)["loss"] == \
                values(outcomes["--workers 2"].output)["loss"]
            w1, w2 = outcomes["one core"], outcomes["--workers 2"]
            t16, t32 = outcomes["16 tiny"].wall, outcomes["32 tiny"].wall
            speedup = w1.wall / w2.wall
            lines.append(
                f"| {venv} | {w1.wall:.3f} | {w2.wall:.3f} | **{speedup:.2f}×** | ≥ 1.6× "
                f"{'met' if speedup >= 1.6 else 'MISSED'}{'' if same else ', LOSS DIFFERS'} | "
                f"{w1.peak:.0f} / {w2.peak:.0f} | {t16:.3f} | {t32:.3f} | "
                f"{(t32 - t16) * 2 / 16 * 1000:.0f} |")
            print(lines[-1], flush=True)
    return lines + parent_peaks(commands, repeats, timeout, big)


def parent_peaks(commands: dict[str, str], repeats: int, timeout: float, shards: Path
                 ) -> list[str]:
    """`--metrics` on the shards, in one process and with `--workers 2`: the peak and CPU
    of bce's own process (`bench/parent_peak.py`: GNU time gives the largest process of
    the tree, here a worker's or the parent's), beside the largest process's and the
    workers' CPU; a warm-up, then `repeats` runs in rotating order (the peak: the
    largest seen; wall and CPU: the median). Every run's JSON must be one process's."""
    runs = {"one process": ["--metrics"], "--workers 2": ["--metrics", "--workers", "2"],
            "one process, --top 10 --hist": ["--metrics", "--top", "10", "--hist"],
            "--workers 2, --top 10 --hist": ["--metrics", "--top", "10", "--hist",
                                              "--workers", "2"]}
    lines = ["", f"`--metrics` on {SHARDS} CSV shards ({shards.name}): bce's own process",
             "", "| install | run | parent peak MiB | largest process MiB | wall s | "
             "CPU s parent / workers | JSON | ≤ 150 MiB |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    wrapper = str(ROOT / "bench" / "parent_peak.py")
    for venv, command in commands.items():
        interpreter = str(Path(command).parent / "python")
        seen: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
        texts: dict[str, str] = {}
        try:
            for r in range(repeats + 1):  # the first: a warm-up, not counted
                names = list(runs)[r % len(runs):] + list(runs)[:r % len(runs)]
                for name in names:
                    figures, texts[name] = parent_run(
                        [interpreter, wrapper, "compute", str(shards), "-f", "json",
                         "--no-progress", *runs[name]], timeout)
                    if r:
                        seen[name].append(figures)
        except RuntimeError as error:
            lines.append(f"| {venv} | failed: {error} | | | | | | |")
            continue
        for name, measured in seen.items():
            same = texts[name] == texts[name.replace("--workers 2", "one process")]
            peak = max(f["parent_mib"] for f in measured)
            lines.append(
                f"| {venv} | `{' '.join(runs[name])}` | {peak:.0f} | "
                f"{max(f['largest_mib'] for f in measured):.0f} | "
                f"{statistics.median(f['wall'] for f in measured):.2f} | "
                f"{statistics.median(f['parent_cpu'] for f in measured):.2f} / "
                f"{statistics.median(f['children_cpu'] for f in measured):.2f} | "
                f"{'same' if same else 'DIFFERS'} | "
                f"{'met' if peak <= PEAK_LIMIT else 'MISSED'} |")
            print(lines[-1], flush=True)
    return [*lines, "", f"(load average {os.getloadavg()[0]:.1f} at the end)"]


def parent_run(command: list[str], timeout: float) -> tuple[dict[str, float], str]:
    """One run of `bench/parent_peak.py` under GNU time: its figures (the parent's, its
    children's, the largest process's peak and the wall time) and its stdout."""
    with tempfile.NamedTemporaryFile("r") as peak:
        start = time.perf_counter()
        try:
            done = subprocess.run([TIME, "-f", "%M", "-o", peak.name, *command],
                                  capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"timed out after {timeout:.0f} s") from None
        wall = time.perf_counter() - start
        said = [line for line in done.stderr.splitlines() if line.startswith("parent-peak ")]
        if done.returncode != 0 or not said:
            raise RuntimeError((done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
                                )[0][:160])
        figures: dict[str, float] = json.loads(said[-1].removeprefix("parent-peak "))
        return figures | {"wall": wall, "largest_mib": int(peak.read().split()[-1]) / 1024}, \
            done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000,
                        help="rows of every input (the fixed-width row has twice as many)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after the warm-up")
    parser.add_argument("--only", help="comma list of rows (and 'accuracy'): " + ", ".join(
        ["csv-pair", "csv", "csv-gz", "jsonl", "json", "npy", "parquet", "stdin", "top",
         "metrics", "none-csv", "fixed", "metrics-fixed", "startup", "accuracy", "workers"]))
    parser.add_argument("--quick", action="store_true", help="200k rows, one repeat: a smoke test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per run")
    parser.add_argument("--scale", action="store_true", help="add 1M, 10M and 100M rows for memory")
    parser.add_argument("--workers-rows", type=int, default=4_000_000,
                        help="rows of the workers row's 16 shards, in all")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeats = 200_000, 1
    began = time.perf_counter()
    if args.only == "workers":  # bce alone: no peers (and the bce beside this python if
        # bench/.venvs is not set up)
        print("\n".join(workers_run(args.repeats, args.timeout, args.workers_rows, args.seed)))
        return
    data = generate("repr", args.rows, args.seed)
    rows = matrix(data, generate("fixed", 2 * args.rows, args.seed),
                  generate("repr", 1000, args.seed), args.rows)
    wanted = set(args.only.split(",")) if args.only else None
    known = {row.name for row in rows} | {"accuracy"}
    if wanted and wanted - known:
        parser.error(f"unknown rows: {', '.join(sorted(wanted - known))} "
                     f"(known: {', '.join(sorted(known))})")
    print(f"{args.rows:,} rows, {args.repeats} repeats; data in {data.parent}\n", flush=True)
    details = list(DETAIL_HEAD)
    main_lines: list[str] = []
    numpy_lines: list[str] = []
    checks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bce-bench-") as scratch:
        for row in rows:
            if wanted and row.name not in wanted:
                continue
            print(f"## {row.title}", flush=True)
            outcomes = race(row, args.repeats * row.repeats_factor, args.timeout, Path(scratch))
            check(row, outcomes)
            lines = detail(row, outcomes)
            details.extend(lines)
            print("\n".join(lines), flush=True)
            for line in row.lines:
                text = summary(row, outcomes, line)
                (main_lines if line.table == "main" else numpy_lines).append(text)
                print(text, flush=True)
            for o in outcomes.values():
                o.output.unlink(missing_ok=True)
    if args.scale:
        scale_run(details, checks, args.timeout)
    if not wanted or "workers" in wanted:
        checks.extend(["", *workers_run(args.repeats, args.timeout, args.workers_rows,
                                        args.seed)])
    if not wanted or "accuracy" in wanted:
        done = subprocess.run([python("default"), str(ROOT / "bench" / "accuracy.py"),
                               str(data / "preds.csv"), str(data / "targets.csv")],
                              capture_output=True, text=True, check=True).stdout.strip()
        print(done)
        worst = float(done.split()[-1])
        checks.append(f"- {args.rows:,} rows, worst relative error of the streamed mean vs "
                      f"math.fsum over block sizes: **{worst:.2g}** (target ≤ 1e-13) "
                      f"{'met' if worst <= 1e-13 else 'MISSED'}")
    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {os.uname().machine}"
    print(f"\n# Summary ({args.rows:,} rows, median of {args.repeats}; {machine}; "
          f"load average {os.getloadavg()[0]:.1f}; took {time.perf_counter() - began:.0f} s)\n")
    print("\n".join([*SUMMARY_HEAD, *main_lines]))
    if numpy_lines:
        print("\nThe numpy-only install against the numpy/stdlib one-liner:\n")
        print("\n".join([*SUMMARY_HEAD, *numpy_lines]))
    print("\n" + "\n".join(details))
    if checks:
        print("\n" + "\n".join(checks))


if __name__ == "__main__":
    main()
