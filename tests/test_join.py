"""Rows paired by id (`--id-col`), and files paired by position checked by their ids.

Each file below holds the golden case (predictions [0.8, 0.3, 0.6] for ids a, b, c,
targets [1, 0, 1]) in another order, so the right pairing gives PyTorch's loss
`TRUE` and any other pairing a different number.
"""

from __future__ import annotations

import json

import pytest

from bcecli.readers import jsondoc
from tests.helpers import TRUE, Files, Run, output, refused

PREDICTIONS = "id,prediction\nc,0.6\na,0.8\nb,0.3\n"
TARGETS = "id,label\na,1\nb,0\nc,1\n"


def test_rows_in_different_orders_are_joined_by_id(bce: Run, files: Files) -> None:
    files(p__csv=PREDICTIONS, t__csv=TARGETS)
    out = output(bce, "p.csv", "t.csv", "--id-col", "id")
    assert out["loss"] == TRUE
    assert (out["id_col"], out["joined"], out["count"]) == ("id", 3, 3)
    assert out["unused_columns"] == {}  # the id column is used: it joined the rows


def test_per_element_losses_follow_the_predictions_order(bce: Run, files: Files) -> None:
    files(p__csv=PREDICTIONS, t__csv=TARGETS, a__csv="prediction\n0.6\n0.8\n0.3\n",
          b__csv="label\n1\n1\n0\n")
    joined = output(bce, "p.csv", "t.csv", "--id-col", "id", "-r", "none")["loss"]
    assert joined == output(bce, "a.csv", "b.csv", "-r", "none")["loss"]


def test_every_format_joins_with_every_other(bce: Run, files: Files) -> None:
    files(p__jsonl="".join(json.dumps({"id": i, "prediction": p}) + "\n"
                           for i, p in (("c", 0.6), ("a", 0.8), ("b", 0.3))),
          t__json=json.dumps([{"id": "b", "label": 0}, {"id": "c", "label": 1},
                              {"id": "a", "label": 1}]),
          t__tsv="id\tlabel\na\t1\nb\t0\nc\t1\n")
    assert output(bce, "p.jsonl", "t.json", "--id-col", "id")["loss"] == TRUE
    assert output(bce, "p.jsonl", "t.tsv", "--id-col", "id")["loss"] == TRUE


def test_weights_from_a_third_file_are_joined_too(bce: Run, files: Files) -> None:
    files(p__csv=PREDICTIONS, t__csv=TARGETS, w__csv="id,weight\nb,2\nc,2\na,2\n")
    out = output(bce, "p.csv", "t.csv", "--weights", "w.csv", "--weight-col", "weight",
                 "--id-col", "id")
    assert out["loss"] == pytest.approx(2 * TRUE, rel=1e-15)


def test_numbers_are_ids_by_value_as_pandas_reads_them(bce: Run, files: Files) -> None:
    files(p__csv="id,prediction\n3,0.6\n1,0.8\n2,0.3\n",
          t__json=json.dumps({"id": [1.0, 2, 3], "label": [1, 0, 1]}),
          z__csv="id,label\n001,1\n002,0\n003,1\n")
    assert output(bce, "p.csv", "t.json", "--id-col", "id")["loss"] == TRUE
    assert output(bce, "p.csv", "z.csv", "--id-col", "id")["loss"] == TRUE


def test_large_integer_ids_are_compared_exactly(bce: Run, files: Files) -> None:
    """Two ids one apart beyond 2**53 would be one float: they are two ids."""
    files(p__csv="id,prediction\n12345678901234567891,0.8\n12345678901234567890,0.3\n",
          t__csv="id,label\n12345678901234567890,0\n12345678901234567892,1\n")
    assert refused(bce, "p.csv", "t.csv", "--id-col", "id").splitlines()[0] == (
        "bce: error: p.csv:2: id 12345678901234567891 of p.csv is not in t.csv")


