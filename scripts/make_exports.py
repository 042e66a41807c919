"""Generate tests/data/exports/: files written by the real exporters, and what bce must say.

    python3 -m venv .venv-gen
    .venv-gen/bin/pip install pandas polars pyarrow scikit-learn numpy "torch==2.13.0"
    .venv-gen/bin/python scripts/make_exports.py

The data are a scikit-learn model's: a `LogisticRegression` (after a `StandardScaler`)
on the breast-cancer data set that ships with scikit-learn (`load_breast_cancer`), its
out-of-fold probabilities (`cross_val_predict`) for the cases that sample rows, and its
`predict_proba` on a held-out test split for the issue-10 cases (class names as labels,
European CSV, compression, `.npz`, encodings, Series JSON); multi-label cases use one
such model per class of `load_iris`. The script and the library versions it ran with
are written to the folder's README.md.

Each case is a realistic way people write predictions and labels: pandas `to_csv` /
`to_json` / `to_parquet`, polars `write_csv` / `write_parquet`, NumPy `savetxt` / `save` /
`savez`, a scikit-learn `train_test_split`, all with their default arguments unless the
case is about an argument people pass. The expected loss is PyTorch's
`binary_cross_entropy(float64, reduction="mean")` on the in-memory arrays, computed
before the file is written and cross-checked with scikit-learn's `log_loss`; every
file is then read back with its own library and must hold exactly those arrays, so
an expected number is never the exporter's rounding. Expected errors name the line
of the first missing value, checked against the written text.

The tests (tests/test_exports.py) read the committed expected.json and never import
pandas, polars, pyarrow, scikit-learn or torch.
"""

from __future__ import annotations

import functools
import json
import math
import platform
import shutil
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow
import pyarrow.parquet as pq
import sklearn
import torch
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "exports"
SEED = 20261124
CLASSES = [str(name) for name in load_iris().target_names]  # setosa, versicolor, virginica

Array = np.ndarray[Any, Any]
cases: list[dict[str, Any]] = []


# ---------------------------------------------------------------------- data


def rng_for(name: str) -> np.random.Generator:
    """A generator of its own for each data set: adding a case changes no other file."""
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def model() -> Any:
    """What people fit first: scaled features, a logistic regression."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


@functools.cache
def out_of_fold(dataset: str) -> tuple[Array, Array]:
    """Every sample's probability from a model that never saw it (5-fold), and its 0/1
    label; for iris, one model per class (one-vs-rest), N×3."""
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)
    if dataset == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        p = cross_val_predict(model(), X, y, cv=folds, method="predict_proba")[:, 1]
        return p, y
    X, classes = load_iris(return_X_y=True)
    y = np.eye(3, dtype=np.int64)[classes]
    p = np.column_stack([cross_val_predict(model(), X, y[:, k], cv=folds,
                                           method="predict_proba")[:, 1] for k in range(3)])
    return p, y


def scored(name: str, n: int, multilabel: bool = False) -> tuple[Array, Array]:
    """n samples' probabilities and 0/1 labels, drawn for this file alone: breast cancer,
    or with `multilabel` iris, N×3 (one column per class)."""
    p, y = out_of_fold("iris" if multilabel else "breast_cancer")
    rows = rng_for(name).choice(len(p), n, replace=False)
    return p[rows], y[rows]


@functools.cache
def test_split() -> tuple[Array, Array, Array]:
    """A held-out breast-cancer test set: the fitted model's probability of the positive
    class (`classes_[1]`, benign), the 0/1 labels, and the rows' original index."""
    data = load_breast_cancer()
    index = np.arange(len(data.target))
    X_train, X_test, y_train, y_test, _, i_test = train_test_split(
        data.data, data.target, index, test_size=0.3, random_state=SEED, stratify=data.target)
    fitted = model().fit(X_train, y_train)
    assert list(fitted.classes_) == [0, 1] and data.target_names[1] == "benign"
    return fitted.predict_proba(X_test)[:, 1], y_test, i_test


def six_places(p: Array) -> Array:
    """What pandas `to_json` keeps of a probability: it rounds to 10 decimals by default,
    so JSON data sets hold 6-decimal values, which survive it exactly."""
    return np.round(np.clip(p, 1e-6, 1 - 1e-6), 6)


# ----------------------------------------------------------- the reference


def torch_loss(p: Array, y: Array, w: Array | None = None) -> float:
    """PyTorch's BCE, float64, mean = Σ w·l / N; row weights broadcast over classes."""
    pt = torch.tensor(np.asarray(p, dtype=np.float64))
    yt = torch.tensor(np.asarray(y, dtype=np.float64))
    wt = None
    if w is not None:
        wt = torch.tensor(np.asarray(w, dtype=np.float64))
        if pt.dim() == 2 and wt.dim() == 1:
            wt = wt[:, None]
    return float(F.binary_cross_entropy(pt, yt, weight=wt, reduction="mean").item())


def sklearn_loss(p: Array, y: Array, w: Array | None = None) -> float:
    """The same number from scikit-learn: its weighted mean is Σ w·l / Σ w."""
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    wb = np.ones_like(p) if w is None else np.broadcast_to(
        np.asarray(w, dtype=np.float64).reshape(len(p), *([1] * (p.ndim - 1))), p.shape)
    value = log_loss(y.ravel(), p.ravel(), sample_weight=wb.ravel(), labels=[0, 1])
    return float(value * wb.sum() / p.size)


def ok(p: Array, y: Array, predictions: Any, targets: Any, *, w: Array | None = None,
       weights: Any = None, keep: Array | None = None) -> dict[str, Any]:
    """The expected result over the rows in `keep` (all rows by default)."""
    p, y = np.asarray(p), np.asarray(y)
    skipped = 0
    if keep is not None:
        skipped = int((~keep).sum())
        p, y = p[keep], y[keep]
        w = None if w is None else np.asarray(w)[keep]
    loss = torch_loss(p, y, w)
    check = sklearn_loss(p, y, w)
    assert math.isclose(loss, check, rel_tol=1e-12, abs_tol=0), (loss, check)
    return {"loss": loss, "count": int(p.size), "skipped": skipped,
            "columns": {"predictions": predictions, "targets": targets, "weights": weights}}


