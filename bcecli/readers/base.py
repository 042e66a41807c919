"""What every format shares: the detected input, blocks of rows, the reader interface, limits.

Format modules import this module only (never the package's `__init__`, never
each other except `jsondoc` → `jsonlines`), so imports run one way.
"""

from __future__ import annotations

import itertools
import math
import os
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

from bcecli.core import FloatArray
from bcecli.errors import InputError, plural
from bcecli.readers.cells import Codec, Parse

if TYPE_CHECKING:  # threads are started only for large inputs: not imported at start-up
    from concurrent.futures import Executor, Future

STDIN = "-"
BLOCK_BYTES = 1 << 20  # text read per block: 1 MiB keeps peak memory near 64 MiB
BLOCK_ROWS = 1 << 18  # values per block for arrays already in memory
MAX_LINE = 1 << 24  # 16 MiB: a longer "line" is not line-based text; refuse, do not buffer
MAX_COLUMNS = 100_000
MAX_BLOCK_LINES = 1 << 16  # lines parsed at a time: short lines cost more than their bytes
AHEAD = 4  # blocks parsed ahead of the one handed out, where they are parsed on threads

Format = Literal["csv", "tsv", "json", "jsonl", "npy", "npz", "arrow"]  # csv: delimiter sniffed
Compression = Literal["gzip", "bz2", "xz", "zip"]
ReadHook = Callable[[int], None]  # told the size of every chunk read (the progress bar)
LineNumbers = int | np.ndarray[Any, np.dtype[np.int64]] | None


@dataclass
class Input:
    """One input as `open_input` detected it, from its bytes, once.

    `name` is how messages call it (the path, or ``<stdin>``); `stream` gives its
    bytes, decompressed, re-encoded as UTF-8 without a byte-order mark, with LF
    line ends, and peekable (for `npz`, the zip archive itself).
    """

    name: str
    path: str | None  # the file on disk; None for stdin
    stream: IO[bytes]
    compression: Compression | None  # the outermost, where several were undone
    format: Format
    encoding: str | None = None  # "utf-16" or "utf-32" text, re-encoded as it is read
    cr_lines: bool = False  # old Mac text: lines ended by CR alone, read as LF
    remote: bool = False  # read from a URL (`bcecli.remote`), not a file on this machine

    @property
    def plain_file(self) -> str | None:
        """The path, when the file's own bytes are the data (so it can be read by position
        or handed to pyarrow); None for stdin, compressed and rewritten files."""
        rewritten = self.encoding is not None or self.cr_lines
        return self.path if self.compression is None and not rewritten else None

    @property
    def ranged(self) -> IO[bytes] | None:
        """The stream, when it gives a URL's own bytes by position (pyarrow reads a Parquet
        file's footer, then only the column chunks wanted); None elsewhere."""
        stored = self.remote and self.compression is None and self.stream.seekable()
        return self.stream if stored else None

    def read_all(self, limit: int, what: str, hint: str) -> bytearray:
        """Every byte, for a format read whole; beyond `limit` bytes it is refused (`what`
        it is, and the `hint`), so a pipe or a small compressed file cannot fill the memory."""
        out = bytearray()
        while chunk := read_chunk(self.stream, BLOCK_BYTES, self.name):
            out += chunk
            if len(out) > limit:
                raise InputError(f"{what} is read into memory, up to {limit >> 20} MiB: this one "
                                 "is larger", where=self.name, hint=hint)
        return out