@pytest.mark.parametrize("big", [2**53, -(2**53) - 7, 10**20, 2**64 + 12345])
def test_large_integer_ids_in_json_are_their_digits(bce: Run, files: Files,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     big: int) -> None:
    """JSON integers are read as floats, but ids a unit apart beyond 2**52 are two ids: in
    JSON Lines and documents, small or streamed, and against CSV's text ids."""
    rows = [(big + 1, 0.8, 1), (big, 0.3, 0), (big + 2, 0.6, 1)]
    order = [1, 2, 0]
    files(p__jsonl="".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p, _ in rows),
          p__json=json.dumps({"id": [i for i, _, _ in rows], "p": [p for _, p, _ in rows]}),
          t__jsonl="".join(json.dumps({"id": rows[k][0], "label": rows[k][2]}) + "\n"
                           for k in order),
          t__csv="id,label\n" + "".join(f"{rows[k][0]},{rows[k][2]}\n" for k in order))
    for preds, targets in (("p.jsonl", "t.jsonl"), ("p.json", "t.jsonl"),
                           ("p.jsonl", "t.csv"), ("p.json", "t.csv")):
        out = output(bce, preds, targets, "--id-col", "id", "--pred-col", "1",
                     "--target-col", "label")
        assert (out["loss"], out["joined"]) == (TRUE, 3), (preds, targets)
    monkeypatch.setattr(jsondoc, "MAX_DOCUMENT", 10)  # the document streamed
    out = output(bce, "p.json", "t.csv", "--id-col", "id", "--pred-col", "p",
                 "--target-col", "label")
    assert (out["loss"], out["joined"]) == (TRUE, 3)


def test_pandas_index_is_one_id_column_whatever_its_name(bce: Run, files: Files) -> None:
    files(p__csv=",prediction\n7,0.6\n5,0.8\n6,0.3\n",
          t__csv="Unnamed: 0,label\n5,1\n6,0\n7,1\n")
    out = output(bce, "p.csv", "t.csv", "--id-col", "")
    assert (out["loss"], out["joined"]) == (TRUE, 3)


def test_skip_missing_leaves_out_joined_rows(bce: Run, files: Files) -> None:
    files(p__csv=PREDICTIONS + "d,0.5\n", t__csv=TARGETS + "d,\n")
    out = output(bce, "p.csv", "t.csv", "--id-col", "id", "--skip-missing")
    assert (out["loss"], out["joined"], out["skipped"]) == (TRUE, 4, 1)


def test_the_table_says_how_many_rows_were_joined(bce: Run, files: Files) -> None:
    files(p__csv=PREDICTIONS, t__csv=TARGETS)
    table = bce("compute", "p.csv", "t.csv", "--id-col", "id", "-f", "table").stdout
    assert "│ Joined      │ 3 rows by 'id' " in table


HINT_ONE_EACH = ("hint: --id-col pairs every row with the row of the same id in each input: an "
                 "id must be in all of them\n")


@pytest.mark.parametrize(("predictions", "targets", "message"), [
    (PREDICTIONS + "a,0.1\n", TARGETS,
     "p.csv:5: id 'a' is also at line 3: ids must be unique to join rows by them\n"),
    (PREDICTIONS, TARGETS + "b,1\n",
     "t.csv:5: id 'b' is also at line 3: ids must be unique to join rows by them\n"),
    (PREDICTIONS + "x,0.1\ny,0.2\nz,0.3\nw,0.4\n", TARGETS,
     "p.csv:5: 4 ids of p.csv are not in t.csv: 'x' (line 5), 'y' (line 6), 'z' (line 7), …\n"
     + HINT_ONE_EACH),
    (PREDICTIONS, TARGETS + "d,1\n",
     "t.csv:5: id 'd' of t.csv is not in p.csv\n" + HINT_ONE_EACH),
    ("id,prediction\nc,0.6\n,0.8\nNA,0.3\n", TARGETS,
     "p.csv:3: a missing id in column 'id' (and 1 more: line 4)\n"
     "hint: every row needs its id to be joined by --id-col\n"),
])
def test_ids_that_cannot_be_joined_are_refused(bce: Run, files: Files, predictions: str,
                                               targets: str, message: str) -> None:
    files(p__csv=predictions, t__csv=targets)
    assert refused(bce, "p.csv", "t.csv", "--id-col", "id") == f"bce: error: {message}"


@pytest.mark.parametrize(("args", "message"), [
    (("p.csv", "t.csv", "--id-col", "key"),
     "--id-col 'key': no such column in p.csv (columns: id, prediction)"),
    (("p.csv", "t.csv", "--id-col", "id", "--pred-col", "id"),
     "column 'id' of p.csv is the --id-col: it cannot also be the predictions"),
    (("p.csv", "--id-col", "id"),
     "--id-col joins the rows of PREDICTIONS and TARGETS by id: pass a TARGETS file"),
    (("o.json", "--id-col", "id"),
     "--id-col joins rows of several files: a JSON object with its own targets has nothing "
     "to join"),
])
def test_id_col_options_that_make_no_sense_are_refused(bce: Run, files: Files,
                                                       args: tuple[str, ...],
                                                       message: str) -> None:
    files(p__csv=PREDICTIONS, t__csv=TARGETS,
          o__json='{"predictions": [0.8], "targets": [1]}')
    assert refused(bce, *args).splitlines()[0] == f"bce: error: {message}"


# -- pairing by position, checked ---------------------------------------------------------