def error(file: str, line: int, marker: Callable[[str], bool]) -> dict[str, Any]:
    """Exit 2 naming `file:line`; the written line must be the one `marker` expects (the
    missing value, the bad label)."""
    text = (OUT / file).read_text().split("\n")
    assert marker(text[line - 1]), (file, line, text[line - 1])
    return {"exit": 2, "where": f"{file}:{line}"}


def refusal(message: str) -> dict[str, Any]:
    """Exit 2 with this exact message (an input refused whole, with no line)."""
    return {"exit": 2, "where": message.split(": ", 1)[0], "message": message}


def add(name: str, files: Sequence[str], expect: dict[str, Any], writer: str, *,
        options: Sequence[str] = (), requires: Sequence[str] = ()) -> None:
    cases.append({"name": name, "files": list(files), "options": list(options),
                  "writer": writer, "requires": list(requires), "expect": expect})


# ------------------------------------------------------------- read-backs


def same(a: Any, b: Any) -> None:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), (a, b)


def reads_back(frame: pd.DataFrame, path: Path, **read: Any) -> None:
    """pandas reads the file back to exactly the frame's values (NaN where NaN)."""
    back = pd.read_csv(path, **read)
    assert list(back.columns) == [str(c) for c in frame.columns], (back.columns, frame.columns)
    for column in frame.columns:
        same(back[str(column)].to_numpy(dtype=np.float64, na_value=np.nan),
             frame[column].to_numpy(dtype=np.float64, na_value=np.nan))


def json_reads_back(path: Path, columns: dict[str, Array], *, lines: bool) -> None:
    text = path.read_text()
    records = [json.loads(line) for line in text.splitlines()] if lines else json.loads(text)
    for name, values in columns.items():
        got = [np.nan if r[name] is None else r[name] for r in records]
        same(got, values)


# ------------------------------------------------------------------ cases


def roles_from_names() -> None:
    """scikit-learn's order (y_true, y_pred) and other recognisable names."""
    for name, (t, p_name), n in [
        ("sklearn_y_true_y_pred.csv", ("y_true", "y_pred"), 171),
        ("label_probability.csv", ("label", "probability"), 120),
        ("target_score.csv", ("target", "score"), 90),
        ("y_prob.csv", ("y", "prob"), 64),
    ]:
        p, y = scored(name, n)
        frame = pd.DataFrame({t: y, p_name: p})
        frame.to_csv(OUT / name, index=False)
        reads_back(frame, OUT / name)
        add(f"roles-{name}", [name], ok(p, y, p_name, t),
            f"pandas DataFrame({{{t!r}, {p_name!r}}}).to_csv(index=False)")

    name = "sklearn_records.jsonl"
    p, y = scored(name, 80)
    p = six_places(p)
    pd.DataFrame({"y_true": y, "y_pred": p}).to_json(OUT / name, orient="records", lines=True)
    json_reads_back(OUT / name, {"y_true": y, "y_pred": p}, lines=True)
    add("roles-jsonl-records", [name], ok(p, y, "y_pred", "y_true"),
        'pandas to_json(orient="records", lines=True)')

    name = "polars_y_true_y_pred.parquet"
    p, y = scored(name, 150)
    pl.DataFrame({"y_true": y, "y_pred": p}).write_parquet(OUT / name)
    back = pq.read_table(OUT / name)
    assert back.column_names == ["y_true", "y_pred"], back.column_names
    same(back["y_true"].to_numpy(), y)
    same(back["y_pred"].to_numpy(), p)
    add("roles-polars-parquet", [name], ok(p, y, "y_pred", "y_true"),
        "polars DataFrame.write_parquet", requires=["pyarrow"])

    # JSON documents: a shuffled test split, as pandas writes it in three orients
    name = "json_split"
    p, y = scored(name, 120)
    frame = pd.DataFrame({"label": y, "probability": six_places(p)})
    _, test = train_test_split(frame, test_size=0.5, shuffle=True, random_state=SEED)
    tp, ty = test["probability"].to_numpy(), test["label"].to_numpy()
    for orient, file in [("records", "test_records.json"), (None, "test_columns.json"),
                         ("split", "test_split_orient.json")]:
        if orient is None:
            test.to_json(OUT / file)  # default orient="columns": index labels as keys
        else:
            test.to_json(OUT / file, orient=orient)
        # stdlib json: pandas' read_json parses floats inexactly unless precise_float=True
        doc = json.loads((OUT / file).read_text())
        if orient == "records":
            rows = [[r["label"], r["probability"]] for r in doc]
        elif orient == "split":
            assert doc["columns"] == ["label", "probability"]
            assert doc["index"] == test.index.tolist()
            rows = doc["data"]
        else:
            assert list(doc["label"]) == [str(i) for i in test.index]
            rows = [[doc["label"][k], doc["probability"][k]] for k in doc["label"]]
        same(rows, np.column_stack([ty, tp]))
        call = "to_json()" if orient is None else f"to_json(orient={orient!r})"
        add(f"roles-json-{orient or 'columns'}", [file], ok(tp, ty, "probability", "label"),
            f"pandas {call} of a train_test_split test set")


def extra_columns() -> None:
    """Columns nobody asked about (an id, a file name) next to recognised ones."""
    name = "with_id.csv"
    p, y = scored(name, 100)
    ids = rng_for(name + "ids").choice(np.arange(10_000, 99_999), 100, replace=False)
    frame = pd.DataFrame({"id": ids, "y_true": y, "y_pred": p})
    frame.to_csv(OUT / name, index=False)
    reads_back(frame, OUT / name)
    add("extra-int-id", [name], ok(p, y, "y_pred", "y_true"),
        "pandas to_csv(index=False) with an integer id column")

    name = "with_file_and_id.csv"
    p, y = scored(name, 75)
    rng = rng_for(name + "names")
    files = [f"images/{'dog' if t else 'cat'}_{k:04d}.jpg"
             for t, k in zip(y, rng.permutation(75), strict=True)]
    ids = [f"{v:08x}" for v in rng.integers(0, 2**32, 75)]
    frame = pd.DataFrame({"file": files, "probability": p, "label": y, "id": ids})
    frame.to_csv(OUT / name, index=False)
    back = pd.read_csv(OUT / name, dtype={"id": str})
    assert list(back["file"]) == files and list(back["id"]) == ids
    same(back["probability"], p)
    same(back["label"], y)
    add("extra-text-columns", [name], ok(p, y, "probability", "label"),
        "pandas to_csv(index=False) with text file-name and hex id columns")


