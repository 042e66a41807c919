"""Issue 11, the input side: inputs, baselines and partial files that once crashed, hung,
read without end or said the wrong thing, each with its exact outcome now.

A refusal is exit 2, one `bce: error:` line naming the file (and the line where there
is one), nothing on stdout, and no warning on stderr.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bcecli.errors import InputError
from bcecli.readers import base, npy
from tests.helpers import TRUE, Files, Run, loss_of


def refusal(bce: Run, *args: str, input: bytes | str | None = None) -> str:
    """The stderr of a run that exits 2 with nothing on stdout."""
    result = bce(*args, input=input)
    assert (result.exit_code, result.stdout) == (2, ""), (result.stdout, result.stderr)
    return result.stderr


def fed(fifo: Path, data: bytes) -> threading.Thread:
    """A named pipe written once, then closed, by a thread (as `cat x > fifo` would)."""
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as stream:
            stream.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


# -- baselines and partial files: small by nature -----------------------------------------


BASELINE = '{"loss": %s, "reduction": "mean"}'
INF_HINT = "hint: save a baseline from a run whose loss is finite: bce compute ... --json > " \
    "base.json\n"


@pytest.mark.parametrize("digits", [400, 4300, 20_000])
def test_a_baseline_loss_of_many_digits_is_infinite(bce: Run, files: Files, digits: int) -> None:
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n",
          base__json=BASELINE % ("1" + "0" * digits))
    assert refusal(bce, "compute", "p.csv", "y.csv", "--baseline", "base.json") == \
        "bce: error: base.json: the baseline loss is inf: every loss would pass a gate " \
        "against it\n" + INF_HINT


def test_a_baseline_count_of_many_digits_is_refused(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n",
          base__json='{"loss": 0.4, "count": 1%s}' % ("0" * 5000))
    assert refusal(bce, "compute", "p.csv", "y.csv", "--baseline", "base.json") == \
        "bce: error: base.json: the baseline count must be an integer >= 1, not Infinity\n"


def test_a_partial_file_with_a_number_of_many_digits_is_refused(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n")
    part = bce("compute", "p.csv", "y.csv", "--partial").stdout
    files(part__json=part.replace('"count": 3', '"count": 3' + "0" * 5000))
    assert refusal(bce, "merge", "part.json") == "bce: error: part.json: a broken partial " \
        "result: count must be an integer >= 1, not Infinity\n" \
        "hint: make it again with bce compute ... --partial\n"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_is_not_read_forever(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n", y__csv="1\n")
    assert refusal(bce, "compute", "p.csv", "y.csv", "--baseline", "/dev/zero") == \
        "bce: error: /dev/zero: larger than 1 MiB, the most bce reads of a baseline\n"
    assert refusal(bce, "merge", "/dev/zero") == \
        "bce: error: /dev/zero: larger than 1 MiB, the most bce reads of a partial result\n"


def test_a_baseline_or_part_over_1_mib_is_refused(bce: Run, files: Files) -> None:
    padded = BASELINE % "0.4" + " " * (1 << 20)
    files(p__csv="0.8\n", y__csv="1\n", base__json=padded, part__json=padded)
    assert refusal(bce, "compute", "p.csv", "y.csv", "--baseline", "base.json") == \
        "bce: error: base.json: larger than 1 MiB, the most bce reads of a baseline\n"
    assert refusal(bce, "merge", "part.json") == \
        "bce: error: part.json: larger than 1 MiB, the most bce reads of a partial result\n"


def test_a_baseline_from_a_pipe_that_ends(bce: Run, files: Files, tmp_path: Path) -> None:
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n")
    writer = fed(tmp_path / "base", (BASELINE % TRUE).encode())
    result = bce("compute", "p.csv", "y.csv", "--baseline", "base", "--json")
    writer.join(5)
    assert loss_of(result) == TRUE and result.stderr == ""


def test_parts_from_pipes_that_end(bce: Run, files: Files, tmp_path: Path) -> None:
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n")
    part = bce("compute", "p.csv", "y.csv", "--partial")
    assert part.exit_code == 0, part.stderr
    writer = fed(tmp_path / "part", part.stdout.encode())
    merged = bce("merge", "part", "--json")
    writer.join(5)
    assert loss_of(merged) == TRUE


# -- paths in messages ----------------------------------------------------------------------


def test_an_empty_path_is_named(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n", y__csv="1\n")
    assert refusal(bce, "compute", "", "y.csv") == "bce: error: '': no such file\n"
    assert refusal(bce, "compute", "p.csv", "y.csv", "--weights", "") == \
        "bce: error: '': no such file\n"
    assert refusal(bce, "compute", "p.csv", "y.csv", "--baseline", "") == \
        "bce: error: '': cannot read the baseline: No such file or directory\n"
    assert refusal(bce, "merge", "") == "bce: error: '': cannot read: No such file or directory\n"


def test_a_newline_in_a_path_stays_on_one_line(bce: Run, files: Files) -> None:
    files(**{"a\nb__csv": "0.8\n0.3\n", "y__csv": "1\n0\n1\n"})
    assert refusal(bce, "compute", "a\nb.csv", "y.csv") == \
        "bce: error: y.csv:3: more targets than predictions ('a\\nb.csv' has 2)\n"
    assert refusal(bce, "compute", "x\ny.csv", "y.csv") == \
        "bce: error: 'x\\ny.csv': no such file\n"
    assert refusal(bce, "compute", "a\nb.csv") == "bce: error: 'a\\nb.csv' has 1 column: pass " \
        "a TARGETS file, or name the columns with --pred-col and --target-col\n"
    assert refusal(bce, "compute", "a\nb.csv", "y.csv", "--baseline", "b\x1b[31m.json") == \
        "bce: error: 'b\\x1b[31m.json': cannot read the baseline: No such file or directory\n"
    assert refusal(bce, "merge", "p\n1.json", "p\n1.json") == \
        "bce: error: 'p\\n1.json' is given twice\n" \
        "hint: a part merged twice is counted twice: give each shard's part once\n"


# -- column options -------------------------------------------------------------------------


DIGITS_HINT = "hint: a position is written with the digits 0-9\n"


@pytest.mark.parametrize(("option", "spec", "shown"), [
    ("--pred-col", "²", "'²'"),  # str.isdigit is true, int() refuses it
    ("--pred-col", "١", "'١'"),  # Arabic-Indic one: int() reads it as 1
    ("--pred-col", "0,²", "'²'"),
    ("--pred-col", "١-٢", "'١-٢'"),
    ("--pred-col", "0-²", "'0-²'"),
    ("--weight-col", "³", "'³'"),
])
def test_other_digits_are_no_positions(bce: Run, files: Files, option: str, spec: str,
                                        shown: str) -> None:
    files(d__csv="0.5,1,1\n0.2,0,1\n")
    args = {"--pred-col": ["--target-col", "1"], "--weight-col": ["--pred-col", "0",
                                                                  "--target-col", "1"]}[option]
    assert refusal(bce, "compute", "d.csv", option, spec, *args) == \
        f"bce: error: {option} {shown}: no such column in d.csv (columns: 0 to 2)\n" + DIGITS_HINT


def test_a_column_named_by_another_digit_is_found_by_name(bce: Run, files: Files) -> None:
    files(d__csv="²,y\n0.8,1\n0.3,0\n0.6,1\n")
    assert loss_of(bce("compute", "d.csv", "--pred-col", "²", "--target-col", "y",
                       "--json")) == TRUE


# -- delimited text: each message names the real fault --------------------------------------


OPEN_QUOTE = "not valid CSV: a quoted field runs past the end of the line"
DECIMAL_HINT = "hint: this looks like a decimal comma: pass --decimal ,\n"
MISSING_HINT = "hint: pass --skip-missing to leave out every row with a missing value, in " \
    "all the inputs alike\n"


@pytest.mark.parametrize("text", ["0.8,1, \n0.3,0, \n0.6,1, \n",
                                  "0.8\t1\t \n0.3\t0\t\n0.6\t1\t  \n",
                                  "p,y, \n0.8,1,\n0.3,0, \n0.6,1,\t\n"])
def test_a_delimiter_and_blanks_ending_every_line(bce: Run, files: Files, text: str) -> None:
    files(d__csv=text)
    assert loss_of(bce("compute", "d.csv", "--json")) == TRUE


def test_the_only_row_ending_in_its_delimiter(bce: Run, files: Files) -> None:
    files(d__csv="0.9,\n", e__csv="0.8,1,\n")
    assert refusal(bce, "compute", "d.csv") == \
        "bce: error: d.csv:1: a missing value in column 1\n" + MISSING_HINT
    assert bce("compute", "e.csv", "-f", "plain").stdout == "0.2231435513142097\n"


@pytest.mark.parametrize(("text", "line"), [
    ('"0.5,1\n0.2,0\n', 1),  # the first row: once "has 1 column"
    ('0.5,1\n"0.2,0\n0.1,1\n', 2),  # once "has 1 field"
    ('0.5,1\n0.2,"0\n', 2),  # at the end: once read as 0
    ('p,y\n"0.5\n",1\n0.2,0\n', 2),  # a quoted cell across lines (once a ValueError)
    ('"p\n",y\n0.5,1\n', 1),  # a header across lines
    ('"0.5\n"\n0.2\n', 1),  # one column, split at blanks
])
def test_a_quote_left_open(bce: Run, files: Files, text: str, line: int) -> None:
    files(d__csv=text, y__csv="1\n0\n1\n")
    args = ["y.csv"] if "," not in text else []
    assert refusal(bce, "compute", "d.csv", *args) == f"bce: error: d.csv:{line}: {OPEN_QUOTE}\n"


def test_text_after_a_closing_quote(bce: Run, files: Files) -> None:
    files(d__csv='0.5,1\n0.2,"0"x\n')
    assert refusal(bce, "compute", "d.csv") == \
        "bce: error: d.csv:2: not valid CSV: text after the closing quote of a field\n"


def test_a_comment_with_an_open_quote_is_still_a_comment(bce: Run, files: Files) -> None:
    files(d__csv='# "made by hand\n0.8,1\n0.3,0\n0.6,1\n')
    assert loss_of(bce("compute", "d.csv", "--json")) == TRUE


@pytest.mark.parametrize(("text", "where"), [
    ('p;y\n"0,8";1\n"0,3";0\n"0,6";1\n', "d.csv:2: '0,8' in column 'p'"),  # once "1 column"
    ('"0,8";1\n"0,3";0\n"0,6";1\n', "d.csv:1: '0,8' in column 0"),
    ("0,8;1\n0,3;0\n0,6;1\n", "d.csv:1: '0,8' in column 0"),  # once split at the comma
])
def test_semicolons_with_decimal_commas(bce: Run, files: Files, text: str, where: str) -> None:
    files(d__csv=text)
    assert refusal(bce, "compute", "d.csv") == f"bce: error: {where} is not a number\n" + \
        DECIMAL_HINT
    assert loss_of(bce("compute", "d.csv", "--decimal", ",", "--json")) == \
        pytest.approx(TRUE, rel=1e-15)


# -- old Mac text: CR alone ends a line -------------------------------------------------------


@pytest.mark.parametrize(("name", "text"), [
    ("p.csv", "0.8\r0.3\r0.6\r"),  # once one row of three classes
    ("p.csv", "0.8\r0.3\r0.6"),  # no CR at the end
    ("p.txt", "0.8\r0.3\r0.6\r"),
    ("p.jsonl", "0.8\r0.3\r0.6\r"),
])
def test_cr_alone_ends_a_line(bce: Run, files: Files, name: str, text: str) -> None:
    files(**{name.replace(".", "__"): text, "y__csv": "1\r0\r1\r"})
    assert loss_of(bce("compute", name, "y.csv", "--json")) == TRUE
    assert loss_of(bce("compute", "-", "y.csv", "--json", input=text.encode())) == TRUE


def test_cr_lines_in_a_table_compressed_and_located(bce: Run, files: Files) -> None:
    files(d__csv__gz=gzip.compress(b"p,y\r0.8,1\r0.3,0\r0.6,1\r"),
          e__csv="p,y\r0.8,1\r0.3,0\rx,1\r")
    assert loss_of(bce("compute", "d.csv.gz", "--json")) == TRUE
    assert refusal(bce, "compute", "e.csv") == \
        "bce: error: e.csv:4: 'x' in column 'p' is not a number\n"


@pytest.mark.parametrize("size", [1, 2, 3, 64])
def test_cr_lines_keep_a_crlf_split_between_reads(size: int) -> None:
    import io

    from bcecli.readers import containers

    stream = containers.cr_lines(io.BytesIO(b"a\r\nb\rc\r\r\nd\r"), "d.csv")
    parts = iter(lambda: stream.read(size), b"")
    assert b"".join(parts) == b"a\nb\nc\n\nd\n"


# -- inputs without values --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text", "message"), [
    ("e.json", "[[]]", "e.json: row 0 is an empty array"),  # once a ZeroDivisionError
    ("e.json", "[\n  [],\n  []\n]", "e.json: row 0 is an empty array"),
    ("e.json", '{"predictions": [[]], "targets": [[]]}', "e.json: row 0 is an empty array"),
    ("e.json", "[{}]", "e.json: record 0 is an empty object"),
    ("e.json", '{"columns": [], "data": [[]]}', "e.json: has no columns: there are no values "
     "to read"),
    ("e.jsonl", "[]\n[]\n", "e.jsonl:1: an empty array: the first line must hold the values "
     "of a row"),
    ("e.jsonl", "\n{}\n", "e.jsonl:2: an empty object: the first line must hold the values "
     "of a row"),
])
def test_rows_of_no_values(bce: Run, files: Files, name: str, text: str, message: str) -> None:
    files(**{name.replace(".", "__"): text, "y__csv": "1\n"})
    for args in ([name, "y.csv"], [name, "y.csv", "-r", "sum"], ["y.csv", name], [name]):
        if "predictions" in text and len(args) > 1:
            continue
        result = bce("compute", *args)
        assert (result.exit_code, result.stdout, result.stderr) == \
            (2, "", f"bce: error: {message}\n"), args


@pytest.mark.parametrize("kind", ["parquet", "feather"])
@pytest.mark.parametrize("lists", [False, True])
def test_a_table_file_without_rows(bce: Run, files: Files, kind: str, lists: bool) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    value = pa.list_(pa.float64()) if lists else pa.float64()
    table = pa.table({"y_pred": pa.array([], value), "y_true": pa.array([], value)})
    write = {"parquet": pq.write_table, "feather": feather.write_feather}[kind]
    write(table, f"e.{kind}")
    for reduction in ("mean", "sum", "none"):  # no data is an error, never 0.0
        assert refusal(bce, "compute", f"e.{kind}", "-r", reduction) == \
            f"bce: error: e.{kind}: has no rows\n"


# -- .npy: read, never mapped ---------------------------------------------------------------


def npy_bytes(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_an_npy_that_shrinks_while_it_is_read(files: Files, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Once memory-mapped: the process died of SIGBUS (this test with it)."""
    from bcecli.readers import base, open_input, read_input

    monkeypatch.setattr(base, "BLOCK_ROWS", 1000)
    files(p__npy=npy_bytes(np.full(10_000, 0.5)))
    with ExitStack() as resources:
        reader = read_input(open_input("p.npy", resources), resources)
        assert isinstance(reader, base.Reader)
        blocks = reader.blocks([0])
        assert len(next(blocks).values) == 1000
        os.truncate(tmp_path / "p.npy", 9000)  # within the second block
        with pytest.raises(InputError) as error:
            next(blocks)
    assert str(error.value) == "p.npy: the array data ends early (the header says 10000 rows)"


