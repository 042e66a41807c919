"""Which input holds what: the reader and columns behind each role.

`gather` opens the inputs and decides which reader and columns feed the
predictions, targets and weights: a JSON object carries its own arrays; an
`.npz` file's arrays are picked by name; one table of two columns is
(prediction, target); otherwise the column options pick (`selection`). A list
column (JSON Lines, Parquet) gives a role its C values, one per class. Widths
are checked here; row counts only as the rows stream (`pipeline`). The target
columns get the run's `Labels` (`--pos-label`); with `--id-col`, each input's id
column is found first (no role reads it) and read through one shared `Ids`.
`--by` names the columns rows are sliced by (`find_slices`), read as ids are.
`bce diff` adds a second model's predictions (`SECOND`), found in their input as
the first model's were, and that input's own targets where it holds them
(`SECOND_TARGETS`, checked row by row against the targets as the rows stream).
An input may be many files, a glob pattern or a directory (`sources`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any

from bcecli.columns import both_roles, data_columns, is_index, named, role_of, role_of_name
from bcecli.errors import InputError, UsageError, listed
from bcecli.readers import (
    STDIN,
    Arrays,
    Ids,
    Labels,
    Reader,
    ReadHook,
    open_input,
    read_input,
    settle_headers,
)
from bcecli.selection import Columns, column_index, column_spec

if TYPE_CHECKING:
    from bcecli.sources import RowGroups, Selection

ColumnLabel = str | int  # a header name, or a position where there is no header
SECOND = "B's predictions"  # `bce diff`: the second model's predictions
SECOND_TARGETS = "B's targets"  # and the targets its input holds, if any


@dataclass
class Role:
    """Where one role's values come from: a reader and some of its columns."""

    name: str  # predictions, targets or weights (SECOND, SECOND_TARGETS: `bce diff`)
    reader: Reader
    columns: tuple[int, ...]
    flat: bool  # one column read as N values rather than N×1
    key: str | None = None  # the JSON object's member or the .npz array that held the values

    @property
    def columns_fed(self) -> ColumnLabel | list[ColumnLabel]:
        """The header name of each column (its 0-based position without a header, the
        key of a JSON object's array); one column read as N values, or one list column,
        is not a list."""
        if self.key is not None:
            return self.key
        names = self.reader.names
        labels = [names[c] if names else c for c in self.columns]
        return labels[0] if self.flat or self.one_list is not None else labels

    @property
    def one_list(self) -> int | None:
        """The length of the lists where one list column feeds the role, else None."""
        return self.reader.size(self.columns[0]) if len(self.columns) == 1 else None

    @property
    def values(self) -> list[tuple[int, int | None]]:
        """Each value of a row: its column, and its place in the column's list (None in
        a column of single values)."""
        out: list[tuple[int, int | None]] = []
        for column in self.columns:
            size = self.reader.size(column)
            out.extend([(column, None)] if size is None else [(column, k) for k in range(size)])
        return out

    @property
    def width(self) -> int:
        """Values a row: C for multi-label."""
        return len(self.values)

    @property
    def column_names(self) -> tuple[str, ...]:
        """A name for each class: the header's, else the 0-based index; a list column's
        by their place in the list."""
        if self.one_list is not None:
            return tuple(str(k) for k in range(self.one_list))
        names = self.reader.names
        return tuple((names[c] if names else str(c)) + ("" if k is None else f"[{k}]")
                     for c, k in self.values)

    @property
    def shape(self) -> str:
        return "(N,)" if self.flat else f"(N, {self.width})"

    def in_column(self, index: tuple[int, ...]) -> str:
        """` in column 'p'` (`'probs'[2]` in a list column) where the file has more than
        this one column, else ''."""
        if self.reader.width == 1 and self.reader.names is None:
            return ""
        column, k = self.values[index[1] if len(index) > 1 else 0]
        return f" in column {self.reader.column_label(column)}" + ("" if k is None else f"[{k}]")


