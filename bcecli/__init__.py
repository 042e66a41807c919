"""bcecli: binary cross-entropy exactly as PyTorch computes it, as a library and the `bce` CLI.

The public names are imported lazily, so `import bcecli` (and so `bce`, whose
entry point is `bcecli.__main__.main`) starts before numpy is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "BadValue",
    "BceError",
    "InputError",
    "LossTotal",
    "UsageError",
    "__version__",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]

if TYPE_CHECKING:
    from bcecli.core import LossTotal, binary_cross_entropy, binary_cross_entropy_with_logits
    from bcecli.errors import BadValue, BceError, InputError, UsageError

_HOMES = {"binary_cross_entropy": "bcecli.core", "binary_cross_entropy_with_logits": "bcecli.core",
          "LossTotal": "bcecli.core", "BadValue": "bcecli.errors", "BceError": "bcecli.errors",
          "InputError": "bcecli.errors", "UsageError": "bcecli.errors"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'bcecli' has no attribute {name!r}")

