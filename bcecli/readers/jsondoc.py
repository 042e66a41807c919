"""Whole JSON documents: a flat array (N), an array of arrays (N×C), or a table.

A table is an object of arrays, or any shape pandas' `to_json` writes (a
DataFrame's orients, and a Series' `{index: value}`). Cells stay as `json` read
them until a block of the selected columns is asked for, so columns nobody reads
(ids, file names) may hold text, and target columns class labels.

`json` forgets positions, so the line of a bad value is found only when an error
needs it, by rescanning the text once (`LazyJsonLines`).
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from bcecli.core import FloatArray
from bcecli.errors import InputError, listed, plural
from bcecli.readers import base
from bcecli.readers.base import (
    ArrayReader,
    Block,
    Input,
    Reader,
    column_floats,
    decode,
)
from bcecli.readers.cells import json_whole_number
from bcecli.readers.jsonlines import (
    DuplicateKey,
    JsonLinesReader,
    invalid_json,
    parse_json_number,
    shown_json,
    unique_keys,
)

KEYS = ("predictions", "targets", "weights")
# A document is parsed whole (a table's cells as Python objects: about 20 times its size in
# memory), so it is bounded: a pipe (`/dev/zero`) or a small compressed file cannot fill the
# memory, and a big input is pointed to JSON Lines.
MAX_DOCUMENT = 1 << 26


def read_json(data: Input) -> Reader | dict[str, Reader]:
    """The whole document: one reader, or for an object one reader per key."""
    source = data.name
    text = decode(data.read_all(MAX_DOCUMENT, "a JSON document", "save it as JSON Lines (one "
                                "value, array or object a line): it streams"),
                  source, 1).removeprefix("\ufeff")  # the bytes are not kept: memory
    flat = flat_numbers(text)
    if flat is not None:
        return ArrayReader(source, flat[:, np.newaxis], False, LazyJsonLines(text).for_key(None))
    try:
        document = json.loads(text, parse_int=json_whole_number,
                              object_pairs_hook=unique_keys)
    except DuplicateKey as e:
        raise InputError(f"duplicate key {e.key!r}",
                         where=f"{source}:{LazyJsonLines(text).duplicate_line()}") from None
    except json.JSONDecodeError as e:
        if e.msg == "Extra data" and text[: e.pos].rstrip(" \t\r").endswith("\n"):
            one_a_line = Input(source, None, io.BytesIO(text.encode()), None, "jsonl")
            return JsonLinesReader(one_a_line, None)  # one value a line
        raise invalid_json(e, f"{source}:{e.lineno}") from None
    except RecursionError:
        raise InputError("JSON nested too deeply", where=source) from None
    lines = LazyJsonLines(text)
    if isinstance(document, dict) and set(document) <= set(KEYS) and "predictions" in document:
        return {key: array_reader(value, source, lines.for_key(key), key)
                for key, value in document.items()}
    table = json_table(document, source, lines)
    if table is not None:
        return table
    return array_reader(document, source, lines.for_key(None), None)


def json_table(document: Any, source: str, lines: LazyJsonLines) -> Reader | None:
    """A table with named columns, in any of the shapes pandas' `to_json` writes (records,
    split, table, columns, index; a Series' index and split orients) or as an object of
    equal-length arrays; None for a plain array."""
    if isinstance(document, list):
        if not document or not isinstance(document[0], dict):
            return None
        return records(document, source, lines.for_key(None), set())
    if not isinstance(document, dict) or not document:
        raise InputError("a JSON object needs arrays (predictions and targets, or named "
                         "columns); this one is empty", where=source)
    keys = set(document)
    if {"columns", "data"} <= keys <= {"columns", "index", "data", "name"}:  # orient="split"
        names = document["columns"]
        if isinstance(names, list):  # an unnamed DataFrame's columns are its positions
            names = [str(int(n)) if isinstance(n, float) and n.is_integer() and n >= 0 else n
                     for n in names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InputError("'columns' must be an array of names", where=source)
        line = lines.for_key("data")
        return rows_reader(source, names, document["data"], lambda r, c: line(r * len(names) + c))
    if keys == {"schema", "data"} and isinstance(document["schema"], dict):  # orient="table"
        index = set(document["schema"].get("primaryKey") or [])
        return records(document["data"], source, lines.for_key("data"), index)
    if {"index", "data"} <= keys <= {"name", "index", "data"} and \
            isinstance(document["data"], list) and not isinstance(document.get("name"), list):
        # a Series, orient="split": its values and its name, if it has one
        name = document.get("name")
        line = lines.for_key("data")
        if name is None:
            return array_reader(document["data"], source, line, "data")
        return columns_reader(source, {str(name): document["data"]}, lambda _, r: line(r))
    values = list(document.values())
    if all(isinstance(v, list) for v in values):  # an object of columns
        return columns_reader(source, document, lambda name, r: lines.for_key(name)(r))
    if all(isinstance(v, dict) for v in values):
        return nested_reader(document, source, lines)
    if not any(isinstance(v, list | dict) for v in values):  # a Series: {index: value}
        keys_in_order = list(document)
        return CellsReader(source, None, [[v] for v in values], False,
                           lambda r, _: lines.for_key(keys_in_order[r])(0))
    raise InputError("a JSON object needs arrays (predictions and targets, or named columns); "
                     f"found {listed(list(document))}", where=source)


def records(data: Any, source: str, line: Callable[[int], int], index: set[str]
            ) -> Reader:
    """orient="records" (and "table"): one object a row, the first one's keys the columns."""
    if not isinstance(data, list) or not data or not all(isinstance(r, dict) for r in data):
        raise InputError("the records must be a non-empty array of objects", where=source)
    names = [key for key in data[0] if key not in index]
    if not names:
        raise InputError("record 0 is an empty object", where=source)
    rows, starts, seen = [], [], 0
    for r, record in enumerate(data):
        if set(record) != set(data[0]):
            raise InputError(f"record {r} has the keys {listed(list(record))}, not those of "
                             "record 0", where=f"{source}:{line(seen)}")
        rows.append([record[name] for name in names])
        starts.append((seen, {key: k for k, key in enumerate(record)}))
        seen += len(record)
    return rows_reader(source, names, rows,
                       lambda r, c: line(starts[r][0] + starts[r][1][names[c]]))