@dataclass
class Plan:
    predictions: Role
    targets: Role
    weights: Role | None
    labels: Labels | None = None  # how the target columns read class labels
    id_col: str | None = None  # --id-col: rows are joined by the ids of each input's
    ids: Ids | None = None  # id column, read as codes
    second: Role | None = None  # `bce diff`: model B's predictions
    second_targets: Role | None = None  # and its input's own targets, checked, never used
    by: list[Role] | None = None  # --by: each slice column, a role of one column

    @property
    def classes(self) -> int:
        return 1 if self.predictions.flat else self.predictions.width

    @property
    def roles(self) -> list[Role]:
        """The roles a batch holds, in order."""
        return [self.predictions, self.targets] + ([self.weights] if self.weights else []) \
            + ([self.second] if self.second else [])

    @property
    def read(self) -> list[Role]:
        """Every role whose columns are read: the batch's, and B's own targets."""
        return self.roles + ([self.second_targets] if self.second_targets else [])

    @property
    def readers(self) -> list[Reader]:
        """Each input once, in role order."""
        return list(dict.fromkeys(role.reader for role in self.roles))

    def columns(self) -> dict[str, ColumnLabel | list[ColumnLabel] | None]:
        """Which column fed which role, as the output reports it."""
        fed = {"predictions": self.predictions.columns_fed,
               "targets": self.targets.columns_fed,
               "weights": self.weights.columns_fed if self.weights else None}
        return fed | ({"predictions_b": self.second.columns_fed} if self.second else {})

    def unused_columns(self) -> dict[str, list[ColumnLabel]]:
        """Per input, the named columns no role reads (pandas' index, an id, …)."""
        unused: dict[str, list[ColumnLabel]] = {}
        for reader in self.readers:
            used = {c for role in self.read if role.reader is reader for c in role.columns}
            used |= {reader.id_column} if reader.id_column is not None else set()
            used |= {role.columns[0] for role in self.by or () if role.reader is reader}
            if reader.names is not None and len(used) < reader.width:
                unused[reader.source] = [reader.names[c] for c in range(reader.width)
                                         if c not in used]
        return unused


def gather(
    predictions: str,
    targets: str | None = None,
    *,
    weights: str | None = None,
    second: str | None = None,
    pred_col: str | None = None,
    target_col: str | None = None,
    weight_col: str | None = None,
    header: bool | None = None,
    input_format: str | None = None,
    decimal: str = ".",
    labels: Labels | None = None,
    id_col: str | None = None,
    by: str | None = None,
    column_vectors: bool = False,
    stdin: IO[bytes] | None = None,
    on_read: ReadHook | None = None,
    storage: Mapping[str, Any] | None = None,
    only: Mapping[str, Selection | RowGroups] | None = None,
    resources: ExitStack,
) -> Plan:
    """Open every input once and decide which columns feed which role; widths are checked.

    `column_vectors` (`--like sklearn`) reads an N×1 array against N values as N values,
    as scikit-learn does. `second` is model B's input (`bce diff`); `by` names the slice
    columns (`--by`). An input that is a glob pattern or a directory is its files as one
    table (`sources`); `only` reads some of them (one piece, `parallel`). `storage` holds
    the options of the filesystem of URL inputs (`remote`). The files stay open,
    registered with `resources`, until the rows are read.
    """
    plan = roles(predictions, targets, weights=weights, second=second, pred_col=pred_col,
                 target_col=target_col, weight_col=weight_col, header=header,
                 input_format=input_format, decimal=decimal, id_col=id_col, stdin=stdin,
                 on_read=on_read, only=only or {}, storage=storage, resources=resources)
    checked(plan, column_vectors)
    if by is not None:
        find_slices(plan, by)
    if id_col is not None:
        plan.id_col, plan.ids = id_col, Ids()
        for reader in plan.readers:
            assert reader.id_column is not None
            reader.codecs[reader.id_column] = plan.ids
    if labels is not None:
        plan.labels = labels
        for role in filter(None, (plan.targets, plan.second_targets)):
            for column in role.columns:
                role.reader.codecs[column] = labels
    return plan


