"""Which column holds what, read from header names; never guessed from values.

A table that holds both roles gets them from recognisable names (`y_true`,
`y_pred`, …, case-insensitive), or when one role is named, the one column no
name claims; only when no name is recognisable at all is a table of exactly two
columns read as (prediction, target). pandas' index column is never data, and a
weight column is used only when `--weight-col` names it: weights change the
number, so they are never applied by guess.
"""

from __future__ import annotations

import re

from bcecli.errors import UsageError, plural
from bcecli.readers import Reader

PREDICTION_NAMES = frozenset({
    "prediction", "predictions", "pred", "preds", "y_pred", "y_prob", "y_proba", "y_score",
    "prob", "probs", "proba", "probability", "probabilities", "score", "scores", "logit",
    "logits", "output", "outputs"})
TARGET_NAMES = frozenset({
    "target", "targets", "label", "labels", "y", "y_true", "truth", "actual", "class"})
WEIGHT_NAMES = frozenset({"weight", "weights", "sample_weight", "sample_weights"})
ROLE_NAMES = {"predictions": PREDICTION_NAMES, "targets": TARGET_NAMES}
OPTIONS = {"predictions": "--pred-col", "targets": "--target-col"}
# pandas writes its index as an unnamed first column (`Unnamed: 0` when read back and
# written again) in CSV, and as `__index_level_0__` in Parquet.
_INDEX = re.compile(r"|Unnamed: 0|__index_level_\d+__")


def is_index(name: str) -> bool:
    return _INDEX.fullmatch(name.strip()) is not None


def data_columns(reader: Reader) -> list[int]:
    """Every column but pandas' index."""
    names = reader.names
    return [i for i in range(reader.width) if names is None or not is_index(names[i])]


def named(reader: Reader, role: str) -> int | None:
    """The one column whose name says it holds `role`, None if none does; two is an error."""
    found = [i for i in data_columns(reader) if has_role_name(reader, i, ROLE_NAMES[role])]
    if len(found) > 1:
        listed = " and ".join(reader.column_label(i) for i in found)
        raise UsageError(f"columns {listed} of {reader.source} both look like {role}: pass "
                         f"{OPTIONS[role]} to say which")
    return found[0] if found else None


def has_role_name(reader: Reader, column: int, names: frozenset[str]) -> bool:
    return reader.names is not None and reader.names[column].strip().lower() in names


def both_roles(reader: Reader, pred: int | list[int] | None, target: int | list[int] | None
               ) -> tuple[list[int] | int, list[int] | int]:
    """The prediction and target columns of one table; `pred`/`target` are the columns
    options named, if any. An int is one column read as N values."""
    found = {"predictions": pred if pred is not None else named(reader, "predictions"),
             "targets": target if target is not None else named(reader, "targets")}
    data = data_columns(reader)
    claimed = [i for i in data if any(has_role_name(reader, i, names) for names in
                                      (PREDICTION_NAMES, TARGET_NAMES, WEIGHT_NAMES))]
    missing = [role for role, columns in found.items() if columns is None]
    if len(missing) == 2 and not claimed:
        if len(data) != 2:
            raise UsageError(f"{reader.source} has {plural(len(data), 'column')}: pass a "
                             "TARGETS file, or name the columns with --pred-col and --target-col")
        found = {"predictions": data[0], "targets": data[1]}
    elif missing:
        used = {i for columns in found.values() if columns is not None
                for i in ([columns] if isinstance(columns, int) else columns)}
        left = [i for i in data if i not in used and i not in claimed]
        if len(missing) == 2 or len(left) != 1:
            role = missing[0]
            known = ", ".join(reader.column_label(i) for i in data)
            raise UsageError(f"cannot tell which column of {reader.source} holds the {role} "
                             f"(columns: {known}): pass {OPTIONS[role]}")
        found[missing[0]] = left[0]
    pred_columns, target_columns = found["predictions"], found["targets"]
    assert pred_columns is not None and target_columns is not None
    return pred_columns, target_columns


def unapplied_weights(reader: Reader, used: set[int]) -> list[str]:
    """Names of weight-like columns that no option applied (worth a note)."""
    return [reader.names[i] for i in data_columns(reader)
            if reader.names is not None and i not in used
            and has_role_name(reader, i, WEIGHT_NAMES)]
