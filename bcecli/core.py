"""The math: binary cross-entropy exactly as PyTorch computes it, in numpy only.

No file I/O, no Typer, no Rich. Signatures mirror `torch.nn.functional`; invalid
values raise `BadValue` carrying the array role and the index of the first bad
element, so callers can point at the line it came from.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from bcecli.errors import BadValue, InputError, UsageError


class Reduction(StrEnum):
    """How per-element losses become the result. Each member equals its string, so
    library callers pass plain `"mean"` as they would to PyTorch."""

    MEAN = "mean"  # Σw·l / N
    SUM = "sum"
    NONE = "none"  # one loss per element
    ROWS = "rows"  # one loss per row: the mean over classes (Keras' reduction=None)
    WEIGHTED_MEAN = "weighted-mean"  # Σw·l / Σw

    @property
    def single(self) -> bool:
        """Whether the result is one number; `none` and `rows` give one per element or row."""
        return self not in (Reduction.NONE, Reduction.ROWS)


class DType(StrEnum):
    """The precisions bce computes in; `np.dtype(DType.FLOAT32)` is numpy's float32."""

    FLOAT64 = "float64"
    FLOAT32 = "float32"


LOG_CLAMP = -100.0  # PyTorch clamps each log term of BCELoss at -100


class Floor(NamedTuple):
    """How XGBoost, LightGBM, CatBoost and Spark keep log(0) finite: not by clipping p, but
    by giving each log term whose argument (p, or 1 − p as computed) is at most `eps` the
    fixed loss `cost` (−log eps in the library's precision; inf: no floor at all), and,
    for Spark, one above 1 − eps the loss `top`."""

    eps: float
    cost: float
    top: float | None = None
LABEL_SLICE = 1 << 15  # elements per slice of `label_losses`: its arrays stay in cache

FloatArray = NDArray[np.floating]


