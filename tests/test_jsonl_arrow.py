"""JSON Lines through the `arrow` extra: pyarrow's JSON parser gives exactly what `float()`
gives, or steps aside to bce's own paths, whose numbers and messages (file:line) stay the same.

Without pyarrow these tests are skipped; CI runs the suite once more with `bcecli[arrow]`.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import bcecli.readers as readers_package
from bcecli.readers import arrow, base, jsonarrow
from tests.helpers import Files, Run
from tests.test_fast_json import bits, numbers

HAS_ARROW = importlib.util.find_spec("pyarrow") is not None
pytestmark = pytest.mark.skipif(not HAS_ARROW, reason="the arrow extra is not installed")

ROWS = "".join(f'{{"id":{i},"p":{(i * 37 % 101) / 101!r},"y":{i % 2}}}\n' for i in range(3000))
FIRST = '{"id":0,"p":0.5,"y":1}\n'

# name, file, whether pyarrow takes every block (False: it leaves at least one to bce)
CORPUS: list[tuple[str, bytes, bool]] = [
    ("plain", ROWS.encode(), True),
    ("json.dumps spacing", b'{"id": 0, "p": 0.5, "y": 1}\n{"id": 1, "p": 0.25, "y": 0}\n', True),
    ("keys in another order", (FIRST + '{"y":0,"p":0.25,"id":1}\n').encode(), True),
    ("no final newline", (FIRST + '{"id":1,"p":0.25,"y":0}').encode(), True),
    ("crlf", (FIRST + '{"id":1,"p":0.25,"y":0}\n').replace("\n", "\r\n").encode(), True),
    ("bom", ("\ufeff" + FIRST + '{"id":1,"p":0.25,"y":0}\n').encode(), True),
    ("exponents and long digits",
     (FIRST + '{"id":9007199254740993,"p":2.5E-1,"y":1e0}\n'
      '{"id":1,"p":0.1000000000000000055511151231257827,"y":0}\n'
      '{"id":-0,"p":5e-324,"y":1}\n{"id":1e-400,"p":0.30000000000000004,"y":0}\n').encode(),
     True),
    ("out of range late", (ROWS + '{"id":7,"p":1.5,"y":1}\n').encode(), True),
    ("a big id", (FIRST + '{"id":1e400,"p":0.25,"y":0}\n').encode(), False),
    ("extra key", (FIRST + '{"id":1,"p":0.25,"y":0,"z":3}\n').encode(), False),
    ("missing key", (FIRST + '{"id":1,"p":0.25}\n').encode(), False),
    ("null", (FIRST + '{"id":1,"p":null,"y":0}\n').encode(), False),
    ("true", (FIRST + '{"id":1,"p":0.25,"y":true}\n').encode(), False),
    ("string", (FIRST + '{"id":1,"p":"0.25","y":0}\n').encode(), False),
    ("list", (FIRST + '{"id":1,"p":[0.25],"y":0}\n').encode(), False),
    ("object", (FIRST + '{"id":1,"p":{"q":0.25},"y":0}\n').encode(), False),
    ("duplicate key", (FIRST + '{"id":1,"p":0.25,"y":0,"p":0.5}\n').encode(), False),
    ("NaN", (FIRST + '{"id":1,"p":NaN,"y":0}\n').encode(), False),
    ("Infinity", (FIRST + '{"id":1,"p":-Infinity,"y":0}\n').encode(), False),
    ("Inf", (FIRST + '{"id":1,"p":Inf,"y":0}\n').encode(), False),
    ("Inf in the unread column", (FIRST + '{"id":Inf,"p":0.25,"y":0}\n').encode(), False),
    ("NaN in the unread column", (FIRST + '{"id":NaN,"p":0.25,"y":0}\n').encode(), False),
    ("plus", (FIRST + '{"id":1,"p":+0.25,"y":0}\n').encode(), False),
    ("leading point", (FIRST + '{"id":1,"p":.25,"y":0}\n').encode(), False),
    ("leading zero", (FIRST + '{"id":01,"p":0.25,"y":0}\n').encode(), False),
    ("trailing point", (FIRST + '{"id":1,"p":0.25,"y":0.}\n').encode(), False),
    ("bare exponent", (FIRST + '{"id":1,"p":0.25,"y":1e}\n').encode(), False),
    ("blank line", (FIRST + '\n{"id":1,"p":0.25,"y":0}\n').encode(), False),
    ("blank line of spaces", (FIRST + ' \t\n{"id":1,"p":0.25,"y":0}\n').encode(), False),
    ("two objects on a line and a blank line",
     (FIRST + '{"id":1,"p":0.25,"y":0} {"id":2,"p":0.75,"y":1}\n\n').encode(), False),
    ("two objects on a line", (FIRST + '{"id":1,"p":0.25,"y":0}{"id":2,"p":0.75,"y":1}\n'
                               ).encode(), False),
    ("trailing blank lines", (FIRST + '{"id":1,"p":0.25,"y":0}\n\n \n').encode(), True),
    ("comment", (FIRST + '# by hand\n{"id":1,"p":0.25,"y":0}\n').encode(), False),
    ("indented", (FIRST + '  {"id":1,"p":0.25,"y":0}\n').encode(), False),
    ("escaped key", (FIRST + '{"id":1,"\\u0070":0.25,"y":0}\n').encode(), False),
    ("escaped other key", (FIRST + '{"id":1,"p":0.25,"y":0,"\\u0070":0.5}\n').encode(), False),
    ("key past ASCII", (FIRST + '{"id":1,"p":0.25,"y":0,"\u00e9":1}\n').encode(), False),
    ("invalid UTF-8", FIRST.encode() + b'{"id":1,"p":0.25,"y":0,"\xff":1}\n', False),
    ("a BOM halfway", (FIRST + '\ufeff{"id":1,"p":0.25,"y":0}\n').encode(), False),
    ("a tab in a key", (FIRST + '{"id":1,"p":0.25,"y":0,"a\tb":1}\n').encode(), False),
    ("a lone CR", (FIRST + '{"id":1,"p":0.25,"y":0}\r{"id":2,"p":0.75,"y":1}\n').encode(),
     False),
    ("trailing comma", (FIRST + '{"id":1,"p":0.25,"y":0,}\n').encode(), False),
    ("comment after", (FIRST + '{"id":1,"p":0.25,"y":0} // c\n').encode(), False),
    ("truncated", (FIRST + '{"id":1,"p":0.25').encode(), False),
    ("an array", (FIRST + "[1, 0.25, 0]\n").encode(), False),
    ("a number", (FIRST + "0.25\n").encode(), False),
    ("text after", (FIRST + '{"id":1,"p":0.25,"y":0}x\n').encode(), False),
    ("a closing brace too many", (FIRST + '{"id":1,"p":0.25,"y":0}}\n').encode(), False),
]


def run(bce: Run, files: Files, content: bytes, *args: str) -> tuple[int, str, str]:
    files(d__jsonl=content)
    result = bce("compute", "d.jsonl", "--pred-col", "p", "--target-col", "y", *args)
    return result.exit_code, result.stdout, result.stderr


def force_arrow(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Send every JSON Lines input to pyarrow first, in blocks of a line or two, on threads;
    returns `arrow_reads`."""
    monkeypatch.setattr(arrow, "MIN_BYTES", 0)
    monkeypatch.setattr(readers_package, "BLOCK_BYTES", 0)  # every input counts as large
    monkeypatch.setattr(base, "BLOCK_BYTES", 48)
    return arrow_reads(monkeypatch)