def weights() -> None:
    """A weight column is used only when --weight-col names it."""
    name = "sample_weight.csv"
    p, y = scored(name, 110)
    w = np.round(rng_for(name + "w").uniform(0.2, 3.0, 110), 3)
    frame = pd.DataFrame({"y_true": y, "y_pred": p, "sample_weight": w})
    frame.to_csv(OUT / name, index=False)
    reads_back(frame, OUT / name)
    writer = "pandas to_csv(index=False) with a sample_weight column"
    add("weights-not-by-guess", [name], ok(p, y, "y_pred", "y_true"), writer)
    add("weights-by-weight-col", [name],
        ok(p, y, "y_pred", "y_true", w=w, weights="sample_weight"), writer,
        options=["--weight-col", "sample_weight"])

    name = "prediction_weight.csv"
    p, y = scored(name, 60)
    w = rng_for(name + "w").integers(1, 5, 60)
    frame = pd.DataFrame({"label": y, "prediction": p, "weight": w})
    frame.to_csv(OUT / name, index=False)
    reads_back(frame, OUT / name)
    add("weights-column-named-weight", [name], ok(p, y, "prediction", "label"),
        "pandas to_csv(index=False) with a weight column")


def numeric_headers() -> None:
    """pandas names unnamed columns 0, 1, …: that first row is a header, not a sample."""
    n = 172
    p, y = scored("series", n)
    pd.Series(p).to_csv(OUT / "series_preds.csv", index=False)
    pd.Series(y).to_csv(OUT / "series_targets.csv", index=False)
    reads_back(pd.DataFrame({"0": p}), OUT / "series_preds.csv")
    reads_back(pd.DataFrame({"0": y}), OUT / "series_targets.csv")
    assert (OUT / "series_targets.csv").read_text().startswith("0\n")
    add("header-series-0", ["series_preds.csv", "series_targets.csv"], ok(p, y, "0", "0"),
        "pandas Series.to_csv(index=False), header '0'")

    p, y = scored("frame_0_1", 140)
    frame = pd.DataFrame(np.column_stack([p, y]))
    frame.to_csv(OUT / "frame_0_1.csv", index=False)
    reads_back(frame, OUT / "frame_0_1.csv")
    assert (OUT / "frame_0_1.csv").read_text().startswith("0,1\n")
    add("header-frame-0-1", ["frame_0_1.csv"], ok(p, y, "0", "1"),
        "pandas DataFrame(np.column_stack([p, y])).to_csv(index=False), header '0,1'")

    p, y = scored("frame_index_0_1", 95)
    frame = pd.DataFrame(np.column_stack([p, y]))
    frame.to_csv(OUT / "frame_index_0_1.csv")
    reads_back(frame, OUT / "frame_index_0_1.csv", index_col=0)
    assert (OUT / "frame_index_0_1.csv").read_text().startswith(",0,1\n")
    add("header-frame-index-0-1", ["frame_index_0_1.csv"], ok(p, y, "0", "1"),
        "pandas DataFrame(np.column_stack([p, y])).to_csv(), header ',0,1'")


def index_columns() -> None:
    """pandas' index column holds row labels (a shuffled split's positions): never data."""
    p, y = scored("split", 200)
    frame = pd.DataFrame({"label": y, "probability": p})
    _, test = train_test_split(frame, test_size=0.3, shuffle=True, random_state=SEED)
    tp, ty = test["probability"].to_numpy(), test["label"].to_numpy()
    assert test.index.max() > 1 and not test.index.is_monotonic_increasing

    test.to_csv(OUT / "test_split.csv")
    reads_back(test, OUT / "test_split.csv", index_col=0)
    assert (OUT / "test_split.csv").read_text().startswith(",label,probability\n")
    add("index-empty-header", ["test_split.csv"], ok(tp, ty, "probability", "label"),
        "pandas to_csv() of a train_test_split test set: index column, empty header cell")

    reread = pd.read_csv(OUT / "test_split.csv")
    reread.to_csv(OUT / "test_split_unnamed.csv", index=False)
    assert (OUT / "test_split_unnamed.csv").read_text().startswith("Unnamed: 0,label,")
    reads_back(reread, OUT / "test_split_unnamed.csv")
    add("index-unnamed-0", ["test_split_unnamed.csv"], ok(tp, ty, "probability", "label"),
        "pd.read_csv(test_split.csv).to_csv(index=False): header 'Unnamed: 0'")

    reread.to_csv(OUT / "test_split_twice.csv")
    assert (OUT / "test_split_twice.csv").read_text().startswith(",Unnamed: 0,label,")
    reads_back(reread, OUT / "test_split_twice.csv", index_col=0)
    add("index-twice", ["test_split_twice.csv"], ok(tp, ty, "probability", "label"),
        "pd.read_csv(test_split.csv).to_csv(): a fresh index before 'Unnamed: 0'")

    p, y = scored("shuffled_parquet", 130)
    shuffled = pd.DataFrame({"y_true": y, "y_pred": p}).sample(frac=1, random_state=SEED)
    shuffled.to_parquet(OUT / "shuffled.parquet")
    table = pq.read_table(OUT / "shuffled.parquet")
    assert table.column_names == ["y_true", "y_pred", "__index_level_0__"], table.column_names
    same(table["__index_level_0__"].to_numpy(), shuffled.index.to_numpy())
    same(table["y_pred"].to_numpy(), shuffled["y_pred"].to_numpy())
    add("index-parquet", ["shuffled.parquet"],
        ok(shuffled["y_pred"].to_numpy(), shuffled["y_true"].to_numpy(), "y_pred", "y_true"),
        "pandas df.sample(frac=1).to_parquet(): index stored as __index_level_0__",
        requires=["pyarrow"])

    # multi-label: one column per class, pandas' default to_csv() keeps the index
    pm, ym = scored("multilabel_csv", 48, multilabel=True)
    order = rng_for("multilabel_csv order").permutation(48)
    preds = pd.DataFrame(pm, columns=CLASSES).iloc[order]
    labels = pd.DataFrame(ym, columns=CLASSES).iloc[order]
    preds.to_csv(OUT / "multilabel_preds.csv")
    labels.to_csv(OUT / "multilabel_targets.csv")
    reads_back(preds, OUT / "multilabel_preds.csv", index_col=0)
    reads_back(labels, OUT / "multilabel_targets.csv", index_col=0)
    add("index-multilabel", ["multilabel_preds.csv", "multilabel_targets.csv"],
        ok(preds.to_numpy(), labels.to_numpy(), CLASSES, CLASSES),
        "pandas DataFrame(columns=classes).to_csv() of shuffled rows, both files")


