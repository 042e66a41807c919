"""Which column holds what, read from header names; never guessed from values.

A table that holds both roles gets them from recognisable names (`y_true`,
`y_pred`, `test_labels`, `predicted_probs`, …), or when one role is named, the
one column no name claims; only when no name is recognisable at all is a table
of exactly two columns read as (prediction, target). pandas' index column is never data, and a
weight column is used only when `--weight-col` names it: weights change the
number, so they are never applied by guess.
"""

from __future__ import annotations

import os
import re

from bcecli.errors import UsageError, plural
from bcecli.readers import Reader

# A name's words (split at `_`, `-`, spaces and camelCase) say its role: `y_pred_proba`,
# `predicted_probs`, `p_malignant` hold predictions; `y_true`, `y_test`, `test_labels`
# targets. A name with words of both kinds (`pred_label`) says nothing.
PREDICTION_WORDS = frozenset({
    "p", "pred", "preds", "prediction", "predictions", "predicted", "prob", "probs", "proba",
    "probability", "probabilities", "score", "scores", "logit", "logits", "output",
    "outputs", "yhat", "hat"})
TARGET_WORDS = frozenset({
    "target", "targets", "label", "labels", "truth", "actual", "class", "gt", "y", "true",
    "test"})
_CLEAR_TARGET = TARGET_WORDS - {"y", "true", "test"}  # these three also go with predictions
WEIGHT_WORDS = frozenset({"weight", "weights"})
ID_WORDS = frozenset({"id", "ids", "key", "uuid", "guid", "filename", "fname", "file", "path",
                      "index", "idx"})
OPTIONS = {"predictions": "--pred-col", "targets": "--target-col"}
# pandas writes its index as an unnamed first column (`Unnamed: 0` when read back and
# written again) in CSV, and as `__index_level_0__` in Parquet.
_INDEX = re.compile(r"|Unnamed: 0|__index_level_\d+__")


def is_index(name: str) -> bool:
    return _INDEX.fullmatch(name.strip()) is not None


def data_columns(reader: Reader) -> list[int]:
    """Every column but ids: pandas' index, the `--id-col`, and those named as ids (`id`,
    `filename`), which hold no prediction or target."""
    names = reader.names
    return [i for i in range(reader.width) if (names is None or key_name(names[i]) is None)
            and i != reader.id_column]


def words_of(name: str) -> set[str]:
    """A name's words, split at `_`, `-`, spaces and camelCase, lower-cased."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name.strip())
    return set(re.split(r"[^a-z0-9]+", spaced.lower())) - {""}


def role_of_name(name: str) -> str | None:
    """"predictions", "targets" or "weights" where a column name says so, else None."""
    words = words_of(name)
    if words & PREDICTION_WORDS:
        return None if words & _CLEAR_TARGET else "predictions"
    if words & TARGET_WORDS:
        return "targets"
    return "weights" if words & WEIGHT_WORDS else None


def key_name(name: str) -> str | None:
    """What a column of ids is called in every file: `''` for pandas' index (whichever
    of its names), the name where its words say ids (`id`, `image_id`, `filename`)."""
    if is_index(name):
        return ""
    return name.strip() if words_of(name) & ID_WORDS and role_of_name(name) is None else None


def role_of(reader: Reader, column: int) -> str | None:
    return None if reader.names is None else role_of_name(reader.names[column])


def named(reader: Reader, role: str) -> int | None:
    """The one column whose name says it holds `role`, None if none does; two is an error."""
    found = [i for i in data_columns(reader) if role_of(reader, i) == role]
    if len(found) > 1:
        listed = " and ".join(reader.column_label(i) for i in found)
        several = len(found) > 2  # likely one a class: say how to pick them all
        raise UsageError(f"columns {listed} of {reader.source} {'all' if several else 'both'} "
                         f"look like {role}: pass {OPTIONS[role]} to say which",
                         hint=pick_all(reader, found, OPTIONS[role]) if several else None)
    return found[0] if found else None


def pick_all(reader: Reader, columns: list[int], option: str) -> str:
    """How to pick several columns of one role as one multi-label matrix: the glob of
    their common prefix, where they have one."""
    names = reader.names or ()
    prefix = os.path.commonprefix([names[i] for i in columns])  # noqa: RUF071 (names)
    if prefix:
        return f"for multi-label, pick them all: {option} '{prefix}*'"
    return "for multi-label, pick them all with a comma list, a range (1-3) or a glob"


def both_roles(reader: Reader, pred: int | list[int] | None, target: int | list[int] | None
               ) -> tuple[list[int] | int, list[int] | int]:
    """The prediction and target columns of one table; `pred`/`target` are the columns
    options named, if any. An int is one column read as N values."""
    found = {"predictions": pred if pred is not None else named(reader, "predictions"),
             "targets": target if target is not None else named(reader, "targets")}
    data = data_columns(reader)
    claimed = [i for i in data if role_of(reader, i) is not None]
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
            if reader.names is not None and i not in used and role_of(reader, i) == "weights"]