def binary_cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: Reduction | str = "mean",
    *,
    pos_weight: ArrayLike | None = None,
    label_smoothing: float = 0.0,
    eps: float | None = None,
    dtype: DTypeLike = np.float64,
    focal_gamma: float | None = None,
    focal_alpha: float | None = None,
) -> float | FloatArray:
    """Binary cross-entropy of probabilities, as `torch.nn.functional.binary_cross_entropy`.

    Per element, with w the weight broadcast to the input's shape::

        l = -w * [y * max(log p, -100) + (1 - y) * max(log(1 - p), -100)]

    Each log term is clamped at -100 as PyTorch does, so a confident mistake costs
    100. With `eps`, probabilities are clipped to [eps, 1 - eps] instead (the Keras
    and scikit-learn way) and that cost is -log(eps).

    Parameters
    ----------
    input : array_like of shape (N,) or (N, C)
        Predicted probabilities, in [0, 1]. C columns are C labels (multi-label).
    target : array_like of the same shape as `input`
        Targets in [0, 1]: 0/1 labels or soft labels.
    weight : array_like, default=None
        Weights, broadcast to the shape of `input` as in PyTorch: shape (N, 1) for one
        weight per sample, (C,) for one per class, or the shape of `input`. Finite and
        non-negative.
    reduction : {"mean", "sum", "none", "rows", "weighted-mean"}, default="mean"
        "mean" divides the sum of the weighted losses by the number of elements
        (PyTorch, Keras); "weighted-mean" divides it by the sum of the weights
        (scikit-learn's `sample_weight`); "sum" returns the sum; "none" returns the
        loss of each element; "rows" the loss of each row, the mean over its classes
        (Keras' ``reduction=None``).
    pos_weight : array_like, default=None
        Weight of the positive term, broadcast over the last (class) dimension:
        l = -[pw * y * log p + (1 - y) * log(1 - p)]. PyTorch has it only for logits;
        this is the same definition for probabilities.
    label_smoothing : float, default=0.0
        Keras' label smoothing F in [0, 1]: targets become y * (1 - F) + 0.5 * F.
    eps : float, default=None
        If given, clip probabilities to [eps, 1 - eps], with 0 < eps < 0.5, instead
        of clamping each log term at -100.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Precision of the computation; float32 computes as a PyTorch float32 tensor.
    focal_gamma : float, default=None
        If given (>= 0), the focal loss of torchvision's `sigmoid_focal_loss`: each
        loss times (1 - p_t) ** focal_gamma, p_t = p * y + (1 - p) * (1 - y).
    focal_alpha : float, default=None
        With `focal_gamma`: the weight alpha in [0, 1] of positives, 1 - alpha of
        negatives.

    Returns
    -------
    loss : float or ndarray
        The reduced loss, a Python float (for float32, the nearest float32 value).
        With ``reduction="none"``, an ndarray of `dtype` and the input's shape;
        with ``reduction="rows"``, of shape (N,).

    Raises
    ------
    BadValue
        A prediction or target outside [0, 1], a NaN, or a weight that is negative
        or not finite. Its `role` ("prediction", "target", "weight") and `index`
        locate the first one.
    InputError
        Empty input, shapes that differ or do not broadcast, or weights that sum to
        zero with "weighted-mean".
    UsageError
        An unknown `reduction` or `dtype`, or an option outside its range.

    All three are subclasses of `bcecli.BceError`, a `ValueError`.

    See Also
    --------
    binary_cross_entropy_with_logits : The same loss from raw scores.
    LossTotal : The same reductions, fed in chunks.

    Examples
    --------
    >>> from bcecli import binary_cross_entropy
    >>> binary_cross_entropy([0.8, 0.3, 0.6], [1, 0, 1])
    0.36354803967297755
    >>> binary_cross_entropy([0.8, 0.3, 0.6], [1, 0, 1], reduction="none")
    array([0.22314355, 0.35667494, 0.51082562])

    Multi-label input (N×C) has one loss per row with "rows", the mean over classes:

    >>> binary_cross_entropy([[0.8, 0.3], [0.6, 0.9]], [[1, 0], [1, 1]], reduction="rows")
    array([0.28990925, 0.30809307])

    PyTorch's mean divides by the number of elements, scikit-learn's by the weights:

    >>> weights = [1.0, 2.0, 0.5]
    >>> binary_cross_entropy([0.8, 0.3, 0.6], [1, 0, 1], weights)
    0.3973020836915566
    >>> binary_cross_entropy([0.8, 0.3, 0.6], [1, 0, 1], weights, reduction="weighted-mean")
    0.34054464316419136

    A confident mistake costs 100 (PyTorch's clamp), or -log(eps) with `eps`:

    >>> binary_cross_entropy([0.0], [1])
    100.0
    >>> binary_cross_entropy([0.0], [1], eps=1e-7)
    16.11809565095832

    >>> binary_cross_entropy([0.8, 1.3], [1, 1])
    Traceback (most recent call last):
        ...
    bcecli.errors.BadValue: prediction 1.3 is outside [0, 1]
    """
    return loss(input, target, weight=weight, pos_weight=pos_weight, reduction=reduction,
                logits=False, label_smoothing=label_smoothing, eps=eps, dtype=dtype,
                focal_gamma=focal_gamma, focal_alpha=focal_alpha)


