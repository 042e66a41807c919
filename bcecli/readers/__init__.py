"""Readers: files and stdin in, blocks of numbers out, each row still knowing its line.

`open_input` looks at a path's first bytes once and says what it holds (an
`Input`: name, path, compression, format, stream); `read_input` hands it to the
module of its format, which returns a `Reader` whose `blocks(columns)` yields
the selected columns as float64 blocks of bounded size, so memory does not grow
with the input. JSON documents other than flat arrays of numbers are read whole
(a document from a stream is kept by a `spool` as it is read, to be read again
by position); everything else streams. Format modules import `base` only; only
this module knows them all.
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys
import zlib
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, cast

from bcecli import remote
from bcecli.errors import InputError, shown_path
from bcecli.readers import containers
from bcecli.readers.base import (
    BLOCK_BYTES,
    STDIN,
    Arrays,
    Block,
    Compression,
    Format,
    Input,
    Reader,
    ReadHook,
)
from bcecli.readers.cells import Ids, Labels
from bcecli.readers.text import TextReader, fixed_width_lines

if TYPE_CHECKING:
    from bcecli.readers.jsonlines import JsonLinesReader
    from bcecli.readers.jsonstream import Numbers

__all__ = ["STDIN", "Arrays", "Block", "Ids", "Input", "Labels", "ReadHook", "Reader",
           "known_suffix", "open_input", "read_input", "read_small_json", "settle_headers"]

_SUFFIX_FORMATS: dict[str, Format | Literal["text"]] = {
    ".csv": "csv", ".tsv": "tsv", ".txt": "text", ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".npy": "npy", ".npz": "npz",
    ".parquet": "arrow", ".feather": "arrow", ".arrow": "arrow", ".ipc": "arrow",
}
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zip")
_NPY = b"\x93NUMPY"
SMALL_FILE = 1 << 20  # the most read of a baseline or a partial result (a few hundred bytes)
_ARROW = (b"PAR1", b"ARROW1")


def open_input(path: str, resources: ExitStack, *, input_format: str | None = None,
               stdin: IO[bytes] | None = None, storage: Mapping[str, Any] | None = None
               ) -> Input:
    """Open a path (or `-`, or a URL: `remote`, with its `storage` options) and detect
    what it holds, once, from its bytes.

    Compression (gzip, bzip2, xz, a zip of one file) is what the bytes say, whatever
    the name; so are NumPy and Arrow files, and files that are no data (refused).
    Otherwise the format is what the name says (less any compression suffix; in a
    zip, the name of its file), else what the first bytes say, else delimited text.
    The file is closed by `resources` when the caller is done with it.
    """
    name = "<stdin>" if path == STDIN else shown_path(path)
    url = remote.is_url(path)
    local = remote.local_path(path) or path  # a file:// URL is a file
    stream: IO[bytes] = (stdin or sys.stdin.buffer) if path == STDIN else \
        resources.enter_context(remote.open_url(path, storage or {}) if url else
                                open_file(local, name))
    on_disk = None if path == STDIN or url else local
    if not hasattr(stream, "peek"):  # sniffing looks ahead without consuming
        stream = cast(IO[bytes], io.BufferedReader(cast(Any, stream)))
    compression: Compression | None = None
    inner_name = "" if path == STDIN else path  # the name that says the format
    for _ in range(3):  # compression inside compression, but not without end
        kind = containers.compression(peek(stream, 10))
        if kind is None:
            break
        if kind == "zip":
            archive, members = containers.zip_members(stream, name, resources)
            if containers.is_npz(members):
                return Input(name, on_disk, stream, "zip", "npz", remote=url)
            stream, inner_name = containers.zip_member(archive, members, name)
        else:
            stream = containers.decompress(kind, stream, name)
            inner_name = strip_compression(inner_name)
        resources.enter_context(stream)
        compression = compression or kind
    head = peek(stream, 512)
    if (found := containers.not_data(head)) is not None:
        raise containers.refuse(*found, name)
    suffix = Path(strip_compression(inner_name.lower())).suffix
    named = cast(Format, input_format) if path == STDIN and input_format else \
        _SUFFIX_FORMATS.get(suffix)
    fmt: Format
    encoding = None
    if head.startswith(_NPY):
        fmt = "npy"
    elif head.startswith(_ARROW):
        fmt = "arrow"
    elif named == "npz":
        raise InputError("not a valid .npz file (it is not a zip archive)", where=name)
    elif named in ("npy", "arrow"):
        fmt = cast(Format, named)  # its reader says what is wrong with it
    else:
        stream, encoding = containers.text_encoding(stream, name)
        if encoding is None and containers.looks_like_utf16(head):
            raise InputError("this looks like UTF-16 text without a byte-order mark: save it "
                             "as UTF-8", where=name)
        cr_lines = containers.cr_only(peek(stream, 4096))
        if cr_lines:
            stream = containers.cr_lines(stream, name)
        fmt = sniff_format(stream) if named is None or named == "text" else cast(Format, named)
        return Input(name, on_disk, stream, compression, fmt, encoding, cr_lines, url)
    return Input(name, on_disk, stream, compression, fmt, remote=url)


def strip_compression(name: str) -> str:
    """A file name less the suffix of its compression (`d.csv.gz` → `d.csv`)."""
    for suffix in _COMPRESSED_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def known_suffix(name: str) -> bool:
    """Whether a file's name says a format bce reads (`d.csv`, `d.jsonl.gz`): the files of
    a directory read as one input (`sources`)."""
    return Path(strip_compression(name.lower())).suffix in _SUFFIX_FORMATS


def sniff_format(stream: IO[bytes]) -> Format:
    """JSON when the first non-blank byte is `[` or `{`, else delimited text. JSON Lines
    when the first line is a whole JSON value and more follows (no document goes on after
    its value; the document reader would come to the same, after reading it all): a big
    one on stdin streams rather than being refused."""
    head = peek(stream, 4096).lstrip()
    if head[:1] not in (b"[", b"{"):
        return "csv"
    first, newline, rest = head.partition(b"\n")
    if newline and rest.strip():
        import json

        try:
            json.loads(first)
        except ValueError:  # an incomplete value: a document over several lines
            return "json"
        return "jsonl"
    return "json"


def read_input(data: Input, resources: ExitStack, *, header: bool | None = None,
               on_read: ReadHook | None = None, decimal: str = ".", size: int | None = None,
               groups: range | None = None) -> Reader | dict[str, Reader] | Arrays:
    """The reader of a detected input; for a JSON object, one reader per key; for an
    `.npz`, its arrays by name. `size`: the bytes of the whole input this file is one
    shard of (`sources.Selection`), which decides, as a file's size does, whether
    pyarrow's parsers pay for their import. `groups`: the row groups of a Parquet file
    to read (a piece of `--workers`)."""
    if data.format == "npy":
        from bcecli.readers.npy import read_npy

        return read_npy(data)
    if data.format == "npz":
        return npz_arrays(data, resources)
    if data.format == "arrow":
        return arrow_table(data, groups)
    if data.format == "json":
        return json_document(data, resources)
    if data.format == "jsonl":
        from bcecli.readers.jsonlines import JsonLinesReader

        lines = JsonLinesReader(data, on_read)
        with_json_arrow(lines, data, size)
        return lines
    text = TextReader(data, header, on_read, decimal)
    if decimal == ".":
        with_arrow(text, data, size)
    return text


def json_document(data: Input, resources: ExitStack) -> Reader | dict[str, Reader]:
    """A JSON document: one of flat arrays streamed, any other read whole.

    A plain file is read again by position; any other input (stdin, a named pipe, a
    compressed file, a URL) is kept by a `Spool` as its top level is scanned, and read
    again from that, so both give the same numbers and the same messages."""
    from bcecli.readers import jsondoc
    from bcecli.readers.jsonstream import scan, streamed_json
    from bcecli.readers.spool import Joined, Spool, Stored

    path = data.plain_file if data.stream.seekable() else None  # a named pipe: read once
    if path is not None:
        stored = Stored.file(path)
        with open_file(path) as stream:
            found = scan(stream, data.name)
    else:
        spool = Spool(data.stream, data.name, resources)
        found = scan(io.BufferedReader(spool), data.name)
        stored = spool.kept()
    if found is not None:
        def whole() -> object:
            with stored.reopen() as stream:
                return jsondoc.read_json(Input(data.name, path, stream, None, "json"))

        streamed = streamed_json(found, stored.reopen, data.name, jsondoc.KEYS,
                                 stored.size <= jsondoc.MAX_DOCUMENT, whole,
                                 arrow_json_numbers(stored.size))
        if streamed is not None:
            return streamed
    if path is None:  # the whole-document reader reads what the scan read, then the rest
        joined = Joined(resources.enter_context(stored.reopen()), data.stream)
        data = dataclasses.replace(data, stream=io.BufferedReader(joined))
    return jsondoc.read_json(data)


def arrow_json_numbers(size: int) -> Numbers | None:
    """pyarrow's reader of JSON number text, if installed, for a document big enough (`size`
    bytes) to pay for importing it (MIN_BYTES, as for CSV)."""
    if not arrow_pays_for(size):
        return None
    from bcecli.readers import jsonarrow

    return jsonarrow.JsonNumbers()


def npz_arrays(data: Input, resources: ExitStack) -> Arrays:
    """NumPy's `savez` / `savez_compressed`: arrays by name, each streamed once picked."""
    from bcecli.readers.npy import StreamedNpy

    archive, members = containers.zip_members(data.stream, data.name, resources)
    files = {member.removesuffix(".npy"): member for member in members}

    def open_array(name: str) -> Reader:
        stream = containers.open_member(archive, files[name], data.name)
        resources.enter_context(stream)
        return StreamedNpy(stream, data.name, f"{data.name}[{name!r}]")

    return Arrays(data.name, list(files), open_array)


