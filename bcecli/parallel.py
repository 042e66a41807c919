"""`--workers N`: an input's pieces (files, row groups) read in N processes, merged exactly.

A piece is one shard of each many-file input (PREDICTIONS and TARGETS pair shard
by shard: `sources`), or some whole row groups of a Parquet file input (of each,
where every input is one, their row groups as long). A `Piece` is all a process
needs to read one: the run's `Job` (its options) and which files, picklable.
`run_piece` reads it through the normal pipeline, in whatever process it is
given, and returns text: a line of
what the run's warnings need (rows, the extreme predictions), then the piece's
partial result, exactly as `compute --partial` writes it (`shards`), as UTF-8
bytes. Nothing here assumes the local pool: another engine can map `run_piece`
over `pieces` and merge the texts with `merge_texts`.

The parent merges the texts in piece order, as `bce merge` merges files
(`shards.merged`), so the result is what one process gives: the sums are exact,
and equal losses in `--top` go to the earlier piece, as to the earlier row. At
most N pieces are out at once: the parent holds the merged state and at most N
pieces' texts. A piece that fails raises its own error (its file and line); the
earliest piece's error is the one reported.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Protocol

from bcecli.core import LossTotal
from bcecli.environment import Environment
from bcecli.errors import BceError, UsageError
from bcecli.inputs import Plan
from bcecli.job import Job
from bcecli.pipeline import Streamed, nothing_read
from bcecli.sources import RowGroups, Selection, ShardsReader

if TYPE_CHECKING:
    from concurrent.futures import Future

    from bcecli.diagnostics import Diagnostics


@dataclass(frozen=True)
class Piece:
    """One piece of a run: its job, and the files of each many-file input it reads."""

    job: Job
    index: int
    only: dict[str, Selection | RowGroups]

    @property
    def name(self) -> str:
        """How messages call it: its first file (or row groups)."""
        return next(iter(self.only.values())).name


class Engine(Protocol):
    """Where the pieces are read if not in processes of this machine (`cluster.Scheduler`)."""

    @property
    def option(self) -> str:
        """The option that chose it, for the messages."""

    def texts(self, split: list[Piece], progress: Any = None
              ) -> Iterator[tuple[Piece, bytes]]:
        """Each piece's text, in piece order."""


def evaluate(job: Job, env: Environment, workers: int, scheduler: Engine | None = None
             ) -> tuple[Plan, Streamed, LossTotal, Diagnostics | None]:
    """The run's plan, merged totals and diagnostics' state, its pieces read in `workers`
    processes, or by `scheduler` (a Dask cluster's workers: `cluster`) (the many-file
    inputs' files: regular files, so the first can be opened here and again by a worker);
    an input of one piece is read here, as without `--workers`."""
    with ExitStack() as resources:  # the columns, decided on the first files as one run does
        plan = job.inputs.plan(resources, Environment(), job.settings)
    # The score sketch's size follows whether pyarrow reads the first rows: as here.
    job = replace(job, arrow="pyarrow" in sys.modules)
    split = pieces(job, plan, scheduler.option if scheduler else "--workers")
    if len(split) < 2:
        with ExitStack() as resources:
            plan, streamed, diagnostics = job.stream(resources, env)
        return plan, streamed, streamed.totals[0], diagnostics
    progress = None
    if not job.inputs.no_progress and env.stderr_isatty:
        from bcecli.progress import ByteProgress

        progress = ByteProgress(len(split), sys.stderr, pieces=True)
    try:
        results = scheduler.texts(split, progress) if scheduler else \
            texts(split, workers, progress)
        streamed, state = merge_texts(job, plan, results)
    finally:
        if progress is not None:
            progress.close()
    nothing_read(plan, streamed)
    return plan, streamed, streamed.totals[0], state


def pieces(job: Job, plan: Plan, option: str = "--workers") -> list[Piece]:
    """A piece per shard of the many-file inputs (one piece: not split). Every input must
    then be many files, as many each: a single file cannot be cut by rows (`option` splits
    them, for the messages)."""
    readers = plan.readers
    many = [reader for reader in readers if isinstance(reader, ShardsReader)]
    if not many:
        return row_group_pieces(job, plan) or [Piece(job, 0, {})]
    single = next((reader for reader in readers if not isinstance(reader, ShardsReader)), None)
    if single is not None:
        raise UsageError(f"{option} reads the inputs' files in pairs, but {single.source} is "
                         f"one file beside the {len(many[0].files)} of {many[0].source}",
                         hint="give it as a glob or directory of as many files, or drop "
                         f"{option}")
    counts = {len(reader.files) for reader in many}
    if len(counts) > 1:  # with --id-col (without it, `sources.Pairing` refused it)
        raise UsageError(f"{option} reads the inputs' files in pairs: {many[0].source} has "
                         f"{len(many[0].files)}, {many[-1].source} {len(many[-1].files)}")
    inputs = replace(job.inputs, no_progress=True)
    return [Piece(replace(job, inputs=inputs), k,
                  {reader.source: Selection(reader.selection.first, (reader.files[k],),
                                            reader.selection.size)
                   for reader in many})
            for k in range(counts.pop())]


PIECE_ROWS = 1 << 16  # the least rows of a piece of row groups (a piece costs ~2 ms)


