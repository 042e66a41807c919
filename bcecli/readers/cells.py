"""What a cell says: a number, a missing value, a class label (`--pos-label`) or an id
(`--id-col`).

A column read through a `Codec` (`Labels` or `Ids`) becomes numbers the pipeline
can use: class labels 1 and 0, ids a code each, the same in every file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol

import numpy as np

from bcecli.core import FloatArray
from bcecli.errors import InputError, UsageError

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


class Codec(Protocol):
    """How a column's cells become numbers other than their own values."""

    @property
    def active(self) -> bool:
        """Whether the column is read through this codec at all."""

    def exact(self, values: np.ndarray[Any, Any]) -> bool:
        """Whether numbers a fast path parsed stand for their cells (else the cells' text
        is read)."""

    def cells(self, cells: Sequence[Any], parse: Parse, shown: Callable[[Any], str],
              column: str, where: Callable[[int], str]) -> FloatArray:
        """Cells (text, or JSON values) as numbers."""

    def numbers(self, values: np.ndarray[Any, Any], where: Callable[[int], str], column: str
                ) -> FloatArray:
        """A column a fast path read as numbers, as this codec's numbers."""

    def hint(self, cells: Sequence[Any], parse: Parse) -> str | None:
        """Advice for a column that is not numbers."""


LabelKey = float | str


class NotAKey(Exception):
    """A cell that can be no class label or id: an array, an object, an empty string."""


def label_key(cell: Any, parse: Parse) -> LabelKey | None:
    """What a cell says as a label: a number (`4`, `4.0` and JSON's `"4"` alike;
    true/false are 1 and 0), else its text; None where the value is missing."""
    value = parse(cell)
    if value is not None:
        return None if math.isnan(value) else value
    if not isinstance(cell, str) or not cell.strip() or not cell.strip().isprintable():
        raise NotAKey
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
            try:
                key = label_key(positive, parse_text_number) if positive.strip() else None
            except NotAKey:  # no cell of a file could be it
                raise UsageError(f"--pos-label {positive!r} is not a label (it holds a "
                                 "character that does not print)") from None
            if key is None:
                raise UsageError(f"--pos-label {positive!r} is not a label (it reads as a "
                                 "missing value)")
            self.positive = key
        self.negative: LabelKey | None = None
        self.seen_positive = False

    @property
    def active(self) -> bool:
        return self.positive is not None

    def exact(self, values: np.ndarray[Any, Any]) -> bool:
        return True  # labels parsed in bulk are the numbers their text says

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
            except NotAKey:
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
            except NotAKey:
                return None
            if key is not None and key not in seen:
                seen.append(key)
                if len(seen) > 2:
                    return None
        names = " and ".join(shown_label(key) for key in seen)
        what = f"the labels seen are {names}" if len(seen) == 2 else f"the label seen is {names}"
        return f"{what}: pass --pos-label with the positive one (it becomes 1, the other 0)"


IdKey = int | float | str


class Digits(float):
    """A JSON integer from 2**52 on: the float it reads as, and its digits, which an id
    needs (ids a unit apart can read as one float)."""

    __slots__ = ("text",)
    text: str


def json_whole_number(text: str) -> float:
    """`parse_int` for `json`: the float an integer reads as, its digits kept from 2**52."""
    number = float(text)
    if abs(number) < Ids.LIMIT:
        return number
    whole = Digits(number)
    whole.text = text
    return whole


def id_key(cell: Any) -> IdKey | None:
    """What a cell says as an id: a whole number exactly (`7`, `7.0` and `"007"` alike, as
    pandas reads them), another number, else its text; None where the value is missing."""
    if isinstance(cell, Digits):
        return id_key(cell.text)
    if isinstance(cell, bool | int):
        return int(cell)
    if isinstance(cell, float):
        return None if math.isnan(cell) else int(cell) if cell.is_integer() else cell
    if not isinstance(cell, str) or not cell.strip().isprintable():
        raise NotAKey
    text = cell.strip()
    if text.lower() in MISSING:
        return None
    if "_" in text:
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return id_key(number) if math.isfinite(number) else text


