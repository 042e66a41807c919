"""Issue 10: list-valued columns (multi-label N×C) and column selection by glob and range.

Every input that can be read gives exactly the loss of the same numbers laid out as
sample_data's multi-label CSV pair (held to PyTorch by the golden tests), or the
tutorial anchor TRUE; every refusal is one exact line, exit 2, nothing on stdout.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bcecli.readers import arrow
from tests.helpers import ROOT, TRUE, Files, Run, loss_of, output, refused

needs_arrow = pytest.mark.skipif(not arrow.available(), reason="the arrow extra is not installed")


def table(name: str) -> list[list[float]]:
    """Rows of one of sample_data's multi-label CSV files (a header, then numbers)."""
    lines = (ROOT / "sample_data" / name).read_text().split("\n")[1:]
    return [[float(cell) for cell in line.split(",")] for line in lines if line]


PREDS = table("multilabel_preds.csv")
LABELS = table("multilabel_targets.csv")
WEIGHTS = [1.0, 2.0, 0.5, 3.0]
MISSING = "hint: pass --skip-missing to leave out every row with a missing value, in all " \
    "the inputs alike\n"


def jsonl(**fields: list[Any]) -> str:
    """A JSON Lines text, one object a row, as a `json.dumps` loop writes it."""
    rows = zip(*fields.values(), strict=True)
    return "".join(json.dumps(dict(zip(fields, row, strict=True))) + "\n" for row in rows)


def csv(rows: list[list[float]]) -> str:
    return "".join(",".join(map(repr, row)) + "\n" for row in rows)


@pytest.fixture
def reference(bce: Run, files: Files) -> dict[str, Any]:
    """bce on sample_data's multi-label CSV pair (golden), as `-f json`."""
    files(p__csv=(ROOT / "sample_data" / "multilabel_preds.csv").read_text(),
          y__csv=(ROOT / "sample_data" / "multilabel_targets.csv").read_text())
    return output(bce, "p.csv", "y.csv")


# -- JSON Lines list fields ----------------------------------------------------------------


def test_jsonl_list_fields_are_n_by_c(bce: Run, files: Files, reference: dict[str, Any]) -> None:
    files(d__jsonl=jsonl(id=["a", "b", "c", "d"], probs=PREDS, labels=LABELS))
    out = output(bce, "d.jsonl")
    assert (out["loss"], out["count"], out["shape"]) == (reference["loss"], 12, [4, 3])
    assert out["columns"] == {"predictions": "probs", "targets": "labels", "weights": None}
    assert out["unused_columns"] == {"d.jsonl": ["id"]}
    assert [c["class"] for c in out["per_class"]] == ["0", "1", "2"]
    assert [c["loss"] for c in out["per_class"]] == [c["loss"] for c in reference["per_class"]]


def test_jsonl_fields_named_by_the_options(bce: Run, files: Files,
                                          reference: dict[str, Any]) -> None:
    files(d__jsonl=jsonl(a=PREDS, b=LABELS))
    out = output(bce, "d.jsonl", "--pred-col", "a", "--target-col", "b")
    assert out["loss"] == reference["loss"]
    assert out["columns"]["predictions"] == "a"
    assert loss_of(bce("compute", "d.jsonl", "--json")) == reference["loss"]  # a, b: two columns


def test_jsonl_list_predictions_and_one_weight_a_row(bce: Run, files: Files,
                                                     reference: dict[str, Any]) -> None:
    """Predictions and targets (C values a row) and weights (one) from one reader."""
    files(d__jsonl=jsonl(probs=PREDS, labels=LABELS, w=WEIGHTS), w__csv=csv([[w] for w in WEIGHTS]),
          p__csv=csv(PREDS), y__csv=csv(LABELS))
    out = output(bce, "d.jsonl", "--weight-col", "w")
    assert out["columns"] == {"predictions": "probs", "targets": "labels", "weights": "w"}
    assert out["loss"] == loss_of(bce("compute", "p.csv", "y.csv", "--weights", "w.csv", "--json"))
    assert out["loss"] != reference["loss"]


