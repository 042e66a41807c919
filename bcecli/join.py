"""How the rows of several inputs are paired: by id (`--id-col`), or by position with
the ids both inputs hold checked on the way.

By id: PREDICTIONS streams; every other input is read whole first and its rows found by
id, so memory grows with those inputs (8 bytes a value and about 50 a row, plus a
dictionary entry of about 100 bytes per distinct id). The id column is the last
column of every block, as codes (`readers.Ids`): equal codes, equal ids. Every id
must be in every input, once: a duplicate, an id in one input only and a missing
id are errors naming the first few, with their lines.

By position (`OrderCheck`): where PREDICTIONS and another input both have a column
of ids by the same name (`id`, `filename`, pandas' index), the ids must agree row
by row, or the files are in different orders and the loss would be wrong. pandas'
index may also be a file's row numbers (a default index: no ids at all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np

from bcecli.columns import key_name
from bcecli.core import FloatArray
from bcecli.errors import InputError
from bcecli.readers import Block, Ids, Reader

SHOWN = 3  # ids a message names
Rows = np.ndarray[Any, np.dtype[np.int64]]


class Table:
    """One input read whole: its rows, the row that holds each id, and the row of
    PREDICTIONS each was joined to."""

    def __init__(self, reader: Reader, blocks: list[Block], width: int, ids: Ids):
        self.reader = reader
        self.values: FloatArray = np.concatenate([b.values for b in blocks]) if blocks \
            else np.empty((0, width))
        self.widths = blocks[0].widths if blocks else None  # list columns' values
        self.lines: Rows | None = None
        if blocks and all(b.lines is not None for b in blocks):
            self.lines = np.concatenate([np.arange(b.lines, b.lines + len(b.values))
                                         if isinstance(b.lines, int) else b.lines
                                         for b in blocks])
        self.indices: Rows = np.concatenate(
            [np.arange(b.start, b.start + len(b.values)) if b.indices is None else b.indices
             for b in blocks]) if blocks else np.empty(0, np.int64)
        codes = missing_ids(self.values[:, -1], self.where, reader)
        self.order: Rows = np.argsort(codes, kind="stable")  # rows by id
        self.sorted = codes[self.order]
        repeat = repeats(codes)
        if repeat is not None:
            row, earlier = repeat
            raise duplicate(ids, codes[row], self.where(row), self.where(earlier))
        self.at_index: Rows = np.full(len(codes), -1)  # PREDICTIONS' row joined to each
        self.at_line: Rows = np.full(len(codes), -1)

    def block(self, rows: Rows) -> Block:
        """These rows, in this order, each knowing its line and position."""
        return Block(self.values[rows], 0, None if self.lines is None else self.lines[rows],
                     self.indices[rows], self.widths)

    def where(self, row: int) -> str:
        return self.reader.where(self.block(np.array([row])), 0)

    def joined_to(self, block: Block, rows: Rows) -> None:
        """Note the row of PREDICTIONS (of `block`) each of `rows` was joined to."""
        self.at_index[rows] = block.indices if block.indices is not None else \
            np.arange(block.start, block.start + len(rows))
        if block.lines is not None:
            self.at_line[rows] = np.arange(block.lines, block.lines + len(rows)) \
                if isinstance(block.lines, int) else block.lines

    def rows(self, codes: FloatArray) -> Rows:
        """The row holding each id; -1 where this input has none."""
        at = np.minimum(np.searchsorted(self.sorted, codes), max(len(self.sorted) - 1, 0))
        if not len(self.sorted):
            return np.full(len(codes), -1)
        return np.where(self.sorted[at] == codes, self.order[at], -1)


def joined(streams: Sequence[Iterator[Block]], readers: Sequence[Reader], widths: list[int],
           ids: Ids) -> Iterator[list[Block]]:
    """Blocks of PREDICTIONS' rows, each with the rows of the other inputs that have the
    same ids, in the same order."""
    first = readers[0]
    tables = [Table(reader, list(stream), width, ids)
              for reader, stream, width in zip(readers[1:], streams[1:], widths[1:], strict=True)]
    absent: list[list[tuple[str, float]]] = [[] for _ in tables]  # the first few, per table
    lacking = [0 for _ in tables]
    for block in streams[0]:
        codes = missing_ids(block.values[:, -1], partial(first.where, block), first)
        found = [table.rows(codes) for table in tables]
        for t, rows in enumerate(found):
            gaps = np.flatnonzero(rows < 0)
            lacking[t] += len(gaps)
            absent[t] += [(first.where(block, int(r)), codes[r]) for r in gaps[:SHOWN]]
        if any(lacking):
            continue  # read on, only to count them
        check_unique(block, codes, found[0], tables[0], first, ids)
        for table, rows in zip(tables, found, strict=True):
            table.joined_to(block, rows)
        yield [block] + [table.block(rows) for table, rows in zip(tables, found, strict=True)]
    for table, count, examples in zip(tables, lacking, absent, strict=True):
        if count:
            raise not_in(ids, count, examples[:SHOWN], first, table.reader)
    for table in tables:
        left = np.flatnonzero(table.at_index < 0)
        if len(left):
            examples = [(table.where(int(r)), table.values[r, -1]) for r in left[:SHOWN]]
            raise not_in(ids, len(left), examples, table.reader, first)


def check_unique(block: Block, codes: FloatArray, rows: Rows, table: Table, reader: Reader,
                 ids: Ids) -> None:
    """Refuse an id PREDICTIONS gives twice (in this block, or here and before)."""
    earlier = np.flatnonzero(table.at_index[rows] >= 0)
    repeat = repeats(rows)
    candidates = [int(earlier[0])] if len(earlier) else []
    candidates += [repeat[0]] if repeat is not None else []
    if candidates:
        first_repeat = min(candidates)
        if repeat is not None and repeat[0] == first_repeat:
            before = reader.where(block, repeat[1])
        else:
            row = rows[first_repeat]
            line = int(table.at_line[row])
            before = reader.where(Block(np.empty((1, 0)), int(table.at_index[row]),
                                        line if line >= 0 else None), 0)
        raise duplicate(ids, codes[first_repeat], reader.where(block, first_repeat), before)


def repeats(values: np.ndarray[Any, Any]) -> tuple[int, int] | None:
    """The first row whose value an earlier row has, and that earlier row."""
    _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    repeated = np.ones(len(values), bool)
    repeated[first] = False
    if not repeated.any():
        return None
    row = int(np.argmax(repeated))
    return row, int(first[inverse[row]])


def missing_ids(codes: FloatArray, where: Callable[[int], str], reader: Reader) -> FloatArray:
    """The codes, once none is missing (NaN: an empty cell, `NA`)."""
    missing = np.flatnonzero(np.isnan(codes))
    if len(missing):
        assert reader.id_column is not None
        more = len(missing) - 1
        places = ", ".join(spot(where(int(r))) for r in missing[1:SHOWN])
        also = f" (and {more} more: {places}" \
            f"{', …' if more >= SHOWN else ''})" if more else ""
        raise InputError(f"a missing id in column {reader.column_label(reader.id_column)}"
                         f"{also}", where=where(int(missing[0])),
                         hint="every row needs its id to be joined by --id-col")
    return codes


def duplicate(ids: Ids, code: float, where: str, before: str) -> InputError:
    return InputError(f"id {ids.shown(code)} is also at {spot(before)}: ids must be unique "
                      "to join rows by them", where=where)


def not_in(ids: Ids, count: int, examples: list[tuple[str, float]], reader: Reader,
           other: Reader) -> InputError:
    """`count` ids of `reader` are not in `other`: the first few named, with their lines."""
    if count == 1:
        what = f"id {ids.shown(examples[0][1])} of {reader.source} is not in {other.source}"
    else:
        named = ", ".join(f"{ids.shown(code)} ({spot(where)})" for where, code in examples)
        what = f"{count} ids of {reader.source} are not in {other.source}: {named}" \
            f"{', …' if count > len(examples) else ''}"
    return InputError(what, where=examples[0][0],
                      hint="--id-col pairs every row with the row of the same id in each "
                      "input: an id must be in all of them")


def spot(where: str) -> str:
    """`line 7` for `file.csv:7`, `row 7` for `file.parquet[7]`."""
    if where.endswith("]"):
        return "row " + where[where.rindex("[") + 1:-1]
    return "line " + where[where.rindex(":") + 1:]




class OrderCheck:
    """Two inputs paired by position that share a column of ids: the first row where the
    ids differ is an error at the end, unless one input's pandas index was only its row
    numbers (a default index: no ids) and the other's not the same numbers shuffled."""

    def __init__(self, name: str, readers: tuple[Reader, Reader],
                 places: tuple[tuple[int, int], tuple[int, int]], keys: Ids):
        self.name = name  # the columns' key name: '' for pandas' index
        self.readers = readers
        self.places = places  # (block, column) of each side's ids in the paired blocks
        self.keys = keys
        self.rows = 0
        self.row_numbers = [name == "", name == ""]  # 0, 1, 2, … in order
        self.lowest = [np.inf, np.inf]
        self.highest = [-np.inf, -np.inf]
        self.whole = [True, True]  # every id a whole number
        self.differs: tuple[str, str, float, float] | None = None

    def see(self, blocks: Sequence[Block]) -> None:
        (a, i), (b, j) = self.places
        first, second = blocks[a].select(i, 1).values[:, 0], blocks[b].select(j, 1).values[:, 0]
        if self.name == "":
            for side, (block, values) in enumerate(((blocks[a], first), (blocks[b], second))):
                self.observe(side, block, values)
        self.rows += len(first)
        if self.differs is None:
            differ = (first != second) & ~np.isnan(first) & ~np.isnan(second)
            if differ.any():
                row = int(np.argmax(differ))
                self.differs = (self.readers[0].where(blocks[a], row),
                                self.readers[1].where(blocks[b], row), first[row], second[row])

    def observe(self, side: int, block: Block, values: FloatArray) -> None:
        """Whether one side's index is its row numbers, or those numbers in some order."""
        if self.row_numbers[side]:
            positions = np.arange(block.start, block.start + len(values)) \
                if block.indices is None else block.indices
            self.row_numbers[side] = bool((values == positions).all())
        if len(values):
            self.lowest[side] = min(self.lowest[side], float(values.min()))
            self.highest[side] = max(self.highest[side], float(values.max()))
            self.whole[side] &= bool((values == np.round(values)).all())

    def verdict(self) -> None:
        """Refuse files in different orders, once every row was seen."""
        def shuffled(side: int) -> bool:
            return self.whole[side] and (self.lowest[side], self.highest[side]) == \
                (0, self.rows - 1)

        if self.differs is None or any(self.row_numbers[side] and not shuffled(1 - side)
                                       for side in (0, 1)):
            return
        here, there, ours, theirs = self.differs
        column = "pandas' index" if self.name == "" else f"column {self.name!r}"
        raise InputError(f"the rows are in different orders: {column} is {self.keys.shown(ours)} "
                         f"here but {self.keys.shown(theirs)} at {there}",
                         where=here, hint=f"pass --id-col {self.name or repr('')} to pair the "
                         "rows by it")


def order_checks(readers: Sequence[Reader], wanted: list[list[int]], used: set[tuple[int, int]]
                 ) -> list[OrderCheck]:
    """A check for each column of ids PREDICTIONS' input shares, by name, with another
    input; their columns are added to `wanted`, read through a shared `Ids`."""
    def keys_of(at: int) -> dict[str, int]:
        names = readers[at].names or ()
        found: dict[str, int] = {}
        for column, name in enumerate(names):
            key = key_name(name)
            if key is not None and (at, column) not in used:
                found.setdefault(key, column)
        return found

    def place(at: int, column: int) -> tuple[int, int]:
        if column not in wanted[at]:
            wanted[at].append(column)
            readers[at].codecs[column] = keys
        return at, wanted[at].index(column)

    ours = keys_of(0)
    checks = []
    for at in range(1, len(readers)):
        for name, column in keys_of(at).items():
            if name in ours:
                shared = readers[0].codecs.get(ours[name])  # another input's check of it
                keys = shared if isinstance(shared, Ids) else Ids(strict=False)
                checks.append(OrderCheck(name, (readers[0], readers[at]),
                                         (place(0, ours[name]), place(at, column)), keys))
    return checks
