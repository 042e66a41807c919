"""`--scheduler`: the pieces of a many-file input as tasks on a Dask cluster you already have.

The pieces are `parallel`'s (a file, or a pair of files, each), and each task is
`parallel.run_piece` in `task`. A worker that would not read what this process
would is refused: one without bcecli or with another version (`check_workers`,
before any task; the bcecli of a worker that joins later is checked by `task`), or,
where a path is relative, one in another working directory (the path would name
other files there).
The client submits every piece with `retries` (a task that raised runs again, up
to twice; a piece whose worker died is given to another worker by Dask itself),
counts them as they complete, and fetches each part (`parallel.Part`) in piece
order, once every earlier one is merged. The parts of pieces that finished early
wait on the workers, so this process holds one at a time, and the merge is `--workers`'s:
the result is one process's, to the bit, whatever order the pieces finish in.
Dask's own log lines in this process (a worker lost, a key rescheduled) are
silenced while it runs: what Dask survives changes nothing, and what it cannot
survive bce reports in one line.

`distributed` is imported here only, and only with `--scheduler` or
`--scheduler-file`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from bcecli import __version__
from bcecli.errors import InputError, UsageError, shown_path
from bcecli.parallel import Part, Piece, run_piece
from bcecli.remote import is_url

if TYPE_CHECKING:
    from distributed import Client, Future

RETRIES = 2  # a task that raised (a worker's disk, its network) runs twice more


@dataclass(frozen=True)
class Scheduler:
    """Where the cluster is: `--scheduler ADDRESS` or `--scheduler-file PATH`."""

    address: str | None = None
    file: str | None = None

    @property
    def option(self) -> str:
        return "--scheduler" if self.address is not None else "--scheduler-file"

    def texts(self, split: list[Piece], progress: Any = None
              ) -> Iterator[tuple[Piece, Part]]:
        """Each piece's part (`parallel.Part`), in piece order, read by the cluster's
        workers."""
        client = self.connect()
        futures: list[Future | None] = []
        with quiet_dask():
            try:
                # A relative path names a file under the working directory: the workers' must
                # be ours.
                check_workers(client.get_versions(packages=["bcecli"]))
                cwd = os.getcwd() if any(not os.path.isabs(name) and not is_url(name)
                                         for piece in split for chosen in piece.only.values()
                                         for name in chosen.paths) else None
                run = uuid4().hex[:12]
                futures = client.map(partial(task, cwd=cwd, version=__version__), split,
                                     key=[f"bce-{run}-{k}" for k in range(len(split))],
                                     retries=RETRIES, pure=False)
                yield from in_order(client, split, futures, progress)
            finally:
                left = [future for future in futures if future is not None]
                if left:
                    client.cancel(left)
                client.close()

    def connect(self) -> Client:
        """A client of the scheduler, refused in one line when none answers in Dask's connect
        timeout (`distributed.comm.timeouts.connect`)."""
        address = self.address if self.address is not None else self.read_file()
        try:
            import dask
            from distributed import Client
        except ImportError:
            raise UsageError(f"{self.option} needs dask.distributed: pip install "
                             "'bcecli[dask]'") from None
        try:
            return Client(address, set_as_default=False)
        except ValueError as e:  # not an address: 'missing port number', an unknown protocol
            raise UsageError(f"{self.option} {address}: {e}") from None
        except OSError:  # refused, or timed out
            raise UsageError(
                f"no Dask scheduler answered at {address} within "
                f"{dask.config.get('distributed.comm.timeouts.connect')}",
                hint="is the scheduler running, and is this its address? (Dask's "
                "distributed.comm.timeouts.connect sets how long to wait)") from None

    def read_file(self) -> str:
        """The address in a scheduler file (`dask scheduler --scheduler-file PATH` writes it)."""
        import json

        from bcecli.readers import read_small_json

        assert self.file is not None
        where = shown_path(self.file)
        hint = "dask scheduler --scheduler-file PATH writes it"
        try:
            saved = read_small_json(self.file, "a scheduler file")
        except OSError as e:
            raise InputError(f"cannot read the scheduler file: {e.strerror or e}", where=where,
                             hint=hint) from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            saved = None
        address = saved.get("address") if isinstance(saved, dict) else None
        if not isinstance(address, str):
            raise InputError("not a Dask scheduler file: no \"address\" in it", where=where,
                             hint=hint)
        return address


@contextmanager
def quiet_dask() -> Iterator[None]:
    """Dask's loggers (`distributed.client` has its own level and handler) silenced, and
    restored after."""
    loggers = [logging.getLogger(name) for name in list(logging.Logger.manager.loggerDict)
               if name == "distributed" or name.startswith("distributed.")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def in_order(client: Client, split: list[Piece], futures: list[Future | None], progress: Any
             ) -> Iterator[tuple[Piece, Part]]:
    """The pieces' parts in piece order, each fetched when it and every earlier piece are
    done (`futures` forgets each once fetched); the progress counts pieces done."""
    from distributed import as_completed

    position = {future.key: k for k, future in enumerate(futures) if future is not None}
    done: set[int] = set()
    following = 0
    for finished in as_completed([future for future in futures if future is not None],
                                 loop=client.loop):
        done.add(position[finished.key])
        if progress is not None:
            progress.advance(1)
        while following in done:
            part = fetched(futures[following], split[following])
            futures[following] = None
            done.discard(following)
            yield split[following], part
            following += 1


def fetched(future: Future | None, piece: Piece) -> Part:
    """A piece's part, or its error: the piece's own (its file and line), or one line on
    what the cluster could not do."""
    from distributed import KilledWorker

    assert future is not None
    try:
        part: Part = future.result()
    except KilledWorker:
        import dask

        raise InputError(f"the Dask workers given it died "
                         f"{dask.config.get('distributed.scheduler.allowed-failures') + 1} "
                         "times: out of memory, or without bcecli?", where=piece.name,
                         hint=INSTALL) from None
    return part


INSTALL = (f"install this bce ({__version__}) in the workers' environment, with the dask "
           "extra (and arrow for Parquet)")


def check_workers(versions: dict[str, Any]) -> None:
    """Refuse a cluster with a worker that has no bcecli, or another version
    (`Client.get_versions`: what each worker's environment has installed)."""
    for address, info in sorted((versions.get("workers") or {}).items()):
        theirs = ((info or {}).get("packages") or {}).get("bcecli")
        if theirs != __version__:
            having = "cannot import bcecli" if theirs is None else \
                f"has bcecli {theirs}, this bce {__version__}"
            raise UsageError(f"the Dask worker {address} {having}", hint=INSTALL)


def task(piece: Piece, *, cwd: str | None, version: str) -> Part:
    """`run_piece` on a worker, refused where the worker would not read what the client
    would (its bcecli, or its working directory when a path is relative)."""
    from distributed import get_worker

    worker = get_worker().address
    if version != __version__:  # a worker that joined after `check_workers`
        raise UsageError(f"the Dask worker {worker} has bcecli {__version__}, this bce "
                         f"{version}", hint=INSTALL)
    if cwd is not None and os.getcwd() != cwd:
        raise UsageError(f"the Dask worker {worker} runs in {shown_path(os.getcwd())}, not in "
                         f"{shown_path(cwd)}: a relative path would name another file there",
                         hint="give the inputs as absolute paths, or start the workers in "
                         "this directory")
    return run_piece(piece)
