"""The installed `bce` as a real process: pipes, `python -m`, closed pipes, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import BCE, ROOT


def test_installed_bce_reads_a_pipe() -> None:
    done = subprocess.run([BCE, "compute", "-", str(ROOT / "sample_data" / "targets.csv"),
                           "-f", "plain"], input=b"0.8\n0.3\n0.6\n", capture_output=True,
                          timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"0.36354803967297755\n", b"")


def test_python_dash_m() -> None:
    done = subprocess.run([sys.executable, "-m", "bcecli", "compute", "--json", "-"],
                          input=b"[[0.8, 1], [0.3, 0], [0.6, 1]]", capture_output=True,
                          timeout=60)
    assert done.returncode == 0
    assert done.stdout.startswith(b'{"loss": 0.36354803967297755, ')


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    rows = 200_000
    (tmp_path / "p.csv").write_text("0.25\n" * rows)
    (tmp_path / "y.csv").write_text("1\n" * rows)
    done = subprocess.run(["bash", "-o", "pipefail", "-c",
                           f"'{BCE}' compute p.csv y.csv -r none -f plain | head -n 1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "1.3862943611198906\n", "")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_exits_130_without_a_traceback() -> None:
    process = subprocess.Popen([BCE, "compute", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Wait until bce's own code runs (numpy is mapped: the interpreter's start-up is over);
    # from then on, importing or reading, the answer must be the same.
    maps = Path(f"/proc/{process.pid}/maps")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and maps.exists() and "numpy" not in maps.read_text():
        time.sleep(0.01)
    time.sleep(0.2 if maps.exists() else 1.0)  # no /proc (macOS): just give it a second
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, out) == (130, b"")
    assert b"Traceback" not in err


def test_bce_traceback_prints_the_python_traceback(tmp_path: Path) -> None:
    environment = {**os.environ, "BCE_TRACEBACK": "1"}
    done = subprocess.run([BCE, "compute", "missing.csv"], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("Traceback (most recent call last):\n")
    assert done.stderr.endswith("bcecli.errors.InputError: missing.csv: no such file\n")
    environment.pop("BCE_TRACEBACK")
    quiet = subprocess.run([BCE, "compute", "missing.csv"], cwd=tmp_path, env=environment,
                           capture_output=True, text=True, timeout=60)
    assert (quiet.returncode, quiet.stderr) == (2, "bce: error: missing.csv: no such file\n")
