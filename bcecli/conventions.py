"""What PyTorch, Keras and scikit-learn each call "binary cross-entropy".

The three differ in how they keep log(0) finite (clamp the log at −100, or clip
p), in precision, and in what a weighted mean divides by. `--like NAME` applies
one convention; `bce compare` computes all three and says what differs. On
multi-label input scikit-learn has no binary cross-entropy (`log_loss` reads an
N×C matrix as one multiclass problem), so `compare` gives the mean over classes
of `log_loss` on each column. The golden tests hold each to its library
(tests/golden/framework_cases.json).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from bcecli.core import ClassTotals, DType, LossFunction, LossTotal, Reduction


@dataclass
class Convention:
    name: str
    dtype: DType | None  # None: the user's choice (float64 unless told)
    eps: float | None  # clip probabilities to [eps, 1 - eps]; None: clamp logs at -100
    reduction: Reduction
    clip_logits: bool  # logits through a sigmoid, then clipped (no logits API of its own)
    differs: str  # what sets it apart, for `bce compare`
    per_class: bool = False  # multi-label: the mean over classes of each column's loss

    def eps_for(self, logits: bool) -> float | None:
        """The clip this convention applies to these inputs."""
        return self.eps if not logits or self.clip_logits else None

    def function(self, *, logits: bool, pos_weight: ArrayLike | None, label_smoothing: float,
                 dtype: DType) -> LossFunction:
        return LossFunction(logits=logits, pos_weight=pos_weight, eps=self.eps_for(logits),
                            label_smoothing=label_smoothing, dtype=self.dtype or dtype)

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
}


def choose(like: str | None, *, reduction: Reduction | None, dtype: DType | None,
           eps: float | None, logits: bool) -> tuple[Reduction, DType, float | None]:
    """The reduction, dtype and eps a run computes with: explicit options win; then the
    `--like` convention; then bce's defaults, which are PyTorch's (mean, float64, no clip)."""
    convention = CONVENTIONS[like or "torch"]
    return (reduction or convention.reduction, dtype or convention.dtype or DType.FLOAT64,
            convention.eps_for(logits) if eps is None else eps)