def binary_cross_entropy_with_logits(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: Reduction | str = "mean",
    *,
    label_smoothing: float = 0.0,
    dtype: DTypeLike = np.float64,
    focal_gamma: float | None = None,
    focal_alpha: float | None = None,
) -> float | FloatArray:
    """Binary cross-entropy of logits, as `torch.nn.functional.binary_cross_entropy_with_logits`.

    Per element, with w the broadcast weight and lw = 1 + (pos_weight - 1) * y::

        l = w * [(1 - y) * x + lw * (log1p(exp(-|x|)) + max(-x, 0))]

    This stable form never computes log(sigmoid(x)), so no logit is too large.
    Infinite logits give the mathematical limit (0 when the sigmoid saturates
    toward the target, inf otherwise) where PyTorch gives NaN.

    Parameters
    ----------
    input : array_like of shape (N,) or (N, C)
        Logits (raw scores), any real number. C columns are C labels (multi-label).
    target : array_like of the same shape as `input`
        Targets in [0, 1]: 0/1 labels or soft labels.
    weight : array_like, default=None
        Weights, broadcast to the shape of `input` as in PyTorch: shape (N, 1) for one
        weight per sample, (C,) for one per class, or the shape of `input`. Finite and
        non-negative.
    pos_weight : array_like, default=None
        PyTorch's `pos_weight`: the weight of the positive term, broadcast over the
        last (class) dimension; one value, or C values.
    reduction : {"mean", "sum", "none", "rows", "weighted-mean"}, default="mean"
        "mean" divides the sum of the weighted losses by the number of elements
        (PyTorch, Keras); "weighted-mean" divides it by the sum of the weights
        (scikit-learn's `sample_weight`); "sum" returns the sum; "none" returns the
        loss of each element; "rows" the loss of each row, the mean over its classes
        (Keras' ``reduction=None``).
    label_smoothing : float, default=0.0
        Keras' label smoothing F in [0, 1]: targets become y * (1 - F) + 0.5 * F.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Precision of the computation; float32 computes as a PyTorch float32 tensor.
    focal_gamma : float, default=None
        If given (>= 0), torchvision's `sigmoid_focal_loss`: each loss times
        (1 - p_t) ** focal_gamma, with p = sigmoid(x) and p_t = p * y + (1 - p) * (1 - y).
    focal_alpha : float, default=None
        With `focal_gamma`: the weight alpha in [0, 1] of positives, 1 - alpha of
        negatives.

    Returns
    -------
    loss : float or ndarray
        The reduced loss, a Python float (for float32, the nearest float32 value).
        With ``reduction="none"``, an ndarray of `dtype` and the input's shape;
        with ``reduction="rows"``, of shape (N,).

    Raises
    ------
    BadValue
        A NaN logit, a target outside [0, 1] or NaN, or a weight that is negative or
        not finite. Its `role` and `index` locate the first one.
    InputError
        Empty input, shapes that differ or do not broadcast, or weights that sum to
        zero with "weighted-mean".
    UsageError
        An unknown `reduction` or `dtype`, or an option outside its range.

    All three are subclasses of `bcecli.BceError`, a `ValueError`.

    See Also
    --------
    binary_cross_entropy : The same loss from probabilities.

    Notes
    -----
    The mean is the exact sum rounded once, divided by N. For the first example
    PyTorch's float64 result is 0.4835162231634158, one ulp lower; in float32 the
    two agree (0.48351624608039856).

    Examples
    --------
    >>> import numpy as np
    >>> from bcecli import binary_cross_entropy_with_logits
    >>> binary_cross_entropy_with_logits([0.2, -1.0, 3.0, 0.5], [1, 0, 1, 0])
    0.48351622316341586
    >>> binary_cross_entropy_with_logits([0.2, -1.0, 3.0, 0.5], [1, 0, 1, 0], dtype=np.float32)
    0.48351624608039856
    >>> binary_cross_entropy_with_logits([0.2, -1.0, 3.0, 0.5], [1, 0, 1, 0],
    ...                                  focal_gamma=2.0, focal_alpha=0.25)
    0.08259567245966218

    Infinite logits give the limit, not NaN:

    >>> binary_cross_entropy_with_logits([np.inf, -np.inf], [1, 1], reduction="none")
    array([ 0., inf])
    """
    return loss(input, target, weight=weight, pos_weight=pos_weight, reduction=reduction,
                logits=True, label_smoothing=label_smoothing, eps=None, dtype=dtype,
                focal_gamma=focal_gamma, focal_alpha=focal_alpha)


def loss(
    input: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None,
    pos_weight: ArrayLike | None,
    reduction: Reduction | str,
    logits: bool,
    label_smoothing: float,
    eps: float | None,
    dtype: DTypeLike,
    focal_gamma: float | None = None,
    focal_alpha: float | None = None,
) -> float | FloatArray:
    """Validate, compute per-element losses, then reduce: the one path both APIs share."""
    if reduction not in tuple(Reduction):
        raise UsageError(f"reduction must be one of {', '.join(Reduction)}, not {reduction!r}")
    function = LossFunction(logits=logits, pos_weight=pos_weight,
                            label_smoothing=label_smoothing, eps=eps, dtype=dtype,
                            focal_gamma=focal_gamma, focal_alpha=focal_alpha)
    if np.size(input) == 0:
        raise InputError("no values to compute a loss from")
    losses = function(input, target, weight)
    if not Reduction(reduction).single:
        return unreduced(losses, reduction)
    total = LossTotal()
    total.add(losses, None if weight is None else function.cast(weight))
    return total.result(reduction, function.dtype)


