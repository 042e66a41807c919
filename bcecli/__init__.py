"""bcecli: binary cross-entropy exactly as PyTorch computes it, as a library and the `bce` CLI.

The public names are imported lazily, so `bce` starts (and honours Ctrl-C)
before numpy and Typer are loaded.
"""

from __future__ import annotations

import importlib
import sys
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


def main() -> None:
    """Console-script entry point: Ctrl-C during start-up exits 130 too, quietly."""
    try:
        from bcecli.cli import app
    except KeyboardInterrupt:
        sys.exit(130)
    app()
