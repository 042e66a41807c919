"""Issue 15: `compute --scheduler` / `--scheduler-file`, the pieces as tasks on a Dask cluster.

A real cluster on loopback (a `LocalCluster` of two worker processes, and a
`dask scheduler` with `dask worker`s started as processes of their own), reached by
the installed `bce` in a process of its own, as a user would. Every result must be
the single-process JSON, to the bit, also when a worker is killed mid-run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import BCE, Files, Run, refused

HAS_DASK = importlib.util.find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(not HAS_DASK, reason="needs the dask extra")
if HAS_DASK:
    import distributed

DASK = Path(sys.executable).parent / "dask"
VERSION = __import__("bcecli").__version__
INSTALL = (f"hint: install this bce ({VERSION}) in the workers' environment, with the dask "
           "extra (and arrow for Parquet)")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two worker processes (one thread each) on loopback, and a client of the test's own."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as local, \
            distributed.Client(local, set_as_default=False) as client:
        yield client


def bce_run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BCE), "compute", *args], capture_output=True, text=True,
                          check=False, cwd=cwd, env=os.environ | env, timeout=120)


def write_shards(folder: Path, count: int, rows: int, seed: int = 15) -> None:
    """`count` CSV shards of about `rows` rows: two classes and weights, the predictions
    rounded to a few digits (ties in the sketch), the same highest loss in every shard
    (ties in --top)."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for k in range(count):
        n = int(rng.integers(1, 2 * rows))
        p = rng.random((n, 2)).round(int(rng.integers(2, 9)))
        p[:1, 0] = 0.001
        y = (rng.random((n, 2)) < p).astype(np.int64)
        y[:1, 0] = 1
        w = rng.uniform(0.1, 3, n)
        (folder / f"part-{k:05d}.csv").write_text("p1,p2,y1,y2,w\n" + "".join(
            f"{a!r},{b!r},{c},{d},{e!r}\n"
            for a, b, c, d, e in zip(p[:, 0].tolist(), p[:, 1].tolist(), y[:, 0].tolist(),
                                     y[:, 1].tolist(), w.tolist(), strict=True)))


@needs_dask
@pytest.mark.parametrize("options", [
    ["--pred-col", "p1", "--target-col", "y1", "--metrics", "--top", "7", "--hist"],
    ["--pred-col", "p1", "--target-col", "y1", "--weight-col", "w", "--metrics", "--binning",
     "mass", "--top", "4", "--base", "2", "--check", "ne < 2"],
    ["--pred-col", "p1,p2", "--target-col", "y1,y2", "--metrics", "--hist", "--top", "5"],
])
def test_a_cluster_gives_one_process_result_to_the_bit(cluster: Any, tmp_path: Path,
                                                        options: list[str]) -> None:
    write_shards(tmp_path / "s", 10, 300)
    shards = str(tmp_path / "s")  # absolute: the workers run in another directory
    one = bce_run(shards, *options, "--json")
    many = bce_run(shards, *options, "--json", "--scheduler", cluster.scheduler.address)
    assert (many.returncode, many.stderr) == (one.returncode, one.stderr) == (0, "")
    assert many.stdout == one.stdout
    assert len({item["where"].split(":")[0] for item in json.loads(one.stdout)["top"]}) > 1


@needs_dask
def test_partial_from_a_cluster_merges_as_one_process_part(cluster: Any, tmp_path: Path
                                                            ) -> None:
    """A part is named by a random id; what `bce merge` makes of it is the same bits."""
    write_shards(tmp_path / "s", 8, 50)
    options = [str(tmp_path / "s"), "--pred-col", "p1", "--target-col", "y1", "--partial",
               "--top", "3", "--metrics"]
    (tmp_path / "one.part").write_text(bce_run(*options).stdout)
    many = bce_run(*options, "--scheduler", cluster.scheduler.address)
    assert (many.returncode, many.stderr) == (0, "")
    (tmp_path / "many.part").write_text(many.stdout)
    merged = [subprocess.run([str(BCE), "merge", str(tmp_path / name), "--json"],
                             capture_output=True, text=True, check=True).stdout.replace(name, "")
              for name in ("one.part", "many.part")]
    assert merged[1] == merged[0] and json.loads(merged[0])["count"] > 8


