"""`bce compute` in-process: every input format, every option, every error message."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pytest

from bcecli import __version__
from bcecli.readers import jsondoc
from tests.helpers import TRUE, Files, Run, loss_of

P, Y = "0.8\n0.3\n0.6\n", "1\n0\n1\n"
MISSING_HINT = "\nhint: pass --skip-missing to leave out every row with a missing value, in all " \
    "the inputs alike"


def npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


# -- inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize(("inputs", "args"), [
    (dict(p__csv=P, y__csv=Y), ["p.csv", "y.csv"]),
    (dict(p__csv="prob\n0.8\n0.3\n0.6\n", y__csv="label\n1\n0\n1\n"), ["p.csv", "y.csv"]),
    (dict(p__csv="\ufeffp\r\n0.8\r\n0.3\r\n0.6", y__csv=Y), ["p.csv", "y.csv"]),
    (dict(p__csv='"0.8"\n"0.3"\n"0.6"\n', y__csv='"1"\n"0"\n"1"\n'), ["p.csv", "y.csv"]),
    (dict(p__csv=P, y__csv="true\nFalse\nTRUE\n"), ["p.csv", "y.csv"]),
    (dict(p__csv=P, y__csv="1.0\n0.0\n1.0\n"), ["p.csv", "y.csv"]),
    (dict(d__csv="p,y\n0.8,1\n0.3,0\n0.6,1\n"), ["d.csv"]),
    (dict(d__csv="0.8;1\n0.3;0\n0.6;1\n"), ["d.csv"]),
    (dict(d__tsv="p\ty\n0.8\t1\n0.3\t0\n0.6\t1\n"), ["d.tsv"]),
    (dict(d__txt="# whitespace\n0.8  1\n# note\n0.3 0\n 0.6\t1\n\n"), ["d.txt"]),
    (dict(d__dat="0.8,1\n0.3,0\n0.6,1\n"), ["d.dat"]),
    (dict(d__csv="id,p,y\na,0.8,1\nb,0.3,0\nc,0.6,1\n"), ["d.csv", "--pred-col", "p",
                                                         "--target-col", "y"]),
    (dict(d__csv="id,p,y\na,0.8,1\nb,0.3,0\nc,0.6,1\n"), ["d.csv", "--pred-col", "1",
                                                         "--target-col", "2"]),
    (dict(p__json="[0.8, 0.3, 0.6]", y__json="[true, false, true]"), ["p.json", "y.json"]),
    (dict(d__json="[[0.8, 1], [0.3, 0], [0.6, 1]]"), ["d.json"]),
    (dict(d__json='{"predictions": [0.8, 0.3, 0.6], "targets": [1, 0, 1]}'), ["d.json"]),
    (dict(d__jsonl='{"p": 0.8, "y": 1}\n{"p": 0.3, "y": 0}\n{"p": 0.6, "y": 1}\n'),
     ["d.jsonl", "--pred-col", "p", "--target-col", "y"]),
    (dict(d__ndjson="[0.8, 1]\n[0.3, 0]\n[0.6, 1]\n\n"), ["d.ndjson"]),
    (dict(p__jsonl="0.8\n0.3\n0.6\n", y__jsonl="1\n0\n1\n"), ["p.jsonl", "y.jsonl"]),
    (dict(p__npy=npy(np.array([0.8, 0.3, 0.6])), y__npy=npy(np.array([1, 0, 1], np.uint8))),
     ["p.npy", "y.npy"]),
    (dict(p__npy=npy(np.array([[0.8], [0.3], [0.6]])[:, 0]),
          y__npy=npy(np.array([True, False, True]))), ["p.npy", "y.npy"]),
    (dict(p__csv__gz=gzip.compress(P.encode()), y__json__gz=gzip.compress(b"[1, 0, 1]")),
     ["p.csv.gz", "y.json.gz"]),
])
def test_every_input_format_gives_the_same_loss(bce: Run, files: Files,
                                                inputs: dict[str, str | bytes],
                                                args: list[str]) -> None:
    files(**inputs)
    assert loss_of(bce("compute", *args, "--json")) == TRUE


@pytest.mark.parametrize(("stdin", "args"), [
    (P, ["-", "y.csv"]),
    ("0.8,1\n0.3,0\n0.6,1\n", ["-"]),
    ("[0.8, 0.3, 0.6]", ["-", "y.csv"]),
    ('{"predictions": [0.8, 0.3, 0.6], "targets": [1, 0, 1]}', ["-"]),
    ("[0.8, 1]\n[0.3, 0]\n[0.6, 1]\n", ["-"]),
    ("0.8\t1\n0.3\t0\n0.6\t1\n", ["-", "--input-format", "tsv"]),
    ("0.8\n0.3\n0.6\n", ["-", "y.csv", "--input-format", "jsonl"]),
    ("[0.8, 0.3, 0.6]", ["-", "y.csv", "--input-format", "json"]),
    ("0.8,1\n0.3,0\n0.6,1\n", ["-", "--input-format", "csv"]),
])
def test_stdin_is_sniffed_or_told(bce: Run, files: Files, stdin: str, args: list[str]) -> None:
    files(y__csv=Y)
    assert loss_of(bce("compute", *args, "--json", input=stdin)) == TRUE


@pytest.mark.parametrize("stdin", [
    '{"p": 0.8, "y": 1}\n{"p": 0.3, "y": 0}\n{"p": 0.6, "y": 1}\n',  # JSON Lines
    '{"p": 0.8, "y": 1}\n{"p": 0.3, "y": 0}\r\n{"p": 0.6, "y": 1}',  # CRLF, no last newline
    '{"p": [0.8, 0.3, 0.6],\n "y": [1, 0, 1]}\n',  # a document over two lines
    '{\n  "p": [0.8, 0.3, 0.6],\n  "y": [1, 0, 1]\n}\n',  # pretty-printed
    '{"p": [0.8, 0.3, 0.6], "y": [1, 0, 1]}\n\n',  # a document and blank lines
])
def test_json_lines_on_stdin_stream_past_the_document_bound(
        bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch, stdin: str) -> None:
    """JSON Lines on stdin are told from a document by their first line, a whole value with
    more after it, so they stream however big; so do documents of flat arrays, as from a file
    (tests/test_json_stdin.py)."""
    args = ("compute", "-", "--pred-col", "p", "--target-col", "y", "--json")
    assert loss_of(bce(*args, input=stdin)) == TRUE
    monkeypatch.setattr(jsondoc, "MAX_DOCUMENT", 20)  # every input here is larger
    assert loss_of(bce(*args, input=stdin)) == TRUE


def test_stdin_can_be_the_targets_and_binary(bce: Run, files: Files) -> None:
    files(p__csv=P)
    assert loss_of(bce("compute", "p.csv", "-", "--json", input=Y)) == TRUE
    gz = gzip.compress(Y.encode())
    assert loss_of(bce("compute", "p.csv", "-", "--json", input=gz)) == TRUE
    raw = npy(np.array([1.0, 0.0, 1.0]))
    assert loss_of(bce("compute", "p.csv", "-", "--json", input=raw)) == TRUE


def test_header_options(bce: Run, files: Files) -> None:
    files(d__csv="1,0\n0.8,1\n0.3,0\n0.6,1\n")
    detected = json.loads(bce("compute", "d.csv", "--json").stdout)
    assert detected["count"] == 4  # a numeric first row is data
    assert loss_of(bce("compute", "d.csv", "--json", "--header")) == TRUE
    result = bce("compute", "d.csv", "--json", "--header", "--pred-col", "1", "--target-col", "0")
    assert (result.exit_code, result.stdout) == (2, "")  # a name and a position disagree
    assert result.stderr == "bce: error: --pred-col '1': in d.csv that is both the name of " \
        "column 0 and the position of column '0'\nhint: rename the column, or pass --no-header " \
        "to use positions\n"
    files(h__csv="p,y\n0.8,1\n")
    forced = bce("compute", "h.csv", "--no-header")
    assert (forced.exit_code, forced.stdout) == (2, "")
    assert forced.stderr == "bce: error: h.csv:1: 'p' in column 0 is not a number\n"


def test_multilabel_matrix(bce: Run, files: Files) -> None:
    files(p__csv="a,b\n0.9,0.2\n0.1,0.8\n", y__csv="a,b\n1,0\n0,1\n",
          p__json="[[0.9, 0.2], [0.1, 0.8]]", y__json="[[1, 0], [0, 1]]",
          d__csv="pa,pb,ya,yb\n0.9,0.2,1,0\n0.1,0.8,0,1\n")
    csv = json.loads(bce("compute", "p.csv", "y.csv", "--json").stdout)
    assert csv["shape"] == [2, 2] and csv["count"] == 4
    assert loss_of(bce("compute", "p.json", "y.json", "--json")) == csv["loss"]
    picked = bce("compute", "d.csv", "--pred-col", "pa,pb", "--target-col", "2,3", "--json")
    assert loss_of(picked) == csv["loss"]


# -- options ----------------------------------------------------------------------------


def test_logits_and_its_alias(bce: Run, files: Files) -> None:
    files(x__csv="0.2\n-1.0\n3.0\n0.5\n", y__csv="1\n0\n1\n0\n")
    logits = loss_of(bce("compute", "x.csv", "y.csv", "--logits", "--json"))
    assert logits == pytest.approx(0.4835162231634158, rel=1e-15)
    assert loss_of(bce("compute", "x.csv", "y.csv", "--sigmoid", "--json")) == logits


def test_reductions_and_weights(bce: Run, files: Files) -> None:
    files(p__csv=P, y__csv=Y, w__csv="1\n2\n0.5\n")
    none = json.loads(bce("compute", "p.csv", "y.csv", "-r", "none", "--json").stdout)["loss"]
    total = loss_of(bce("compute", "p.csv", "y.csv", "--reduction", "sum", "--json"))
    assert len(none) == 3 and total == pytest.approx(sum(none))
    weighted = [w * v for w, v in zip([1, 2, 0.5], none, strict=True)]
    mean = loss_of(bce("compute", "p.csv", "y.csv", "--weights", "w.csv", "--json"))
    assert mean == pytest.approx(sum(weighted) / 3)
    wmean = bce("compute", "p.csv", "y.csv", "--weights", "w.csv", "-r", "weighted-mean", "--json")
    assert loss_of(wmean) == pytest.approx(sum(weighted) / 3.5)


def test_weight_matrix_and_class_weights(bce: Run, files: Files) -> None:
    files(p__json="[[0.9, 0.2], [0.1, 0.8]]", y__json="[[1, 0], [0, 1]]",
          w__json="[[1, 2], [1, 2]]", r__csv="2\n2\n")
    matrix = loss_of(bce("compute", "p.json", "y.json", "--weights", "w.json", "--json"))
    classes = loss_of(bce("compute", "p.json", "y.json", "--class-weights", "1,2", "--json"))
    assert matrix == classes
    both = bce("compute", "p.json", "y.json", "--weights", "r.csv", "--class-weights", "0.5,1",
               "--json")
    assert loss_of(both) == pytest.approx(classes)


def test_pos_weight(bce: Run, files: Files) -> None:
    files(p__csv=P, y__csv=Y)
    one = loss_of(bce("compute", "p.csv", "y.csv", "--pos-weight", "1", "--json"))
    assert one == TRUE
    more = loss_of(bce("compute", "p.csv", "y.csv", "--pos-weight", "2", "-r", "sum", "--json"))
    base = json.loads(bce("compute", "p.csv", "y.csv", "-r", "none", "--json").stdout)["loss"]
    assert more == pytest.approx(2 * base[0] + base[1] + 2 * base[2])


def test_label_smoothing_eps_and_dtype(bce: Run, files: Files) -> None:
    files(p__csv="0.0\n1.0\n", y__csv="1\n1\n", q__csv="0.9\n", z__csv="1\n")
    assert loss_of(bce("compute", "p.csv", "y.csv", "--json")) == 50.0  # the -100 clamp
    clipped = loss_of(bce("compute", "p.csv", "y.csv", "--eps", "1e-7", "--json"))
    assert clipped == pytest.approx(-np.log(1e-7) / 2)
    smooth = bce("compute", "q.csv", "z.csv", "--label-smoothing", "0.2", "--json")
    assert loss_of(smooth) == pytest.approx(-(0.9 * np.log(0.9) + 0.1 * np.log(0.1)))
    single = json.loads(bce("compute", "q.csv", "z.csv", "--dtype", "float32", "--json").stdout)
    assert single["dtype"] == "float32" and single["loss"] == float(np.float32(single["loss"]))
    assert single["loss"] == pytest.approx(-np.log(0.9), rel=1e-6)


def test_focal_options(bce: Run, files: Files) -> None:
    files(p__csv=P, y__csv=Y)
    plain = loss_of(bce("compute", "p.csv", "y.csv", "--json"))
    assert loss_of(bce("compute", "p.csv", "y.csv", "--focal-gamma", "0", "--json")) == plain
    focused = json.loads(bce("compute", "p.csv", "y.csv", "--focal-gamma", "2", "--focal-alpha",
                             "0.25", "--json").stdout)
    assert focused["loss"] < plain and (focused["focal_gamma"], focused["focal_alpha"]) == (2, 0.25)
    for args, message in ((["--focal-alpha", "0.5"], "focal alpha needs a focal gamma"),
                          (["--focal-gamma", "-1"], "focal gamma must be >= 0, not -1.0"),
                          (["--focal-gamma", "1", "--focal-alpha", "2"],
                           "focal alpha must be in [0, 1], not 2.0")):
        result = bce("compute", "p.csv", "y.csv", *args)
        assert (result.exit_code, result.stderr) == (2, f"bce: error: {message}\n")


def test_json_output_keys(bce: Run, files: Files) -> None:
    files(p__csv=P, y__csv=Y)
    out = json.loads(bce("compute", "p.csv", "y.csv", "--json").stdout)
    assert out == {"loss": TRUE, "reduction": "mean", "count": 3, "shape": [3],
                   "from_logits": False, "dtype": "float64", "predictions": "p.csv",
                   "targets": "y.csv", "weights": None,
                   "columns": {"predictions": 0, "targets": 0, "weights": None},
                   "unused_columns": {}, "skipped": 0, "class_weights": None,
                   "pos_weight": None, "label_smoothing": 0.0, "eps": None,
                   "focal_gamma": None, "focal_alpha": None, "like": None, "pos_label": None,
                   "max_loss": None,
                   "min_loss": None, "baseline": None, "baseline_loss": None,
                   "tolerance": None, "checks": [], "passed": None}


def test_auto_format_is_json_in_a_pipe(bce: Run, files: Files) -> None:
    files(p__csv=P, y__csv=Y)
    assert bce("compute", "p.csv", "y.csv").stdout == bce("compute", "p.csv", "y.csv",
                                                          "-f", "json").stdout


def test_plain_and_csv(bce: Run, files: Files) -> None:
    files(p__csv=P, y__csv=Y, m__json="[[0.9, 0.2]]", t__json="[[1, 0]]")
    assert bce("compute", "p.csv", "y.csv", "-f", "plain").stdout == f"{TRUE!r}\n"
    assert bce("compute", "p.csv", "y.csv", "-f", "csv").stdout == (
        f"loss,reduction,count,dtype,from_logits\n{TRUE!r},mean,3,float64,false\n")
    lines = bce("compute", "p.csv", "y.csv", "-r", "none", "-f", "plain").stdout.splitlines()
    assert len(lines) == 3 and float(lines[0]) == pytest.approx(-np.log(0.8))
    csv = bce("compute", "p.csv", "y.csv", "-r", "none", "-f", "csv").stdout.splitlines()
    assert csv[0] == "loss" and csv[1:] == lines
    matrix = bce("compute", "m.json", "t.json", "-r", "none", "-f", "csv").stdout.splitlines()
    assert matrix[0] == "loss_0,loss_1" and len(matrix[1].split(",")) == 2
    assert "\t" in bce("compute", "m.json", "t.json", "-r", "none", "-f", "plain").stdout


def test_rows_give_one_loss_per_row_in_every_format(bce: Run, files: Files,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    files(m__json="[[0.9, 0.2], [0.6, 0.7], [0.1, 0.5]]", t__json="[[1, 0], [1, 1], [0, 1]]",
          w__csv="2\n1\n0.5\n")
    args = ["m.json", "t.json", "--weights", "w.csv", "--class-weights", "1,3"]
    none = json.loads(bce("compute", *args, "-r", "none", "--json").stdout)["loss"]
    rows = json.loads(bce("compute", *args, "-r", "rows", "--json").stdout)
    assert rows["loss"] == [float(np.mean(row)) for row in none]
    assert (rows["reduction"], rows["count"], rows["shape"]) == ("rows", 6, [3, 2])
    plain = bce("compute", *args, "-r", "rows", "-f", "plain")
    assert plain.stdout == "".join(f"{v!r}\n" for v in rows["loss"])
    assert bce("compute", *args, "-r", "rows", "-f", "csv").stdout == "loss\n" + plain.stdout
    table = bce("compute", *args, "-r", "rows", "-f", "table").stdout
    assert f"│ Losses        │ {rows['loss'][0]!r}" in table and "│ Reduction     │ rows" in table
    like = json.loads(bce("compute", *args, "-r", "rows", "--like", "sklearn", "--json").stdout)
    assert (like["reduction"], like["eps"], len(like["loss"])) == \
        ("rows", 2.220446049250313e-16, 3)


def test_rows_are_held_back_until_the_input_is_read(bce: Run, files: Files,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from bcecli.readers import base

    monkeypatch.setattr(base, "BLOCK_BYTES", 64)
    files(p__csv="0.5,0.5\n" * 100 + "0.5,1.5\n", y__csv="1,0\n" * 101)
    held = bce("compute", "p.csv", "y.csv", "-r", "rows", "-f", "plain")
    assert (held.exit_code, held.stdout) == (2, "")
    assert held.stderr.startswith("bce: error: p.csv:101: prediction 1.5")


def test_table(bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    files(p__csv=P, y__csv=Y)
    out = bce("compute", "p.csv", "y.csv", "-f", "table", "--max-loss", "1").stdout
    assert [line.rstrip() for line in out.splitlines()] == [
        "Binary cross-entropy",
        "┌─────────────┬─────────────────────────────────────────────────┐",
        f"│ Loss        │ {TRUE!r}                             │",
        "│ Reduction   │ mean                                            │",
        "│ Count       │ 3                                               │",
        "│ Shape       │ 3                                               │",
        "│ Input       │ probabilities                                   │",
        "│ dtype       │ float64                                         │",
        "│ Predictions │ p.csv                                           │",
        "│ Targets     │ y.csv                                           │",
        f"│ Check       │ ✓ loss <= 1.0 (--max-loss): {TRUE!r} │",
        "└─────────────┴─────────────────────────────────────────────────┘",
    ]
    many = bce("compute", "p.csv", "y.csv", "-f", "table", "-r", "none").stdout
    assert "│ Losses      │ 0.2231435513142097" in many
    files(q__csv=P * 4, z__csv=Y * 4)
    long = bce("compute", "q.csv", "z.csv", "-f", "table", "-r", "none").stdout
    assert "… 2 more rows (use -f csv for all)" in long


def test_infinite_logits_print_the_limit(bce: Run, files: Files) -> None:
    files(x__json="[1e999, -1e999, 1e999]", y__json="[1, 0, 0]")
    out = bce("compute", "x.json", "y.json", "--logits", "-r", "none", "--json").stdout
    assert out.startswith('{"loss": [0.0, 0.0, 1e999], ')
    assert json.loads(out)["loss"][2] == float("inf")
    assert bce("compute", "x.json", "y.json", "--logits", "-f", "plain").stdout == "inf\n"


def test_max_loss_gate(bce: Run, files: Files) -> None:
    files(p__csv=P, y__csv=Y)
    ok = bce("compute", "p.csv", "y.csv", "--max-loss", "0.4", "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["passed"] is True
    zero = bce("compute", "p.csv", "y.csv", "--max-loss", "0", "-f", "plain")
    assert zero.exit_code == 1 and zero.stderr == f"bce: loss {TRUE!r} is above --max-loss 0.0\n"
    bad = bce("compute", "p.csv", "y.csv", "--max-loss", "0.3", "--json")
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["passed"] is False  # the result is still printed
    assert bad.stderr == f"bce: loss {TRUE!r} is above --max-loss 0.3\n"


def test_min_loss_and_baseline_gates(bce: Run, files: Files) -> None:
    files(p__csv=P, y__csv=Y, q__csv="0.9\n0.2\n0.7\n")
    better = bce("compute", "q.csv", "y.csv", "--json").stdout
    files(base__json=better)
    low = bce("compute", "q.csv", "y.csv", "--min-loss", "0.25", "-f", "plain")
    assert low.exit_code == 1 and low.stdout.strip() != ""
    assert low.stderr.startswith("bce: loss 0.22839300363692283 is below --min-loss 0.25: ")
    worse = bce("compute", "p.csv", "y.csv", "--baseline", "base.json", "--json")
    assert worse.exit_code == 1
    assert worse.stderr == (f"bce: loss {TRUE!r} is +59.18% against the baseline "
                            "0.22839300363692283 (base.json), more than --tolerance 0\n")
    out = json.loads(worse.stdout)
    assert (out["baseline"], out["baseline_loss"], out["passed"]) == \
        ("base.json", 0.22839300363692283, False)
    tolerant = bce("compute", "p.csv", "y.csv", "--baseline", "base.json", "--tolerance", "0.6")
    assert tolerant.exit_code == 0 and json.loads(tolerant.stdout)["passed"] is True
    same = bce("compute", "q.csv", "y.csv", "--baseline", "base.json", "--min-loss", "0.1")
    assert same.exit_code == 0 and same.stderr == ""


@pytest.mark.parametrize(("args", "message"), [
    (["--baseline", "nope.json"], "nope.json: cannot read the baseline: No such file or directory"),
    (["--baseline", "p.csv"],
     "p.csv: the baseline is not JSON (save one with bce compute ... --json)"),
    (["--baseline", "none.json"], "none.json: the baseline has no single 'loss' (save one "
     "with bce compute ... --json, not -r none or -r rows)"),
    (["--baseline", "sum.json"],
     "the baseline sum.json was computed with -r sum, this run with -r mean"),
    (["--tolerance", "0.1"], "--tolerance needs --baseline"),
    (["--baseline", "sum.json", "--tolerance", "-1"], "--tolerance must be a fraction >= 0, "
     "not -1.0"),
    (["--min-loss", "0.1", "-r", "none"],
     "--min-loss needs a single loss; it cannot be used with -r none"),
    (["--max-loss", "1", "-r", "rows"],
     "--max-loss needs a single loss; it cannot be used with -r rows"),
    (["--baseline", "sum.json", "-r", "rows"],
     "--baseline needs a single loss; it cannot be used with -r rows"),
])
def test_gate_errors(bce: Run, files: Files, args: list[str], message: str) -> None:
    files(p__csv=P, y__csv=Y, none__json='{"loss": [0.1, 0.2], "reduction": "none"}',
          sum__json='{"loss": 1.5, "reduction": "sum"}')
    result = bce("compute", "p.csv", "y.csv", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"bce: error: {message}\n"


def test_version_and_help(bce: Run) -> None:
    assert bce("--version").stdout == f"bce {__version__}\n"
    for args in ([], ["--help"], ["compute", "--help"]):
        result = bce(*args)
        assert result.exit_code == 0 and "Usage: bce" in result.stdout


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(("inputs", "args", "message"), [
    # unreadable inputs
    ({}, ["missing.csv"], "missing.csv: no such file"),
    (dict(d__csv=""), ["d.csv"], "d.csv: no data (the input is empty)"),
    (dict(d__csv="\n\n"), ["d.csv"], "d.csv: no data (the input is empty)"),
    (dict(d__csv="p,y\n"), ["d.csv"], "d.csv: has a header but no data rows"),
    (dict(d__csv=b"0.5,1\n\xff,0\n"), ["d.csv"], "d.csv:2: byte 0xff is not UTF-8 text"),
    (dict(d__csv__gz=gzip.compress(b"0.5,1\n" * 100)[:20]), ["d.csv.gz"],
     "d.csv.gz: not a valid gzip file (Compressed file ended before the end-of-stream marker "
     "was reached)"),
    (dict(d__json="[0.5, 1"), ["d.json"], "d.json:1: invalid JSON: Expecting ',' delimiter "
     "(column 8)"),
    (dict(d__json="[[0.5, 1],\n [0.5]]"), ["d.json"],
     "d.json:2: row 1 has 1 value, expected 2 like row 0"),
    (dict(d__json='{"p": [1]}'), ["d.json"], "cannot tell which column of d.json holds the "
     "targets (columns: 'p'): pass --target-col"),
    (dict(d__json='{"predictions": [1]}'), ["d.json"],
     "d.json: the JSON object has no 'targets' key"),
    (dict(d__json="[]"), ["d.json"], "d.json: the JSON is an empty array"),
    (dict(d__jsonl="[0.5, 1]\n[0.5, 1\n"), ["d.jsonl"],
     "d.jsonl:2: invalid JSON: Expecting ',' delimiter (column 8)"),
    (dict(d__jsonl='{"p": 0.5, "y": 1}\n{"p": 0.5}\n'), ["d.jsonl", "--pred-col", "p",
                                                         "--target-col", "y"],
     "d.jsonl:2: object has no key 'y' (the first line has it)"),
    (dict(d__npy=npy(np.array([[[0.5]]]))), ["d.npy"],
     "d.npy: needs a non-empty 1-D or 2-D numeric array, not 3-D float64 of shape (1, 1, 1)"),
    # bad values
    (dict(p__csv="0.8\n1.3\n", y__csv="1\n0\n"), ["p.csv", "y.csv"],
     "p.csv:2: prediction 1.3 is outside [0, 1]\n"
     "hint: if these are logits (raw scores), pass --logits"),
    (dict(d__csv="id,p,y\na,0.8,1\nb,-2,0\n"), ["d.csv", "--pred-col", "p", "--target-col", "y"],
     "d.csv:3: prediction -2.0 in column 'p' is outside [0, 1]\n"
     "hint: if these are logits (raw scores), pass --logits"),
    (dict(p__csv="0.8\nnan\n", y__csv="1\n0\n"), ["p.csv", "y.csv"],
     "p.csv:2: a missing value" + MISSING_HINT),
    (dict(p__csv="0.8\n0.2\n", y__csv="1\n2\n"), ["p.csv", "y.csv"],
     "y.csv:2: target 2.0 is outside [0, 1]\nhint: if the targets are class labels, pass "
     "--pos-label with the positive one (it becomes 1, the other 0)"),
    (dict(p__json="[0.8,\n 0.2,\n 0.1]", y__json="[1, 0, NaN]"), ["p.json", "y.json"],
     "y.json:1: a missing value" + MISSING_HINT),
    (dict(d__json='{"predictions": [0.8,\n 0.2],\n "targets": [1,\n -1]}'), ["d.json"],
     "d.json:4: target -1.0 is outside [0, 1]\nhint: if the targets are class labels, pass "
     "--pos-label with the positive one (it becomes 1, the other 0)"),
    (dict(p__npy=npy(np.array([[0.5, 0.5], [0.5, 7.0]])), y__json="[[0, 0], [0, 0]]"),
     ["p.npy", "y.json"], "p.npy[1]: prediction 7.0 in column 1 is outside [0, 1]\n"
     "hint: if these are logits (raw scores), pass --logits"),
    (dict(p__csv="0.8\nabc\n", y__csv="1\n0\n"), ["p.csv", "y.csv"],
     "p.csv:2: 'abc' in column 0 is not a number"),
    (dict(p__csv="0.8,1\n0.3,\n"), ["p.csv"],
     "p.csv:2: a missing value in column 1" + MISSING_HINT),
    (dict(d__csv="0.5,1\n0.3\r0,1\n"), ["d.csv"],
     "d.csv:2: not valid CSV: a stray carriage return (\\r) inside the line"),
    (dict(d__csv='p,y\n"0.5\n",1\n0.3,0\n'), ["d.csv"],
     "d.csv:2: not valid CSV: a quoted field runs past the end of the line"),
    (dict(p__csv="0.8\n1_0\n", y__csv="1\n0\n"), ["p.csv", "y.csv"],
     "p.csv:2: '1_0' in column 0 is not a number"),
    (dict(p__json='[0.8, "0.2"]', y__json="[1, 0]"), ["p.json", "y.json"],
     "p.json:1: \"0.2\" in column 0 is not a number"),
    (dict(p__json="[0.8, null]", y__json="[1, 0]"), ["p.json", "y.json"],
     "p.json:1: a missing value" + MISSING_HINT),
    (dict(p__csv=P, y__csv=Y, w__csv="1\n-1\n1\n"), ["p.csv", "y.csv", "--weights", "w.csv"],
     "w.csv:2: weight -1.0 is negative\nhint: PyTorch accepts negative weights (Monte-Carlo "
     "event weights): pass --like torch to do the same"),
    (dict(p__csv=P, y__csv=Y, w__csv="1\ninf\n1\n"), ["p.csv", "y.csv", "--weights", "w.csv"],
     "w.csv:2: weight inf is not finite"),
    (dict(p__csv=P, y__csv=Y, w__csv="0\n0\n0\n"),
     ["p.csv", "y.csv", "--weights", "w.csv", "-r", "weighted-mean"],
     "weights sum to zero: weighted-mean is undefined"),
    # shape mismatches
    (dict(p__csv=P, y__csv="1\n0\n1\n1\n"), ["p.csv", "y.csv"],
     "y.csv:4: more targets than predictions (p.csv has 3)"),
    (dict(p__csv=P, y__csv="1\n0\n"), ["p.csv", "y.csv"],
     "p.csv:3: more predictions than targets (y.csv has 2)"),
    (dict(p__json="[[0.5, 0.5]]", y__json="[[1, 0, 1]]"), ["p.json", "y.json"],
     "y.json: targets have shape (N, 3) but predictions have shape (N, 2)"),
    (dict(p__csv=P, y__csv=Y, w__csv="1\n1\n"), ["p.csv", "y.csv", "--weights", "w.csv"],
     "p.csv:3: more predictions than weights (w.csv has 2)"),
    (dict(p__json="[[0.5, 0.5]]", y__json="[[1, 0]]", w__json="[[1, 1, 1]]"),
     ["p.json", "y.json", "--weights", "w.json"],
     "w.json: weights have shape (N, 3): expected one value a row or one a class, (N, 2)"),
    (dict(d__csv="a,b,c\n0.5,1,1\n"), ["d.csv"], "d.csv has 3 columns: pass a TARGETS file, or "
     "name the columns with --pred-col and --target-col"),
    (dict(d__csv="a,b,c\n0.5,1,1\n"), ["d.csv", "--pred-col", "a"],
     "cannot tell which column of d.csv holds the targets (columns: 'a', 'b', 'c'): pass "
     "--target-col"),
    (dict(d__csv="a,b,c\n0.5,1,1\n"), ["d.csv", "--pred-col", "a", "--target-col", "z"],
     "--target-col 'z': no such column in d.csv (columns: a, b, c)"),
    (dict(d__csv="0.5,1,1\n"), ["d.csv", "--pred-col", "0", "--target-col", "3"],
     "--target-col '3': no such column in d.csv (columns: 0 to 2)"),
    (dict(d__csv="0.5,1\n0.5\n"), ["d.csv"], "d.csv:2: has 1 field, expected 2 like the first row"),
    # options
    (dict(p__csv=P, y__csv=Y), ["p.csv", "y.csv", "--pos-weight", "1,2"],
     "--pos-weight has 2 values but the input has 1 class"),
    (dict(p__csv=P, y__csv=Y), ["p.csv", "y.csv", "--class-weights", "1,2"],
     "--class-weights has 2 values but the input has 1 class"),
    (dict(p__csv=P, y__csv=Y), ["p.csv", "y.csv", "--pos-weight", "x"],
     "--pos-weight: 'x' is not a number"),
    (dict(p__csv=P, y__csv=Y), ["p.csv", "y.csv", "--class-weights", "-1"],
     "--class-weights: -1 must be finite and non-negative"),
    (dict(p__csv=P, y__csv=Y), ["p.csv", "y.csv", "--eps", "0.6"],
     "eps must be in (0, 0.5), not 0.6"),
    (dict(p__csv=P, y__csv=Y), ["p.csv", "y.csv", "--label-smoothing", "1.5"],
     "label smoothing must be in [0, 1], not 1.5"),
    (dict(p__csv=P, y__csv=Y), ["p.csv", "y.csv", "--eps", "0.1", "--logits"],
     "--eps clips probabilities; it does not apply with --logits"),
    (dict(p__csv=P, y__csv=Y), ["p.csv", "y.csv", "--json", "-f", "csv"],
     "use just one of --json and --format csv"),
    (dict(p__csv=P, y__csv=Y), ["p.csv", "y.csv", "-r", "none", "--max-loss", "1"],
     "--max-loss needs a single loss; it cannot be used with -r none"),
    (dict(p__csv=P), ["-", "-"], "only one input can be read from stdin ('-')"),
    (dict(d__json='{"predictions": [1], "targets": [1]}', y__csv=Y), ["d.json", "y.csv"],
     "d.json holds predictions and targets: pass no TARGETS file"),
    (dict(d__json='{"predictions": [1], "targets": [1]}'), ["d.json", "--pred-col", "0"],
     "--pred-col and --target-col do not apply to a JSON object input"),
    (dict(d__json='{"predictions": [1], "targets": [1], "weights": [1]}', w__csv="1\n"),
     ["d.json", "--weights", "w.csv"], "d.json has its own weights: do not also pass --weights"),
    (dict(d__json='{"predictions": [1], "targets": [1]}'), ["d.json", "--weight-col", "0"],
     "--weight-col needs --weights or a table input"),
])
def test_errors(bce: Run, files: Files, inputs: dict[str, str | bytes], args: list[str],
                message: str) -> None:
    files(**inputs)
    result = bce("compute", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"bce: error: {message}\n"


def test_a_directory_without_data_files(bce: Run, files: Files, tmp_path: object) -> None:
    files()
    import os
    os.mkdir("folder")
    result = bce("compute", "folder")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "bce: error: folder: a directory with no data file in it (.csv, " \
        ".tsv, .txt, .json, .jsonl, .ndjson, .npy, .parquet, .feather, …, or compressed)\n"


def test_pickled_npy_is_refused(bce: Run, files: Files) -> None:
    out = io.BytesIO()
    np.save(out, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    files(p__npy=out.getvalue())
    result = bce("compute", "p.npy", "p.npy")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "bce: error: p.npy: holds Python objects (pickle); bce never loads "\
        "pickles\n"


@pytest.mark.parametrize(("args", "first_line"), [
    (["compute", "p.csv", "y.csv", "-r", "avg"],
     "bce: error: Invalid value for '--reduction' / '-r': "),
    (["compute"], "bce: error: Missing argument 'PREDICTIONS'."),
    (["compute", "p.csv", "--frobnicate"], "bce: error: No such option: --frobnicate"),
    (["compute", "p.csv", "--max-loss", "x"], "bce: error: Invalid value for '--max-loss': "),
])
def test_usage_errors_are_one_line_plus_hint(bce: Run, files: Files, args: list[str],
                                             first_line: str) -> None:
    files(p__csv=P, y__csv=Y)
    result = bce(*args)
    assert (result.exit_code, result.stdout) == (2, "")
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(first_line)
    assert lines[1] == "hint: see 'bce compute --help'"