def roles(
    predictions: str,
    targets: str | None,
    *,
    weights: str | None,
    second: str | None,
    pred_col: str | None,
    target_col: str | None,
    weight_col: str | None,
    header: bool | None,
    input_format: str | None,
    decimal: str,
    id_col: str | None,
    stdin: IO[bytes] | None,
    on_read: ReadHook | None,
    storage: Mapping[str, Any] | None,
    only: Mapping[str, Selection | RowGroups],
    resources: ExitStack,
) -> Plan:
    """Which reader and columns feed each role (see `gather`)."""
    paths = [p for p in (predictions, targets, weights, second) if p is not None]
    if paths.count(STDIN) > 1:
        raise UsageError("only one input can be read from stdin ('-')")

    def open_one(path: str, resources: ExitStack, size: int | None = None,
                 groups: range | None = None) -> Reader | dict[str, Reader] | Arrays:
        detected = open_input(path, resources, input_format=input_format, stdin=stdin,
                              storage=storage)
        return read_input(detected, resources, header=header, on_read=on_read, decimal=decimal,
                          size=size, groups=groups)

    def open_any(path: str) -> Reader | dict[str, Reader] | Arrays:
        chosen = only.get(path)
        if chosen is None and not is_many(path):
            return open_one(path, resources)
        from bcecli import sources

        if isinstance(chosen, sources.RowGroups):
            return open_one(path, resources, groups=chosen.groups)
        selection = chosen or sources.selected(path, storage)
        return sources.ShardsReader(
            path, selection,
            lambda file, own: sources.table(open_one(file, own, selection.size), file),
            resources)

    def open_table(path: str) -> Reader | Arrays:
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
        if id_col is not None:
            raise UsageError("--id-col joins rows of several files: a JSON object with its "
                             "own targets has nothing to join")
        if "targets" not in first:
            raise InputError("the JSON object has no 'targets' key", where=predictions)
        weight_role = None
        if "weights" in first:
            if weights is not None:
                raise UsageError(f"{predictions} has its own weights: do not also pass --weights")
            weight_role = make_role("weights", first["weights"], None, key="weights")
        elif weights is not None:
            weight_table = open_table(weights)
            if isinstance(weight_table, Reader):
                settle_headers([weight_table])
            weight_role = input_role(weight_table, "weights", weight_col, "--weight-col", True)
        elif weight_col is not None:
            raise UsageError("--weight-col needs --weights or a table input")
        plan = Plan(make_role("predictions", first["predictions"], None, key="predictions"),
                    make_role("targets", first["targets"], None, key="targets"), weight_role)
        if second is not None:
            model_b = open_any(second)
            if isinstance(model_b, Reader):
                settle_headers([model_b])
            plan.second, plan.second_targets = second_roles(model_b, False, pred_col, target_col)
        return plan
    target_table = first if targets is None else open_table(targets)
    weight_table = first if weights is None else open_table(weights)
    other = open_any(second) if second is not None else None
    tables = [first, target_table, weight_table] + ([] if other is None or isinstance(other, dict)
                                                     else [other])
    settle_headers([table for table in dict.fromkeys(tables) if isinstance(table, Reader)])
    if any(path in only or is_many(path) for path in paths):
        from bcecli.sources import pair

        pair([table for table in tables if isinstance(table, Reader)], id_col)
    if id_col is not None:
        if isinstance(other, dict):
            raise UsageError(f"--id-col joins rows of tables: {second} is a JSON object")
        find_ids(id_col, tables)
    if targets is not None and isinstance(first, Reader) and isinstance(target_table, Reader):
        pred_role, target_role = two_tables(first, target_table, pred_col, target_col)
    elif targets is not None:
        pred_role = input_role(first, "predictions", pred_col, "--pred-col", True)
        target_role = input_role(target_table, "targets", target_col, "--target-col", True)
    elif isinstance(first, Arrays):
        pred_role, target_role = array_roles(first, pred_col, target_col)
    else:
        pred = None if pred_col is None else column_spec(first, pred_col, "--pred-col")
        target = None if target_col is None else column_spec(first, target_col, "--target-col")
        pred, target = both_roles(first, pred, target)
        pred_role, target_role = make_role("predictions", first, pred), \
            make_role("targets", first, target)
    weight_role = None
    if weights is not None or weight_col is not None:
        weight_role = input_role(weight_table, "weights", weight_col, "--weight-col",
                                 weights is not None)
    plan = Plan(pred_role, target_role, weight_role)
    if other is not None:
        plan.second, plan.second_targets = second_roles(other, targets is not None, pred_col,
                                                        target_col)
    return plan


