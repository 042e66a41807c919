"""Slices (`--by COL[,COL]`): the loss of each group of rows that share the values of
some columns (a country, a device, a model version), and with `--metrics` its NE,
calibration and ROC AUC.

A slice's values are read through an `Ids` codec a column (text or numbers; a
missing value is a value of its own, null). `SliceIndex` numbers the slices in the
order they first appear and refuses the one past `--max-slices`. Per slice the state
is a few sums, kept as double-doubles of exact digit sums (`ranking.dd_column`) and
fed a batch at a time without a loop over rows; with `--metrics`, a `ScoreSketch`
whose cap shrinks as slices appear (`sketch_cap`), so that all of them together stay
near `BUDGET` buckets. A sketch's buckets depend only on its scores and its final
cap, which depends only on the number of slices: merged shards agree with one run.
Definitions, ordering and limits: docs/usage.md, "Slices: --by".
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from bcecli.core import FloatArray
from bcecli.errors import InputError
from bcecli.evaluation import binary_entropy, in_base
from bcecli.ranking import (
    ORDER,
    WEIGHTS,
    ScoreSketch,
    dd_add,
    dd_column,
    decode_column,
    encode_column,
)
from bcecli.readers import Ids

if TYPE_CHECKING:
    from bcecli.pipeline import Batch

DEFAULT_MAX_SLICES = 10_000
# --max-slices at most (docs/usage.md, "Slices"): 1M rows in 20,000 slices of text peak at
# 70 MiB, in 50,000 at 140; with --metrics (a sketch a slice) 10,000 at 87, 20,000 at 137
MAX_SLICES = 20_000
MAX_METRIC_SLICES = 10_000
# Score-sketch buckets of all slices together: 8 MiB (12 MiB with weights, 97 bytes a
# bucket), beside --metrics' own sketch; 2**19 peaked at 159 MiB on 2M rows of CSV in
# 1,000 slices (pyarrow's reader), 2**17 at 133 MiB.
BUDGET = 1 << 17
PENDING = 1 << 18  # rows held for the sketches, then added a slice at a time: 8 MiB
MIN_CAP = 16  # buckets a slice keeps however many slices there are
SUMS = ("loss", "weight", "prediction", "label")  # per slice: Σu, Σw, Σw·p, Σw·y
SHOWN = 10  # slices the table shows
WHOLE = re.compile(r"-?[0-9]+")  # a text code's text that is a whole number's digits


def sketch_cap(slices: int) -> int:
    """Each slice's sketch cap: its share of the budget, a power of two, at least
    `MIN_CAP` (so the total passes the budget only beyond budget/16 slices)."""
    share = BUDGET // max(slices, 1)
    return max(MIN_CAP, 1 << (share.bit_length() - 1)) if share else MIN_CAP


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 11th, 1001st."""
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def json_value(codec: Ids, code: float) -> str | int | float | None:
    """A slice value as the JSON shows it, of its own type: `"FR"`, `3`, `0.5`, `null`."""
    if math.isnan(code):
        return None
    if code <= Ids.TEXT:
        text = codec.texts[int(Ids.TEXT - code)]
        return int(text) if WHOLE.fullmatch(text) else text
    return int(code) if code.is_integer() else code