def missing_values() -> None:
    """A missing value is an error at its line; --skip-missing drops the row everywhere."""
    skip = ["--skip-missing"]

    # polars writes a null in a one-column file as an empty line
    n = 170
    p, y = scored("polars_null", n)
    gaps = np.array([17, 90, 131])
    keep = np.ones(n, bool)
    keep[gaps] = False
    with_nulls = pl.Series("prediction", p).scatter(gaps.tolist(), None)
    pl.DataFrame([with_nulls]).write_csv(OUT / "polars_preds_null.csv")
    pl.DataFrame({"target": y}).write_csv(OUT / "polars_targets.csv")
    back = pl.read_csv(OUT / "polars_preds_null.csv")["prediction"].to_numpy()
    same(back, np.where(keep, p, np.nan))
    same(pl.read_csv(OUT / "polars_targets.csv")["target"].to_numpy(), y)
    files = ["polars_preds_null.csv", "polars_targets.csv"]
    writer = "polars write_csv of a prediction column with nulls (blank lines), full targets"
    add("missing-polars-blank-line", files,
        error(files[0], int(gaps[0]) + 2, lambda s: s == ""), writer)
    add("missing-polars-blank-line-skip", files, ok(p, y, "prediction", "target", keep=keep),
        writer, options=skip)

    # pandas writes NaN as an empty cell; a missing label makes y_true a float column
    n = 130
    p, y = scored("pandas_nan", n)
    pf, yf = p.copy(), y.astype(np.float64)
    pf[[44, 101]] = np.nan
    yf[[12, 44, 77]] = np.nan
    keep = ~(np.isnan(pf) | np.isnan(yf))
    frame = pd.DataFrame({"y_true": yf, "y_pred": pf})
    frame.to_csv(OUT / "pandas_nan.csv", index=False)
    reads_back(frame, OUT / "pandas_nan.csv")
    writer = "pandas to_csv(index=False) with NaN in y_true and y_pred (empty cells)"
    add("missing-pandas-empty-cell", ["pandas_nan.csv"],
        error("pandas_nan.csv", 12 + 2, lambda s: s.startswith(",")), writer)
    add("missing-pandas-empty-cell-skip", ["pandas_nan.csv"],
        ok(p, y, "y_pred", "y_true", keep=keep), writer, options=skip)

    # labels not known for some rows, written NA as R and many pipelines do
    n = 88
    p, y = scored("labels_na", n)
    keep = np.ones(n, bool)
    keep[[5, 6, 60]] = False
    pd.Series(p, name="probability").to_csv(OUT / "probabilities.csv", index=False)
    labels = pd.Series(pd.array(np.where(keep, y, 0), dtype="Int64"), name="label")
    labels[~keep] = pd.NA
    labels.to_csv(OUT / "labels_na.csv", index=False, na_rep="NA")
    reads_back(pd.DataFrame({"probability": p}), OUT / "probabilities.csv")
    same(pd.read_csv(OUT / "labels_na.csv")["label"], np.where(keep, y, np.nan))
    files = ["probabilities.csv", "labels_na.csv"]
    writer = "pandas Series.to_csv(index=False); labels Int64 with pd.NA, na_rep='NA'"
    add("missing-NA", files, error("labels_na.csv", 5 + 2, lambda s: s == "NA"), writer)
    add("missing-NA-skip", files, ok(p, y, "probability", "label", keep=keep), writer,
        options=skip)

    # np.savetxt writes NaN as 'nan'; its header= line is a comment
    n = 66
    p, y = scored("savetxt_nan", n)
    pf = p.copy()
    pf[[20, 21, 50]] = np.nan
    np.savetxt(OUT / "savetxt_nan.csv", np.column_stack([pf, y]), delimiter=",",
               header="p,y")
    same(np.loadtxt(OUT / "savetxt_nan.csv", delimiter=","), np.column_stack([pf, y]))
    writer = 'np.savetxt(delimiter=",", header="p,y") with NaN predictions'
    add("missing-savetxt-nan", ["savetxt_nan.csv"],
        error("savetxt_nan.csv", 20 + 2, lambda s: s.startswith("nan,")), writer)
    add("missing-savetxt-nan-skip", ["savetxt_nan.csv"],
        ok(p, y, "p", "y", keep=~np.isnan(pf)), writer, options=skip)

    # pandas JSON Lines write NaN as null
    n = 70
    p, y = scored("jsonl_null", n)
    p = six_places(p)
    pf = p.copy()
    pf[[33, 34]] = np.nan
    pd.DataFrame({"y_true": y, "y_pred": pf}).to_json(OUT / "records_null.jsonl",
                                                       orient="records", lines=True)
    json_reads_back(OUT / "records_null.jsonl", {"y_true": y, "y_pred": pf}, lines=True)
    writer = 'pandas to_json(orient="records", lines=True) with NaN predictions (null)'
    add("missing-jsonl-null", ["records_null.jsonl"],
        error("records_null.jsonl", 33 + 1, lambda s: '"y_pred":null' in s), writer)
    add("missing-jsonl-null-skip", ["records_null.jsonl"],
        ok(p, y, "y_pred", "y_true", keep=~np.isnan(pf)), writer, options=skip)


