"""What every format shares: the detected input, blocks of rows, the reader interface, limits.

Format modules import this module only (never the package's `__init__`, never
each other except `jsondoc` → `jsonlines`), so imports run one way.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import IO, Any, Literal

import numpy as np

from bcecli.core import FloatArray
from bcecli.errors import InputError, UsageError, plural

STDIN = "-"
BLOCK_BYTES = 1 << 20  # text read per block: 1 MiB keeps peak memory near 64 MiB
BLOCK_ROWS = 1 << 18  # values per block for arrays already in memory
MAX_LINE = 1 << 24  # 16 MiB: a longer "line" is not line-based text; refuse, do not buffer
MAX_COLUMNS = 100_000

Format = Literal["csv", "tsv", "json", "jsonl", "npy", "npz", "arrow"]  # csv: delimiter sniffed
Compression = Literal["gzip", "bz2", "xz", "zip"]
ReadHook = Callable[[int], None]  # told the size of every chunk read (the progress bar)
LineNumbers = int | np.ndarray[Any, np.dtype[np.int64]] | None


@dataclass
class Input:
    """One input as `open_input` detected it, from its bytes, once.

    `name` is how messages call it (the path, or ``<stdin>``); `stream` gives its
    bytes, decompressed, re-encoded as UTF-8 without a byte-order mark, and
    peekable (for `npz`, the zip archive itself).
    """

    name: str
    path: str | None  # the file on disk; None for stdin
    stream: IO[bytes]
    compression: Compression | None  # the outermost, where several were undone
    format: Format
    encoding: str | None = None  # "utf-16" or "utf-32" text, re-encoded as it is read

    @property
    def plain_file(self) -> str | None:
        """The path, when the file's own bytes are the data (so it can be mapped or
        handed to pyarrow); None for stdin, compressed and re-encoded files."""
        return self.path if self.compression is None and self.encoding is None else None

    def read_all(self) -> bytes:
        return read_chunk(self.stream, -1, self.name)


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

    `labels` holds, for each column read as targets, the `Labels` that turn class
    labels into 0 and 1 (set once the roles are known, before any block).
    """

    def __init__(self, source: str, names: tuple[str, ...] | None, width: int, nested: bool):
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
        self.labels: dict[int, Labels] = {}
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

    def labelled(self, block: Block, columns: Sequence[int]) -> Block:
        """A block of numbers with its label columns as 0 and 1 (`--pos-label`)."""
        for k, column in enumerate(columns):
            labels = self.labels.get(column)
            if labels is not None and labels.positive is not None:
                block.values[:, k] = labels.numbers(block.values[:, k],
                                                    lambda row: self.where(block, row),
                                                    self.column_label(column))
        return block


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
            yield self.labelled(Block(values, start, None), columns)

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
    import zlib

    try:
        return stream.read(size)
    except (EOFError, zlib.error) as e:
        raise InputError(f"not a valid gzip file ({e})", where=source) from None
    except OSError as e:
        if type(e).__name__ == "BadGzipFile":
            raise InputError(f"not a valid gzip file ({e})", where=source) from None
        raise InputError(f"cannot read: {e.strerror or e}", where=source) from None


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


def parsed_blocks(pending: bytes, rest: Iterator[bytes], first_line: int, source: str,
                  parse: Callable[[bytes, int, int], Block]) -> Iterator[Block]:
    """Blocks of lines parsed in turn, numbered from `first_line`; empty ones are skipped.

    `parse(chunk, first_line, start)` turns whole lines into the rows numbered from
    `start`. A blank line is a row whose values are all missing, except where only
    blank and comment lines follow it: the end of the input holds no rows.
    """
    start, line, carried = 0, first_line, b""
    chunks = itertools.chain([pending] if pending else [], rest)
    while chunk := next_block(chunks, source, line + line_count(carried)):
        chunk = carried + chunk if carried else chunk
        cut = end_of_data(chunk)
        body, carried = chunk[:cut], chunk[cut:]
        if len(carried) > MAX_LINE:  # held back until data follows, or the end: bounded
            raise InputError(f"more than {MAX_LINE >> 20} MiB of blank or comment lines in a "
                             "row", where=f"{source}:{line + line_count(body)}")
        if body:
            block = parse(body, line, start)
            if len(block.values):
                yield block
                start += len(block.values)
            line += line_count(body)


def line_count(chunk: bytes) -> int:
    return chunk.count(b"\n") + (bool(chunk) and not chunk.endswith(b"\n"))


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


def decode(chunk: bytes, source: str, first_line: int) -> str:
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

