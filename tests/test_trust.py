"""No silently wrong number (issue 9): each way a reading went wrong is held here.

Each input that can be read is compared with the same data written plainly
(whose loss the golden tests hold to PyTorch); each that cannot is refused with
exit 2, one located line, a hint, and nothing on stdout.
"""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pytest

from tests.helpers import ROOT, TRUE, Files, Run, loss_of, output, refused

MISSING_HINT = "hint: pass --skip-missing to leave out every row with a missing value, in " \
    "all the inputs alike\n"


# -- 1. column roles come from header names ------------------------------------------------


@pytest.mark.parametrize("table", [
    "y_true,y_pred\n1,0.8\n0,0.3\n1,0.6\n",
    "Label,Probability\n1,0.8\n0,0.3\n1,0.6\n",
    "id,target,score,file\na,1,0.8,x.png\nb,0,0.3,y.png\nc,1,0.6,z.png\n",
    "y,q\n1,0.8\n0,0.3\n1,0.6\n",  # y is named; q is the one column left
    "y_test,y_pred_proba\n1,0.8\n0,0.3\n1,0.6\n",  # names read by their words
    "test_labels,predicted_probs,id\n1,0.8,a\n0,0.3,b\n1,0.6,c\n",
    "malignant,p_malignant\n1,0.8\n0,0.3\n1,0.6\n",
    "prediction,y,sample_weight\n0.8,1,5\n0.3,0,5\n0.6,1,5\n",
])
def test_roles_follow_header_names(bce: Run, files: Files, table: str) -> None:
    files(d__csv=table)
    assert loss_of(bce("compute", "d.csv", "--json")) == TRUE


def test_output_says_which_column_fed_which_role(bce: Run, files: Files) -> None:
    files(d__csv="id,y_true,y_pred,sample_weight\na,1,0.8,2\nb,0,0.3,2\nc,1,0.6,2\n")
    result = bce("compute", "d.csv", "--json")
    out = json.loads(result.stdout)
    assert out["columns"] == {"predictions": "y_pred", "targets": "y_true", "weights": None}
    assert out["unused_columns"] == {"d.csv": ["id", "sample_weight"]}
    assert out["loss"] == TRUE  # the weights were not applied by guess
    assert result.stderr == "bce: note: column 'sample_weight' was not used as weights (pass " \
        "--weight-col sample_weight to apply it)\n"
    table = bce("compute", "d.csv", "-f", "table").stdout
    assert "│ Columns     │ predictions ← 'y_pred', targets ← 'y_true' │" in table
    assert "│ Not used    │ d.csv: 'id', 'sample_weight'" in table
    weighted = output(bce, "d.csv", "--weight-col", "sample_weight")
    assert weighted["columns"] == {"predictions": "y_pred", "targets": "y_true",
                                   "weights": "sample_weight"}
    assert weighted["loss"] == pytest.approx(2 * TRUE, rel=1e-15)


def test_roles_by_name_in_json_lines_too(bce: Run, files: Files) -> None:
    files(d__jsonl='{"y_true": 1, "y_pred": 0.8}\n{"y_true": 0, "y_pred": 0.3}\n'
                   '{"y_true": 1, "y_pred": 0.6}\n')
    assert output(bce, "d.jsonl")["loss"] == TRUE


@pytest.mark.parametrize(("table", "message"), [
    ("pred,score,y\n0.8,0.8,1\n", "columns 'pred' and 'score' of d.csv both look like "
     "predictions: pass --pred-col to say which\n"),
    ("id,a,b,y\na,0.8,0.7,1\n", "cannot tell which column of d.csv holds the predictions "
     "(columns: 'a', 'b', 'y'): pass --pred-col\n"),
    ("a,b,weight\n0.8,1,1\n", "cannot tell which column of d.csv holds the predictions "
     "(columns: 'a', 'b', 'weight'): pass --pred-col\n"),
])
def test_conflicting_or_missing_names_are_refused(bce: Run, files: Files, table: str,
                                                  message: str) -> None:
    files(d__csv=table)
    assert refused(bce, "d.csv") == f"bce: error: {message}"


def test_two_files_use_their_named_column(bce: Run, files: Files) -> None:
    files(p__csv="id,prediction\n7,0.8\n3,0.3\n9,0.6\n", y__csv="id,label\n7,1\n3,0\n9,1\n")
    out = output(bce, "p.csv", "y.csv")
    assert (out["loss"], out["columns"]) == \
        (TRUE, {"predictions": "prediction", "targets": "label", "weights": None})