def row_group_pieces(job: Job, plan: Plan) -> list[Piece]:
    """Pieces of whole row groups, PIECE_ROWS rows or more each (the last may hold fewer),
    where every input is one Parquet file and their row groups are as long (pyarrow and
    Spark write the same sizes); none with `--id-col`, which joins rows wherever they are."""
    from bcecli.readers.arrow import ArrowTableReader

    if job.inputs.id_col is not None:
        return []
    inputs = job.inputs
    named = {path: role.reader for path, role in [
        (inputs.predictions, plan.predictions), (inputs.targets, plan.targets),
        (inputs.weights, plan.weights), (inputs.second, plan.second)]
        if path is not None and role is not None}
    sizes = {path: reader.group_rows() if isinstance(reader, ArrowTableReader) else None
             for path, reader in named.items()}
    first = next(iter(sizes.values()))
    if first is None or len(first) < 2 or any(rows != first for rows in sizes.values()):
        return []
    cuts, rows = [0], 0
    for k, size in enumerate(first[:-1]):
        rows += size
        if rows >= PIECE_ROWS:
            cuts.append(k + 1)
            rows = 0
    cuts.append(len(first))
    inputs = replace(inputs, no_progress=True)
    return [Piece(replace(job, inputs=inputs), k,
                  {path: RowGroups(path, range(start, stop)) for path in named})
            for k, (start, stop) in enumerate(pairwise(cuts))]


def run_piece(piece: Piece) -> bytes:
    """Read one piece (in a process of its own) and return its totals as text (UTF-8): a
    line of `stats`, then the partial result (none when every row was skipped)."""
    import io
    import warnings

    job = replace(piece.job, inputs=replace(piece.job.inputs, only=piece.only))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # as the CLI's boundary does
        with ExitStack() as resources:
            plan, streamed, diagnostics = job.stream(resources, Environment(), complete=False)
        out = io.StringIO()
        out.write(json.dumps(stats(streamed)) + "\n")
        (total,) = streamed.totals
        if total.count:
            job.partial(plan, total, diagnostics).write(diagnostics, out)
    return out.getvalue().encode()


def stats(streamed: Streamed) -> dict[str, Any]:
    """What the warnings need of a piece, beside its totals."""
    return {"rows": streamed.rows, "skipped": streamed.skipped, "lowest": streamed.lowest,
            "highest": streamed.highest, "hard_predictions": streamed.hard_predictions,
            "soft_targets": streamed.soft_targets}


def add_stats(streamed: Streamed, piece: dict[str, Any]) -> None:
    streamed.rows += piece["rows"]
    streamed.skipped += piece["skipped"]
    streamed.lowest = min(streamed.lowest, piece["lowest"])
    streamed.highest = max(streamed.highest, piece["highest"])
    streamed.hard_predictions = streamed.hard_predictions and piece["hard_predictions"]
    streamed.soft_targets = streamed.soft_targets or piece["soft_targets"]


def merge_texts(job: Job, plan: Plan, results: Iterable[tuple[Piece, bytes]]
                ) -> tuple[Streamed, Diagnostics | None]:
    """The pieces' texts, in piece order, merged as `bce merge` merges parts (read in place:
    a part with the score sketch is tens of MB)."""
    import io

    from bcecli import shards

    streamed = Streamed([LossTotal()])
    empty = job.diagnostics(plan)

    def parts() -> Iterator[tuple[str, shards.Opened]]:
        for piece, text in results:
            stream = io.BytesIO(text)  # shares the bytes, no copy
            add_stats(streamed, json.loads(stream.readline()))
            more = stream.tell() < len(text)
            del text
            if more:
                yield piece.name, shards.from_stream(stream, piece.name)

    combined, state = shards.merged(parts(), lambda _: empty)
    streamed.totals = [combined.total if combined is not None else LossTotal()]
    return streamed, state


def texts(split: list[Piece], workers: int, progress: Any = None
          ) -> Iterator[tuple[Piece, bytes]]:
    """Each piece's text, in piece order, from a pool of `workers` processes; at most
    `workers` pieces out at once. On Linux the processes are forked from this one, all at
    once before the pool's own thread starts, so they begin with bce and numpy loaded
    (spawning fresh interpreters cost 0.25 s each before the first row: a third of the
    benchmark's speed-up); they read their pieces only (nothing of this process's open
    files or progress bar). Elsewhere (macOS, where fork is unsafe) they are spawned. As
    children of this process their time and memory are bce's (GNU time, a cgroup), and
    they end with it."""
    import multiprocessing
    import warnings
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    todo = iter(split)
    out: deque[tuple[Piece, Future[bytes]]] = deque()
    with ProcessPoolExecutor(min(workers, len(split)), mp_context=context) as pool:
        try:
            with warnings.catch_warnings():  # Python 3.12+ counts numpy's BLAS threads
                warnings.filterwarnings("ignore", "This process .* is multi-threaded",
                                        DeprecationWarning)
                for piece in todo:
                    out.append((piece, pool.submit(run_piece, piece)))  # the first forks
                    if len(out) == workers:
                        break
            while out:
                piece, future = out.popleft()
                try:
                    text = future.result()  # a piece's error: raised in piece order
                except BrokenProcessPool:
                    raise BceError(f"a --workers process ended abruptly, reading {piece.name} "
                                   "(killed, or out of memory)",
                                   hint="run with fewer --workers, or without") from None
                del future  # its result is held here only, until merged
                if progress is not None:
                    progress.advance(1)
                yield piece, text
                del text
                # the next piece only now: while this one was merged, one more text at most
                # could arrive (a part with the score sketch is tens of MB)
                following = next(todo, None)
                if following is not None:
                    out.append((following, pool.submit(run_piece, following)))
        finally:
            for _, future in out:
                future.cancel()