def test_files_in_different_orders_are_refused_by_their_shared_id(bce: Run,
                                                                  files: Files) -> None:
    files(p__csv=PREDICTIONS, t__csv=TARGETS)
    assert refused(bce, "p.csv", "t.csv") == (
        "bce: error: p.csv:2: the rows are in different orders: column 'id' is 'c' here but "
        "'a' at t.csv:2\nhint: pass --id-col id to pair the rows by it\n")


def test_a_late_difference_is_found_too(bce: Run, files: Files) -> None:
    ids = [str(i) for i in range(3000)]
    swapped = [*ids[:2500], ids[2501], ids[2500], *ids[2502:]]
    files(p__csv="image_id,p\n" + "".join(f"{i},0.5\n" for i in ids),
          t__csv="image_id,y\n" + "".join(f"{i},1\n" for i in swapped))
    assert refused(bce, "p.csv", "t.csv").splitlines()[0] == (
        "bce: error: p.csv:2502: the rows are in different orders: column 'image_id' is 2500 "
        "here but 2501 at t.csv:2502")


def test_pandas_index_in_different_orders_is_refused(bce: Run, files: Files) -> None:
    """`df.sample(frac=1).to_csv()` next to the unshuffled targets."""
    files(p__csv=",prediction\n2,0.6\n0,0.8\n1,0.3\n",
          t__csv="Unnamed: 0,label\n0,1\n1,0\n2,1\n")
    assert refused(bce, "p.csv", "t.csv") == (
        "bce: error: p.csv:2: the rows are in different orders: pandas' index is 2 here but 0 "
        "at t.csv:2\nhint: pass --id-col '' to pair the rows by it\n")
    assert output(bce, "p.csv", "t.csv", "--id-col", "")["loss"] == TRUE


def test_a_default_index_is_row_numbers_not_ids(bce: Run, files: Files) -> None:
    """`pd.DataFrame(model.predict_proba(X_test)[:, 1]).to_csv()` beside `y_test.to_csv()`:
    the predictions' index is 0, 1, 2 (no ids), the targets' the rows the split drew."""
    files(p__csv=",0\n0,0.8\n1,0.3\n2,0.6\n", t__csv=",label\n41,1\n7,0\n19,1\n")
    assert output(bce, "p.csv", "t.csv")["loss"] == TRUE


def test_a_named_id_column_of_row_numbers_is_still_ids(bce: Run, files: Files) -> None:
    files(p__csv="id,prediction\n0,0.8\n1,0.3\n2,0.6\n", t__csv="id,label\n2,1\n0,1\n1,0\n")
    assert refused(bce, "p.csv", "t.csv").splitlines()[0] == (
        "bce: error: p.csv:2: the rows are in different orders: column 'id' is 0 here but 2 "
        "at t.csv:2")


def test_files_in_the_same_order_pass_the_check(bce: Run, files: Files) -> None:
    files(p__csv="filename,prediction\na.png,0.8\nb.png,0.3\n,0.6\n",
          t__csv="filename,label\na.png,1\nb.png,0\nc.png,1\n")
    assert output(bce, "p.csv", "t.csv")["loss"] == TRUE  # a missing id is no difference


def test_id_columns_are_never_read_as_predictions(bce: Run, files: Files) -> None:
    files(d__csv="id,a,y\n7,0.8,1\n8,0.3,0\n9,0.6,1\n")
    out = output(bce, "d.csv")
    assert out["loss"] == TRUE
    assert out["columns"]["predictions"] == "a" and out["unused_columns"] == {"d.csv": ["id"]}


def test_list_columns_are_joined_and_checked(bce: Run, files: Files) -> None:
    """Multi-label list fields: the join gives what the same rows in one order give."""
    files(p__jsonl='{"id": "b", "probs": [0.3, 0.6], "w": 1}\n'
                   '{"id": "a", "probs": [0.8, 0.3], "w": 2}\n',
          t__jsonl='{"id": "a", "labels": [1, 0]}\n{"id": "b", "labels": [0, 1]}\n',
          s__jsonl='{"id": "a", "probs": [0.8, 0.3], "w": 2}\n'
                   '{"id": "b", "probs": [0.3, 0.6], "w": 1}\n')
    for extra in ((), ("--weight-col", "w")):
        joined = output(bce, "p.jsonl", "t.jsonl", "--id-col", "id", *extra)
        assert joined["loss"] == output(bce, "s.jsonl", "t.jsonl", *extra)["loss"]
        assert joined["shape"] == [2, 2]
    assert refused(bce, "p.jsonl", "t.jsonl").splitlines()[0] == (
        "bce: error: p.jsonl:1: the rows are in different orders: column 'id' is 'b' here but "
        "'a' at t.jsonl:1")