def is_many(path: str) -> bool:
    """A glob pattern or a directory (`sources`), told by its name alone: a plain run
    imports nothing for it. A URL is a pattern or a folder ending in `/`
    (`remote.names_many`); a `file://` URL is what its path is."""
    from bcecli import remote

    if remote.is_url(path):
        return remote.names_many(path)
    path = remote.local_path(path) or path
    return path != STDIN and bool(path) and (os.path.isdir(path) or (
        any(c in path for c in "*?[") and not os.path.exists(path)))


def find_slices(plan: Plan, spec: str) -> None:
    """The columns `--by` names (a comma list), each looked up by name in PREDICTIONS'
    table, TARGETS' and the weights' (a name in two of them is ambiguous), a position
    in PREDICTIONS'; read through an `Ids` of its own (text or numbers; missing: NaN)."""
    own = [plan.predictions, plan.targets] + ([plan.weights] if plan.weights else [])
    readers = list(dict.fromkeys(role.reader for role in own))
    if any(role.key is not None for role in own):
        raise UsageError("--by slices the rows of a table by its columns: "
                         f"{plan.predictions.reader.source} has no columns to slice by")
    plan.by = []
    for part in spec.split(","):
        holders = [r for r in readers if r.names is not None and part in r.names]
        if len(holders) > 1:
            raise UsageError(f"--by {part!r}: both {holders[0].source} and "
                             f"{holders[1].source} have a column of that name",
                             hint="slice by a column only one input has")
        reader = holders[0] if holders else readers[0]
        column = column_index(reader, part, "--by")
        used = next((role for role in plan.read + plan.by if role.reader is reader
                     and column in role.columns), None)
        if used is not None or column == reader.id_column:
            what = "the --id-col" if used is None else \
                "a --by column already" if used.name == "slices" else f"the {used.name}"
            raise UsageError(f"--by {part!r}: column {reader.column_label(column)} of "
                             f"{reader.source} is {what}")
        reader.codecs[column] = Ids(what="a slice value")
        plan.by.append(Role("slices", reader, (column,), True))


