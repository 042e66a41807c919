"""The fast JSON paths give exactly what `json`/`float` give, or step aside to the strict
readers, whose messages (file:line) stay the same."""

from __future__ import annotations

import json
import math
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bcecli.errors import InputError
from bcecli.readers import jsondoc, jsonlines, jsonnumbers, open_input, read_input
from bcecli.readers.base import Reader
from bcecli.readers.jsonstream import StreamedArrays
from tests.helpers import json_document

NUMBER = r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?"
numbers = st.one_of(
    st.from_regex(NUMBER, fullmatch=True),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-2**70, 2**70).map(str),
    st.sampled_from(["-0", "-0.0", "0.0", "1e308", "-1e308", "1e309", "5e-324", "2.5e-324",
                     "2.2250738585072011e-308", "9007199254740993", "9007199254740993.5",
                     "0.30000000000000004", "123456789012345678", "1234567890123456789",
                     "0.1000000000000000055511151231257827", "1E5", "1e+5", "0.5e-0"]))
# Texts of number-like bytes: some JSON numbers, most not (`01`, `.5`, `1.`, `+1`, `--1`).
texts = st.text(st.sampled_from("0123456789.-+eE "), min_size=1, max_size=12)
slow = settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])


def bits(values: Any) -> bytes:
    return np.asarray(values, dtype=np.float64).tobytes()


def spans(items: list[str], separator: str = ",") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    text = separator.join(items).encode()
    buf = np.frombuffer(text, np.uint8)
    stops = np.cumsum([len(item.encode()) + len(separator) for item in items]) - len(separator)
    return buf, stops - [len(item.encode()) for item in items], stops


def is_json_number(text: str) -> bool:
    try:
        value = json.loads(text, parse_constant=lambda _: None)
    except json.JSONDecodeError:
        return False
    return isinstance(value, int | float) and not isinstance(value, bool)


@settings(max_examples=500)
@given(st.lists(numbers, min_size=1, max_size=30))
@example(["0.6369616873214543", "0.016527635528529094", "5.488135039273248e-05"])
def test_numbers_are_floats_bit_for_bit(items: list[str]) -> None:
    values = jsonnumbers.json_numbers(*spans(items))
    assert values is not None
    assert bits(values) == bits([float(item) for item in items])


@settings(max_examples=500)
@given(st.lists(texts, min_size=1, max_size=8))
@example(["01", ".5", "1.", "+1", "-", "1e", "1 2", "-01.5", "0e+1"])
@example([" 7 ", "-0", "0.5 ", "\u0660"])
def test_only_json_numbers_are_read(items: list[str]) -> None:
    values = jsonnumbers.json_numbers(*spans(items))
    valid = all(is_json_number(item) for item in items)
    assert (values is not None) == valid, items
    assert jsonnumbers.are_json_numbers(*spans(items)) == valid
    if values is not None:
        assert bits(values) == bits([float(item) for item in items])


def reader_of(path: Path, stack: ExitStack) -> Any:
    return read_input(open_input(str(path), stack), stack)


def read_all(reader: Reader, columns: list[int]) -> np.ndarray:
    blocks = [block.values for block in reader.blocks(columns)]
    return np.concatenate(blocks) if blocks else np.empty((0, len(columns)))


def strict_jsonl(path: Path, stack: ExitStack, columns: list[int]) -> np.ndarray:
    """The same file read by the strict parser alone (the template disabled)."""
    reader = reader_of(path, stack)
    reader.template = None
    return read_all(reader, columns)


def jsonl_cell(item: str | None) -> str:
    return "null" if item is None else item


@slow
@given(st.lists(st.tuples(numbers, numbers, numbers), min_size=1, max_size=40),
       st.sampled_from(['{{"id":{},"prediction":{},"label":{}}}', '{{"a": {}, "b": {}, "c": {}}}',
                        "[{},{},{}]", "[{}, {}, {}]"]),
       st.booleans(), st.integers(0, 40))
def test_json_lines_fast_path_matches_json(tmp_path: Path, rows: list[tuple[str, str, str]],
                                           template: str, crlf: bool, odd: int) -> None:
    """Lines of one template (maybe one odd line: other spacing, a null, a string id)
    read as json.loads reads each line."""
    lines = [template.format(*row) for row in rows]
    if odd < len(lines):
        lines[odd] = lines[odd].replace(",", " ,", 1) if odd % 3 == 0 else \
            template.format(rows[odd][0], "null", rows[odd][2]) if odd % 3 == 1 else \
            template.format('"id"', *rows[odd][1:])
    path = tmp_path / "d.jsonl"
    path.write_bytes(("\r\n" if crlf else "\n").join(lines).encode() + b"\n")
    expected = []
    for line in lines:
        value = json.loads(line, parse_int=float)
        cells = list(value.values()) if isinstance(value, dict) else value
        expected.append([math.nan if cell is None else float(cell) for cell in cells[1:]])
    with ExitStack() as stack:  # the ids (column 0, sometimes text) are not read
        got = read_all(reader_of(path, stack), [2, 1])
        assert bits(got) == bits(np.array(expected)[:, [1, 0]])
        assert bits(got) == bits(strict_jsonl(path, stack, [2, 1]))