@dataclass
class Block:
    """Rows `start` to `start + len(values)` of one input: the selected columns, (n, k).

    `lines` gives each row's 1-based source line: an int is the line of row 0 of
    a block without gaps, an array lists them, None means the format has no lines.
    `indices` lists the rows' positions in the input once some were skipped.
    `widths` gives each selected column's number of values where some column holds
    a list (C values a row); None when every column holds one.
    """

    values: FloatArray
    start: int
    lines: LineNumbers
    indices: np.ndarray[Any, np.dtype[np.int64]] | None = None
    widths: tuple[int, ...] | None = None

    def line(self, row: int) -> int | None:
        if self.lines is None or isinstance(self.lines, int):
            return None if self.lines is None else self.lines + row
        return int(self.lines[row])

    def index(self, row: int) -> int:
        """The row's 0-based position in its input."""
        return self.start + row if self.indices is None else int(self.indices[row])

    def select(self, first: int, count: int) -> Block:
        """The same rows, selected columns `first` to `first + count` (all the values of
        each, where a column holds lists)."""
        if self.widths is not None:
            first, count = sum(self.widths[:first]), sum(self.widths[first:first + count])
        return replace(self, values=self.values[:, first:first + count], widths=None)

    def take(self, begin: int, end: int) -> Block:
        """Rows `begin` to `end`."""
        lines = self.lines
        if lines is not None and not isinstance(lines, int):
            lines = lines[begin:end]
        elif isinstance(lines, int):
            lines += begin
        indices = None if self.indices is None else self.indices[begin:end]
        return Block(self.values[begin:end], self.start + begin, lines, indices, self.widths)

    def keep(self, rows: np.ndarray[Any, np.dtype[np.bool_]]) -> Block:
        """The rows where `rows` is True, each still knowing its line and position."""
        n = len(self.values)
        lines = np.arange(self.lines, self.lines + n) if isinstance(self.lines, int) else \
            self.lines
        indices = np.arange(self.start, self.start + n) if self.indices is None else self.indices
        return Block(self.values[rows], self.start, None if lines is None else lines[rows],
                     indices[rows], self.widths)


class Reader:
    """One input: its column names and width, and its rows, block by block.

    `codecs` holds, for a column read other than as its numbers, the `Codec` that reads
    it: the `Labels` that turn a target column's class labels into 0 and 1, the `Ids`
    of an id column (set once the roles are known, before any block).
    """

    def __init__(self, source: str, names: tuple[str, ...] | None, width: int, nested: bool):
        if not width:  # `[[]]`, a Parquet file of no columns: no role could read anything
            raise InputError("has no columns: there are no values to read", where=source)
        if width > MAX_COLUMNS:
            raise InputError(f"has more than {MAX_COLUMNS} columns; bce reads at most that many "
                             "(are rows and columns swapped?)", where=source)
        self.source = source
        self.names = names
        self.width = width
        self.nested = nested  # rows were arrays: one column still makes N×1
        # How a text header was found: "names", pandas' "positions", or "maybe" (a first
        # row `0` or `0,1` over whole numbers, settled by the other inputs).
        self.header_kind: str | None = None
        self.first_line = 1  # the line of the first row, in line-based formats
        self.codecs: dict[int, Codec] = {}
        self.id_column: int | None = None  # --id-col: joins rows; no role reads it
        # How an ambiguous first row was taken (pandas' `0` header over whole numbers),
        # said when the row counts then disagree.
        self.first_row_guess: str | None = None
        self.lists: dict[int, int] = {}  # list-valued columns: the length of every row's list

    def settle_header(self, header: bool) -> None:
        """Take an ambiguous first row as the header, or as data (text readers only)."""

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        raise NotImplementedError

    def size(self, column: int) -> int | None:
        """The length of every row's list in a list-valued column (JSON Lines fields and
        Arrow list columns, multi-label); None where each row holds one value."""
        return self.lists.get(column)

    def widths(self, columns: Sequence[int]) -> tuple[int, ...] | None:
        """Each column's number of values in a block, for `Block.widths`."""
        sizes = [self.size(column) for column in columns]
        return None if all(size is None for size in sizes) else \
            tuple(size or 1 for size in sizes)

    def column_label(self, index: int) -> str:
        """How messages name a column: its quoted header name, else its index."""
        return repr(self.names[index]) if self.names is not None else str(index)

    def where(self, block: Block, row: int) -> str:
        """`file:line` for text, `file[row]` where there are no lines."""
        line = block.line(row)
        if line is None:
            return f"{self.source}[{block.index(row)}]"
        return f"{self.source}:{line}"

    def decoded(self, block: Block, columns: Sequence[int]) -> Block:
        """A block of numbers with its codec columns read through them: label columns as
        0 and 1 (`--pos-label`), ids as codes (`--id-col`)."""
        for k, column in enumerate(columns):
            codec = self.codecs.get(column)
            if codec is not None and codec.active:
                block.values[:, k] = codec.numbers(block.values[:, k],
                                                   lambda row: self.where(block, row),
                                                   self.column_label(column))
        return block

    def exact(self, block: Block, columns: Sequence[int]) -> bool:
        """Whether the numbers a fast path parsed stand for the cells of every codec column
        (ids from 2**52 on may not: their text is read instead)."""
        return all(codec.exact(block.values[:, k]) for k, column in enumerate(columns)
                   if (codec := self.codecs.get(column)) is not None and codec.active)


