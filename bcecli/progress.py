"""A progress bar on stderr for long reads: only on a terminal, only after a second.

The readers call `advance(bytes)` as they read; nothing is drawn (and Rich is not
even imported) until `delay` seconds have passed, so quick runs and pipes never
see it. The CLI creates one only when stderr is a terminal and `--no-progress`
was not given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO


class ByteProgress:
    def __init__(self, total: int | None, file: TextIO, *, delay: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.total = total
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
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        self.bar = Progress("reading", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                            console=Console(file=self.file), transient=True)
        self.task = self.bar.add_task("read", total=self.total)
        self.bar.start()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
