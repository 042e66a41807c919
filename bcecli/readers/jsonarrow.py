"""The `arrow` extra for JSON: pyarrow's JSON parser on bce's blocks.

`JsonNumbers` reads the number text of a big JSON document's flat arrays;
`JsonBlocks` reads JSON Lines, as follows.

Used only when pyarrow is installed, for inputs as large as for CSV
(`readers.with_json_arrow`) whose first line is an object of numbers. pyarrow
(RapidJSON, then an exactly rounding number parser, in C++) lets go of the GIL,
so the blocks that `JsonLinesReader` cuts are parsed on a thread per core,
ahead of the one being used, as pyarrow's CSV parser is for CSV. It is given
the first line's keys as float64 columns and takes a block only where it reads
it as bce does: every line an object of those keys holding numbers, one object
a line, each key once. Anything else (a null, a missing or extra key,
true/false, a string, a nested value, NaN or Infinity, a blank or comment line,
a line that starts with a blank, an escape, bytes past ASCII) is left to bce's
own paths, which give their numbers or their message; the tests hold both to
one corpus and to `float()` of the numbers' text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bcecli.core import FloatArray
from bcecli.readers.base import MAX_LINE

JSON_NUMBER_BYTES = b"0123456789+-.eE, \t\r\n"
_ONE_LINE = bytes.maketrans(b"\r\n", b"  ")


class JsonBlocks:
    """pyarrow's JSON parser for blocks of lines that are objects with the keys `names`."""

    def __init__(self, names: Sequence[str]):
        import pyarrow as pa
        import pyarrow.json as pj

        self.pa, self.pj = pa, pj
        # One block of pyarrow's for each of bce's, parsed on the caller's thread.
        self.read_options = pj.ReadOptions(use_threads=False, block_size=MAX_LINE)
        # An unknown key is an error, so is a key given twice; a missing one is a null.
        self.parse_options = pj.ParseOptions(
            explicit_schema=pa.schema([(name, pa.float64()) for name in names]),
            unexpected_field_behavior="error")

    def values(self, chunk: bytes, columns: Sequence[int]) -> FloatArray | None:
        """The selected fields of a block of lines as float64 (n, k), or None where bce's
        own paths are to decide (see the module's doc)."""
        # Escapes and bytes past ASCII are for `json` (it decodes and checks them itself).
        if not chunk.startswith(b"{") or b"\\" in chunk or not chunk.isascii():
            return None
        # Every line starts an object (no blank, comment or indented line), and as many
        # rows as lines means one object a line: pyarrow reads `{..} {..}` as two rows.
        buf = np.frombuffer(chunk, np.uint8)
        starts = np.flatnonzero(buf == 10) + 1
        starts = starts[:-1] if chunk.endswith(b"\n") else starts
        if not (buf[starts] == ord("{")).all():
            return None
        lines = len(starts) + 1
        try:
            table = self.pj.read_json(self.pa.py_buffer(chunk), read_options=self.read_options,
                                      parse_options=self.parse_options)
        except self.pa.ArrowInvalid:
            return None
        if table.num_rows != lines or any(column.null_count for column in table.columns):
            return None  # a missing key or a null (the strict path words which)
        parsed = np.column_stack([column.to_numpy() for column in table.columns])
        # pyarrow takes NaN, Inf and Infinity, in any field; `json` refuses Inf
        if not np.isfinite(parsed).all():
            return None
        selected: FloatArray = parsed[:, list(columns)]
        return selected


class JsonNumbers:
    """pyarrow's JSON parser for a piece of a flat array's text (`1, 2.5, ...`, no
    brackets), as `float(text)` reads each number, or None where bce's own paths are to
    decide: RapidJSON holds the text to JSON's number grammar (no `01`, `.5`, `1.`, `+1`)
    and Arrow reads each number correctly rounded, without the GIL (so pieces can be read
    on threads). Any other byte (NaN, Infinity, null, true, false) is left to bce, as is
    a number out of a double's range (which RapidJSON refuses)."""

    def __init__(self) -> None:
        import pyarrow as pa
        import pyarrow.json as pj

        self.pa, self.pj = pa, pj
        # malloc's pool: mimalloc's keeps what each thread's pieces took (40 MiB more)
        self.pool = pa.system_memory_pool()
        self.parse_options = pj.ParseOptions(
            explicit_schema=pa.schema([("v", pa.list_(pa.float64()))]))

    def __call__(self, piece: bytes) -> FloatArray | None:
        if piece.translate(None, JSON_NUMBER_BYTES):  # a byte no number, comma or blank has
            return None
        # A record of one line (a blank is a blank wherever it is in a flat array).
        if b"\n" in piece or b"\r" in piece:
            piece = piece.translate(_ONE_LINE)
        record = b'{"v":[' + piece + b"]}"
        try:
            table = self.pj.read_json(
                self.pa.py_buffer(record), parse_options=self.parse_options,
                read_options=self.pj.ReadOptions(use_threads=False, block_size=len(record) + 1),
                memory_pool=self.pool)
        except self.pa.ArrowException:
            return None
        lists = table.column(0)
        if lists.num_chunks != 1 or len(lists) != 1:
            return None
        values: FloatArray = lists.chunk(0).flatten().to_numpy()
        return values