def numpy_files() -> None:
    """NumPy's own writers: savetxt (a '# header' comment), save (.npy)."""
    p, y = scored("savetxt", 84)
    np.savetxt(OUT / "savetxt_p_y.csv", np.column_stack([p, y]), delimiter=",", header="p,y")
    assert (OUT / "savetxt_p_y.csv").read_text().startswith("# p,y\n")
    same(np.loadtxt(OUT / "savetxt_p_y.csv", delimiter=","), np.column_stack([p, y]))
    add("numpy-savetxt-header-comment", ["savetxt_p_y.csv"], ok(p, y, "p", "y"),
        'np.savetxt(delimiter=",", header="p,y"): "# p,y" then %.18e rows; the comment '
        "names the columns, as np.genfromtxt(names=True) reads it")

    p, y = scored("savetxt_default", 52)
    np.savetxt(OUT / "savetxt_default.txt", np.column_stack([p, y]))
    same(np.loadtxt(OUT / "savetxt_default.txt"), np.column_stack([p, y]))
    add("numpy-savetxt-default", ["savetxt_default.txt"], ok(p, y, 0, 1),
        "np.savetxt(path, np.column_stack([p, y])): space-separated, no header")

    p, y = scored("npy", 200)
    np.save(OUT / "preds.npy", p)
    np.save(OUT / "targets.npy", y)
    same(np.load(OUT / "preds.npy"), p)
    add("numpy-npy", ["preds.npy", "targets.npy"], ok(p, y, 0, 0),
        "np.save: float64 predictions (N,), int64 targets (N,)")

    p, y = scored("npy_float32", 160)
    p32 = p.astype(np.float32)
    np.save(OUT / "preds_float32.npy", p32)
    np.save(OUT / "targets_int8.npy", y.astype(np.int8))
    add("numpy-npy-float32", ["preds_float32.npy", "targets_int8.npy"],
        ok(p32.astype(np.float64), y, 0, 0),
        "np.save: float32 model outputs (N,), int8 targets (N,)")

    pm, ym = scored("npy_multilabel", 64, multilabel=True)
    pm32 = pm.astype(np.float32)
    np.save(OUT / "multilabel_preds.npy", pm32)
    np.save(OUT / "multilabel_targets.npy", ym.astype(bool))
    add("numpy-npy-multilabel", ["multilabel_preds.npy", "multilabel_targets.npy"],
        ok(pm32.astype(np.float64), ym, [0, 1, 2], [0, 1, 2]),
        "np.save: float32 (N, 3) predictions, bool (N, 3) targets")

    # predict_proba(X)[:, [1]] (or a Keras model's predict) is N×1: scikit-learn reads it
    # as N values; PyTorch refuses it against (N,)
    p, y, _ = test_split()
    np.save(OUT / "proba_column.npy", p[:, None])
    np.save(OUT / "y_test.npy", y)
    expected = ok(p, y, 0, 0)
    assert math.isclose(log_loss(y, p[:, None]), expected["loss"], rel_tol=1e-12)
    writer = "np.save(predict_proba(X_test)[:, [1]]), an (N, 1) array, and np.save(y_test)"
    add("numpy-npy-column-sklearn", ["proba_column.npy", "y_test.npy"], expected, writer,
        options=["--like", "sklearn"])
    add("numpy-npy-column-refused", ["proba_column.npy", "y_test.npy"],
        refusal("y_test.npy: targets have shape (N,) but predictions have shape (N, 1)"),
        writer)


# ------------------------------------------------------- issue 10: a test split


def labelled() -> None:
    """Class names as labels (`--pos-label`): the model's positive class is classes_[1],
    benign, so `--pos-label benign` pairs its probabilities with the right targets."""
    p, y, index = test_split()
    names = load_breast_cancer().target_names[y]  # 'malignant' / 'benign'
    benign = ["--pos-label", "benign"]

    name = "bc_diagnosis.csv"
    frame = pd.DataFrame({"label": names, "probability": p})
    frame.to_csv(OUT / name, index=False)
    back = pd.read_csv(OUT / name)
    assert list(back["label"]) == list(names)
    same(back["probability"], p)
    writer = "pandas DataFrame({'label': target_names[y_test], 'probability': " \
        "predict_proba(X_test)[:, 1]}).to_csv(index=False)"
    add("labels-names-pos-label", [name], ok(p, y, "probability", "label"), writer,
        options=benign)
    add("labels-names-without-pos-label", [name],
        error(name, 2, lambda s: s.startswith(str(names[0]))), writer)

    name = "bc_diagnosis_unknown.csv"
    unknown = names.astype(object)
    unknown[40] = "unknown"
    pd.DataFrame({"label": unknown, "probability": p}).to_csv(OUT / name, index=False)
    add("labels-third-label", [name], error(name, 42, lambda s: s.startswith("unknown,")),
        "the same, one label written 'unknown'", options=benign)

    name = "bc_diagnosis.jsonl"
    records = pd.DataFrame({"y_true": names, "y_pred": six_places(p)})
    records.to_json(OUT / name, orient="records", lines=True)
    json_reads_back(OUT / name, {"y_pred": six_places(p)}, lines=True)
    add("labels-jsonl", [name], ok(six_places(p), y, "y_pred", "y_true"),
        'pandas to_json(orient="records", lines=True) with class names', options=benign)

    name = "bc_diagnosis_records.json"
    records.to_json(OUT / name, orient="records")
    json_reads_back(OUT / name, {"y_pred": six_places(p)}, lines=False)
    add("labels-json-records", [name], ok(six_places(p), y, "y_pred", "y_true"),
        'pandas to_json(orient="records") with class names', options=benign)

    name = "bc_diagnosis_category.parquet"
    pd.DataFrame({"y_true": pd.Categorical(names), "y_pred": p}).to_parquet(OUT / name)
    assert str(pq.read_table(OUT / name).schema.field("y_true").type).startswith("dictionary")
    add("labels-parquet-category", [name], ok(p, y, "y_pred", "y_true"),
        "pandas to_parquet() of a Categorical label column (Arrow dictionary)",
        options=benign, requires=["pyarrow"])

    name = "bc_diagnosis_polars.parquet"
    pl.DataFrame({"y_true": names.tolist(), "y_pred": p}).write_parquet(OUT / name)
    add("labels-polars-parquet", [name], ok(p, y, "y_pred", "y_true"),
        "polars write_parquet of a String label column", options=benign, requires=["pyarrow"])

    # The UCI original codes the diagnosis 2 (benign) and 4 (malignant)
    name = "bc_class_2_4.csv"
    code = np.where(y == 1, 2, 4)
    pd.DataFrame({"id": index, "class": code, "prob_benign": p}).to_csv(OUT / name,
                                                                          index=False)
    add("labels-numeric-2-4", [name], ok(p, y, "prob_benign", "class"),
        "pandas to_csv(index=False) of UCI's class codes 2 (benign) / 4 (malignant)",
        options=["--pos-label", "2", "--pred-col", "prob_benign"])
    add("labels-numeric-2-4-without-pos-label", [name],
        error(name, 2, lambda s: s.split(",")[1] == "4" or s.split(",")[1] == "2"),
        "the same, read as numbers", options=["--pred-col", "prob_benign"])


