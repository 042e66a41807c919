"""Shards: `compute --partial` saves exact running totals, `bce merge` combines them.

A partial holds the count and the loss (and weight) sums as a few
non-overlapping floats whose exact sum is the shard's sum, so merging any
number of them gives the result one run over all the data would (within an
ulp), in any order. It also records every setting that changes the numbers;
shards computed differently are refused rather than mixed.

A partial file carries its schema version (`bcecli_partial`), an id unique to
the run that wrote it, and a SHA-256 checksum of everything else. It is checked
field by field when it is read, then for totals that contradict each other,
then against its checksum: a file that was edited, truncated, copied or written
by something else is an error naming the file (and the field, where one is
wrong), never a wrong number or an internal error. `merge` refuses a part given
twice (the same path, or the same id under another name).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from bcecli.conventions import CONVENTIONS
from bcecli.core import DType, LossTotal, Reduction
from bcecli.errors import BceError, InputError, UsageError, format_float, plural, shown_path
from bcecli.settings import Settings

VERSION = 2  # the value of "bcecli_partial"; 1 had no id and no checksum
REDUCTIONS = (Reduction.MEAN, Reduction.SUM, Reduction.WEIGHTED_MEAN)  # never -r none
MAX_COUNT = 2**63 - 1  # more elements than numpy can index
HEX_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex
HEX_SUM = re.compile(r"[0-9a-f]{64}")  # sha256().hexdigest()
REMAKE = "make it again with bce compute ... --partial"


@dataclass(frozen=True)
class Partial:
    """One shard's totals, and what must agree between shards; fields in file order."""

    id: str  # unique to the run that wrote it: a part given twice is refused
    classes: int
    flat: bool  # one column read as N values: the shape is (N,), not (N, 1)
    reduction: Reduction
    dtype: DType
    from_logits: bool
    weighted: bool  # weights were given (--weights or --weight-col)
    settings: Settings
    count: int
    loss_parts: list[float]
    weight_parts: list[float]

    @classmethod
    def of(cls, total: LossTotal, *, classes: int, flat: bool, reduction: Reduction,
           dtype: DType, from_logits: bool, weighted: bool, settings: Settings) -> Partial:
        return cls(uuid.uuid4().hex, classes, flat, reduction, dtype, from_logits, weighted,
                   settings, total.count, total.loss_parts, total.weight_parts)

    @property
    def total(self) -> LossTotal:
        return LossTotal(self.count, list(self.loss_parts), list(self.weight_parts))

    def agreed(self) -> dict[str, Any]:
        """Everything but the totals: what every shard must have been computed with."""
        return {"classes": self.classes, "flat": self.flat, "reduction": self.reduction,
                "dtype": self.dtype, "from_logits": self.from_logits,
                "weighted": self.weighted, **self.settings.fields()}

    def content(self) -> dict[str, Any]:
        """Every field of the file but the checksum, in file order."""
        return {"bcecli_partial": VERSION, "id": self.id, **self.agreed(), "count": self.count,
                "loss_parts": self.loss_parts, "weight_parts": self.weight_parts}

    def checksum(self) -> str:
        """SHA-256 of the content as values, not text: reformatting a file keeps it."""
        canonical = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def to_json(self) -> str:
        return json.dumps({**self.content(), "checksum": self.checksum()})


KEYS = ("id", "classes", "flat", "reduction", "dtype", "from_logits", "weighted",
        *(field.name for field in fields(Settings)), "count", "loss_parts", "weight_parts",
        "checksum")
NULLABLE = {field.name for field in fields(Settings) if field.default is None}


def read(path: str) -> Partial:
    """A partial result file, every field checked."""
    from bcecli.readers import read_small_json

    where = shown_path(path)
    try:
        data = read_small_json(path, "a partial result", unique_keys)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", where=where) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    except DuplicateKey as e:
        raise InputError(f"a broken partial result: duplicate key {json.dumps(e.key)}",
                         where=where, hint=REMAKE) from None
    version = data.get("bcecli_partial") if isinstance(data, dict) else None
    if type(version) is not int or version < 1:
        raise InputError("not a partial result (make one with bce compute ... --partial)",
                         where=where)
    if version != VERSION:
        older = version < VERSION
        why = ": it has no id, so a part given twice would go unnoticed" if version == 1 else ""
        raise InputError(
            f"a partial result of version {version}, {'older' if older else 'newer'} than this "
            f"bce's ({VERSION}){why}",
            where=where, hint=REMAKE if older else "merge it with the bce that made it")
    return PartialFile(where, data).read()