def second_roles(data: Reader | dict[str, Reader] | Arrays, alone: bool, pred_col: str | None,
                 target_col: str | None) -> tuple[Role, Role | None]:
    """Model B's predictions (`bce diff`), found in its input as model A's were in
    PREDICTIONS, and the targets that input holds, if any: where TARGETS is given
    (`alone`), one column or array named as targets; else the same as A's."""
    def renamed(pair: tuple[Role, Role]) -> tuple[Role, Role]:
        return replace(pair[0], name=SECOND), replace(pair[1], name=SECOND_TARGETS)

    if isinstance(data, dict):
        own = data.get("targets")
        return (make_role(SECOND, data["predictions"], None, key="predictions"),
                None if own is None else make_role(SECOND_TARGETS, own, None, key="targets"))
    if isinstance(data, Arrays):
        if not alone:
            return renamed(array_roles(data, pred_col, target_col))
        names = [name for name in data.names if array_role(name) == "targets"]
        return (make_role(SECOND, *pick_array(data, "predictions", pred_col, "--pred-col", True)),
                make_role(SECOND_TARGETS, data.open(names[0]), None, key=names[0])
                if len(names) == 1 else None)
    if not alone:
        pred = None if pred_col is None else column_spec(data, pred_col, "--pred-col")
        target = None if target_col is None else column_spec(data, target_col, "--target-col")
        pred, target = both_roles(data, pred, target)
        return renamed((make_role("", data, pred), make_role("", data, target)))
    role = input_role(data, SECOND, pred_col, "--pred-col", True) if pred_col is not None else \
        make_role(SECOND, data, named(data, "predictions"))
    found = [i for i in data_columns(data)
             if role_of(data, i) == "targets" and i not in role.columns]
    return role, make_role(SECOND_TARGETS, data, found[0]) if len(found) == 1 else None


def find_ids(spec: str, tables: list[Reader | Arrays]) -> None:
    """Each input's id column (`--id-col`), which no role then reads; pandas' index is
    one name in every file (empty, `Unnamed: 0`, `__index_level_0__`)."""
    readers = list(dict.fromkeys(tables))
    if len(readers) < 2:
        raise UsageError("--id-col joins the rows of PREDICTIONS and TARGETS by id: pass "
                         "a TARGETS file")
    for reader in readers:
        if not isinstance(reader, Reader):
            raise UsageError(f"--id-col: {reader.source} holds arrays, not a table with an "
                             "id column")
        index = next((i for i in range(reader.width) if reader.names is not None
                      and is_index(reader.names[i])), None) if is_index(spec) else None
        reader.id_column = index if index is not None else \
            column_index(reader, spec, "--id-col")


def two_tables(first: Reader, targets: Reader, pred_col: str | None, target_col: str | None
               ) -> tuple[Role, Role]:
    """PREDICTIONS and TARGETS as two tables: the columns options or names pick (files
    given the wrong way round refused; multi-label classes paired by name)."""
    pred = None if pred_col is None else column_spec(first, pred_col, "--pred-col")
    if pred is None and target_col is None:
        refuse_swapped(first, targets)
    if pred is None:
        pred = named(first, "predictions")
    target = column_spec(targets, target_col, "--target-col") if target_col else \
        named(targets, "targets")
    if pred is None and target is None:
        target = same_classes(first, targets)
    return make_role("predictions", first, pred), make_role("targets", targets, target)


def input_role(data: Reader | Arrays, role: str, spec: str | None, option: str, alone: bool
               ) -> Role:
    """A role from an input of its own (`alone`: no other role reads it) or, for weights,
    shared: the columns or array an option names, else those named for the role, else
    every data column (a table) or the one array (an `.npz`)."""
    if isinstance(data, Arrays):
        return make_role(role, *pick_array(data, role, spec, option, alone))
    if spec is not None:
        return make_role(role, data, column_spec(data, spec, option))
    return make_role(role, data, named(data, role) if role != "weights" else None)


def array_roles(arrays: Arrays, pred_col: str | None, target_col: str | None
                ) -> tuple[Role, Role]:
    """Predictions and targets from one `.npz`: the arrays options or names pick; two
    arrays no name claims are (predictions, targets), like a table's two columns."""
    claimed = [name for name in arrays.names if array_role(name) is not None]
    if pred_col is None and target_col is None and not claimed and len(arrays.names) == 2:
        return (make_role("predictions", arrays.open(arrays.names[0]), None,
                          key=arrays.names[0]),
                make_role("targets", arrays.open(arrays.names[1]), None, key=arrays.names[1]))
    pred = pick_array(arrays, "predictions", pred_col, "--pred-col", False)
    target = pick_array(arrays, "targets", target_col, "--target-col", False)
    return make_role("predictions", *pred), make_role("targets", *target)