def code_of(codec: Ids, value: Any) -> float:
    """The code of a value `json_value` gave (a partial file's), in this run's codec."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float | str) or \
            (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError("slices.by must hold texts, numbers and nulls")
    return codec.value(value)


def order_key(values: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    """Slice values in a total order: numbers, then texts, then null."""
    return tuple((0, v) if isinstance(v, int | float) else (1, v) if isinstance(v, str)
                 else (2, 0) for v in values)


class SliceIndex:
    """The slices seen so far, numbered in the order they first appear, each a tuple of
    the codes of its values; `locate` finds a batch's rows' slices."""

    def __init__(self, names: tuple[str, ...], max_slices: int,
                 codecs: list[Ids] | None = None) -> None:
        self.names = names
        self.max_slices = max_slices
        self.codecs = codecs if codecs is not None else [Ids() for _ in names]
        self.number: dict[tuple[int, ...], int] = {}  # codes' bits -> slice
        self.codes: list[tuple[float, ...]] = []  # each slice's codes

    def __len__(self) -> int:
        return len(self.codes)

    def locate(self, batch: Batch) -> tuple[np.ndarray[Any, np.dtype[np.int64]],
                                            np.ndarray[Any, np.dtype[np.int64]]]:
        """Each row's slice among the batch's own (0 to u − 1), and the number of each of
        those u slices. A slice past --max-slices is an error at its first row."""
        assert batch.slices is not None
        codes = np.column_stack([chunk.values for chunk in batch.slices])
        bits = np.where(np.isnan(codes), np.nan, codes + 0.0).view(np.uint64)  # -0.0 is 0.0
        distinct, first, inverse = np.unique(bits, axis=0, return_index=True,
                                             return_inverse=True)
        numbers = np.empty(len(distinct), np.int64)
        for j in np.argsort(first).tolist():  # new slices numbered in the order they appear
            key = tuple(distinct[j].tolist())
            found = self.number.get(key)
            if found is None:
                found = self.add(key, tuple(codes[first[j]].tolist()), batch, int(first[j]))
            numbers[j] = found
        return inverse.reshape(-1).astype(np.int64), numbers

    def add(self, key: tuple[int, ...], codes: tuple[float, ...], batch: Batch | None,
            row: int) -> int:
        """A new slice's number; past --max-slices, an error naming it and its row."""
        if len(self.codes) == self.max_slices:
            assert batch is not None and batch.slices is not None
            raise InputError(
                f"more than {self.max_slices} slices (the {ordinal(self.max_slices + 1)}, "
                f"{self.shown(codes)}, at {batch.slices[0].where(row)})",
                hint="raise --max-slices, slice by a column of fewer values, or put small "
                "slices together with --min-slice-size")
        self.number[key] = len(self.codes)
        self.codes.append(codes)
        return len(self.codes) - 1

    def shown(self, codes: tuple[float, ...]) -> str:
        """A slice as messages show it: `'FR'`, or `country='FR', device=3`."""
        values = ["null" if math.isnan(code) else codec.shown(code)
                  for codec, code in zip(self.codecs, codes, strict=True)]
        if len(values) == 1:
            return values[0]
        return ", ".join(f"{name}={value}" for name, value in zip(self.names, values,
                                                                   strict=True))

    def values(self, number: int) -> tuple[str | int | float | None, ...]:
        return tuple(json_value(codec, code)
                     for codec, code in zip(self.codecs, self.codes[number], strict=True))

    def by(self, number: int) -> dict[str, Any]:
        """A slice's `"by"`: each column's value."""
        return dict(zip(self.names, self.values(number), strict=True))

    def absorb_values(self, data: Any) -> list[int]:
        """The slices a partial file lists (each a list of values), numbered in this
        index; new ones added (past --max-slices, an error)."""
        if not isinstance(data, list) or not all(
                isinstance(v, list) and len(v) == len(self.names) for v in data):
            raise ValueError(f"slices.by must hold a list of {len(self.names)} values a slice")
        numbers = []
        for values in data:
            codes = tuple(code_of(codec, v) for codec, v in zip(self.codecs, values,
                                                                  strict=True))
            key = tuple(np.array(codes).view(np.uint64).tolist())
            found = self.number.get(key)
            if found is None:
                if len(self.codes) == self.max_slices:
                    raise InputError(f"more than {self.max_slices} slices (the "
                                     f"{ordinal(self.max_slices + 1)}, {self.shown(codes)}, "
                                     "in a part)", hint="merge with a larger --max-slices")
                found = self.add(key, codes, None, 0)
            numbers.append(found)
        if len(set(numbers)) < len(numbers):
            raise ValueError("slices.by must list each slice once")
        return numbers