def merge(paths: list[str]) -> Partial:
    """All partials combined; each given once, all computed the same way."""
    for k, path in enumerate(paths):
        if path in paths[:k]:
            raise UsageError(f"{shown_path(path)} is given twice", hint=TWICE)
    parts = [read(path) for path in paths]
    names = [shown_path(path) for path in paths]
    first = parts[0].agreed()
    seen: dict[str, str] = {}
    total = LossTotal()
    for name, part in zip(names, parts, strict=True):
        if part.id in seen:
            raise UsageError(f"{name} and {seen[part.id]} are the same part (id {part.id})",
                             hint=TWICE)
        seen[part.id] = name
        mine = part.agreed()
        for key in sorted(mine):
            if mine[key] != first[key]:
                raise UsageError(f"{name} was computed with {key} = {json.dumps(mine[key])}, "
                                 f"{names[0]} with {json.dumps(first[key])}: shards must agree")
        total.merge(part.total)
    return replace(parts[0], id=uuid.uuid4().hex, count=total.count,
                   loss_parts=total.loss_parts, weight_parts=total.weight_parts)


TWICE = "a part merged twice is counted twice: give each shard's part once"


class DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (else the last would silently win)."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise DuplicateKey(key)
        data[key] = value
    return data


def exact_sum(parts: list[float]) -> float:
    """The exactly rounded sum of `parts`, ±inf (with its sign) when it overflows."""
    try:
        return math.fsum(parts)
    except OverflowError:  # scaling by a power of two is exact, and keeps the sign
        return math.copysign(math.inf, math.fsum(part * 2.0**-64 for part in parts))