class ArrayReader(Reader):
    """Numbers already in memory (JSON, `.npy`), handed out in slices."""

    def __init__(self, source: str, array: FloatArray, nested: bool,
                 line_of: Callable[[int], int] | None = None, *,
                 names: tuple[str, ...] | None = None):
        super().__init__(source, names, array.shape[1], nested)
        self.array = array
        self.line_of = line_of

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        rows = max(1, BLOCK_ROWS // max(1, len(columns)))
        for start in range(0, len(self.array), rows):
            values = np.asarray(self.array[start:start + rows, list(columns)], dtype=np.float64)
            yield self.decoded(Block(values, start, None), columns)

    def where(self, block: Block, row: int) -> str:
        if self.line_of is not None:  # JSON: the line is found only now, on the error path
            return f"{self.source}:{self.line_of(block.index(row))}"
        return super().where(block, row)


class Arrays:
    """Named arrays of one input (NumPy's `.npz`); `open(name)` reads one, when a role
    picks it."""

    def __init__(self, source: str, names: list[str], open: Callable[[str], Reader]):
        self.source = source
        self.names = names
        self.open = open


# -- bytes in ---------------------------------------------------------------------------


class LineTooLong(Exception):
    """Raised by `line_blocks`; the reader, which knows the line number, reports it."""


def read_chunk(stream: IO[bytes], size: int, source: str) -> bytes:
    """`stream.read(size)`, with broken gzip and I/O errors as one-line errors."""
    try:
        return stream.read(size)
    except (EOFError, OSError, zlib.error) as e:
        raise read_error(e, source) from None


def read_into(stream: IO[bytes], buffer: memoryview, source: str) -> int:
    """`stream.readinto(buffer)` (no bytes object in between), errors as `read_chunk`'s."""
    try:
        count: int = stream.readinto(buffer)  # type: ignore[attr-defined]
    except (EOFError, OSError, zlib.error) as e:
        raise read_error(e, source) from None
    return count


def read_error(error: EOFError | OSError | zlib.error, source: str) -> InputError:
    """What a failed read says: broken gzip, or the system's reason."""
    if not isinstance(error, OSError) or type(error).__name__ == "BadGzipFile":
        return InputError(f"not a valid gzip file ({error})", where=source)
    return InputError(f"cannot read: {error.strerror or error}", where=source)


def line_blocks(stream: IO[bytes], source: str, on_read: ReadHook | None) -> Iterator[bytes]:
    """Whole lines, about BLOCK_BYTES at a time; the last may lack its newline."""
    pending = b""
    while chunk := read_chunk(stream, BLOCK_BYTES, source):
        if on_read is not None:
            on_read(len(chunk))
        cut = chunk.rfind(b"\n") + 1
        if cut:  # one copy: the bytes held over, then the chunk's whole lines
            yield b"".join((pending, memoryview(chunk)[:cut])) if pending or \
                cut < len(chunk) else chunk
            pending = chunk[cut:]
        else:
            pending += chunk
        if len(pending) > MAX_LINE:
            raise LineTooLong
    if pending:
        yield pending


def next_block(blocks: Iterator[bytes], source: str, line: int) -> bytes:
    """The next block of lines (b"" at the end); `line` is the number of its first line."""
    try:
        return next(blocks, b"")
    except LineTooLong:
        raise InputError(f"a line longer than {MAX_LINE >> 20} MiB: this is not line-based "
                         "text (or not split into lines)", where=f"{source}:{line}") from None


def parsed_blocks(pending: bytes, rest: Iterator[bytes], first_line: int, source: str,
                  parse: Callable[[bytes, int, int], Block],
                  pool: Executor | None = None) -> Iterator[Block]:
    """Blocks of lines parsed in turn, numbered from `first_line`; empty ones are skipped.

    `parse(chunk, first_line, start)` turns whole lines into the rows numbered from
    `start`. A blank line is a row whose values are all missing, except where only
    blank and comment lines follow it: the end of the input holds no rows.

    With a `pool`, up to AHEAD blocks are parsed at once on its threads (numbered from
    0 there, renumbered here, in order) and handed out in file order; a block's error
    is raised in its turn, after the blocks before it, as without one.
    """
    spans = line_spans(pending, rest, first_line, source)
    parsed = (parse(body, line, 0) for body, line in spans) if pool is None else \
        parsed_ahead(pool, parse, spans)
    start = 0
    for block in parsed:
        if len(block.values):
            block.start = start
            yield block
            start += len(block.values)


def line_spans(pending: bytes, rest: Iterator[bytes], first_line: int, source: str
               ) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines with the number of their first, trailing blank and comment
    lines held back until data follows them (see `parsed_blocks`)."""
    line, carried = first_line, b""
    chunks = itertools.chain([pending] if pending else [], rest)
    while chunk := next_block(chunks, source, line + line_count(carried)):
        chunk = carried + chunk if carried else chunk
        cut = end_of_data(chunk)
        body, carried = chunk[:cut], chunk[cut:]
        if len(carried) > MAX_LINE:  # held back until data follows, or the end: bounded
            raise InputError(f"more than {MAX_LINE >> 20} MiB of blank or comment lines in a "
                             "row", where=f"{source}:{line + line_count(body)}")
        if body:
            yield body, line
            line += line_count(body)


@contextmanager
def parsing_threads(wanted: bool, most: int = 4) -> Iterator[Executor | None]:
    """A thread per core (up to `most`) to parse blocks on, if `wanted` and there are two
    cores or more; else None: parse in turn."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1
    if not wanted or cores < 2:
        yield None
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(cores, most), thread_name_prefix="bce-parse") as pool:
        yield pool


