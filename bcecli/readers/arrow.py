"""The optional `arrow` extra: pyarrow's CSV and JSON parsers, and Parquet/Feather/IPC.

Used only when pyarrow is installed. For CSV it parses the blocks of whole lines
that bce's own reader cuts (after it has read the header), on a thread each
(`TextReader.fast`), for inputs where that pays off: plain files of at least
`MIN_BYTES`, and streams (stdin, compressed files) whose first block is full.
A block it does not take as it is (a quote, a `#` comment, true/false, a blank
line or cell, a missing value, NaN, a row that is not one line) is parsed by
bce's own paths instead, which then give the same numbers or the same message
they always give: both are held to one corpus in the tests.
"""

from __future__ import annotations

import importlib.util
import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from itertools import accumulate
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from bcecli.core import FloatArray
from bcecli.errors import InputError
from bcecli.readers import base
from bcecli.readers.base import (
    MAX_LINE,
    Block,
    Input,
    Reader,
    line_count,
    parsing_threads,
    ragged,
)
from bcecli.readers.cells import parse_text_number

if TYPE_CHECKING:
    from concurrent.futures import Executor

MIN_BYTES = 1 << 23  # below 8 MiB, importing pyarrow costs more than it saves
PARQUET_BUFFER = 1 << 20  # bytes of a column chunk read at a time
# Values a record batch of list columns: while one is decoded, Parquet's readers hold tens
# of bytes a value, so bigger batches push the peak memory past 150 MiB.
TABLE_VALUES = 1 << 16
MAX_IN_MEMORY = 1 << 25  # the most read of a Parquet, Feather or Arrow file from a stream
EXACT_INTEGERS = 1 << 53  # every integer up to this is a float64 exactly
# The only bytes of a piece of a flat array of JSON numbers pyarrow's JSON parser is given.


def available() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


class CsvBlocks:
    """pyarrow's CSV parser for blocks of whole lines of `width` fields, without a header."""

    def __init__(self, width: int, delimiter: str):
        import pyarrow as pa
        import pyarrow.csv as pc

        self.pa, self.pc = pa, pc
        names = [f"c{i}" for i in range(width)]
        # One block of pyarrow's for each of bce's, parsed on the caller's thread.
        self.read_options = pc.ReadOptions(column_names=names, use_threads=False,
                                           block_size=MAX_LINE)
        self.parse_options = pc.ParseOptions(delimiter=delimiter, ignore_empty_lines=False)
        self.convert: dict[tuple[int, ...], Any] = {}

    def values(self, chunk: bytes, columns: Sequence[int]) -> FloatArray | None:
        """The selected columns of a block of lines as float64 (n, k), or None where bce's
        own parser is to decide (see the module's doc)."""
        # Quotes and comments are CSV rules pyarrow bends; bytes past ASCII may not be UTF-8.
        if b'"' in chunk or b"#" in chunk or not chunk.isascii():
            return None
        wanted = tuple(sorted(set(columns)))
        if wanted not in self.convert:
            names = [f"c{i}" for i in wanted]
            self.convert[wanted] = self.pc.ConvertOptions(
                include_columns=names, column_types=dict.fromkeys(names, self.pa.float64()))
        try:
            table = self.pc.read_csv(self.pa.py_buffer(chunk), read_options=self.read_options,
                                     parse_options=self.parse_options,
                                     convert_options=self.convert[wanted])
        except self.pa.ArrowInvalid:
            return None
        if table.num_rows != line_count(chunk) or any(c.null_count for c in table.columns):
            return None  # a line that is no row (a lone CR), a blank line or cell, NA
        parsed = np.column_stack([c.to_numpy() for c in table.columns])
        if np.isnan(parsed).any():  # NaN is a missing value, which bce's reader words
            return None
        selected: FloatArray = parsed[:, [wanted.index(c) for c in columns]]
        return selected