def arrow_table(data: Input, groups: range | None = None) -> Reader:
    """Parquet, Feather or Arrow IPC, which need the `arrow` extra."""
    from bcecli.readers import arrow

    if not arrow.available():
        raise InputError("reading Parquet, Feather or Arrow files needs pyarrow: "
                         "pip install 'bcecli[arrow]'", where=data.name)
    return arrow.ArrowTableReader(data, groups)


def with_arrow(text: TextReader, data: Input, size: int | None = None) -> None:
    """pyarrow's parser for the blocks of a large CSV/TSV input (`arrow_pays`); not for
    whitespace-separated text, nor fixed-width lines, which bce's own parser reads faster."""
    # One column has no delimiter to sniff; pyarrow then needs one that does not occur.
    delimiter = text.delimiter or ("," if text.width == 1 else None)
    if delimiter is None or fixed_width_lines(text.pending) or not text.large:
        return
    if arrow_pays(data, size):
        from bcecli.readers import arrow

        text.fast = arrow.CsvBlocks(text.width, delimiter).values


def with_json_arrow(lines: JsonLinesReader, data: Input, size: int | None = None) -> None:
    """pyarrow's JSON parser for the blocks of a large JSON Lines input of objects of
    numbers (`arrow_pays`)."""
    if not lines.objects_of_numbers or len(lines.pending) <= BLOCK_BYTES // 2:
        return
    if arrow_pays(data, size):
        from bcecli.readers import jsonarrow

        lines.fast = jsonarrow.JsonBlocks(lines.names or ()).values