class Ids:
    """Ids as floats that are equal where the ids are: a number under 2**52 is itself;
    any other id (text; a larger whole number, by its digits) a code from `TEXT` down,
    from a dictionary shared by the inputs compared; NaN where the id is missing.

    `strict` (`--id-col`) refuses a cell that is no id (an array, an object); the order
    check takes it as missing.
    """

    TEXT = -float(1 << 52)
    LIMIT = float(1 << 52)  # floats are whole numbers exactly below this
    def __init__(self, strict: bool = True, what: str = "an id") -> None:
        self.strict = strict
        self.what = what  # what a value is, as the error for a cell that is none says
        self.codes: dict[str, int] = {}
        self.texts: list[str] = []
        self.hashes = np.empty(0, np.uint64)  # `keys` of the texts, as far as computed

    def keys(self, values: FloatArray) -> np.ndarray[Any, np.dtype[np.uint64]]:
        """Each id as 64 bits that are the same in every run and every input (a text's
        code is not: it numbers the texts of this run): a number's float bits (7 and
        7.0 are one id), a text's BLAKE2b hash. The bootstrap draws by them, so shards
        draw alike (`--bootstrap` with `--partial`)."""
        import hashlib

        if len(self.hashes) < len(self.texts):
            self.hashes = np.append(self.hashes, np.array([int.from_bytes(hashlib.blake2b(
                text.encode(), digest_size=8).digest(), "little")
                for text in self.texts[len(self.hashes):]], np.uint64))
        keys = (values + 0.0).view(np.uint64).copy()  # -0.0 is 0.0
        text = values <= self.TEXT
        keys[text] = self.hashes[(self.TEXT - values[text]).astype(np.int64)]
        return keys

    @property
    def active(self) -> bool:
        return True

    def text_code(self, text: str) -> float:
        code = self.codes.setdefault(text, len(self.texts))
        if code == len(self.texts):
            self.texts.append(text)
        return self.TEXT - code

    def value(self, key: IdKey | None) -> float:
        if key is None:
            return math.nan
        if isinstance(key, str) or abs(key) >= self.LIMIT:
            return self.text_code(str(key))
        return float(key)

    def shown(self, value: float) -> str:
        """An id as messages show it: `'a17'`, `42`, `0.5`."""
        if value <= self.TEXT:
            text = self.texts[int(self.TEXT - value)]
            return text if text.lstrip("-").isdigit() else repr(text)
        return label_text(value)

    def exact(self, values: np.ndarray[Any, Any]) -> bool:
        """Whether numbers parsed in bulk are these ids: not where one is 2**52 or more (its
        last digits may be lost); the cells' text decides then."""
        return not (np.abs(values) >= self.LIMIT).any()

    def cells(self, cells: Sequence[Any], parse: Parse, shown: Callable[[Any], str],
              column: str, where: Callable[[int], str]) -> FloatArray:
        if all(isinstance(cell, str) and "_" not in cell for cell in cells):
            try:  # numbers, parsed in one call
                numbers = np.array(cells, dtype=np.float64)
                if np.isfinite(numbers).all() and self.exact(numbers):
                    return numbers
            except ValueError:
                pass
        out = np.empty(len(cells))
        codes = self.codes
        for row, cell in enumerate(cells):
            # a cell written as its id's text (the second file's, mostly) is that id
            if isinstance(cell, str) and (code := codes.get(cell)) is not None:
                out[row] = self.TEXT - code
                continue
            try:
                value = self.value(id_key(cell))
            except NotAKey:
                if self.strict:
                    raise InputError(f"{shown(cell)} in column {column} is not {self.what}",
                                     where=where(row)) from None
                value = math.nan
            out[row] = value
        return out

    def numbers(self, values: np.ndarray[Any, Any], where: Callable[[int], str], column: str
                ) -> FloatArray:
        """Ids an array holds (Parquet's integers exactly, by their digits from 2**52)."""
        out = np.asarray(values, dtype=np.float64)
        large = np.flatnonzero(np.abs(out) >= self.LIMIT)
        if len(large):
            out = out.copy()
            out[large] = [self.value(id_key(values[i].item())) for i in large]
        return out

    def hint(self, cells: Sequence[Any], parse: Parse) -> str | None:
        return None
