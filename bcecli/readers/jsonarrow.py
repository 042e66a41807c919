"""The `arrow` extra for JSON Lines: pyarrow's JSON parser on bce's blocks of lines.

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