def european() -> None:
    """`--decimal ,`: what pandas writes for a decimal comma, with `;` or with quotes."""
    p, y, index = test_split()
    frame = pd.DataFrame({"y_true": y, "y_pred": p}, index=index)

    name = "bc_european.csv"
    frame.to_csv(OUT / name, sep=";", decimal=",")
    back = pd.read_csv(OUT / name, sep=";", decimal=",", index_col=0)
    same(back["y_pred"], p)
    writer = "pandas to_csv(sep=';', decimal=',') with the test split's index"
    add("decimal-comma-semicolon", [name], ok(p, y, "y_pred", "y_true"), writer,
        options=["--decimal", ","])
    add("decimal-comma-without-option", [name], error(name, 2, lambda s: "," in s), writer)

    name = "bc_decimal_quoted.csv"
    frame.to_csv(OUT / name, decimal=",", index=False)
    assert '"' in (OUT / name).read_text()
    same(pd.read_csv(OUT / name, decimal=",")["y_pred"], p)
    add("decimal-comma-quoted", [name], ok(p, y, "y_pred", "y_true"),
        "pandas to_csv(decimal=',', index=False): comma-separated, numbers quoted",
        options=["--decimal", ","])


def containers() -> None:
    """Compression, zip, .npz and encodings: decided from the bytes."""
    p, y, index = test_split()
    frame = pd.DataFrame({"y_true": y, "y_pred": p})
    for suffix in (".gz", ".bz2", ".xz", ".zip"):
        name = f"bc_test.csv{suffix}"
        # compression inferred from the name (gzip told a fixed time: the same bytes each
        # run; pandas' zip records the time of writing, so that file changes every run)
        frame.to_csv(OUT / name, index=False,
                     compression={"method": "gzip", "mtime": 0} if suffix == ".gz" else "infer")
        same(pd.read_csv(OUT / name)["y_pred"], p)
        add(f"compressed-{suffix[1:]}", [name], ok(p, y, "y_pred", "y_true"),
            f"pandas to_csv('x.csv{suffix}', index=False): compression from the name")

    name = "bc_two_files.zip"
    with zipfile.ZipFile(OUT / name, "w") as archive:
        for member, column in (("preds.csv", "y_pred"), ("labels.csv", "y_true")):
            info = zipfile.ZipInfo(member, date_time=(2026, 11, 24, 0, 0, 0))
            archive.writestr(info, frame[[column]].head(20).to_csv(index=False),
                             zipfile.ZIP_DEFLATED)
    add("zip-two-files", [name], refusal(f"{name}: a zip archive of 2 files ('preds.csv', "
                                         "'labels.csv'): bce reads a zip of one file"),
        "zipfile of two pandas to_csv outputs")

    name = "bc_arrays.npz"
    np.savez(OUT / name, y_true=y, y_pred=p)
    with np.load(OUT / name) as saved:
        same(saved["y_pred"], p)
    add("npz-role-names", [name], ok(p, y, "y_pred", "y_true"),
        "np.savez(path, y_true=y_test, y_pred=proba)")

    name = "bc_arrays_compressed.npz"
    np.savez_compressed(OUT / name, p, y)
    add("npz-positional", [name], ok(p, y, "arr_0", "arr_1"),
        "np.savez_compressed(path, proba, y_test): arrays arr_0, arr_1")

    name = "bc_proba_only.npz"
    np.savez(OUT / name, probabilities=p, X_test_mean=load_breast_cancer().data[index].mean(1))
    np.save(OUT / "bc_y_test.npy", y)
    add("npz-with-npy-targets", [name, "bc_y_test.npy"], ok(p, y, "probabilities", 0),
        "np.savez(path, probabilities=..., X_test_mean=...) and np.save(y_test)")

    head = frame.head(60)
    hp, hy = head["y_pred"].to_numpy(), head["y_true"].to_numpy()
    for encoding in ("utf-8-sig", "utf-16"):
        name = f"bc_{encoding.replace('-', '_')}.csv"
        head.to_csv(OUT / name, index=False, encoding=encoding)
        same(pd.read_csv(OUT / name, encoding=encoding)["y_pred"], hp)
        add(f"encoding-{encoding}", [name], ok(hp, hy, "y_pred", "y_true"),
            f"pandas to_csv(index=False, encoding={encoding!r}): a byte-order mark first")

    name = "bc_model_output.pt"
    torch.save(torch.tensor(p[:8]), OUT / name)
    add("torch-save-refused", [name],
        refusal(f"{name}: this is a PyTorch file (torch.save, a pickle), not text: bce never "
                "loads pickles; save the tensor with numpy.save"), "torch.save(tensor)")


def series_json() -> None:
    """pandas `Series.to_json()`: {index: value}, the test split's shuffled index."""
    p, y, index = test_split()
    names = load_breast_cancer().target_names[y]
    probs = pd.Series(six_places(p), index=index)
    probs.to_json(OUT / "bc_series_proba.json")
    pd.Series(names, index=index).to_json(OUT / "bc_series_diagnosis.json")
    doc = json.loads((OUT / "bc_series_proba.json").read_text())
    assert list(doc) == [str(i) for i in index]
    same(list(doc.values()), six_places(p))
    add("series-to-json", ["bc_series_proba.json", "bc_series_diagnosis.json"],
        ok(six_places(p), y, 0, 0), "pandas Series.to_json() (orient='index'), both files",
        options=["--pos-label", "benign"])