def test_an_npy_shorter_than_its_header_is_refused_before_a_block(bce: Run, files: Files
                                                                  ) -> None:
    files(p__npy=npy_bytes(np.full(300_000, 0.5))[:-8], y__csv="1\n" * 300_000)
    assert refusal(bce, "compute", "p.npy", "y.csv", "-r", "none", "-f", "plain") == \
        "bce: error: p.npy: the array data ends early (the header says 300000 rows)\n"


def test_a_fortran_order_file_is_read_in_place(bce: Run, files: Files,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Column by column where it lies, whatever its size; streamed, up to a bound."""
    monkeypatch.setattr(npy, "MAX_FORTRAN_BYTES", 16)
    monkeypatch.setattr(base, "BLOCK_ROWS", 2)
    table = np.array([[1.0, 0.8, 7.0], [0.0, 0.3, 7.0], [1.0, 0.6, 7.0]])
    files(d__npy=npy_bytes(np.asfortranarray(table)), e__npy=npy_bytes(np.asfortranarray(
        table.astype(">f4"))), z__npy__gz=gzip.compress(npy_bytes(np.asfortranarray(table))))
    for name in ("d.npy", "e.npy"):
        result = bce("compute", name, "--pred-col", "1", "--target-col", "0", "--json")
        assert loss_of(result) == pytest.approx(TRUE, rel=1e-7)
    assert refusal(bce, "compute", "d.npy", "--pred-col", "2", "--target-col", "0") == \
        "bce: error: d.npy[0]: prediction 7.0 in column 2 is outside [0, 1]\n" \
        "hint: if these are logits (raw scores), pass --logits\n"
    assert refusal(bce, "compute", "z.npy.gz", "--pred-col", "1", "--target-col", "0") \
        .startswith("bce: error: z.npy.gz: a Fortran-order array this large cannot be streamed")


def test_an_npy_from_a_pipe_that_ends(bce: Run, files: Files, tmp_path: Path) -> None:
    files(y__csv="1\n0\n1\n")
    writer = fed(tmp_path / "p", npy_bytes(np.array([0.8, 0.3, 0.6])))
    result = bce("compute", "p", "y.csv", "--json")
    writer.join(5)
    assert loss_of(result) == TRUE


# -- compressed and piped inputs: bounded memory ----------------------------------------------


def test_a_table_file_from_a_stream_is_read_whole_up_to_a_bound(
        bce: Run, files: Files, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parquet is read from its end: compressed or piped, it is held in memory, bounded
    (a 400 KB gzip of 160 MB of Parquet once went wholly into memory)."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from bcecli.readers import arrow

    table = pa.table({"y_pred": [0.8, 0.3, 0.6], "y_true": [1.0, 0.0, 1.0]})
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    data = buffer.getvalue().to_pybytes()
    files(d__parquet__gz=gzip.compress(data))
    assert loss_of(bce("compute", "d.parquet.gz", "--json")) == TRUE
    assert loss_of(bce("compute", "-", "--json", input=data)) == TRUE
    writer = fed(tmp_path / "pipe", data)
    assert loss_of(bce("compute", "pipe", "--json")) == TRUE
    writer.join(5)
    monkeypatch.setattr(arrow, "MAX_IN_MEMORY", len(data) - 1)
    assert refusal(bce, "compute", "d.parquet.gz") == "bce: error: d.parquet.gz: a Parquet, " \
        "Feather or Arrow file that is compressed or from a pipe is read into memory, up to " \
        "0 MiB: this one is larger\nhint: decompress it into a file first (Parquet compresses " \
        "its own columns)\n"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_json_document_without_end_is_refused(bce: Run, files: Files) -> None:
    files(y__csv="1\n")
    os.symlink("/dev/zero", "zeros.json")
    assert refusal(bce, "compute", "zeros.json", "y.csv") == "bce: error: zeros.json: a JSON " \
        "document is read into memory, up to 64 MiB: this one is larger\nhint: save it as " \
        "JSON Lines (one value, array or object a line): it streams\n"


def test_a_json_document_is_read_whole_up_to_a_bound(bce: Run, files: Files,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from bcecli.readers import jsondoc

    document = b"[" + b"0.5," * 1000 + b"0.5]"
    files(d__json__gz=gzip.compress(document), y__json=b"[" + b"1," * 1000 + b"1]")
    assert loss_of(bce("compute", "d.json.gz", "y.json", "--json")) == 0.6931471805599453
    rows = b"[" + b"[0.5]," * 1000 + b"[0.5]]"  # (a flat array streams, from stdin too)
    monkeypatch.setattr(jsondoc, "MAX_DOCUMENT", len(rows) - 1)
    assert refusal(bce, "compute", "-", "y.json", "--input-format", "json",
                   input=rows).startswith(
        "bce: error: <stdin>: a JSON document is read into memory, up to 0 MiB: this one is "
        "larger\n")


@pytest.mark.parametrize(("name", "text", "bad"), [
    ("p.jsonl", "0.8\n0.3\n\n# note\n0.6\n" * 5 + "2\n", "p.jsonl:26: prediction 2.0"),
    ("p.csv", "0.8\ntrue\n\n# note\n0.6\n" * 5 + "2\n", "p.csv:26: prediction 2.0"),
])
def test_short_lines_are_parsed_a_piece_at_a_time(bce: Run, files: Files,
                                                  monkeypatch: pytest.MonkeyPatch, name: str,
                                                  text: str, bad: str) -> None:
    """In Python a short line costs more than its bytes (3 M lines of `0` held 178 MiB):
    a block is parsed at most MAX_BLOCK_LINES lines at a time, its rows and lines as one."""
    from bcecli.readers import base

    monkeypatch.setattr(base, "MAX_BLOCK_LINES", 3)
    files(**{name.replace(".", "__"): text, "y__csv": "1\n1\n\n1\n" * 5 + "1\n"})
    assert refusal(bce, "compute", name, "y.csv", "--skip-missing").startswith(
        f"bce: error: {bad} is outside [0, 1]\n")
    files(**{name.replace(".", "__"): text[:-2], "y__csv": "1\n1\n\n1\n" * 5})
    result = bce("compute", name, "y.csv", "--skip-missing", "-r", "none", "-f", "plain")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 15


# -- option values no file could match ------------------------------------------------------


def test_a_positive_label_that_does_not_print(bce: Run, files: Files) -> None:
    files(d__csv="p,y\n0.8,a\n0.3,b\n")
    assert refusal(bce, "compute", "d.csv", "--pos-label", "a\nb") == "bce: error: --pos-label " \
        "'a\\nb' is not a label (it holds a character that does not print)\n"


def test_a_path_with_a_nul_byte(bce: Run, files: Files) -> None:
    """A command line cannot pass one; a library call or a test can (`open` raised)."""
    files(p__csv="0.8\n", y__csv="1\n")
    for args in (["compute", "y.csv", "p\0.csv"], ["compute", "p.csv", "y.csv", "--weights",
                                                   "w\0"],
                 ["compute", "p.csv", "y.csv", "--baseline", "b\0"], ["merge", "m\0"]):
        assert refusal(bce, *args) == f"bce: error: {args[-1]!r}: no such file\n", args


def test_a_json_document_from_a_named_pipe_is_read_once(bce: Run, tmp_path: Path) -> None:
    """A plain file of flat arrays is streamed by reopening it; a pipe cannot be reopened
    (the second open would wait for a writer forever): it is read once, kept by a spool."""
    document = b'{"predictions": [0.5, 0.25], "targets": [1, 0]}'
    writer = fed(tmp_path / "d.json", document)
    (tmp_path / "e.json").write_bytes(document)
    from_pipe = bce("compute", str(tmp_path / "d.json"), "--json")
    writer.join(5)
    from_file = bce("compute", str(tmp_path / "e.json"), "--json")
    assert from_pipe.exit_code == 0, from_pipe.stderr
    assert json.loads(from_pipe.stdout)["loss"] == json.loads(from_file.stdout)["loss"]
