"""`--workers N`: an input's pieces (files, row groups) read in N processes, merged exactly.

A piece is one shard of each many-file input (PREDICTIONS and TARGETS pair shard
by shard: `sources`), or some whole row groups of a Parquet file input (of each,
where every input is one, their row groups as long). A `Piece` is all a process
needs to read one: the run's `Job` (its options) and which files, picklable.
`run_piece` reads it through the normal pipeline, in whatever process it is
given, and returns a `Part`: what the run's warnings need (rows, the extreme
predictions), and the piece's partial result as `compute --partial` writes it
(`shards`), but in memory, a sketch's columns as arrays (`shards.Lines`). Nothing
here assumes the local pool: another engine can map `run_piece` over `pieces` and
merge the parts with `merge_texts`.

The parent merges the parts in piece order, as `bce merge` merges files
(`shards.merged`), so the result is what one process gives: the sums are exact,
and equal losses in `--top` go to the earlier piece, as to the earlier row. At
most N pieces are out at once, and the parent receives a part only when its turn
comes (`texts`): it holds the merged state and one part, freed a column at a time
as it is merged. A piece that fails raises its own error (its file and line); the
earliest piece's error is the one reported.
"""

from __future__ import annotations

import sys
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
    from bcecli.diagnostics import Diagnostics
    from bcecli.shards import Lines


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
              ) -> Iterator[tuple[Piece, Part]]:
        """Each piece's part, in piece order."""


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


@dataclass
class Part:
    """What `run_piece` returns: what the run's warnings need of the piece (`stats`), and
    its partial result as `compute --partial` writes it, but in memory (`shards.Lines`:
    a sketch's columns as arrays, each let go as it is merged); None when every row was
    skipped. Picklable, for any engine."""

    stats: dict[str, Any]
    partial: Lines | None


def run_piece(piece: Piece) -> Part:
    """Read one piece (in a process of its own) and return its `Part`."""
    import warnings

    from bcecli.shards import Lines

    job = replace(piece.job, inputs=replace(piece.job.inputs, only=piece.only))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # as the CLI's boundary does
        with ExitStack() as resources:
            plan, streamed, diagnostics = job.stream(resources, Environment(), complete=False)
        (total,) = streamed.totals
        return Part(stats(streamed), Lines.of(job.partial(plan, total, diagnostics),
                                              diagnostics) if total.count else None)


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


def merge_texts(job: Job, plan: Plan, results: Iterable[tuple[Piece, Part]]
                ) -> tuple[Streamed, Diagnostics | None]:
    """The pieces' parts, in piece order, merged as `bce merge` merges files (each part's
    lines let go as they are merged: a part with the score sketch is tens of MB)."""
    from bcecli import shards

    streamed = Streamed([LossTotal()])
    empty = job.diagnostics(plan)

    def parts() -> Iterator[tuple[str, shards.Opened]]:
        for piece, part in results:
            add_stats(streamed, part.stats)
            if part.partial is not None:
                yield piece.name, shards.in_memory(part.partial, piece.name)

    combined, state = shards.merged(parts(), lambda _: empty)
    streamed.totals = [combined.total if combined is not None else LossTotal()]
    return streamed, state


def texts(split: list[Piece], workers: int, progress: Any = None
          ) -> Iterator[tuple[Piece, Part]]:
    """Each piece's part, in piece order, from `workers` processes, piece k read by
    process k mod `workers` (each is given its next piece as soon as this one has its
    part, so at most `workers` pieces are out at once). A part is received only when its
    turn comes, in this thread (`Worker`): the others wait in their processes, so this
    one holds the merged state and one part. (`ProcessPoolExecutor`, which takes results
    as they come, in a thread of its own, peaked at 168-175 MiB with these parts on 16
    pieces of 250,000 distinct scores, against 112-117 MiB so: parts arrived while one
    was merged, each unpickled whole.)

    On Linux the processes are forked from this one, so they begin with bce and numpy
    loaded (spawning fresh interpreters cost 0.25 s each before the first row: a third
    of the benchmark's speed-up); they read their pieces only (nothing of this
    process's open files or progress bar). Elsewhere (macOS, where fork is unsafe) they
    are spawned. As children of this process their time and memory are bce's (GNU
    time, a cgroup), and they end with it."""
    import multiprocessing
    import warnings

    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    pool: list[Worker] = []
    finished = False
    try:
        with warnings.catch_warnings():  # Python 3.12+ counts numpy's BLAS threads
            warnings.filterwarnings("ignore", "This process .* is multi-threaded",
                                    DeprecationWarning)
            for piece in split[:workers]:
                pool.append(Worker(context, pool))
                pool[-1].send(piece)
        for k, piece in enumerate(split):
            worker = pool[k % len(pool)]
            part = worker.receive(piece)  # a piece's error: raised in piece order
            if k + len(pool) < len(split):
                worker.send(split[k + len(pool)])
            if progress is not None:
                progress.advance(1)
            yield piece, part
            del part
        finished = True
    finally:
        for worker in pool:
            worker.close(finished)


