"""Issue 12 with the `arrow` extra: pyarrow reads the number text of big JSON documents
(a thread per array, blocks ahead) and decodes Parquet batches ahead on a thread. The
numbers must be `float(text)`'s (and the strict readers', bit for bit), the messages
those of the paths without pyarrow or threads."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bcecli.errors import InputError
from bcecli.readers import arrow, base, jsonarrow, jsondoc, jsonstream, open_input, read_input
from bcecli.readers.base import Reader
from bcecli.readers.jsonstream import StreamedArrays
from tests.helpers import Files, Run, json_document
from tests.test_fast_json import bits, numbers, read_all, reader_of, slow, texts

pa = pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def parse() -> jsonarrow.JsonNumbers:
    return jsonarrow.JsonNumbers()


@settings(max_examples=500)
@given(st.lists(numbers, min_size=1, max_size=30), st.sampled_from([",", ", ", ",\n  ", "\r\n,"]))
@example(["0.6369616873214543", "9007199254740993", "2.4703282292062328e-324"], ",")
def test_json_numbers_are_floats_bit_for_bit(parse: jsonarrow.JsonNumbers, items: list[str],
                                             separator: str) -> None:
    got = parse(separator.join(items).encode())
    expected = [float(item) for item in items]
    if not any(c in item for item in items for c in "eE"):  # RapidJSON refuses some exponents
        assert got is not None  # read here, not left to bce
    if got is not None:
        assert bits(got) == bits(expected)


def json_floats(piece: str) -> list[float] | None:
    """The numbers of a piece as `json` reads them (an integer as float), None if it is no
    flat array of JSON numbers."""
    try:
        cells = json.loads(f"[{piece}]", parse_int=float, parse_constant=lambda _: None)
    except json.JSONDecodeError:
        return None
    return cells if all(isinstance(cell, float) for cell in cells) else None


@settings(max_examples=500)
@given(st.lists(st.one_of(texts, numbers, st.sampled_from(
    ["NaN", "-Infinity", "null", "true", "1e400", " ", "", "\x00", "1\x002", "٣"])),
    min_size=1, max_size=8))
def test_only_json_numbers_are_read(parse: jsonarrow.JsonNumbers, items: list[str]) -> None:
    piece = ",".join(items)
    got = parse(piece.encode())
    expected = json_floats(piece)
    if got is not None:  # what pyarrow reads is JSON and json's numbers, or it steps aside
        assert expected is not None and bits(got) == bits(expected)


def test_blanks_only_is_no_number(parse: jsonarrow.JsonNumbers) -> None:
    """`[ ]` is an empty array: the caller's `values` then reads no rows, as the strict
    path does (json.loads gives [])."""
    got = parse(b"  ")
    assert got is not None and len(got) == 0 and json_floats("  ") == []


@pytest.fixture
def big(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every JSON document counts as big (pyarrow and threads), read in blocks of 256 bytes;
    the list counts the blocks pyarrow read."""
    monkeypatch.setattr(arrow, "MIN_BYTES", 0)
    monkeypatch.setattr(jsonstream, "BLOCK_BYTES", 256)
    taken: list[int] = []
    call = jsonarrow.JsonNumbers.__call__

    def counted(self: jsonarrow.JsonNumbers, piece: bytes) -> Any:
        values = call(self, piece)
        taken.append(values is not None)
        return values

    monkeypatch.setattr(jsonarrow.JsonNumbers, "__call__", counted)
    return taken


documents = st.lists(numbers, min_size=1, max_size=200).flatmap(lambda p: st.tuples(
    st.just(p), st.lists(st.sampled_from(["0", "1", "1.0", "0.0", "null", "true"]),
                         min_size=len(p), max_size=len(p))))


@slow
@given(documents, st.sampled_from(["keys", "columns", "flat"]), st.sampled_from([None, 0, 2]))
def test_big_documents_match_the_whole_document(
        tmp_path: Path, big: list[int], document: tuple[list[str], list[str]], shape: str,
        indent: int | None) -> None:
    path = tmp_path / "d.json"
    path.write_text(json_document(document, shape, indent))
    with ExitStack() as stack:
        streamed = reader_of(path, stack)
        whole = jsondoc.read_json(open_input(str(path), stack))
        pairs = list(zip(streamed.values(), whole.values(), strict=True)) \
            if isinstance(streamed, dict) and isinstance(whole, dict) else [(streamed, whole)]
        for fast, strict in pairs:
            assert isinstance(fast, StreamedArrays) and fast.fast is not None
            assert isinstance(strict, Reader)
            columns = list(range(fast.width))
            assert bits(read_all(fast, columns)) == bits(read_all(strict, columns))