def test_json_lines_takes_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("".join(f'{{"id":{i},"p":{i / 7!r},"y":{i % 2}}}\n' for i in range(5000)))
    monkeypatch.setattr(jsonlines, "parse_json_lines", None)  # the strict parser is not called
    with ExitStack() as stack:
        got = read_all(reader_of(path, stack), [1, 2])
    assert bits(got) == bits([[i / 7, i % 2] for i in range(5000)])


@pytest.mark.parametrize("bad", ['"x"', "01", "1.", "true", "NaN", "[1]", '0.5,"id":3', ""])
def test_json_lines_errors_are_the_strict_ones(tmp_path: Path, bad: str) -> None:
    lines = [f'{{"id":{i},"p":0.{i + 1},"y":{i % 2}}}' for i in range(3000)]
    lines[2500] = f'{{"id":7,"p":{bad},"y":1}}'
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines) + "\n")
    results: list[bytes | str] = []
    with ExitStack() as stack:
        for strict in (False, True):
            reader = reader_of(path, stack)
            if strict:
                reader.template = None
            try:
                results.append(bits(read_all(reader, [1, 2])))
            except InputError as e:
                results.append(str(e))
    assert results[0] == results[1]


documents = st.lists(numbers, min_size=1, max_size=30).flatmap(lambda p: st.tuples(
    st.just(p), st.lists(st.sampled_from(["0", "1", "null", "1.0", "true"]),
                         min_size=len(p), max_size=len(p))))


@slow
@given(documents, st.sampled_from(["keys", "columns", "flat"]), st.sampled_from([None, 0, 2]))
def test_streamed_documents_match_the_whole_document(
        tmp_path: Path, document: tuple[list[str], list[str]], shape: str,
        indent: int | None) -> None:
    path = tmp_path / "d.json"
    path.write_text(json_document(document, shape, indent))
    with ExitStack() as stack:
        streamed = reader_of(path, stack)
        whole = jsondoc.read_json(open_input(str(path), stack))
    pairs: list[tuple[Reader, Reader]]
    if isinstance(streamed, dict):
        assert isinstance(whole, dict)
        pairs = list(zip(streamed.values(), whole.values(), strict=True))
    else:
        assert isinstance(whole, Reader)
        pairs = [(streamed, whole)]
    for fast, strict in pairs:
        assert isinstance(fast, StreamedArrays)
        assert not isinstance(strict, StreamedArrays)
        assert (fast.names, fast.width) == (strict.names, strict.width)
        columns = list(range(fast.width))
        assert bits(read_all(fast, columns)) == bits(read_all(strict, columns))
        for row in (0, len(document[0]) // 2, len(document[0]) - 1):
            block = next(strict.blocks(columns))
            assert fast.where(block, row) == strict.where(block, row)


@pytest.mark.parametrize("bad", ['"x"', "01", "1.", "[1]", "{}", "", "1 2", "-"])
def test_document_errors_are_the_whole_documents(tmp_path: Path, bad: str) -> None:
    values = [str(i / 3) for i in range(20000)]
    values[15000] = bad
    path = tmp_path / "d.json"
    path.write_text('{"predictions": [\n' + ",\n".join(values) + '],\n "targets": [1]}')
    messages = []
    with ExitStack() as stack:
        for read in (read_input, lambda data, _: jsondoc.read_json(data)):
            try:
                readers = read(open_input(str(path), stack), stack)
                assert isinstance(readers, dict)
                read_all(readers["predictions"], [0])
            except InputError as e:
                messages.append(str(e))
    assert len(messages) == 2 and messages[0] == messages[1]
    if bad != "{}":  # (an empty object holds no scalar: the lines counted are the next's)
        assert f"{path}:15002" in messages[0]


def test_a_big_documents_error_names_the_line(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    values = [str(i / 3) for i in range(2000)]
    values[1500] = "01"
    path = tmp_path / "d.json"
    path.write_text("[\n" + ",\n".join(values) + "\n]")
    monkeypatch.setattr(jsondoc, "MAX_DOCUMENT", 100)  # too big to be read whole
    with ExitStack() as stack, pytest.raises(InputError) as error:
        read_all(reader_of(path, stack), [0])
    assert error.value.where == f"{path}:1502"
    assert "invalid JSON" in str(error.value)


def test_duplicate_keys_and_other_shapes_are_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{"predictions": [0.5],\n"predictions": [0.25], "targets": [1]}')
    with ExitStack() as stack, pytest.raises(InputError, match="duplicate key 'predictions'"):
        reader_of(path, stack)
    path.write_text('{"index": [0, 1], "data": [0.5, 0.25]}')  # a pandas Series, split orient
    with ExitStack() as stack:
        assert not isinstance(reader_of(path, stack), StreamedArrays)


def test_a_plain_document_is_streamed(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"predictions": [i / 9 for i in range(30000)],
                                "targets": [i % 2 for i in range(30000)]}))
    monkeypatch.setattr(jsondoc, "read_json", None)
    with ExitStack() as stack:
        readers = reader_of(path, stack)
        got = read_all(readers["predictions"], [0])
    assert bits(got[:, 0]) == bits([i / 9 for i in range(30000)])
