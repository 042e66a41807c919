"""The fast text paths of large inputs: blocks parsed ahead on threads (by pyarrow where
installed), `np.loadtxt` for blocks with unused columns, decompression read ahead on
its own thread. Each gives exactly Python's float() of every cell or steps aside, and
the same rows, errors and lines, in file order, as bce's own reader in turn."""

from __future__ import annotations

import bz2
import gzip
import importlib.util
import io
import lzma
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bcecli.errors import InputError
from bcecli.readers import arrow, base, containers
from bcecli.readers import text as delimited
from tests.helpers import Files, Run

HAS_ARROW = importlib.util.find_spec("pyarrow") is not None
needs_arrow = pytest.mark.skipif(not HAS_ARROW, reason="the arrow extra is not installed")

# Cells a fast path could take for a number it is not, or read otherwise than float().
ODD = ["nan", "NaN", "-nan", "inf", "-Infinity", "INF", "true", "False", "", " ", "1_0",
       "0x1p3", "nan(1)", "1e", ".", "-", "+.5", "5.", "\u0661", "\t0.5", "0.5\x0c", "1d5",
       "1e999", "-0", "0.5 ", " 0.5", "1e-400", "4.9e-324", "NA", "null", "#N/A", "1,5"]
cell = st.one_of(
    st.floats().map(repr),
    st.from_regex(r"[+-]?[0-9]{0,25}(\.[0-9]{0,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(ODD))


def bits(values: np.ndarray) -> bytes:
    """Floats compared bit for bit (-0.0 is not 0.0), any NaN as one (a missing value,
    whose sign nothing shows)."""
    return np.where(np.isnan(values), np.nan, values).astype(np.float64).tobytes()


def strict(chunk: bytes, columns: list[int], width: int) -> np.ndarray | None:
    """What bce's own Python path reads from a block, None where it refuses it."""
    try:
        return delimited.python_rows(chunk, columns, width, ",", "x.csv", 1, 0, None).values
    except InputError:
        return None


def exact_or_decline(parse: Callable[[bytes, list[int]], np.ndarray | None],
                     rows: list[list[str]], columns: list[int]) -> None:
    chunk = "".join(",".join(row) + "\n" for row in rows).encode()
    got = parse(chunk, columns)
    if got is not None:
        expected = strict(chunk, columns, len(rows[0]))
        assert expected is not None, chunk[:300]
        assert bits(got) == bits(expected), chunk[:300]


rows_of_cells = st.integers(1, 3).flatmap(lambda width: st.lists(
    st.lists(cell, min_size=width, max_size=width), min_size=1, max_size=30))


@settings(max_examples=400)
@given(rows_of_cells, st.data())
@example([["0.1", "1"]], None)
def test_loadtxt_and_fromstring_are_exact_or_decline(rows: list[list[str]],
                                                     data: st.DataObject | None) -> None:
    width = len(rows[0])
    columns = [width - 1] if data is None else data.draw(
        st.lists(st.integers(0, width - 1), min_size=1, max_size=width))
    exact_or_decline(lambda chunk, used: delimited.all_numeric(chunk, used, width, ","),
                     rows, columns)


@needs_arrow
@settings(max_examples=400)
@given(rows_of_cells, st.data())
def test_pyarrow_blocks_are_exact_or_decline(rows: list[list[str]], data: st.DataObject
                                             ) -> None:
    width = len(rows[0])
    columns = data.draw(st.lists(st.integers(0, width - 1), min_size=1, max_size=width))
    exact_or_decline(arrow.CsvBlocks(width, ",").values, rows, columns)


@settings(max_examples=300)
@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=50), st.booleans())
def test_repr_floats_read_back_exactly(values: list[float], crlf: bool) -> None:
    """pandas' full-precision floats after an id column nobody reads (np.loadtxt's case),
    and pyarrow's: each the very float written."""
    end = "\r\n" if crlf else "\n"
    chunk = "".join(f"{i},{v!r},{i % 2}{end}" for i, v in enumerate(values)).encode()
    parsers: list[Callable[[bytes, list[int]], np.ndarray | None]] = [
        lambda c, used: delimited.all_numeric(c, used, 3, ",")]
    if HAS_ARROW:
        parsers.append(arrow.CsvBlocks(3, ",").values)
    for parse in parsers:
        got = parse(chunk, [1, 2])
        assert got is not None
        assert bits(got[:, 0]) == bits(np.array(values))


# -- whole runs: threads, stdin, compression ---------------------------------------------


