"""The options besides reduction, dtype and `--logits` that change the numbers.

A result records them (these JSON keys, in this order), and so does a partial
result, where shards must agree on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from bcecli.conventions import CONVENTIONS
from bcecli.core import DType, Floor, LossFunction
from bcecli.errors import UsageError


def parse_float_list(option: str, text: str | None) -> list[float] | None:
    """`1,2.5,3` as floats; each must be finite and non-negative, like every weight."""
    if text is None:
        return None
    values = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise UsageError(f"{option}: {part.strip()!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise UsageError(f"{option}: {part.strip()} must be finite and non-negative")
        values.append(value)
    return values


@dataclass(repr=False, eq=False)
class Settings:
    class_weights: list[float] | None = None  # one per class (PyTorch `weight` of shape (C,))
    pos_weight: list[float] | None = None  # one, or one per class
    label_smoothing: float = 0.0
    eps: float | None = None  # clip probabilities to [eps, 1 - eps]
    focal_gamma: float | None = None
    focal_alpha: float | None = None
    like: str | None = None  # the convention asked for, if any
    pos_label: str | None = None  # the target label read as 1 (--pos-label)

    @classmethod
    def parse(cls, *, class_weights: str | None, pos_weight: str | None,
              label_smoothing: float, eps: float | None = None,
              focal_gamma: float | None = None, focal_alpha: float | None = None,
              like: str | None = None, pos_label: str | None = None) -> Settings:
        """The settings from the options as typed (the weight lists as text)."""
        return cls(parse_float_list("--class-weights", class_weights),
                   parse_float_list("--pos-weight", pos_weight), label_smoothing, eps,
                   focal_gamma, focal_alpha, like, pos_label)

    def function(self, *, logits: bool, dtype: DType, floor: Floor | None = None
                 ) -> LossFunction:
        """The loss these settings define, with the `--like` convention's floor (see
        `conventions.choose`) and its rule on soft targets; the core checks their ranges
        (`--like torch`: only those PyTorch checks)."""
        return LossFunction(logits=logits, pos_weight=self.pos_weight,
                            label_smoothing=self.label_smoothing, eps=self.eps, dtype=dtype,
                            focal_gamma=self.focal_gamma, focal_alpha=self.focal_alpha,
                            permissive=self.like == "torch", floor=floor,
                            only_labels=CONVENTIONS[self.like].only_labels if self.like else None)

    def fields(self) -> dict[str, Any]:
        """The JSON keys, in the order results have always had them."""
        return {field.name: getattr(self, field.name) for field in fields(self)}
