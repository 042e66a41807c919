"""What the tests share: paths, the golden data, the runner's types, small assertions.

Imported by the test modules (fixtures stay in conftest.py, which pytest loads
by itself).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import Result

ROOT = Path(__file__).resolve().parent.parent
GOLDEN: dict[str, Any] = json.loads((ROOT / "tests" / "golden" / "torch_cases.json").read_text())

Run = Callable[..., Result]  # the `bce` fixture: bce(*args, input=...)
Files = Callable[..., None]  # the `files` fixture: files(name__csv="...", ...)


def loss_of(result: Result) -> float:
    """The loss from a successful `--json` run."""
    assert result.exit_code == 0, result.stderr
    value: float = json.loads(result.stdout)["loss"]
    return value
