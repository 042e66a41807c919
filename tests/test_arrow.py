"""The `arrow` extra: the same answers as bce's own reader, or the same errors.

Without pyarrow installed these tests check only that the extra is asked for
where it is needed; CI runs the suite once more with `bcecli[arrow]`.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import bcecli.readers as readers_package
from bcecli.readers import arrow
from bcecli.readers import text as delimited
from tests.helpers import Files, Run

HAS_ARROW = importlib.util.find_spec("pyarrow") is not None
needs_arrow = pytest.mark.skipif(not HAS_ARROW, reason="the arrow extra is not installed")
ROWS = "".join(f"{(i * 37 % 101) / 101!r},{i % 2}\n" for i in range(5000))

CORPUS: list[tuple[str, str, list[str]]] = [
    ("plain", "0.5,1\n0.25,0\n0.125,1\n", []),
    ("header", "p,y\n0.5,1\n0.25,0\n", []),
    ("crlf", "p,y\r\n0.5,1\r\n0.25,0\r\n", []),
    ("bom header", "\ufeffp,y\n0.5,1\n0.25,0\n", []),
    ("bom data", "\ufeff0.5,1\n0.25,0\n", []),
    ("quoted", '"0.5","1"\n"0.25","0"\n', []),
    ("booleans", "0.5,true\n0.25,FALSE\n", []),
    ("blank lines", "0.5,1\n\n0.25,0\n\n", []),
    ("comments", "# made by hand\n0.5,1\n# more\n0.25,0\n", []),
    ("spaces", " 0.5 , 1\n0.25 ,0 \n", []),
    ("no final newline", "0.5,1\n0.25,0", []),
    ("semicolons", "0.5;1\n0.25;0\n", []),
    ("scientific", "5e-1,1\n2.5E-01,0\n", []),
    ("text column", "id,p,y\na,0.5,1\nb,0.25,0\n", ["--pred-col", "p", "--target-col", "y"]),
    ("comment in an unread column", "id,p,y\n1,0.5,1\n#,0.25,0\n 3,0.125,1\n",
     ["--pred-col", "p", "--target-col", "y"]),
    ("blank line inside", "p,y\n0.5,1\n\n0.25,0\n", []),
    ("missing value", "p,y\n0.5,1\nNA,0\n0.25,0\n", ["--skip-missing"]),
    ("logits", "-3.5,1\n1e2,0\ninf,1\n-inf,0\n", ["--logits"]),
    ("many rows", ROWS, []),
    ("empty cell", "0.5,1\n0.25,\n", []),
    ("not a number", "0.5,1\nabc,0\n", []),
    ("nan", "0.5,1\nnan,0\n", []),
    ("out of range late", ROWS + "1.5,1\n", []),
    ("out of range after blanks", "p,y\n\n0.5,1\n\n1.5,0\n", []),
    ("ragged", "0.5,1\n0.25,0,7\n", []),
    ("huge", "1e999,1\n", ["--logits"]),
    ("underscore", "1_0,1\n", ["--logits"]),
    ("a delimiter and a blank end every line", "0.5,1, \n0.25,0,\t\n", []),
    ("a quote left open at the end", "0.5,1\n0.25,\"0\n", []),
    ("a quoted cell across lines", "0.5,1\n0.25,\"0\n\"\n0.125,1\n", []),
    ("text after a closing quote", "0.5,1\n0.25,\"0\"x\n", []),
    ("quoted decimal commas", 'p;y\n"0,5";1\n"0,25";0\n', []),
]

# What pyarrow leaves to bce's own paths: quotes, comments, anything not a plain number.
LEFT_TO_BCE = {"quoted", "booleans", "blank lines", "comments", "comment in an unread column",
               "blank line inside", "missing value", "empty cell", "not a number", "nan",
               "out of range after blanks", "ragged", "underscore", "a quote left open at the end",
               "a quoted cell across lines", "text after a closing quote", "quoted decimal commas"}

ONE_COLUMN: list[tuple[str, str, str]] = [
    ("one column", "0.5\n0.25\n0.125\n", "1\n0\n1\n"),
    ("one column, spaces", " 0.5\n0.25 \n0.125\n", "1\n0\n1\n"),
    ("one column, blank lines", "0.5\n\n0.25\n0.125\n\n", "1\n0\n1\n"),
    ("one column, header", "p\n0.5\n0.25\n", "y\n1\n0\n"),
    ("one column, out of range", "0.5\n\n1.25\n", "1\n0\n"),
    ("one column, too long", "0.5\n0.25\n0.125\n", "1\n0\n"),
]


def run_corpus(bce: Run, files: Files, text: str, args: list[str],
               targets: str | None = None) -> tuple[int, str, str]:
    files(d__csv=text, **({"t__csv": targets} if targets else {}))
    result = bce("compute", "d.csv", *(["t.csv"] if targets else []), "--json", *args)
    return result.exit_code, result.stdout, result.stderr


def force_arrow(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """Make every block of text go to pyarrow first, on threads; returns `arrow_reads`."""
    monkeypatch.setattr(arrow, "MIN_BYTES", 0)
    monkeypatch.setattr(delimited, "BLOCK_BYTES", 0)  # every input counts as large
    monkeypatch.setattr(readers_package, "fixed_width_lines", lambda chunk: False)
    monkeypatch.setattr(delimited, "fixed_width", lambda *args: None)
    return arrow_reads(monkeypatch)


def arrow_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """The blocks pyarrow is asked for from now on (it fills as they are): which parser
    (one an input), and whether it took the block."""
    used: list[tuple[int, bool]] = []
    original = arrow.CsvBlocks.values

    def spy(self: arrow.CsvBlocks, chunk: bytes, columns: list[int]) -> object:
        values = original(self, chunk, columns)
        used.append((id(self), values is not None))
        return values

    monkeypatch.setattr(arrow.CsvBlocks, "values", spy)
    return used


@needs_arrow
@pytest.mark.parametrize(("name", "text", "args"), CORPUS, ids=[c[0] for c in CORPUS])
def test_both_readers_agree(bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch,
                            name: str, text: str, args: list[str]) -> None:
    own = run_corpus(bce, files, text, args)
    used = force_arrow(monkeypatch)
    assert run_corpus(bce, files, text, args) == own
    assert used  # pyarrow was asked; plain numbers it takes, the rest it leaves
    assert all(took for _, took in used) == (name not in LEFT_TO_BCE)


@needs_arrow
@pytest.mark.parametrize(("name", "preds", "targets"), ONE_COLUMN, ids=[c[0] for c in ONE_COLUMN])
def test_both_readers_agree_on_one_column_files(bce: Run, files: Files,
                                                monkeypatch: pytest.MonkeyPatch, name: str,
                                                preds: str, targets: str) -> None:
    own = run_corpus(bce, files, preds, [], targets)
    used = force_arrow(monkeypatch)
    assert run_corpus(bce, files, preds, [], targets) == own
    assert len({parser for parser, _ in used}) == 2  # one for each file


@needs_arrow
def test_parquet_and_feather(bce: Run, files: Files) -> None:
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    files(d__csv="p,y\n0.8,1\n0.3,0\n0.6,1\n")
    expected = bce("compute", "d.csv", "--json").stdout
    table = pa.table({"p": [0.8, 0.3, 0.6], "y": pa.array([1, 0, 1], pa.int8())})
    pq.write_table(table, "d.parquet")
    feather.write_feather(table, "d.feather")
    for name in ("d.parquet", "d.feather"):
        got = bce("compute", name, "--json").stdout
        assert got.replace(name, "d.csv") == expected
    assert bce("compute", "-", "--json", input=Path("d.parquet").read_bytes()).exit_code == 0


@needs_arrow
def test_parquet_errors(bce: Run, files: Files) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files()
    pq.write_table(pa.table({"p": [0.8, None], "y": [1, 0]}), "null.parquet")
    pq.write_table(pa.table({"p": ["a", "b"], "y": [1, 0]}), "text.parquet")
    null = bce("compute", "null.parquet")
    assert (null.exit_code, null.stdout) == (2, "")
    assert null.stderr == "bce: error: null.parquet[1]: a missing value in column 'p'\n" \
        "hint: pass --skip-missing to leave out every row with a missing value, in all the " \
        "inputs alike\n"
    text = bce("compute", "text.parquet")
    assert text.stderr == "bce: error: text.parquet: column 'p' holds string, not numbers\n"


@pytest.mark.skipif(HAS_ARROW, reason="checks the message shown without pyarrow")
def test_parquet_without_the_extra(bce: Run, files: Files) -> None:
    files(d__parquet=b"PAR1 not really")
    result = bce("compute", "d.parquet")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "bce: error: d.parquet: reading Parquet, Feather or Arrow files " \
        "needs pyarrow: pip install 'bcecli[arrow]'\n"


def large_csv(rows: int, extra: str, *, comment: bool = False) -> str:
    """A real file over `arrow.MIN_BYTES`: an id column pyarrow need not read, repr floats
    (so not fixed-width), perhaps a comment line in the middle, then `extra`."""
    body = [f"{i},{(i * 7919 % 10007) / 10007!r},{i % 2}\n" for i in range(rows)]
    if comment:
        body.insert(rows // 2, "# written by hand halfway\n")
    return "id,p,y\n" + "".join(body) + extra


@needs_arrow
def test_a_real_large_file_reads_the_same_through_pyarrow(bce: Run, files: Files,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    rows = 320_000
    text = large_csv(rows, "")
    assert len(text) >= arrow.MIN_BYTES  # the real threshold, not a lowered one
    files(d__csv=text)
    used = arrow_reads(monkeypatch)
    through_arrow = bce("compute", "d.csv", "--pred-col", "p", "--target-col", "y", "--json")
    assert used and all(took for _, took in used)
    assert json.loads(through_arrow.stdout)["count"] == rows
    available = arrow.available
    monkeypatch.setattr(arrow, "available", lambda: False)
    own = bce("compute", "d.csv", "--pred-col", "p", "--target-col", "y", "--json")
    assert through_arrow.stdout == own.stdout
    monkeypatch.setattr(arrow, "available", available)
    used.clear()
    files(d__csv=large_csv(rows, "7,1.5,1\n"))
    late = bce("compute", "d.csv", "--pred-col", "p", "--target-col", "y")
    assert used and all(took for _, took in used)
    assert late.stderr == f"bce: error: d.csv:{rows + 2}: prediction 1.5 in column 'p' is " \
        "outside [0, 1]\nhint: if these are logits (raw scores), pass --logits\n"
    files(d__csv=large_csv(rows, "7,1.5,1\n", comment=True))  # a comment halfway
    used.clear()
    commented = bce("compute", "d.csv", "--pred-col", "p", "--target-col", "y")
    # pyarrow leaves the one block with the comment (it would read it as a row)
    assert [took for _, took in used].count(False) == 1
    assert commented.stderr == late.stderr.replace(f":{rows + 2}:", f":{rows + 3}:")
