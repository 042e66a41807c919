"""Readers: files and stdin in, blocks of numbers out, each row still knowing its line.

`open_input` looks at a path's first bytes once and says what it holds (an
`Input`: name, path, compression, format, stream); `read_input` hands it to the
module of its format, which returns a `Reader` whose `blocks(columns)` yields
the selected columns as float64 blocks of bounded size, so memory does not grow
with the input. JSON documents are read whole (they must be); everything else
streams. Format modules import `base` only; only this module knows them all.
"""

from __future__ import annotations

import io
import os
import sys
import zlib
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Literal, cast

from bcecli.errors import InputError
from bcecli.readers.base import STDIN, Block, Format, Input, Reader, ReadHook
from bcecli.readers.text import TextReader, fixed_width_lines

__all__ = ["STDIN", "Block", "Input", "ReadHook", "Reader", "open_input", "read_input",
           "settle_headers"]

_SUFFIX_FORMATS: dict[str, Format | Literal["text"]] = {
    ".csv": "csv", ".tsv": "tsv", ".txt": "text", ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".npy": "npy",
    ".parquet": "arrow", ".feather": "arrow", ".arrow": "arrow", ".ipc": "arrow",
}
_GZIP = b"\x1f\x8b"


def open_input(path: str, resources: ExitStack, *, input_format: str | None = None,
               stdin: IO[bytes] | None = None) -> Input:
    """Open a path (or `-`) and detect its compression and format, once.

    Gzip is what the bytes say, whatever the name; the format is what the name says
    (less any `.gz`), else what the first bytes say, else delimited text. The file is
    closed by `resources` when the caller is done with it.
    """
    name = "<stdin>" if path == STDIN else path
    stream: IO[bytes] = (stdin or sys.stdin.buffer) if path == STDIN else \
        resources.enter_context(open_file(path))
    if not hasattr(stream, "peek"):  # sniffing looks ahead without consuming
        stream = cast(IO[bytes], io.BufferedReader(cast(Any, stream)))
    compression: Literal["gzip"] | None = None
    if peek(stream, 2) == _GZIP:  # the bytes decide; a `.gz` name alone does not
        import gzip

        stream = cast(IO[bytes], resources.enter_context(gzip.GzipFile(fileobj=stream)))
        compression = "gzip"
    suffixes = path.lower().removesuffix(".gz")
    named = cast(Format, input_format) if path == STDIN and input_format else \
        _SUFFIX_FORMATS.get(Path(suffixes).suffix)
    fmt = sniff_format(stream, named is None) if named is None or named == "text" else named
    return Input(name, None if path == STDIN else path, stream, compression, fmt)


def sniff_format(stream: IO[bytes], binary: bool) -> Format:
    """The format the first bytes show: NumPy or Arrow magic (when `binary` formats are
    possible), JSON's `[` or `{`, else delimited text."""
    head = peek(stream, 6)
    if binary and head == b"\x93NUMPY":
        return "npy"
    if binary and head.startswith((b"PAR1", b"ARROW1")):
        return "arrow"
    return "json" if peek(stream, 4096).lstrip()[:1] in (b"[", b"{") else "csv"


def read_input(data: Input, resources: ExitStack, *, header: bool | None = None,
               on_read: ReadHook | None = None) -> Reader | dict[str, Reader]:
    """The reader of a detected input; for a JSON object, one reader per key."""
    if data.format == "npy":
        from bcecli.readers.npy import read_npy

        return read_npy(data)
    if data.format == "arrow":
        return arrow_table(data)
    if data.format == "json":
        from bcecli.readers.jsondoc import read_json

        return read_json(data)
    if data.format == "jsonl":
        from bcecli.readers.jsonlines import JsonLinesReader

        return JsonLinesReader(data, on_read)
    text = TextReader(data, header, on_read)
    return with_arrow(text, data, resources) or text


def arrow_table(data: Input) -> Reader:
    """Parquet, Feather or Arrow IPC, which need the `arrow` extra."""
    from bcecli.readers import arrow

    if not arrow.available():
        raise InputError("reading Parquet, Feather or Arrow files needs pyarrow: "
                         "pip install 'bcecli[arrow]'", where=data.name)
    return arrow.ArrowTableReader(data)


def with_arrow(text: TextReader, data: Input, resources: ExitStack) -> Reader | None:
    """pyarrow's parser for a large plain CSV/TSV file that is not fixed-width, if installed."""
    # One column has no delimiter to sniff; pyarrow then needs one that does not occur.
    delimiter = text.delimiter or ("," if text.width == 1 else None)
    path = data.plain_file
    if path is None or delimiter is None:
        return None
    from bcecli.readers import arrow

    if (os.path.getsize(path) < arrow.MIN_BYTES or fixed_width_lines(text.pending)
            or not arrow.available() or arrow.has_comment_lines(path)):
        return None

    def fallback() -> Reader:
        again = Input(data.name, path, resources.enter_context(open_file(path)), None,
                      data.format)
        return TextReader(again, text.names is not None, None)

    return arrow.ArrowCsvReader(text, path, delimiter, fallback)


def settle_headers(readers: list[Reader]) -> None:
    """A first row `0` (or `0,1`) over whole numbers is pandas' header when another input
    of the run has one (pandas wrote both), else data."""
    pandas = any(reader.header_kind == "positions" for reader in readers)
    for reader in readers:
        if reader.header_kind == "maybe":
            reader.settle_header(pandas)


def open_file(path: str) -> IO[bytes]:
    try:
        if os.path.isdir(path):
            raise IsADirectoryError
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError("no such file", where=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", where=path) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", where=path) from None


def peek(stream: IO[bytes], size: int) -> bytes:
    """The next bytes of a buffered stream without consuming them."""
    try:
        data: bytes = stream.peek(size)  # type: ignore[attr-defined]
    except (OSError, EOFError, zlib.error):  # a broken stream: the reader will say so
        return b""
    return data[:size]