def arrow_reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether pyarrow took each block it is asked for from now on (filled as they are)."""
    used: list[bool] = []
    original = jsonarrow.JsonBlocks.values

    def spy(self: jsonarrow.JsonBlocks, chunk: bytes, columns: list[int]) -> object:
        values = original(self, chunk, columns)
        used.append(values is not None)
        return values

    monkeypatch.setattr(jsonarrow.JsonBlocks, "values", spy)
    return used


@pytest.mark.parametrize(("name", "content", "taken"), CORPUS, ids=[c[0] for c in CORPUS])
@pytest.mark.parametrize("args", [("-r", "none", "-f", "csv"), ("--logits", "--json")])
def test_both_paths_agree(bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch, name: str,
                          content: bytes, taken: bool, args: tuple[str, ...]) -> None:
    """The same losses (every one, to the last bit of its text) or the same message."""
    monkeypatch.setattr(base, "BLOCK_BYTES", 48)
    own = run(bce, files, content, *args)
    used = force_arrow(monkeypatch)
    assert run(bce, files, content, *args) == own
    assert used  # pyarrow was asked; the lines it reads as bce does it takes
    assert all(used) == taken


def test_an_error_in_a_block_pyarrow_took_names_its_line(bce: Run, files: Files,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    used = force_arrow(monkeypatch)
    code, out, err = run(bce, files, (ROWS + '{"id":7,"p":1.5,"y":1}\n' + ROWS).encode())
    assert all(used)
    assert (code, out) == (2, "")
    assert err.startswith("bce: error: d.jsonl:3001: prediction 1.5 in column 'p' is outside")


def test_a_real_large_file_takes_pyarrow(bce: Run, files: Files,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Over `arrow.MIN_BYTES`, with bce's real blocks: pyarrow takes every one, and the
    result is the numpy path's."""
    rows = 200_000
    text = "".join(f'{{"id":{i},"p":{(i * 7919 % 10007) / 10007!r},"y":{i % 2}}}\n'
                   for i in range(rows))
    assert len(text) >= arrow.MIN_BYTES
    with monkeypatch.context() as without:
        without.setattr(arrow, "available", lambda: False)
        own = run(bce, files, text.encode(), "--json")
    used = arrow_reads(monkeypatch)
    assert run(bce, files, text.encode(), "--json") == own
    assert len(used) > 1 and all(used)
    assert json.loads(own[1])["count"] == rows