def table(rows: int, *, late: str = "", at: int = 0) -> bytes:
    """id,prediction,label rows of repr floats, with the line `late` put in at row `at`."""
    lines = [f"{i},{(i * 7919 % 10007) / 10007!r},{i % 2}\n" for i in range(rows)]
    if late:
        lines.insert(at, late)
    return ("id,prediction,label\n" + "".join(lines)).encode()


VARIANTS: list[tuple[str, bytes, list[str]]] = [
    ("clean", table(3000), []),
    ("out of range late", table(3000, late="7,1.5,1\n", at=2600), []),
    ("text late", table(3000, late="7,abc,1\n", at=2600), []),
    ("a blank line", table(3000, late="\n", at=1500), ["--skip-missing"]),
    ("a missing value", table(3000, late="7,NA,1\n", at=1500), []),
    ("a comment", table(3000, late="# halfway\n", at=1500), []),
    ("ragged late", table(3000, late="7,0.5,1,9\n", at=2900), []),
    ("true and false", table(3000, late="7,0.5,true\n", at=100), []),
    ("quoted", table(3000, late='7,"0.5",1\n', at=100), []),
    ("not UTF-8", table(3000, late="7,0.5,1\n", at=100).replace(b"7,0.5", b"\xff,0.5"), []),
]
REFUSED = {"out of range late", "text late", "a missing value", "ragged late", "not UTF-8"}
COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "": lambda data: data, ".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress,
}