Parsed = TypeVar("Parsed")


def parsed_ahead(pool: Executor, parse: Callable[[bytes, int, int], Parsed],
                 spans: Iterator[tuple[bytes, int]], ahead: int = AHEAD) -> Iterator[Parsed]:
    """`parse` on each span, `ahead` at a time on the pool's threads, the results in order.
    A failure to read the spans waits its turn behind the blocks already read."""
    queued: deque[Future[Parsed]] = deque()
    failure: InputError | None = None
    try:
        while True:
            try:
                body, line = next(spans)
            except StopIteration:
                break
            except InputError as error:  # raised once the blocks before it are handed out
                failure = error
                break
            queued.append(pool.submit(parse, body, line, 0))
            if len(queued) > ahead:
                yield queued.popleft().result()
        while queued:
            yield queued.popleft().result()
        if failure is not None:
            raise failure
    finally:
        for future in queued:  # left unread (an error elsewhere): not parsed for nothing
            future.cancel()


def in_pieces(chunk: bytes, first_line: int, start: int,
              parse: Callable[[bytes, int, int], Block]) -> Block:
    """`parse(chunk, first_line, start)` for a parser in Python, run on at most
    MAX_BLOCK_LINES lines at a time and joined: it holds a Python object or two a cell, so
    a block of short lines (a JSON Lines `0` costs about 150 bytes) is parsed in pieces."""
    if chunk.count(b"\n") <= MAX_BLOCK_LINES:
        return parse(chunk, first_line, start)
    newlines = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
    cuts = [0, *(newlines[MAX_BLOCK_LINES - 1::MAX_BLOCK_LINES] + 1).tolist()]
    if cuts[-1] < len(chunk):
        cuts.append(len(chunk))
    blocks = []
    for begin, end in itertools.pairwise(cuts):
        blocks.append(parse(chunk[begin:end], first_line, start))
        first_line += line_count(chunk[begin:end])
        start += len(blocks[-1].values)
    return Block(np.concatenate([block.values for block in blocks]), blocks[0].start,
                 np.concatenate([np.asarray(block.lines, dtype=np.int64) for block in blocks]))


def line_count(chunk: bytes) -> int:
    # numpy counts a block's newlines several times faster than bytes.count
    newlines = int(np.count_nonzero(np.frombuffer(chunk, np.uint8) == 10)) \
        if len(chunk) > 1 << 16 else chunk.count(b"\n")
    return newlines + (bool(chunk) and not chunk.endswith(b"\n"))


def end_of_data(chunk: bytes) -> int:
    """Where the last line holding data (not blank, not a `#` comment) ends."""
    stop = len(chunk)
    while stop:
        newline = chunk.rfind(b"\n", 0, stop - 1)
        line = chunk[newline + 1:stop].strip()
        if line and not line.startswith(b"#"):
            return stop
        stop = newline + 1
    return 0


def is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def decode(chunk: bytes | bytearray, source: str, first_line: int) -> str:
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError as e:
        line = first_line + chunk[: e.start].count(b"\n")
        raise InputError(f"byte 0x{chunk[e.start]:02x} is not UTF-8 text",
                         where=f"{source}:{line}") from None