_BOOLS = {"true": 1.0, "false": 0.0}
# What exporters write for a missing value (pandas' default na_values, lower-cased).
MISSING = frozenset({"", "nan", "-nan", "+nan", "na", "n/a", "#n/a", "#n/a n/a", "#na", "<na>",
                     "null", "none", "1.#ind", "-1.#ind", "1.#qnan", "-1.#qnan"})
Parse = Callable[[Any], float | None]  # a cell as a float (NaN: missing), None if no number


def parse_text_number(cell: str) -> float | None:
    """A float from a text cell (true/false included; NaN where the value is missing),
    or None if it is not a number."""
    text = cell.strip().lower()
    if text in _BOOLS:
        return _BOOLS[text]
    if text in MISSING:
        return math.nan
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def column_floats(rows: list[list[Any]], columns: Sequence[int], names: tuple[str, ...] | None,
                  where: Callable[[int, int], str], *, parse: Parse, shown: Callable[[Any], str],
                  all_text: bool, labels: Mapping[int, Labels] | None = None,
                  hint: Callable[[str], str | None] | None = None,
                  lists: Mapping[int, int] | None = None) -> FloatArray:
    """Selected cells as float64 (n, k); the first one that is not a number is an error at
    `where(row, column)`, with a hint (`hint(cell)`, or the labels a target column holds).

    With `all_text` (every cell a str) a column is first tried in one numpy call. A
    column with `labels` and a positive label is read as class labels instead. A
    column in `lists` holds a list of that length in each cell: its values fill as
    many columns of the result.
    """
    sizes = [lists.get(index) if lists else None for index in columns]
    out = np.empty((len(rows), sum(size or 1 for size in sizes)))
    at = 0
    for index, size in zip(columns, sizes, strict=True):
        cells = [row[index] for row in rows]
        label = repr(names[index]) if names is not None else str(index)
        own = labels.get(index) if labels else None
        row_where = partial(column_where, where, index)
        if size is None:
            out[:, at] = cell_floats(cells, label, row_where, parse=parse, shown=shown,
                                     all_text=all_text, labels=own, hint=hint)
        else:
            out[:, at:at + size] = list_floats(cells, size, label, row_where, parse=parse,
                                               shown=shown, labels=own)
        at += size or 1
    return out


def cell_floats(cells: list[Any], label: str, where: Callable[[int], str], *, parse: Parse,
                shown: Callable[[Any], str], all_text: bool, labels: Labels | None,
                hint: Callable[[str], str | None] | None) -> FloatArray:
    """One column's cells as float64 (see `column_floats`)."""
    if labels is not None and labels.positive is not None:
        return labels.cells(cells, parse, shown, label, where)
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
            if advice is None and labels is not None:
                advice = labels.hint(cells, parse)
            raise InputError(f"{shown(cell)} in column {label} is not a number",
                             where=where(row), hint=advice)
        out[row] = value
    return out


