"""Readers: files and stdin in, blocks of numbers out, each row still knowing its line.

`open_input` sniffs the format and returns a `Reader`; `Reader.blocks(columns)`
yields the selected columns as float64 blocks of bounded size, so memory does not
grow with the input. Text is parsed by the fastest path that is exact for the
block at hand (`textparse`), falling back to a strict Python parser that also
names the line of any bad cell. JSON documents are read whole (they must be);
everything else streams.
"""

from __future__ import annotations

import io
import itertools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from bcecli import textparse
from bcecli.errors import InputError, UsageError
from bcecli.textparse import FloatArray

STDIN = "-"
BLOCK_BYTES = 1 << 20  # text read per block: 1 MiB keeps peak memory near 64 MiB
BLOCK_ROWS = 1 << 18  # values per block for arrays already in memory
MAX_LINE = 1 << 24  # 16 MiB: a longer "line" is not line-based text; refuse, do not buffer
MAX_COLUMNS = 100_000
_SUFFIX_FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".txt": "text", ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".npy": "npy",
    ".parquet": "arrow", ".feather": "arrow", ".arrow": "arrow", ".ipc": "arrow",
}
ReadHook = Callable[[int], None]


@dataclass(frozen=True)
class Block:
    """Rows `start` to `start + len(values)` of one input: the selected columns, (n, k).

    `lines` gives each row's 1-based source line: an int is the line of row 0 of
    a block without gaps, an array lists them, None means the format has no lines.
    """

    values: FloatArray
    start: int
    lines: int | np.ndarray[Any, np.dtype[np.int64]] | None

    def line(self, row: int) -> int | None:
        if self.lines is None or isinstance(self.lines, int):
            return None if self.lines is None else self.lines + row
        return int(self.lines[row])

    def select(self, first: int, count: int) -> Block:
        """The same rows, columns `first` to `first + count`."""
        return Block(self.values[:, first:first + count], self.start, self.lines)

    def take(self, begin: int, end: int) -> Block:
        lines = self.lines
        if lines is not None and not isinstance(lines, int):
            lines = lines[begin:end]
        elif isinstance(lines, int):
            lines += begin
        return Block(self.values[begin:end], self.start + begin, lines)


class LineTooLong(Exception):
    """Raised by `line_blocks`; the reader, which knows the line number, reports it."""


class Reader:
    """One input: its column names and width, and its rows, block by block."""

    def __init__(self, source: str, names: tuple[str, ...] | None, width: int, nested: bool):
        if width > MAX_COLUMNS:
            raise InputError(f"has more than {MAX_COLUMNS} columns; bce reads at most that many "
                             "(are rows and columns swapped?)", where=source)
        self.source = source
        self.names = names
        self.width = width
        self.nested = nested  # rows were arrays: one column still makes N×1

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        raise NotImplementedError

    def index_of(self, part: str, option: str) -> int:
        """A column by header name, else by 0-based index."""
        if self.names is not None and part in self.names:
            return self.names.index(part)
        if part.isdigit() and int(part) < self.width:
            return int(part)
        known = ", ".join(self.names) if self.names else f"0 to {self.width - 1}"
        raise UsageError(f"{option} {part!r}: no such column in {self.source} (columns: {known})")

    def label(self, index: int) -> str:
        return repr(self.names[index]) if self.names is not None else str(index)

    def where(self, block: Block, row: int) -> str:
        """`file:line` for text, `file[row]` where there are no lines."""
        line = block.line(row)
        if line is None:
            return f"{self.source}[{block.start + row}]"
        return f"{self.source}:{line}"


