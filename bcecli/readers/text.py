"""Delimited text (CSV, TSV, whitespace): the fastest parse that is exact for a block.

`parse_block` tries, in order:

1. fixed width: every line has the same length and the same non-digit bytes in
   the same places (`%.6f` predictions, 0/1 labels, `np.savetxt` output). Digits
   are read as integers and scaled by one exact power of ten, which is correctly
   rounded, so the result equals `float(text)` bit for bit;
2. pyarrow's CSV parser, where the `arrow` extra is installed and the input is
   large (`TextReader.fast`): a block of plain numbers, no quotes, no comments, no
   missing or NaN values, a row on every line; anything else steps aside;
3. `np.fromstring` or `np.loadtxt`: any all-numeric block (only the columns used
   need be numbers), parsed in C after a vectorised check that every line has the
   right number of fields;
4. Python: blank and `#` lines skipped, quotes, true/false, class labels
   (`--pos-label`), and a message naming the line and column of the first cell
   that is not a number.

With `--decimal ,` the fast paths read the block with `,` and `.` swapped (a
`.` then makes a cell no number, so they step aside) unless `,` also separates
the fields; the Python path reads each cell with the comma as its point.

Where pyarrow parses, blocks are parsed on a thread per core, ahead of the one
being used, and handed out in file order (`parsed_blocks`): pyarrow lets go of
the GIL, numpy's float parsing does not. Not where a column is read through a
codec (class labels, ids), whose state follows the order the blocks are read in.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bcecli.core import POW10, FloatArray
from bcecli.errors import InputError, plural
from bcecli.readers.base import (
    BLOCK_BYTES,
    MAX_COLUMNS,
    Block,
    Input,
    Reader,
    ReadHook,
    column_floats,
    decode,
    first_row,
    in_pieces,
    is_comment,
    line_blocks,
    next_block,
    parsed_blocks,
    parsing_threads,
)
from bcecli.readers.cells import Codec, Parse, parse_text_number

_NUMBER = re.compile(rb" *([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?)(\d+))? *")
HeaderKind = Literal["names", "positions", "maybe"] | None
_WHOLE = re.compile(r"[+-]?\d+")
_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d*,\d+(?:[eE][+-]?\d+)?\s*")
_SWAP_POINT = bytes.maketrans(b",.", b".,")
_FIELD_COMMA = re.compile(r"(?<!\d),|,(?!\d)")
_QUOTED = re.compile(r'"[^"]*"')
OPEN_QUOTE = "a quoted field runs past the end of the line"
FastParse = Callable[[bytes, Sequence[int]], FloatArray | None]  # a block's columns, or None


class TextReader(Reader):
    """CSV, TSV or whitespace-separated text, streamed in blocks of whole lines."""

    def __init__(self, data: Input, header: bool | None, on_read: ReadHook | None,
                 decimal: str = "."):
        source = data.name
        self.lines = line_blocks(data.stream, source, on_read)
        first = next_block(self.lines, source, 1)
        first = first.removeprefix(b"\xef\xbb\xbf")
        head = first_row(first, source)
        if head is None:
            raise InputError("no data (the input is empty)", where=source)
        line_number, text = head
        self.first_line_number = line_number
        self.decimal = decimal
        self.parse: Parse = parse_text_number if decimal == "." else parse_decimal_comma
        self.delimiter = "\t" if data.format == "tsv" else sniff_delimiter(text, decimal)
        if field_count(text, self.delimiter) > MAX_COLUMNS:  # before splitting it
            raise InputError(f"has more than {MAX_COLUMNS} columns; bce reads at most that many "
                             "(are rows and columns swapped?)", where=f"{source}:{line_number}")
        cells = split_lines([text], self.delimiter, source, [line_number])[0]
        # A delimiter that ends every line (blanks may follow it) leaves an empty last
        # column: no data, dropped. Ending the first row only (`0.9,` over `0.5,0.25`), it
        # is a missing value; ending the only row, it is dropped where two columns or more
        # remain (`0.9,1,`), else it is the missing target of `0.9,`.
        self.trailing = False
        if self.delimiter is not None and len(cells) > 1 and not cells[-1].strip():
            after = self.row_after(first, line_number, source)
            self.trailing = len(cells) > 2 if after is None else not after[-1].strip()
        if self.trailing:
            cells = cells[:-1]
        super().__init__(source, None, len(cells), False)
        self.first_cells, self.first = cells, first
        self.header_kind: HeaderKind = "names" if header else None if header is False else \
            header_kind(cells, lambda: self.row_after(first, line_number, source), self.parse)
        if self.header_kind == "names" and len(cells) == 1 and header is None and \
                repeated(cells[0], first, line_number):
            self.header_kind = None  # a file of labels without a header: `cat`, `dog`, `cat`
        self.pending = first  # without a header, blank lines before the first row are rows
        # The first read filled a block: more follows, so threads (and pyarrow) pay off.
        self.large = len(first) > BLOCK_BYTES // 2
        self.fast: FastParse | None = None  # pyarrow's parser, set by `with_arrow`
        if self.header_kind in ("names", "positions"):
            self.settle_header(True)
        elif header is None and self.header_kind is None and line_number > 1:
            self.names = self.commented_header(first, source)

    def commented_header(self, chunk: bytes, source: str) -> tuple[str, ...] | None:
        """NumPy's header: `np.savetxt(..., header="y_true,y_pred")` writes it as the
        first line, after `# ` (and `np.genfromtxt(names=True)` reads it back so): names,
        when that line splits into as many text cells as the rows have, two or more."""
        line = decode(chunk[:chunk.find(b"\n")], source, 1).rstrip("\r")
        if not is_comment(line) or self.width < 2:
            return None
        try:
            cells = split_lines([line.lstrip().removeprefix("#")], self.delimiter, source,
                                [1])[0]
        except InputError:  # a comment that is not CSV is a comment, never an error
            return None
        if len(cells) != self.width or header_kind(cells, lambda: None) != "names":
            return None
        return tuple(cell.strip() for cell in cells)

    def settle_header(self, header: bool) -> None:
        """Take the first row as the header (or leave it data): once, before any block."""
        if header:
            line_number = self.first_line_number
            self.names = tuple(cell.strip() for cell in self.first_cells)
            self.pending = self.first.split(b"\n", line_number)[-1] if b"\n" in self.first \
                else b""
            self.first_line = line_number + 1
        if self.header_kind == "maybe":
            self.header_kind = "positions" if header else None
            row = ",".join(cell.strip() for cell in self.first_cells)
            self.first_row_guess = (
                f"the first line of {self.source}, {row}, was read as pandas' header; pass "
                "--no-header if it is data" if header else
                f"the first line of {self.source}, {row}, was read as data; pass --header if "
                "it is pandas' header")

    def row_after(self, chunk: bytes, line_number: int, source: str) -> list[str] | None:
        """The cells of the data row after line `line_number` of the first block, if any."""
        rest = chunk.split(b"\n", line_number)[-1] if chunk.count(b"\n") >= line_number else b""
        row = first_row(rest, source)
        if row is None:
            return None
        number, text = row
        cells = split_lines([text], self.delimiter, source, [line_number + number])[0]
        return cells[:-1] if self.trailing else cells

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        def parse(chunk: bytes, line: int, start: int) -> Block:
            if self.trailing:
                chunk = strip_trailing(chunk, self.delimiter or "")
            block = parse_block(chunk, columns, self.width, self.delimiter, self.source, line,
                                start, self.names, codecs=self.codecs, decimal=self.decimal,
                                fast=self.fast)
            if not isinstance(block.lines, int):  # the Python path read the codecs itself
                return block
            if not self.exact(block, columns):
                return python_rows(chunk, columns, self.width, self.delimiter, self.source, line,
                                   start, self.names, codecs=self.codecs, decimal=self.decimal)
            return self.decoded(block, columns)

        rows = 0
        ordered = any(codec.active for codec in self.codecs.values())
        # Threads pay where pyarrow parses (numpy's float parsing holds the GIL).
        with parsing_threads(self.fast is not None and not ordered) as pool:
            for block in parsed_blocks(self.pending, self.lines, self.first_line, self.source,
                                       parse, pool):
                rows += len(block.values)
                yield block
        if rows == 0:  # there was a first row (see __init__), so it was a header
            raise InputError("has a header but no data rows", where=self.source)


def parse_block(chunk: bytes, columns: Sequence[int], width: int, delimiter: str | None,
                source: str, first_line: int, start: int, names: tuple[str, ...] | None,
                *, codecs: dict[int, Codec] | None = None, decimal: str = ".",
                fast: FastParse | None = None) -> Block:
    """Whole lines of delimited text as rows `start`…; `first_line` is the first's number.

    A block from a fast path has an int for its lines (a row on every line) and its
    label columns still as numbers; the Python path reads codecs itself.
    """
    body = chunk if chunk.endswith(b"\n") else chunk + b"\n"
    values = None
    if decimal == "." or delimiter != ",":
        if decimal == ",":
            body = body.translate(_SWAP_POINT)
        values = fixed_width(body, columns, width, delimiter)
        if values is None and fast is not None:
            values = fast(body, columns)
        if values is None:
            values = all_numeric(body, columns, width, delimiter)
    if values is not None:  # the fast paths accept only blocks with a row on every line
        return Block(values, start, first_line)
    return python_rows(chunk, columns, width, delimiter, source, first_line, start, names,
                       codecs=codecs, decimal=decimal)


# -- 1. fixed width ---------------------------------------------------------------------


def fixed_width(body: bytes, columns: Sequence[int], width: int, delimiter: str | None
                ) -> FloatArray | None:
    """Every line alike but for digits: read them as integers, scale once, exactly."""
    if b'"' in body or b"#" in body:  # quoted fields and comments: the strict path decides
        return None
    w = body.find(b"\n") + 1
    if w < 2 or w > 512 or len(body) % w:  # wide lines: one Python step per byte column
        return None
    template = body[:w]
    spans = field_spans(template[:-1].rstrip(b"\r"), delimiter)
    if len(spans) != width:
        return None
    layouts = [layout(template, *spans[field]) for field in columns]
    if any(part is None for part in layouts):
        return None
    selected = {j for field in columns for j in range(*spans[field])}
    digits = {j for part in layouts if part for j in (*part.mantissa, *part.exponent)}
    signs = {part.exp_sign for part in layouts if part and part.exp_sign is not None}
    structural = set(b" \t\r\n\"") | ({ord(delimiter)} if delimiter else set())
    rows = np.frombuffer(body, np.uint8).reshape(-1, w)
    for j in range(w):
        column, byte = rows[:, j], template[j]
        low, high = int(column.min()), int(column.max())
        if j in digits:
            ok = low >= 48 and high <= 57
        elif j in signs:  # an exponent's sign may be + or -
            ok = bool(((column == 43) | (column == 45)).all())
        elif j in selected or byte in structural:
            ok = low == high == byte
        else:  # a cell nobody asked for: it may vary, but must not move the fields
            ok = low == high or not any(bool((column == s).any()) for s in structural)
        if not ok:
            return None
    out = np.empty((len(rows), len(columns)))
    for k, part in enumerate(layouts):
        value = part.values(rows) if part else None
        if value is None:
            return None
        out[:, k] = value
    return out


def strip_trailing(chunk: bytes, delimiter: str) -> bytes:
    """Lines without the delimiter that ends each of them (and the blanks after it)."""
    blanks = re.escape(b" \t".replace(delimiter.encode(), b""))
    return re.sub(re.escape(delimiter.encode()) + b"[" + blanks + rb"]*(?=\r?\n|\Z)", b"",
                  chunk)


def fixed_width_lines(chunk: bytes) -> bool:
    """Whether every whole line of `chunk` has the length of the first."""
    body = chunk[: chunk.rfind(b"\n") + 1]
    w = body.find(b"\n") + 1
    return w > 1 and len(body) % w == 0 and bool(
        (np.frombuffer(body, np.uint8)[w - 1::w] == 10).all())


def field_spans(line: bytes, delimiter: str | None) -> list[tuple[int, int]]:
    """(start, stop) of each field of one line of text."""
    if delimiter is None:
        return [m.span() for m in re.finditer(rb"[^ \t]+", line)]
    spans, start = [], 0
    for stop in [m.start() for m in re.finditer(re.escape(delimiter.encode()), line)] + [len(line)]:
        spans.append((start, stop))
        start = stop + 1
    return spans


@dataclass
class Layout:
    """Where the parts of one number sit in a fixed-width field (byte places in a row)."""

    negative: bool
    mantissa: list[int]
    fraction: int  # how many mantissa digits follow the point
    exp_sign: int | None
    exponent: list[int]

    def values(self, rows: np.ndarray[Any, np.dtype[np.uint8]]) -> FloatArray | None:
        """mantissa × 10^(exponent − fraction), with one exact power: correctly rounded."""
        digits = integers(rows, self.mantissa)
        if self.exponent:
            exponent = integers(rows, self.exponent).astype(np.int64)
            if self.exp_sign is not None:
                exponent = np.where(rows[:, self.exp_sign] == 45, -exponent, exponent)
            scale = exponent - self.fraction
            if np.abs(scale).max() > 22:
                return None
            power = POW10[np.abs(scale)]
            value: FloatArray = np.where(scale >= 0, digits * power, digits / power)
        elif self.fraction > 22:
            return None
        else:
            value = digits / POW10[self.fraction]
        return -value if self.negative else value


def layout(template: bytes, start: int, stop: int) -> Layout | None:
    """The layout of one field of the template row, or None if it is no plain number."""
    match = _NUMBER.fullmatch(template, start, stop)
    if match is None or not (match.group(2) or match.group(3)):
        return None
    mantissa = list(range(*match.span(2)))
    fraction = len(match.group(3) or b"")
    if match.group(3) is not None:
        mantissa += range(*match.span(3))
    if not mantissa or len(mantissa) > 15:  # 15 digits stay below 2**53: exact in float64
        return None
    exp_sign = match.start(4) if match.group(4) else None
    exponent = list(range(*match.span(5))) if match.group(5) is not None else []
    return Layout(match.group(1) == b"-", mantissa, fraction, exp_sign, exponent)


def integers(rows: np.ndarray[Any, np.dtype[np.uint8]], places: Sequence[int]) -> FloatArray:
    """The decimal integer written in byte columns `places` of every row, exactly."""
    value = rows[:, places[0]].astype(np.float64)
    for j in places[1:]:
        value *= 10
        value += rows[:, j]
    value -= 48 * float("1" * len(places))  # every byte was its digit plus ord("0")
    return value


# -- 3. numpy's C parsers ---------------------------------------------------------------


def all_numeric(body: bytes, columns: Sequence[int], width: int, delimiter: str | None
                ) -> FloatArray | None:
    """An all-numeric block parsed in C, once every line is shown to have `width` fields:
    by `np.fromstring` where every column is used, else by `np.loadtxt`, which leaves
    the others unread (each the faster there). Both convert a cell with the parser of
    Python's float()."""
    if delimiter is None:
        if width != 1 or b"," in body:
            return None
        separator = b","
    else:
        separator = delimiter.encode()
    # Quotes and comments are the strict path's; Python's float() reads 1_0 as 10 and
    # numpy's nan(1) as NaN, which bce takes for no number; bytes past ASCII may not be
    # UTF-8 (or be blanks to numpy).
    if b'"' in body or b"#" in body or b"_" in body or b"(" in body or not body.isascii():
        return None
    if b"\r" in body:
        body = body.replace(b"\r\n", b"\n")
    buf = np.frombuffer(body, np.uint8)
    newline = buf == 10
    ends = np.flatnonzero(newline | (buf == separator[0]))
    lines = int(np.count_nonzero(newline))
    # Groups of `width` field ends, each closed by a newline: one group a line.
    if len(ends) != lines * width or not newline[ends[width - 1::width]].all():
        return None
    wanted = sorted(set(columns))
    if len(wanted) == width:
        values = every_column(body, buf, newline, ends, separator)
        selected = None if values is None or values.size != lines * width else \
            values.reshape(lines, width)[:, list(columns)]
        return selected
    try:  # a blank cell, or one that is no number, is a ValueError
        values = np.loadtxt(io.BytesIO(body), dtype=np.float64, comments=None,
                            delimiter=separator.decode(), usecols=wanted, ndmin=2,
                            encoding="latin-1")
    except ValueError:
        return None
    if len(values) != lines:  # it skips blank lines, which are rows of missing values
        return None
    selected = values[:, [wanted.index(c) for c in columns]]
    return selected