def nested_reader(document: dict[str, Any], source: str, lines: LazyJsonLines) -> Reader:
    """orient="columns" ({column: {index: value}}) or "index" ({index: {column: value}}):
    told apart by which keys are pandas' row numbers; where both are (an unnamed
    DataFrame), pandas' default "columns", unless the table is square; where neither
    is, refused."""
    outer = list(document)
    inner = list(next(iter(document.values())))
    outer_rows, inner_rows = (all(k.lstrip("-").isdigit() for k in keys) for keys in (outer, inner))
    if inner_rows and outer_rows and len(outer) != len(inner):
        outer_rows = False  # an unnamed DataFrame: pandas' default orient, "columns"
    if inner_rows == outer_rows:
        raise InputError("an object of objects, but which keys are the rows and which the "
                         "columns is unclear", where=source,
                         hint="write it with pandas' orient='records' or orient='split'")
    if inner_rows:  # orient="columns": the rows are each column's keys
        columns: dict[str, list[Any]] = {}
        for name, cells in document.items():
            if list(cells) != inner:
                raise InputError(f"column {name!r} has other row keys than column "
                                 f"{outer[0]!r}", where=source)
            columns[name] = list(cells.values())
        return columns_reader(source, columns, lambda name, r: lines.for_key(name)(r))
    rows = []
    for key, cells in document.items():
        if set(cells) != set(inner):
            raise InputError(f"row {key!r} has other columns than row {outer[0]!r}",
                             where=f"{source}:{lines.for_key(key)(0)}")
        rows.append([cells[name] for name in inner])
    return rows_reader(source, inner, rows,
                       lambda r, c: lines.for_key(outer[r])(list(document[outer[r]]).index(
                           inner[c])))


def columns_reader(source: str, columns: dict[str, list[Any]],
                   line: Callable[[str, int], int]) -> Reader:
    """An object of equal-length arrays, one a column."""
    names = list(columns)
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        sizes = [f"{name!r} {len(values)}" for name, values in columns.items()]
        raise InputError(f"the columns have different lengths ({listed(sizes, show=str)})",
                         where=source)
    rows = [list(row) for row in zip(*columns.values(), strict=True)]
    return rows_reader(source, names, rows, lambda r, c: line(names[c], r))


def rows_reader(source: str, names: list[str], rows: Any, line: Callable[[int, int], int]
                ) -> Reader:
    """Rows of cells under named columns."""
    if not isinstance(rows, list) or not rows:
        raise InputError("the table has no rows", where=source)
    for r, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise InputError(f"row {r} does not have the {len(names)} columns "
                             f"{listed(names)}", where=f"{source}:{line(r, 0)}")
    return CellsReader(source, tuple(names), rows, False, line)