class LossFunction:
    """The settings of one loss, validated once; calling it gives per-element losses.

    Streaming callers build one and call it on every block.
    """

    def __init__(self, *, logits: bool = False, pos_weight: ArrayLike | None = None,
                 label_smoothing: float = 0.0, eps: float | None = None,
                 dtype: DTypeLike = np.float64, focal_gamma: float | None = None,
                 focal_alpha: float | None = None, permissive: bool = False,
                 floor: Floor | None = None, only_labels: str | None = None):
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise UsageError(f"dtype must be float64 or float32, not {self.dtype}")
        if not 0.0 <= label_smoothing <= 1.0:
            raise UsageError(f"label smoothing must be in [0, 1], not {label_smoothing}")
        if eps is not None and not 0.0 < eps < 0.5:
            raise UsageError(f"eps must be in (0, 0.5), not {eps}")
        if focal_gamma is not None and not focal_gamma >= 0:
            raise UsageError(f"focal gamma must be >= 0, not {focal_gamma}")
        if focal_alpha is not None and (focal_gamma is None or not 0 <= focal_alpha <= 1):
            raise UsageError("focal alpha needs a focal gamma" if focal_gamma is None else
                             f"focal alpha must be in [0, 1], not {focal_alpha}")
        self.logits = logits
        self.label_smoothing = label_smoothing
        self.eps = eps
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        # PyTorch's own checks only: negative weights (Monte-Carlo event weights) and, with
        # logits, targets outside [0, 1]
        self.permissive = permissive
        self.floor = floor  # instead of eps (see `Floor`)
        self.only_labels = only_labels  # targets must be 0 or 1; the text says whose rule
        self.pos_weight = None if pos_weight is None else self.cast(pos_weight)
        if self.pos_weight is not None:
            check_weights(self.pos_weight, "pos_weight")

    def cast(self, values: ArrayLike) -> FloatArray:
        return np.asarray(values, dtype=self.dtype)

    def __call__(self, input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None
                 ) -> FloatArray:
        x, y = self.cast(input), self.cast(target)
        if x.shape != y.shape:
            raise InputError(f"target shape {x_shape(y)} differs from input shape {x_shape(x)}")
        w = None if weight is None else self.cast(weight)
        for name, arr in (("weight", w), ("pos_weight", self.pos_weight)):
            if arr is not None:
                try:
                    np.broadcast_shapes(arr.shape, x.shape)
                except ValueError:
                    raise InputError(f"{name} of shape {x_shape(arr)} does not broadcast "
                                     f"to input shape {x_shape(x)}") from None
        if w is not None:
            check_weights(w, "weight", negative=self.permissive)
        check_predictions(x, self.logits)
        check_targets(y, any_value=self.logits and self.permissive)
        if self.only_labels is not None:
            first_bad((y != 0) & (y != 1), y, "target", f"is not 0 or 1: {self.only_labels}")
        if self.label_smoothing:
            y = y * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing  # keeps y's dtype
        # Huge weights can overflow a loss to inf: that is its value, not a warning.
        with np.errstate(over="ignore"):
            if self.floor is not None:  # logits through a sigmoid first
                losses = floored_losses(sigmoid(x) if self.logits else x, y, self.pos_weight,
                                        self.floor)
            elif self.logits and self.eps is None:
                losses = logit_losses(x, y, self.pos_weight)
            else:  # with eps, logits go through a sigmoid and are clipped (scikit-learn's way)
                p = sigmoid(x) if self.logits else x
                losses = probability_losses(p, y, self.pos_weight, self.eps)
            if self.focal_gamma is not None:
                losses = focal(losses, x, y, self.logits, self.focal_gamma, self.focal_alpha)
            losses = apply_weight(losses, w)
        losses += 0.0  # turns the -0.0 of 0·log(1) into 0.0
        return losses


def unreduced(losses: FloatArray, reduction: Reduction | str) -> FloatArray:
    """What a reduction without a single value gives: the per-element losses for "none",
    their mean over classes (the last axis) for "rows", as PyTorch's `none(...).mean(-1)`
    and Keras' `reduction=None`; flat losses are their own rows."""
    if reduction == Reduction.ROWS and losses.ndim == 2:
        rows: FloatArray = losses.mean(axis=-1)
        return rows
    return losses


def probability_losses(
    p: FloatArray, y: FloatArray, pos_weight: FloatArray | None, eps: float | None
) -> FloatArray:
    """Per-element BCE of probabilities, in PyTorch's order of operations."""
    if eps is not None:
        low = clip_eps(eps, p.dtype)
        p = np.clip(p, p.dtype.type(low), p.dtype.type(1.0 - low))
    if pos_weight is None:
        negative = y == 0
        if np.count_nonzero(negative) + np.count_nonzero(y == 1) == y.size:
            return label_losses(p, negative, clamp=eps is None)
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped just below
        log_p = np.log(p)
        log_q = np.log1p(-p)
    if eps is None:
        np.maximum(log_p, LOG_CLAMP, out=log_p)
        np.maximum(log_q, LOG_CLAMP, out=log_q)
    positive = y * log_p if pos_weight is None else pos_weight * y * log_p
    result: FloatArray = (y - 1) * log_q - positive
    return result


