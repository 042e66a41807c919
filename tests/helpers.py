"""What the tests share: paths, the golden data, the runner's types, small assertions.

Imported by the test modules (fixtures stay in conftest.py, which pytest loads
by itself).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import Result

ROOT = Path(__file__).resolve().parent.parent
BCE = Path(sys.executable).parent / "bce"  # the installed entry point, for real processes
GOLDEN: dict[str, Any] = json.loads((ROOT / "tests" / "golden" / "torch_cases.json").read_text())

Run = Callable[..., Result]  # the `bce` fixture: bce(*args, input=...)
Files = Callable[..., None]  # the `files` fixture: files(name__csv="...", ...)
TRUE: float = next(c["expected"] for c in GOLDEN["cases"]  # PyTorch 2.13 on [0.8, 0.3, 0.6],
                   if c["name"] == "tutorial-probabilities-float64")  # [1, 0, 1]


def loss_of(result: Result) -> float:
    """The loss from a successful `--json` run."""
    assert result.exit_code == 0, result.stderr
    value: float = json.loads(result.stdout)["loss"]
    return value


def output(bce: Run, *args: str) -> dict[str, Any]:
    """The JSON of a successful `bce compute ARGS --json`."""
    result = bce("compute", *args, "--json")
    assert result.exit_code == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def refused(bce: Run, *args: str, input: bytes | None = None) -> str:
    """The stderr of a `bce compute ARGS` that exits 2 with nothing on stdout."""
    result = bce("compute", *args, input=input)
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    return result.stderr


def json_document(columns: tuple[list[str], list[str]], shape: str, indent: int | None) -> str:
    """Number texts as a JSON document: a flat array of the first column ("flat"), or an
    object of both under `predictions`/`targets` ("keys") or as named columns (any other)."""
    sep = ",\n" + " " * indent if indent is not None else ", "
    if shape == "flat":
        return "[" + sep.join(columns[0]) + "]"
    keys = ("predictions", "targets") if shape == "keys" else ("p", "y")
    return "{" + sep.join(f'"{key}": [{sep.join(values)}]'
                          for key, values in zip(keys, columns, strict=True)) + "}"