def every_column(body: bytes, buf: np.ndarray[Any, np.dtype[np.uint8]],
                 newline: np.ndarray[Any, np.dtype[np.bool_]],
                 ends: np.ndarray[Any, np.dtype[np.intp]], separator: bytes
                 ) -> FloatArray | None:
    """Every cell of a block by `np.fromstring`, None if one is blank (which it would read
    as -1) or no number."""
    # Without blanks inside the block, a blank field is two terminators in a row;
    # otherwise count the significant bytes of every field.
    if b" " in body or b"\t" in body or b"\r" in body:
        significant = ~(newline | (buf == separator[0]) | (buf == 32) | (buf == 9) | (buf == 13))
        blank = np.diff(np.cumsum(significant, dtype=np.int64)[ends], prepend=0) == 0
    else:
        blank = np.diff(ends, prepend=-1) == 1
    if blank.any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values: FloatArray = np.fromstring(body.replace(b"\n", separator),
                                               sep=separator.decode())
        except (ValueError, DeprecationWarning):
            return None
    return values


# -- 4. Python ---------------------------------------------------------------------------


def data_lines(text: str, first_line: int) -> tuple[list[str], list[int]]:
    """The lines that are rows (all but `#` comments; a blank one is a missing row),
    with their numbers."""
    kept, numbers = [], []
    lines = text.split("\n")
    if lines[-1] == "":  # the newline that ends the last line starts no line
        lines.pop()
    for number, line in enumerate(lines, first_line):
        if not is_comment(line):
            kept.append(line.rstrip("\r"))
            numbers.append(number)
    return kept, numbers