def floored_losses(p: FloatArray, y: FloatArray, pos_weight: FloatArray | None,
                   floor: Floor) -> FloatArray:
    """Per-element BCE of probabilities with each log term floored (see `Floor`), in p's
    dtype: −[y·log p + (1−y)·log(1 − p)], a term at or below eps costing `floor.cost`, and
    a term with a zero coefficient zero (never 0·inf), as XGBoost's `xlogy` does."""
    kind = p.dtype.type
    result: FloatArray = np.zeros_like(p)
    for argument, share in ((p, y if pos_weight is None else pos_weight * y), (1 - p, 1 - y)):
        with np.errstate(divide="ignore"):  # log(0), replaced by the cost just below
            term = -np.log(argument)
        term = np.where(argument > kind(floor.eps), term, kind(floor.cost))
        if floor.top is not None:
            term = np.where(argument > 1 - floor.eps, kind(floor.top), term)
        with np.errstate(invalid="ignore"):  # 0 · inf, made 0 just below
            result += np.where(share == 0, kind(0), share * term)
    return result


def label_losses(p: FloatArray, negative: NDArray[np.bool_], clamp: bool) -> FloatArray:
    """`probability_losses` for 0/1 targets, with one log per element instead of two.

    The other term is multiplied by a zero target, and both terms are finite (clamped,
    or clipped with eps), so it only ever adds a signed zero, which the caller's
    ``+ 0.0`` makes 0.0: the same floats, bit for bit. log1p, far slower than log
    in numpy, is taken only of the predictions whose target is 0, gathered and
    scattered back a cache-sized slice of rows at a time.
    """
    result: FloatArray = np.empty(p.shape, dtype=p.dtype)
    step = max(1, LABEL_SLICE // max(1, p.size // max(1, len(p))))
    for start in range(0, len(p), step):
        rows = slice(start, start + step)
        out, bad = result[rows], negative[rows]
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped just below
            np.log(p[rows], out=out)
            log_q = np.log1p(-p[rows][bad])
        if clamp:
            np.maximum(out, LOG_CLAMP, out=out)
            np.maximum(log_q, LOG_CLAMP, out=log_q)
        out[bad] = log_q
    return np.negative(result, out=result)


def clip_eps(eps: float, dtype: np.dtype[np.floating]) -> float:
    """The clip actually used: `eps`, or the dtype's machine epsilon where 1 − eps
    rounds to 1 in that dtype (float32 and eps < 6e-8), which would let log(1 − p)
    reach log(0). scikit-learn's `log_loss` clips at that epsilon too."""
    machine = float(np.finfo(dtype).eps)
    return eps if dtype.type(1.0 - eps) < 1 else max(eps, machine)


def logit_losses(x: FloatArray, y: FloatArray, pos_weight: FloatArray | None) -> FloatArray:
    """Per-element BCE of logits via log-sigmoid = min(x, 0) - log1p(exp(-|x|)).

    Never log(sigmoid(x)): that overflows to -inf for x < -37 or so. Infinite
    logits are replaced by their limit instead of PyTorch's NaN.
    """
    with np.errstate(invalid="ignore"):  # inf * 0 at ±inf logits, fixed below
        log_sig = np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))
        if pos_weight is not None:
            log_sig = log_sig * ((pos_weight - 1) * y + 1)
        result: FloatArray = (1 - y) * x - log_sig
    if np.isinf(x).any():
        # x -> +inf: loss -> (1-y)*x; x -> -inf: loss -> -pw*y*x.
        pw = 1 if pos_weight is None else pos_weight
        up = np.where(1 - y > 0, np.inf, 0.0)
        down = np.where(pw * y > 0, np.inf, 0.0)
        result = np.where(x == np.inf, up, np.where(x == -np.inf, down, result)).astype(x.dtype)
    return result


def focal(losses: FloatArray, x: FloatArray, y: FloatArray, logits: bool, gamma: float,
          alpha: float | None) -> FloatArray:
    """Focal loss as torchvision's `sigmoid_focal_loss` computes it, from the BCE losses.

    loss · (1 − p_t)^γ, times α_t = α·y + (1 − α)·(1 − y) when α is given; for
    probabilities p is the input itself. Written as torchvision writes it, so the
    results agree (its 1 − p_t loses digits when p_t is near 1; so does this).
    """
    p = sigmoid(x) if logits else x
    p_t = p * y + (1 - p) * (1 - y)
    with np.errstate(invalid="ignore"):  # 0 · inf at infinite logits, fixed below
        result: FloatArray = losses * (1 - p_t) ** losses.dtype.type(gamma)
        if alpha is not None:
            result = (alpha * y + (1 - alpha) * (1 - y)) * result
    return np.where(np.isnan(result), losses.dtype.type(0), result) if logits else result


