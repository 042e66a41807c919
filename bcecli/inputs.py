"""Which input holds what: the reader and columns behind each role.

`gather` opens the inputs and decides which reader and columns feed the
predictions, targets and weights: a JSON object carries its own arrays; one
table of two columns is (prediction, target); otherwise the column options
pick. Widths are checked here; row counts only as the rows stream
(`pipeline`).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO

from bcecli.errors import InputError, UsageError, plural
from bcecli.readers import STDIN, Reader, ReadHook, open_input, read_input


@dataclass(frozen=True)
class Role:
    """Where one role's values come from: a reader and some of its columns."""

    name: str  # predictions, targets or weights
    reader: Reader
    columns: tuple[int, ...]
    flat: bool  # one column read as N values rather than N×1

    @property
    def column_names(self) -> tuple[str, ...]:
        """A name for each column: the header's, else the 0-based index."""
        names = self.reader.names
        return tuple(names[c] if names else str(c) for c in self.columns)

    @property
    def shape(self) -> str:
        return "(N,)" if self.flat else f"(N, {len(self.columns)})"

    def in_column(self, index: tuple[int, ...]) -> str:
        """` in column 'p'` where the file has more than this one column, else ''."""
        if self.reader.width == 1 and self.reader.names is None:
            return ""
        column = self.columns[index[1] if len(index) > 1 else 0]
        return f" in column {self.reader.column_label(column)}"


@dataclass(frozen=True)
class Plan:
    predictions: Role
    targets: Role
    weights: Role | None

    @property
    def classes(self) -> int:
        return 1 if self.predictions.flat else len(self.predictions.columns)

    @property
    def roles(self) -> list[Role]:
        return [self.predictions, self.targets] + ([self.weights] if self.weights else [])


def gather(
    predictions: str,
    targets: str | None = None,
    *,
    weights: str | None = None,
    pred_col: str | None = None,
    target_col: str | None = None,
    weight_col: str | None = None,
    header: bool | None = None,
    input_format: str | None = None,
    stdin: IO[bytes] | None = None,
    on_read: ReadHook | None = None,
    resources: ExitStack,
) -> Plan:
    """Open every input once and decide which columns feed which role; widths are checked.

    The files stay open, registered with `resources`, until the rows are read.
    """
    paths = [p for p in (predictions, targets, weights) if p is not None]
    if paths.count(STDIN) > 1:
        raise UsageError("only one input can be read from stdin ('-')")

    def open_any(path: str) -> Reader | dict[str, Reader]:
        detected = open_input(path, resources, input_format=input_format, stdin=stdin)
        return read_input(detected, resources, header=header, on_read=on_read)

    def open_table(path: str) -> Reader:
        """TARGETS or --weights: a table, not a JSON object with arrays of its own."""
        data = open_any(path)
        if isinstance(data, dict):
            raise UsageError(f"{path} is a JSON object with its own predictions: pass it alone, "
                             "as PREDICTIONS")
        return data

    def weights_file(path: str) -> Role:
        return column_role("weights", open_table(path), weight_col, "--weight-col")

    first = open_any(predictions)
    if isinstance(first, dict):
        if targets is not None:
            raise UsageError(f"{predictions} holds predictions and targets: pass no TARGETS file")
        if pred_col is not None or target_col is not None:
            raise UsageError("--pred-col and --target-col do not apply to a JSON object input")
        if "targets" not in first:
            raise InputError("the JSON object has no 'targets' key", where=predictions)
        weight_role = None
        if "weights" in first:
            if weights is not None:
                raise UsageError(f"{predictions} has its own weights: do not also pass --weights")
            weight_role = column_role("weights", first["weights"], None, "")
        elif weights is not None:
            weight_role = weights_file(weights)
        elif weight_col is not None:
            raise UsageError("--weight-col needs --weights or a table input")
        return checked(Plan(column_role("predictions", first["predictions"], None, ""),
                            column_role("targets", first["targets"], None, ""), weight_role))
    pred_spec: str | int | None = pred_col
    target_spec: str | int | None = target_col
    if targets is None:
        target_table = first
        if pred_col is None and target_col is None:
            if first.width != 2:
                raise UsageError(
                    f"{first.source} has {plural(first.width, 'column')}: pass a TARGETS file, "
                    "or name the columns with --pred-col and --target-col")
            pred_spec, target_spec = 0, 1
        elif pred_col is None or target_col is None:
            raise UsageError("with a single input file, pass both --pred-col and --target-col")
    else:
        target_table = open_table(targets)
    weight_role = None
    if weights is not None:
        weight_role = weights_file(weights)
    elif weight_col is not None:
        weight_role = column_role("weights", first, weight_col, "--weight-col")
    return checked(Plan(column_role("predictions", first, pred_spec, "--pred-col"),
                        column_role("targets", target_table, target_spec, "--target-col"),
                        weight_role))


def column_role(name: str, reader: Reader, spec: str | int | None, option: str) -> Role:
    """The role fed by the columns `spec` names (a name, a 0-based index or a comma list),
    or by all of them."""
    if spec is None:
        flat = reader.width == 1 and not reader.nested
        return Role(name, reader, tuple(range(reader.width)), flat)
    if isinstance(spec, int):
        return Role(name, reader, (spec,), True)
    columns = tuple(reader.column_index(part.strip(), option) for part in spec.split(","))
    return Role(name, reader, columns, "," not in spec)


def checked(plan: Plan) -> Plan:
    """Targets must have the predictions' shape; weights one column or one per class."""
    p, t, w = plan.predictions, plan.targets, plan.weights
    if p.shape != t.shape:
        raise InputError(f"targets have shape {t.shape} but predictions have shape {p.shape}",
                         where=t.reader.source)
    if w is not None and len(w.columns) not in (1, plan.classes):
        raise InputError(f"weights have shape {w.shape}: expected one value a row or one a "
                         f"class, {p.shape}", where=w.reader.source)
    return plan
