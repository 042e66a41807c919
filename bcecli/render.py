"""Output: the one place that turns results into JSON, plain text, CSV or a Rich table.

stdout carries only the result. Numbers are printed with `repr`, the shortest
text that reads back as the same float (float32 results are widened exactly, as
PyTorch's `.item()` does). JSON has no infinity and no NaN, so an infinite loss
is written `1e999` (`-1e999`), which every JSON parser reads as ±inf or the
largest float, and a NaN (only inf meeting -inf makes one) `null`.

Per-element losses (`-r none`; `-r rows` has their means per row) arrive block
by block. Plain, CSV and JSON rows are held back until `STREAM_AFTER` bytes of
them, so that a bad value later in the input still leaves stdout empty; past
that they are written as they come, to keep memory flat (JSON: the opening
`{"loss": [`, the numbers, then the other keys). The table keeps the first rows
only.

Rich tables are rendered whole before a byte is written, then written at once,
and never read markup or emoji codes: a path or column name such as `y[red]z.csv`
is printed as it is.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from bcecli.core import POW10, DType, FloatArray, Reduction, split, unreduced
from bcecli.errors import UsageError, format_float

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions
    from rich.measure import Measurement
    from rich.text import Text

    from bcecli.gates import Gate

PREVIEW_ROWS = 10
BAR = 16  # cells of a reliability bar at a mean label of 1, where the terminal has room
# table columns never wrapped or cut
NUMBER_COLUMNS = frozenset({"Loss", "Value", "Loss A", "Loss B", "Δ", "Δ 95% CI", "Rows", "NE",
                            "Calibration", "AUC"})
LOCATOR = r"(:\d+|\[[^\[\]]*\])$"  # the `:12` or `[3]` that ends a location
TOP_SHOWN = 20  # rows of --top the table shows; JSON has them all
SLICES_SHOWN = 10  # slices the table shows, the worst; JSON has them all
# the JSON keys, as the note names them
DIAGNOSTICS = {"top": "--top", "metrics": "--metrics", "histogram": "--hist",
               "per_class": "the per-class losses", "slices": "--by"}
STREAM_AFTER = 1 << 24  # 16 MiB of -r none text is held back before streaming starts
BULK_AFTER = 1024  # values: from these on numpy formats them (below, `repr` is quicker)
BULK_VALUES = 1 << 15  # values numpy formats at a time, to keep its grids small
# numpy formats |x| in [BULK_LOW, BULK_HIGH): the text has no exponent, at most 19 decimals
# (the fraction fits a uint64) and the integer part is exact (below 2**53)
BULK_LOW, BULK_HIGH = 1e-3, 2.0 ** 53
POWERS = 10 ** np.arange(20, dtype=np.uint64)  # 10**19 < 2**64
ARROW_AFTER = 1 << 17  # rows of -r none: past these, pyarrow's import pays for itself
ARROW_VALUES = 1 << 16  # values pyarrow formats at a time
# What a -r none run grows by once pyarrow formats its rows: the held-back text, pyarrow's
# library, pools and kernels (measured from there: 78 MiB with CSV input, 86 with .npy).
ARROW_MEMORY = 96 << 20
PEAK_MEMORY = 150 << 20  # the most bce may hold, at any input size


class Format(StrEnum):
    """`--format`: `auto` is a table on a terminal, JSON elsewhere."""

    AUTO = "auto"
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    PLAIN = "plain"


@dataclass(repr=False, eq=False)
class Result:
    """What was computed and from what; `to_json` fixes the key order and meaning.

    `loss` is None for `-r none` and `-r rows`, whose rows went through `Output.rows`.
    """

    loss: float | None
    reduction: Reduction
    count: int
    shape: tuple[int, ...]
    from_logits: bool
    dtype: DType
    sources: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    gate_options: dict[str, Any] = field(default_factory=dict)  # the JSON keys of the gates
    gates: list[Gate] = field(default_factory=list)  # their verdicts: the JSON's `checks`
    extra: dict[str, Any] = field(default_factory=dict)  # diagnostics, when asked for

    @property
    def numbers(self) -> dict[str, Any]:
        """The JSON keys the gates read (`loss`, `metrics`, ...): the numbers as printed."""
        return {"loss": self.loss, **self.extra}

    @property
    def passed(self) -> bool | None:
        """Whether every CI gate held; None when there was none."""
        return all(gate.held for gate in self.gates) if self.gates else None

    def json_fields(self) -> str:
        """Every key after `loss`, as the tail of a JSON object."""
        rest = {"reduction": self.reduction, "count": self.count, "shape": list(self.shape),
                "from_logits": self.from_logits, "dtype": self.dtype, **self.sources,
                **self.settings, **self.gate_options,
                "checks": [gate.to_json() for gate in self.gates], "passed": self.passed,
                **self.extra}
        return json_text(rest)[1:]

    def json_object(self) -> str:
        """The JSON object `-f json` prints for a reduced loss (a report reads it back)."""
        assert self.loss is not None, "-r none and -r rows stream their losses"
        return '{"loss": ' + format_json_number(self.loss) + ", " + self.json_fields()


@dataclass(repr=False, eq=False)
class ComparisonRow:
    """One library's convention in `bce compare`."""

    convention: str
    loss: float | None  # None: the convention refuses this input (`differs` says why)
    reduction: Reduction
    dtype: DType
    differs: str
    per_class_mean: bool = False  # the mean over classes of each class's loss

    @property
    def name(self) -> str:
        """How the table names it: scikit-learn's row on multi-label input says it is per class."""
        return f"{self.convention} (per-class mean)" if self.per_class_mean else self.convention