@pytest.mark.parametrize("document", [
    '[{"y_true": 1, "y_pred": 0.8}, {"y_true": 0, "y_pred": 0.3}, {"y_true": 1, "y_pred": 0.6}]',
    '{"y_true": [1, 0, 1], "y_pred": [0.8, 0.3, 0.6]}',
    '{"y_true": {"5": 1, "0": 0, "9": 1}, "y_pred": {"5": 0.8, "0": 0.3, "9": 0.6}}',
    '{"5": {"y_true": 1, "y_pred": 0.8}, "0": {"y_pred": 0.3, "y_true": 0}, '
    '"9": {"y_true": 1, "y_pred": 0.6}}',
    '{"columns": ["y_true", "y_pred"], "index": [5, 0, 9], "data": [[1, 0.8], [0, 0.3], [1, 0.6]]}',
    '{"schema": {"fields": [], "primaryKey": ["index"]}, "data": [{"index": 5, "y_true": 1, '
    '"y_pred": 0.8}, {"index": 0, "y_true": 0, "y_pred": 0.3}, {"index": 9, "y_true": 1, '
    '"y_pred": 0.6}]}',
])
def test_every_pandas_json_orient_is_a_named_table(bce: Run, files: Files, document: str) -> None:
    files(d__json=document)
    out = output(bce, "d.json")
    assert (out["loss"], out["columns"]) == \
        (TRUE, {"predictions": "y_pred", "targets": "y_true", "weights": None})


@pytest.mark.parametrize("document", [
    '{"0": {"0": 0.8, "1": 0.3, "2": 0.6}, "1": {"0": 1, "1": 0, "2": 1}}',
    '{"columns": [0, 1], "index": [0, 1, 2], "data": [[0.8, 1], [0.3, 0], [0.6, 1]]}',
])
def test_an_unnamed_dataframe_as_pandas_writes_it(bce: Run, files: Files, document: str) -> None:
    files(d__json=document)
    out = output(bce, "d.json")
    assert (out["loss"], out["columns"]) == \
        (TRUE, {"predictions": "0", "targets": "1", "weights": None})


def test_an_object_of_objects_whose_rows_are_unclear_is_refused(bce: Run, files: Files) -> None:
    files(d__json='{"a": {"b": 0.5}, "c": {"b": 1}}', e__json='{"0": {"0": 0.8, "1": 1}, '
          '"1": {"0": 0.3, "1": 0}}')
    assert refused(bce, "e.json") == refused(bce, "d.json").replace("d.json", "e.json")
    assert refused(bce, "d.json") == "bce: error: d.json: an object of objects, but which keys " \
        "are the rows and which the columns is unclear\nhint: write it with pandas' " \
        "orient='records' or orient='split'\n"


def test_files_named_the_wrong_way_round_are_refused(bce: Run, files: Files) -> None:
    files(y__csv="y_true\n1\n0\n1\n", p__csv="y_pred\n0.8\n0.3\n0.6\n")
    assert refused(bce, "y.csv", "p.csv") == "bce: error: y.csv has target columns and p.csv " \
        "prediction columns: the files look swapped\nhint: pass PREDICTIONS first, then TARGETS\n"


def test_hard_predictions_against_soft_targets_warn_of_a_swap(bce: Run, files: Files) -> None:
    files(y__csv="1\n0\n1\n", p__csv="0.8\n0.3\n0.6\n")
    result = bce("compute", "y.csv", "p.csv", "--json")
    assert result.exit_code == 0
    assert result.stderr == "bce: warning: every prediction is 0 or 1 and some targets are " \
        "not: are PREDICTIONS and TARGETS swapped?\n"
    assert bce("compute", "p.csv", "y.csv", "--json").stderr == ""


def test_multi_label_classes_pair_by_name(bce: Run, files: Files) -> None:
    files(p__csv="cat,dog\n0.9,0.2\n0.3,0.7\n", y__csv="dog,cat\n0,1\n1,0\n",
          z__csv="cat,dog\n1,0\n0,1\n")
    by_name = output(bce, "p.csv", "y.csv")
    assert by_name["loss"] == output(bce, "p.csv", "z.csv")["loss"]
    assert by_name["columns"] == {"predictions": ["cat", "dog"], "targets": ["cat", "dog"],
                                  "weights": None}