def array_role(name: str) -> str | None:
    """The role an `.npz` array's name says, as a column's would; features (`X`, `X_test`,
    `x_val`) hold none, whatever their other words."""
    first = re.split(r"[^a-z0-9]+", name.strip().lower())[0]
    return None if first == "x" else role_of_name(name)


def pick_array(arrays: Arrays, role: str, spec: str | None, option: str, alone: bool
               ) -> tuple[Reader, None, str]:
    """The array of an `.npz` that feeds `role`: the one an option names, else the one
    named for the role (`y_pred`, `predictions`, …), else the only one of a file that
    feeds this role alone. Weights are never picked by name alone."""
    names = arrays.names
    if spec is not None:
        if spec not in names:
            raise UsageError(f"{option} {spec!r}: no array of that name in {arrays.source} "
                             f"(arrays: {listed(names)})")
        return arrays.open(spec), None, spec
    found = [n for n in names if role != "weights" and array_role(n) == role]
    if len(found) > 1:
        raise UsageError(f"arrays {' and '.join(map(repr, found))} of {arrays.source} both "
                         f"look like {role}: pass {option} to say which")
    if not found and alone and len(names) == 1:
        found = names
    if not found:
        raise UsageError(f"cannot tell which array of {arrays.source} holds the {role} "
                         f"(arrays: {listed(names)}): pass {option}")
    return arrays.open(found[0]), None, found[0]


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


def make_role(name: str, reader: Reader, columns: Columns | None, key: str | None = None
              ) -> Role:
    """A role fed by these columns, or by every column but pandas' index; `key` names
    the JSON object member or `.npz` array that holds them all. One column of single
    values is read as N values; a list column as N×C."""
    if isinstance(columns, int):
        return Role(name, reader, (columns,), reader.size(columns) is None)
    if columns is None:
        columns = data_columns(reader)
        if not columns:
            raise InputError("has no columns but pandas' index", where=reader.source)
        flat = len(columns) == 1 and not reader.nested and reader.size(columns[0]) is None
        return Role(name, reader, tuple(columns), flat, key)
    return Role(name, reader, tuple(columns), False)


def checked(plan: Plan, column_vectors: bool) -> None:
    """Targets must have the predictions' shape (`column_vectors`: or be N×1 against N);
    weights one column or one per class."""
    p, t, w = plan.predictions, plan.targets, plan.weights
    for role in plan.read:
        if role.reader.id_column in role.columns:
            raise UsageError(f"column {role.reader.column_label(role.reader.id_column)} of "
                             f"{role.reader.source} is the --id-col: it cannot also be the "
                             f"{role.name}")
    vectors = {p.shape, t.shape} == {"(N,)", "(N, 1)"}
    if vectors and column_vectors:
        p.flat = t.flat = True
        for extra in filter(None, (plan.second, plan.second_targets)):
            if extra.shape == "(N, 1)":
                extra.flat = True
    elif p.shape != t.shape:
        hint = None
        if t.flat and p.width == 2:  # predict_proba: a column a class, the positive last
            hint = "predict_proba gives one column a class: pass --pred-col 1 for the " \
                "positive class"
        elif vectors:
            hint = "PyTorch refuses an (N, 1) array against N values; scikit-learn reads it " \
                "as N values: pass --like sklearn to do the same"
        raise InputError(f"targets have shape {t.shape} but predictions have shape {p.shape}",
                         where=t.reader.source, hint=hint)
    for b_role, like in ((plan.second, p), (plan.second_targets, t)):
        if b_role is not None and b_role.shape != like.shape:
            raise InputError(f"{b_role.name} have shape {b_role.shape} but {like.name} have "
                             f"shape {like.shape}", where=b_role.reader.source)
    if w is not None and w.width not in (1, plan.classes):
        raise InputError(f"weights have shape {w.shape}: expected one value a row or one a "
                         f"class, {p.shape}", where=w.reader.source)
