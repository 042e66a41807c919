"""Issue 10: class labels (`--pos-label`) and European CSV (`--decimal ,`).

Every input that can be read gives exactly the loss of the same data written as
0/1 targets with a decimal point (held to PyTorch by the golden tests); every
refusal is one located line, a hint where one helps, exit 2 and nothing on stdout.
"""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pytest

from bcecli.readers import arrow, base, text
from tests.helpers import TRUE, Files, Run, loss_of, output, refused

LABEL_HINT = "hint: the labels seen are 'yes' and 'no': pass --pos-label with the positive " \
    "one (it becomes 1, the other 0)\n"
THIRD_HINT = "hint: --pos-label reads a column of two labels, one of them positive\n"


# -- --pos-label ----------------------------------------------------------------------------


@pytest.mark.parametrize(("files_", "args"), [
    ({"d__csv": "p,y\n0.8,yes\n0.3,no\n0.6,yes\n"}, ["d.csv", "--pos-label", "yes"]),
    ({"d__csv": "p,y\n0.8,no\n0.3,yes\n0.6,no\n"}, ["d.csv", "--pos-label", "no"]),
    ({"d__tsv": "p\ty\n0.8\t\"malignant\"\n0.3\tbenign\n0.6\tmalignant\n"},
     ["d.tsv", "--pos-label", "malignant"]),
    ({"d__csv": "p,y\n0.8,4\n0.3,2\n0.6,4\n"}, ["d.csv", "--pos-label", "4"]),
    ({"d__csv": "p,y\n0.8,4.0\n0.3,2.0\n0.6,4.0\n"}, ["d.csv", "--pos-label", "4"]),
    ({"d__csv": "p,y\n0.8,4\n0.3,2\n0.6,4\n"}, ["d.csv", "--pos-label", "4.0"]),
    ({"d__csv": "p,y\n0.8,True\n0.3,False\n0.6,True\n"}, ["d.csv", "--pos-label", "true"]),
    ({"d__csv": "p,y\n0.8,1\n0.3,0\n0.6,1\n"}, ["d.csv", "--pos-label", "1"]),
    ({"p__csv": "0.8\n0.3\n0.6\n", "y__txt": "cat\ndog\ncat\n"},
     ["p.csv", "y.txt", "--pos-label", "cat"]),
    ({"d__jsonl": '{"p": 0.8, "y": "yes"}\n{"p": 0.3, "y": "no"}\n{"p": 0.6, "y": "yes"}\n'},
     ["d.jsonl", "--pred-col", "p", "--target-col", "y", "--pos-label", "yes"]),
    ({"d__json": '[{"p": 0.8, "y": "yes"}, {"p": 0.3, "y": "no"}, {"p": 0.6, "y": "yes"}]'},
     ["d.json", "--pred-col", "p", "--target-col", "y", "--pos-label", "yes"]),
    ({"d__json": '{"y": {"0": "yes", "1": "no", "2": "yes"}, "p": {"0": 0.8, "1": 0.3, '
      '"2": 0.6}}'}, ["d.json", "--pred-col", "p", "--target-col", "y", "--pos-label", "yes"]),
    ({"d__json": '{"predictions": [0.8, 0.3, 0.6], "targets": ["4", "2", "4"]}'},
     ["d.json", "--pos-label", "4"]),
    ({"p__npy": b"", "y__npy": b""}, ["p.npy", "y.npy", "--pos-label", "4"]),
])
def test_labels_read_as_zero_and_one(bce: Run, files: Files, files_: dict[str, str | bytes],
                                     args: list[str]) -> None:
    if "p__npy" in files_:  # numeric labels in a binary format: the arrays' own path
        files_ = {"p__npy": npy(np.array([0.8, 0.3, 0.6])),
                  "y__npy": npy(np.array([4, 2, 4], dtype=np.int8))}
    files(**files_)
    out = output(bce, *args)
    assert out["loss"] == TRUE
    assert isinstance(out["labels"], dict) and out["labels"]["0"] is not None


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_the_result_says_which_label_became_one(bce: Run, files: Files) -> None:
    files(d__csv="p,y\n0.8,malignant\n0.3,benign\n0.6,malignant\n")
    assert output(bce, "d.csv", "--pos-label", "malignant")["labels"] == \
        {"1": "malignant", "0": "benign"}
    table = bce("compute", "d.csv", "--pos-label", "malignant", "-f", "table").stdout
    assert "│ Labels      │ 'malignant' → 1, 'benign' → 0" in table
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n")
    assert "labels" not in output(bce, "p.csv", "y.csv")  # only where --pos-label is given


