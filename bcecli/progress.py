"""A progress bar on stderr for long reads: only on a terminal, only after a second.

The readers call `advance(bytes)` as they read (`--workers` counts pieces done
instead: `pieces=True`); nothing is drawn (and Rich is not
even imported) until `delay` seconds have passed, so quick runs and pipes never
see it. The CLI creates one only when stderr is a terminal and `--no-progress`
was not given. Nothing of the user's (a path, a column name) is drawn in it, and
its console reads no markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO


class ByteProgress:
    def __init__(self, total: int | None, file: TextIO, *, delay: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, pieces: bool = False):
        self.total = total
        self.pieces = pieces
        self.file = file
        self.delay = delay
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.bar: Any = None
        self.task: Any = None

    def advance(self, size: int) -> None:
        self.done += size
        if self.bar is None:
            if self.clock() - self.started < self.delay:
                return
            self.start()
        self.bar.update(self.task, completed=self.done)

    def start(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TimeRemainingColumn,
        )

        # Rich would swap sys.stdout and sys.stderr for its own proxies while the bar shows;
        # bce's output and messages keep their streams (and the boundary's rules for them).
        done = MofNCompleteColumn() if self.pieces else DownloadColumn()
        self.bar = Progress("pieces" if self.pieces else "reading", BarColumn(), done,
                            TimeRemainingColumn(),
                            console=Console(file=self.file, markup=False, emoji=False),
                            transient=True, redirect_stdout=False, redirect_stderr=False)
        self.task = self.bar.add_task("read", total=self.total)
        self.bar.start()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
