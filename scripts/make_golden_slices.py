"""Generate tests/golden/slices_cases.json from pandas groupby, PyTorch and scikit-learn.

    /work/.venv-gen/bin/python scripts/make_golden_slices.py

Each case is a small table (written into the JSON as CSV text, so the test feeds
bce the very bytes) and what the reference libraries give for each slice of it:
pandas' ``groupby(columns, dropna=False)`` makes the slices (a missing value is
its own group, as bce's null slice); per slice, PyTorch's
``binary_cross_entropy(p, y, weight=w, reduction="none")`` (float64, its −100
clamp: no eps clipping) gives the losses u, and

- ``rows``: the group's size;
- ``loss``: the run's reduction on the group: Σu/n (mean), Σu (sum), Σu/Σw
  (weighted-mean), the sums by ``math.fsum``;
- ``normalized_entropy``: (Σu/Σw) / H(Σw·y/Σw), H the binary entropy in nats;
- ``calibration``: Σw·p / Σw·y; ``mean_prediction``, ``mean_label``;
- ``roc_auc``: scikit-learn's ``roc_auc_score(y, p, sample_weight=w)``, None
  where the slice holds one class only.

Slice values keep their type as pandas reads them: text, a whole number, None.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.metrics import roc_auc_score

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "slices_cases.json"


def entropy(q: float) -> float | None:
    if not 0 < q < 1:
        return None
    return -q * math.log(q) - (1 - q) * math.log1p(-q)


def value(v: Any) -> Any:
    """A group key as JSON: None for NaN, an int for a whole number, else itself."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return int(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def case(name: str, frame: pd.DataFrame, by: list[str], reduction: str,
         weight: str | None = None) -> dict[str, Any]:
    text = frame.to_csv(index=False)
    data = pd.read_csv(io.StringIO(text))  # what a reader of the file sees
    p = torch.tensor(data["p"].to_numpy(np.float64))
    y = torch.tensor(data["y"].to_numpy(np.float64))
    w = None if weight is None else torch.tensor(data[weight].to_numpy(np.float64))
    data["u"] = torch.nn.functional.binary_cross_entropy(p, y, weight=w,
                                                         reduction="none").numpy()
    data["w"] = 1.0 if weight is None else data[weight]
    slices = []
    for key, group in data.groupby(by, dropna=False, sort=False):
        keys = key if isinstance(key, tuple) else (key,)
        u, gw = group["u"].tolist(), group["w"].to_numpy()
        gp, gy = group["p"].to_numpy(), group["y"].to_numpy()
        total, weights = math.fsum(u), math.fsum(gw.tolist())
        loss = {"mean": total / len(u), "sum": total, "weighted-mean": total / weights}
        label = math.fsum((gw * gy).tolist())
        prediction = math.fsum((gw * gp).tolist())
        prior = entropy(label / weights)
        both = len(set(gy.tolist())) == 2
        slices.append({
            "by": {col: value(k) for col, k in zip(by, keys, strict=True)},
            "rows": len(u), "loss": loss[reduction],
            "normalized_entropy": None if prior is None else total / weights / prior,
            "calibration": prediction / label if label else None,
            "mean_prediction": prediction / weights, "mean_label": label / weights,
            "roc_auc": float(roc_auc_score(gy, gp, sample_weight=None if weight is None
                                           else gw)) if both else None})
    return {"name": name, "csv": text, "by": by, "reduction": reduction, "weight": weight,
            "slices": slices}


def table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    country = rng.choice(np.array(["FR", "DE", "US", None], dtype=object), rows)
    device = rng.integers(1, 4, rows)
    p = np.round(rng.random(rows), 6)
    y = (rng.random(rows) < p).astype(int)
    return pd.DataFrame({"p": p, "y": y, "country": country, "device": device,
                         "w": np.round(rng.random(rows) * 3, 3)})


def main() -> None:
    one_class = table(60, 3)
    one_class.loc[one_class["country"] == "DE", "y"] = 1  # a slice of positives only
    one_class.loc[one_class["country"] == "US", "y"] = 0  # and one of negatives only
    cases = [
        case("one-column-unweighted-mean", table(300, 1), ["country"], "mean"),
        case("two-columns-weighted-mean", table(400, 2), ["country", "device"],
             "weighted-mean", "w"),
        case("weighted-mean-reduction-mean", table(200, 4), ["device"], "mean", "w"),
        case("sum", table(150, 5), ["country"], "sum"),
        case("one-class-slices", one_class, ["country"], "mean"),
    ]
    versions = {"pandas": pd.__version__, "torch": torch.__version__,
                "scikit-learn": sklearn.__version__, "numpy": np.__version__}
    OUT.write_text(json.dumps({"versions": versions, "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
