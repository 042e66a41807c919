"""Text blocks to numbers: the fastest path that is exact for the block, else a strict one.

`parse_block` tries, in order:

1. fixed width: every line has the same length and the same non-digit bytes in
   the same places (`%.6f` predictions, 0/1 labels, `np.savetxt` output). Digits
   are read as integers and scaled by one exact power of ten, which is correctly
   rounded, so the result equals `float(text)` bit for bit;
2. `np.fromstring`: any all-numeric block, parsed in C after a vectorised check
   that every line has the right number of non-blank fields;
3. Python: blank and `#` lines skipped, quotes, true/false, and a message naming
   the line and column of the first cell that is not a number.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bcecli.errors import InputError, plural

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
_BOOLS = {"true": 1.0, "false": 0.0}
_DIGIT = frozenset(b"0123456789")
_NUMBER = re.compile(rb" *([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?)(\d+))? *")
_POW10 = np.array([float(f"1e{i}") for i in range(23)])  # exact: 10**22 < 2**53 * 2**22


@dataclass(frozen=True)
class Parsed:
    """The rows of one block: values (n, k), their lines, and how many lines it spanned."""

    values: FloatArray
    lines: int | np.ndarray[Any, np.dtype[np.int64]]
    line_count: int


def parse_block(chunk: bytes, columns: Sequence[int], width: int, delimiter: str | None,
                source: str, first_line: int, names: tuple[str, ...] | None) -> Parsed:
    """Parse whole lines of delimited text; `first_line` is the number of the first."""
    body = chunk if chunk.endswith(b"\n") else chunk + b"\n"
    values = fixed_width(body, columns, width, delimiter)
    if values is None:
        values = all_numeric(body, columns, width, delimiter)
    if values is not None:  # the fast paths accept only blocks with a row on every line
        return Parsed(values, first_line, len(values))
    line_count = body.count(b"\n")
    return python_rows(chunk, columns, width, delimiter, source, first_line, names, line_count)


# -- 1. fixed width ---------------------------------------------------------------------


def fixed_width(body: bytes, columns: Sequence[int], width: int, delimiter: str | None
                ) -> FloatArray | None:
    """Every line alike but for digits: read them as integers, scale once, exactly."""
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
    """Lines without the delimiter that ends each of them."""
    end = delimiter.encode()
    chunk = chunk.replace(end + b"\n", b"\n").replace(end + b"\r\n", b"\r\n")
    return chunk[: -len(end)] if chunk.endswith(end) else chunk


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


@dataclass(frozen=True)
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
            power = _POW10[np.abs(scale)]
            value: FloatArray = np.where(scale >= 0, digits * power, digits / power)
        elif self.fraction > 22:
            return None
        else:
            value = digits / _POW10[self.fraction]
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


# -- 2. np.fromstring -------------------------------------------------------------------


def all_numeric(body: bytes, columns: Sequence[int], width: int, delimiter: str | None
                ) -> FloatArray | None:
    """An all-numeric block parsed in C, once every line is shown to have `width` fields."""
    if delimiter is None:
        if width != 1 or b"," in body:
            return None
        separator = b","
    else:
        separator = delimiter.encode()
    if b'"' in body:
        return None
    body = body.replace(b"\r\n", b"\n")
    buf = np.frombuffer(body, np.uint8)
    newline = buf == 10
    ends = np.flatnonzero(newline | (buf == separator[0]))
    lines = int(np.count_nonzero(newline))
    if len(ends) != lines * width or not newline[ends].reshape(lines, width)[:, -1].all():
        return None
    # A blank field would read as -1. Without blanks inside the block, a blank field is
    # two terminators in a row; otherwise count the significant bytes of every field.
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
            values = np.fromstring(body.replace(b"\n", separator), sep=separator.decode())
        except (ValueError, DeprecationWarning):
            return None
    if values.size != lines * width:
        return None
    selected: FloatArray = values.reshape(lines, width)[:, list(columns)]
    return selected


# -- 3. Python --------------------------------------------------------------------------


def decode(chunk: bytes, source: str, first_line: int) -> str:
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError as e:
        line = first_line + chunk[: e.start].count(b"\n")
        raise InputError(f"byte 0x{chunk[e.start]:02x} is not UTF-8 text",
                         where=f"{source}:{line}") from None


def data_lines(text: str, first_line: int) -> tuple[list[str], list[int]]:
    """The lines that hold data (not blank, not `#` comments), with their numbers."""
    kept, numbers = [], []
    for number, line in enumerate(text.split("\n"), first_line):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            kept.append(line.rstrip("\r"))
            numbers.append(number)
    return kept, numbers


def first_row(chunk: bytes, source: str) -> tuple[int, str] | None:
    """The number and text of the first data line of an input (decoding only that far)."""
    start, number = 0, 1
    while start < len(chunk):
        end = chunk.find(b"\n", start)
        end = len(chunk) if end < 0 else end
        line = decode(chunk[start:end], source, number).rstrip("\r")
        if line.strip() and not line.lstrip().startswith("#"):
            return number, line
        start, number = end + 1, number + 1
    return None


def sniff_delimiter(line: str) -> str | None:
    """Tab, comma or semicolon, whichever the first row uses; None means whitespace."""
    for delimiter in ("\t", ",", ";"):
        if delimiter in line:
            return delimiter
    return None


def field_count(line: str, delimiter: str | None) -> int:
    """How many fields `split_line` would make (quotes aside), without making them."""
    if delimiter is not None:
        return line.count(delimiter) + 1
    space = np.frombuffer(line.encode(), np.uint8)
    space = (space == 32) | (space == 9)
    return int(np.count_nonzero(~space[1:] & space[:-1])) + int(bool(len(space) and ~space[0]))


def split_line(line: str, delimiter: str | None, source: str, number: int) -> list[str]:
    return split_lines([line], delimiter, source, [number])[0]


def split_lines(lines: list[str], delimiter: str | None, source: str,
                numbers: list[int]) -> list[list[str]]:
    """Lines into cells: CSV rules (quotes) with a delimiter, else runs of whitespace."""
    if delimiter is None:
        return [[cell.strip('"') for cell in line.split()] for line in lines]
    import csv  # only the strict path needs it; start-up is shorter without

    rows: list[list[str]] = []
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        rows.extend(reader)
    except csv.Error as e:
        what = "a stray carriage return (\\r) inside the line" if "new-line" in str(e) else e
        raise InputError(f"not valid CSV: {what}", where=f"{source}:{numbers[len(rows)]}") \
            from None
    return rows


def text_number(cell: str) -> float | None:
    """A float from a text cell (true/false included), or None if it is not a number."""
    text = cell.strip().lower()
    if text in _BOOLS:
        return _BOOLS[text]
    if not text or "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def json_number(value: Any) -> float | None:
    """A float from a JSON number or boolean; strings, null and arrays are not numbers."""
    return float(value) if isinstance(value, bool | int | float) else None


def python_rows(chunk: bytes, columns: Sequence[int], width: int, delimiter: str | None,
                source: str, first_line: int, names: tuple[str, ...] | None,
                line_count: int) -> Parsed:
    """The strict path: every rule checked, every failure located."""
    lines, numbers = data_lines(decode(chunk, source, first_line), first_line)
    rows = split_lines(lines, delimiter, source, numbers)
    for cells, number in zip(rows, numbers, strict=True):
        if len(cells) != width:
            raise InputError(f"has {plural(len(cells), 'field')}, expected {width} like the "
                             "first row", where=f"{source}:{number}")
    return Parsed(convert(rows, columns, names, source, numbers, text=True),
                  np.array(numbers, dtype=np.int64), line_count)


def convert(rows: list[list[Any]], columns: Sequence[int], names: tuple[str, ...] | None,
            source: str, numbers: list[int], *, text: bool) -> FloatArray:
    """Selected cells to float64; the first one that is not a number is an error."""
    out = np.empty((len(rows), len(columns)))
    for k, index in enumerate(columns):
        cells = [row[index] for row in rows]
        if text and not any("_" in c for c in cells):
            try:
                out[:, k] = np.array(cells, dtype=np.float64)
                continue
            except ValueError:
                pass  # true/false, or a bad cell: the loop below says which
        number = text_number if text else json_number
        for row, cell in enumerate(cells):
            value = number(cell)
            if value is None:
                import json

                shown = (repr(cell) if cell.strip() else "an empty value") if text else \
                    json.dumps(cell)[:40]
                label = repr(names[index]) if names is not None else str(index)
                raise InputError(f"{shown} in column {label} is not a number",
                                 where=f"{source}:{numbers[row]}")
            out[row, k] = value
    return out


# -- JSON Lines -------------------------------------------------------------------------


def json_value(line: str, source: str, number: int) -> Any:
    import json

    try:
        return json.loads(line, parse_int=float)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg} (column {e.colno})",
                         where=f"{source}:{number}") from None
    except RecursionError:
        raise InputError("JSON nested too deeply", where=f"{source}:{number}") from None


def first_json_value(chunk: bytes, source: str) -> Any:
    first = first_row(chunk, source)
    return None if first is None else json_value(first[1], source, first[0])


def parse_json_lines(chunk: bytes, columns: Sequence[int], width: int,
                     names: tuple[str, ...] | None, source: str, first_line: int) -> Parsed:
    """JSON Lines: each line one number, array, or object with the first line's keys."""
    line_count = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
    rows: list[list[Any]] = []
    numbers: list[int] = []
    for number, line in enumerate(decode(chunk, source, first_line).split("\n"), first_line):
        if not line.strip():
            continue
        value = json_value(line, source, number)
        if names is not None:
            if not isinstance(value, dict):
                raise InputError("mixes objects with other values", where=f"{source}:{number}")
            missing = [name for name in names if name not in value]
            if missing:
                raise InputError(f"object has no key {missing[0]!r} (the first line has it)",
                                 where=f"{source}:{number}")
            value = [value[name] for name in names]
        elif isinstance(value, dict):
            raise InputError("mixes objects with other values", where=f"{source}:{number}")
        cells = value if isinstance(value, list) else [value]
        if len(cells) != width:
            raise InputError(f"has {plural(len(cells), 'value')}, expected {width} like the "
                             "first line", where=f"{source}:{number}")
        rows.append(cells)
        numbers.append(number)
    values = convert(rows, columns, names, source, numbers, text=False)
    return Parsed(values, np.array(numbers, dtype=np.int64), line_count)