def list_floats(cells: list[Any], size: int, label: str, where: Callable[[int], str], *,
                parse: Parse, shown: Callable[[Any], str], labels: Labels | None
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

    if labels is not None and labels.positive is not None:
        flat = labels.cells(values, parse, shown, label, element_where)
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


# -- class labels -----------------------------------------------------------------------

LabelKey = float | str


class NotALabel(Exception):
    """A cell that can be no class label: an array, an object, an empty string."""


def label_key(cell: Any, parse: Parse) -> LabelKey | None:
    """What a cell says as a label: a number (`4`, `4.0` and JSON's `"4"` alike;
    true/false are 1 and 0), else its text; None where the value is missing."""
    value = parse(cell)
    if value is not None:
        return None if math.isnan(value) else value
    if not isinstance(cell, str) or not cell.strip() or not cell.strip().isprintable():
        raise NotALabel
    text = cell.strip()
    try:
        number = float(text) if "_" not in text else math.nan
    except ValueError:
        return text
    return text if math.isnan(number) else number


def label_text(key: LabelKey) -> str:
    """A label as results show it: `yes`, `4`, `0.5`."""
    if isinstance(key, str):
        return key
    return str(int(key)) if key.is_integer() and abs(key) < 1e15 else repr(key)


def shown_label(key: LabelKey) -> str:
    """A label as messages show it: `'yes'`, `4`, `0.5`."""
    return repr(key) if isinstance(key, str) else label_text(key)


class Labels:
    """Class labels in the target columns, as `--pos-label` reads them: shared by every
    target column of a run, across blocks.

    With a positive label, it is 1 and the one other label 0: the first two distinct
    labels seen are the pair, and the positive one must be one of them; a third is an
    error at its line. Without one, targets are numbers (0/1, soft labels, checked
    by the core) and text in them is an error whose hint names the labels seen.
    """

    def __init__(self, positive: str | None):
        self.given = positive
        self.positive: LabelKey | None = None
        if positive is not None:
            key = label_key(positive, parse_text_number) if positive.strip() else None
            if key is None:
                raise UsageError(f"--pos-label {positive!r} is not a label (it reads as a "
                                 "missing value)")
            self.positive = key
        self.negative: LabelKey | None = None
        self.seen_positive = False

    @property
    def pair(self) -> dict[str, str | None]:
        """Which label became 1 and which 0 (None: never seen), for the result."""
        return {str(value): None if key is None else label_text(key)
                for value, key in ((1, self.positive), (0, self.negative))}

    def see(self, key: LabelKey, where: Callable[[], str], column: str) -> None:
        """Take in a label not seen before (or the positive one); refused where it does
        not fit the pair."""
        if key == self.positive:
            self.seen_positive = True
            return
        if key == self.negative:
            return
        positive = self.positive
        if isinstance(key, str) and isinstance(positive, str) and \
                key.casefold() == positive.casefold():
            raise InputError(f"label {key!r} in column {column} differs from --pos-label "
                             f"{positive!r} only in case", where=where(),
                             hint=f"labels are compared exactly: pass --pos-label {key!r}")
        if self.negative is None:
            self.negative = key
            return
        assert positive is not None
        pair = f"{shown_label(self.negative)} and {shown_label(key)}"
        if not self.seen_positive:
            raise InputError(f"the labels in column {column} are {pair}, and neither is "
                             f"--pos-label {shown_label(positive)}", where=where())
        raise InputError(f"a third label {shown_label(key)} in column {column}: the targets "
                         f"are {shown_label(positive)} (1) and {shown_label(self.negative)} (0)",
                         where=where(),
                         hint="--pos-label reads a column of two labels, one of them positive")

    def cells(self, cells: Sequence[Any], parse: Parse, shown: Callable[[Any], str],
              column: str, where: Callable[[int], str]) -> FloatArray:
        """Cells of a label column as 1 (the positive label), 0 (the other), NaN (missing)."""
        out = np.empty(len(cells))
        known: dict[LabelKey, float] = {}
        texts: dict[str, float] = {}  # each distinct text is read once: `benign` a million times
        for row, cell in enumerate(cells):
            text = cell if isinstance(cell, str) else None
            if text is not None and (value := texts.get(text)) is not None:
                out[row] = value
                continue
            try:
                key = label_key(cell, parse)
            except NotALabel:
                raise InputError(f"{shown(cell)} in column {column} is not a label",
                                 where=where(row)) from None
            if key is None:
                value = math.nan
            elif (value := known.get(key)) is None:
                self.see(key, partial(where, row), column)
                value = known[key] = 1.0 if key == self.positive else 0.0
            out[row] = value
            if text is not None:
                texts[text] = value
        return out

    def numbers(self, values: FloatArray, where: Callable[[int], str], column: str
                ) -> FloatArray:
        """Numbers of a label column (`2`/`4` read by a fast path) as 1, 0 or NaN."""
        present = ~np.isnan(values)
        known = [key for key in (self.positive, self.negative) if isinstance(key, float)]
        new = present & ~np.isin(values, known)
        events: list[tuple[int, float]] = []  # first rows of labels not seen before
        if new.any():
            rows = np.flatnonzero(new)
            _, first = np.unique(values[rows], return_index=True)
            events = [(int(rows[i]), float(values[rows[i]])) for i in first]
        positive = self.positive
        hits = values == positive if isinstance(positive, float) else np.zeros(len(values), bool)
        if not self.seen_positive and hits.any():
            events.append((int(np.argmax(hits)), float(positive)))  # type: ignore[arg-type]
        for row, key in sorted(events):
            self.see(key, partial(where, row), column)
        return np.where(present, hits.astype(np.float64), math.nan)

    def hint(self, cells: Sequence[Any], parse: Parse) -> str | None:
        """Without --pos-label: the labels a column of two holds, and the option to pass."""
        seen: list[LabelKey] = []
        for cell in cells:
            try:
                key = label_key(cell, parse)
            except NotALabel:
                return None
            if key is not None and key not in seen:
                seen.append(key)
                if len(seen) > 2:
                    return None
        names = " and ".join(shown_label(key) for key in seen)
        what = f"the labels seen are {names}" if len(seen) == 2 else f"the label seen is {names}"
        return f"{what}: pass --pos-label with the positive one (it becomes 1, the other 0)"