def first_row(chunk: bytes, source: str) -> tuple[int, str] | None:
    """The number and text of the first data line of an input (decoding only that far)."""
    start, number = 0, 1
    while start < len(chunk):
        end = chunk.find(b"\n", start)
        end = len(chunk) if end < 0 else end
        line = decode(chunk[start:end], source, number).rstrip("\r")
        if line.strip() and not is_comment(line):
            return number, line
        start, number = end + 1, number + 1
    return None


# -- cells out --------------------------------------------------------------------------

def column_floats(rows: list[list[Any]], columns: Sequence[int], names: tuple[str, ...] | None,
                  where: Callable[[int, int], str], *, parse: Parse, shown: Callable[[Any], str],
                  all_text: bool, codecs: Mapping[int, Codec] | None = None,
                  hint: Callable[[str], str | None] | None = None,
                  lists: Mapping[int, int] | None = None) -> FloatArray:
    """Selected cells as float64 (n, k); the first one that is not a number is an error at
    `where(row, column)`, with a hint (`hint(cell)`, or the labels a target column holds).

    With `all_text` (every cell a str) a column is first tried in one numpy call. A
    column with an active codec (class labels, ids) is read through it instead. A
    column in `lists` holds a list of that length in each cell: its values fill as
    many columns of the result.
    """
    sizes = [lists.get(index) if lists else None for index in columns]
    out = np.empty((len(rows), sum(size or 1 for size in sizes)))
    at = 0
    for index, size in zip(columns, sizes, strict=True):
        cells = [row[index] for row in rows]
        label = repr(names[index]) if names is not None else str(index)
        own = codecs.get(index) if codecs else None
        row_where = partial(column_where, where, index)
        if size is None:
            out[:, at] = cell_floats(cells, label, row_where, parse=parse, shown=shown,
                                     all_text=all_text, codec=own, hint=hint)
        else:
            out[:, at:at + size] = list_floats(cells, size, label, row_where, parse=parse,
                                               shown=shown, codec=own)
        at += size or 1
    return out


def cell_floats(cells: list[Any], label: str, where: Callable[[int], str], *, parse: Parse,
                shown: Callable[[Any], str], all_text: bool, codec: Codec | None,
                hint: Callable[[str], str | None] | None) -> FloatArray:
    """One column's cells as float64 (see `column_floats`)."""
    if codec is not None and codec.active:
        return codec.cells(cells, parse, shown, label, where)
    if all_text and not any("_" in c for c in cells):
        try:
            return np.array(cells, dtype=np.float64)
        except ValueError:
            pass  # true/false, or a bad cell: the loop below says which
    out = np.empty(len(cells))
    for row, cell in enumerate(cells):
        value = parse(cell)
        if value is None:
            advice = hint(cell) if hint is not None and isinstance(cell, str) else None
            if advice is None and codec is not None:
                advice = codec.hint(cells, parse)
            raise InputError(f"{shown(cell)} in column {label} is not a number",
                             where=where(row), hint=advice)
        out[row] = value
    return out


def list_floats(cells: list[Any], size: int, label: str, where: Callable[[int], str], *,
                parse: Parse, shown: Callable[[Any], str], codec: Codec | None
                ) -> FloatArray:
    """A list-valued column's cells as float64 (n, size): a null list is a row of missing
    values; a list of another length, or a value that is not a list, is an error."""
    out = np.full((len(cells), size), math.nan)
    rows: list[int] = []
    values: list[Any] = []
    for row, cell in enumerate(cells):
        if cell is None:
            continue
        if not isinstance(cell, list):
            raise InputError(f"{shown(cell)} in column {label} is not a list",
                             where=where(row))
        if len(cell) != size:
            raise InputError(ragged(label, len(cell), size), where=where(row))
        rows.append(row)
        values.extend(cell)

    def element_where(k: int) -> str:
        return where(rows[k // size])

    if codec is not None and codec.active:
        flat = codec.cells(values, parse, shown, label, element_where)
    else:
        flat = np.empty(len(values))
        for k, value in enumerate(values):
            number = parse(value)
            if number is None:
                raise InputError(f"{shown(value)} in column {label}[{k % size}] is not a "
                                 "number", where=element_where(k))
            flat[k] = number
    out[rows] = flat.reshape(-1, size)
    return out


def ragged(label: str, size: int, expected: int) -> str:
    """The message for a list whose length is not the first list's."""
    return f"a list of {plural(size, 'value')} in column {label}, where the first has {expected}"


def column_where(where: Callable[[int, int], str], column: int, row: int) -> str:
    return where(row, column)
