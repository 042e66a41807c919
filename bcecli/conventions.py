"""What PyTorch, Keras, scikit-learn, XGBoost, LightGBM, CatBoost and Spark each call
"binary cross-entropy".

They differ in how they keep log(0) finite (clamp the log at −100, clip p, floor each
log term, or not at all), in precision, and in what a weighted mean divides by.
`--like NAME` applies one convention; `bce compare` computes all of them and says what
differs. On multi-label input scikit-learn, LightGBM, CatBoost and Spark have no
binary cross-entropy (scikit-learn's `log_loss` reads an N×C matrix as one multiclass
problem; the others take one target per row), so `compare` gives the mean over classes
of their metric on each column. The golden tests hold each to its library
(tests/golden/framework_cases.json, tests/golden/convention_cases.json).

Where each definition comes from (read in the libraries' sources):

- XGBoost 3.2 `logloss`: src/metric/elementwise_metric.cu:151-166 (`LogLoss`:
  −y·log(max(p, 1e-16f)) − (1−y)·log(max(1 − p, 1e-16f)) in float32, a zero
  coefficient giving 0; `GetFinal` = Σw·l/Σw), :44-106 (`Reduce`: float32 w·l summed
  in double); logits through src/common/math.h:31-37 (`Sigmoid(float)`).
- LightGBM 4.7 `binary_logloss`: src/metric/binary_metric.hpp:115-130 (`LossOnPoint`:
  −log p, or −log(1 − p) for a label ≤ 0, in double, unless at most kEpsilon = 1e-15f
  (include/LightGBM/meta.h:54), then −log(kEpsilon) taken in float: 34.53877639770508);
  :59-96 (Σw·l/Σw); logits through src/objective/binary_objective.hpp:175-176; any
  label above 0 counts as 1 (binary_objective.hpp:37).
- CatBoost 1.2 `Logloss` (use_weights): catboost/libs/metrics/metric.cpp,
  `TCrossEntropyMetric::EvalSingleThread`: w·(log(1 + e^a) − y·a) on the raw value a,
  no clip; a target above 0.5 (target_border) counts as 1; Σw·l/Σw.
- Spark 4 `MulticlassClassificationEvaluator` logLoss: mllib/src/main/scala/org/apache/
  spark/mllib/evaluation/MulticlassMetrics.scala, `logLoss(eps = 1e-15)`: the true
  class's probability q, −log eps below eps, −log1p(−eps) above 1 − eps, else −log q;
  Σw·l/Σw (weightCol); a label must be a whole number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from bcecli.core import ClassTotals, DType, Floor, LossFunction, LossTotal, Reduction

XGBOOST_EPS = float(np.float32(1e-16))  # `float eps = 1e-16;` in XGBoost's LogLoss
LIGHTGBM_EPS = float(np.float32(1e-15))  # LightGBM's `kEpsilon = 1e-15f`
SPARK_EPS = 1e-15  # `logLoss(eps: Double = 1e-15)`


@dataclass
class Convention:
    name: str
    dtype: DType | None  # None: the user's choice (float64 unless told)
    eps: float | None  # clip probabilities to [eps, 1 - eps]; None: clamp logs at -100
    reduction: Reduction
    clip_logits: bool  # logits through a sigmoid, then clipped (no logits API of its own)
    differs: str  # what sets it apart, for `bce compare`
    per_class: bool = False  # multi-label: the mean over classes of each column's loss
    floor: Floor | None = None  # eps floors each log term instead of clipping p
    only_labels: str | None = None  # soft targets refused: why (it reads them as 0/1)

    def eps_for(self, logits: bool) -> float | None:
        """The clip this convention applies to these inputs."""
        return self.eps if not logits or self.clip_logits else None

    def floor_for(self, logits: bool) -> Floor | None:
        """The floor this convention applies to these inputs (logits: after a sigmoid)."""
        return self.floor if not logits or self.clip_logits else None

    def function(self, *, logits: bool, pos_weight: ArrayLike | None, label_smoothing: float,
                 dtype: DType, check_labels: bool = True) -> LossFunction:
        """Its loss; `check_labels=False` leaves soft targets to the caller (`compare`)."""
        return LossFunction(logits=logits, pos_weight=pos_weight, eps=self.eps_for(logits),
                            label_smoothing=label_smoothing, dtype=self.dtype or dtype,
                            floor=self.floor_for(logits),
                            only_labels=self.only_labels if check_labels else None)

    def total(self) -> LossTotal:
        """A running total that keeps what `result` needs (one per class, if per class)."""
        return ClassTotals() if self.per_class else LossTotal()

    def result(self, total: LossTotal, dtype: DTypeLike, class_weights: list[float] | None
               ) -> float:
        """This convention's loss from its total: per class, then the mean over classes
        (weighted by `class_weights`), where it is per class and the input multi-label."""
        if isinstance(total, ClassTotals):
            return total.class_mean(self.reduction, dtype, class_weights)
        return total.result(self.reduction, dtype)

    def differences(self, multi_label: bool) -> str:
        """What sets it apart, for `bce compare` on this input."""
        if not (self.per_class and multi_label):
            return self.differs
        return (f"{self.differs}; per-class mean: log_loss of each class (column), then the "
                "mean over classes (weighted by --class-weights)")


CONVENTIONS = {
    "torch": Convention(
        "torch", None, None, Reduction.MEAN, False,
        "clamps each log term at −100; mean over elements, weights included (Σw·l/N)"),
    "keras": Convention(
        "keras", DType.FLOAT32, 1e-7, Reduction.MEAN, False,
        "float32; clips p to [1e-7, 1−1e-7] (logits are not clipped); mean over elements"),
    "sklearn": Convention(
        "sklearn", DType.FLOAT64, float(np.finfo(np.float64).eps), Reduction.WEIGHTED_MEAN, True,
        "clips p to [2.2e-16, 1−2.2e-16] (logits through a sigmoid first); "
        "weighted mean Σw·l/Σw", per_class=True),
    "xgboost": Convention(
        "xgboost", DType.FLOAT32, XGBOOST_EPS, Reduction.WEIGHTED_MEAN, True,
        "float32; floors p and 1−p at 1e-16f (a sure mistake costs "
        "36.84, not 100; logits through a float32 sigmoid); weighted mean Σw·l/Σw",
        floor=Floor(XGBOOST_EPS, float(-np.log(np.float32(XGBOOST_EPS))))),
    "lightgbm": Convention(
        "lightgbm", DType.FLOAT64, LIGHTGBM_EPS, Reduction.WEIGHTED_MEAN, True,
        "floors p and 1−p at 1e-15f (a sure mistake costs 34.54, not 100; logits through "
        "a sigmoid); weighted mean Σw·l/Σw; 0/1 targets only", per_class=True,
        floor=Floor(LIGHTGBM_EPS, float(-np.log(np.float32(LIGHTGBM_EPS)))),
        only_labels="LightGBM's binary_logloss reads any target above 0 as 1 (--like lightgbm)"),
    "catboost": Convention(
        "catboost", DType.FLOAT64, None, Reduction.WEIGHTED_MEAN, False,
        "no clamp at all: p = 0 for y = 1 costs inf, not 100 (logits as PyTorch); weighted "
        "mean Σw·l/Σw; 0/1 targets only", per_class=True, floor=Floor(0.0, math.inf),
        only_labels="CatBoost's Logloss reads a target above 0.5 as 1 (--like catboost)"),
    "spark": Convention(
        "spark", DType.FLOAT64, SPARK_EPS, Reduction.WEIGHTED_MEAN, True,
        "clips the true class's probability to [1e-15, 1−1e-15] (a sure mistake costs "
        "34.54, not 100; logits through a sigmoid); weighted mean Σw·l/Σw; 0/1 targets only",
        per_class=True,
        floor=Floor(SPARK_EPS, -math.log(SPARK_EPS), top=-math.log1p(-SPARK_EPS)),
        only_labels="Spark's logLoss takes whole-number labels only (--like spark)"),
}


def choose(like: str | None, *, reduction: Reduction | None, dtype: DType | None,
           eps: float | None, logits: bool
           ) -> tuple[Reduction, DType, float | None, Floor | None]:
    """The reduction, dtype, eps and floor a run computes with: explicit options win (an
    explicit --eps clips p, and no floor is left); then the `--like` convention; then bce's
    defaults, which are PyTorch's (mean, float64, no clip)."""
    convention = CONVENTIONS[like or "torch"]
    return (reduction or convention.reduction, dtype or convention.dtype or DType.FLOAT64,
            convention.eps_for(logits) if eps is None else eps,
            convention.floor_for(logits) if eps is None else None)
