"""Output: the one place that turns a `Result` into JSON, plain text, CSV or a Rich table.

stdout carries only the result. Numbers are printed with `repr`, the shortest
text that reads back as the same float (float32 results are widened exactly, as
PyTorch's `.item()` does). JSON has no infinity, so an infinite loss is written
`1e999`, which every JSON parser reads as inf or the largest float.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from bcecli.core import FloatArray

FORMATS = ("auto", "table", "json", "csv", "plain")


@dataclass(frozen=True)
class Result:
    """What was computed and from what; `to_json` fixes the key order and meaning."""

    loss: float | FloatArray
    reduction: str
    count: int
    shape: tuple[int, ...]
    from_logits: bool
    dtype: str
    sources: dict[str, str | None] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    max_loss: float | None = None

    @property
    def passed(self) -> bool | None:
        if self.max_loss is None or not isinstance(self.loss, float):
            return None
        return self.loss <= self.max_loss

    def to_json(self) -> str:
        rest = {"reduction": self.reduction, "count": self.count, "shape": list(self.shape),
                "from_logits": self.from_logits, "dtype": self.dtype, **self.sources,
                **self.settings, "max_loss": self.max_loss, "passed": self.passed}
        return '{"loss": ' + json_number(self.loss) + ", " + json.dumps(rest)[1:]


def number(value: float) -> str:
    return repr(float(value))


def json_number(value: float | FloatArray) -> str:
    if isinstance(value, np.ndarray):
        return "[" + ", ".join(json_number(v) for v in value) + "]"
    return "1e999" if math.isinf(value) else number(value)


def rows(loss: FloatArray) -> list[list[str]]:
    """Per-element losses as text rows: one value a row, or C values for N×C input."""
    table = loss.reshape(len(loss), -1)
    return [[number(v) for v in row] for row in table.tolist()]


def render(result: Result, fmt: str, out: TextIO, *, terminal: bool) -> None:
    """Write `result` in format `fmt`; `auto` means a table on a terminal, JSON elsewhere."""
    if fmt == "auto":
        fmt = "table" if terminal else "json"
    if fmt == "json":
        out.write(result.to_json() + "\n")
    elif fmt == "plain":
        if isinstance(result.loss, np.ndarray):
            out.writelines("\t".join(row) + "\n" for row in rows(result.loss))
        else:
            out.write(number(result.loss) + "\n")
    elif fmt == "csv":
        if isinstance(result.loss, np.ndarray):
            width = 1 if result.loss.ndim == 1 else result.loss.shape[1]
            header = ["loss"] if width == 1 else [f"loss_{j}" for j in range(width)]
            out.writelines(",".join(row) + "\n" for row in [header, *rows(result.loss)])
        else:
            out.write("loss,reduction,count,dtype,from_logits\n")
            out.write(f"{number(result.loss)},{result.reduction},{result.count},"
                      f"{result.dtype},{str(result.from_logits).lower()}\n")
    else:
        table(result, out)


def table(result: Result, out: TextIO, preview: int = 10) -> None:
    """A Rich table for people: the loss first, then what it was computed from."""
    from rich.console import Console
    from rich.table import Table

    grid = Table(title="Binary cross-entropy", show_header=False, title_justify="left")
    grid.add_column(style="bold")
    grid.add_column()
    if isinstance(result.loss, np.ndarray):
        shown = rows(result.loss)[:preview]
        text = "\n".join("  ".join(row) for row in shown)
        if len(result.loss) > preview:
            text += f"\n… {len(result.loss) - preview} more rows (use -f csv for all)"
        grid.add_row("Losses", text)
    else:
        grid.add_row("Loss", number(result.loss))
    grid.add_row("Reduction", result.reduction)
    grid.add_row("Count", str(result.count))
    grid.add_row("Shape", " × ".join(map(str, result.shape)))
    grid.add_row("Input", "logits (sigmoid applied)" if result.from_logits else "probabilities")
    grid.add_row("dtype", result.dtype)
    for key, value in {**result.sources, **result.settings}.items():
        if value not in (None, 0.0):  # only what was given
            grid.add_row(key.replace("_", " ").capitalize(), str(value))
    if result.passed is not None:
        verdict = "[green]passed[/]" if result.passed else "[red]FAILED[/]"
        grid.add_row("Max loss", f"{number(result.max_loss or 0.0)}: {verdict}")
    Console(file=out, highlight=False).print(grid)
