"""Whole JSON documents: a flat array (N), an array of arrays (N×C), or an object of arrays.

`json` forgets positions, so the line of a bad value is found only when an error
needs it, by rescanning the text once (`LazyJsonLines`).
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from bcecli.errors import InputError, plural
from bcecli.readers.base import ArrayReader, Input, Reader, decode
from bcecli.readers.jsonlines import (
    DuplicateKey,
    JsonLinesReader,
    invalid_json,
    parse_json_number,
    shown_json,
    unique_keys,
)

KEYS = ("predictions", "targets", "weights")


def read_json(data: Input) -> Reader | dict[str, Reader]:
    """The whole document: one reader, or for an object one reader per key."""
    source = data.name
    raw = data.read_all()
    text = decode(raw, source, 1).removeprefix("\ufeff")
    flat = flat_numbers(text)
    if flat is not None:
        return ArrayReader(source, flat[:, np.newaxis], False, LazyJsonLines(text).for_key(None))
    try:
        document = json.loads(text, parse_int=float, object_pairs_hook=unique_keys)
    except DuplicateKey as e:
        raise InputError(f"duplicate key {e.key!r}",
                         where=f"{source}:{LazyJsonLines(text).duplicate_line()}") from None
    except json.JSONDecodeError as e:
        if e.msg == "Extra data" and text[: e.pos].rstrip(" \t\r").endswith("\n"):
            one_a_line = Input(source, None, io.BytesIO(raw), None, "jsonl")
            return JsonLinesReader(one_a_line, None)  # one value a line
        raise invalid_json(e, f"{source}:{e.lineno}") from None
    except RecursionError:
        raise InputError("JSON nested too deeply", where=source) from None
    lines = LazyJsonLines(text)
    if isinstance(document, dict):
        unknown = [key for key in document if key not in KEYS]
        if unknown or "predictions" not in document:
            raise InputError("a JSON object needs the keys predictions and targets "
                             f"(and optionally weights); found {', '.join(map(repr, document))}",
                             where=source)
        return {key: array_reader(value, source, lines.for_key(key), key)
                for key, value in document.items()}
    return array_reader(document, source, lines.for_key(None), None)


_NUMERIC = re.compile(r"\s*\[[\s0-9.eE+\-,]*\]\s*")


def flat_numbers(text: str) -> np.ndarray[Any, np.dtype[np.float64]] | None:
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
                 ) -> ArrayReader:
    """The numbers of a JSON array of numbers or of equal-length arrays."""
    what = f"{key!r}" if key else "the JSON"
    if not isinstance(data, list):
        raise InputError(f"{what} must be an array, not {type(data).__name__}", where=source)
    if not data:
        raise InputError(f"{what} is an empty array", where=source)
    nested = isinstance(data[0], list)
    width = len(data[0]) if nested else 1
    rows = data if nested else [[item] for item in data]
    array = np.empty((len(rows), width))
    for r, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            size = plural(len(row), "value") if isinstance(row, list) else "a single value"
            raise InputError(f"row {r} has {size}, expected {width} like row 0",
                             where=f"{source}:{scalar_line(r * width)}")
        for c, cell in enumerate(row):
            value = parse_json_number(cell)
            if value is None:
                raise InputError(f"{shown_json(cell)} in column {c} is not a number",
                                 where=f"{source}:{scalar_line(r * width + c)}")
            array[r, c] = value
    return ArrayReader(source, array, nested, lambda row: scalar_line(row * width))


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