class ArrowTableReader(Reader):
    """Parquet, Feather or Arrow IPC: named columns, read a record batch at a time.

    A list column (polars' `pl.List`, pandas' cells of lists or arrays, Arrow's
    `fixed_size_list`) holds one list a row, each as long as the first that is not
    null: C values, one per class (multi-label).

    Parquet is read a row group at a time, and no block spans two: a piece of
    `--workers` that is some of a file's row groups (`groups`) is read in the blocks
    one process reads them in, its rows numbered as in the whole file.
    """

    def __init__(self, data: Input, groups: range | None = None):
        import pyarrow as pa

        source = data.name
        path = data.plain_file if data.stream.seekable() else None  # a named pipe is no file
        try:
            # Read from its end: a stream (compressed, a pipe) is read whole, bounded.
            self.batches = self.open(path or data.ranged or data.read_all(
                MAX_IN_MEMORY, "a Parquet, Feather or Arrow file that is compressed or from a "
                "pipe", "decompress it into a file first (Parquet compresses its own columns)"))
            # Parquet's own schema names the leaves of nested columns; the Arrow one, columns.
            self.schema = getattr(self.batches, "schema_arrow", self.batches.schema)
        except (pa.ArrowInvalid, OSError) as e:
            raise invalid(e, source) from None
        super().__init__(source, tuple(self.schema.names), len(self.schema.names), False)
        sizes = self.group_rows() or []
        if groups is not None and not (len(groups) and groups.stop <= len(sizes)):
            raise InputError(f"has no row groups {groups.start + 1} to {groups.stop} (it "
                             f"has {len(sizes)}): it changed while it was read", where=source)
        self.groups = groups if groups is not None else range(len(sizes))
        self.first_row = sum(sizes[:self.groups.start])

    def group_rows(self) -> list[int] | None:
        """The rows of each row group of a Parquet file (an Arrow file has none)."""
        metadata = getattr(self.batches, "metadata", None)
        if not hasattr(self.batches, "iter_batches") or metadata is None:
            return None
        return [metadata.row_group(k).num_rows for k in range(metadata.num_row_groups)]

    @staticmethod
    def open(data: str | IO[bytes] | bytearray) -> Any:
        import pyarrow as pa
        import pyarrow.ipc
        import pyarrow.parquet as pq

        handle = pa.BufferReader(data) if isinstance(data, bytearray) else data
        try:
            # Pages read as they are decoded: pre-buffering holds whole column chunks.
            return pq.ParquetFile(handle, pre_buffer=False, buffer_size=PARQUET_BUFFER)
        except pa.ArrowInvalid:
            # Read, not mapped: a mapped file's pages would stay in memory once read.
            return pyarrow.ipc.open_file(pa.OSFile(data) if isinstance(data, str) else handle,
                                         options=pyarrow.ipc.IpcReadOptions(use_threads=False))

    def size(self, column: int) -> int | None:
        """A list column's length, from its type (`fixed_size_list`) or its first list
        that is not null (read only when a role picks the column)."""
        kind = self.schema.field(column).type
        if column not in self.lists and is_list(kind):
            self.lists[column] = kind.list_size if hasattr(kind, "list_size") else \
                self.first_length(column)
            if not self.lists[column]:
                raise InputError(f"the lists in column {self.column_label(column)} are empty",
                                 where=self.source)
        return self.lists.get(column)

    def first_length(self, column: int) -> int:
        """The length of a list column's first list that is not null, read in small
        batches (a batch of long lists costs memory)."""
        import pyarrow.compute as pc

        rows = 0
        for batch in self.batches_of([self.schema.names[column]], 16):
            rows += batch.num_rows
            lengths = pc.list_value_length(batch.column(0)).drop_null()
            if len(lengths):
                return int(lengths[0].as_py())
        raise InputError(f"column {self.column_label(column)} holds no list, only nulls" if rows
                         else "has no rows", where=self.source)

    def batches_of(self, names: list[str], rows: int, groups: range | None = None
                   ) -> Iterator[Any]:
        """Record batches of the named columns, at most `rows` rows each, none across two
        row groups (of `groups`, else of the file)."""
        import pyarrow as pa

        try:
            if hasattr(self.batches, "iter_batches"):
                for group in range(self.batches.num_row_groups) if groups is None else groups:
                    yield from self.batches.iter_batches(batch_size=rows, columns=names,
                                                         row_groups=[group], use_threads=False)
                return
            for i in range(self.batches.num_record_batches):
                batch = self.batches.get_batch(i).select(names)
                for start in range(0, batch.num_rows, rows):
                    yield batch.slice(start, rows)
        except (pa.ArrowInvalid, OSError) as e:  # a damaged page or batch
            raise invalid(e, self.source) from None

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        """Blocks of about BLOCK_ROWS values: a record batch each, or with list columns
        joined from smaller ones (TABLE_VALUES: what bounds the memory of decoding)."""
        names = [self.names[i] for i in columns] if self.names else []
        widths = self.widths(columns)
        values = sum(widths) if widths else len(columns)
        block_rows = max(1, base.BLOCK_ROWS // max(1, values))
        pending: list[Block] = []
        start = self.first_row
        ends = set(accumulate(self.group_rows() or []))  # where a block must end
        batch_rows = block_rows if widths is None else max(1, TABLE_VALUES // max(1, values))
        # Numeric columns are decoded on a thread while the run works on the block before
        # (list columns are not: their decoding is what bounds the memory).
        with parsing_threads(widths is None, 1) as pool:
            batches = self.batches_of(names, batch_rows, self.groups)
            for batch in batches if pool is None else read_ahead(batches, pool):
                pending.append(self.batch_block(batch, columns, Block(
                    np.empty((batch.num_rows, values)), start, None, widths=widths)))
                start += batch.num_rows
                if start - pending[0].start >= block_rows or start in ends:
                    yield joined(pending)
                    pending = []
        if pending:
            yield joined(pending)

    def batch_block(self, batch: Any, columns: Sequence[int], block: Block) -> Block:
        """One record batch's columns as floats, into an empty block of its rows."""
        at = 0
        for column, index in zip(batch.columns, columns, strict=True):
            size = self.size(index)
            if size is None:
                block.values[:, at] = self.numbers(column, index, partial(self.where, block))
            else:
                block.values[:, at:at + size] = self.list_numbers(column, index, size, block)
            at += size or 1
        return block

    def list_numbers(self, column: Any, index: int, size: int, block: Block) -> FloatArray:
        """A list column of a batch as floats (n, size): a null list is a row of missing
        values; a list of another length is an error at its row."""
        import pyarrow.compute as pc

        valid = column.is_valid().to_numpy(zero_copy_only=False)
        lengths = pc.list_value_length(column).fill_null(size).to_numpy(zero_copy_only=False)
        if (lengths != size).any():
            row = int(np.argmax(lengths != size))
            raise InputError(ragged(self.column_label(index), int(lengths[row]), size),
                             where=self.where(block, row))
        rows = np.flatnonzero(valid)
        values = self.numbers(pc.list_flatten(column), index,
                              lambda k: self.where(block, int(rows[k // size])), column.type)
        out = np.full((len(valid), size), math.nan)
        out[rows] = values.reshape(-1, size)
        return out

    def numbers(self, column: Any, index: int, where: Callable[[int], str],
                holds: Any = None) -> Any:
        """One column of a batch (or a list column's values, whose type is `holds`) as
        floats: numbers (a null is NaN, a missing value, which the pipeline reports or
        skips), class labels, or ids (integers exactly)."""
        import pyarrow as pa

        if pa.types.is_dictionary(column.type):  # pandas' categoricals
            column = column.dictionary_decode()
        codec = self.codecs.get(index)
        label = self.column_label(index)
        if is_text(column.type):
            cells = [math.nan if cell is None else cell for cell in column.to_pylist()]
            if codec is not None and codec.active:
                return codec.cells(cells, parse_float, repr, label, where)
            hint = codec.hint(cells, parse_float) if codec is not None else None
            raise InputError(f"column {label} holds {holds or column.type}, not numbers",
                             where=self.source, hint=hint)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
                or pa.types.is_boolean(column.type)):
            raise InputError(f"column {label} holds {holds or column.type}, not numbers",
                             where=self.source)
        if codec is not None and codec.active:
            exact = column if pa.types.is_integer(column.type) and not column.null_count \
                else column.cast(pa.float64())
            return codec.numbers(exact.to_numpy(zero_copy_only=False), where, label)
        return floats(column)


def floats(column: Any) -> Any:
    """A numeric column as floats (a null is NaN), without `pyarrow.compute` where numpy
    converts alike (importing it costs more than reading a million rows): floats widened
    exactly, and integers of up to 2**53 (beyond, pyarrow's cast refuses them)."""
    import pyarrow as pa

    if pa.types.is_floating(column.type):
        return column.to_numpy(zero_copy_only=False)
    if pa.types.is_integer(column.type) and not column.null_count:
        ints = column.to_numpy()
        if not len(ints) or (ints.min() >= -EXACT_INTEGERS and ints.max() <= EXACT_INTEGERS):
            return ints
    return column.cast(pa.float64()).to_numpy(zero_copy_only=False)


def invalid(error: Exception, source: str) -> InputError:
    """pyarrow's word on a file it cannot read (at its start, or a damaged page later), on
    one line."""
    return InputError(f"not a valid Parquet, Feather or Arrow file "
                      f"({' '.join(str(error).split())})", where=source)


def read_ahead(batches: Iterator[Any], pool: Executor) -> Iterator[Any]:
    """The batches, the next two read and decoded on the pool's one thread (pyarrow does
    it without the GIL) while one is used; a failure is raised in its turn."""
    queued = deque(pool.submit(next, batches, None) for _ in range(2))
    try:
        while (batch := queued.popleft().result()) is not None:
            queued.append(pool.submit(next, batches, None))
            yield batch
    finally:
        for future in queued:  # not read for nothing (an error elsewhere)
            future.cancel()


def joined(blocks: list[Block]) -> Block:
    """Consecutive blocks as one."""
    if len(blocks) == 1:
        return blocks[0]
    return Block(np.concatenate([block.values for block in blocks]), blocks[0].start, None,
                 widths=blocks[0].widths)


def is_list(kind: Any) -> bool:
    """A list type, whichever way the writer laid it out (polars writes `large_list`)."""
    import pyarrow as pa

    checks = ("is_list", "is_large_list", "is_fixed_size_list", "is_list_view",
              "is_large_list_view")
    return any(getattr(pa.types, check, lambda _: False)(kind) for check in checks)


def is_text(kind: Any) -> bool:
    """A string column (`string_view` is what newer Arrow writers may use)."""
    import pyarrow as pa

    view = getattr(pa.types, "is_string_view", None)
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or (view is not None and view(kind)))


def parse_float(cell: Any) -> float | None:
    """A Parquet cell: NaN for a null, else a text cell's number (None if it is none)."""
    return cell if isinstance(cell, float) else parse_text_number(cell)
