"""Which input holds what: predictions, targets and weights from one file or several.

The rules (also in the README): a JSON object carries its own arrays; one table
with two columns is (prediction, target); otherwise the column options pick
columns; shapes must agree, and a mismatch points at the first row too many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bcecli.core import FloatArray, check_weights
from bcecli.errors import BadValue, InputError, UsageError, format_value, plural
from bcecli.readers import STDIN, Bundle, Column, Table, read, read_stdin


@dataclass(frozen=True)
class Inputs:
    predictions: Column
    targets: Column
    weights: Column | None

    def role(self, name: str) -> Column:
        """The column a core `BadValue` role refers to."""
        column = {"prediction": self.predictions, "target": self.targets}.get(name, self.weights)
        assert column is not None
        return column


def gather(
    predictions: str,
    targets: str | None = None,
    *,
    weights: str | None = None,
    pred_col: str | int | None = None,
    target_col: str | int | None = None,
    weight_col: str | None = None,
    header: bool | None = None,
    input_format: str | None = None,
    stdin: Callable[[], bytes] = read_stdin,
) -> Inputs:
    """Read every input once and pick out the three roles; shapes are checked here."""
    paths = [p for p in (predictions, targets, weights) if p is not None]
    if paths.count(STDIN) > 1:
        raise UsageError("only one input can be read from stdin ('-')")

    def open_table(path: str) -> Table | Bundle:
        return read(path, header=header, input_format=input_format, stdin=stdin)

    first = open_table(predictions)
    if isinstance(first, dict):
        return from_bundle(first, targets, weights, weight_col,
                           pred_col is not None or target_col is not None, open_table)
    if targets is None:
        target_table = first
        if pred_col is None and target_col is None:
            if first.width != 2:
                raise UsageError(
                    f"{first.source} has {plural(first.width, 'column')}: pass a TARGETS file, "
                    "or name the columns with --pred-col and --target-col")
            pred_col, target_col = 0, 1
        elif pred_col is None or target_col is None:
            raise UsageError("with a single input file, pass both --pred-col and --target-col")
    else:
        second = open_table(targets)
        if isinstance(second, dict):
            raise UsageError(f"{targets} is a JSON object with its own predictions: "
                             "pass it alone, without TARGETS")
        target_table = second
    weight_column = None
    if weights is not None:
        weight_column = table_of(open_table(weights), weights).select(weight_col, "--weight-col")
    elif weight_col is not None:
        weight_column = first.select(weight_col, "--weight-col")
    return checked(Inputs(first.select(pred_col, "--pred-col"),
                          target_table.select(target_col, "--target-col"), weight_column))


def from_bundle(bundle: Bundle, targets: str | None, weights: str | None,
                weight_col: str | None, column_options: bool,
                open_table: Callable[[str], Table | Bundle]) -> Inputs:
    source = bundle["predictions"].source
    if targets is not None:
        raise UsageError(f"{source} holds predictions and targets: pass no TARGETS file")
    if column_options:
        raise UsageError("--pred-col and --target-col do not apply to a JSON object input")
    if "targets" not in bundle:
        raise InputError("the JSON object has no 'targets' key", where=source)
    weight_column = bundle.get("weights")
    if weights is not None:
        if weight_column is not None:
            raise UsageError(f"{source} has its own weights: do not also pass --weights")
        weight_column = table_of(open_table(weights), weights).select(weight_col, "--weight-col")
    elif weight_col is not None:
        raise UsageError("--weight-col needs --weights or a table input")
    return checked(Inputs(bundle["predictions"], bundle["targets"], weight_column))


def table_of(data: Table | Bundle, path: str) -> Table:
    if isinstance(data, dict):
        raise UsageError(f"{path} is a JSON object: weights must be an array or a table")
    return data


def checked(inputs: Inputs) -> Inputs:
    """Targets must match predictions in shape; weights in rows, and columns 1 or C."""
    p, t, w = inputs.predictions, inputs.targets, inputs.weights
    same_rows(p, t, "predictions", "targets")
    if p.values.shape != t.values.shape:
        raise InputError(f"targets have shape {shape(t)} but predictions have shape {shape(p)}",
                         where=t.source)
    if w is not None:
        same_rows(p, w, "predictions", "weights")
        columns = w.values.shape[1] if w.values.ndim == 2 else 1
        classes = p.values.shape[1] if p.values.ndim == 2 else 1
        if columns not in (1, classes):
            raise InputError(f"weights have shape {shape(w)}: expected {len(w.values)} values "
                             f"or a {len(w.values)}×{classes} matrix", where=w.source)
        try:
            check_weights(w.values, "weight")
        except BadValue as e:
            raise located(e, inputs) from None
    return inputs


def same_rows(a: Column, b: Column, a_name: str, b_name: str) -> None:
    if len(a.values) != len(b.values):
        longer, shorter = (a, b) if len(a.values) > len(b.values) else (b, a)
        names = {id(a): a_name, id(b): b_name}
        raise InputError(
            f"{len(longer.values)} {names[id(longer)]} but {len(shorter.values)} "
            f"{names[id(shorter)]} ({shorter.source})", where=longer.where(len(shorter.values)))


def shape(column: Column) -> str:
    return str(tuple(column.values.shape))


def weight_array(inputs: Inputs, class_weights: list[float] | None) -> FloatArray | None:
    """Row weights (N), an N×C matrix and class weights (C), multiplied into one array."""
    ndim = inputs.predictions.values.ndim
    weight: FloatArray | None = None
    if inputs.weights is not None:
        weight = inputs.weights.values
        if ndim == 2 and weight.ndim == 1:
            weight = weight[:, np.newaxis]
    if class_weights is not None:
        classes = inputs.predictions.values.shape[1] if ndim == 2 else 1
        if len(class_weights) != classes:
            raise UsageError(f"--class-weights has {plural(len(class_weights), 'value')} but the "
                             f"input has {plural(classes, 'class')}")
        row = np.asarray(class_weights if ndim == 2 else class_weights[0], dtype=np.float64)
        weight = row if weight is None else weight * row
    return weight


def located(error: BadValue, inputs: Inputs) -> InputError:
    """A core `BadValue` (role, index) turned into a message naming file and line."""
    column = inputs.role(error.role)
    message = (f"{error.role} {format_value(error.value)}{column.label(error.index)} "
               f"{error.problem}")
    hint = None
    if error.role == "prediction" and error.problem == "is outside [0, 1]":
        hint = "if these are logits (raw scores), pass --logits"
    return InputError(message, where=column.where(error.index[0]), hint=hint)