def joined_by_id() -> None:
    """`--id-col`: Kaggle's submission and solution files (rows in different orders), and
    pandas frames shuffled before they were written; by position, the same files are
    refused at the first row whose ids differ."""
    p, y, index = test_split()
    order = rng_for("kaggle").permutation(len(p))  # the solution's rows, shuffled

    submission, solution = "kaggle_submission.csv", "kaggle_solution.csv"
    pd.DataFrame({"id": index, "target": p}).sort_values("id").to_csv(OUT / submission,
                                                                      index=False)
    pd.DataFrame({"id": index[order], "target": y[order]}).to_csv(OUT / solution, index=False)
    back = pd.read_csv(OUT / submission).merge(pd.read_csv(OUT / solution), on="id")
    by_id = np.argsort(index)
    same(back["target_x"], p[by_id])
    same(back["target_y"], y[by_id])
    writer = "pandas to_csv(index=False) of Kaggle's submission (id, target: sorted by id) " \
        "and solution (id, target: shuffled)"
    add("join-kaggle", [submission, solution], ok(p, y, "target", "target"), writer,
        options=["--id-col", "id"])
    row = int(np.argmax(np.sort(index) != index[order]))
    add("join-kaggle-by-position-refused", [submission, solution],
        error(submission, row + 2, lambda s: s.startswith(f"{np.sort(index)[row]},")), writer)

    # df.sample(frac=1).to_csv(): the index is written, shuffled; the targets unshuffled
    shuffled, targets = "bc_shuffled_pred.csv", "bc_y_test.csv"
    frame = pd.DataFrame({"y_pred": p}, index=index).sample(frac=1, random_state=SEED)
    frame.to_csv(OUT / shuffled)
    pd.Series(y, index=index, name="y_true").to_csv(OUT / targets)
    writer = "pandas DataFrame(index=test rows).sample(frac=1).to_csv() beside " \
        "Series(y_test).to_csv()"
    add("join-pandas-index", [shuffled, targets], ok(p, y, "y_pred", "y_true"), writer,
        options=["--id-col", ""])
    first = int(np.argmax(frame.index.to_numpy() != index))
    add("join-pandas-index-by-position-refused", [shuffled, targets],
        error(shuffled, first + 2, lambda s: s.startswith(f"{frame.index[first]},")), writer)

    # a DataFrame made from predict_proba has the default index 0, 1, 2 (no ids at all);
    # y_test keeps the rows the split drew: the rows align by position
    default = "bc_proba_default_index.csv"
    pd.DataFrame(p).to_csv(OUT / default)
    add("join-default-index-by-position", [default, targets], ok(p, y, "0", "y_true"),
        "pandas DataFrame(predict_proba(X_test)[:, 1]).to_csv() beside Series(y_test).to_csv()")

    name = "kaggle_submission_polars.parquet"
    pl.DataFrame({"id": index[order[::-1]], "prediction": p[order[::-1]]}).write_parquet(
        OUT / name)
    add("join-polars-parquet", [name, solution], ok(p, y, "prediction", "target"),
        "polars write_parquet of a submission in another order", options=["--id-col", "id"],
        requires=["pyarrow"])

    name = "kaggle_submission_twice.csv"
    twice = pd.DataFrame({"id": index, "target": p})
    pd.concat([twice, twice.iloc[[5]]]).to_csv(OUT / name, index=False)
    add("join-duplicate-id", [name, solution],
        error(name, len(p) + 2, lambda s: s.startswith(f"{index[5]},")),
        "pandas concat() that repeats a row, to_csv(index=False)", options=["--id-col", "id"])