def zipped(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("d.csv", data)
    return out.getvalue()


def many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small blocks (so many are parsed ahead at once), every input counted as large."""
    monkeypatch.setattr(base, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(delimited, "BLOCK_BYTES", 0)
    monkeypatch.setattr(arrow, "MIN_BYTES", 0)


def run(bce: Run, source: str, args: list[str], input: bytes | None = None
        ) -> list[tuple[int, str, str]]:
    """The JSON result and the per-row losses (file order) of one input, its name taken out."""
    common = ["--pred-col", "prediction", "--target-col", "label", *args]
    results = [bce("compute", source, "--json", *common, input=input),
               bce("compute", source, "-r", "none", "-f", "csv", *common, input=input)]
    name = "<stdin>" if source == "-" else source
    return [(r.exit_code, r.stdout.replace(name, "SOURCE"), r.stderr.replace(name, "SOURCE"))
            for r in results]


@pytest.mark.parametrize(("name", "data", "args"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_every_source_reads_as_bce_does_in_turn(bce: Run, files: Files,
                                                monkeypatch: pytest.MonkeyPatch, name: str,
                                                data: bytes, args: list[str]) -> None:
    files(**{f"d__csv{suffix.replace('.', '__')}": compress(data)
             for suffix, compress in COMPRESS.items()}, d__zip=zipped(data))
    many_blocks(monkeypatch)
    available, read_ahead = arrow.available, containers.ReadAhead
    monkeypatch.setattr(arrow, "available", lambda: False)
    monkeypatch.setattr(containers, "ReadAhead", InTurn)
    reference = run(bce, "d.csv", args)  # bce's own parsers, one block after another
    assert reference[0][0] == (2 if name in REFUSED else 0)
    monkeypatch.setattr(containers, "ReadAhead", read_ahead)
    for with_arrow in (True, False) if HAS_ARROW else (False,):
        monkeypatch.setattr(arrow, "available", available if with_arrow else lambda: False)
        for source in [f"d.csv{suffix}" for suffix in COMPRESS] + ["d.zip"]:
            assert run(bce, source, args) == reference, (source, with_arrow)
        assert run(bce, "-", args, input=data) == reference
        assert run(bce, "-", args, input=gzip.compress(data)) == reference


class InTurn:
    """`ReadAhead` without its thread: each read when it is asked for."""

    def __init__(self, read: Callable[[int], bytes], close: Callable[[], None]):
        self.read, self.close = read, close


@pytest.mark.parametrize("cut", [10, 2000, -9])
def test_a_broken_stream_fails_where_it_breaks(bce: Run, files: Files,
                                               monkeypatch: pytest.MonkeyPatch, cut: int) -> None:
    """A gzip file cut short, or its bytes damaged, fails as it does read in turn: after
    the rows before (a bad row before the damage is the error), naming the file."""
    data = gzip.compress(table(20_000, late="7,1.5,1\n", at=5) if cut == 2000 else table(20_000))
    damaged = data[:cut] if cut > 0 else data[:cut] + bytes(8)  # a bad checksum at the end
    files(d__csv__gz=damaged)
    many_blocks(monkeypatch)
    threaded = run(bce, "d.csv.gz", [])
    monkeypatch.setattr(containers, "ReadAhead", InTurn)
    assert threaded == run(bce, "d.csv.gz", [])
    assert threaded[0][0] == 2 and threaded[0][2].startswith("bce: error: SOURCE")


def test_read_ahead_stops_and_closes() -> None:
    """Closed before the end, the thread stops; closed while a read waits (an idle pipe),
    `close` returns and the thread closes the file once the read returns."""
    closed = threading.Event()
    source = io.BytesIO(bytes(10 << 20))
    ahead = containers.ReadAhead(source.read, closed.set)
    assert len(ahead.read(100)) == 100
    ahead.close()
    assert closed.is_set()

    release, closed = threading.Event(), threading.Event()

    def idle(size: int) -> bytes:
        release.wait()
        return b"x" * size

    waiting = containers.ReadAhead(idle, closed.set)
    reader = threading.Thread(target=waiting.read, args=(1,), daemon=True)
    reader.start()
    waiting.close()
    release.set()
    assert closed.wait(60)


def test_read_ahead_hands_out_bytes_then_the_error() -> None:
    parts = [b"a" * 10, b"b" * 10]

    def read(size: int) -> bytes:
        if parts:
            return parts.pop(0)
        raise zlib.error("broken")

    ahead = containers.ReadAhead(read, lambda: None)
    assert ahead.read(15) == b"a" * 10
    assert ahead.read(15) == b"b" * 10
    with pytest.raises(zlib.error):
        ahead.read(15)
    assert ahead.read(15) == b""


def test_a_peekable_read_fills_its_size() -> None:
    """The first block of a compressed input is as large as asked, though sniffing
    peeked at less (so the input is seen to be large)."""
    stream = containers.decompress("gzip", io.BytesIO(gzip.compress(bytes(3 << 20))), "x.gz")
    assert len(containers.peek(stream, 10)) == 10
    assert len(stream.read(1 << 20)) == 1 << 20
    stream.close()


def test_parsed_ahead_keeps_file_order_and_errors_in_turn() -> None:
    """Blocks parsed on threads come out in order, numbered by the rows before them; a
    block's error comes in its turn, after every block before it."""
    from concurrent.futures import ThreadPoolExecutor

    def parse(chunk: bytes, line: int, start: int) -> base.Block:
        if b"bad" in chunk:
            raise InputError("bad", where=f"x:{line}")
        return base.Block(np.zeros((chunk.count(b"\n"), 1)), start, line)

    chunks = [b"1\n" * (k + 1) for k in range(20)]
    with ThreadPoolExecutor(2) as pool:
        blocks = list(base.parsed_blocks(b"", iter(chunks), 1, "x", parse, pool))
        assert [b.start for b in blocks] == list(np.cumsum([0] + [k + 1 for k in range(19)]))
        assert [b.lines for b in blocks] == [b.start + 1 for b in blocks]
        seen: list[int] = []
        with pytest.raises(InputError, match="x:56"):  # the first bad block, not a later one
            for block in base.parsed_blocks(b"", iter([*chunks[:10], b"bad\n", *chunks[:2],
                                                       b"bad\n", *chunks]), 1, "x", parse, pool):
                seen.append(block.start)
        assert len(seen) == 10

        def unreadable() -> Iterator[bytes]:
            yield from [chunks[0], b"bad\n", chunks[1]]
            raise base.LineTooLong

        with pytest.raises(InputError, match="x:2: bad"):  # before the later read error
            list(base.parsed_blocks(b"", unreadable(), 1, "x", parse, pool))
        with pytest.raises(InputError, match="x:5: a line longer than 16 MiB"):
            list(base.parsed_blocks(b"", unreadable(), 1, "x",
                                    lambda c, line, s: parse(c.replace(b"bad", b"1"), line, s),
                                    pool))


def test_large_inputs_take_the_fast_paths(files: Files) -> None:
    """Where pyarrow is installed, a large file, stdin and a compressed file all go to it;
    a small file does not (importing pyarrow would cost more)."""
    from contextlib import ExitStack

    from bcecli.readers import open_input, read_input

    big = table(400_000)
    files(d__csv=big, d__csv__gz=gzip.compress(big), small__csv=table(100))
    for path, stdin in [("d.csv", None), ("d.csv.gz", None), ("-", io.BytesIO(big)),
                        ("small.csv", None)]:
        with ExitStack() as resources:
            reader = read_input(open_input(path, resources, stdin=stdin), resources)
            assert isinstance(reader, delimited.TextReader)
            assert (reader.fast is not None) == (HAS_ARROW and path != "small.csv"), path
    assert Path("d.csv").stat().st_size >= arrow.MIN_BYTES