class ArrayReader(Reader):
    """Numbers already in memory (JSON, `.npy`), handed out in slices."""

    def __init__(self, source: str, array: FloatArray, nested: bool,
                 line_of: Callable[[int], int] | None = None):
        super().__init__(source, None, array.shape[1], nested)
        self.array = array
        self.line_of = line_of

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        rows = max(1, BLOCK_ROWS // max(1, len(columns)))
        for start in range(0, len(self.array), rows):
            values = np.asarray(self.array[start:start + rows, list(columns)], dtype=np.float64)
            yield Block(values, start, None)

    def where(self, block: Block, row: int) -> str:
        if self.line_of is not None:  # JSON: the line is found only now, on the error path
            return f"{self.source}:{self.line_of(block.start + row)}"
        return super().where(block, row)


class TextReader(Reader):
    """CSV, TSV or whitespace-separated text, streamed in blocks of whole lines."""

    def __init__(self, source: str, stream: IO[bytes], header: bool | None, tab: bool,
                 on_read: ReadHook | None):
        self.lines = line_blocks(stream, source, on_read)
        first, self.first_line = next_block(self.lines, source, 1), 1
        first = first.removeprefix(b"\xef\xbb\xbf")
        head = textparse.first_row(first, source)
        if head is None:
            raise InputError("no data (the input is empty)", where=source)
        line_number, text = head
        self.delimiter = "\t" if tab else textparse.sniff_delimiter(text)
        if textparse.field_count(text, self.delimiter) > MAX_COLUMNS:  # before splitting it
            raise InputError(f"has more than {MAX_COLUMNS} columns; bce reads at most that many "
                             "(are rows and columns swapped?)", where=f"{source}:{line_number}")
        cells = textparse.split_line(text, self.delimiter, source, line_number)
        # A delimiter that ends every line leaves an empty last column: no data, dropped.
        self.trailing = self.delimiter is not None and len(cells) > 1 and not cells[-1].strip()
        if self.trailing:
            cells = cells[:-1]
        names = None
        if header or (header is None and any(textparse.text_number(c) is None for c in cells)):
            names = tuple(cell.strip() for cell in cells)
            first = first.split(b"\n", line_number)[-1] if b"\n" in first else b""
            self.first_line = line_number + 1
        self.pending = first
        super().__init__(source, names, len(cells), False)

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        def parse(chunk: bytes, line: int) -> textparse.Parsed:
            if self.trailing:
                chunk = textparse.strip_trailing(chunk, self.delimiter or "")
            return textparse.parse_block(chunk, columns, self.width, self.delimiter,
                                         self.source, line, self.names)

        rows = 0
        for block in parsed_blocks(self.pending, self.lines, self.first_line, self.source, parse):
            rows += len(block.values)
            yield block
        if rows == 0:  # there was a first row (see __init__), so it was a header
            raise InputError("has a header but no data rows", where=self.source)


class JsonLinesReader(Reader):
    """One number, array or object a line; objects give named columns."""

    def __init__(self, source: str, stream: IO[bytes], on_read: ReadHook | None):
        self.lines = line_blocks(stream, source, on_read)
        self.pending = next_block(self.lines, source, 1)
        first = textparse.first_json_value(self.pending, source)
        if first is None:
            raise InputError("no data (the input is empty)", where=source)
        value = first
        names = tuple(value) if isinstance(value, dict) else None
        width = len(value) if isinstance(value, list | dict) else 1
        super().__init__(source, names, width, isinstance(value, list))

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        def parse(chunk: bytes, line: int) -> textparse.Parsed:
            return textparse.parse_json_lines(chunk, columns, self.width, self.names,
                                              self.source, line)

        yield from parsed_blocks(self.pending, self.lines, 1, self.source, parse)


def parsed_blocks(pending: bytes, rest: Iterator[bytes], first_line: int, source: str,
                  parse: Callable[[bytes, int], textparse.Parsed]) -> Iterator[Block]:
    """Blocks of lines parsed in turn, numbered from `first_line`; empty ones are skipped."""
    start, line = 0, first_line
    chunks = itertools.chain([pending] if pending else [], rest)
    while chunk := next_block(chunks, source, line):
        block = parse(chunk, line)
        if len(block.values):
            yield Block(block.values, start, block.lines)
            start += len(block.values)
        line += block.line_count


# -- opening ----------------------------------------------------------------------------


def open_input(path: str, resources: ExitStack, *, header: bool | None = None,
               input_format: str | None = None, stdin: IO[bytes] | None = None,
               on_read: ReadHook | None = None) -> Reader | dict[str, Reader]:
    """Open one input (a path or `-`): a Reader, or for a JSON object one Reader per key.

    Files opened here are closed by `resources`, when the caller is done with them.
    """
    source = "<stdin>" if path == STDIN else path
    stream: IO[bytes] = (stdin or sys.stdin.buffer) if path == STDIN else \
        resources.enter_context(open_file(path))
    if not hasattr(stream, "peek"):  # sniffing looks ahead without consuming
        stream = cast(IO[bytes], io.BufferedReader(cast(Any, stream)))
    name = path.lower()
    if name.endswith(".gz") or peek(stream, 2) == b"\x1f\x8b":
        import gzip

        stream = cast(IO[bytes], resources.enter_context(gzip.GzipFile(fileobj=stream)))
        name = name.removesuffix(".gz")
    fmt = input_format if path == STDIN and input_format else _SUFFIX_FORMATS.get(Path(name).suffix)
    if fmt == "npy" or (fmt is None and peek(stream, 6) == b"\x93NUMPY"):
        plain_file = path != STDIN and not path.lower().endswith(".gz")
        return read_npy(path if plain_file else read_all(stream, source), source)
    if fmt == "arrow" or (fmt is None and peek(stream, 6).startswith((b"PAR1", b"ARROW1"))):
        return arrow_table(path, stream, source)
    if fmt is None or fmt == "text":
        fmt = "json" if peek(stream, 4096).lstrip()[:1] in (b"[", b"{") else "delimited"
    if fmt == "json":
        from bcecli.jsondoc import read_json

        return read_json(read_all(stream, source), source)
    if fmt == "jsonl":
        return JsonLinesReader(source, stream, on_read)
    text = TextReader(source, stream, header, tab=fmt == "tsv", on_read=on_read)
    return with_arrow(text, path, resources) or text


def arrow_table(path: str, stream: IO[bytes], source: str) -> Reader:
    """Parquet, Feather or Arrow IPC, which need the `arrow` extra."""
    from bcecli import arrow

    if not arrow.available():
        raise InputError("reading Parquet, Feather or Arrow files needs pyarrow: "
                         "pip install 'bcecli[arrow]'", where=source)
    plain = path != STDIN and not path.lower().endswith(".gz")
    return arrow.ArrowTableReader(source, path if plain else read_all(stream, source))


def with_arrow(text: TextReader, path: str, resources: ExitStack) -> Reader | None:
    """pyarrow's parser for a large plain CSV/TSV file that is not fixed-width, if installed."""
    # One column has no delimiter to sniff; pyarrow then needs one that does not occur.
    delimiter = text.delimiter or ("," if text.width == 1 else None)
    if path == STDIN or path.lower().endswith(".gz") or delimiter is None:
        return None
    from bcecli import arrow

    if (os.path.getsize(path) < arrow.MIN_BYTES or textparse.fixed_width_lines(text.pending)
            or not arrow.available()):
        return None

    def fallback() -> Reader:
        stream = resources.enter_context(open_file(path))
        return TextReader(text.source, stream, text.names is not None, text.delimiter == "\t",
                          None)

    return arrow.ArrowCsvReader(path, text.names, text.width, delimiter, text.first_line - 1,
                                fallback)


def open_file(path: str) -> IO[bytes]:
    try:
        if os.path.isdir(path):
            raise IsADirectoryError
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError("no such file", where=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", where=path) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", where=path) from None


def peek(stream: IO[bytes], size: int) -> bytes:
    """The next bytes of a buffered stream without consuming them."""
    try:
        data: bytes = stream.peek(size)  # type: ignore[attr-defined]
    except (OSError, EOFError):
        return b""
    return data[:size]


def read_chunk(stream: IO[bytes], size: int, source: str) -> bytes:
    """`stream.read(size)`, with broken gzip and I/O errors as one-line errors."""
    import zlib

    try:
        return stream.read(size)
    except (EOFError, zlib.error) as e:
        raise InputError(f"not a valid gzip file ({e})", where=source) from None
    except OSError as e:
        if type(e).__name__ == "BadGzipFile":
            raise InputError(f"not a valid gzip file ({e})", where=source) from None
        raise InputError(f"cannot read: {e.strerror or e}", where=source) from None


def read_all(stream: IO[bytes], source: str) -> bytes:
    return read_chunk(stream, -1, source)


def line_blocks(stream: IO[bytes], source: str, on_read: ReadHook | None) -> Iterator[bytes]:
    """Whole lines, about BLOCK_BYTES at a time; the last may lack its newline."""
    pending = b""
    while chunk := read_chunk(stream, BLOCK_BYTES, source):
        if on_read is not None:
            on_read(len(chunk))
        data = pending + chunk if pending else chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
        pending = data[cut:]
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


def read_npy(data: str | bytes, source: str) -> ArrayReader:
    """A 1-D or 2-D numeric `.npy`, memory-mapped when it is a plain file.

    Object arrays (pickles) are refused, never loaded.
    """
    try:
        if isinstance(data, str):
            array = np.load(data, mmap_mode="r", allow_pickle=False)
        else:
            array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e) or "Python objects" in str(e):
            raise InputError("holds Python objects (pickle); bce never loads pickles",
                             where=source) from None
        raise InputError(f"not a valid .npy file ({e})", where=source) from None
    except (OSError, EOFError) as e:
        raise InputError(f"not a valid .npy file ({e})", where=source) from None
    if array.dtype.kind not in "biuf" or array.ndim not in (1, 2) or array.size == 0:
        raise InputError(f"needs a non-empty 1-D or 2-D numeric array, not {array.ndim}-D "
                         f"{array.dtype} of shape {tuple(array.shape)}", where=source)
    return ArrayReader(source, array.reshape(len(array), -1), nested=array.ndim == 2)
