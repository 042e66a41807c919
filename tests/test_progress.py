"""The progress bar: silent for a second, then a bar on its own stream; never in pipes."""

from __future__ import annotations

import io

import pytest

from bcecli.progress import ByteProgress
from tests.helpers import Files, Run


def test_nothing_is_drawn_before_the_delay() -> None:
    now = [0.0]
    out = io.StringIO()
    bar = ByteProgress(1000, out, delay=1.0, clock=lambda: now[0])
    bar.advance(100)
    now[0] = 0.5
    bar.advance(100)
    assert bar.bar is None and out.getvalue() == ""
    now[0] = 1.5
    bar.advance(100)
    assert bar.bar is not None and bar.done == 300
    bar.close()


def test_no_bar_when_stderr_is_not_a_terminal(bce: Run, files: Files,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    files(p__csv="0.5\n", y__csv="1\n")
    monkeypatch.setattr(ByteProgress, "start", lambda self: pytest.fail("a bar was drawn"))
    for extra in ([], ["--no-progress"]):
        result = bce("compute", "p.csv", "y.csv", "-f", "plain", *extra)
        assert (result.exit_code, result.stderr) == (0, "")