def test_a_weight_column_in_the_targets_file_is_noted(bce: Run, files: Files) -> None:
    files(p__csv="y_pred\n0.8\n0.3\n0.6\n", y__csv="y_true,weight\n1,2\n0,2\n1,2\n")
    result = bce("compute", "p.csv", "y.csv", "--json")
    assert json.loads(result.stdout)["loss"] == TRUE
    assert result.stderr == "bce: note: column 'weight' of y.csv was not used as weights (pass " \
        "--weights y.csv --weight-col weight)\n"


# -- 2. headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(("preds", "targets"), [
    ("0\n0.8\n0.3\n0.6\n", "0\n1.0\n0.0\n1.0\n"),  # Series.to_csv(index=False)
    (",0\n0,0.8\n1,0.3\n2,0.6\n", ",0\n0,1\n1,0\n2,1\n"),  # Series.to_csv()
    ("0.8\n0.3\n0.6\n", "1\n0\n1\n"),  # headerless: a first 0 over whole numbers is data
])
def test_pandas_position_headers_are_headers(bce: Run, files: Files, preds: str,
                                              targets: str) -> None:
    files(p__csv=preds, y__csv=targets)
    out = output(bce, "p.csv", "y.csv")
    assert (out["loss"], out["count"]) == (TRUE, 3)


def test_a_dataframe_position_header_is_not_a_fake_sample(bce: Run, files: Files) -> None:
    files(d__csv="0,1\n0.8,1\n0.3,0\n0.6,1\n", e__csv=",0,1\n0,0.8,1\n1,0.3,0\n2,0.6,1\n")
    assert (output(bce, "d.csv")["count"], output(bce, "d.csv")["loss"]) == (3, TRUE)
    out = output(bce, "e.csv")
    assert (out["count"], out["loss"], out["unused_columns"]) == (3, TRUE, {"e.csv": [""]})


def test_a_first_row_guess_is_named_when_the_counts_disagree(bce: Run, files: Files) -> None:
    files(p__csv="y_pred\n0.8\n0.3\n0.6\n", y__csv="0\n1\n0\n1\n")
    assert refused(bce, "p.csv", "y.csv") == "bce: error: y.csv:4: more targets than " \
        "predictions (p.csv has 3)\nhint: the first line of y.csv, 0, was read as data; pass " \
        "--header if it is pandas' header\n"
    assert output(bce, "p.csv", "y.csv", "--header")["loss"] == TRUE


def test_a_whole_number_first_row_of_labels_is_data(bce: Run, files: Files) -> None:
    files(p__csv="0.2\n0.7\n0.4\n", y__csv="0\n1\n0\n")
    assert output(bce, "p.csv", "y.csv")["count"] == 3


@pytest.mark.parametrize(("first", "message"), [
    ("0.8,a,1", "d.csv:1: 'a' in column 1 is not a number\n"),
    ("0.9,NA", "d.csv:1: a missing value in column 1\n" + MISSING_HINT),
    (",1", "d.csv:1: a missing value in column 0\n" + MISSING_HINT),
    ("0.9,\x00", "d.csv:1: '\\x00' in column 1 is not a number\n"),
])
def test_a_first_row_mixing_numbers_and_text_is_data(bce: Run, files: Files, first: str,
                                                     message: str) -> None:
    width = first.count(",") + 1
    files(d__csv=first + "\n" + ",".join(["0.5"] * (width - 1) + ["1"]) + "\n")
    args = ["d.csv"] if width == 2 else ["d.csv", "--pred-col", "1", "--target-col", "2"]
    assert refused(bce, *args) == f"bce: error: {message}"


def test_a_text_cell_in_an_unused_column_of_a_first_data_row(bce: Run, files: Files) -> None:
    files(d__csv="a,0.8,1\nb,0.3,0\nc,0.6,1\n")
    out = output(bce, "d.csv", "--pred-col", "1", "--target-col", "2")
    assert (out["count"], out["loss"]) == (3, TRUE)


def test_an_empty_last_cell_of_the_first_row_only_is_a_missing_value(bce: Run,
                                                                     files: Files) -> None:
    files(d__csv="0.9,\n0.5,0.25\n0.001,0\n", e__csv="0.8,1,\n0.3,0,\n0.6,1,\n")
    assert refused(bce, "d.csv") == "bce: error: d.csv:1: a missing value in column 1\n" \
        + MISSING_HINT
    assert output(bce, "e.csv")["loss"] == TRUE  # a delimiter ending every line: no column


