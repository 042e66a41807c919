"""What wraps an input's data, and what is no data at all, from the first bytes.

gzip, bzip2 and xz are undone as the bytes stream; a zip archive is opened when
it holds one file (pandas' `to_csv("x.csv.zip")`), or is NumPy's `.npz`; a
UTF-8 byte-order mark is dropped and UTF-16 or UTF-32 text re-encoded as UTF-8
while it is read. Files that are not data (a spreadsheet, a PDF, an image, a
database, a pickle) are refused with a message naming what they are, instead
of a complaint about their bytes. Each decompressor is imported only when the
bytes ask for it, and runs a block ahead on a thread of its own (`ReadAhead`):
zlib, bzip2 and lzma let go of the GIL, so decompressing overlaps parsing.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import IO, Any, cast

from bcecli.errors import InputError, listed, plural
from bcecli.readers.base import Compression

ZIP = b"PK\x03\x04"
_COMPRESSIONS: list[tuple[bytes, Compression, str]] = [
    (b"\x1f\x8b", "gzip", "gzip"), (b"\xfd7zXZ\x00", "xz", "xz"), (ZIP, "zip", "zip"),
]
# A bzip2 stream: "BZh", the block size 1-9, then a block's or the end's magic number.
_BZIP2_BLOCKS = (b"1AY&SY", b"\x17rE8P\x90")
# Not data: (magic, offset, what it is, what to do); the first that matches names the file.
_NOT_DATA: list[tuple[bytes, int, str, str]] = [
    (b"%PDF-", 0, "a PDF document", ""),
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image", ""),
    (b"\xff\xd8\xff", 0, "a JPEG image", ""),
    (b"GIF8", 0, "a GIF image", ""),
    (b"SQLite format 3\x00", 0, "an SQLite database", "export the table as CSV"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "an Excel 97-2003 workbook (or another old "
     "Office file)", "save it as CSV"),
    (b"\x89HDF\r\n\x1a\n", 0, "an HDF5 file", "save the arrays with numpy.save or as CSV"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive", "unpack it first"),
    (b"Rar!\x1a\x07", 0, "a RAR archive", "unpack it first"),
    (b"\x28\xb5\x2f\xfd", 0, "a Zstandard-compressed file", "decompress it first (zstd -d)"),
    (b"ustar", 257, "a tar archive", "unpack it first (tar -xf)"),
    (b"PK\x05\x06", 0, "an empty zip archive", ""),
]
_PICKLE = ("a Python pickle", "bce never loads pickles; save arrays with numpy.save")
_BOMS: list[tuple[bytes, str]] = [
    (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
]


def compression(head: bytes) -> Compression | None:
    """The compression (or zip archive) the first bytes announce."""
    for magic, kind, _ in _COMPRESSIONS:
        if head.startswith(magic):
            return kind
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[3:4] != b"0" and \
            head[4:10] in _BZIP2_BLOCKS:
        return "bz2"
    return None


def decompress(kind: Compression, stream: IO[bytes], source: str) -> IO[bytes]:
    """The decompressed bytes of a gzip, bzip2 or xz stream, read as they are needed."""
    inner: IO[bytes]
    if kind == "gzip":
        import gzip

        inner = cast(IO[bytes], gzip.GzipFile(fileobj=stream))
    elif kind == "bz2":
        import bz2

        inner = cast(IO[bytes], bz2.BZ2File(stream))
    else:
        import lzma

        inner = cast(IO[bytes], lzma.LZMAFile(stream))  # noqa: SIM115 (closed by Peekable)
    ahead = ReadAhead(inner.read, inner.close)
    return peekable(ahead.read, f"a valid {_NAMES[kind]} file", source, ahead.close)


_NAMES = {kind: name for _, kind, name in _COMPRESSIONS} | {"bz2": "bzip2"}


def not_data(head: bytes) -> tuple[str, str] | None:
    """What a file that is no data is (and what to do), from its first 512 bytes."""
    for magic, offset, what, advice in _NOT_DATA:
        if head[offset:offset + len(magic)] == magic:
            return what, advice
    if len(head) > 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # PROTO opcode
        return _PICKLE
    return None


def refuse(what: str, advice: str, source: str) -> InputError:
    return InputError(f"this is {what}, not text" + (f": {advice}" if advice else ""),
                      where=source)


# -- zip archives -----------------------------------------------------------------------


def zip_members(stream: IO[bytes], source: str, resources: ExitStack) -> tuple[Any, list[str]]:
    """The open archive and its files (not folders, not macOS' `__MACOSX/` copies); an
    Office document or a PyTorch file is refused as what it is."""
    import zipfile

    if not stream.seekable():
        raise InputError("a zip archive can be read only from a file (it is read from its "
                         "end): pass its path, or unzip it into the pipe", where=source)
    try:
        archive = resources.enter_context(zipfile.ZipFile(stream))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        raise InputError(f"not a valid zip archive ({e})", where=source) from None
    names = [info.filename for info in archive.infolist()
             if not info.is_dir() and not info.filename.startswith("__MACOSX/")]
    for prefix, what, advice in (("xl/", "an Excel workbook", "save it as CSV"),
                                 ("word/", "a Word document", ""),
                                 ("ppt/", "a PowerPoint presentation", "")):
        if any(name.startswith(prefix) for name in names):
            raise refuse(what, advice, source)
    if "mimetype" in names:
        with open_member(archive, "mimetype", source) as member:
            kind = member.read(80).decode("ascii", "replace")
        what = "an OpenDocument spreadsheet" if kind.endswith("spreadsheet") else \
            "an OpenDocument file"
        raise refuse(what, "save it as CSV" if "spreadsheet" in what else "", source)
    if any(name.endswith("data.pkl") for name in names):
        raise refuse("a PyTorch file (torch.save, a pickle)",
                     "bce never loads pickles; save the tensor with numpy.save", source)
    if not names:
        raise refuse("an empty zip archive", "", source)
    return archive, names


def is_npz(names: list[str]) -> bool:
    """NumPy's `savez`: every file of the archive is an `.npy` array."""
    return all(name.endswith(".npy") for name in names)


def zip_member(archive: Any, names: list[str], source: str) -> tuple[IO[bytes], str]:
    """The one file of an archive, streamed, and its name."""
    if len(names) > 1:
        raise InputError(f"a zip archive of {plural(len(names), 'file')} ({listed(names)}): "
                         "bce reads a zip of one file", where=source,
                         hint="unzip it and pass the file you mean")
    return open_member(archive, names[0], source), names[0]


def open_member(archive: Any, name: str, source: str) -> IO[bytes]:
    """One file of a zip archive, decompressed as it is read."""
    import zipfile

    try:
        member = archive.open(name)
    except (RuntimeError, NotImplementedError) as e:  # encrypted, or an unknown method
        raise InputError(f"cannot read {name!r} in the zip archive ({e})", where=source) \
            from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:  # a broken header
        raise InputError(f"not a valid zip archive ({e})", where=source) from None
    ahead = ReadAhead(member.read, member.close)
    return peekable(ahead.read, "a valid zip archive", source, ahead.close)


# -- text encodings ---------------------------------------------------------------------


def text_encoding(stream: IO[bytes], source: str) -> tuple[IO[bytes], str | None]:
    """The text as UTF-8 without a byte-order mark, and the encoding it was re-encoded
    from (None for UTF-8)."""
    head = peek(stream, 4)
    if head.startswith(b"\xef\xbb\xbf"):
        stream.read(3)
        return stream, None
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return recode(stream, encoding, source), encoding
    return stream, None


def recode(stream: IO[bytes], encoding: str, source: str) -> IO[bytes]:
    """UTF-16 or UTF-32 text (its byte-order mark first) as UTF-8, block by block."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    done = False

    def read(size: int) -> bytes:
        nonlocal done
        while not done:
            raw = stream.read(size if size > 0 else -1)
            done = not raw or size <= 0
            try:
                text = decoder.decode(raw, final=done)
            except UnicodeDecodeError as e:
                raise InputError(f"not valid {encoding.upper()} text ({e.reason})",
                                 where=source) from None
            if text:
                return text.encode("utf-8")
        return b""

    return peekable(read, f"valid {encoding.upper()} text", source, stream.close)


def cr_only(head: bytes) -> bool:
    """Old Mac text: the first bytes hold a carriage return and no line feed, so CR alone
    ends its lines (read whole as one line, a column would become one row)."""
    return b"\r" in head and b"\n" not in head


def cr_lines(stream: IO[bytes], source: str) -> IO[bytes]:
    """Text whose lines end in CR alone (or CRLF, where a file mixes them) with LF ends."""
    held = b""  # a CR at the end of a read: the LF of a CRLF may come next

    def read(size: int) -> bytes:
        nonlocal held
        while True:
            raw = stream.read(size if size > 0 else -1)
            data, held = held + raw, b""
            if raw and data.endswith(b"\r"):
                data, held = data[:-1], b"\r"
            if data or not raw:
                return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

    return peekable(read, "valid text", source, stream.close)


def looks_like_utf16(head: bytes) -> bool:
    """Text saved as UTF-16 without a byte-order mark: every other byte of ASCII is 0."""
    sample = head[:64]
    if len(sample) < 8 or len(sample) % 2:
        sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 8:
        return False
    return any(sample[k::2].count(0) == len(sample) // 2 and 0 not in sample[1 - k::2]
               for k in (0, 1))


# -- a peekable stream ------------------------------------------------------------------


def peek(stream: IO[bytes], size: int) -> bytes:
    """At least `size` bytes ahead (fewer only at the end), not consumed."""
    data: bytes = stream.peek(size)  # type: ignore[attr-defined]
    return data[:size]


def peekable(read: Callable[[int], bytes], valid: str, source: str,
             close: Callable[[], None]) -> IO[bytes]:
    return cast(IO[bytes], Peekable(read, valid, source, close))


class Peekable(io.BufferedIOBase):
    """Bytes from `read(size)` (a decompressor, a re-encoder), with `peek` that looks as far
    ahead as asked, and any failure to read them as one line naming the input."""

    def __init__(self, read: Callable[[int], bytes], valid: str, source: str,
                 close: Callable[[], None]):
        super().__init__()
        self._read = read
        self._valid = valid  # "a valid gzip file": what the input turned out not to be
        self._source = source
        self._close = close
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def fetch(self, size: int) -> bytes:
        try:
            return self._read(size)
        except (InputError, MemoryError):
            raise
        except Exception as e:  # each decompressor has its own errors: all mean bad bytes
            raise InputError(f"not {self._valid} ({e})", where=self._source) from None

    def peek(self, size: int = 1) -> bytes:
        while len(self._buffer) < size:
            more = self.fetch(max(size - len(self._buffer), 1 << 16))
            if not more:
                break
            self._buffer += more
        return self._buffer

    def read(self, size: int | None = -1) -> bytes:
        """`size` bytes (fewer only at the end), or with no size every byte left."""
        if size is None or size < 0:
            parts, self._buffer = [self._buffer], b""
            while more := self.fetch(1 << 20):
                parts.append(more)
            return b"".join(parts)
        if not self._buffer:
            self._buffer = self.fetch(size)
        parts, held = [self._buffer], len(self._buffer)
        while held < size and (more := self.fetch(size - held)):
            parts.append(more)
            held += len(more)
        data = b"".join(parts) if len(parts) > 1 else parts[0]
        self._buffer = data[size:]
        return data[:size] if len(data) > size else data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def close(self) -> None:
        if not self.closed:
            self._close()
        super().close()


class ReadAhead:
    """`read(BLOCK)` called on a thread of its own, up to two blocks ahead of `read`; what
    it raises is raised by `read` in its turn, after the bytes before it."""

    BLOCK = 1 << 20

    def __init__(self, read: Callable[[int], bytes], close: Callable[[], None]):
        import queue  # only compressed inputs need it

        self._inner_read = read
        self._inner_close = close
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=2)
        self._held = b""
        self._stop = threading.Event()
        self._done = False  # the end, or a failure, was handed out
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._inner_read(self.BLOCK)
                self._queue.put(data)
                if not data:
                    break
        except BaseException as error:  # handed to the reader, who raises it in its turn
            self._queue.put(error)
        finally:
            if self._stop.is_set():  # closed while it read: it closes the file itself
                self._inner_close()

    def read(self, size: int) -> bytes:
        if not self._held:
            if self._done:
                return b""
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="bce-read-ahead",
                                                daemon=True)
                self._thread.start()
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._done = True
                raise item
            self._done = not item
            self._held = item
        data, self._held = self._held[:size], self._held[size:]
        return data

    def close(self) -> None:
        """Stop reading ahead and close the file, or leave that to the thread where it is
        still in a read (a pipe that sends nothing); closing twice does no harm."""
        self._stop.set()
        thread = self._thread
        while thread is not None and thread.is_alive():
            while not self._queue.empty():  # free the thread if it waits on a full queue
                self._queue.get_nowait()
            thread.join(0.01)
            if thread.is_alive() and self._queue.empty():
                return
        self._inner_close()
