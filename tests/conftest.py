"""Shared fixtures: an in-process `bce` runner and a scratch folder of input files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner, Result

from bcecli.cli import app
from tests.helpers import Files, Run

# CI runs the property tests with a fixed seed (a red CI should be reproducible) and
# without per-example deadlines (shared machines are slow at random moments).
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def bce() -> Run:
    """`bce(*args, input=...)` runs the CLI in-process, stdout and stderr kept apart."""
    runner = CliRunner()

    def run(*args: str, input: str | bytes | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    return run


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Files:
    """`files(name=content, ...)` writes inputs into a fresh folder and works from there."""
    monkeypatch.chdir(tmp_path)

    def write(**contents: str | bytes) -> None:
        for name, content in contents.items():
            path = tmp_path / name.replace("__", ".")
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)

    return write

