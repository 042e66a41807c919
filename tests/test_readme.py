"""Every `console` example in the README runs, with the output the README shows.

The commands run in a real shell from the repository root with the installed
`bce` first on PATH, so the docs cannot drift from the tool.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BLOCK = re.compile(r"```console\n(.*?)```", re.DOTALL)


def examples() -> list[tuple[str, str]]:
    """(command, expected output) pairs: `$ ` lines and the lines below them."""
    pairs: list[tuple[str, str]] = []
    for block in BLOCK.findall((ROOT / "README.md").read_text()):
        for chunk in block.split("$ ")[1:]:
            command, _, output = chunk.partition("\n")
            pairs.append((command, output))
    return pairs


def normalise(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def test_the_readme_has_examples() -> None:
    assert len(examples()) >= 20


@pytest.mark.parametrize(("command", "expected"), examples(), ids=[c for c, _ in examples()])
def test_readme_example(command: str, expected: str) -> None:
    env = {**os.environ, "COLUMNS": "80", "PATH": f"{Path(sys.executable).parent}:"
           f"{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", "{ " + command + "\n} 2>&1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert normalise(done.stdout) == normalise(expected)
