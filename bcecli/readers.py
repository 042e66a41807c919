"""Readers: files and stdin in, numeric columns out, each value still knowing its line.

A reader turns bytes into a `Table` (rows of cells with their line numbers, or a
NumPy array) or, for a JSON object with `predictions`/`targets`/`weights`, a
`Bundle` of columns. `Table.select` converts only the columns asked for, so a
text column nobody uses (an id, a name) never gets in the way.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bcecli.errors import InputError, UsageError, plural

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
STDIN = "-"
FORMATS = ("csv", "tsv", "json", "jsonl")
_BOOLS = {"true": 1.0, "false": 0.0}
_SUFFIX_FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".txt": "text", ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".npy": "npy",
}


@dataclass(frozen=True)
class Column:
    """The values of one role (predictions, targets or weights), 1-D (N,) or 2-D (N, C).

    `line_of(row)` gives the 1-based source line of a row (None for binary
    formats); `labels` name each class column for messages.
    """

    values: FloatArray
    source: str
    labels: tuple[str, ...]
    line_of: Callable[[int], int | None]

    def where(self, row: int) -> str:
        """`file:line` for text, `file[row]` where there are no lines."""
        line = self.line_of(row)
        return f"{self.source}:{line}" if line is not None else f"{self.source}[{row}]"

    def label(self, index: tuple[int, ...]) -> str:
        """` in column 'p'` where the file has several columns, else ''."""
        if not self.labels:
            return ""
        return f" in column {self.labels[index[1] if len(index) > 1 else 0]}"


Bundle = dict[str, Column]


@dataclass(frozen=True)
class Table:
    """Rows read from one input, not yet converted to numbers.

    `rows` holds cells (text, or JSON values when `text` is False) or, for `.npy`,
    `array` holds the numbers; `nested` marks rows that were arrays, so one
    column stays 2-D.
    """

    source: str
    names: tuple[str, ...] | None
    width: int
    nested: bool
    line_of: Callable[[int], int | None]
    rows: Sequence[Sequence[Any]] = ()
    array: FloatArray | None = None
    text: bool = False

    def __len__(self) -> int:
        return len(self.array) if self.array is not None else len(self.rows)

    def select(self, spec: str | int | None, option: str) -> Column:
        """Columns by `spec` (a name, a 0-based index, a comma list, or an int), or all."""
        if spec is None:
            indices = list(range(self.width))
            flat = self.width == 1 and not self.nested
        elif isinstance(spec, int):
            indices, flat = [spec], True
        else:
            indices = [self.index_of(part.strip(), option) for part in spec.split(",")]
            flat = "," not in spec
        values = np.empty((len(self), len(indices)), dtype=np.float64)
        for out, index in enumerate(indices):
            values[:, out] = self.numbers(index)
        labels = tuple(self.label(i) for i in indices) if self.width > 1 or self.names else ()
        return Column(values[:, 0] if flat else values, self.source, labels, self.line_of)

    def index_of(self, part: str, option: str) -> int:
        if self.names is not None and part in self.names:
            return self.names.index(part)
        if part.isdigit() and int(part) < self.width:
            return int(part)
        known = ", ".join(self.names) if self.names else f"0 to {self.width - 1}"
        raise UsageError(f"{option} {part!r}: no such column in {self.source} (columns: {known})")

    def label(self, index: int) -> str:
        return repr(self.names[index]) if self.names is not None else str(index)

    def numbers(self, index: int) -> FloatArray:
        """Column `index` as float64; the first cell that is not a number is an error."""
        if self.array is not None:
            return self.array[:, index]
        cells = [row[index] for row in self.rows]
        if self.text and not any("_" in c for c in cells):
            try:
                return np.array(cells, dtype=np.float64)
            except ValueError:
                pass  # true/false, or a bad cell: the strict loop below says which
        out = np.empty(len(cells), dtype=np.float64)
        convert = text_number if self.text else json_number
        for row, cell in enumerate(cells):
            value = convert(cell)
            if value is None:
                raise InputError(f"{self.describe(cell)} in column {self.label(index)} is not "
                                 "a number", where=f"{self.source}:{self.line_of(row)}")
            out[row] = value
        return out


    def describe(self, cell: Any) -> str:
        """A cell as the user wrote it: text quoted, JSON values as JSON."""
        if not self.text:
            return json.dumps(cell)[:40]
        return repr(cell) if cell.strip() else "an empty value"


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


# -- opening --------------------------------------------------------------------------


def read(path: str, *, header: bool | None = None, input_format: str | None = None,
         stdin: Callable[[], bytes] | None = None) -> Table | Bundle:
    """Read one input (a path or `-`) into a Table, or a Bundle for a JSON object."""
    source = "<stdin>" if path == STDIN else path
    data = (stdin or read_stdin)() if path == STDIN else read_file(path)
    name = path.lower()
    if name.endswith(".gz") or data[:2] == b"\x1f\x8b":
        data = gunzip(data, source)
        name = name.removesuffix(".gz")
    fmt = input_format if path == STDIN and input_format else _SUFFIX_FORMATS.get(Path(name).suffix)
    if fmt == "npy" or (fmt is None and data[:6] == b"\x93NUMPY"):
        return read_npy(data, source)
    text = decode(data, source)
    if fmt is None or fmt == "text":
        first = text.lstrip()[:1]
        fmt = "json" if first in ("[", "{") else "delimited"
    if fmt == "json":
        return read_json(text, source)
    if fmt == "jsonl":
        return read_jsonl(text, source)
    return read_delimited(text, source, header, tab=fmt == "tsv")


def read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", where=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", where=path) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", where=path) from None


def read_stdin() -> bytes:
    return sys.stdin.buffer.read()


def gunzip(data: bytes, source: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise InputError(f"not a valid gzip file ({e})", where=source) from None


def decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(f"byte 0x{data[e.start]:02x} is not UTF-8 text",
                         where=f"{source}:{line}") from None


# -- formats --------------------------------------------------------------------------


def read_delimited(text: str, source: str, header: bool | None, *, tab: bool = False) -> Table:
    """CSV, TSV or whitespace-separated text; blank lines and `#` comments are skipped."""
    numbered = [(n, line) for n, line in enumerate(text.split("\n"), 1)
                if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        raise InputError("no data (the input is empty)", where=source)
    split = splitter("\t" if tab else sniff_delimiter(numbered[0][1]))
    rows = [split(line) for _, line in numbered]
    lines = [n for n, _ in numbered]
    names: tuple[str, ...] | None = None
    if header or (header is None and any(text_number(cell) is None for cell in rows[0])):
        names = tuple(cell.strip() for cell in rows[0])
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise InputError("has a header but no data rows", where=source)
    width = len(names) if names is not None else len(rows[0])
    for row, cells in enumerate(rows):
        if len(cells) != width:
            raise InputError(f"has {plural(len(cells), 'field')}, expected {width} like the "
                             "first row", where=f"{source}:{lines[row]}")
    return Table(source, names, width, False, lines.__getitem__, rows=rows, text=True)


def sniff_delimiter(line: str) -> str | None:
    """Tab, comma or semicolon, whichever the first row uses; None means whitespace."""
    for delimiter in ("\t", ",", ";"):
        if delimiter in line:
            return delimiter
    return None


def splitter(delimiter: str | None) -> Callable[[str], list[str]]:
    if delimiter is None:
        return lambda line: [cell.strip('"') for cell in line.split()]
    return lambda line: next(csv.reader([line.rstrip("\r")], delimiter=delimiter))


def read_json(text: str, source: str) -> Table | Bundle:
    """A flat array (N), an array of arrays (N×C), or an object of named arrays."""
    try:
        data = json.loads(text, parse_int=float)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data" and text[: e.pos].rstrip(" \t\r").endswith("\n"):
            return read_jsonl(text, source)  # several JSON values, one a line
        raise InputError(f"invalid JSON: {e.msg} (column {e.colno})",
                         where=f"{source}:{e.lineno}") from None
    except RecursionError:
        raise InputError("JSON nested too deeply", where=source) from None
    lines = LazyJsonLines(text)
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"predictions", "targets", "weights"})
        if unknown or "predictions" not in data:
            raise InputError("a JSON object needs the keys predictions and targets "
                             f"(and optionally weights); found {', '.join(map(repr, data))}",
                             where=source)
        return {key: array_table(value, f"{source}", lines.for_key(key), key).select(None, key)
                for key, value in data.items()}
    return array_table(data, source, lines.for_key(None), None)


def array_table(data: Any, source: str, scalar_line: Callable[[int], int], key: str | None
                ) -> Table:
    """A Table from a JSON array of numbers or of equal-length arrays."""
    what = f"{key!r}" if key else "the JSON"
    if not isinstance(data, list):
        raise InputError(f"{what} must be an array, not {type(data).__name__}", where=source)
    if not data:
        raise InputError(f"{what} is an empty array", where=source)
    nested = isinstance(data[0], list)
    width = len(data[0]) if nested else 1
    if nested:
        for row, item in enumerate(data):
            if not isinstance(item, list) or len(item) != width:
                size = plural(len(item), "value") if isinstance(item, list) else "a single value"
                raise InputError(f"row {row} has {size}, expected {width} like row 0",
                                 where=f"{source}:{scalar_line(row * width)}")
    rows = data if nested else [[item] for item in data]
    return Table(source, None, width, nested, lambda row: scalar_line(row * width), rows=rows)


class LazyJsonLines:
    """Finds the line of the k-th number in a JSON text, only when an error needs it.

    Parsing with `json` is fast but forgets positions; this rescans the text with
    a tokenizer once, on the error path, and records each scalar's line.
    """

    _TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]|[^\s\[\]{},:"]+|\s+')

    def __init__(self, text: str):
        self.text = text
        self.lines: dict[str | None, list[int]] | None = None

    def for_key(self, key: str | None) -> Callable[[int], int]:
        def line_of(k: int) -> int:
            scalars = self.scan().get(key, [])
            return scalars[min(k, len(scalars) - 1)] if scalars else 1
        return line_of

    def scan(self) -> dict[str | None, list[int]]:
        if self.lines is None:
            self.lines = {}
            line, stack, top_key, expect_key = 1, [], None, False
            for match in self._TOKEN.finditer(self.text):
                token = match.group()
                if token.isspace():
                    line += token.count("\n")
                elif token in ("{", "["):
                    stack.append(token)
                    expect_key = token == "{"
                elif token in ("}", "]"):
                    stack.pop() if stack else None
                elif token in (",", ":"):
                    expect_key = token == "," and bool(stack) and stack[-1] == "{"
                elif expect_key:
                    if len(stack) == 1:
                        top_key = json.loads(token)
                    expect_key = False
                else:
                    owner = top_key if stack and stack[0] == "{" else None
                    self.lines.setdefault(owner, []).append(line)
        return self.lines


def read_jsonl(text: str, source: str) -> Table:
    """One number, array or object a line; objects give named columns."""
    rows: list[list[Any]] = []
    lines: list[int] = []
    names: tuple[str, ...] | None = None
    nested = False
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_int=float)
        except json.JSONDecodeError as e:
            raise InputError(f"invalid JSON: {e.msg} (column {e.colno})",
                             where=f"{source}:{number}") from None
        if not rows and isinstance(value, dict):
            names = tuple(value)
        nested = nested or (not rows and isinstance(value, list))
        if isinstance(value, dict) and names is not None:
            missing = [name for name in names if name not in value]
            if missing:
                raise InputError(f"object has no key {missing[0]!r} (the first line has it)",
                                 where=f"{source}:{number}")
            value = [value[name] for name in names]
        elif names is not None or isinstance(value, dict):
            raise InputError("mixes objects with other values", where=f"{source}:{number}")
        rows.append(value if isinstance(value, list) else [value])
        lines.append(number)
    if not rows:
        raise InputError("no data (the input is empty)", where=source)
    width = len(rows[0])
    for row, cells in enumerate(rows):
        if len(cells) != width:
            raise InputError(f"has {plural(len(cells), 'value')}, expected {width} like the "
                             "first line", where=f"{source}:{lines[row]}")
    return Table(source, names, width, nested, lines.__getitem__, rows=rows)


def read_npy(data: bytes, source: str) -> Table:
    """A 1-D or 2-D numeric `.npy`; object arrays (pickles) are refused, never loaded."""
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise InputError("holds Python objects (pickle); bce never loads pickles",
                             where=source) from None
        raise InputError(f"not a valid .npy file ({e})", where=source) from None
    except (OSError, EOFError) as e:
        raise InputError(f"not a valid .npy file ({e})", where=source) from None
    if array.dtype.kind not in "biuf" or array.ndim not in (1, 2) or array.size == 0:
        raise InputError(f"needs a non-empty 1-D or 2-D numeric array, not {array.ndim}-D "
                         f"{array.dtype} of shape {tuple(array.shape)}", where=source)
    nested = array.ndim == 2
    table = array.astype(np.float64).reshape(len(array), -1)
    return Table(source, None, table.shape[1], nested, lambda row: None, array=table)
