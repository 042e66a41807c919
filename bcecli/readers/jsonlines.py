"""JSON Lines: one number, one array, or one object a line, streamed in blocks of lines.

Objects give named columns (the first line's keys); `--pred-col` picks a field.
A field that holds a list on the first line is a list column: every row's list
has that length (one value per class, multi-label); a null list is missing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bcecli.core import FloatArray
from bcecli.errors import InputError, plural
from bcecli.readers.base import (
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
from bcecli.readers.cells import Codec, json_whole_number
from bcecli.readers.jsonnumbers import are_json_numbers, json_numbers


class JsonLinesReader(Reader):
    """One number, array or object a line; objects give named columns."""

    def __init__(self, data: Input, on_read: ReadHook | None):
        source = data.name
        self.lines = line_blocks(data.stream, source, on_read)
        self.pending = next_block(self.lines, source, 1)
        first = first_row(self.pending, source)
        if first is None:
            raise InputError("no data (the input is empty)", where=source)
        where = f"{source}:{first[0]}"
        value = parse_json_value(first[1], where)
        if value in ([], {}):
            raise InputError(f"an empty {'array' if value == [] else 'object'}: the first line "
                             "must hold the values of a row", where=where)
        names = tuple(value) if isinstance(value, dict) else None
        width = len(value) if isinstance(value, list | dict) else 1
        super().__init__(source, names, width, isinstance(value, list))
        if isinstance(value, dict):
            self.lists = list_sizes(value, where)
        self.template = LineTemplate.of(first[1], value)
        self.objects_of_numbers = isinstance(value, dict) and numbers_only(value.values())
        # pyarrow's parser (the arrow extra), set by `with_json_arrow` for large inputs
        self.fast: Callable[[bytes, Sequence[int]], FloatArray | None] | None = None

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        widths = self.widths(columns)

        def lines(chunk: bytes, line: int, start: int) -> Block:
            return parse_json_lines(chunk, columns, self.width, self.names, self.source, line,
                                    start, self.codecs, self.lists)

        def parse(chunk: bytes, line: int, start: int) -> Block:
            values = None if self.fast is None else self.fast(chunk, columns)
            if values is None and self.template is not None:
                values = self.template.values(chunk, columns)
            if values is not None:
                block = Block(values, start, line)
                if self.exact(block, columns):
                    return self.decoded(block, columns)
            block = in_pieces(chunk, line, start, lines)
            block.widths = widths
            return block

        ordered = any(codec.active for codec in self.codecs.values())
        # Threads pay where pyarrow parses (numpy holds the GIL); not with codecs, whose
        # state follows the order the blocks are read in.
        with parsing_threads(self.fast is not None and not ordered) as pool:
            yield from parsed_blocks(self.pending, self.lines, 1, self.source, parse, pool)


_TERMINATORS = b",]}\n"  # found by comparisons in `LineTemplate.values`: faster than a table
# A JSON string (skipped: digits in keys are no numbers), or a number.
_SLOT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?\d[\d.eE+-]*)')


@dataclass
class LineTemplate:
    """The first line's text around its numbers: a block whose every line is that text with
    other numbers in the same places is read in numpy (`values`), the rest by `json`.

    Each number ends at a terminator (`,`, `]`, `}` or the newline), the first byte of
    the literal text after it; no literal holds another terminator, so a line's
    terminators alone say where its numbers are.
    """

    literals: list[bytes]  # before the first number, between numbers, after the last

    @classmethod
    def of(cls, line: str, value: Any) -> LineTemplate | None:
        """The template of a first line whose values are all numbers, if it has one."""
        cells = list(value.values()) if isinstance(value, dict) else \
            value if isinstance(value, list) else [value]
        if not numbers_only(cells):
            return None
        spans = [match.span(1) for match in _SLOT.finditer(line) if match.group(1)]
        if len(spans) != len(cells):
            return None
        raw = line.encode()
        cuts = [0, *(at for span in spans for at in span), len(raw)]
        literals = [raw[cuts[k]:cuts[k + 1]] for k in range(0, len(cuts), 2)]
        after = literals[1:]
        if any(byte in _TERMINATORS for byte in literals[0]) or \
                any(part[1:].translate(None, _TERMINATORS) != part[1:] for part in after) or \
                any(part[:1] not in (b",", b"]", b"}") for part in after[:-1]) or \
                after[-1][:1] not in (b"", b"]", b"}"):
            return None
        return cls(literals)

    def values(self, chunk: bytes, columns: Sequence[int]) -> FloatArray | None:
        """The selected numbers of a block of lines that all follow the template (every
        number a valid JSON number), else None."""
        body = chunk if chunk.endswith(b"\n") else chunk + b"\n"
        if b"\r" in body:
            body = body.replace(b"\r\n", b"\n")
        body += bytes(8)  # so that every literal's place is 8 bytes from the end or more
        buf = np.frombuffer(body, np.uint8)
        head, *between, tail = self.literals
        numbers = len(between) + 1
        expected = np.frombuffer(b"".join(part[:1] for part in between) + (tail[:1] or b"\n")
                                 + (b"\n" if tail else b""), np.uint8)
        found = np.flatnonzero((buf == 44) | (buf == 93) | (buf == 125) | (buf == 10))
        if len(found) % len(expected):
            return None
        ends = found.reshape(-1, len(expected))
        if not (buf[ends] == expected).all():
            return None
        line_starts = np.concatenate(([0], ends[:-1, -1] + 1))
        starts = np.stack([line_starts + len(head),
                           *(ends[:, k] + len(between[k]) for k in range(len(between)))], axis=1)
        stops = ends[:, :numbers]
        if ((stops - starts) < 1).any() or \
                (tail and not (ends[:, -1] - ends[:, -2] == len(tail)).all()):
            return None
        placed = [(line_starts, head), *((ends[:, k] + 1, part[1:])
                                         for k, part in enumerate((*between, tail)))]
        words = np.ndarray((len(body) - 7,), "<u8", body, 0, (1,))  # 8 bytes from each byte
        for at, literal in placed:
            for k in range(0, len(literal), 8):  # the last word overlaps the one before it
                piece = k if k + 8 <= len(literal) else max(0, len(literal) - 8)
                word = literal[piece:piece + 8]
                mask = (1 << 8 * len(word)) - 1
                if not ((words[at + piece] & np.uint64(mask)) ==
                        np.uint64(int.from_bytes(word, "little"))).all():
                    return None
        out = np.empty((len(ends), len(columns)))
        for k in range(numbers):
            if k not in columns and not are_json_numbers(buf, starts[:, k], stops[:, k]):
                return None
        for k, column in enumerate(columns):
            values = json_numbers(buf, starts[:, column], stops[:, column])
            if values is None:
                return None
            out[:, k] = values
        return out


def numbers_only(cells: Iterable[Any]) -> bool:
    """Whether every cell is a number (not true/false, null, a string or a list)."""
    return all(isinstance(cell, int | float) and not isinstance(cell, bool) for cell in cells)


def list_sizes(first: dict[str, Any], where: str) -> dict[int, int]:
    """The fields of the first object that hold lists, by position, and their length (an
    empty list is refused: it gives no class to read)."""
    sizes = {}
    for k, (name, cell) in enumerate(first.items()):
        if isinstance(cell, list):
            if not cell:
                raise InputError(f"the list in column {name!r} is empty", where=where)
            sizes[k] = len(cell)
    return sizes


class DuplicateKey(Exception):
    """An object gave one key twice: which value was meant is unknowable."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`json`'s object hook that refuses a key given twice (json itself keeps the last)."""
    obj = dict(pairs)
    if len(obj) < len(pairs):
        raise DuplicateKey(next(key for i, (key, _) in enumerate(pairs)
                                if key in (k for k, _ in pairs[:i])))
    return obj