def test_labels_are_streamed_block_by_block(bce: Run, files: Files,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The second label first appears in a later block; a third one there is still found."""
    monkeypatch.setattr(base, "BLOCK_BYTES", 64)
    rows = ["p,y"] + ["0.8,yes"] * 40 + ["0.3,no"] + ["0.6,yes"] * 10
    files(d__csv="\n".join(rows) + "\n")
    expected = loss_of(bce("compute", "d.csv", "--json", "--pos-label", "yes"))
    files(p__csv="\n".join(r.split(",")[0] for r in rows[1:]) + "\n",
          y__csv="\n".join("1" if r.endswith("yes") else "0" for r in rows[1:]) + "\n")
    assert loss_of(bce("compute", "p.csv", "y.csv", "--json")) == expected
    files(d__csv="\n".join([*rows, "0.5,maybe"]) + "\n")
    assert refused(bce, "d.csv", "--pos-label", "yes") == (
        "bce: error: d.csv:53: a third label 'maybe' in column 'y': the targets are 'yes' (1) "
        "and 'no' (0)\n" + THIRD_HINT)


def test_numeric_labels_on_the_fast_paths(bce: Run, files: Files,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """2/4 labels read by the fixed-width path, numpy's parser and pyarrow's alike."""
    rng = np.random.default_rng(10)
    p = np.round(rng.uniform(0.01, 0.99, 300), 6).tolist()
    y = rng.integers(0, 2, 300).tolist()
    files(d__csv="p,y\n" + "".join(f"{a:.6f},{2 + 2 * b}\n" for a, b in zip(p, y, strict=True)),
          e__csv="p,y\n" + "".join(f"{a!r},{2 + 2 * b}\n" for a, b in zip(p, y, strict=True)),
          f__csv="p,y\n" + "".join(f"{a!r},{b}\n" for a, b in zip(p, y, strict=True)))
    expected = loss_of(bce("compute", "f.csv", "--json"))
    for name in ("d.csv", "e.csv"):
        assert loss_of(bce("compute", name, "--json", "--pos-label", "4")) == expected
    if arrow.available():
        monkeypatch.setattr(arrow, "MIN_BYTES", 0)
        assert loss_of(bce("compute", "e.csv", "--json", "--pos-label", "4")) == expected
        files(g__csv="p,y\n" + "".join(f"{a!r},{'yes' if b else 'no'}\n"
                                       for a, b in zip(p, y, strict=True)))
        assert loss_of(bce("compute", "g.csv", "--json", "--pos-label", "yes")) == expected


@pytest.mark.parametrize(("content", "args", "message"), [
    ("p,y\n0.8,yes\n0.3,no\n0.6,yes\n", [],
     "d.csv:2: 'yes' in column 'y' is not a number\n" + LABEL_HINT),
    ("p,y\n0.8,yes\n0.3,yes\n", [], "d.csv:2: 'yes' in column 'y' is not a number\nhint: the "
     "label seen is 'yes': pass --pos-label with the positive one (it becomes 1, the other 0)\n"),
    ("p,y\n0.8,yes\n0.3,no\n0.6,maybe\n", [],
     "d.csv:2: 'yes' in column 'y' is not a number\n"),  # three labels: no --pos-label hint
    ("p,y\n0.8,yes\n0.3,no\n0.6,maybe\n", ["--pos-label", "yes"],
     "d.csv:4: a third label 'maybe' in column 'y': the targets are 'yes' (1) and 'no' (0)\n"
     + THIRD_HINT),
    ("p,y\n0.8,a\n0.3,b\n0.6,yes\n", ["--pos-label", "yes"],
     "d.csv:3: the labels in column 'y' are 'a' and 'b', and neither is --pos-label 'yes'\n"),
    ("p,y\n0.8,yes\n0.3,no\n", ["--pos-label", "Yes"],
     "d.csv:2: label 'yes' in column 'y' differs from --pos-label 'Yes' only in case\n"
     "hint: labels are compared exactly: pass --pos-label 'yes'\n"),
    ("p,y\n0.8,4\n0.3,2\n0.6,3\n", ["--pos-label", "4"],
     "d.csv:4: a third label 3 in column 'y': the targets are 4 (1) and 2 (0)\n" + THIRD_HINT),
    ("p,y\n0.8,4\n0.3,2\n", [], "d.csv:2: target 4.0 in column 'y' is outside [0, 1]\nhint: if "
     "the targets are class labels, pass --pos-label with the positive one (it becomes 1, the "
     "other 0)\n"),
    ("p,y\n0.8,yes\n0.3,no\n", ["--pos-label", "NA"],
     "--pos-label 'NA' is not a label (it reads as a missing value)\n"),
    ("p,y\n0.8,yes\n0.3,NA\n", ["--pos-label", "yes"],
     "d.csv:3: a missing value in column 'y'\nhint: pass --skip-missing to leave out every row "
     "with a missing value, in all the inputs alike\n"),
])
def test_label_refusals(bce: Run, files: Files, content: str, args: list[str],
                        message: str) -> None:
    files(d__csv=content)
    assert refused(bce, "d.csv", *args) == f"bce: error: {message}"


def test_label_refusals_in_json_and_parquet(bce: Run, files: Files) -> None:
    files(d__jsonl='{"p": 0.8, "y": "yes"}\n{"p": 0.3, "y": [1]}\n',
          e__json='{"p": [0.8, 0.3], "y": ["yes", "no"]}')
    assert refused(bce, "d.jsonl", "--pred-col", "p", "--target-col", "y", "--pos-label",
                   "yes") == "bce: error: d.jsonl:2: [1.0] in column 'y' is not a label\n"
    assert refused(bce, "e.json", "--pred-col", "p", "--target-col", "y") == (
        "bce: error: e.json:1: \"yes\" in column 'y' is not a number\n" + LABEL_HINT)
    if not arrow.available():
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"y_true": pa.array(["yes", "no", "yes"]).dictionary_encode(),
                      "y_pred": [0.8, 0.3, 0.6]})
    pq.write_table(table, "d.parquet")
    assert refused(bce, "d.parquet") == ("bce: error: d.parquet: column 'y_true' holds string, "
                                         "not numbers\n" + LABEL_HINT)
    assert output(bce, "d.parquet", "--pos-label", "yes")["loss"] == TRUE


def test_a_positive_label_never_seen_warns(bce: Run, files: Files) -> None:
    files(d__csv="p,y\n0.8,no\n0.3,no\n")
    result = bce("compute", "d.csv", "--pos-label", "yes", "-f", "plain")
    assert result.exit_code == 0
    assert result.stderr == "bce: warning: no target is --pos-label 'yes': every target is 0 " \
        "(every label is 'no')\n"


def test_pos_label_applies_to_targets_only(bce: Run, files: Files) -> None:
    files(d__csv="p,y\nhigh,yes\n0.3,no\n")
    assert refused(bce, "d.csv", "--pos-label", "yes") == \
        "bce: error: d.csv:2: 'high' in column 'p' is not a number\n"


def test_pos_label_in_compare(bce: Run, files: Files) -> None:
    files(d__csv="p,y\n0.8,yes\n0.3,no\n0.6,yes\n")
    result = bce("compare", "d.csv", "--pos-label", "yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["labels"] == {"1": "yes", "0": "no"}


# -- --decimal , ----------------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    "y_true;y_pred\n1;0,8\n0;0,3\n1;0,6\n",  # pandas to_csv(sep=";", decimal=",")
    ";y_true;y_pred\n0;1;0,8\n1;0;0,3\n2;1;0,6\n",  # the same with its index
    'y_true,y_pred\n1,"0,8"\n0,"0,3"\n1,"0,6"\n',  # to_csv(decimal=","): quoted cells
    "y_true\ty_pred\n1\t0,8\n0\t0,3\n1\t0,6\n",
    "y_true;y_pred;\r\n1;0,800000;\r\n0;0,300000;\r\n1;0,600000;\r\n",  # fixed width, CRLF
    "y_true;y_pred\n1;8e-1\n0;3,0E-1\n1;0,6\n",
])
def test_european_csv(bce: Run, files: Files, content: str) -> None:
    files(d__csv=content)
    assert loss_of(bce("compute", "d.csv", "--decimal", ",", "--json")) == TRUE


def test_european_csv_one_column_and_stdin(bce: Run, files: Files) -> None:
    files(p__csv="0,8\n0,3\n0,6\n", y__csv="1\n0\n1\n", h__csv="y_pred\n0,8\n0,3\n0,6\n")
    for name in ("p.csv", "h.csv"):
        assert loss_of(bce("compute", name, "y.csv", "--decimal", ",", "--json")) == TRUE
    result = bce("compute", "-", "y.csv", "--decimal", ",", "--json", input=b"0,8\n0,3\n0,6\n")
    assert loss_of(result) == TRUE


def test_european_csv_is_exact_on_every_path(bce: Run, files: Files) -> None:
    """The fast paths read swapped bytes: the same floats as Python's float() of each cell."""
    rng = np.random.default_rng(7)
    p = rng.uniform(0.001, 0.999, 2000).tolist()
    y = rng.integers(0, 2, 2000).tolist()
    point = "".join(f"{a!r};{b}\n" for a, b in zip(p, y, strict=True))
    files(d__csv=point.replace(".", ","), e__csv=point,
          f__csv="".join(f"{a:.6f};{b}\n" for a, b in zip(p, y, strict=True)).replace(".", ","),
          g__csv="".join(f"{a:.6f};{b}\n" for a, b in zip(p, y, strict=True)))
    assert loss_of(bce("compute", "d.csv", "--decimal", ",", "--json")) == \
        loss_of(bce("compute", "e.csv", "--json"))
    assert loss_of(bce("compute", "f.csv", "--decimal", ",", "--json")) == \
        loss_of(bce("compute", "g.csv", "--json"))
    parsed = text.parse_block(b"0,8;1\n0,25;0\n", [0, 1], 2, ";", "d.csv", 1, 0, None,
                              decimal=",")
    assert parsed.values.tolist() == [[0.8, 1.0], [0.25, 0.0]]


@pytest.mark.parametrize(("content", "args", "message"), [
    ("y_true;y_pred\n1;0,8\n0;0,3\n", [], "d.csv:2: '0,8' in column 'y_pred' is not a number\n"
     "hint: this looks like a decimal comma: pass --decimal ,\n"),
    ('y_true,y_pred\n1,"0,8"\n', [], "d.csv:2: '0,8' in column 'y_pred' is not a number\n"
     "hint: this looks like a decimal comma: pass --decimal ,\n"),
    ("y_true;y_pred\n1;0,8\n0;0.3\n", ["--decimal", ","],
     "d.csv:3: '0.3' in column 'y_pred' is not a number\nhint: with --decimal , a '.' in a "
     "number is refused (a thousands separator?)\n"),
    ("y_true;y_pred\n1;1.000,5\n", ["--decimal", ","],
     "d.csv:2: '1.000,5' in column 'y_pred' is not a number\n"),
    ("0,5\n1,0,8\n", ["--decimal", ","],  # a comma between digits is the decimal mark
     "d.csv:2: '1,0,8' in column 0 is not a number\n"),
])
def test_decimal_refusals(bce: Run, files: Files, content: str, args: list[str],
                          message: str) -> None:
    files(d__csv=content, y__csv="1\n0\n")
    more = ["y.csv"] if content.startswith("0,5") else []
    assert refused(bce, "d.csv", *more, *args) == f"bce: error: {message}"


def test_decimal_comma_leaves_the_header_rule_alone(bce: Run, files: Files) -> None:
    """`0,8` on the first line is a number with --decimal , (so data, not a header)."""
    files(p__csv="0,8\n0,3\n0,6\n", y__csv="1\n0\n1\n")
    out = output(bce, "p.csv", "y.csv", "--decimal", ",")
    assert out["count"] == 3


def test_decimal_comma_on_gzip_and_labels(bce: Run, files: Files) -> None:
    files(d__csv=gzip.compress(b"y;p\nja;0,8\nnein;0,3\nja;0,6\n"))
    assert loss_of(bce("compute", "d.csv", "--decimal", ",", "--pos-label", "ja",
                       "--json")) == TRUE
