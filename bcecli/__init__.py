"""bcecli: binary cross-entropy exactly as PyTorch computes it, as a library and the `bce` CLI."""

from bcecli.core import binary_cross_entropy, binary_cross_entropy_with_logits
from bcecli.errors import BadValue, BceError, InputError, UsageError

__version__ = "0.1.0"
__all__ = [
    "BadValue",
    "BceError",
    "InputError",
    "UsageError",
    "__version__",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]