def parse_json_value(text: str, where: str) -> Any:
    """One JSON value (integers as floats); bad or too deeply nested JSON, or an object
    with a key given twice, is an error."""
    try:
        return json.loads(text, parse_int=json_whole_number, object_pairs_hook=unique_keys)
    except DuplicateKey as e:
        raise InputError(f"duplicate key {e.key!r}", where=where) from None
    except json.JSONDecodeError as e:
        raise invalid_json(e, where) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", where=where) from None


def invalid_json(error: json.JSONDecodeError, where: str) -> InputError:
    return InputError(f"invalid JSON: {error.msg} (column {error.colno})", where=where)


def parse_json_number(value: Any) -> float | None:
    """A float from a JSON number or boolean, NaN for null (a missing value); strings
    and arrays are not numbers."""
    if value is None:
        return math.nan
    return float(value) if isinstance(value, bool | int | float) else None


def shown_json(value: Any) -> str:
    return json.dumps(value)[:40]


def parse_json_lines(chunk: bytes, columns: Sequence[int], width: int,
                     names: tuple[str, ...] | None, source: str, first_line: int, start: int,
                     codecs: dict[int, Codec] | None = None, lists: dict[int, int] | None = None
                     ) -> Block:
    """Lines of JSON as rows `start`…: each line one number, array, or object with the
    first line's keys (the fields in `lists` holding a list each)."""
    rows: list[list[Any]] = []
    numbers: list[int] = []
    lines = decode(chunk, source, first_line).split("\n")
    if lines[-1] == "":  # the newline that ends the last line starts no line
        lines.pop()
    for number, line in enumerate(lines, first_line):
        if is_comment(line):
            continue
        if not line.strip():  # a blank line: every value missing
            rows.append([None] * width)
            numbers.append(number)
            continue
        where = f"{source}:{number}"
        value = parse_json_value(line, where)
        if names is not None:
            if not isinstance(value, dict):
                raise InputError("mixes objects with other values", where=where)
            missing = [name for name in names if name not in value]
            if missing:
                raise InputError(f"object has no key {missing[0]!r} (the first line has it)",
                                 where=where)
            value = [value[name] for name in names]
        elif isinstance(value, dict):
            raise InputError("mixes objects with other values", where=where)
        cells = value if isinstance(value, list) else [value]
        if len(cells) != width:
            raise InputError(f"has {plural(len(cells), 'value')}, expected {width} like the "
                             "first line", where=where)
        rows.append(cells)
        numbers.append(number)
    values = column_floats(rows, columns, names, lambda row, _: f"{source}:{numbers[row]}",
                           parse=parse_json_number, shown=shown_json, all_text=False,
                           codecs=codecs, lists=lists)
    return Block(values, start, np.array(numbers, dtype=np.int64))