def sigmoid(x: FloatArray) -> FloatArray:
    """1 / (1 + e^-x), as torch.sigmoid computes it (exp may overflow to inf: p = 0)."""
    with np.errstate(over="ignore"):
        p: FloatArray = 1 / (1 + np.exp(-x))
    return p


def apply_weight(losses: FloatArray, weight: FloatArray | None) -> FloatArray:
    """Multiply by the weight; a zero weight gives zero even on an infinite loss."""
    if weight is None:
        return losses
    with np.errstate(invalid="ignore"):
        weighted: FloatArray = losses * weight
    if np.isinf(losses).any():
        weighted = np.where(weight == 0, losses.dtype.type(0), weighted)
    return weighted


def check_predictions(x: FloatArray, logits: bool) -> None:
    if logits:
        if not inside(x, -math.inf, math.inf):
            first_bad(np.isnan(x), x, "prediction", "is not a number")
    elif not inside(x, 0.0, 1.0):
        first_bad(np.isnan(x), x, "prediction", "is not a number")
        first_bad(~((x >= 0) & (x <= 1)), x, "prediction", "is outside [0, 1]")


def check_targets(y: FloatArray, any_value: bool = False) -> None:
    if any_value:
        if not finite(y):
            first_bad(np.isnan(y), y, "target", "is not a number")
            first_bad(~np.isfinite(y), y, "target", "is not finite")
    elif not inside(y, 0.0, 1.0):
        first_bad(np.isnan(y), y, "target", "is not a number")
        first_bad(~((y >= 0) & (y <= 1)), y, "target", "is outside [0, 1]")


def check_weights(w: FloatArray, role: str, negative: bool = False) -> None:
    if not finite(w):
        first_bad(~np.isfinite(w), w, role, "is not finite")
    if not negative and not inside(w, 0.0, math.inf):
        first_bad(w < 0, w, role, "is negative")


def inside(values: FloatArray, low: float, high: float) -> bool:
    """Every value in [low, high] and none NaN (a NaN makes the minimum NaN): two quick
    reductions, so the masks that find the first bad value are built only when there is one."""
    return not values.size or bool(values.min() >= low and values.max() <= high)


def finite(values: FloatArray) -> bool:
    """No value infinite or NaN, by the same two reductions as `inside`."""
    return not values.size or bool(math.isfinite(values.min()) and math.isfinite(values.max()))


def first_bad(mask: NDArray[np.bool_], values: FloatArray, role: str, problem: str) -> None:
    """Raise `BadValue` for the first True element of `mask`, if any."""
    flat = np.flatnonzero(mask)
    if flat.size:
        index = np.unravel_index(flat[0], mask.shape)
        raise BadValue(role, tuple(int(i) for i in index), float(values[index]), problem)


def x_shape(a: NDArray[np.generic]) -> str:
    """A shape as PyTorch users read it: (3,) or (3, 2)."""
    return str(tuple(a.shape))