def test_an_index_that_is_also_a_name_is_refused(bce: Run, files: Files) -> None:
    files(d__csv="1,a,y\n0.8,0.1,1\n")
    assert refused(bce, "d.csv", "--header", "--pred-col", "1", "--target-col", "y") == \
        "bce: error: --pred-col '1': in d.csv that is both the name of column 0 and the " \
        "position of column 'a'\nhint: rename the column, or pass --no-header to use positions\n"


# -- 3. index columns ----------------------------------------------------------------------


@pytest.mark.parametrize("table", [
    ",y_true,y_pred\n17,1,0.8\n2,0,0.3\n40,1,0.6\n",
    "Unnamed: 0,y_true,y_pred\n17,1,0.8\n2,0,0.3\n40,1,0.6\n",
    ",0,1\n17,0.8,1\n2,0.3,0\n40,0.6,1\n",
])
def test_the_pandas_index_is_never_data(bce: Run, files: Files, table: str) -> None:
    files(d__csv=table)
    assert output(bce, "d.csv")["loss"] == TRUE


# -- 4. missing values and --skip-missing --------------------------------------------------


@pytest.mark.parametrize(("preds", "where"), [
    ("0.8\n\n0.3\n0.6\n", "p.csv:2"),  # polars: a null in a one-column file
    ("p\n0.8\nNA\n0.3\n0.6\n", "p.csv:3: a missing value in column 'p'"),
    ("p\n0.8\nnan\n0.3\n0.6\n", "p.csv:3: a missing value in column 'p'"),
    ("0.8\nNone\n0.3\n0.6\n", "p.csv:2"),
])
def test_missing_values_are_errors_or_skipped_aligned(bce: Run, files: Files, preds: str,
                                                      where: str) -> None:
    files(p__csv=preds, y__csv="1\n1\n0\n1\n")
    message = where if " " in where else f"{where}: a missing value"
    assert refused(bce, "p.csv", "y.csv") == f"bce: error: {message}\n" + MISSING_HINT
    out = output(bce, "p.csv", "y.csv", "--skip-missing")
    assert (out["loss"], out["count"], out["skipped"]) == (TRUE, 3, 1)


def test_skipped_rows_are_aligned_across_every_input(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n0.5\n0.3\n0.9\n0.6\n", y__csv="1\nnull\n0\n1\n1\n",
          w__csv="1\n1\n1\n\n1\n")
    out = output(bce, "p.csv", "y.csv", "--weights", "w.csv", "--skip-missing")
    assert (out["loss"], out["count"], out["skipped"]) == (TRUE, 3, 2)


def test_an_empty_parquet_file_is_an_error_not_zero(bce: Run, files: Files) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    files()
    pq.write_table(pa.table({"y_pred": pa.array([], pa.float64()),
                             "y_true": pa.array([], pa.int64())}), "e.parquet")
    for reduction in ("mean", "sum"):
        assert refused(bce, "e.parquet", "-r", reduction) == "bce: error: e.parquet: has no rows\n"


def test_everything_missing_is_an_error(bce: Run, files: Files) -> None:
    files(p__csv="p\nNA\nNA\n", y__csv="1\n0\n")
    assert refused(bce, "p.csv", "y.csv", "--skip-missing") == "bce: error: every row has a " \
        "missing value (2 skipped): nothing is left to compute a loss from\n"


def test_missing_json_and_npy_values(bce: Run, files: Files) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([0.8, np.nan, 0.3, 0.6]))
    files(p__npy=buffer.getvalue(), p__json="[0.8, null, 0.3, 0.6]", y__csv="1\n1\n0\n1\n")
    for preds in ("p.npy", "p.json"):
        out = output(bce, preds, "y.csv", "--skip-missing")
        assert (out["loss"], out["skipped"]) == (TRUE, 1)
    assert refused(bce, "p.npy", "y.csv") == "bce: error: p.npy[1]: a missing value\n" \
        + MISSING_HINT


# -- 5. and 6. comment lines and quoted fields on the fast paths ---------------------------


def test_a_comment_line_of_data_width_is_not_a_row(bce: Run, files: Files) -> None:
    files(d__csv="id,p,y\n1,0.800,1\n#,0.100,1\n3,0.300,0\n4,0.600,1\n")
    out = output(bce, "d.csv", "--pred-col", "p", "--target-col", "y")
    assert (out["count"], out["loss"]) == (3, TRUE)


def test_quoted_fields_never_take_the_fixed_width_path(bce: Run, files: Files) -> None:
    files(d__csv='a,b,p,y\n"a,b",0.5,1\n"c,d",0.5,1\n')
    assert refused(bce, "d.csv", "--pred-col", "p", "--target-col", "y") == \
        "bce: error: d.csv:2: has 3 fields, expected 4 like the first row\n"


