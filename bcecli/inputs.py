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

from bcecli.columns import both_roles, data_columns, named, role_of
from bcecli.errors import InputError, UsageError
from bcecli.readers import STDIN, Reader, ReadHook, open_input, read_input, settle_headers

ColumnLabel = str | int  # a header name, or a position where there is no header


@dataclass
class Role:
    """Where one role's values come from: a reader and some of its columns."""

    name: str  # predictions, targets or weights
    reader: Reader
    columns: tuple[int, ...]
    flat: bool  # one column read as N values rather than N×1
    key: str | None = None  # the member of a JSON object that held the values

    @property
    def columns_fed(self) -> ColumnLabel | list[ColumnLabel]:
        """The header name of each column (its 0-based position without a header, the
        key of a JSON object's array); one column read as N values is not a list."""
        if self.key is not None:
            return self.key
        names = self.reader.names
        labels = [names[c] if names else c for c in self.columns]
        return labels[0] if self.flat else labels

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


@dataclass
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

    def columns(self) -> dict[str, ColumnLabel | list[ColumnLabel] | None]:
        """Which column fed which role, as the output reports it."""
        return {"predictions": self.predictions.columns_fed,
                "targets": self.targets.columns_fed,
                "weights": self.weights.columns_fed if self.weights else None}

    def unused_columns(self) -> dict[str, list[ColumnLabel]]:
        """Per input, the named columns no role reads (pandas' index, an id, …)."""
        unused: dict[str, list[ColumnLabel]] = {}
        for reader in dict.fromkeys(role.reader for role in self.roles):
            used = {c for role in self.roles if role.reader is reader for c in role.columns}
            if reader.names is not None and len(used) < reader.width:
                unused[reader.source] = [reader.names[c] for c in range(reader.width)
                                         if c not in used]
        return unused


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
            weight_role = make_role("weights", first["weights"], None, key=True)
        elif weights is not None:
            weight_table = open_table(weights)
            settle_headers([weight_table])
            weight_role = column_role("weights", weight_table, weight_col, "--weight-col")
        elif weight_col is not None:
            raise UsageError("--weight-col needs --weights or a table input")
        return checked(Plan(make_role("predictions", first["predictions"], None, key=True),
                            make_role("targets", first["targets"], None, key=True), weight_role))
    target_table = first if targets is None else open_table(targets)
    weight_table = first if weights is None else open_table(weights)
    settle_headers(list(dict.fromkeys([first, target_table, weight_table])))
    pred = None if pred_col is None else column_spec(first, pred_col, "--pred-col")
    if targets is None:
        target = None if target_col is None else column_spec(first, target_col, "--target-col")
        pred, target = both_roles(first, pred, target)
    else:
        if pred is None and target_col is None:
            refuse_swapped(first, target_table)
        if pred is None:
            pred = named(first, "predictions")
        target = column_spec(target_table, target_col, "--target-col") if target_col else \
            named(target_table, "targets")
        if pred is None and target is None:
            target = same_classes(first, target_table)
    weight_role = None
    if weights is not None or weight_col is not None:
        weight_role = column_role("weights", weight_table, weight_col, "--weight-col")
    return checked(Plan(make_role("predictions", first, pred),
                        make_role("targets", target_table, target), weight_role))


Columns = int | list[int]  # an int: one column read as N values; a list: N×C


def refuse_swapped(predictions: Reader, targets: Reader) -> None:
    """PREDICTIONS whose columns are named only as targets, and TARGETS named only as
    predictions: the files were given the wrong way round."""
    def roles(reader: Reader) -> set[str | None]:
        return {role_of(reader, i) for i in data_columns(reader)} - {None, "weights"}

    if roles(predictions) == {"targets"} and roles(targets) == {"predictions"}:
        raise UsageError(f"{predictions.source} has target columns and {targets.source} "
                         "prediction columns: the files look swapped",
                         hint="pass PREDICTIONS first, then TARGETS")


def same_classes(predictions: Reader, targets: Reader) -> Columns | None:
    """TARGETS' columns in the order of PREDICTIONS' where both name the same classes in
    another order (multi-label); None to take them as they stand."""
    if predictions.names is None or targets.names is None:
        return None
    ours = [predictions.names[i] for i in data_columns(predictions)]
    theirs = {targets.names[i]: i for i in data_columns(targets)}
    if len(ours) < 2 or sorted(ours) != sorted(theirs) or len(theirs) != len(ours):
        return None
    return [theirs[name] for name in ours]


def column_spec(reader: Reader, spec: str, option: str) -> Columns:
    """The columns an option names: a header name or 0-based index, or a comma list."""
    columns = [reader.column_index(part.strip(), option) for part in spec.split(",")]
    return columns if "," in spec else columns[0]


def column_role(name: str, reader: Reader, spec: str | None, option: str) -> Role:
    """The role fed by the columns an option names, or by every data column."""
    return make_role(name, reader, None if spec is None else column_spec(reader, spec, option))


def make_role(name: str, reader: Reader, columns: Columns | None, *, key: bool = False
              ) -> Role:
    """A role fed by these columns, or by every column but pandas' index; with `key`,
    by the JSON object member of the role's name."""
    if isinstance(columns, int):
        return Role(name, reader, (columns,), True)
    if columns is None:
        columns = data_columns(reader)
        if not columns:
            raise InputError("has no columns but pandas' index", where=reader.source)
        flat = len(columns) == 1 and not reader.nested
        return Role(name, reader, tuple(columns), flat, name if key else None)
    return Role(name, reader, tuple(columns), False)


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