def sniff_delimiter(line: str, decimal: str = ".") -> str | None:
    """Tab, comma or semicolon, whichever the first row uses outside quotes (`"0,8";1`
    is two fields); None means whitespace.

    Where the comma is the decimal mark it comes last, and only a comma that is not
    between two digits (`a,b`, `1,"0,8"`) separates fields; so it is where a semicolon
    is in the row too (`0,8;1`: European CSV, whose cells then say it is).
    """
    bare = _QUOTED.sub("", line)
    comma_last = decimal == "," or (";" in bare and not _FIELD_COMMA.search(bare))
    for delimiter in ("\t", ";") if comma_last else ("\t", ",", ";"):
        if delimiter in bare:
            return delimiter
    return "," if comma_last and _FIELD_COMMA.search(bare) else None


def field_count(line: str, delimiter: str | None) -> int:
    """How many fields `split_line` would make (quotes aside), without making them."""
    if delimiter is not None:
        return line.count(delimiter) + 1
    space = np.frombuffer(line.encode(), np.uint8)
    space = (space == 32) | (space == 9)
    return int(np.count_nonzero(~space[1:] & space[:-1])) + int(bool(len(space) and ~space[0]))


def split_lines(lines: list[str], delimiter: str | None, source: str,
                numbers: list[int]) -> list[list[str]]:
    """Lines into cells: CSV rules (quotes) with a delimiter, else runs of whitespace."""
    if delimiter is None:
        return split_blanks(lines, source, numbers)
    import csv  # only the strict path needs it; start-up is shorter without

    rows: list[list[str]] = []
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        for row in reader:
            if reader.line_num != len(rows) + 1:  # a quote left open took the next line
                raise csv.Error("unexpected end of data")
            rows.append(row)
    except csv.Error as e:
        raise InputError(f"not valid CSV: {csv_fault(str(e))}",
                         where=f"{source}:{numbers[len(rows)]}") from None
    return rows