class LossTotal:
    """Accurate running totals of losses and weights, fed chunk by chunk.

    Each chunk is summed with error-free transformations (see `accurate_sum`) and
    the partial results are combined with `math.fsum`, so the total is within an
    ulp of the exactly rounded sum however the data was chunked. This is how `bce`
    reduces a stream, and how `bce merge` combines shards.

    Parameters
    ----------
    count : int, default=0
        Elements already counted.
    loss_parts : list of float, default=None
        Floats whose exact sum is the sum of the (weighted) losses so far, as the
        JSON of `bce compute --partial` holds them; None to start from zero.
    weight_parts : list of float, default=None
        The same for the sum of the weights; None, or empty, when no weights were
        given, and then "weighted-mean" divides by `count`.

    Attributes
    ----------
    count : int
        The number of elements added.
    loss_parts, weight_parts : list of float
        The exact sums, as a few non-overlapping floats.

    See Also
    --------
    binary_cross_entropy, binary_cross_entropy_with_logits :
        With ``reduction="none"``, the per-element losses to add.

    Examples
    --------
    Losses added in chunks give the loss of all the data:

    >>> from bcecli import LossTotal, binary_cross_entropy
    >>> total = LossTotal()
    >>> for p, y in [([0.8, 0.3], [1, 0]), ([0.6], [1])]:
    ...     total.add(binary_cross_entropy(p, y, reduction="none"), None)
    >>> total.count
    3
    >>> total.result("mean")
    0.36354803967297755

    Weighted losses are added with the weights they were given; totals of shards
    merge into the total of their union:

    >>> import numpy as np
    >>> weights = np.array([1.0, 2.0, 0.5])
    >>> losses = binary_cross_entropy([0.8, 0.3, 0.6], [1, 0, 1], weights, reduction="none")
    >>> first, second = LossTotal(), LossTotal()
    >>> first.add(losses[:1], weights[:1])
    >>> second.add(losses[1:], weights[1:])
    >>> first.merge(second)
    >>> first.result("mean"), first.result("weighted-mean")
    (0.3973020836915566, 0.34054464316419136)
    """

    def __init__(self, count: int = 0, loss_parts: list[float] | None = None,
                 weight_parts: list[float] | None = None) -> None:
        self.count = count
        self.loss_parts: list[float] = loss_parts or []
        self.weight_parts: list[float] = weight_parts or []

    def add(self, losses: FloatArray, weight: FloatArray | None) -> None:
        """Add per-element (already weighted) losses and the weights they were given."""
        self.count += losses.size
        self.loss_parts = exact_parts(self.loss_parts + accurate_sum(losses))
        if weight is not None:
            self.weight_parts = exact_parts(
                self.weight_parts + accurate_sum(np.broadcast_to(weight, losses.shape)))

    def merge(self, other: LossTotal) -> None:
        """Add another total, as if its data had followed this one's (shards)."""
        self.count += other.count
        self.loss_parts = exact_parts(self.loss_parts + other.loss_parts)
        self.weight_parts = exact_parts(self.weight_parts + other.weight_parts)

    def result(self, reduction: Reduction | str, dtype: DTypeLike = np.float64) -> float:
        """The reduced loss; for float32 it is rounded to the nearest float32.

        Parameters
        ----------
        reduction : {"mean", "sum", "weighted-mean"}
            As in `binary_cross_entropy`; "weighted-mean" without weights is "mean".
        dtype : {numpy.float64, numpy.float32}, default=numpy.float64
            The precision the losses were computed in.

        Returns
        -------
        loss : float

        Raises
        ------
        InputError
            "weighted-mean" when the weights sum to zero.
        UsageError
            ``reduction="none"``, which has no single value.
        """
        total = exact_total(self.loss_parts)
        if reduction == "mean":
            value = total / self.count
        elif reduction == "weighted-mean":
            weights = exact_total(self.weight_parts) if self.weight_parts else float(self.count)
            if weights == 0:
                raise InputError("weights sum to zero: weighted-mean is undefined")
            value = total / weights
        elif reduction == "sum":
            value = total
        else:
            raise UsageError(f"reduction {reduction!r} has no single value")
        return float(np.float32(value)) if np.dtype(dtype) == np.float32 else value


def add_by_class(totals: list[LossTotal], losses: FloatArray, weight: FloatArray | None
                 ) -> None:
    """Add each column (class) of (n, C) losses, with its weights, to that class's total."""
    if not totals:
        totals += [LossTotal() for _ in range(losses.shape[1])]
    weights = None if weight is None else np.broadcast_to(weight, losses.shape)
    for column, total in enumerate(totals):
        total.add(losses[:, column], None if weights is None else weights[:, column])