def test_a_big_document_is_read_by_pyarrow_on_threads(tmp_path: Path, big: list[int],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    predictions = [i / 7 for i in range(3000)]
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"predictions": predictions, "targets": [1] * 3000}))
    pools: list[object] = []
    threads = base.parsing_threads

    def spied(wanted: bool, most: int = 4) -> Any:
        pools.append((wanted, most))
        return threads(wanted, most)

    monkeypatch.setattr(jsonstream, "parsing_threads", spied)
    with ExitStack() as stack:
        readers = reader_of(path, stack)
        assert isinstance(readers, dict)
        got = read_all(readers["predictions"], [0])
    assert bits(got[:, 0]) == bits(predictions)
    assert len(big) > 100 and all(big)  # every block of 256 bytes, by pyarrow
    assert pools == [(True, 1)]


# (a string, array or object inside an array is the whole-document reader's)
@pytest.mark.parametrize("bad", ["01", "1.", "", "1 2", "-", "NaN", "null", "true", "1e400",
                                 "+1", ".5", "1,,2", "0x1", "\u00e9"])
def test_big_document_errors_are_those_without_pyarrow(tmp_path: Path, bad: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    values = [str(i / 3) for i in range(3000)]
    values[2500] = bad
    path = tmp_path / "d.json"
    path.write_text('{"predictions": [\n' + ",\n".join(values) + '],\n "targets": [1]}')
    monkeypatch.setattr(jsondoc, "MAX_DOCUMENT", 100)  # too big to be read whole
    results = []
    for pyarrow_reads in (True, False):
        monkeypatch.setattr(arrow, "MIN_BYTES", 0 if pyarrow_reads else 1 << 40)
        with ExitStack() as stack:
            readers = read_input(open_input(str(path), stack), stack)
            assert isinstance(readers, dict)
            assert (readers["predictions"].fast is not None) == pyarrow_reads  # type: ignore[attr-defined]
            try:
                results.append(bits(read_all(readers["predictions"], [0])))
            except InputError as e:
                results.append(str(e).encode())
    assert results[0] == results[1]


@pytest.mark.parametrize("text", ["[1, 2, ]", "[1, 2,\n ]", "[1, , 2]", "[ , 1]", "[1,\n,\n2]"])
@pytest.mark.parametrize("block", [1, 2, 3, 4, 256])
def test_a_comma_with_no_value_is_refused_however_blocks_cut(
        tmp_path: Path, text: str, block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A blank between commas (or a comma and the end) is no JSON value, in a big document
    too: cut at that comma, it must not read as an empty block."""
    path = tmp_path / "d.json"
    path.write_text(text)
    with pytest.raises(ValueError):
        json.loads(text)
    monkeypatch.setattr(jsondoc, "MAX_DOCUMENT", 1)  # too big to be read whole
    monkeypatch.setattr(jsonstream, "BLOCK_BYTES", block)
    with ExitStack() as stack, pytest.raises(InputError, match="invalid JSON: Expecting value"):
        readers = read_input(open_input(str(path), stack), stack)
        assert isinstance(readers, Reader)
        read_all(readers, [0])


def test_the_bce_run_is_the_same(bce: Run, files: Files, big: list[int]) -> None:
    rng = np.random.default_rng(3)
    p, y = rng.random(5000), rng.integers(0, 2, 5000)
    files(d__json=json.dumps({"predictions": p.tolist(), "targets": y.tolist()}),
          p__csv="".join(f"{v!r}\n" for v in p.tolist()), y__csv="".join(f"{v}\n" for v in y))
    for args in (["-f", "csv"], ["-r", "none", "-f", "csv"]):
        assert bce("compute", "d.json", *args).stdout == bce("compute", "p.csv", "y.csv",
                                                            *args).stdout
    assert big and all(big)


# Parquet: batches decoded ahead on a thread must be what reading them in turn gives.

def serial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrow, "parsing_threads", lambda wanted, most=4:
                        base.parsing_threads(False))


def exporter_files(path: Path) -> list[Path]:
    """Parquet files as pyarrow (and pandas through it) write them: several row groups,
    nulls, dictionary-encoded and plain pages, float32, integer labels, a list column."""
    import pyarrow.parquet as pq

    rng = np.random.default_rng(11)
    n = 5000
    p = rng.random(n)
    p[rng.random(n) < 0.01] = np.nan
    mask = rng.random(n) < 0.02
    table = pa.table({
        "id": np.arange(n),
        "prediction": pa.array(p, mask=mask),
        "p32": pa.array(p.astype(np.float32)),
        "label": pa.array(rng.integers(0, 2, n)).dictionary_encode(),
        "multi": pa.array([[float(a), float(b)] for a, b in rng.random((n, 2))]),
        "y2": pa.array([[int(a), int(b)] for a, b in rng.integers(0, 2, (n, 2))]),
    })
    written = []
    layouts: list[dict[str, Any]] = [
        {"row_group_size": 700},
        {"row_group_size": 1234, "use_dictionary": False, "compression": "none"},
        {"row_group_size": n, "compression": "zstd"}]
    for k, options in enumerate(layouts):
        written.append(path / f"d{k}.parquet")
        pq.write_table(table, written[-1], **options)
    return written


@pytest.mark.parametrize("roles", [["--pred-col", "prediction", "--target-col", "label"],
                                   ["--pred-col", "p32", "--target-col", "label"],
                                   ["--pred-col", "multi", "--target-col", "y2"]])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_parquet_read_ahead_is_reading_in_turn(bce: Run, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               roles: list[str], reduction: str) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(base, "BLOCK_ROWS", 1000)  # blocks of 500 rows, several a row group
    for path in exporter_files(tmp_path):
        args = ["compute", path.name, *roles, "-r", reduction, "--skip-missing", "-f", "csv"]
        ahead = bce(*args)
        with monkeypatch.context() as m:
            serial(m)
            in_turn = bce(*args)
        assert (ahead.exit_code, ahead.stdout, ahead.stderr) == \
            (in_turn.exit_code, in_turn.stdout, in_turn.stderr)
        assert ahead.exit_code == 0 and ahead.stdout


def test_parquet_read_ahead_runs_on_a_thread(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setattr(base, "BLOCK_ROWS", 1000)
    path = exporter_files(tmp_path)[0]
    names: set[str] = set()
    batches = arrow.ArrowTableReader.batches_of

    def spied(self: arrow.ArrowTableReader, *args: Any) -> Any:
        for batch in batches(self, *args):
            names.add(threading.current_thread().name)
            yield batch

    monkeypatch.setattr(arrow.ArrowTableReader, "batches_of", spied)
    with ExitStack() as stack:
        reader = read_input(open_input(str(path), stack), stack)
        assert isinstance(reader, arrow.ArrowTableReader)
        read_all(reader, [1, 3])
    assert names and all(name.startswith("bce-parse") for name in names)


def damaged(tmp_path: Path) -> Path:
    """A Parquet file whose fourth row group's first page header is garbage."""
    import pyarrow.parquet as pq

    path = tmp_path / "d.parquet"
    rng = np.random.default_rng(2)
    pq.write_table(pa.table({"prediction": rng.random(40000), "label": rng.integers(0, 2, 40000)}),
                   path, row_group_size=10000, use_dictionary=False, compression="none")
    data = bytearray(path.read_bytes())
    at = pq.ParquetFile(path).metadata.row_group(3).column(0).data_page_offset
    data[at:at + 30] = b"\x07" * 30
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("ahead", [True, False])
def test_a_damaged_page_is_a_one_line_error(bce: Run, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, ahead: bool) -> None:
    path = damaged(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(base, "BLOCK_ROWS", 4000)
    if not ahead:
        serial(monkeypatch)
    result = bce("compute", path.name)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("bce: error: d.parquet: not a valid Parquet, Feather or "
                                    "Arrow file (")