def split_blanks(lines: list[str], source: str, numbers: list[int]) -> list[list[str]]:
    """Lines into cells at runs of whitespace, each cell's quotes dropped; a quote left
    open is refused, as in CSV."""
    rows = [line.split() for line in lines]
    if '"' not in "".join(lines):  # the common case, decided at C speed
        return rows
    for row, number in zip(rows, numbers, strict=True):
        if any(cell.count('"') % 2 for cell in row):
            raise InputError(f"not valid CSV: {OPEN_QUOTE}", where=f"{source}:{number}")
    return [[cell.strip('"') for cell in row] for row in rows]


def csv_fault(error: str) -> str:
    """What the `csv` module's error (strict: nothing is guessed) says is wrong."""
    if "new-line" in error:
        return "a stray carriage return (\\r) inside the line"
    if "end of data" in error:
        return OPEN_QUOTE
    if "expected after" in error:
        return "text after the closing quote of a field"
    return error


def repeated(cell: str, chunk: bytes, line_number: int) -> bool:
    """Whether the one cell of line `line_number` is also a later line of the chunk."""
    name = cell.strip()
    rest = chunk.split(b"\n", line_number)[-1] if chunk.count(b"\n") >= line_number else b""
    lines = rest.decode("utf-8", "replace").split("\n")
    return any(line.strip().strip('"') == name for line in lines)