# -- 7. duplicate keys and names -----------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "args", "message"), [
    ("d.json", '{"predictions": [0.5],\n "predictions": [0.9], "targets": [1]}', [],
     "d.json:2: duplicate key 'predictions'"),
    ("d.jsonl", '{"p": 0.9, "y": 1}\n{"p": 0.9, "p": 0.1, "y": 1}\n',
     ["--pred-col", "p", "--target-col", "y"], "d.jsonl:2: duplicate key 'p'"),
    ("d.csv", "p,p,y\n0.1,0.2,1\n", ["--pred-col", "p", "--target-col", "y"],
     "--pred-col 'p': d.csv has two columns of that name\n"
     "hint: give the column's 0-based position instead"),
])
def test_a_name_given_twice_is_refused(bce: Run, files: Files, name: str, content: str,
                                       args: list[str], message: str) -> None:
    files(**{name.replace(".", "__"): content})
    assert refused(bce, name, *args) == f"bce: error: {message}\n"


# -- 8. float32 clipping never reaches log(0) ----------------------------------------------

CLIP = json.loads((ROOT / "tests" / "golden" / "clip_cases.json").read_text())["cases"]


@pytest.mark.parametrize("case", CLIP, ids=[c["name"] for c in CLIP])
def test_sklearn_float32_clips_at_the_float32_epsilon(bce: Run, files: Files,
                                                     case: dict[str, object]) -> None:
    """scikit-learn's own numbers (scripts/make_golden_clip.py); float32 sums may differ
    from scikit-learn's in the last place, as they do from PyTorch's."""
    files(p__csv="".join(f"{v!r}\n" for v in case["predictions"]),  # type: ignore[attr-defined]
          y__csv="".join(f"{v}\n" for v in case["targets"]))  # type: ignore[attr-defined]
    got = loss_of(bce("compute", "p.csv", "y.csv", "--like", "sklearn", "--dtype", "float32",
                      "--json"))
    assert got == pytest.approx(case["sklearn_float32"], rel=1e-6)


def test_a_tiny_eps_in_float32_stays_finite(bce: Run, files: Files) -> None:
    files(p__csv="0\n1\n", y__csv="1\n0\n")
    tiny = loss_of(bce("compute", "p.csv", "y.csv", "--eps", "1e-8", "--dtype", "float32",
                       "--json"))
    assert tiny == loss_of(bce("compute", "p.csv", "y.csv", "--like", "sklearn", "--dtype",
                               "float32", "--json"))


# -- 10. --logits on probabilities ---------------------------------------------------------


def test_logits_that_look_like_probabilities_get_a_warning(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n", x__csv="2.5\n-1\n0.5\n")
    result = bce("compute", "p.csv", "y.csv", "--logits", "--json")
    assert result.exit_code == 0 and "loss" in json.loads(result.stdout)
    assert result.stderr == "bce: warning: every prediction is in [0, 1]: these look like " \
        "probabilities, not logits (drop --logits if so)\n"
    assert bce("compute", "x.csv", "y.csv", "--logits", "--json").stderr == ""


# -- 11. gzip is what the bytes say --------------------------------------------------------


def test_gzip_is_decided_by_the_bytes(bce: Run, files: Files) -> None:
    files(p__csv__gz=b"0.8\n0.3\n0.6\n", y__csv=gzip.compress(b"1\n0\n1\n"))
    assert output(bce, "p.csv.gz", "y.csv")["loss"] == TRUE


def test_predict_proba_against_n_targets_names_the_positive_column(bce: Run,
                                                                   files: Files) -> None:
    """scikit-learn's predict_proba is N×2, the positive class last."""
    buffer = io.BytesIO()
    np.save(buffer, np.array([[0.2, 0.8], [0.7, 0.3], [0.4, 0.6]]))
    files(p__npy=buffer.getvalue(), p__csv="0.2,0.8\n0.7,0.3\n0.4,0.6\n", y__csv="1\n0\n1\n")
    for preds in ("p.npy", "p.csv"):
        assert refused(bce, preds, "y.csv") == "bce: error: y.csv: targets have shape (N,) but " \
            "predictions have shape (N, 2)\nhint: predict_proba gives one column a class: pass " \
            "--pred-col 1 for the positive class\n"
        assert output(bce, preds, "y.csv", "--pred-col", "1")["loss"] == TRUE
