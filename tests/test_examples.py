"""Every `console` example in README.md and docs/*.md runs, with the output it shows.

Each block is one test: its `$ ` commands run in order in a real shell, with the
installed `bce` first on PATH, in a scratch folder that holds a link to
`sample_data/`, so the docs cannot drift from the tool and the examples cannot litter
the repository. docs/cli.md is generated from `--help` and checked by test_docs.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import ROOT

BLOCK = re.compile(r"^```console\n(.*?)^```", re.DOTALL | re.MULTILINE)
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "cli.md")]


@dataclass(frozen=True)
class Example:
    """One console block: where it is, and its (command, expected output) pairs."""

    where: str
    steps: tuple[tuple[str, str], ...]


def examples(page: Path) -> list[Example]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        steps = []
        for chunk in match.group(1).split("$ ")[1:]:
            command, _, output = chunk.partition("\n")
            steps.append((command, output))
        found.append(Example(f"{page.relative_to(ROOT)}:{line}", tuple(steps)))
    return found


EXAMPLES = [example for page in PAGES for example in examples(page)]


def normalise(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def test_the_readme_has_examples() -> None:
    assert sum(len(e.steps) for e in examples(ROOT / "README.md")) >= 5


def test_the_docs_have_examples() -> None:
    assert sum(len(e.steps) for e in EXAMPLES) >= 20
    assert all(e.steps for e in EXAMPLES), "a console block without a `$ ` command"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.where for e in EXAMPLES])
def test_example(example: Example, tmp_path: Path) -> None:
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    env = {**os.environ, "COLUMNS": "80",
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    for command, expected in example.steps:
        done = subprocess.run(["bash", "-c", "{ " + command + "\n} 2>&1"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
        assert normalise(done.stdout) == normalise(expected), f"{example.where}: $ {command}"
