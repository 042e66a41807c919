"""What PyTorch, Keras and scikit-learn each call "binary cross-entropy".

The three differ in how they keep log(0) finite (clamp the log at −100, or clip
p), in precision, and in what a weighted mean divides by. `--like NAME` applies
one convention; `bce compare` computes all three and says what differs. The
golden tests hold each to its library (tests/golden/framework_cases.json).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from bcecli.core import DType, LossFunction, Reduction


@dataclass
class Convention:
    name: str
    dtype: DType | None  # None: the user's choice (float64 unless told)
    eps: float | None  # clip probabilities to [eps, 1 - eps]; None: clamp logs at -100
    reduction: Reduction
    clip_logits: bool  # logits through a sigmoid, then clipped (no logits API of its own)
    differs: str  # what sets it apart, for `bce compare`

    def eps_for(self, logits: bool) -> float | None:
        """The clip this convention applies to these inputs."""
        return self.eps if not logits or self.clip_logits else None

    def function(self, *, logits: bool, pos_weight: ArrayLike | None, label_smoothing: float,
                 dtype: DType) -> LossFunction:
        return LossFunction(logits=logits, pos_weight=pos_weight, eps=self.eps_for(logits),
                            label_smoothing=label_smoothing, dtype=self.dtype or dtype)


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
        "weighted mean Σw·l/Σw"),
}


def choose(like: str | None, *, reduction: Reduction | None, dtype: DType | None,
           eps: float | None, logits: bool) -> tuple[Reduction, DType, float | None]:
    """The reduction, dtype and eps a run computes with: explicit options win; then the
    `--like` convention; then bce's defaults, which are PyTorch's (mean, float64, no clip)."""
    convention = CONVENTIONS[like or "torch"]
    return (reduction or convention.reduction, dtype or convention.dtype or DType.FLOAT64,
            convention.eps_for(logits) if eps is None else eps)