def header_kind(cells: list[str], below: Callable[[], list[str] | None],
                parse: Parse = parse_text_number) -> HeaderKind:
    """Whether a first row names the columns rather than holding data (`below()` gives
    the row after it, if any).

    When every cell is text that is not a number (an empty first cell is pandas'
    index), it does: "names". When the cells are the column positions, as pandas
    writes for unnamed columns (`0,1`, or `,0,1` after its index), it does if the
    index is there or the next row has a number that is not whole (pandas writes
    floats with a point): "positions"; over whole numbers (labels) `0` or `0,1`
    may be either: "maybe", settled by the other inputs (`settle_headers`). A row
    mixing numbers and text is data (None), whose bad cell is an error at its line.
    """
    stripped = [cell.strip() for cell in cells]
    positions = [str(i) for i in range(len(cells))]
    if len(cells) > 1 and stripped == ["", *positions[:-1]]:
        return "positions"
    if stripped == positions:
        after = below()
        whole = after is not None and all(_WHOLE.fullmatch(cell.strip()) for cell in after)
        return "maybe" if whole or after is None else "positions"
    named = stripped[1:] if len(stripped) > 1 and not stripped[0] else stripped
    is_text = all(named) and all(cell.isprintable() and parse(cell) is None for cell in named)
    return "names" if is_text else None


