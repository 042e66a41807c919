"""A JSON document from a stream (stdin, a named pipe, a `.json.gz`, a URL) is read as the
same document in a plain file is: the same output byte for byte and the same messages (the
input's name aside), in bounded memory. `readers.spool` keeps the stream as it is read, in
memory up to IN_MEMORY, beyond in an anonymous temporary file; both are tried here."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bcecli.readers import jsondoc, spool
from tests.helpers import BCE, Files, Run
from tests.test_robust_inputs import fed

# (document, the arguments after it): every shape the readers know
DOCUMENTS = {
    "flat": (b"[0.8,\n 0.3,\n 0.6]", ["y.json"]),
    "keys": (b'{"predictions": [0.8, 0.3, 0.6],\n "targets": [1,\n 0, 1]}', []),
    "weights": (b'{"predictions": [0.8, 0.3, 0.6], "targets": [1, 0, 1],\n'
                b' "weights": [1, 2, 0.5]}', []),
    "columns": (b'{"p": [0.8, 0.3, 0.6],\n "y": [1, 0, 1]}', ["--pred-col", "p"]),
    "rows": (b"[[0.8, 0.1],\n [0.3, 0.7],\n [0.6, 0.5]]", ["rows.json"]),
    "split": (b'{"columns": ["p", "y"],\n "data": [[0.8, 1], [0.3, 0], [0.6, 1]]}',
              ["--pred-col", "p"]),
    "records": (b'[{"p": 0.8, "y": 1},\n {"p": 0.3, "y": 0},\n {"p": 0.6, "y": 1}]',
                ["--pred-col", "p"]),
    "labels": (b'{"p": [0.8, 0.3, 0.6],\n "y": ["cat", "dog", "cat"]}',
               ["--pred-col", "p", "--pos-label", "cat"]),
    "bom": (b'\xef\xbb\xbf{"predictions": [0.8, 0.3],\n "targets": [1, 0]}', []),
}
STREAMED = {"flat", "keys", "weights", "columns", "bom"}  # flat arrays: any other is read whole
OTHERS = {"y.json": b"[1, 0, 1]", "rows.json": b"[[1, 0], [0, 1], [1, 1]]"}
# the same number with and without its line: "--top" names the line of each sample
OPTIONS = ["--json", "--top", "3", "-r", "rows"]

values = [str(i / 3) for i in range(20000)]
# (document, the arguments after it): the messages of the file path's tests
BAD = {
    "truncated": (b"[0.5, 1", ["y.json"]),
    "truncated object": (b'{"predictions": [0.5,\n 1], "targets": [1, 0', []),
    "trailing garbage": (b"[0.8, 0.3, 0.6] x", ["y.json"]),
    "trailing object": (b'{"predictions": [0.8], "targets": [1]} {}', []),
    "a string": (b'{"predictions": [0.8,\n "0.2"], "targets": [1, 0]}', []),
    "NaN": (b"[0.8,\n NaN,\n 0.6]", ["y.json"]),
    "null": (b'{"predictions": [0.8, null], "targets": [1, 0]}', []),
    "nested too deep": (b"[" * 200_000 + b"]" * 200_000, []),
    "unclosed nesting": (b"[" * 200_000, []),
    "duplicate key": (b'{"predictions": [0.5],\n"predictions": [0.25], "targets": [1]}', []),
    "lengths": (b'{"p": [0.8, 0.3],\n "y": [1]}', ["--pred-col", "p"]),
    "no comma": (b"[0.8 0.3, 0.6]", ["y.json"]),
    "empty slot": (b"[0.8,\n , 0.6]", ["y.json"]),
    "not UTF-8": (b"[0.8,\n 0.3,\n \xff]", ["y.json"]),
    "out of range": (b'{"predictions": [0.8,\n 0.2],\n "targets": [1,\n -1]}', []),
    "empty": (b"[]", ["y.json"]),
    # test_fast_json's: a bad value deep in a big document, at line 15002
    **{f"bad value {bad}": (('{"predictions": [\n' + ",\n".join(
        [*values[:15000], bad, *values[15001:]]) + '],\n "targets": [1]}').encode(), [])
       for bad in ['"x"', "01", "1.", "[1]", "{}", "", "1 2", "-", "true"]},
}


def run(bce: Run, name: str, document: bytes, args: list[str]) -> tuple[int, str, str]:
    """bce on the document as the file `name` (or, for `-`, on stdin), its output with the
    input's name as stdin's."""
    if name != "-":
        Path(name).write_bytes(document)
    result = bce("compute", name, *args, *OPTIONS, input=document if name == "-" else None)
    return as_stdin(name, result.exit_code, result.stdout, result.stderr)


def as_stdin(name: str, code: int, stdout: str, stderr: str) -> tuple[int, str, str]:
    """A run's exit code and outputs, the input's `name` in them as stdin's."""
    if name == "-":
        return code, stdout, stderr
    return code, stdout.replace(name, "<stdin>"), stderr.replace(name, "<stdin>")


