"""A stream that can be read only once, kept as it is read, so it can be read again.

A reader that needs its input twice or by position (a JSON document of flat
arrays: its top level first, then each array, and the text again for a
message's line) has that from a plain file. From stdin, a pipe, a compressed
file or a URL it has it from a `Spool`: the bytes it reads pass through and are
kept, in memory up to `IN_MEMORY`, beyond that in an anonymous temporary file in
$TMPDIR (`tempfile.TemporaryFile`: it has no name, so it is gone when bce ends,
however it ends). `Stored` then reads them again, from any position, as often
as asked; each reader of the file has its own position.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

from bcecli.errors import InputError

IN_MEMORY = 1 << 22  # 4 MiB: a small stream is kept in memory, not written to disk


@dataclass(frozen=True)
class Stored:
    """Bytes that can be read again: `reopen()` is a new stream of them at their start,
    with its own position; `size` is how many there are."""

    reopen: Callable[[], IO[bytes]]
    size: int

    @classmethod
    def file(cls, path: str) -> Stored:
        """A plain file's bytes, reopened by its path."""
        return cls(lambda: open(path, "rb"), os.path.getsize(path))


class Spool(io.RawIOBase):
    """`stream`'s bytes, passed through and kept (`kept()` gives them back); `source` is how
    messages name the input, `resources` closes the temporary file."""

    def __init__(self, stream: IO[bytes], source: str, resources: ExitStack):
        super().__init__()
        self.stream = stream
        self.source = source
        self.resources = resources
        self.memory = bytearray()
        self.file: IO[bytes] | None = None
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self.stream.read(len(buffer))
        self.keep(chunk)
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def keep(self, chunk: bytes) -> None:
        """Kept in memory while the whole is small, then written to the temporary file."""
        self.size += len(chunk)
        if self.file is None and self.size <= IN_MEMORY:
            self.memory += chunk
            return
        try:
            if self.file is None:
                import tempfile  # only for a stream that needs it: not on a plain run's path

                self.file = self.resources.enter_context(
                    tempfile.TemporaryFile(prefix="bce-spool-"))  # noqa: SIM115 (closed by it)
                self.file.write(self.memory)
                self.memory = bytearray()
            self.file.write(chunk)
        except OSError as e:
            raise self.unwritable(e) from None

    def kept(self) -> Stored:
        """What was read so far, to be read again."""
        if self.file is None:
            return Stored(partial(io.BytesIO, bytes(self.memory)), self.size)
        try:
            self.file.flush()
        except OSError as e:
            raise self.unwritable(e) from None
        file, size, lock = self.file, self.size, threading.Lock()  # one file, many positions
        return Stored(lambda: io.BufferedReader(Position(file, lock, size)), size)

    def unwritable(self, error: OSError) -> InputError:
        """One line: where, and the system's reason. The file is closed: what it holds
        unwritten would fail again when it closes."""
        if self.file is not None:
            with suppress(OSError):
                self.file.close()
        import tempfile

        place = tempfile.tempdir  # None where no folder could be used (the error says so)
        return InputError("cannot keep a copy of this stream in a temporary file"
                          f"{f' in {place}' if place else ''} ({error.strerror or error})",
                          where=self.source,
                          hint="set TMPDIR to a folder with room for it, or save the input "
                               "to a file and pass its path")


class Position(io.RawIOBase):
    """A reader of a shared file with a position of its own."""

    def __init__(self, file: IO[bytes], lock: threading.Lock, size: int):
        super().__init__()
        self.file = file
        self.lock = lock
        self.size = size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer: Any) -> int:
        with self.lock:
            self.file.seek(self.position)
            count: int = self.file.readinto(buffer)  # type: ignore[attr-defined]
        self.position += count
        return count


class Joined(io.RawIOBase):
    """Streams read one after the other: what a `Spool` kept, then the rest of its stream."""

    def __init__(self, *streams: IO[bytes]):
        super().__init__()
        self.streams = list(streams)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self.streams:
            chunk = self.streams[0].read(len(buffer))
            if chunk:
                buffer[:len(chunk)] = chunk
                return len(chunk)
            self.streams.pop(0)
        return 0