def test_jsonl_lists_from_two_files(bce: Run, files: Files, reference: dict[str, Any]) -> None:
    files(p__jsonl=jsonl(probs=PREDS), y__jsonl=jsonl(labels=LABELS),
          a__jsonl=jsonl(a=PREDS), b__jsonl=jsonl(b=LABELS))
    out = output(bce, "p.jsonl", "y.jsonl")
    assert (out["loss"], out["shape"]) == (reference["loss"], [4, 3])
    assert out["columns"] == {"predictions": "probs", "targets": "labels", "weights": None}
    assert loss_of(bce("compute", "a.jsonl", "b.jsonl", "--json")) == reference["loss"]


def test_jsonl_list_of_the_anchor(bce: Run, files: Files) -> None:
    files(d__jsonl='{"probs": [0.8, 0.3, 0.6], "labels": [1, 0, 1]}\n')
    assert loss_of(bce("compute", "d.jsonl", "--json")) == TRUE


def test_jsonl_ragged_list(bce: Run, files: Files) -> None:
    files(d__jsonl=jsonl(probs=[[0.9, 0.2, 0.1], [0.1, 0.8]], labels=[[1, 0, 0], [0, 1, 0]]))
    assert refused(bce, "d.jsonl") == \
        "bce: error: d.jsonl:2: a list of 2 values in column 'probs', where the first has 3\n"


@pytest.mark.parametrize(("probs", "message"), [
    ([[0.9, 0.2, 0.1], 0.5], "bce: error: d.jsonl:2: 0.5 in column 'probs' is not a list\n"),
    ([[0.9, 0.2, 0.1], [0.1, "x", 0.3]],
     "bce: error: d.jsonl:2: \"x\" in column 'probs'[1] is not a number\n"),
    ([[0.9, 0.2, 0.1], [0.1, 1.5, 0.3]],
     "bce: error: d.jsonl:2: prediction 1.5 in column 'probs'[1] is outside [0, 1]\n"
     "hint: if these are logits (raw scores), pass --logits\n"),
    ([[], []], "bce: error: d.jsonl:1: the list in column 'probs' is empty\n"),
])
def test_jsonl_bad_lists(bce: Run, files: Files, probs: list[Any], message: str) -> None:
    files(d__jsonl=jsonl(probs=probs, labels=[[1, 0, 0], [0, 1, 0]]))
    assert refused(bce, "d.jsonl") == message


def test_jsonl_nulls_in_lists_are_missing(bce: Run, files: Files) -> None:
    probs: list[Any] = [list(row) for row in PREDS]
    probs[1][2] = None
    probs[3] = None
    files(d__jsonl=jsonl(probs=probs, labels=LABELS),
          kept__jsonl=jsonl(probs=[PREDS[0], PREDS[2]], labels=[LABELS[0], LABELS[2]]))
    assert refused(bce, "d.jsonl") == \
        "bce: error: d.jsonl:2: a missing value in column 'probs'[2]\n" + MISSING
    out = output(bce, "d.jsonl", "--skip-missing")
    assert (out["skipped"], out["count"]) == (2, 6)
    assert out["loss"] == loss_of(bce("compute", "kept.jsonl", "--json"))


def test_jsonl_list_labels_with_pos_label(bce: Run, files: Files,
                                         reference: dict[str, Any]) -> None:
    names = [["yes" if y else "no" for y in row] for row in LABELS]
    files(d__jsonl=jsonl(probs=PREDS, labels=names))
    out = output(bce, "d.jsonl", "--pos-label", "yes")
    assert (out["loss"], out["labels"]) == (reference["loss"], {"1": "yes", "0": "no"})


# -- Parquet and Feather list columns ----------------------------------------------------


