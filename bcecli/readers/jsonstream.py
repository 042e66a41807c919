"""Big JSON documents of flat arrays, streamed from their bytes in bounded memory.

The common big document is a flat array of numbers, or an object of them
(`{"predictions": [...], "targets": [...]}`, or named columns). `scan` reads the
top level once, skipping over each array's inside a chunk at a time (only
counting its commas and lines), and says where each array's text is; the arrays
are then read in lockstep, one handle each on the document's bytes (a plain
file, or a stream's as a `spool` kept them), a block of number text at a time
(`jsonnumbers`; where the `arrow` extra is installed and the document is big,
pyarrow's JSON parser first, a few blocks ahead on threads). Any other shape is
the whole-document reader's (`jsondoc`), as are the messages of a small document
whose values are not all numbers. Lines are found only for messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import numpy as np

from bcecli.core import FloatArray
from bcecli.errors import InputError, listed
from bcecli.readers.base import (
    BLOCK_BYTES,
    MAX_LINE,
    Block,
    Reader,
    column_floats,
    parsed_ahead,
    parsing_threads,
    read_chunk,
)
from bcecli.readers.cells import json_whole_number
from bcecli.readers.jsonlines import parse_json_number, shown_json
from bcecli.readers.jsonnumbers import json_numbers

if TYPE_CHECKING:
    from concurrent.futures import Executor

_BLANKS = re.compile(rb"[ \t\r\n]*")
_NESTED = (b"[", b"{", b'"')  # none of these is inside a flat array of numbers
# What pandas' to_json writes as an object that is no object of columns (jsondoc's json_table).
_PANDAS = ({"columns", "data"}, {"schema", "data"}, {"index", "data"})


@dataclass
class Span:
    """Where one array's inside is in the file: bytes `start` to `stop` (its `]`), `count`
    values, `line` the line of `start`."""

    start: int
    stop: int
    count: int
    line: int


class Scanner:
    """The top level of a document, read a chunk at a time; arrays are skipped over."""

    def __init__(self, stream: IO[bytes], source: str):
        self.stream = stream
        self.source = source
        self.data = b""
        self.at = 0  # the position in `data`
        self.base = 0  # the file offset of data[0]
        self.line = 1  # the line of data[0]

    def more(self) -> bool:
        """Drop what was read, read the next chunk; False at the end of the file."""
        chunk = read_chunk(self.stream, BLOCK_BYTES, self.source)
        self.line += self.data.count(b"\n", 0, self.at)
        self.base += self.at
        self.data, self.at = self.data[self.at:] + chunk, 0
        return bool(chunk)

    def next_byte(self) -> bytes:
        """The next byte that is not blank (b"" at the end), not consumed."""
        while True:
            match = _BLANKS.match(self.data, self.at)
            assert match is not None
            self.at = match.end()
            if self.at < len(self.data):
                return self.data[self.at:self.at + 1]
            if not self.more():
                return b""

    def key(self) -> str | None:
        """A plain key (no escapes) at a `"`, consumed; None for any other."""
        while (end := self.data.find(b'"', self.at + 1)) < 0:
            if len(self.data) - self.at > MAX_LINE or not self.more():
                return None
        raw = self.data[self.at + 1:end]
        self.at = end + 1
        try:
            return None if b"\\" in raw else raw.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def array(self) -> Span | None:
        """A flat array at a `[`, consumed: where its values are and how many; None for an
        empty array or one that holds arrays, objects or strings."""
        self.at += 1
        start, line = self.base + self.at, self.line + self.data.count(b"\n", 0, self.at)
        commas, filled = 0, False
        while True:
            end = self.data.find(b"]", self.at)
            inside = self.data[self.at:len(self.data) if end < 0 else end]
            if any(mark in inside for mark in _NESTED):
                return None
            commas += inside.count(b",")
            filled = filled or bool(inside.strip(b" \t\r\n"))
            if end >= 0:
                self.at = end + 1
                stop = self.base + end
                return Span(start, stop, commas + 1, line) if filled else None
            self.at = len(self.data)
            if not self.more():
                return None


def scan(stream: IO[bytes], source: str) -> tuple[list[str] | None, list[Span]] | None:
    """The arrays of a document that is a flat array of numbers (no keys), or an object of
    flat arrays (their keys); None for any other document."""
    scanner = Scanner(stream, source)
    if scanner.more() and scanner.data.startswith(b"\xef\xbb\xbf"):
        scanner.at = 3
    first = scanner.next_byte()
    if first == b"[":
        span = scanner.array()
        return None if span is None or scanner.next_byte() else (None, [span])
    if first != b"{":
        return None
    scanner.at += 1
    keys: list[str] = []
    spans: list[Span] = []
    while True:
        key = scanner.key() if scanner.next_byte() == b'"' else None
        if key is None or key in keys or scanner.next_byte() != b":":
            return None
        scanner.at += 1
        span = scanner.array() if scanner.next_byte() == b"[" else None
        if span is None:
            return None
        keys.append(key)
        spans.append(span)
        after = scanner.next_byte()
        scanner.at += 1
        if after == b"}":
            return None if scanner.next_byte() else (keys, spans)
        if after != b",":
            return None


Numbers = Callable[[bytes], FloatArray | None]  # a fast reader of a block's number text
Reopen = Callable[[], IO[bytes]]  # the document's bytes again, from their start


def streamed_json(found: tuple[list[str] | None, list[Span]], reopen: Reopen, source: str,
                  roles: Sequence[str], small: bool, whole: Callable[[], object],
                  fast: Numbers | None = None) -> Reader | dict[str, Reader] | None:
    """The readers of a document of flat arrays (as `scan` `found` it; `reopen` reads it
    again), as the whole-document reader would make them (one reader; one a key where
    the keys are `roles`, with predictions; or named columns); None for any other
    document. `whole()` runs that reader, for the message of a `small` document with a
    value that is no JSON; `fast` (pyarrow's, for a big document) reads number text
    before numpy does."""
    keys, spans = found
    if keys is None:
        return StreamedArrays(reopen, source, None, spans, small, whole, fast)
    names = set(keys)
    if names <= set(roles) and "predictions" in names:
        return {key: StreamedArrays(reopen, source, None, [span], small, whole, fast)
                for key, span in zip(keys, spans, strict=True)}
    if any(pandas <= names for pandas in _PANDAS):
        return None
    if len({span.count for span in spans}) > 1:
        sizes = [f"{key!r} {span.count}" for key, span in zip(keys, spans, strict=True)]
        raise InputError(f"the columns have different lengths ({listed(sizes, show=str)})",
                         where=source)
    return StreamedArrays(reopen, source, tuple(keys), spans, small, whole, fast)


class StreamedArrays(Reader):
    """Equal-length flat arrays of one document, a column each, read in lockstep."""

    def __init__(self, reopen: Reopen, source: str, names: tuple[str, ...] | None,
                 spans: list[Span], small: bool, whole: Callable[[], object],
                 fast: Numbers | None = None):
        super().__init__(source, names, len(spans), False)
        self.reopen = reopen
        self.spans = spans
        self.small = small
        self.whole = whole
        self.fast = fast

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        # A thread for each array (the predictions' and the targets' are two readers),
        # two blocks ahead: pyarrow's pieces in flight cost memory (20 MiB more with 4).
        with parsing_threads(self.fast is not None, 1) as pool:
            streams = [self.values(column, pool) for column in columns]
            start = 0
            held: list[FloatArray] = [np.empty(0) for _ in columns]
            while True:
                for k, stream in enumerate(streams):
                    if not len(held[k]):
                        held[k] = next(stream, np.empty(0))
                size = min(len(part) for part in held)
                if not size:
                    return
                yield Block(np.stack([part[:size] for part in held], axis=1), start, None)
                held = [part[size:] for part in held]
                start += size

    def values(self, column: int, pool: Executor | None) -> Iterator[FloatArray]:
        """One array's values, a block of its text at a time: read by the fast paths (on
        the pool's threads, a few blocks ahead, if there is one), then checked in order."""
        pieces = self.pieces(column)
        if pool is None:
            for piece, first in pieces:
                yield self.piece(piece, column, first, self.parsed(piece))
            return
        for piece, first, values in parsed_ahead(
                pool, lambda piece, first, _: (piece, first, self.parsed(piece)), pieces, 2):
            yield self.piece(piece, column, first, values)

    def pieces(self, column: int) -> Iterator[tuple[bytes, int]]:
        """One array's text, a block of whole values at a time, with the index of each
        block's first value."""
        span = self.spans[column]
        with self.reopen() as stream:
            stream.seek(span.start)
            left, pending, first = span.stop - span.start, b"", 0
            while left or pending:
                chunk = read_chunk(stream, min(BLOCK_BYTES, left), self.source) if left else b""
                if left and not chunk:
                    raise InputError("the file got shorter while it was read", where=self.source)
                left -= len(chunk)
                data = pending + chunk
                cut = data.rfind(b",") if left else len(data)
                if cut < 0:
                    if len(data) > MAX_LINE:
                        raise InputError(f"a value longer than {MAX_LINE >> 20} MiB",
                                         where=f"{self.source}:{self.line_of(column, first)}")
                    pending = data
                    continue
                piece, pending = data[:cut], data[cut + 1:]
                if (first or cut < len(data)) and not piece.strip(b" \t\r\n"):
                    # no value beside a comma (`[1, ]`, `[1, , 2]`): `[piece]` would read as []
                    raise self.invalid(column, first, piece,
                                       json.JSONDecodeError("Expecting value", "", 0))
                yield piece, first
                first += piece.count(b",") + 1  # its values, if it holds any that are no error

    def parsed(self, piece: bytes) -> FloatArray | None:
        """A block's numbers as the fast paths read them; None for the strict path."""
        values = self.fast(piece) if self.fast is not None else None
        if values is None:
            buf = np.frombuffer(piece, np.uint8)
            commas = np.flatnonzero(buf == 44)
            values = json_numbers(buf, np.concatenate(([0], commas + 1)),
                                  np.concatenate((commas, [len(buf)])))
        return values

    def piece(self, piece: bytes, column: int, first: int, values: FloatArray | None
              ) -> FloatArray:
        """The values in one block of an array's text (`first` the index of its first),
        from what the fast paths read (`values`, None where they stepped aside)."""
        codec = self.codecs.get(column)
        label = self.column_label(column)

        def where(row: int) -> str:
            return f"{self.source}:{self.line_of(column, first + row)}"

        if values is not None and (codec is None or not codec.active):
            return values
        if values is not None and codec is not None and codec.exact(values):
            return codec.numbers(values, where, label)
        try:
            cells = json.loads(b"[" + piece + b"]", parse_int=json_whole_number)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise self.invalid(column, first, piece, e) from None
        return column_floats([[cell] for cell in cells], [0], None if self.names is None else
                             (self.names[column],), lambda row, _: where(row),
                             parse=parse_json_number, shown=shown_json, all_text=False,
                             codecs={0: codec} if codec is not None else None)[:, 0]

    def invalid(self, column: int, first: int, piece: bytes,
                error: json.JSONDecodeError | UnicodeDecodeError) -> InputError:
        """The message of a block that is no JSON: a small document's is the whole-document
        reader's; a big one's names the line of the bad value and what json says."""
        if self.small:
            self.whole()  # raises it
        at = (error.pos if isinstance(error, json.JSONDecodeError) else error.start) - 1
        row = piece.count(b",", 0, max(0, at))  # the text was read as "[" + piece + "]"
        what = error.msg if isinstance(error, json.JSONDecodeError) else \
            f"byte 0x{piece[at]:02x} is not UTF-8 text"
        return InputError(f"invalid JSON: {what}",
                          where=f"{self.source}:{self.line_of(column, first + row)}")

    def where(self, block: Block, row: int) -> str:
        return f"{self.source}:{self.line_of(0, block.index(row))}"

    def line_of(self, column: int, k: int) -> int:
        """The line of an array's k-th value: its text read again up to it (messages only)."""
        span = self.spans[column]
        k = max(0, min(k, span.count - 1))
        line, seen, found = span.line, 0, k == 0
        with self.reopen() as stream:
            stream.seek(span.start)
            while chunk := stream.read(BLOCK_BYTES):
                at = 0
                if not found:
                    commas = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 44)
                    if seen + len(commas) < k:
                        seen += len(commas)
                        line += chunk.count(b"\n")
                        continue
                    at = int(commas[k - seen - 1]) + 1
                    line += chunk.count(b"\n", 0, at)
                    found = True
                blanks = _BLANKS.match(chunk, at)
                assert blanks is not None
                line += chunk.count(b"\n", at, blanks.end())
                if blanks.end() < len(chunk):
                    break
        return line