def real(value: Any) -> float | None:
    """A JSON number as a float; None for anything else (true is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float
        return None


def is_sum(value: float) -> bool:
    """A sum of non-negative terms is finite, or +inf when a loss was."""
    return math.isfinite(value) or value == math.inf


def is_weight(value: float) -> bool:
    return math.isfinite(value) and value >= 0


def keys(names: list[str]) -> str:
    return f"key{'s' if len(names) > 1 else ''}: {', '.join(names)}"


T = TypeVar("T")


class PartialFile:
    """The JSON object of one partial file, read field by field into a `Partial`."""

    def __init__(self, where: str, data: dict[str, Any]):
        self.where = where  # the file, as messages name it
        self.data = data

    def read(self) -> Partial:
        """The fields, each checked; then the totals against each other; then the checksum."""
        missing = [key for key in KEYS if key not in self.data]
        if missing:
            raise self.broken(f"missing {keys(missing)}")
        unknown = [json.dumps(key) for key in self.data if key not in (*KEYS, "bcecli_partial")]
        if unknown:
            raise self.broken(f"unknown {keys(unknown)}")
        part_id = self.text("id", HEX_ID, "32 lowercase hexadecimal digits")
        classes = self.integer("classes", 1)
        flat = self.flag("flat")
        if flat and classes != 1:
            raise self.wrong("flat", f"false with {classes} classes")
        reduction = Reduction(self.choice("reduction", REDUCTIONS))
        dtype = DType(self.choice("dtype", tuple(DType)))
        from_logits = self.flag("from_logits")
        weighted = self.flag("weighted")
        settings = Settings(
            self.optional("class_weights", self.weights), self.optional("pos_weight", self.weights),
            self.number("label_smoothing"), self.optional("eps", self.number),
            self.optional("focal_gamma", self.number), self.optional("focal_alpha", self.number),
            self.optional("like", lambda key: self.choice(key, tuple(CONVENTIONS))),
            self.optional("pos_label", self.label))
        try:
            settings.function(logits=from_logits, dtype=dtype)  # the core checks the ranges
        except BceError as e:
            raise self.broken(str(e)) from None
        for key, values, allowed in (("class_weights", settings.class_weights, {classes}),
                                     ("pos_weight", settings.pos_weight, {1, classes})):
            if values is not None and len(values) not in allowed:
                raise self.broken(f"{key} has {plural(len(values), 'value')} but classes is "
                                  f"{classes}")
        count = self.integer("count", 1)
        if count % classes:
            raise self.wrong("count", f"a multiple of classes ({classes})")
        signed = settings.like == "torch"  # negative weights, targets outside [0, 1]
        part = Partial(part_id, classes, flat, reduction, dtype, from_logits, weighted, settings,
                       count, self.sum("loss_parts", "losses", signed),
                       self.sum("weight_parts", "weights", signed))
        if not part.loss_parts:
            raise self.broken("loss_parts is empty: it must hold the sum of the losses")
        weights = weighted or settings.class_weights is not None  # both make a sum of weights
        if weights and not part.weight_parts:
            raise self.broken(f"{'weighted is true' if weighted else 'class_weights are given'}"
                              " but weight_parts is empty")
        if part.weight_parts and not weights:
            raise self.broken("weight_parts holds a sum of weights, but weighted is false and "
                              "class_weights is null")
        checksum = self.text("checksum", HEX_SUM, "64 lowercase hexadecimal digits")
        if checksum != part.checksum():
            raise self.broken("its checksum does not match: it was changed after bce wrote it")
        return part

    def broken(self, what: str) -> InputError:
        return InputError(f"a broken partial result: {what}", where=self.where, hint=REMAKE)

    def wrong(self, key: str, expected: str) -> InputError:
        """`<key> must be <expected>, not <the value as JSON>`."""
        shown = json.dumps(self.data[key])
        if len(shown) > 40:
            shown = shown[:39] + "…"
        nullable = "null or " if key in NULLABLE else ""
        return self.broken(f"{key} must be {nullable}{expected}, not {shown}")

    def optional(self, key: str, read: Callable[[str], T]) -> T | None:
        return None if self.data[key] is None else read(key)

    def integer(self, key: str, low: int) -> int:
        value = self.data[key]
        if type(value) is not int or value < low:
            raise self.wrong(key, f"an integer >= {low}")
        if value > MAX_COUNT:
            raise self.wrong(key, f"at most {MAX_COUNT}")
        return value

    def flag(self, key: str) -> bool:
        value = self.data[key]
        if not isinstance(value, bool):
            raise self.wrong(key, "true or false")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.data[key]
        if not isinstance(value, str) or value not in choices:
            raise self.wrong(key, f"one of {', '.join(choices)}")
        return value

    def label(self, key: str) -> str:
        value = self.data[key]
        if not isinstance(value, str) or not value:
            raise self.wrong(key, "a label (text)")
        return value

    def number(self, key: str) -> float:
        number = real(self.data[key])
        if number is None:
            raise self.wrong(key, "a number")
        return number

    def text(self, key: str, pattern: re.Pattern[str], expected: str) -> str:
        value = self.data[key]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise self.wrong(key, expected)
        return value

    def sum(self, key: str, what: str, signed: bool) -> list[float]:
        """Parts whose exact sum is a sum of `what` (never negative, unless `signed`)."""
        parts = self.numbers(key, is_sum, "a list of finite numbers or Infinity")
        total = exact_sum(parts)
        if not total >= 0 and not signed:
            raise self.broken(f"{key} add up to {format_float(total)}, but a sum of {what} "
                              "cannot be negative")
        return parts

    def numbers(self, key: str, valid: Callable[[float], bool], expected: str) -> list[float]:
        value = self.data[key]
        numbers = [real(v) for v in value] if isinstance(value, list) else [None]
        checked = [n for n in numbers if n is not None and valid(n)]
        if len(checked) != len(numbers):
            raise self.wrong(key, expected)
        return checked

    def weights(self, key: str) -> list[float]:
        return self.numbers(key, is_weight, "a list of finite numbers >= 0")
