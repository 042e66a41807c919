"""Generate tests/golden/convention_cases.json from XGBoost, LightGBM and CatBoost, and
from Spark's formula.

    /work/.venv-gen/bin/pip install xgboost lightgbm catboost
    /work/.venv-gen/bin/python scripts/make_golden_conventions.py

Each case is one data set and what each library's own metric reports for it:
XGBoost's `logloss` (`xgb.train(..., 0 rounds).eval(dmatrix)` with the predictions as
`base_margin`: objective `reg:squarederror`, whose transform is the identity, for
probabilities, `binary:logistic` for logits), LightGBM's `binary_logloss` (a booster
whose one tree adds exactly 0, evaluated on a validation set whose `init_score` holds
the predictions: a custom objective for probabilities, so the metric reads them as
they are, `binary` for logits), and CatBoost's `Logloss` (`catboost.utils.eval_metric`
on the raw values: the logits, or log(p) − log1p(−p) of probabilities, with weights).
Spark needs a JVM, so its `logLoss` is reproduced here from MulticlassMetrics.scala
(numpy, float64; such values are marked `"spark_from": "source"`).

Weights are float32 numbers: the three boosting libraries store weights (and labels)
as float32, and these cases test the formulas, not that rounding. Multi-label cases
go to XGBoost as they are (it takes N×C labels); LightGBM, CatBoost and Spark take
one target per row, so theirs is the metric on each column, averaged over columns.
Soft targets go to XGBoost only: the others read them as 0/1 (bce refuses them).
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from pathlib import Path
from typing import Any

import catboost
import lightgbm as lgb
import numpy as np
import xgboost as xgb
from catboost.utils import eval_metric

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "convention_cases.json"
SPARK_EPS = 1e-15  # MulticlassMetrics.logLoss(eps: Double = 1e-15)


def xgboost_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool) -> float:
    """XGBoost's `logloss` on predictions given as the base margin of an untrained booster."""
    data = xgb.DMatrix(np.zeros((len(y), 1)), label=y, weight=w, base_margin=x)
    objective = "binary:logistic" if logits else "reg:squarederror"
    booster = xgb.train({"objective": objective, "eval_metric": "logloss"}, data, 0)
    return float(booster.eval(data).rsplit(":", 1)[1])  # "[0]\teval-logloss:0.123…"


def zero_gradient(predictions: np.ndarray, data: Any) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros_like(predictions), np.ones_like(predictions)


def lightgbm_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool) -> float:
    """LightGBM's `binary_logloss` on a validation set whose init_score holds the predictions,
    scored by a booster whose one tree is a constant 0 (balanced labels, no split allowed)."""
    train = lgb.Dataset(np.array([[0.0], [1.0]]), label=[0.0, 1.0], params={"verbose": -1})
    valid = lgb.Dataset(np.zeros((len(y), 1)), label=y, weight=w, init_score=x, reference=train)
    params = {"objective": "binary" if logits else zero_gradient, "metric": "binary_logloss",
              "verbose": -1, "min_data_in_leaf": 1, "min_data_in_bin": 1,
              "min_gain_to_split": 1e300}
    result: dict[str, Any] = {}
    booster = lgb.train(params, train, num_boost_round=1, valid_sets=[valid], valid_names=["v"],
                        callbacks=[lgb.record_evaluation(result)])
    assert booster.predict(np.array([[0.0], [1.0]]), raw_score=True).tolist() == [0.0, 0.0]
    return float(result["v"]["binary_logloss"][0])


def catboost_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool) -> float:
    """CatBoost's `Logloss` (use_weights) on the raw values: logits, or the log-odds of p."""
    with np.errstate(divide="ignore"):
        raw = x if logits else np.log(x) - np.log1p(-x)
    return float(eval_metric(y, raw, "Logloss:use_weights=true", weight=w)[0])