class ClassTotals(LossTotal):
    """A `LossTotal` that also keeps one total per class (column) of multi-label losses,
    for a mean taken class by class: scikit-learn's `log_loss` on each column, averaged.

    Examples
    --------
    With weights per sample (or none), the mean over classes of each class's
    weighted mean equals the weighted mean over all elements:

    >>> import numpy as np
    >>> from bcecli.core import ClassTotals, binary_cross_entropy
    >>> p, y, w = [[0.8, 0.3], [0.6, 0.9]], [[1, 0], [1, 1]], np.array([[2.0], [1.0]])
    >>> total = ClassTotals()
    >>> total.add(binary_cross_entropy(p, y, w, reduction="none"), w)
    >>> total.class_mean("weighted-mean"), total.result("weighted-mean")
    (0.2959705216549502, 0.2959705216549502)
    """

    def __init__(self) -> None:
        super().__init__()
        self.classes: list[LossTotal] = []

    def add(self, losses: FloatArray, weight: FloatArray | None) -> None:
        super().add(losses, weight)
        if losses.ndim == 2:
            add_by_class(self.classes, losses, weight)

    def class_mean(self, reduction: Reduction | str, dtype: DTypeLike = np.float64,
                   class_weights: list[float] | None = None) -> float:
        """The mean over classes of each class's reduced loss, weighted by `class_weights`
        when given (a class of weight 0 counts for nothing); flat losses have one class.

        Raises
        ------
        InputError
            The class weights, or a counted class's weights, sum to zero.
        """
        if not self.classes:
            return self.result(reduction, dtype)
        shares = class_weights or [1.0] * len(self.classes)
        if not math.fsum(shares):
            raise InputError("the class weights sum to zero: the per-class mean is undefined")
        values = []
        for index, (total, share) in enumerate(zip(self.classes, shares, strict=True)):
            if share:
                try:
                    values.append(share * total.result(reduction))
                except InputError as e:
                    raise InputError(f"class {index} (0-based): {e}") from None
        value = exact_total(values) / math.fsum(shares)
        return float(np.float32(value)) if np.dtype(dtype) == np.float32 else value


POW10 = np.array([10.0 ** i for i in range(23)])  # exact: 10**22 < 2**53 * 2**22
_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's split of a double into two halves


def split(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Veltkamp's split: x = high + low, each with at most 26 significant bits, so
    products of halves are exact (Dekker's product: decimal reading and writing)."""
    c = _SPLIT * x
    high = c - (c - x)
    return high, x - high


def accurate_sum(values: FloatArray) -> list[float]:
    """Parts whose exact sum is the sum of `values` to about eps² relative.

    A vectorised pairwise TwoSum (Ogita, Rump and Oishi's Sum2, in tree order):
    each level adds the two halves and keeps every rounding error; the errors are
    summed plainly, which is accurate enough because they are eps times smaller.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    parts: list[float] = []
    errors: list[float] = []
    # Every level writes into buffers made once (a fresh array per step cost more than
    # the arithmetic): the sums alternate between two, as a level reads the last one's.
    sums = (np.empty(x.size // 2), np.empty(x.size // 2))
    b_virtual, error = np.empty(x.size // 2), np.empty(x.size // 2)
    with np.errstate(invalid="ignore", over="ignore"):
        while x.size > 1:
            if x.size % 2:
                parts.append(float(x[-1]))
                x = x[:-1]
            half = x.size // 2
            a, b = x[:half], x[half:]
            s = np.add(a, b, out=sums[len(errors) % 2][:half])
            bv = np.subtract(s, a, out=b_virtual[:half])
            e = np.subtract(a, np.subtract(s, bv, out=error[:half]), out=error[:half])
            e += np.subtract(b, bv, out=bv)
            errors.append(float(np.sum(e)))
            x = s
    if x.size:
        parts.append(float(x[0]))
    if not all(math.isfinite(p) for p in parts):
        # Infinities poison the error terms with NaN; the sum is infinite (or NaN).
        return [exact_total(parts)]
    return parts + errors


def exact_parts(values: list[float]) -> list[float]:
    """The same exact sum as a few non-overlapping floats (Shewchuk's expansion).

    Keeps the running parts short however many blocks were added; exactness is
    kept, so totals can be saved and merged later (`bce merge`).
    """
    if not all(math.isfinite(v) for v in values):
        return [exact_total(values)]
    partials: list[float] = []
    for x in values:
        i = 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                partials[i] = low
                i += 1
            x = high
        partials[i:] = [x]
    if not all(math.isfinite(p) for p in partials):  # the sum overflowed on the way
        return [exact_total(values)]
    return partials


def exact_total(parts: list[float]) -> float:
    """`math.fsum`, but ±inf (not OverflowError) when the exact sum is too large, and NaN
    (not ValueError) where inf meets -inf, as it does in one block's sum."""
    try:
        return math.fsum(parts)
    except OverflowError:  # a partial sum overflowed, maybe not the sum: scaled down by
        # 2**-64 (exact, but for parts below 2**-958, too small to change a sum this
        # large), summed and scaled back, it is the sum, or ±inf if too large
        return math.fsum([part * 2.0**-64 for part in parts]) * 2.0**64
    except ValueError:  # "-inf + inf in fsum": huge weights of both signs (--like torch)
        return math.nan