def arrow_lists(kind: str) -> Any:
    """PREDS and LABELS as a pyarrow table of two list columns of one layout."""
    import pyarrow as pa

    types = {"list": (pa.list_(pa.float64()), pa.list_(pa.int64())),
             "large_list": (pa.large_list(pa.float64()), pa.large_list(pa.int8())),
             "fixed_size_list": (pa.list_(pa.float64(), 3), pa.list_(pa.bool_(), 3))}[kind]
    labels = [[bool(y) for y in row] for row in LABELS] if kind == "fixed_size_list" else \
        [[int(y) for y in row] for row in LABELS]
    return pa.table({"probs": pa.array(PREDS, types[0]), "labels": pa.array(labels, types[1])})


@needs_arrow
@pytest.mark.parametrize("kind", ["list", "large_list", "fixed_size_list"])
def test_parquet_and_feather_list_columns(bce: Run, files: Files, reference: dict[str, Any],
                                          kind: str) -> None:
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    files()
    pq.write_table(arrow_lists(kind), "d.parquet")
    feather.write_feather(arrow_lists(kind), "d.feather")
    for name in ("d.parquet", "d.feather"):
        out = output(bce, name)
        assert (out["loss"], out["count"], out["shape"]) == (reference["loss"], 12, [4, 3])
        assert out["columns"] == {"predictions": "probs", "targets": "labels", "weights": None}
        assert [c["class"] for c in out["per_class"]] == ["0", "1", "2"]