def json_text(value: Any) -> str:
    """`json.dumps`, but with floats as `format_json_number` writes them: Python's json
    writes Infinity and NaN, which are no JSON."""
    import json

    if isinstance(value, float):
        return format_json_number(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(key))}: {json_text(item)}"
                               for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(json_text, value)) + "]"
    return json.dumps(value)


def format_json_number(value: float) -> str:
    """A float as JSON text. JSON has no infinity and no NaN: ±inf is written ±1e999 (read
    back as ±inf, or the largest float), NaN (inf meeting -inf in a sum) null."""
    if math.isnan(value):
        return "null"
    return ("-1e999" if value < 0 else "1e999") if math.isinf(value) else format_float(value)


def format_lines(losses: FloatArray, separator: str) -> list[str]:
    """Per-element losses as lines (without their newline): one value, or a row's C values
    joined by `separator`."""
    return joined_rows(losses, separator, "\n").split("\n") if len(losses) else []


def joined_rows(losses: FloatArray, separator: str, between: str, *, json: bool = False,
                arrow: bool = False) -> str:
    """Per-element losses as text: a row's C values joined by `separator` (in brackets for
    JSON), the rows joined by `between`. Each value is `format_float`'s (`format_json_number`'s
    for JSON): by pyarrow when `arrow` says (it must be installed), else by numpy from
    `BULK_AFTER` values (`bulk_text`), else by `repr`."""
    if arrow or losses.size >= BULK_AFTER:
        width = 1 if losses.ndim == 1 else losses.shape[1]
        step = max(1, (ARROW_VALUES if arrow else BULK_VALUES) // width)
        formatter = arrow_rows if arrow else bulk_text
        return between.join(formatter(losses[start:start + step], separator, between, json)
                            for start in range(0, len(losses), step))
    return python_rows(losses, separator, between, json)


def python_rows(losses: FloatArray, separator: str, between: str, json: bool) -> str:
    """`joined_rows` by `repr`, value by value."""
    # `tolist` gives Python floats (float32 widened exactly), whose repr is format_float's.
    number = format_json_number if json and not np.isfinite(losses).all() else repr
    if losses.ndim == 1:
        return between.join(map(number, losses.tolist()))
    opening, closing = ("[", "]") if json else ("", "")
    return between.join(opening + separator.join(map(number, row)) + closing
                        for row in losses.tolist())


def shortest(x: FloatArray) -> tuple[np.ndarray[Any, np.dtype[np.int64]],
                                     np.ndarray[Any, np.dtype[np.int64]],
                                     np.ndarray[Any, np.dtype[np.bool_]]]:
    """Python's repr digits of positive floats in [BULK_LOW, BULK_HIGH), as `mantissa` /
    10**`places`, and where they are proven (elsewhere `repr` must format).

    repr is the decimal with the fewest places that reads back as x, the nearest to x
    among them. Outside powers of two, x's rounding interval is symmetric (half a gap,
    `half`, each side), so if any decimal of p places reads back, the nearest one does,
    and then one of p + 1 places too. So: V = x * 10**scale exactly (Dekker's product with
    an exact power of ten: the integer `mantissa` of 17 digits, which always reads back,
    plus the `rest`), then places are dropped while V rounded to 10**dropped still lies
    within `half`; every comparison is exact or, where a rounding leaves it open, the
    value is `repr`'s, as are exact ties and powers of two.
    """
    scale = np.maximum(16 - np.floor(np.log10(x)).astype(np.int64), 0)
    power = POW10[scale]
    high = x * power  # from 2**53 a whole number: V = high + low exactly
    x_high, x_low = split(x)
    p_high, p_low = split(power)
    low = ((x_high * p_high - high) + x_high * p_low + x_low * p_high) + x_low * p_low
    step = np.rint(low)
    mantissa = high.astype(np.int64) + step.astype(np.int64)
    rest = low - step  # exact: V = mantissa + rest, |rest| <= 1/2
    half = np.spacing(x) * 0.5 * power  # exact: a power of two times 10**scale
    proven = (high >= 2.0 ** 53) & (mantissa >= 10 ** 16) & (np.abs(rest) != 0.5) & \
        (np.frexp(x)[0] != 0.5)
    digits = mantissa.copy()
    dropped = np.zeros(len(x), dtype=np.int64)
    live = np.flatnonzero(proven & (scale > 0))
    for fewer in range(1, 20):
        if not len(live):
            break
        unit = 10 ** fewer
        upper, lower = np.divmod(mantissa[live], unit)
        above = unit / 2 - lower  # V rounds up where rest > above; a tie where equal
        candidate = upper + (rest[live] > above)
        miss = np.abs((candidate * unit - mantissa[live]) - rest[live])
        proven[live[(rest[live] == above) | (miss == half[live])]] = False
        held = (rest[live] != above) & (miss < half[live])
        live = live[held]
        digits[live] = candidate[held]
        dropped[live] = fewer
        live = live[scale[live] > fewer]
    places = scale - dropped
    proven &= (places == 0) | (digits % 10 != 0)  # no trailing zero: a place was droppable
    return digits, places, proven


def bulk_text(losses: FloatArray, separator: str, between: str, json: bool) -> str:
    """`joined_rows` by numpy: each value's repr digits (`shortest`) written into a grid of
    bytes, a column a digit, then the bytes each line keeps read off in order. Values
    `shortest` leaves (zeros, tiny or huge ones, inf, nan, the unproven) are Python's."""
    values = np.ascontiguousarray(losses, np.float64).reshape(-1)  # float32 widened exactly
    width = 1 if losses.ndim == 1 else losses.shape[1]
    opening, closing = ("[", "]") if json and losses.ndim == 2 else ("", "")
    ends = [separator.encode()] * (width - 1) + [(closing + between + opening).encode()]
    size = np.abs(values)
    fast = np.flatnonzero((size >= BULK_LOW) & (size < BULK_HIGH))
    mantissa, places, proven = shortest(size[fast])
    fast = fast[proven]
    if not len(fast):  # zeros, say: no grid to build
        return python_rows(losses, separator, between, json)
    digits, decimals = mantissa.astype(np.uint64), places
    if len(fast) < len(values):  # the others' grid rows are Python's text
        digits, decimals = np.zeros(len(values), np.uint64), np.zeros(len(values), np.int64)
        digits[fast], decimals[fast] = mantissa[proven], places[proven]
    whole = digits // POWERS[decimals]
    fraction_width = max(1, int(decimals.max()))
    fraction = (digits - whole * POWERS[decimals]) * POWERS[fraction_width - decimals]
    whole_width = max(1, int(np.searchsorted(POWERS[:17], whole.max(), side="right")))
    sign = int(bool((values[fast] < 0).any()))
    point = sign + whole_width
    end_width = max(map(len, ends))
    grid = np.empty((len(values), point + 1 + fraction_width + end_width), np.uint8)
    grid[:, 0] = ord("-")
    grid[:, point] = ord(".")
    for number, last, first in ((whole, point - 1, sign),
                                (fraction, point + fraction_width, point + 1)):
        for column in range(last, first - 1, -1):  # the digits from the last
            number, digit = np.divmod(number, np.uint64(10))
            np.add(digit, ord("0"), out=grid[:, column], casting="unsafe")
    ending = np.zeros((width, end_width), np.uint8)
    for j, end in enumerate(ends):
        ending[j, :len(end)] = np.frombuffer(end, np.uint8)
    grid[:, grid.shape[1] - end_width:] = np.tile(ending, (len(values) // width, 1))
    columns = np.arange(grid.shape[1], dtype=np.int8)  # int8 bounds: small, quick grids
    lead = np.full(len(values), point - 1, dtype=np.int8)  # each value's first digit
    for power in POWERS[1:whole_width].tolist():
        lead -= whole >= power
    keep = (columns >= lead[:, np.newaxis]) & \
        (columns <= (point + np.maximum(decimals, 1)).astype(np.int8)[:, np.newaxis])
    keep[:, grid.shape[1] - end_width:] = np.tile(
        np.arange(end_width) < np.array([len(end) for end in ends])[:, np.newaxis],
        (len(values) // width, 1))
    if sign:
        keep[:, 0] = values < 0
    text = np.compress(keep.reshape(-1), grid.reshape(-1)).tobytes()
    python = np.ones(len(values), dtype=bool)
    python[fast] = False
    left = np.flatnonzero(python)
    if len(left):  # Python's text spliced in where numpy left values
        stops = np.cumsum(keep.sum(axis=1))  # where each value's text ends
        python_text = format_json_number if json else format_float
        parts, done = [], 0
        for i in left.tolist():
            start = int(stops[i - 1]) if i else 0
            parts += [text[done:start],
                      (python_text(values[i]) + ends[i % width].decode()).encode()]
            done = int(stops[i])
        text = b"".join([*parts, text[done:]])
    return opening + text[:len(text) - len(between + opening)].decode("ascii")


def room_for_arrow() -> bool:
    """Whether pyarrow is installed and the run fits under `PEAK_MEMORY` with its formatter,
    from what the process holds now (not beside pyarrow's readers, Parquet or CSV). Linux only:
    elsewhere the resident memory is not known cheaply, and Python formats."""
    from importlib.util import find_spec

    try:
        with open("/proc/self/statm") as stats:
            resident = int(stats.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return False
    return resident + ARROW_MEMORY <= PEAK_MEMORY and find_spec("pyarrow") is not None


def arrow_rows(losses: FloatArray, separator: str, between: str, json: bool) -> str:
    """`joined_rows` by pyarrow, several times faster than `repr` a value. Its shortest
    round-trip digits are Python's, but not its layout: integers lack Python's `.0` (added
    here), and outside [1e-4, 1e10) its exponents differ, so those values (and inf, nan)
    are formatted by Python."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pool = pa.system_memory_pool()  # gives memory back as soon as a block is written
    values = np.ascontiguousarray(losses, np.float64).reshape(-1)  # float32 widened exactly
    size = np.abs(values)
    plain = (size < 1e10) & ((size >= 1e-4) | (values == 0))
    text = pc.cast(pa.array(values), pa.string(), memory_pool=pool)
    if not plain.all():
        odd = values[~plain].tolist()
        text = pc.replace_with_mask(text, pa.array(~plain), pa.array(
            list(map(format_json_number if json else format_float, odd)), pa.string()),
            memory_pool=pool)
    whole = plain & (values == np.trunc(values, where=plain, out=np.zeros_like(values)))
    if whole.any():
        text = pc.binary_join_element_wise(text, pc.if_else(pa.array(whole), ".0", ""), "",
                                           memory_pool=pool)
    width = 1 if losses.ndim == 1 else losses.shape[1]
    if width > 1:
        text = pc.binary_join(lists(text, width), separator, memory_pool=pool)
    opening, closing = ("[", "]") if json and losses.ndim == 2 else ("", "")
    rows: str = pc.binary_join(lists(text, len(text)), closing + between + opening,
                               memory_pool=pool)[0].as_py()
    return opening + rows + closing


def lists(items: Any, width: int) -> Any:
    """A pyarrow array as lists of `width` items (a ListArray), to join each."""
    import pyarrow as pa

    return pa.ListArray.from_arrays(pa.array(np.arange(0, len(items) + 1, width, dtype=np.int32)),
                                    items)


class Output:
    """Writes one result in one format, chosen by `choose`."""

    def __init__(self, fmt: Format, out: TextIO):
        self.fmt = fmt
        self.out = out
        self.preview: list[str] = []
        self.held: list[str] | None = []  # None once streaming has begun
        self.held_bytes = 0
        self.rows_seen = 0
        self.arrow: bool | None = None  # whether pyarrow formats the rows, once decided

    @classmethod
    def choose(cls, fmt: Format, json_: bool, out: TextIO, *, terminal: bool) -> Output:
        """The one place the output format is chosen (`terminal`: whether `out` is one)."""
        if json_:
            if fmt not in (Format.AUTO, Format.JSON):
                raise UsageError(f"use just one of --json and --format {fmt.value}")
            fmt = Format.JSON
        elif fmt is Format.AUTO:
            fmt = Format.TABLE if terminal else Format.JSON
        return cls(fmt, out)

    def unreduced(self, reduction: Reduction) -> Callable[[FloatArray], None]:
        """What takes each block's per-element losses for `-r none` or `-r rows`: `rows`,
        after `-r rows` took each row's mean over classes."""
        return lambda losses: self.rows(unreduced(losses, reduction))

    def rows(self, losses: FloatArray) -> None:
        """Per-element losses of one block, in input order."""
        if not len(losses):
            return
        if self.arrow is None and self.rows_seen + len(losses) > ARROW_AFTER:
            self.arrow = room_for_arrow()  # once, as the rows first pass ARROW_AFTER
        arrow = bool(self.arrow)
        if self.fmt is Format.TABLE:
            room = PREVIEW_ROWS - len(self.preview)
            self.preview += format_lines(losses[:room], "  ")
        elif self.fmt is Format.JSON:
            self.write_rows((", " if self.rows_seen else '{"loss": [') +
                            joined_rows(losses, ", ", ", ", json=True, arrow=arrow))
        else:
            lines = joined_rows(losses, "\t" if self.fmt is Format.PLAIN else ",", "\n",
                                arrow=arrow)
            if self.fmt is Format.CSV and not self.rows_seen:
                width = 1 if losses.ndim == 1 else losses.shape[1]
                lines = ("loss" if width == 1 else
                         ",".join(f"loss_{j}" for j in range(width))) + "\n" + lines
            self.write_rows(lines + "\n")
        self.rows_seen += len(losses)

    def write_rows(self, text: str) -> None:
        """A block's text: held back while the held text is under `STREAM_AFTER`."""
        if self.held is None:
            self.out.write(text)
            return
        self.held.append(text)
        self.held_bytes += len(text)
        if self.held_bytes > STREAM_AFTER:
            self.out.writelines(self.held)
            self.held = None

    def finish(self, result: Result) -> None:
        """Write the result (for `-r none` and `-r rows`, what remains after the rows)."""
        if self.held:
            self.out.writelines(self.held)
        if self.fmt is Format.JSON:
            self.out.write(("], " + result.json_fields() if result.loss is None else
                            result.json_object()) + "\n")
        elif self.fmt is Format.PLAIN and result.loss is not None:
            self.out.write(format_float(result.loss) + "\n")
        elif self.fmt is Format.CSV and result.loss is not None:
            self.out.write("loss,reduction,count,dtype,from_logits\n")
            self.out.write(f"{format_float(result.loss)},{result.reduction},{result.count},"
                           f"{result.dtype},{str(result.from_logits).lower()}\n")
        elif self.fmt is Format.TABLE:
            table(result, self.out, self.preview, self.rows_seen)

    def unprinted(self, result: Result) -> str | None:
        """The stderr note naming what `-f plain` and `-f csv` leave out (they print the
        loss only, so scripts can read it): diagnostics asked for, and the per-class losses
        of multi-label input. Nothing is left out silently."""
        left_out = [name for key, name in DIAGNOSTICS.items() if key in result.extra]
        if self.fmt not in (Format.PLAIN, Format.CSV) or not left_out:
            return None
        names = ", ".join(left_out[:-1]) + " and " + left_out[-1] if left_out[1:] else left_out[0]
        losses = "loss" if result.loss is not None else "losses"
        return (f"bce: note: -f {self.fmt} prints the {losses} only: see -f json or -f table "
                f"for {names}")

    def comparison(self, rows: list[ComparisonRow], *, count: int, shape: tuple[int, ...],
                   from_logits: bool, sources: dict[str, Any]) -> None:
        """`bce compare`: one row per convention, with what sets it apart."""
        if self.fmt is Format.JSON:
            self.out.write(json_text(comparison_fields(
                rows, count=count, shape=shape, from_logits=from_logits, sources=sources))
                + "\n")
        elif self.fmt is Format.PLAIN:
            self.out.writelines(f"{r.convention}\t{shown_loss(r.loss, 'refused')}\n" for r in rows)
        elif self.fmt is Format.CSV:
            import csv

            writer = csv.writer(self.out, lineterminator="\n")
            writer.writerow(["convention", "loss", "reduction", "dtype", "differs"])
            writer.writerows([r.convention, shown_loss(r.loss, ""), r.reduction, r.dtype,
                              r.differs] for r in rows)
        else:
            print_whole(self.out, [rich_table(
                f"Binary cross-entropy of {count} values, {len(rows)} ways",
                ("Convention", "Loss", "Reduction", "dtype", "What differs"),
                [[r.name, shown_loss(r.loss, "—"), r.reduction, r.dtype, r.differs]
                 for r in rows])])


    def diff(self, fields: dict[str, Any], gates: list[Gate]) -> None:
        """`bce diff`: the keys `diff.Diff.result` made, then what was read. `-f plain`
        prints Δ alone, `-f csv` one row of the numbers."""
        if self.fmt is Format.JSON:
            self.out.write(json_text(fields) + "\n")
        elif self.fmt is Format.PLAIN:
            self.out.write(format_json_number(fields["delta"]) + "\n")
        elif self.fmt is Format.CSV:
            keys = ("loss_a", "loss_b", "delta", "delta_low", "delta_high", "better", "worse",
                    "rows")
            low, high = fields["delta_ci95"] or ("", "")
            values = [fields["loss_a"], fields["loss_b"], fields["delta"], low, high,
                      fields["better"], fields["worse"], fields["rows"]]
            self.out.write(",".join(keys) + "\n" + ",".join(
                format_json_number(v) if isinstance(v, float) else str(v) for v in values)
                + "\n")
        else:
            print_whole(self.out, diff_tables(fields, gates))


def comparison_fields(rows: list[ComparisonRow], *, count: int, shape: tuple[int, ...],
                      from_logits: bool, sources: dict[str, Any]) -> dict[str, Any]:
    """`bce compare`'s JSON keys: the losses, each convention's details, what was read."""
    return {"losses": {r.convention: r.loss for r in rows},
            "conventions": {r.convention: {"loss": r.loss, "reduction": r.reduction,
                                           "dtype": r.dtype, "differs": r.differs,
                                           "per_class_mean": r.per_class_mean} for r in rows},
            "count": count, "shape": list(shape), "from_logits": from_logits, **sources}


def diff_tables(fields: dict[str, Any], gates: list[Gate]) -> list[Any]:
    """`bce diff` for people: the two losses, Δ and its interval, the shares of rows, then
    what was read; per class for multi-label input."""
    from rich.text import Text

    def number(value: float | None) -> str:
        return "undefined" if value is None else format_float(value)

    def interval(value: list[float] | None) -> str:
        return "undefined" if value is None else f"[{number(value[0])}, {number(value[1])}]"

    rows = fields["rows"]
    rows_shown = [
        ["Loss A", number(fields["loss_a"])], ["Loss B", number(fields["loss_b"])],
        ["Δ = B − A", number(fields["delta"])], ["Δ 95% CI", interval(fields["delta_ci95"])],
        ["B better", f"{fields['better']:.2%} ({fields['better_rows']} of {rows} rows)"],
        ["B worse", f"{fields['worse']:.2%} ({fields['worse_rows']} of {rows} rows)"],
        ["Reduction", fields["reduction"]], ["Count", str(fields["count"])],
        ["Input", "logits (sigmoid applied)" if fields["from_logits"] else "probabilities"],
        ["dtype", fields["dtype"]], ["A", fields["predictions"]],
        ["B", fields["predictions_b"]], ["Targets", fields["targets"]]]
    if fields["weights"]:
        rows_shown.append(["Weights", fields["weights"]])
    if fields["skipped"]:
        rows_shown.append(["Skipped", str(fields["skipped"])])
    tables = [rich_table("Binary cross-entropy, B against A", ("", "Value"), rows_shown,
                         header=False)]
    for gate in gates:
        tables[0].add_row("Check", Text.assemble(("✓ ", "green") if gate.held else
                                                 ("✗ ", "red"), gate_text(gate)))
    if "per_class" in fields:
        per_class = rich_table("Per class", ("Class", "Loss A", "Loss B", "Δ", "Δ 95% CI"), [
            [item["class"], short(item["loss_a"]), short(item["loss_b"]), short(item["delta"]),
             "undefined" if item["delta_ci95"] is None else
             f"[{short(item['delta_ci95'][0])}, {short(item['delta_ci95'][1])}]"]
            for item in fields["per_class"]])
        per_class.caption = "6 significant digits (-f json has them all)"
        per_class.caption_justify = "left"
        tables.append(per_class)
    if "slices" in fields:
        tables.append(slices_table(fields["slices"], ("Loss A", "Loss B", "Δ"), lambda item: [
            short(item["loss_a"]), short(item["loss_b"]), short(item["delta"])]))
    return tables


def short(value: float | None) -> str:
    """A number in a table of several a row: 6 significant digits hold 80 columns."""
    return "undefined" if value is None else f"{value:.6g}"


def slice_name(item: dict[str, Any]) -> str:
    """A slice as tables and reports name it: its values (`DE, phone`; null as `null`), or
    `(other: 12 slices)`."""
    if item["by"] is None:
        return f"(other: {item['slices']} slices)"
    return ", ".join("null" if v is None else v if isinstance(v, str) else json_text(v)
                     for v in item["by"].values())


def slices_table(slices: list[dict[str, Any]], columns: tuple[str, ...],
                 numbers: Callable[[dict[str, Any]], list[str]]) -> Any:
    """The worst `SLICES_SHOWN` slices (`--by`), `(other)` after them, and how many there
    are: a row each, the slice's values, its rows and `numbers`."""
    listed = [item for item in slices if item["by"] is not None]
    shown = listed[:SLICES_SHOWN] + [item for item in slices if item["by"] is None]
    table = rich_table("Slices, worst first", ("Slice", "Rows", *columns), [
        [slice_name(item), str(item["rows"]), *numbers(item)] for item in shown])
    total = len(listed) + sum(item["slices"] for item in slices if item["by"] is None)
    worst = f"; the worst {SLICES_SHOWN} shown" if len(listed) > SLICES_SHOWN else ""
    table.caption = f"{total} slices{worst}"
    table.caption_justify = "left"
    return table


def shown_loss(loss: float | None, refused: str) -> str:
    """A comparison's loss as text, or what stands for a convention that refused the input."""
    return refused if loss is None else format_float(loss)


def print_whole(out: TextIO, renderables: Sequence[Any]) -> None:
    """Rich output rendered in full, then written at once: a renderable that fails leaves
    stdout empty, and a failed write is bce's to report (Rich would exit 1 on a closed
    pipe). Text is never read as markup (`[red]`) or emoji codes (`:x:`)."""
    from rich.console import Console

    console = Console(file=out, highlight=False, markup=False, emoji=False)
    with console.capture() as captured:
        for renderable in renderables:
            console.print(renderable)
    out.write(captured.get())


def table(result: Result, out: TextIO, preview: list[str], rows: int) -> None:
    """A Rich table for people: the loss first, then what it was computed from."""
    from rich.table import Table
    from rich.text import Text

    grid = Table(title="Binary cross-entropy", show_header=False, title_justify="left")
    grid.add_column(style="bold")
    grid.add_column()
    if result.loss is None:
        more = f"\n… {rows - len(preview)} more rows (use -f csv for all)" \
            if rows > len(preview) else ""
        grid.add_row("Losses", "\n".join(preview) + more)
    else:
        grid.add_row("Loss", format_float(result.loss))
    grid.add_row("Reduction", result.reduction)
    grid.add_row("Count", str(result.count))
    grid.add_row("Shape", " × ".join(map(str, result.shape)))
    grid.add_row("Input", "logits (sigmoid applied)" if result.from_logits else "probabilities")
    grid.add_row("dtype", result.dtype)
    for key, value in {**result.sources, **result.settings}.items():
        if key == "columns":
            if any(fed not in (0, None) for fed in value.values()):  # not one-column files
                grid.add_row("Columns", ", ".join(f"{role} ← {column_text(fed)}"
                                                  for role, fed in value.items()
                                                  if fed is not None))
        elif key == "unused_columns":
            for source, names in value.items():
                grid.add_row("Not used", f"{source}: {', '.join(map(repr, names))}")
        elif key == "id_col":  # --id-col: how many rows it joined
            by = "pandas' index" if value == "" else column_text(value)
            grid.add_row("Joined", f"{result.sources['joined']} rows by {by}")
        elif key == "labels":  # --pos-label: which label became 1, which 0
            grid.add_row("Labels", ", ".join(f"{text!r} → {number}" for number, text
                                             in value.items() if text is not None))
        elif value not in (None, 0.0, 0) and key != "joined":  # only what was given
            grid.add_row(key.replace("_", " ").capitalize(), str(value))
    for gate in result.gates:
        grid.add_row("Check", Text.assemble(("✓", "green") if gate.held else ("✗", "red"),
                                            f" {gate_text(gate)}"))
    print_whole(out, [grid, *diagnostic_tables(result.extra)])


def gate_text(gate: Gate) -> str:
    """A gate's row: what was checked (and which option asked, if not --check), on what."""
    asked = "" if gate.option == "--check" else f" ({gate.option})"
    value = "undefined" if gate.value is None else format_float(gate.value)
    bounds = "" if gate.bounds is None else \
        f", certified bounds {format_float(gate.bounds[0])} – {format_float(gate.bounds[1])}"
    return f"{gate.expression}{asked}: {value}{bounds}"


def column_text(fed: str | int | list[str | int]) -> str:
    """How the table names the column(s) that fed a role: 'p', column 0, or a list."""
    if isinstance(fed, list):
        return "[" + ", ".join(column_text(one) for one in fed) + "]"
    return repr(fed) if isinstance(fed, str) else f"column {fed}"


def rich_table(title: str, columns: tuple[str, ...],
               rows: Sequence[Sequence[str | Location | Bar]],
               header: bool = True) -> Any:
    """A titled Rich table of text rows; every extra table bce prints is one of these.
    Columns of numbers are never wrapped or cut (no digit lost): others give way."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=header)
    for column in columns:
        table.add_column(column, no_wrap=column in NUMBER_COLUMNS)
    for row in rows:
        table.add_row(*row)
    return table


class Location:
    """A `file:line` (or `file[index]`) cell that keeps its line in a narrow table: the
    path gives way, cut from the left (`…ata/d.csv:12`), never the `:12`."""

    def __init__(self, where: str) -> None:
        self.where = where
        found = re.search(LOCATOR, where)
        self.path, self.locator = (where[:found.start()], found.group()) if found else (where, "")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        from rich.cells import cell_len
        from rich.measure import Measurement

        return Measurement(cell_len(self.shortened(1)), cell_len(self.where))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        from rich.text import Text

        yield Text(self.shortened(options.max_width))

    def shortened(self, width: int) -> str:
        """The location in `width` cells if it can be, else its shortest form (`…:12`)."""
        from rich.cells import cell_len

        path = self.path
        if cell_len(path + self.locator) <= width:
            return path + self.locator
        while path and cell_len("…" + path + self.locator) > width:
            path = path[1:]
        return "…" + path + self.locator


def diagnostic_tables(extra: dict[str, Any]) -> list[Any]:
    """Rich tables for --top, the per-class losses, --metrics and --hist."""
    tables = []
    if "top" in extra:
        top = extra["top"]
        table = rich_table("Highest losses", ("Where", "Prediction", "Target", "Loss"), [
            [Location(item["where"]), str(item["prediction"]), str(item["target"]),
             format_float(item["loss"])] for item in top[:TOP_SHOWN]])
        if len(top) > TOP_SHOWN:  # a table of thousands of rows is for no one to read
            table.caption = f"… {len(top) - TOP_SHOWN} more (use -f json for all)"
            table.caption_justify = "left"
        tables.append(table)
    if "per_class" in extra:
        tables.append(rich_table("Per class", ("Class", "Loss", "Count", "Positives"), [
            [item["class"], format_float(item["loss"]), str(item["count"]), str(item["positives"])]
            for item in extra["per_class"]]))
    if "metrics" in extra:
        tables += metric_tables(extra["metrics"])
    if "histogram" in extra:
        tables.append(histogram(extra["histogram"]))
    if "slices" in extra:
        metrics = ("NE", "Calibration", "AUC") if "metrics" in extra else ()
        tables.append(slices_table(extra["slices"], ("Loss", *metrics), lambda item: [
            short(item["loss"]), *([short(item["normalized_entropy"]),
                                    short(item["calibration"]), short(item["roc_auc"])]
                                   if metrics else [])]))
    return tables


class Bar:
    """A horizontal bar for a share in [0, 1] of its column's width: as wide as `most`
    cells where the terminal has room, narrower where it has not, never wrapped (every
    bar of a column is drawn to the same scale). `least`: a bar of any share shows."""

    def __init__(self, share: float, most: int, least: int = 0) -> None:
        self.share, self.most, self.least = share, most, least

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        from rich.measure import Measurement

        return Measurement(min(4, self.most), self.most)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        from rich.text import Text

        width = min(options.max_width, self.most)
        yield Text("█" * max(self.least, round(width * self.share)), no_wrap=True)


def histogram(data: dict[str, Any]) -> Any:
    """Per-sample losses as horizontal bars, one row per bin with any samples."""
    edges, counts = data["edges"], data["counts"]
    most = max(counts) or 1
    return rich_table("Per-sample losses", ("Losses", "Bar", "Count"), [
        [f"[{low:g}, {high:g})", Bar(count / most, 40, least=1), str(count)]
        for low, high, count in zip(edges, edges[1:], counts, strict=False) if count],
        header=False)


def metric_tables(metrics: dict[str, Any]) -> list[Any]:
    """--metrics as two tables: each number (an interval as `low – high`), then the
    reliability bins, each with a bar as long as its mean label."""
    def shown(value: Any) -> str:
        if value is None:
            return "undefined"
        if isinstance(value, list):
            return " – ".join(shown(v) for v in value)
        return value if isinstance(value, str) else format_float(value)

    rows = [[key.replace("_", " "), shown(value)] for key, value in metrics.items()
            if key not in ("calibration_bins", "bootstrap", "roc_curve", "pr_curve")]
    if "bootstrap" in metrics:
        rows += [[f"{key.removesuffix('_ci95').replace('_', ' ')} ci95 (bootstrap)", shown(value)]
                 for key, value in metrics["bootstrap"].items() if key.endswith("_ci95")]
    bins = [[f"[{b['lower']:.3g}, {b['upper']:.3g}{']' if b['upper'] == 1 else ')'}",
             str(b["count"]), rounded(b["mean_prediction"]), rounded(b["mean_label"]),
             "" if b["label_ci95"] is None else "–".join(map(rounded, b["label_ci95"])),
             "" if b["mean_label"] is None else Bar(b["mean_label"], BAR)]
            for b in metrics["calibration_bins"] if b["count"]]
    return [rich_table("Metrics", ("Metric", "Value"), rows, header=False),
            rich_table(f"Reliability ({metrics['binning']})",
                       ("Bin", "Count", "Mean p", "Mean y", "95% CI (y)", "Bar (mean y)"), bins)]


def rounded(value: float | None) -> str:
    """A mean in the reliability table: four decimals (the JSON has every digit)."""
    return "" if value is None else f"{value:.4f}"
