"""The optional `arrow` extra: pyarrow's multi-threaded CSV parser, and Parquet/Feather/IPC.

Used only when pyarrow is installed. For CSV it takes over where it pays off:
plain files of at least `MIN_BYTES` whose first block is not fixed-width (that
case our own parser does faster) and that have no `#` comment line. If pyarrow
finds anything it does not like (true/false, an empty cell or line, a missing
value), the read continues from the same row with bce's own reader, which then
gives the same numbers or the same message it always gives: both readers are
held to one corpus in the tests.
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np

from bcecli.core import FloatArray
from bcecli.errors import InputError
from bcecli.readers.base import BLOCK_ROWS, Block, Input, Reader, ragged
from bcecli.readers.cells import parse_text_number

COMMENT = re.compile(rb"\n[ \t]*#")
MIN_BYTES = 1 << 23  # below 8 MiB, importing pyarrow costs more than it saves
CSV_BLOCK = 1 << 20  # larger blocks parse a little faster but double the peak memory
PARQUET_BUFFER = 1 << 20  # bytes of a column chunk read at a time
# Values a record batch of list columns: while one is decoded, Parquet's readers hold tens
# of bytes a value, so bigger batches push the peak memory past 150 MiB.
TABLE_VALUES = 1 << 16
MAX_IN_MEMORY = 1 << 25  # the most read of a Parquet, Feather or Arrow file from a stream
EXACT_INTEGERS = 1 << 53  # every integer up to this is a float64 exactly


def available() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


class ArrowCsvReader(Reader):
    """A delimited file parsed by pyarrow, with bce's reader as the fallback."""

    def __init__(self, text: Reader, path: str, delimiter: str, fallback: Callable[[], Reader]):
        super().__init__(text.source, text.names, text.width, False)
        self.text = text  # what bce's reader found in the first lines: header, width
        self.path = path
        self.delimiter = delimiter
        self.fallback = fallback
        self.header_kind = text.header_kind

    def settle_header(self, header: bool) -> None:
        self.text.settle_header(header)
        self.names, self.header_kind = self.text.names, self.text.header_kind

    @property
    def skip_lines(self) -> int:
        """The lines before the first row: the header and any before it."""
        return self.text.first_line - 1

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        import pyarrow as pa
        import pyarrow.csv as pc

        wanted = [f"c{i}" for i in columns]
        start = 0
        try:
            reader = pc.open_csv(
                self.path,
                read_options=pc.ReadOptions(column_names=[f"c{i}" for i in range(self.width)],
                                            skip_rows=self.skip_lines, block_size=CSV_BLOCK),
                parse_options=pc.ParseOptions(delimiter=self.delimiter, ignore_empty_lines=False),
                convert_options=pc.ConvertOptions(
                    include_columns=wanted, column_types=dict.fromkeys(wanted, pa.float64()),
                    strings_can_be_null=False, quoted_strings_can_be_null=False))
            for batch in reader:
                # A blank line or a missing value: bce's reader takes over.
                if any(batch.column(name).null_count for name in wanted):
                    break
                values = np.column_stack([batch.column(name).to_numpy(zero_copy_only=False)
                                          for name in wanted])
                # Until then every line was a row: the line number follows from the row's.
                block = Block(values, start, self.skip_lines + 1 + start)
                if not self.exact(block, columns):
                    break  # ids whose digits a float loses: read as text
                yield self.decoded(block, columns)
                start += len(values)
            else:
                if start:
                    return
        except pa.ArrowInvalid:
            pass
        # From the first row pyarrow could not take on, bce's own reader carries on (and
        # says what is wrong, if anything is); an input with no rows it explains too.
        yield from self.rest(columns, start)

    def rest(self, columns: Sequence[int], start: int) -> Iterator[Block]:
        """The rows from `start` on, read by bce's own reader."""
        fallback = self.fallback()
        fallback.codecs = self.codecs
        yield from skip_rows(fallback.blocks(columns), start)


def has_comment_lines(path: str) -> bool:
    """Whether any line of a file starts with `#` (after blanks). pyarrow has no notion
    of comments and would read one as a row where its first cell goes unread, so such
    files are left to bce's reader. A scan for the byte, at memory speed."""
    with open(path, "rb") as stream:
        tail = b"\n"
        while block := stream.read(CSV_BLOCK):
            if b"#" in block and COMMENT.search(tail + block):
                return True
            tail = block[-64:]
    return False


def skip_rows(blocks: Iterator[Block], count: int) -> Iterator[Block]:
    """The blocks after the first `count` rows."""
    for block in blocks:
        if count >= len(block.values):
            count -= len(block.values)
            continue
        yield block.take(count, len(block.values)) if count else block
        count = 0


class ArrowTableReader(Reader):
    """Parquet, Feather or Arrow IPC: named columns, read a record batch at a time.

    A list column (polars' `pl.List`, pandas' cells of lists or arrays, Arrow's
    `fixed_size_list`) holds one list a row, each as long as the first that is not
    null: C values, one per class (multi-label).
    """

    def __init__(self, data: Input):
        import pyarrow as pa

        source = data.name
        path = data.plain_file if data.stream.seekable() else None  # a named pipe is no file
        try:
            # Read from its end: a stream (compressed, a pipe) is read whole, bounded.
            self.batches = self.open(path or data.read_all(
                MAX_IN_MEMORY, "a Parquet, Feather or Arrow file that is compressed or from a "
                "pipe", "decompress it into a file first (Parquet compresses its own columns)"))
            # Parquet's own schema names the leaves of nested columns; the Arrow one, columns.
            self.schema = getattr(self.batches, "schema_arrow", self.batches.schema)
        except (pa.ArrowInvalid, OSError) as e:
            raise InputError(f"not a valid Parquet, Feather or Arrow file ({e})",
                             where=source) from None
        super().__init__(source, tuple(self.schema.names), len(self.schema.names), False)

    @staticmethod
    def open(data: str | bytearray) -> Any:
        import pyarrow as pa
        import pyarrow.ipc
        import pyarrow.parquet as pq

        handle = data if isinstance(data, str) else pa.BufferReader(data)
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

    def batches_of(self, names: list[str], rows: int) -> Iterator[Any]:
        """Record batches of the named columns, at most `rows` rows each."""
        if hasattr(self.batches, "iter_batches"):
            yield from self.batches.iter_batches(batch_size=rows, columns=names, use_threads=False)
            return
        for i in range(self.batches.num_record_batches):
            batch = self.batches.get_batch(i).select(names)
            for start in range(0, batch.num_rows, rows):
                yield batch.slice(start, rows)

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        """Blocks of about BLOCK_ROWS values: a record batch each, or with list columns
        joined from smaller ones (TABLE_VALUES: what bounds the memory of decoding)."""
        names = [self.names[i] for i in columns] if self.names else []
        widths = self.widths(columns)
        values = sum(widths) if widths else len(columns)
        block_rows = max(1, BLOCK_ROWS // max(1, values))
        pending: list[Block] = []
        start = 0
        batch_rows = block_rows if widths is None else max(1, TABLE_VALUES // max(1, values))
        for batch in self.batches_of(names, batch_rows):
            pending.append(self.batch_block(batch, columns, Block(
                np.empty((batch.num_rows, values)), start, None, widths=widths)))
            start += batch.num_rows
            if start - pending[0].start >= block_rows:
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
