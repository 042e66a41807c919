"""What a column option (`--pred-col`, `--target-col`, `--weight-col`) names in one table.

A header name or a 0-based position picks one column, read as N values. A range
(`1-5`: 0-based, both ends included, like `cut -f 1-5`), a glob over the header
names (`pred_*`, fnmatch rules, case-sensitive, matches in file order, pandas'
index never among them) or a comma list of any of these picks columns read as an
N×C matrix, one column per class, even where they come to one column (N×1), as a
comma list always has. The exact header name always wins over the range or glob
reading of the same text (a column named `1-5` is that column); a number that
names one column and is the position of another, a name two columns share, and a
column picked twice are refused, since which was meant cannot be known.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from bcecli.columns import data_columns
from bcecli.errors import UsageError, listed, plural
from bcecli.readers import Reader

Columns = int | list[int]  # an int: one column read as N values; a list: N×C

RANGE = re.compile(r"([0-9]+)-([0-9]+)")  # not \d: `²` and `٣` are no positions
GLOB = frozenset("*?[")


def column_spec(reader: Reader, spec: str, option: str) -> Columns:
    """The columns an option names (see the module's docstring)."""
    picks = [pick(reader, part.strip(), option) for part in spec.split(",")]
    if len(picks) == 1 and isinstance(picks[0], int):
        return picks[0]
    columns = [c for found in picks for c in ([found] if isinstance(found, int) else found)]
    twice = next((c for i, c in enumerate(columns) if c in columns[:i]), None)
    if twice is not None:
        raise UsageError(f"{option} {spec!r} picks column {reader.column_label(twice)} twice")
    return columns


def pick(reader: Reader, part: str, option: str) -> Columns:
    """One part of an option: a column by name or position, or the columns of a range
    or glob (a list)."""
    if reader.names is None or part not in reader.names:
        if (bounds := RANGE.fullmatch(part)) is not None:
            return column_range(reader, part, int(bounds[1]), int(bounds[2]), option)
        if GLOB & set(part):
            return matching(reader, part, option)
    return column_index(reader, part, option)


def column_index(reader: Reader, part: str, option: str) -> int:
    """A column by header name, else by 0-based position; refused where that is
    ambiguous (a name given twice, or a number that names another column)."""
    names, width = reader.names, reader.width
    position = int(part) if is_position(part) and int(part) < width else None
    if names is not None and part in names:
        index = names.index(part)
        if names.count(part) > 1:
            raise UsageError(f"{option} {part!r}: {reader.source} has two columns of that "
                             "name", hint="give the column's 0-based position instead")
        if position is not None and position != index:
            raise UsageError(f"{option} {part!r}: in {reader.source} that is both the name "
                             f"of column {index} and the position of column "
                             f"{reader.column_label(position)}",
                             hint="rename the column, or pass --no-header to use positions")
        return index
    if position is not None:
        return position
    known = listed(names, show=str) if names else f"0 to {width - 1}"
    digits = not part.isascii() and any(c.isnumeric() for c in part)
    raise UsageError(f"{option} {part!r}: no such column in {reader.source} (columns: {known})",
                     hint="a position is written with the digits 0-9" if digits else None)


def is_position(part: str) -> bool:
    """Whether a part is a 0-based position: the digits 0-9 only (`str.isdigit` is also
    true of `²`, which `int` refuses, and of `١`, which it reads as 1)."""
    return part.isascii() and part.isdigit()


def column_range(reader: Reader, part: str, first: int, last: int, option: str) -> list[int]:
    """Columns `first` to `last`, both included; a range that runs backwards or past the
    last column is refused."""
    if first > last:
        raise UsageError(f"{option} {part!r}: a range runs from the lower position to the "
                         f"higher", hint=f"write {last}-{first} (0-based, both ends included)")
    if last >= reader.width:
        raise UsageError(f"{option} {part!r}: {reader.source} has "
                         f"{plural(reader.width, 'column')}, at positions 0 to "
                         f"{reader.width - 1}")
    return list(range(first, last + 1))


def matching(reader: Reader, pattern: str, option: str) -> list[int]:
    """The data columns whose header name matches a glob, in file order."""
    names = reader.names
    if names is None:
        raise UsageError(f"{option} {pattern!r}: {reader.source} has no header names to match",
                         hint="pick columns by 0-based position or range (1-3)")
    found = [i for i in data_columns(reader) if fnmatchcase(names[i], pattern)]
    if not found:
        raise UsageError(f"{option} {pattern!r}: no column of {reader.source} matches "
                         f"(columns: {listed(names, show=str)})")
    return found