def lists_and_selection() -> None:
    """Multi-label as list columns (one list of C values a row, as pandas, polars and a
    `json.dumps` loop write them), and one-column-a-class CSV read by glob and range."""
    pm, ym = scored("lists_pandas_jsonl", 30, multilabel=True)
    pm = six_places(pm)  # pandas rounds the floats in list cells as in any other cell
    name = "lists_pandas.jsonl"
    pd.DataFrame({"probs": pm.tolist(), "labels": ym.tolist()}).to_json(
        OUT / name, orient="records", lines=True)
    json_reads_back(OUT / name, {"probs": pm, "labels": ym}, lines=True)
    add("lists-pandas-jsonl", [name], ok(pm, ym, "probs", "labels"),
        'pandas DataFrame({"probs": [...], "labels": [...]}) of list cells, '
        'to_json(orient="records", lines=True)')

    # pandas writes NaN inside a list cell as null: a missing value at its line
    pm, ym = scored("lists_pandas_nan", 24, multilabel=True)
    pf = six_places(pm)
    pf[[9, 20], [2, 0]] = np.nan
    keep = ~np.isnan(pf).any(axis=1)
    name = "lists_pandas_nan.jsonl"
    pd.DataFrame({"probs": list(pf), "labels": list(ym)}).to_json(OUT / name, orient="records",
                                                                  lines=True)
    json_reads_back(OUT / name, {"probs": pf, "labels": ym}, lines=True)
    writer = "pandas to_json(orient='records', lines=True) of numpy-array cells with NaN (null)"
    add("lists-pandas-jsonl-nan", [name], error(name, 10, lambda s: "null" in s), writer)
    add("lists-pandas-jsonl-nan-skip", [name],
        ok(six_places(pm), ym, "probs", "labels", keep=keep), writer, options=["--skip-missing"])

    # a json.dumps loop: repr floats (exact), an id, one weight a row
    pm, ym = scored("lists_json_dumps", 25, multilabel=True)
    w = np.round(rng_for("lists_json_dumps w").uniform(0.5, 2.0, 25), 2)
    name = "lists_json_dumps.jsonl"
    with open(OUT / name, "w") as out:
        for i, (p, y, weight) in enumerate(zip(pm, ym, w, strict=True)):
            out.write(json.dumps({"id": f"flower-{i:03d}", "scores": p.tolist(),
                                  "targets": y.tolist(), "weight": float(weight)}) + "\n")
    json_reads_back(OUT / name, {"scores": pm, "targets": ym, "weight": w}, lines=True)
    writer = "a loop of f.write(json.dumps({'id': ..., 'scores': p.tolist(), 'targets': " \
        "y.tolist(), 'weight': w}) + '\\n')"
    add("lists-json-dumps", [name], ok(pm, ym, "scores", "targets"), writer)
    add("lists-json-dumps-weight-col", [name],
        ok(pm, ym, "scores", "targets", w=w, weights="weight"), writer,
        options=["--weight-col", "weight"])

    # the same loop where one row lost a class: refused at its line
    name = "lists_ragged.jsonl"
    with open(OUT / name, "w") as out:
        for i, (p, y) in enumerate(zip(pm[:20], ym[:20], strict=True)):
            scores = p.tolist()[:2] if i == 13 else p.tolist()
            out.write(json.dumps({"scores": scores, "targets": y.tolist()}) + "\n")
    add("lists-ragged-jsonl", [name],
        error(name, 14, lambda s: len(json.loads(s)["scores"]) == 2),
        "a json.dumps loop where row 13 has 2 scores, not 3")

    # polars: a pl.List(pl.Float64) column, and null lists and values in it
    pm, ym = scored("lists_polars", 30, multilabel=True)
    name = "lists_polars.parquet"
    pl.DataFrame({"y_pred": pl.Series(pm.tolist(), dtype=pl.List(pl.Float64)),
                  "y_true": pl.Series(ym.tolist(), dtype=pl.List(pl.Int64))}
                 ).write_parquet(OUT / name)
    back = pq.read_table(OUT / name)
    same(back["y_pred"].to_pylist(), pm)
    same(back["y_true"].to_pylist(), ym)
    add("lists-polars-parquet", [name], ok(pm, ym, "y_pred", "y_true"),
        "polars write_parquet of pl.List(pl.Float64) and pl.List(pl.Int64) columns",
        requires=["pyarrow"])

    name = "lists_polars_null.parquet"
    cells: list[Any] = pm.tolist()
    cells[8][1] = None
    cells[21] = None
    keep = np.ones(30, bool)
    keep[[8, 21]] = False
    pl.DataFrame({"y_pred": pl.Series(cells, dtype=pl.List(pl.Float64)),
                  "y_true": pl.Series(ym.tolist(), dtype=pl.List(pl.Int64))}
                 ).write_parquet(OUT / name)
    assert pq.read_table(OUT / name)["y_pred"].to_pylist() == cells
    writer = "polars write_parquet of a pl.List(pl.Float64) column with a null list and a " \
        "null value"
    add("lists-polars-parquet-null", [name],
        refusal(f"{name}[8]: a missing value in column 'y_pred'[1]"), writer,
        requires=["pyarrow"])
    add("lists-polars-parquet-null-skip", [name], ok(pm, ym, "y_pred", "y_true", keep=keep),
        writer, options=["--skip-missing"], requires=["pyarrow"])

    # pandas to_parquet of numpy arrays in cells (pyarrow writes list<double>)
    pm, ym = scored("lists_pandas_parquet", 30, multilabel=True)
    name = "lists_pandas.parquet"
    pd.DataFrame({"predicted_probs": list(pm), "labels": list(ym)}).to_parquet(OUT / name)
    back = pq.read_table(OUT / name)
    assert str(back.schema.field("predicted_probs").type) == "list<element: double>"
    same(back["predicted_probs"].to_pylist(), pm)
    add("lists-pandas-parquet", [name], ok(pm, ym, "predicted_probs", "labels"),
        "pandas DataFrame of numpy-array cells, to_parquet()", requires=["pyarrow"])

    name = "lists_ragged.parquet"
    cells = list(pm[:30])
    cells[17] = pm[17][:2]
    pd.DataFrame({"predicted_probs": cells, "labels": list(ym[:30])}).to_parquet(OUT / name)
    add("lists-ragged-parquet", [name],
        refusal(f"{name}[17]: a list of 2 values in column 'predicted_probs', where the "
                "first has 3"),
        "pandas to_parquet() of numpy-array cells, row 17 of 2 values", requires=["pyarrow"])

    # one column a class, pandas' default to_csv() (index first): by glob and by range
    pm, ym = scored("selection_csv", 30, multilabel=True)
    preds, labels = [f"pred_{c}" for c in CLASSES], [f"label_{c}" for c in CLASSES]
    frame = pd.DataFrame(np.column_stack([pm, ym]), columns=preds + labels)
    frame[labels] = frame[labels].astype(np.int64)
    name = "multilabel_wide.csv"
    frame.to_csv(OUT / name)
    reads_back(frame, OUT / name, index_col=0)
    assert (OUT / name).read_text().startswith(",pred_setosa,")
    writer = "pandas DataFrame(columns=pred_<class>… label_<class>…).to_csv()"
    add("selection-glob", [name], ok(pm, ym, preds, labels), writer,
        options=["--pred-col", "pred_*", "--target-col", "label_*"])
    add("selection-range", [name], ok(pm, ym, preds, labels), writer,
        options=["--pred-col", "1-3", "--target-col", "4-6"])


def readme(versions: dict[str, str]) -> str:
    """The folder's README: where the files come from, and with what."""
    listed = "\n".join(f"| {name} | {version} |" for name, version in versions.items())
    return f"""# Files written by the real exporters

Generated by `scripts/make_exports.py` (do not edit; run it again). Each file is
written by a library's own call from a scikit-learn model's predictions on data
sets that ship with scikit-learn: a `LogisticRegression` after a `StandardScaler`
on `load_breast_cancer` (out-of-fold probabilities from `cross_val_predict`, and
`predict_proba` on a held-out `train_test_split`; label names from
`target_names`), and one such model per class of `load_iris` for the multi-label
files. `expected.json` lists every case: the files, the options, the call that
wrote them, and what `bce compute ... --json` must give: the loss PyTorch
computes (`torch.nn.functional.binary_cross_entropy`, float64) on the arrays the
file was written from, correctly aligned, cross-checked with scikit-learn's
`log_loss`; or the line or message of the error. `tests/test_exports.py` holds
bce to it without importing any of these libraries.

Seed: {SEED}. Versions:

| library | version |
| --- | --- |
{listed}
"""


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    roles_from_names()
    extra_columns()
    weights()
    numeric_headers()
    index_columns()
    missing_values()
    numpy_files()
    labelled()
    european()
    containers()
    series_json()
    joined_by_id()
    lists_and_selection()
    names = [c["name"] for c in cases]
    assert len(set(names)) == len(names)
    document = {
        "about": "Files written by real exporters and what `bce compute FILES OPTIONS --json` "
                 "must say for each; generated by scripts/make_exports.py, do not edit.",
        "reference": "torch.nn.functional.binary_cross_entropy, float64, reduction='mean', "
                     "cross-checked with sklearn.metrics.log_loss",
        "seed": SEED,
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "pandas": pd.__version__,
                     "polars": pl.__version__, "pyarrow": pyarrow.__version__,
                     "numpy": np.__version__, "scikit-learn": sklearn.__version__},
        "cases": cases,
    }
    (OUT / "expected.json").write_text(json.dumps(document, indent=1) + "\n")
    (OUT / "README.md").write_text(readme(document["versions"]))
    size = sum(f.stat().st_size for f in OUT.iterdir())
    print(f"{len(cases)} cases, {len(list(OUT.iterdir()))} files, {size / 1024:.1f} KiB")
    assert size < 300 * 1024


if __name__ == "__main__":
    main()