class CellsReader(Reader):
    """Rows of JSON cells as `json` read them (numbers, booleans, null, text), turned into
    floats a block at a time, only in the columns asked for; the first cell that is not
    a number (or, in a target column, a label) is an error at its line."""

    def __init__(self, source: str, names: tuple[str, ...] | None, rows: list[list[Any]],
                 nested: bool, line: Callable[[int, int], int]):
        super().__init__(source, names, len(rows[0]), nested)
        self.rows = rows
        self.line = line

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        step = max(1, base.BLOCK_ROWS // max(1, len(columns)))
        for start in range(0, len(self.rows), step):
            def where(row: int, column: int, start: int = start) -> str:
                return f"{self.source}:{self.line(start + row, column)}"

            values = column_floats(self.rows[start:start + step], columns, self.names, where,
                                   parse=parse_json_number, shown=shown_json, all_text=False,
                                   codecs=self.codecs)
            yield Block(values, start, None)

    def where(self, block: Block, row: int) -> str:
        return f"{self.source}:{self.line(block.index(row), 0)}"


_NUMERIC = re.compile(r"\s*\[[\s0-9.eE+\-,]*\]\s*")


def flat_numbers(text: str) -> FloatArray | None:
    """A flat array of plain numbers, parsed in C without a Python object per value.

    Big single-line arrays are common and json.loads would hold each number as a
    Python float; anything else (null, strings, nesting, an empty slot) goes to json.
    """
    if not _NUMERIC.fullmatch(text):
        return None
    inner = text.strip()[1:-1]
    if not inner.strip() or re.search(r"(^|,)\s*(,|$)", inner):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(inner, sep=",")
        except (ValueError, DeprecationWarning):
            return None
    return values if values.size == inner.count(",") + 1 else None


def array_reader(data: Any, source: str, scalar_line: Callable[[int], int], key: str | None
                 ) -> Reader:
    """The numbers of a JSON array of numbers or of equal-length arrays."""
    what = f"{key!r}" if key else "the JSON"
    if not isinstance(data, list):
        raise InputError(f"{what} must be an array, not {type(data).__name__}", where=source)
    if not data:
        raise InputError(f"{what} is an empty array", where=source)
    nested = isinstance(data[0], list)
    width = len(data[0]) if nested else 1
    if not width:
        raise InputError("row 0 is an empty array", where=source)  # no value gives its line
    rows = data if nested else [[item] for item in data]
    for r, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            size = plural(len(row), "value") if isinstance(row, list) else "a single value"
            raise InputError(f"row {r} has {size}, expected {width} like row 0",
                             where=f"{source}:{scalar_line(r * width)}")
    return CellsReader(source, None, rows, nested, lambda r, c: scalar_line(r * width + c))


class LazyJsonLines:
    """Finds the line of the k-th number in a JSON text, only when an error needs it."""

    _TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]|[^\s\[\]{},:"]+|\s+')

    def __init__(self, text: str):
        self.text = text
        self.lines: dict[str | None, list[int]] | None = None
        self.first_duplicate = 1  # the line of the first key an object repeats

    def duplicate_line(self) -> int:
        self.scan()
        return self.first_duplicate

    def for_key(self, key: str | None) -> Callable[[int], int]:
        def line_of(k: int) -> int:
            scalars = self.scan().get(key, [])
            return scalars[min(k, len(scalars) - 1)] if scalars else 1
        return line_of

    def scan(self) -> dict[str | None, list[int]]:
        if self.lines is None:
            self.lines = {}
            line, stack, top_key, expect_key = 1, [], None, False
            keys: list[set[str]] = []  # the keys seen in each open object
            duplicate = None
            for match in self._TOKEN.finditer(self.text):
                token = match.group()
                if token.isspace():
                    line += token.count("\n")
                elif token in ("{", "["):
                    stack.append(token)
                    expect_key = token == "{"
                    if expect_key:
                        keys.append(set())
                elif token in ("}", "]"):
                    if stack and stack.pop() == "{":
                        keys.pop()
                elif token in (",", ":"):
                    expect_key = token == "," and bool(stack) and stack[-1] == "{"
                elif expect_key:
                    if len(stack) == 1:
                        top_key = json.loads(token)
                    if keys and token in keys[-1] and duplicate is None:
                        duplicate = line
                    if keys:
                        keys[-1].add(token)
                    expect_key = False
                else:
                    owner = top_key if stack and stack[0] == "{" else None
                    self.lines.setdefault(owner, []).append(line)
            self.first_duplicate = duplicate or 1
        return self.lines