@needs_dask
def test_a_bad_value_is_the_earliest_pieces_error(cluster: Any, tmp_path: Path) -> None:
    write_shards(tmp_path / "s", 8, 50)
    for k, line in ((6, "0.5,0.5,1,0,1\n1.5,0.5,0,0,1\n"), (2, "0.5,0.5,1,0,1\n0.5,0.5,2,0,1\n")):
        (tmp_path / "s" / f"part-{k:05d}.csv").write_text("p1,p2,y1,y2,w\n" + line)
    shards = str(tmp_path / "s")
    one = bce_run(shards, "--pred-col", "p1", "--target-col", "y1")
    many = bce_run(shards, "--pred-col", "p1", "--target-col", "y1", "--scheduler",
                   cluster.scheduler.address)
    assert (many.returncode, many.stdout, many.stderr) == (2, "", one.stderr)
    assert one.stderr == (f"bce: error: {shards}/part-00002.csv:3: target 2.0 in column 'y1' "
                          "is outside [0, 1]\nhint: if the targets are class labels, pass "
                          "--pos-label with the positive one (it becomes 1, the other 0)\n")


@needs_dask
def test_a_worker_killed_mid_run_changes_nothing(cluster: Any, tmp_path: Path) -> None:
    """One of the two worker processes is killed once the first piece is done; Dask gives
    its pieces to the other (and to the worker its nanny starts again)."""
    write_shards(tmp_path / "s", 40, 2000)
    shards = str(tmp_path / "s")
    options = ["--pred-col", "p1,p2", "--target-col", "y1,y2", "--metrics", "--top", "5",
               "--json"]
    one = bce_run(shards, *options)
    pids: dict[str, int] = cluster.run(os.getpid)
    run = subprocess.Popen([str(BCE), "compute", shards, *options, "--scheduler",
                            cluster.scheduler.address], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        state: dict[str, Any] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not state.get("done"):
            state = cluster.run_on_scheduler(progress_of_bce)
            time.sleep(0.01)
        assert state.get("done") and state["done"] < 40, state  # mid-run
        victim = max(state["processing"], key=lambda worker: state["processing"][worker])
        os.kill(pids[victim], signal.SIGKILL)
        out, err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert (run.returncode, err) == (0, "")
    assert out == one.stdout
    cluster.wait_for_workers(2, timeout=60)  # the nanny's new worker, for the tests after


@needs_dask
def test_dask_log_lines_are_silenced_while_bce_runs(caplog: pytest.LogCaptureFixture) -> None:
    """What Dask survives (a worker lost: `distributed.client` warns "Couldn't gather ...,
    rescheduling" on its own handler) prints nothing; the levels come back after."""
    import logging

    from bcecli.cluster import quiet_dask

    client = logging.getLogger("distributed.client")
    before = client.level
    with quiet_dask():
        client.warning("Couldn't gather 1 keys, rescheduling")
        logging.getLogger("distributed").error("a worker lost")
    assert caplog.messages == []
    assert client.level == before
    client.warning("after bce")
    assert caplog.messages == ["after bce"]


def progress_of_bce(dask_scheduler: Any) -> dict[str, Any]:
    """On the scheduler: bce's pieces done, and each worker's bce pieces in hand."""
    tasks = [task for key, task in dask_scheduler.tasks.items() if str(key).startswith("bce-")]
    return {"done": sum(task.state == "memory" for task in tasks),
            "processing": {worker.address: sum(str(task.key).startswith("bce-")
                                                for task in worker.processing)
                           for worker in dask_scheduler.workers.values()}}


@needs_dask
def test_scheduler_and_workers_started_apart(tmp_path: Path) -> None:
    """`dask scheduler` and two `dask worker`s, each a process of its own, found through
    the scheduler file; the workers run in the data's directory, so relative paths work
    from there, and are refused from elsewhere."""
    write_shards(tmp_path / "s", 9, 100)
    started = []
    try:
        started.append(subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", "sf.json"], cwd=tmp_path, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 30
        while not (tmp_path / "sf.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        started += [subprocess.Popen(
            [str(DASK), "worker", "--scheduler-file", "sf.json", "--nthreads", "1",
             "--no-dashboard", "--host", "127.0.0.1"], cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        with distributed.Client(scheduler_file=str(tmp_path / "sf.json"),
                                set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        options = ["--pred-col", "p1", "--target-col", "y1", "--metrics", "--top", "3",
                   "--json"]
        one = bce_run("s", *options, cwd=tmp_path)
        many = bce_run("s", *options, "--scheduler-file", "sf.json", cwd=tmp_path)
        assert (many.returncode, many.stderr) == (0, "")
        assert many.stdout == one.stdout
        (tmp_path / "elsewhere").mkdir()
        away = bce_run("../s", "--pred-col", "p1", "--target-col", "y1", "--scheduler-file",
                       "../sf.json", cwd=tmp_path / "elsewhere")
        assert (away.returncode, away.stdout) == (2, "")
        assert re.fullmatch(
            r"bce: error: the Dask worker tcp://127\.0\.0\.1:\d+ runs in "
            + re.escape(str(tmp_path)) + ", not in " + re.escape(str(tmp_path / "elsewhere"))
            + ": a relative path would name another file there\n"
            "hint: give the inputs as absolute paths, or start the workers in this "
            r"directory\n", away.stderr), away.stderr
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            process.wait(timeout=30)


@needs_dask
def test_an_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as unused:  # a loopback port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    write_shards(tmp_path / "s", 2, 5)
    run = bce_run(str(tmp_path / "s"), "--pred-col", "p1", "--target-col", "y1",
                  "--scheduler", f"tcp://127.0.0.1:{port}",
                  DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s")
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (
        f"bce: error: no Dask scheduler answered at tcp://127.0.0.1:{port} within 1s\n"
        "hint: is the scheduler running, and is this its address? (Dask's "
        "distributed.comm.timeouts.connect sets how long to wait)\n")


@pytest.mark.parametrize(("args", "message"), [
    (["d", "--scheduler", "tcp://127.0.0.1:1", "--scheduler-file", "sf.json"],
     "use one of --scheduler and --scheduler-file"),
    (["d", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"],
     "--workers reads the pieces on this machine, --scheduler on the Dask cluster: use one "
     "of them"),
    (["-", "--scheduler-file", "sf.json"],
     "--scheduler-file splits files: stdin ('-') is read by one process"),
    (["d", "-r", "none", "--scheduler", "tcp://127.0.0.1:1"],
     "--scheduler merges totals: -r none writes every loss in order, in one process\n"
     "hint: drop --scheduler"),
    pytest.param(["d", "--scheduler", "nonsense"],
                 "--scheduler nonsense: missing port number in address 'nonsense'",
                 marks=needs_dask),
    pytest.param(["d", "--scheduler", "tcp://127.0.0.1:1"],
                 "--scheduler needs dask.distributed: pip install 'bcecli[dask]'",
                 marks=pytest.mark.skipif(HAS_DASK, reason="the dask extra is installed")),
    (["d", "--scheduler-file", "missing.json"],
     "missing.json: cannot read the scheduler file: No such file or directory\n"
     "hint: dask scheduler --scheduler-file PATH writes it"),
    (["d", "--scheduler-file", "sf.json"],
     "sf.json: not a Dask scheduler file: no \"address\" in it\n"
     "hint: dask scheduler --scheduler-file PATH writes it"),
])
def test_what_the_scheduler_options_refuse(bce: Run, files: Files, args: list[str],
                                           message: str) -> None:
    files(sf__json='{"type": "Scheduler"}')
    Path("d").mkdir()
    for name in ("a.csv", "b.csv"):
        Path("d", name).write_text("p,y\n0.5,1\n")
    assert refused(bce, *args, input=b"0.5 1\n") == f"bce: error: {message}\n"


def test_workers_without_this_bcecli_are_refused() -> None:
    from bcecli.cluster import check_workers
    from bcecli.errors import UsageError

    def versions(**workers: str | None) -> dict[str, Any]:
        return {"workers": {f"tcp://127.0.0.1:{port.removeprefix('w')}":
                            {"packages": {"python": "3.11", "bcecli": version}}
                            for port, version in workers.items()}}

    check_workers(versions(w1=VERSION, w2=VERSION))
    for given, problem in (({"w1": VERSION, "w2": None}, "cannot import bcecli"),
                           ({"w1": "0.0.1"}, f"has bcecli 0.0.1, this bce {VERSION}")):
        with pytest.raises(UsageError) as raised:
            check_workers(versions(**given))
        port = next(port for port, version in given.items() if version != VERSION)[1:]
        assert f"bce: error: {raised.value}\nhint: {raised.value.hint}" == \
            f"bce: error: the Dask worker tcp://127.0.0.1:{port} {problem}\n{INSTALL}"


def test_a_plain_run_imports_no_dask(tmp_path: Path) -> None:
    """Neither a plain run nor `--workers` imports dask: the extra costs their start-up
    nothing."""
    write_shards(tmp_path / "s", 2, 5)
    script = (
        "import sys\nfrom bcecli.cli import run\n"
        "sys.argv = ['bce', 'compute', 's', '--pred-col', 'p1', '--target-col', 'y1', "
        "'-f', 'plain', *sys.argv[1:]]\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', "
        "'tornado') or m == 'bcecli.cluster'))\n")
    for extra in ([], ["--workers", "2"]):
        run = subprocess.run([sys.executable, "-c", script, *extra], capture_output=True,
                             text=True, check=True, cwd=tmp_path)
        assert run.stdout.splitlines()[1:] == ["[]"], run.stderr