class Slices:
    """Per slice: rows, elements, Σu (the losses, times the weight), Σw and, with
    `--metrics`, Σw·p, Σw·y and a score sketch. Fed batches like `Diagnostics`."""

    def __init__(self, index: SliceIndex, *, metrics: bool, weighted: bool,
                 min_size: int = 1) -> None:
        self.index = index
        self.metrics = metrics
        self.weighted = weighted
        self.min_size = min_size
        self.rows = np.zeros(0, np.int64)
        self.count = np.zeros(0, np.int64)
        self.sums = {name: np.zeros((2, 0)) for name in self.kept}
        self.sketches: list[ScoreSketch] = []
        self.cap = sketch_cap(0)
        # rows not yet in the sketches: each slice's are added at once, PENDING at a time
        self.pending: list[tuple[np.ndarray[Any, np.dtype[np.int64]], FloatArray, FloatArray,
                                 FloatArray | None]] = []

    @property
    def kept(self) -> tuple[str, ...]:
        """The sums kept: Σu always, Σw with weights, Σw·p and Σw·y with --metrics."""
        return ("loss",) + (("weight",) if self.weighted else ()) + \
            (("prediction", "label") if self.metrics else ())

    def grow(self) -> None:
        """Room for every slice the index knows: new sums and sketches, and every sketch
        coarser when each one's share of the budget has halved."""
        size, have = len(self.index), len(self.rows)
        if size == have:
            return
        more = size - have
        self.rows = np.concatenate([self.rows, np.zeros(more, np.int64)])
        self.count = np.concatenate([self.count, np.zeros(more, np.int64)])
        self.sums = {name: np.concatenate([column, np.zeros((2, more))], axis=1)
                     for name, column in self.sums.items()}
        if self.metrics:
            cap = sketch_cap(size)
            if cap < self.cap:
                for sketch in self.sketches:
                    sketch.limit(cap)
                self.cap = cap
            self.sketches += [ScoreSketch(self.weighted, self.cap) for _ in range(more)]

    def add(self, numbers: np.ndarray[Any, np.dtype[np.int64]], rows: FloatArray,
            count: FloatArray, sums: dict[str, FloatArray]) -> None:
        """Rows, elements and double-double sums (2, u) of slices `numbers`, added in."""
        self.rows[numbers] += rows.astype(np.int64)
        self.count[numbers] += count.astype(np.int64)
        for name, new in sums.items():
            column = self.sums[name]
            column[0, numbers], column[1, numbers] = dd_add(
                column[0, numbers], column[1, numbers], new[0], new[1])

    def observe(self, batch: Batch, losses: FloatArray, p: FloatArray | None,
                w: FloatArray | None) -> None:
        """A batch: its per-element losses (times the weight), and the probabilities
        (with --metrics) and weights broadcast to them (None: none given)."""
        inverse, numbers = self.index.locate(batch)
        self.grow()
        u = len(numbers)
        classes = 1 if losses.ndim == 1 else losses.shape[1]
        segments = inverse if classes == 1 else np.repeat(inverse, classes)
        rows = np.bincount(inverse, minlength=u).astype(np.float64)
        columns: dict[str, FloatArray] = {"loss": np.asarray(losses, np.float64).ravel()}
        weights = None if w is None else np.ravel(w)
        if weights is not None:
            columns["weight"] = weights
        if p is not None:  # --metrics
            scores, targets = np.ravel(p), np.ravel(batch.targets.values)
            columns["prediction"] = scores if weights is None else weights * scores
            columns["label"] = targets if weights is None else weights * targets
        self.add(numbers, rows, rows * classes,
                 {name: dd_column(u, segments, values) for name, values in columns.items()})
        if p is not None:
            self.pending.append((numbers[segments], scores, targets, weights))
            if sum(len(part[0]) for part in self.pending) >= PENDING:
                self.flush()

    def flush(self) -> None:
        """The pending rows into their slices' sketches, one `add` a slice (an `add`
        costs about half a millisecond however few its rows)."""
        if not self.pending:
            return
        numbers, scores, targets = (np.concatenate([part[k] for part in self.pending])
                                    for k in range(3))
        weights = None if self.pending[0][3] is None else \
            np.concatenate([part[3] for part in self.pending])
        self.pending = []
        order = np.argsort(numbers, kind="stable")
        numbers = numbers[order]
        starts = [*np.flatnonzero(np.diff(numbers, prepend=-1)).tolist(), len(numbers)]
        scores, targets = scores[order], targets[order]
        weights = None if weights is None else weights[order]
        for a, b in itertools.pairwise(starts):
            self.sketches[int(numbers[a])].add(scores[a:b], targets[a:b],
                                               None if weights is None else weights[a:b])

    def section_names(self) -> list[str]:
        columns = ORDER if self.weighted else ORDER[:-len(WEIGHTS)]
        return ["slices"] + (["slices.sketches", *(f"slices.sketch.{name}" for name in columns)]
                             if self.metrics else [])

    def sections(self) -> Iterator[tuple[str, Any]]:
        """The slices' values and sums, then their sketches a column a section (each the
        slices' columns end to end)."""
        size = len(self.index)
        self.flush()
        yield "slices", {"by": [list(self.index.values(k)) for k in range(size)],
                         "rows": encode_column(self.rows), "count": encode_column(self.count),
                         **{name: encode_column(column.ravel())
                            for name, column in self.sums.items()}}
        if self.metrics:
            yield "slices.sketches", {"weighted": self.weighted, "cap": self.cap,
                                      "shifts": [s.shift for s in self.sketches],
                                      "sizes": [len(s) for s in self.sketches]}
            for name in self.section_names()[2:]:
                column = name.removeprefix("slices.sketch.")
                yield name, encode_column(np.concatenate(
                    [s.columns[column] for s in self.sketches], axis=-1))

    def absorb(self, sections: Iterator[tuple[str, Any]], take: Any) -> None:
        """Another shard's slices, as `sections` gave them, merged in.

        Raises
        ------
        ValueError
            A section that cannot be what `sections` wrote.
        """
        data = take(sections, "slices")
        if not isinstance(data, dict) or set(data) != {"by", "rows", "count", *self.kept}:
            raise ValueError("slices must hold by, rows, count and " + ", ".join(self.kept))
        numbers = np.array(self.index.absorb_values(data["by"]), np.int64)
        size = len(numbers)
        rows, count = (decoded(data[name], "count", size) for name in ("rows", "count"))
        sums = {name: decoded(data[name], "sum_p", size) for name in self.kept}
        if bool((rows < 1).any()) or bool((count < rows).any()) or not all(
                np.isfinite(column).all() for column in sums.values()):
            raise ValueError("slices must hold positive counts and finite sums")
        self.grow()
        self.flush()
        self.add(numbers, rows.astype(np.float64), count.astype(np.float64), sums)
        if not self.metrics:
            return
        state = take(sections, "slices.sketches")
        if not (isinstance(state, dict) and set(state) == {"weighted", "cap", "shifts", "sizes"}
                and state["weighted"] is self.weighted and type(state["cap"]) is int
                and all(isinstance(state[key], list) and len(state[key]) == size
                        and all(type(v) is int and v >= 0 for v in state[key])
                        for key in ("shifts", "sizes"))):
            raise ValueError(f"slices.sketches must give the cap, and a shift and a size for "
                             f"each of {size} slices")
        columns = {}
        for name in self.section_names()[2:]:
            column = name.removeprefix("slices.sketch.")
            text = take(sections, name)
            if not isinstance(text, str):
                raise ValueError(f"{name} must be base64 text")
            columns[column] = decode_column(column, text)
        starts = np.cumsum([0, *state["sizes"]]).tolist()
        if any(column.shape[-1] != starts[-1] for column in columns.values()):
            raise ValueError(f"slices.sketch columns must hold {starts[-1]} buckets")
        for k, number in enumerate(numbers.tolist()):
            sketch = ScoreSketch.from_json({
                "bcecli_sketch": 1, "weighted": self.weighted, "cap": state["cap"],
                "shift": state["shifts"][k]} | {
                name: column[..., starts[k]:starts[k + 1]] for name, column in columns.items()})
            if int(sketch.columns["count"].sum()) != int(count[k]):
                raise ValueError("slices.sketch must hold each slice's elements")
            self.sketches[number].merge(sketch, consume=True)

    def result(self, reduction: str, base: float | None) -> list[dict[str, Any]]:
        """The JSON's `"slices"`: worst first (the highest loss; ties by the values,
        numbers before texts before null; an undefined loss last), then `(other)`."""
        self.flush()
        small = [k for k in range(len(self.index)) if self.rows[k] < self.min_size]
        entries = [self.entry(k, reduction, base) for k in range(len(self.index))
                   if self.rows[k] >= self.min_size]
        entries.sort(key=lambda e: (e["loss"] is None, -(e["loss"] or 0.0),
                                    order_key(tuple(e["by"].values()))))
        if small:
            entries.append({"by": None, "other": True, "slices": len(small)} |
                           self.entry(small, reduction, base))
        return entries

    def entry(self, which: int | list[int], reduction: str, base: float | None
              ) -> dict[str, Any]:
        """One slice's numbers (several slices' together: `(other)`)."""
        group = [which] if isinstance(which, int) else which
        total = {name: dd_sum(column, group) for name, column in self.sums.items()}
        rows, count = int(self.rows[group].sum()), int(self.count[group].sum())
        weight = total["weight"] if self.weighted else float(count)
        loss: float | None = total["loss"]
        if reduction == "mean":
            loss = total["loss"] / count
        elif reduction == "weighted-mean":
            loss = total["loss"] / weight if weight else None
        out: dict[str, Any] = {} if isinstance(which, list) else {"by": self.index.by(which)}
        out |= {"rows": rows, "count": count,
                "loss": None if loss is None else in_base(loss, base)}
        if self.metrics:
            out |= self.metric_values(total, weight, group)
        return out

    def metric_values(self, total: dict[str, float], weight: float, group: list[int]
                      ) -> dict[str, Any]:
        """NE, calibration, the means and ROC AUC, defined as `--metrics` defines them."""
        out: dict[str, Any] = {"normalized_entropy": None, "calibration": None,
                               "mean_prediction": None, "mean_label": None}
        label = total["label"]
        if weight > 0:
            q = label / weight
            prior = binary_entropy(q)
            out |= {"normalized_entropy": None if prior is None else
                    total["loss"] / weight / prior, "calibration":
                    total["prediction"] / label if label else None,
                    "mean_prediction": total["prediction"] / weight, "mean_label": q}
        sketch = self.sketches[group[0]]
        if len(group) > 1:
            sketch = ScoreSketch(self.weighted, self.cap)
            for k in group:
                sketch.merge(self.sketches[k])
        estimate = sketch.roc_auc()
        out["roc_auc"] = None if estimate is None else estimate.value
        if estimate is not None and not estimate.exact:
            out["roc_auc_bounds"] = [estimate.low, estimate.high]
        return out


def dd_sum(column: FloatArray, group: list[int]) -> float:
    """The sum of some slices' double-doubles, rounded once."""
    if len(group) == 1:
        return float(column[0, group[0]] + column[1, group[0]])
    return math.fsum(column[:, group].ravel().tolist())


def decoded(text: Any, kind: str, size: int) -> np.ndarray[Any, Any]:
    """A column of a partial's `slices` section: `size` counts, or (2, size) sums."""
    if not isinstance(text, str):
        raise ValueError("slices columns must be base64 text")
    column = decode_column(kind, text)
    if column.shape[-1] != size:
        raise ValueError(f"slices columns must hold {size} slices")
    return column