def parse_decimal_comma(cell: str) -> float | None:
    """A float from a text cell written with a decimal comma (`0,8`); a point in it
    makes it no number (`1.234` may be a thousands separator)."""
    return None if "." in cell else parse_text_number(cell.replace(",", "."))


def decimal_hint(cell: str) -> str | None:
    """For a cell like `0,8` read with a decimal point: the option that reads it."""
    return "this looks like a decimal comma: pass --decimal ," \
        if _DECIMAL_COMMA.fullmatch(cell) else None


def point_hint(cell: str) -> str | None:
    """For a cell like `0.8` read with --decimal ,: why it is refused."""
    return "with --decimal , a '.' in a number is refused (a thousands separator?)" \
        if "." in cell and parse_text_number(cell) is not None else None


def shown_cell(cell: str) -> str:
    return repr(cell) if cell.strip() else "an empty value"


def python_rows(chunk: bytes, columns: Sequence[int], width: int, delimiter: str | None,
                source: str, first_line: int, start: int, names: tuple[str, ...] | None,
                *, codecs: dict[int, Codec] | None = None, decimal: str = ".") -> Block:
    """The strict path: every rule checked, every failure located (a piece of the block
    at a time, see `in_pieces`)."""
    def piece(lines: bytes, line: int, at: int) -> Block:
        return strict_rows(lines, columns, width, delimiter, source, line, at, names,
                           codecs=codecs, decimal=decimal)

    return in_pieces(chunk, first_line, start, piece)


def strict_rows(chunk: bytes, columns: Sequence[int], width: int, delimiter: str | None,
                source: str, first_line: int, start: int, names: tuple[str, ...] | None,
                *, codecs: dict[int, Codec] | None = None, decimal: str = ".") -> Block:
    """Lines of delimited text as rows, in Python: quotes, comments, labels, messages."""
    lines, numbers = data_lines(decode(chunk, source, first_line), first_line)
    rows = split_lines(lines, delimiter, source, numbers)
    for r, (cells, number) in enumerate(zip(rows, numbers, strict=True)):
        if not lines[r].strip():
            rows[r] = [""] * width  # a blank line: every value missing
        elif len(cells) != width:
            raise InputError(f"has {plural(len(cells), 'field')}, expected {width} like the "
                             "first row", where=f"{source}:{number}")
    point = decimal == "."
    values = column_floats(rows, columns, names, lambda row, _: f"{source}:{numbers[row]}",
                           parse=parse_text_number if point else parse_decimal_comma,
                           shown=shown_cell, all_text=point, codecs=codecs,
                           hint=decimal_hint if point else point_hint)
    return Block(values, start, np.array(numbers, dtype=np.int64))