def test_small_inputs_are_left_to_numpy(bce: Run, files: Files,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonarrow, "JsonBlocks", None)  # would fail if it were made
    assert run(bce, files, ROWS.encode(), "--json")[0] == 0


def as_block(rows: list[tuple[str, str]]) -> bytes:
    return "".join(f'{{"a":{a},"b":{b}}}\n' for a, b in rows).encode()


@settings(max_examples=300)
@given(st.lists(st.tuples(numbers, numbers), min_size=1, max_size=50))
@example([("0.6369616873214543", "9007199254740993"), ("123456789012345678901234.5", "-0"),
          ("0.1000000000000000055511151231257827", "2.2250738585072011e-308"),
          ("4.9406564584124654e-324", "1.7976931348623157e308")])
def test_numbers_are_floats_bit_for_bit(rows: list[tuple[str, str]]) -> None:
    """Random doubles' repr, the same to 17 and to 25 digits, 2**53 and up, exponents:
    pyarrow reads each as `float()` of its text (or leaves the block, never rounds it
    otherwise)."""
    values = jsonarrow.JsonBlocks(("a", "b")).values(as_block(rows), [0, 1])
    expected = [[float(a), float(b)] for a, b in rows]
    if values is None:  # left to bce only past a double's range (RapidJSON's check)
        assert any(extreme(text) for row in rows for text in row)
    else:
        assert bits(values) == bits(expected)


def extreme(text: str) -> bool:
    """Infinite as a double, or written with an exponent of 300 or more either way."""
    exponent = re.search(r"[eE]([+-]?[0-9]+)$", text)
    return math.isinf(float(text)) or (exponent is not None and abs(int(exponent[1])) >= 300)


@settings(max_examples=300)
@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(17, 25))
@example(1.7976931348623157e308, 25)
@example(5e-324, 25)
@example(2.0**53 + 2, 17)
def test_long_forms_of_doubles_are_read_exactly(x: float, digits: int) -> None:
    """A double's repr, and the same to 17…25 digits, fixed and with an exponent, and
    as a whole number: each read as `float()` reads it."""
    texts = [repr(x), f"{x:.{digits}e}", f"{x:.{digits}g}", str(int(x))]
    values = jsonarrow.JsonBlocks(("a", "b")).values(
        as_block([(text, text) for text in texts]), [1])
    if values is None:
        assert any(extreme(text) for text in texts)
    else:
        assert bits(values[:, 0]) == bits([float(text) for text in texts])


def test_blocks_of_other_shapes_are_left() -> None:
    """What the module's doc promises to leave, one line each."""
    blocks = jsonarrow.JsonBlocks(("a", "b"))
    good = b'{"a":1,"b":2}\n'
    assert blocks.values(good * 3, [0, 1]) is not None
    for bad in (b'{"a":1,"b":2}\n\n', b' {"a":1,"b":2}\n', b'{"a":1,"b":2} {"a":1,"b":2}\n',
                b'{"a":1,"b":2} {"a":1,"b":2}\n\n' + good,
                b'{"a":null,"b":2}\n', b'{"a":NaN,"b":2}\n', b'{"\\u0061":1,"b":2}\n'):
        assert blocks.values(good + bad, [0, 1]) is None, bad