@pytest.fixture
def others(files: Files) -> None:
    files(**{name.replace(".", "__"): content for name, content in OTHERS.items()})


@pytest.mark.parametrize("spooled", [False, True], ids=["in memory", "temporary file"])
@pytest.mark.parametrize("big", [False, True], ids=["small", "big"])
@pytest.mark.parametrize("case", [*DOCUMENTS, *BAD])
def test_stdin_is_the_file(bce: Run, others: None, monkeypatch: pytest.MonkeyPatch,
                           case: str, spooled: bool, big: bool) -> None:
    """On stdin as in a file, kept in memory or in the temporary file, read whole (small) or
    streamed (big: beyond the whole-document reader's bound)."""
    document, args = DOCUMENTS.get(case) or BAD[case]
    if spooled:
        monkeypatch.setattr(spool, "IN_MEMORY", 8)
    if big:
        monkeypatch.setattr(jsondoc, "MAX_DOCUMENT", 16)
    from_file = run(bce, "d.json", document, args)
    gz = run(bce, "d.json.gz", gzip.compress(document), args)
    from_stdin = run(bce, "-", document, args)
    assert from_stdin == from_file == gz
    if case in DOCUMENTS and (case in STREAMED or not big):
        assert from_file[0] == 0, from_file
    elif case in DOCUMENTS:  # from a file too, a document of other shapes is read whole
        assert from_file[2].startswith("bce: error: <stdin>: a JSON document is read into "
                                       "memory, up to 0 MiB: this one is larger\n")
    else:
        assert from_file[:2] == (2, ""), from_file
        assert from_file[2].startswith("bce: error: <stdin>"), from_file


def test_the_messages_are_the_file_paths(bce: Run, others: None) -> None:
    """What `test_stdin_is_the_file` holds equal, as the file path's tests have it."""
    for case, message in [
            ("truncated", "<stdin>:1: invalid JSON: Expecting ',' delimiter (column 8)"),
            ("trailing garbage", "<stdin>:1: invalid JSON: Extra data (column 17)"),
            ("a string", "<stdin>:2: \"0.2\" in column 0 is not a number"),
            ("nested too deep", "<stdin>: JSON nested too deeply"),
            ("bad value 01", "<stdin>:15002: invalid JSON: Expecting ',' delimiter "
                             "(column 2)")]:
        document, args = BAD[case]
        assert run(bce, "-", document, args)[2] == f"bce: error: {message}\n"


