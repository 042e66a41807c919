"""What bce reads from the world it runs in, and how it writes to it, set up once, at the
error boundary.

Whether stdout and stderr are terminals decides the `auto` format (a table for
people, JSON for pipes) and the progress bar; `BCE_TRACEBACK=1` asks for the
Python traceback instead of the one-line error, for a bug report. Passed in
rather than looked up deep inside, so tests can run both ways in-process
(`CliRunner().invoke(app, args, obj=Environment(stdout_isatty=True))`).

`standard_streams` puts `Stream`s in place of `sys.stdout` and `sys.stderr` for
one run, so that every writer (bce's, Click's help, Rich) meets the same rules:
a stdout that cannot be written is an `OutputError`, a reader gone away a
`ClosedPipe`, and a stderr that cannot be written loses its text and changes
nothing else.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO, cast

from bcecli.errors import ClosedPipe, OutputError


@dataclass(repr=False, eq=False)
class Environment:
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    traceback: bool = False  # re-raise errors instead of printing one line

    @classmethod
    def from_system(cls) -> Environment:
        return cls(stdout_isatty=sys.stdout.isatty(), stderr_isatty=sys.stderr.isatty(),
                   traceback=os.environ.get("BCE_TRACEBACK", "") not in ("", "0"))


class Stream(io.TextIOBase):
    """A standard stream as bce writes to it: a failed write is never a crash.

    `stream` is None when the descriptor was closed before bce started (`>&-`,
    `2>&-`): Python then has no stream, and `print` would silently write to stdout
    instead. On stdout (`result`), a failed write is an `OutputError` (`cannot
    write output: No space left on device`), then and on every later write; a
    reader gone away is one `ClosedPipe`, and later writes go nowhere. On stderr,
    what cannot be written is lost. After a failure the descriptor points to
    /dev/null, so Python's own flush at exit has nothing left to fail on.
    """

    def __init__(self, stream: TextIO | None, *, result: bool) -> None:
        super().__init__()
        self.stream = stream
        self.result = result
        self.failed = False
        self.error: str | None = None  # stdout's `OutputError`, raised again on each write

    def write(self, text: str) -> int:
        self.guarded(lambda stream: stream.write(text))
        return len(text)

    def flush(self) -> None:
        self.guarded(lambda stream: stream.flush())

    def guarded(self, act: Callable[[TextIO], object]) -> None:
        """Do `act` on the stream, unless an earlier write failed; a failure becomes bce's
        (stdout) or is lost (stderr)."""
        if self.error is not None:
            raise OutputError(self.error)
        if self.failed:
            return
        try:
            if self.stream is None:
                raise OSError(errno.EBADF, os.strerror(errno.EBADF))
            act(self.stream)
        except OSError as error:
            self.failed = True
            self.discard()
            if not self.result:
                return
            if isinstance(error, BrokenPipeError):
                raise ClosedPipe() from None
            self.error = f"cannot write output: {error.strerror or error}"
            raise OutputError(self.error) from None

    def discard(self) -> None:
        """Point the descriptor to /dev/null: what is still buffered goes nowhere."""
        try:
            fd = self.fileno()
        except (OSError, ValueError):  # closed before bce started, or not a file (tests)
            return
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)

    def isatty(self) -> bool:
        return self.stream is not None and self.stream.isatty()

    def fileno(self) -> int:
        if self.stream is None:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        return self.stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]  # read-only: the stream's own
        """The stream's encoding, which Rich reads to choose its box characters."""
        return self.stream.encoding if self.stream is not None else "utf-8"

    def close(self) -> None:
        """Never closes the standard stream it stands for (called when it is collected)."""


@contextmanager
def standard_streams() -> Iterator[None]:
    """`sys.stdout` and `sys.stderr` as `Stream`s while bce runs, as they were after."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = cast(TextIO, Stream(stdout, result=True))
    sys.stderr = cast(TextIO, Stream(stderr, result=False))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr
