"""Streamed mean against the exactly rounded one, for several block sizes.

    python bench/accuracy.py PREDS.csv TARGETS.csv

The reference is `math.fsum` of the float64 per-element losses (bce's own
`-r none` values, which the golden tests tie to PyTorch), divided by N. Each
block size runs the whole CLI in-process; prints one line per size and the
worst relative error last.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys

import numpy as np
from typer.testing import CliRunner

from bcecli.cli import app
from bcecli.readers import base


def loss(*args: str) -> str:
    result = CliRunner().invoke(app, ["compute", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def main() -> None:
    preds, targets = sys.argv[1:3]
    with contextlib.redirect_stderr(io.StringIO()):
        losses = np.array(loss(preds, targets, "-r", "none", "-f", "plain").split(), float)
    exact = math.fsum(losses.tolist()) / len(losses)
    worst = 0.0
    for block in (1 << 12, 1 << 16, 1 << 20, 1 << 24):
        base.BLOCK_BYTES = block
        mean = json.loads(loss(preds, targets, "--json"))["loss"]
        error = abs(mean - exact) / exact
        worst = max(worst, error)
        print(f"block {block:>9} bytes: mean {mean!r}, relative error {error:.3g}")
    print(f"exact {exact!r}; worst relative error {worst:.3g}")


if __name__ == "__main__":
    main()