class Worker:
    """One process of `texts`, and the pipe to it. It reads each piece it is sent and
    sends back the part: the stats and the lines, pickled, each array (a sketch's column)
    in its place as its dtype and shape, then each array's bytes as a message of its
    own, which `receive` reads into a new array (no pickle, no base64: one array's
    bytes in transit at a time). The process blocks on sending until its part is
    received, so parts never pile up here."""

    def __init__(self, context: Any, others: list[Worker]) -> None:
        """A process started with a pipe of its own; forked, it closes its copies of this
        process's ends of the pipes (its own, `others`'), so that it reads the end of its
        pipe when this process is gone, however it ended."""
        self.pipe, theirs = context.Pipe()
        ours = [self.pipe, *(worker.pipe for worker in others)] \
            if context.get_start_method() == "fork" else []
        self.process = context.Process(target=serve, args=(theirs, ours), daemon=True)
        self.process.start()
        theirs.close()

    def send(self, piece: Piece) -> None:
        self.pipe.send(piece)

    def receive(self, piece: Piece) -> Part:
        """The part of `piece` (the one this process was given), or its error."""
        import numpy as np

        from bcecli.shards import Column, Lines

        try:
            message = self.pipe.recv()
            if not isinstance(message, BaseException):
                stats, lines = message
                for k, line in enumerate(lines or ()):
                    if isinstance(line, tuple):  # an array's name, dtype and shape
                        name, dtype, shape = line
                        values = np.empty(shape, dtype)
                        if self.pipe.recv_bytes_into(values.reshape(-1).view(np.uint8)) != \
                                values.nbytes:
                            raise EOFError
                        lines[k] = Column(name, values)
        except (EOFError, OSError):  # the process is gone: the pipe's other end closed
            raise BceError(f"a --workers process ended abruptly, reading {piece.name} "
                           "(killed, or out of memory)",
                           hint="run with fewer --workers, or without") from None
        if isinstance(message, BaseException):
            raise message
        return Part(stats, None if lines is None else Lines(lines))

    def close(self, finished: bool) -> None:
        """Ask the process to end once all is read; end it at once otherwise (an error,
        Ctrl-C: it may be reading a piece no one will merge)."""
        try:
            if finished:
                self.pipe.send(None)
        except OSError:  # it is gone already
            finished = False
        if not finished:
            self.process.terminate()
        self.process.join()
        self.pipe.close()


def serve(pipe: Any, inherited: list[Any]) -> None:
    """A `Worker`'s process: each piece it is sent read (`run_piece`) and its part, or
    its error, sent back, until it is sent None or the parent is gone. Ctrl-C is the
    parent's to handle: it ends this process. `inherited`: the parent's pipe ends, here
    by fork, closed."""
    import signal
    import traceback

    import numpy as np

    from bcecli.shards import Column

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for connection in inherited:
        connection.close()
    try:
        while (piece := pipe.recv()) is not None:
            try:
                part = run_piece(piece)
            except Exception as e:  # raised in the parent, in piece order
                if not isinstance(e, BceError):  # a bug: its traceback is this process's
                    e.add_note(traceback.format_exc())
                try:
                    pipe.send(e)
                except Exception:  # one that does not pickle: its text
                    pipe.send(RuntimeError(f"{type(e).__name__}: {e}"))
                continue
            lines = [] if part.partial is None else list(part.partial.lines)
            arrays = [line.values.reshape(-1).view(np.uint8) for line in lines
                      if isinstance(line, Column)]
            pipe.send((part.stats, None if part.partial is None else [
                (line.name, line.values.dtype.str, line.values.shape)
                if isinstance(line, Column) else line for line in lines]))
            del part, lines
            while arrays:
                pipe.send_bytes(arrays.pop(0))  # each let go once sent
    except (EOFError, OSError):  # the parent is gone, or ended before reading this
        return