@needs_arrow
def test_parquet_list_labels_with_pos_label(bce: Run, files: Files,
                                           reference: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files()
    names = [["yes" if y else "no" for y in row] for row in LABELS]
    pq.write_table(pa.table({"probs": PREDS, "labels": names}), "d.parquet")
    out = output(bce, "d.parquet", "--pos-label", "yes")
    assert (out["loss"], out["labels"]) == (reference["loss"], {"1": "yes", "0": "no"})


@needs_arrow
def test_parquet_lists_from_two_files_with_weights(bce: Run, files: Files) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files(p__csv=csv(PREDS), y__csv=csv(LABELS), w__csv=csv([[w] for w in WEIGHTS]))
    pq.write_table(pa.table({"id": list("abcd"), "scores": PREDS, "weight": WEIGHTS}), "p.parquet")
    pq.write_table(pa.table({"truth": LABELS}), "y.parquet")
    out = output(bce, "p.parquet", "y.parquet", "--weight-col", "weight")
    assert out["columns"] == {"predictions": "scores", "targets": "truth", "weights": "weight"}
    assert out["loss"] == loss_of(bce("compute", "p.csv", "y.csv", "--weights", "w.csv", "--json"))


@needs_arrow
def test_parquet_ragged_and_null_lists(bce: Run, files: Files,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are named by position across record batches and row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setattr(arrow, "TABLE_VALUES", 12)  # two rows of 3 + 3 values a batch
    files()
    probs: list[Any] = [[0.5, 0.5, 0.5]] * 9
    labels = [[1, 0, 1]] * 9
    pq.write_table(pa.table({"probs": [*probs[:7], [0.5, 0.5], *probs[8:]], "labels": labels}),
                   "ragged.parquet", row_group_size=3)
    assert refused(bce, "ragged.parquet") == "bce: error: ragged.parquet[7]: a list of 2 " \
        "values in column 'probs', where the first has 3\n"
    pq.write_table(pa.table({"probs": [None, *probs[:4], [0.5, None, 0.5], *probs[6:]],
                             "labels": labels}), "null.parquet", row_group_size=4)
    assert refused(bce, "null.parquet") == \
        "bce: error: null.parquet[0]: a missing value in column 'probs'[0]\n" + MISSING
    out = output(bce, "null.parquet", "--skip-missing")
    assert (out["skipped"], out["count"]) == (2, 21)


@needs_arrow
def test_parquet_list_refusals(bce: Run, files: Files) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files()
    pq.write_table(pa.table({"probs": [["a", "b"]], "labels": [[1, 0]]}), "text.parquet")
    pq.write_table(pa.table({"probs": pa.array([None, None], pa.list_(pa.float64())),
                             "labels": [[1, 0], [0, 1]]}), "nulls.parquet")
    pq.write_table(pa.table({"probs": [[], []], "labels": [[], []]}), "empty.parquet")
    pq.write_table(pa.table({"y_pred": [{"a": 0.5}], "y": [1]}), "struct.parquet")
    assert refused(bce, "text.parquet") == \
        "bce: error: text.parquet: column 'probs' holds list<element: string>, not numbers\n"
    assert refused(bce, "nulls.parquet") == \
        "bce: error: nulls.parquet: column 'probs' holds no list, only nulls\n"
    assert refused(bce, "empty.parquet") == \
        "bce: error: empty.parquet: the lists in column 'probs' are empty\n"
    assert refused(bce, "struct.parquet") == \
        "bce: error: struct.parquet: column 'y_pred' holds struct<a: double>, not numbers\n"


# -- selection: globs and ranges -----------------------------------------------------------

WIDE = "id,pred_cat,pred_dog,pred_bird,label_cat,label_dog,label_bird\n" + \
    "".join(f"{i},{csv([p + y])}" for i, (p, y) in enumerate(zip(PREDS, LABELS, strict=True)))


@pytest.mark.parametrize("args", [
    ["--pred-col", "pred_*", "--target-col", "label_*"],
    ["--pred-col", "1-3", "--target-col", "4-6"],
    ["--pred-col", "1,2-3", "--target-col", "label_c*,5-6"],
    ["--pred-col", "pred_[cdb]*", "--target-col", "label_???,label_bird"],
])
def test_globs_and_ranges(bce: Run, files: Files, reference: dict[str, Any],
                          args: list[str]) -> None:
    files(d__csv=WIDE)
    out = output(bce, "d.csv", *args)
    assert (out["loss"], out["shape"]) == (reference["loss"], [4, 3])
    assert out["columns"]["predictions"] == ["pred_cat", "pred_dog", "pred_bird"]
    assert out["columns"]["targets"] == ["label_cat", "label_dog", "label_bird"]


def test_a_glob_of_one_column_is_n_by_1(bce: Run, files: Files) -> None:
    """Like a comma list: a glob or range always makes N×C, here N×1."""
    files(d__csv="pred_a,label_a\n0.8,1\n0.3,0\n0.6,1\n")
    out = output(bce, "d.csv", "--pred-col", "pred_*", "--target-col", "label_*")
    assert (out["loss"], out["shape"], out["columns"]["predictions"]) == (TRUE, [3, 1], ["pred_a"])
    assert refused(bce, "d.csv", "--pred-col", "pred_*", "--target-col", "label_a") == \
        "bce: error: d.csv: targets have shape (N,) but predictions have shape (N, 1)\n" \
        "hint: PyTorch refuses an (N, 1) array against N values; scikit-learn reads it as N " \
        "values: pass --like sklearn to do the same\n"


def test_a_glob_never_matches_pandas_index(bce: Run, files: Files) -> None:
    files(p__csv="p\n0.8\n0.3\n0.6\n", y__csv="Unnamed: 0,y\n0,1\n1,0\n2,1\n")
    out = output(bce, "p.csv", "y.csv", "--pred-col", "*", "--target-col", "*")
    assert (out["loss"], out["columns"]["targets"]) == (TRUE, ["y"])


def test_an_exact_name_wins_over_a_range(bce: Run, files: Files) -> None:
    files(d__csv="1-2,x,y\n0.8,0.1,1\n0.3,0.1,0\n0.6,0.1,1\n")
    out = output(bce, "d.csv", "--pred-col", "1-2", "--target-col", "y")
    assert (out["loss"], out["columns"]["predictions"]) == (TRUE, "1-2")
    files(e__csv="p*,x,y\n0.8,0.1,1\n0.3,0.1,0\n0.6,0.1,1\n")
    assert loss_of(bce("compute", "e.csv", "--pred-col", "p*", "--target-col", "y",
                       "--json")) == TRUE


SELECTION_ERRORS = [
    (["--pred-col", "p_*"], "bce: error: --pred-col 'p_*': no column of d.csv matches "
     "(columns: id, pred_cat, pred_dog, pred_bird, label_cat, label_dog, label_bird)\n"),
    (["--pred-col", "3-1"], "bce: error: --pred-col '3-1': a range runs from the lower position "
     "to the higher\nhint: write 1-3 (0-based, both ends included)\n"),
    (["--pred-col", "1-7"], "bce: error: --pred-col '1-7': d.csv has 7 columns, at positions 0 "
     "to 6\n"),
    (["--pred-col", "pred_*,pred_dog"], "bce: error: --pred-col 'pred_*,pred_dog' picks column "
     "'pred_dog' twice\n"),
    (["--pred-col", "1-2,2"], "bce: error: --pred-col '1-2,2' picks column 'pred_dog' twice\n"),
    (["--pred-col", "pred_cat,pred_cat"], "bce: error: --pred-col 'pred_cat,pred_cat' picks "
     "column 'pred_cat' twice\n"),
]


@pytest.mark.parametrize(("args", "message"), SELECTION_ERRORS,
                         ids=[" ".join(args) for args, _ in SELECTION_ERRORS])
def test_selection_refusals(bce: Run, files: Files, args: list[str], message: str) -> None:
    files(d__csv=WIDE)
    assert refused(bce, "d.csv", *args, "--target-col", "label_*") == message


def test_columns_of_one_role_get_the_glob_that_picks_them(bce: Run, files: Files) -> None:
    files(d__csv=WIDE)
    assert refused(bce, "d.csv") == "bce: error: columns 'pred_cat' and 'pred_dog' and " \
        "'pred_bird' of d.csv all look like predictions: pass --pred-col to say which\n" \
        "hint: for multi-label, pick them all: --pred-col 'pred_*'\n"
    assert refused(bce, "d.csv", "--pred-col", "pred_*") == "bce: error: columns " \
        "'label_cat' and 'label_dog' and 'label_bird' of d.csv all look like targets: pass " \
        "--target-col to say which\nhint: for multi-label, pick them all: --target-col " \
        "'label_*'\n"


def test_a_glob_lists_at_most_twenty_columns(bce: Run, files: Files) -> None:
    header = ",".join(f"c{i}" for i in range(25))
    files(d__csv=header + "\n" + ",".join(["0.5"] * 25) + "\n")
    names = ", ".join(f"c{i}" for i in range(20))
    assert refused(bce, "d.csv", "--pred-col", "p*", "--target-col", "c1") == \
        f"bce: error: --pred-col 'p*': no column of d.csv matches (columns: {names}, … and " \
        "5 more)\n"


def test_a_glob_needs_header_names(bce: Run, files: Files) -> None:
    files(d__csv="0.8,1\n0.3,0\n0.6,1\n")
    assert refused(bce, "d.csv", "--pred-col", "p*", "--target-col", "1") == \
        "bce: error: --pred-col 'p*': d.csv has no header names to match\n" \
        "hint: pick columns by 0-based position or range (1-3)\n"
    assert output(bce, "d.csv", "--pred-col", "0-0", "--target-col", "1-1")["loss"] == TRUE


def test_ambiguous_numbers_are_still_refused(bce: Run, files: Files) -> None:
    """A number that names one column and is the position of another stays refused."""
    files(d__csv="2,y,p\n0.5,1,0.8\n0.5,0,0.3\n0.5,1,0.6\n")
    assert refused(bce, "d.csv", "--header", "--pred-col", "2", "--target-col", "y") == \
        "bce: error: --pred-col '2': in d.csv that is both the name of column 0 and the " \
        "position of column 'p'\nhint: rename the column, or pass --no-header to use positions\n"


def test_selection_picks_list_columns(bce: Run, files: Files, reference: dict[str, Any]) -> None:
    """A glob that matches a list column feeds its values; mixed with a scalar, both."""
    files(d__jsonl=jsonl(probs=PREDS, labels=LABELS))
    out = output(bce, "d.jsonl", "--pred-col", "prob*", "--target-col", "label*")
    assert (out["loss"], out["shape"]) == (reference["loss"], [4, 3])
    assert out["columns"]["predictions"] == "probs"