def spark_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool) -> float:
    """MulticlassMetrics.logLoss on the probability column (1 − p, p): the true class's
    probability q gives −log(eps) below eps, −log1p(−eps) above 1 − eps, else −log q;
    the sum of w·l over the sum of w (its treeReduce; summed exactly here)."""
    p = 1 / (1 + np.exp(-x)) if logits else x
    q = np.where(y == 1, p, 1 - p)
    with np.errstate(divide="ignore"):
        loss = np.where(q < SPARK_EPS, -math.log(SPARK_EPS),
                        np.where(q > 1 - SPARK_EPS, -math.log1p(-SPARK_EPS), -np.log(q)))
    weights = np.ones_like(loss) if w is None else w
    return math.fsum((loss * weights).tolist()) / math.fsum(weights.tolist())


def per_column(metric: Any, x: np.ndarray, y: np.ndarray, w: np.ndarray | None,
               logits: bool) -> float:
    """A single-target metric on N×C input: on each column, then the mean over columns."""
    if x.ndim == 1:
        return float(metric(x, y, w, logits))
    return float(np.mean([metric(x[:, c], y[:, c], w, logits) for c in range(x.shape[1])]))


def case(name: str, x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool,
         soft: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = dict(name=name, input=x.tolist(), target=y.tolist(),
                               weight=None if w is None else w.tolist(), logits=logits,
                               xgboost=xgboost_loss(x, y, w, logits))
    if not soft:  # the others read soft targets as 0/1
        out.update(lightgbm=per_column(lightgbm_loss, x, y, w, logits),
                   catboost=per_column(catboost_loss, x, y, w, logits),
                   spark=per_column(spark_loss, x, y, w, logits), spark_from="source")
    return out


def float32(values: np.ndarray) -> np.ndarray:
    """Values that are float32 numbers, in float64."""
    return values.astype(np.float32).astype(np.float64)


def cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(14)
    out = []
    for logits, weighted, shape in itertools.product(
            (False, True), (False, True), ((24,), (10, 3))):
        y = rng.integers(0, 2, shape).astype(np.float64)
        if logits:  # saturated sigmoids (float32 and float64), both ways, and 0
            x = rng.normal(0, 5, shape)
            x.flat[:6], y.flat[:6] = [40.0, -40.0, 100.0, -100.0, 0.0, 17.0], [0, 1, 0, 1, 1, 0]
        else:  # the floors and clips: p = 0, 1, 1e-20, 1 − 1e-9, 1e-12 on the wrong side
            x = rng.uniform(0, 1, shape)
            x.flat[:6], y.flat[:6] = [0.0, 1.0, 1e-20, 1 - 1e-9, 1e-12, 0.1], [1, 0, 1, 0, 1, 0]
        w = float32(rng.uniform(0.2, 3, shape[0])) if weighted else None
        out.append(case(f"{'logits' if logits else 'probs'}-{'x'.join(map(str, shape))}"
                        f"-{'weighted' if weighted else 'plain'}", x, y, w, logits))
    for n, logits in itertools.product((7, 300), (False, True)):  # nothing clipped: CatBoost finite
        x = rng.normal(0, 3, n) if logits else np.clip(rng.beta(0.5, 0.5, n), 1e-6, 1 - 1e-6)
        y = (rng.uniform(0, 1, n) < 0.4).astype(np.float64)
        w = float32(rng.uniform(0, 2, n))
        out.append(case(f"open-{n}-{'logits' if logits else 'probs'}", x, y, w, logits))
    for logits in (False, True):  # soft targets: XGBoost only
        x = rng.normal(0, 3, 20) if logits else rng.uniform(0, 1, 20)
        if not logits:
            x[:2] = [0.0, 1.0]
        y = float32(rng.uniform(0, 1, 20))
        out.append(case(f"soft-{'logits' if logits else 'probs'}", x, y, None, logits, soft=True))
    return out


def main() -> None:
    warnings.simplefilter("ignore")
    all_cases = cases()
    OUT.write_text(json.dumps({
        "generator": "scripts/make_golden_conventions.py", "xgboost": xgb.__version__,
        "lightgbm": lgb.__version__, "catboost": catboost.__version__,
        "spark": "reproduced from MulticlassMetrics.scala logLoss (no JVM here)",
        "cases": all_cases}, indent=1) + "\n")
    print(f"wrote {len(all_cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