def test_a_stream_past_the_bounds_is_streamed(bce: Run, others: None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream longer than IN_MEMORY goes to one temporary file, and a document longer than
    the whole-document reader's bound is streamed from it, not refused nor read whole."""
    made: list[Any] = []
    temporary = tempfile.TemporaryFile

    def counted(**options: Any) -> Any:
        made.append(temporary(**options))
        return made[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", counted)
    monkeypatch.setattr(spool, "IN_MEMORY", 100)
    monkeypatch.setattr(jsondoc, "MAX_DOCUMENT", 100)
    p = [(k % 97 + 1) / 99 for k in range(3000)]
    document = ('{"predictions": [' + ",\n".join(map(repr, p)) + '], "targets": ['
                + ", ".join(str(k % 2) for k in range(3000)) + "]}").encode()
    want = run(bce, "d.json", document, [])
    monkeypatch.setattr(jsondoc, "read_json", None)  # never read whole
    assert run(bce, "-", document, []) == want
    assert want[0] == 0 and len(made) == 1 and made[0].closed


def test_a_small_stream_is_not_written(bce: Run, others: None,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "TemporaryFile", None)
    document, args = DOCUMENTS["keys"]
    assert run(bce, "-", document, args)[0] == 0


def test_a_spool_that_cannot_be_written(bce: Run, others: None, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """No folder to write in, or a full disk: one line naming the input, exit 2."""
    monkeypatch.setattr(spool, "IN_MEMORY", 8)
    document, args = DOCUMENTS["keys"]
    missing = tmp_path / "missing"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    hint = "hint: set TMPDIR to a folder with room for it, or save the input to a file and " \
           "pass its path\n"
    assert run(bce, "-", document, args) == (2, "", (
        "bce: error: <stdin>: cannot keep a copy of this stream in a temporary file in "
        f"{missing} (No such file or directory)\n" + hint))
    if not Path("/dev/full").exists():
        return
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **_: open("/dev/full", "w+b"))  # noqa: SIM115
    rows = 1 << 19  # 4 MiB: writes past the file's buffer fail at once, a short one at the flush
    big = b'{"predictions": [' + b"0.5, " * rows + b'0.5], "targets": [' + b"1, " * rows + b"1]}"
    for document in (DOCUMENTS["keys"][0], big):
        assert run(bce, "-", document, args) == (2, "", (
            "bce: error: <stdin>: cannot keep a copy of this stream in a temporary file in "
            f"{tmp_path} (No space left on device)\n" + hint))


def test_the_temporary_file_has_no_name(bce: Run, others: None, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is left in $TMPDIR, however the run ends (anonymous: no name to remove)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setattr(spool, "IN_MEMORY", 8)
    seen = []
    position = spool.Position.readinto

    def looked(self: spool.Position, buffer: Any) -> int:
        seen.append(sorted(os.listdir(folder)))
        return position(self, buffer)

    monkeypatch.setattr(spool.Position, "readinto", looked)
    for document, args in (DOCUMENTS["keys"], BAD["bad value 01"]):
        run(bce, "-", document, args)
    assert seen and all(names == [] for names in seen)
    assert os.listdir(folder) == []


def test_readers_of_the_spool_keep_their_own_positions(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    from contextlib import ExitStack

    data = bytes(range(256)) * 100
    monkeypatch.setattr(spool, "IN_MEMORY", 1000)
    with ExitStack() as stack:
        kept = spool.Spool(io.BytesIO(data), "x", stack)
        assert io.BufferedReader(kept).read() == data
        stored = kept.kept()
        assert stored.size == len(data) and kept.file is not None
        a, b = stored.reopen(), stored.reopen()
        a.seek(5000)
        assert b.read(10) == data[:10]
        assert a.read(10) == data[5000:5010]
        assert b.read() == data[10:]
        a.seek(-3, os.SEEK_END)
        assert a.read() == data[-3:]


# -- real processes: a pipe on stdin, a named pipe, a URL ----------------------------------


def process(args: list[str], folder: Path, stdin: bytes | None = None) -> tuple[int, str, str]:
    """bce's own process on ARGS (the input first), as `run`'s."""
    done = subprocess.run([str(BCE), "compute", *args, *OPTIONS], cwd=folder, input=stdin,
                          capture_output=True, timeout=120)
    return as_stdin(args[0], done.returncode, done.stdout.decode(), done.stderr.decode())


@pytest.mark.parametrize("case", ["flat", "keys", "split", "truncated", "a string",
                                  "bad value 01", "nested too deep"])
def test_a_pipe_is_the_file(tmp_path: Path, case: str) -> None:
    """bce's own process, the document on a pipe as stdin and through a named pipe."""
    for name, content in OTHERS.items():
        (tmp_path / name).write_bytes(content)
    document, args = DOCUMENTS.get(case) or BAD[case]
    (tmp_path / "d.json").write_bytes(document)
    want = process(["d.json", *args], tmp_path)
    assert process(["-", *args], tmp_path, document) == want
    writer = fed(tmp_path / "e.json", document)
    assert process(["e.json", *args], tmp_path) == want
    writer.join(5)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_a_big_document_on_stdin_in_bounded_memory(tmp_path: Path) -> None:
    """2 M predictions and targets (38 MB): read whole, they took over 500 MiB."""
    rows = 2_000_000
    p = np.random.default_rng(7).random(rows)
    document = tmp_path / "d.json"
    document.write_text('{"predictions": [' + ",".join(map(repr, p.tolist())) +
                        '], "targets": [' + ",".join(["1", "0"] * (rows // 2)) + "]}")
    measure = ("import resource, subprocess, sys; subprocess.run(sys.argv[2:], check=True, "
               "stdin=open(sys.argv[1], 'rb'), stdout=subprocess.DEVNULL); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", measure, str(document), str(BCE), "compute",
                           "-", "--json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, check=True)
    assert int(done.stdout) < 150 * 1024, done.stdout  # KiB: the rule, 150 MiB at any size


@pytest.mark.skipif(not all(__import__("importlib.util").util.find_spec(name)
                            for name in ("fsspec", "aiohttp")),
                    reason="the cloud extra is not installed")
@pytest.mark.parametrize("case", ["keys", "columns", "a string", "bad value 01"])
def test_a_url_is_the_file(bce: Run, others: None, tmp_path: Path, case: str,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_cloud15 import QuietHandler, serve

    monkeypatch.setattr(spool, "IN_MEMORY", 8)
    document, args = DOCUMENTS.get(case) or BAD[case]
    want = run(bce, "d.json", document, args)
    server, url = serve(tmp_path, QuietHandler)  # a whole file, no ranges: one stream
    try:
        result = bce("compute", f"{url}/d.json", *args, *OPTIONS, "--storage-option",
                     "block_size=0")
    finally:
        server.shutdown()
        server.server_close()
    assert as_stdin(f"{url}/d.json", result.exit_code, result.stdout, result.stderr) == want