def arrow_pays(data: Input, size: int | None) -> bool:
    """Whether pyarrow is installed and the input is large enough to pay for importing it:
    at least MIN_BYTES in its plain file, or in all the files of the many-file input it is
    a shard of (`size`), or a stream (a pipe, a compressed file) whose first block is full."""
    path = data.plain_file
    if size is None and path is not None:
        size = os.path.getsize(path)
    return arrow_pays_for(size)


def arrow_pays_for(size: int | None) -> bool:
    """pyarrow installed, and `size` bytes (None: a stream of unknown size) at least
    MIN_BYTES: below, importing it costs more than it saves."""
    from bcecli.readers import arrow

    return (size is None or size >= arrow.MIN_BYTES) and arrow.available()


def settle_headers(readers: list[Reader]) -> None:
    """A first row `0` (or `0,1`) over whole numbers is pandas' header when another input
    of the run has one (pandas wrote both), else data."""
    pandas = any(reader.header_kind == "positions" for reader in readers)
    for reader in readers:
        if reader.header_kind == "maybe":
            reader.settle_header(pandas)


def open_file(path: str, where: str | None = None) -> IO[bytes]:
    """A file opened for reading; failing that, one line naming it (`where`: as the user
    named it, a `file://` URL)."""
    where = where or shown_path(path)
    named(path)
    try:
        if os.path.isdir(path):
            raise IsADirectoryError
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError("no such file", where=where) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", where=where) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", where=where) from None


def named(path: str) -> None:
    """Refuse a path with a NUL byte, which no file's name holds (`open` would raise a
    ValueError; a command line cannot even pass one, a library call can)."""
    if "\0" in path:
        raise InputError("no such file", where=shown_path(path))


def peek(stream: IO[bytes], size: int) -> bytes:
    """The next bytes of a buffered stream without consuming them."""
    try:
        data: bytes = stream.peek(size)  # type: ignore[attr-defined]
    except (OSError, EOFError, zlib.error):  # a broken stream: the reader will say so
        return b""
    return data[:size]


def read_small_json(path: str, what: str,
                    pairs: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """A file that is small by nature (`what`: a baseline, a partial result), parsed as JSON.

    At most SMALL_FILE bytes are read and a larger file is refused, so `/dev/zero` is not
    read forever (a pipe is read until it ends). An integer of more digits than Python
    converts (4300) is the float it rounds to, infinity. OSError, JSONDecodeError and
    UnicodeDecodeError are the caller's to word.
    """
    named(path)
    with open(path, "rb") as stream:
        data = stream.read(SMALL_FILE + 1)
    if len(data) > SMALL_FILE:
        raise InputError(f"larger than {SMALL_FILE >> 20} MiB, the most bce reads of {what}",
                         where=shown_path(path))
    return parse_small_json(data, pairs)


def parse_small_json(data: bytes, pairs: Callable[[list[tuple[str, Any]]], Any] | None = None
                     ) -> Any:
    """JSON text as `read_small_json` parses it (a byte-order mark allowed)."""
    import json

    return json.loads(data.decode("utf-8-sig"), parse_int=json_integer, object_pairs_hook=pairs)


def json_integer(text: str) -> int | float:
    """A JSON integer as `int`, or beyond Python's limit on the digits it converts, as
    `float` (infinity) rather than a ValueError."""
    try:
        return int(text)
    except ValueError:
        return float(text)
