"""Shards: partial totals merged give the result of one run over all the data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.helpers import TRUE, Files, Run, loss_of


def shard_files(count: int, rows: int, seed: int = 3) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    files = {}
    for k in range(count):
        p = rng.uniform(0, 1, (rows, 2))
        y = (rng.uniform(0, 1, (rows, 2)) < p).astype(int)
        files[f"p{k}__csv"] = "".join(f"{a!r},{b!r}\n" for a, b in p.tolist())
        files[f"y{k}__csv"] = "".join(f"{a},{b}\n" for a, b in y)
        files[f"w{k}__csv"] = "".join(f"{v!r}\n" for v in rng.uniform(0.5, 2, rows).tolist())
    return files


@pytest.mark.parametrize("reduction", ["mean", "sum", "weighted-mean"])
def test_merged_shards_equal_one_run(bce: Run, files: Files, reduction: str) -> None:
    parts = shard_files(4, 50)
    files(**parts, all_p__csv="".join(parts[f"p{k}__csv"] for k in range(4)),
          all_y__csv="".join(parts[f"y{k}__csv"] for k in range(4)),
          all_w__csv="".join(parts[f"w{k}__csv"] for k in range(4)))
    options = ["-r", reduction, "--pos-weight", "2,1", "--dtype", "float64"]
    for k in range(4):
        result = bce("compute", f"p{k}.csv", f"y{k}.csv", "--weights", f"w{k}.csv", "--partial",
                     *options)
        assert result.exit_code == 0, result.stderr
        files(**{f"part{k}__json": result.stdout})
    merged = json.loads(bce("merge", *(f"part{k}.json" for k in (2, 0, 3, 1)), "--json").stdout)
    whole = json.loads(bce("compute", "all_p.csv", "all_y.csv", "--weights", "all_w.csv",
                           "--json", *options).stdout)
    assert merged["loss"] == pytest.approx(whole["loss"], rel=1e-13)
    for key in ("reduction", "count", "shape", "from_logits", "dtype", "pos_weight"):
        assert merged[key] == whole[key]
    assert merged["parts"] == ["part2.json", "part0.json", "part3.json", "part1.json"]


@pytest.mark.parametrize("reduction", ["mean", "weighted-mean"])
def test_class_weights_alone_make_a_sum_of_weights(bce: Run, files: Files, reduction: str) -> None:
    """--class-weights without --weights: `weighted` is false, yet weight_parts holds Σw."""
    parts = shard_files(2, 5)
    files(**parts, all_p__csv=parts["p0__csv"] + parts["p1__csv"],
          all_y__csv=parts["y0__csv"] + parts["y1__csv"])
    options = ["--class-weights", "2,0.5", "-r", reduction]
    for k in range(2):
        made = bce("compute", f"p{k}.csv", f"y{k}.csv", "--partial", *options)
        assert json.loads(made.stdout.splitlines()[0])["weighted"] is False
        assert json.loads(made.stdout.splitlines()[0])["weight_parts"] != []
        files(**{f"part{k}__json": made.stdout})
    whole = loss_of(bce("compute", "all_p.csv", "all_y.csv", "--json", *options))
    assert loss_of(bce("merge", "part0.json", "part1.json", "--json")) == \
        pytest.approx(whole, rel=1e-13)


def test_merge_gates_and_formats(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n")
    files(part__json=bce("compute", "p.csv", "y.csv", "--partial").stdout)
    assert bce("merge", "part.json", "-f", "plain").stdout == "0.36354803967297755\n"
    gated = bce("merge", "part.json", "--max-loss", "0.3")
    assert gated.exit_code == 1
    assert gated.stderr == "bce: loss 0.36354803967297755 is above --max-loss 0.3\n"


@pytest.mark.parametrize(("setup", "args", "message"), [
    ({"a__json": "A", "b__json": "B"}, ["merge", "a.json", "b.json"],
     "bce: error: b.json was computed with dtype = \"float32\", a.json with \"float64\": "
     "shards must agree"),
    ({"p__csv": "0.5\n"}, ["merge", "p.csv"],
     "bce: error: p.csv: not a partial result (make one with bce compute ... --partial)"),
    ({"x__json": '{"bcecli_partial": 3, "count": "many"}'}, ["merge", "x.json"],
     "bce: error: x.json: a broken partial result: missing keys: id, classes, flat, reduction, "
     "dtype, from_logits, weighted, class_weights, pos_weight, label_smoothing, eps, "
     "focal_gamma, focal_alpha, like, pos_label, negative_sampling_rate, diagnostics, "
     "loss_parts, weight_parts, sections, checksum"),
    ({}, ["merge", "gone.json"], "bce: error: gone.json: cannot read: No such file or directory"),
    ({"p__csv": "0.5\n", "y__csv": "1\n"}, ["compute", "p.csv", "y.csv", "--partial", "-r", "none"],
     "bce: error: --partial prints JSON for bce merge: use it without -r none or rows, --format "
     "and the CI gates (give those to bce merge)"),
])
def test_shard_errors(bce: Run, files: Files, setup: dict[str, str], args: list[str],
                      message: str) -> None:
    files(p0__csv="0.5\n", y0__csv="1\n")
    made = {}
    for name, dtype in (("A", "float64"), ("B", "float32")):
        made[name] = bce("compute", "p0.csv", "y0.csv", "--partial", "--dtype", dtype).stdout
    files(**{key: made.get(value, value) for key, value in setup.items()})
    result = bce(*args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines()[0] == message


# -- partial files are checked when read ------------------------------------------------

HINT = "hint: make it again with bce compute ... --partial\n"


@pytest.fixture
def part(bce: Run, files: Files) -> dict[str, object]:
    """A real partial result (one column, 3 rows, weighted) to tamper with."""
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n", w__csv="1\n2\n1\n")
    made = bce("compute", "p.csv", "y.csv", "--weights", "w.csv", "--partial")
    assert made.exit_code == 0, made.stderr
    data: dict[str, object] = json.loads(made.stdout)
    return data


@pytest.mark.parametrize(("changes", "message"), [
    ({"count": -3}, "count must be an integer >= 1, not -3"),
    ({"count": 2.9}, "count must be an integer >= 1, not 2.9"),
    ({"count": "12"}, 'count must be an integer >= 1, not "12"'),
    ({"count": True}, "count must be an integer >= 1, not true"),
    ({"count": 0}, "count must be an integer >= 1, not 0"),
    ({"count": 2**63}, "count must be at most 9223372036854775807, not 9223372036854775808"),
    ({"classes": 0}, "classes must be an integer >= 1, not 0"),
    ({"classes": 2}, "flat must be false with 2 classes, not true"),
    ({"classes": 2, "flat": False}, "count must be a multiple of classes (2), not 3"),
    ({"flat": "false"}, 'flat must be true or false, not "false"'),
    ({"from_logits": 0}, "from_logits must be true or false, not 0"),
    ({"weighted": None}, "weighted must be true or false, not null"),
    ({"reduction": "none"}, 'reduction must be one of mean, sum, weighted-mean, not "none"'),
    ({"dtype": "int8"}, 'dtype must be one of float64, float32, not "int8"'),
    ({"like": "pytorch"}, "like must be null or one of torch, keras, sklearn, xgboost, lightgbm, "
     'catboost, spark, not "pytorch"'),
    ({"pos_weight": [-1]}, "pos_weight must be null or a list of finite numbers >= 0, not [-1]"),
    ({"class_weights": "2"}, 'class_weights must be null or a list of finite numbers >= 0, '
     'not "2"'),
    ({"label_smoothing": None}, "label_smoothing must be a number, not null"),
    ({"eps": [0.1]}, "eps must be null or a number, not [0.1]"),
    ({"eps": 0.7}, "eps must be in (0, 0.5), not 0.7"),
    ({"focal_alpha": 0.5}, "focal alpha needs a focal gamma"),
    ({"loss_parts": "12"}, 'loss_parts must be a list of finite numbers or Infinity, not "12"'),
    ({"loss_parts": [1.5, True]}, "loss_parts must be a list of finite numbers or Infinity, "
     "not [1.5, true]"),
    ({"loss_parts": [-math.inf]}, "loss_parts must be a list of finite numbers or Infinity, "
     "not [-Infinity]"),
    ({"loss_parts": [10**400]}, "loss_parts must be a list of finite numbers or Infinity, "
     "not [1" + "0" * 37 + "…"),  # too large for a float; shown cut at 40 characters
    ({"weight_parts": [4.0, math.nan]}, "weight_parts must be a list of finite numbers or "
     "Infinity, not [4.0, NaN]"),
    ({"id": "3f2a"}, 'id must be 32 lowercase hexadecimal digits, not "3f2a"'),
    ({"id": 7}, "id must be 32 lowercase hexadecimal digits, not 7"),
    ({"checksum": "ABC"}, 'checksum must be 64 lowercase hexadecimal digits, not "ABC"'),
    ({"checksum": None}, "missing key: checksum"),
    ({"class_weights": [1, 2]}, "class_weights has 2 values but classes is 1"),
    ({"pos_weight": [1, 2]}, "pos_weight has 2 values but classes is 1"),
    ({"loss_parts": [math.nan]}, "loss_parts must be a list of finite numbers or Infinity, "
     "not [NaN]"),
    ({"loss_parts": [-3.5]}, "loss_parts add up to -3.5, but a sum of losses cannot be "
     "negative"),
    ({"loss_parts": [1.0, -1.5]}, "loss_parts add up to -0.5, but a sum of losses cannot be "
     "negative"),  # one part may be negative (parts are an expansion); their sum may not
    ({"loss_parts": [-1e308, -1e308]}, "loss_parts add up to -inf, but a sum of losses cannot "
     "be negative"),  # beyond the largest float, the sign still counts
    ({"loss_parts": []}, "loss_parts is empty: it must hold the sum of the losses"),
    ({"weight_parts": [-4.0]}, "weight_parts add up to -4.0, but a sum of weights cannot be "
     "negative"),
    ({"weight_parts": []}, "weighted is true but weight_parts is empty"),
    ({"weighted": False}, "weight_parts holds a sum of weights, but weighted is false and "
     "class_weights is null"),
    ({"weighted": False, "class_weights": [2.0], "weight_parts": []},
     "class_weights are given but weight_parts is empty"),
    ({"count": 4}, "its checksum does not match: it was changed after bce wrote it"),
    ({"loss_parts": [1.5]}, "its checksum does not match: it was changed after bce wrote it"),
    ({"weight_parts": [5.0]}, "its checksum does not match: it was changed after bce wrote it"),
    ({"label_smoothing": 0.1}, "its checksum does not match: it was changed after bce wrote it"),
    ({"id": "0" * 32}, "its checksum does not match: it was changed after bce wrote it"),
    ({"checksum": "0" * 64}, "its checksum does not match: it was changed after bce wrote it"),
    ({"count": None, "loss_parts": None}, "missing keys: count, loss_parts"),
    ({"weight_parts": None}, "missing key: weight_parts"),
    ({"extra": 1}, 'unknown key: "extra"'),
])
def test_a_tampered_partial_is_a_clear_error(bce: Run, files: Files, part: dict[str, object],
                                             changes: dict[str, object], message: str) -> None:
    for key, value in changes.items():
        if value is None and key in ("count", "loss_parts", "weight_parts", "checksum"):
            del part[key]  # None here means: the key is missing
        else:
            part[key] = value
    files(part__json=json.dumps(part))
    result = bce("merge", "part.json")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"bce: error: part.json: a broken partial result: {message}\n{HINT}"


@pytest.mark.parametrize("marker", [True, 2.0, "2", 0, -1, None])
def test_only_a_version_number_marks_a_partial(bce: Run, files: Files, part: dict[str, object],
                                               marker: object) -> None:
    files(part__json=json.dumps({**part, "bcecli_partial": marker}))
    result = bce("merge", "part.json")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", (
        "bce: error: part.json: not a partial result (make one with bce compute ... "
        "--partial)\n"))


@pytest.mark.parametrize(("version", "message"), [
    (1, "a partial result of version 1, older than this bce's (3): it has no id, so a part "
     "given twice would go unnoticed\nhint: make it again with bce compute ... --partial\n"),
    (2, "a partial result of version 2, older than this bce's (3): it has no diagnostics\n"
     "hint: make it again with bce compute ... --partial\n"),
    (4, "a partial result of version 4, newer than this bce's (3)\nhint: merge it with the "
     "bce that made it\n"),
])
def test_other_versions_are_refused(bce: Run, files: Files, part: dict[str, object],
                                    version: int, message: str) -> None:
    old = {key: value for key, value in part.items() if key not in ("id", "checksum")}
    files(part__json=json.dumps({**old, "bcecli_partial": version}))
    result = bce("merge", "part.json")
    assert (result.exit_code, result.stdout, result.stderr) == \
        (2, "", f"bce: error: part.json: {message}")


def test_a_duplicate_key_is_refused(bce: Run, files: Files, part: dict[str, object]) -> None:
    text = json.dumps(part)
    files(part__json=text[:-1] + f', "count": {part["count"]}}}')
    result = bce("merge", "part.json")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", (
        'bce: error: part.json: a broken partial result: duplicate key "count"\n' + HINT))


def test_a_partial_has_a_version_a_fresh_id_and_a_checksum(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n")
    first, second = (json.loads(bce("compute", "p.csv", "y.csv", "--partial").stdout)
                     for _ in range(2))
    assert list(first)[:2] == ["bcecli_partial", "id"] and list(first)[-1] == "checksum"
    assert first["bcecli_partial"] == 3
    assert len(first["id"]) == 32 and int(first["id"], 16) >= 0
    assert first["id"] != second["id"]  # the same data computed twice: two parts
    assert first["checksum"] != second["checksum"]
    assert {**first, "id": None, "checksum": None} == {**second, "id": None, "checksum": None}


def test_a_reformatted_partial_is_the_same_part(bce: Run, files: Files,
                                                part: dict[str, object]) -> None:
    """The checksum is over the values: indentation, key order and 0.0 written 0 keep it."""
    files(part__json=json.dumps(part))
    plain = bce("merge", "part.json", "--json").stdout
    assert part["label_smoothing"] == 0.0
    files(part__json=json.dumps({**dict(reversed(list(part.items()))), "label_smoothing": 0},
                                indent=2))
    again = bce("merge", "part.json", "--json")
    assert (again.exit_code, again.stdout) == (0, plain)


@pytest.mark.parametrize(("args", "message"), [
    (["a.json", "b.json", "a.json"], "a.json is given twice"),
    (["a.json", "copy.json"], "copy.json and a.json are the same part (id {a})"),
    (["b.json", "a.json", "./a.json"], "./a.json and a.json are the same part (id {a})"),
])
def test_a_part_given_twice_is_refused(bce: Run, files: Files, args: list[str],
                                       message: str) -> None:
    files(p__csv="0.8\n0.3\n", y__csv="1\n0\n", q__csv="0.6\n", z__csv="1\n")
    a = bce("compute", "p.csv", "y.csv", "--partial").stdout
    files(a__json=a, copy__json=a, b__json=bce("compute", "q.csv", "z.csv", "--partial").stdout)
    result = bce("merge", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"bce: error: {message.format(a=json.loads(a)['id'])}\nhint: a "
                             "part merged twice is counted twice: give each shard's part once\n")
    assert loss_of(bce("merge", "a.json", "b.json", "--json")) == TRUE


def test_an_infinite_loss_survives_the_round_trip(bce: Run, files: Files) -> None:
    files(x__csv="-1e999\n0.5\n", y__csv="1\n1\n")
    made = bce("compute", "x.csv", "y.csv", "--logits", "--partial")
    assert '"loss_parts": [Infinity]' in made.stdout
    files(part__json=made.stdout)
    assert bce("merge", "part.json", "-f", "plain").stdout == "inf\n"


def test_parts_with_another_positive_label_are_refused(bce: Run, files: Files) -> None:
    """A part read with --pos-label yes and one with --pos-label no: each loss is right for
    its own targets, their sum right for none."""
    files(p__csv="0.8\n0.3\n", y__csv="yes\nno\n")
    for name, label in (("a.json", "yes"), ("b.json", "no")):
        result = bce("compute", "p.csv", "y.csv", "--no-header", "--pos-label", label,
                     "--partial")
        assert result.exit_code == 0, result.stderr
        files(**{name.replace(".", "__"): result.stdout})
    merged = bce("merge", "a.json", "b.json")
    assert (merged.exit_code, merged.stdout) == (2, "")
    assert merged.stderr == 'bce: error: b.json was computed with pos_label = "no", a.json ' \
        'with "yes": shards must agree\n'
