"""NumPy `.npy` and `.npz`: 1-D or 2-D numeric arrays, never pickles.

Every `.npy` is read a block of rows at a time with plain reads (its header says
the shape and type), never memory-mapped: a mapped file that shrinks while it is
read kills the process (SIGBUS), and its pages would count in the peak memory. A
plain file is checked against its header's size before the first block; one
inside compression, from stdin or in an `.npz` archive is found short when its
data ends. A Fortran-order array is stored column after column: in a plain file
each block's columns are read where they lie; from a stream it is read whole, up
to `MAX_FORTRAN_BYTES`. Object arrays (pickles) are refused, never loaded; in an
`.npz`, only the arrays a role picks are opened at all.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from typing import IO, Any

import numpy as np

from bcecli.errors import InputError
from bcecli.readers import base
from bcecli.readers.base import Block, Input, Reader, read_into

# A Fortran-order array streamed from compression or a pipe cannot be had one block of
# rows at a time: it is read whole (with its float64 copy, up to this size).
MAX_FORTRAN_BYTES = 1 << 26


def read_npy(data: Input) -> Reader:
    """A `.npy` input; its columns can be read in place when it is a plain file."""
    return StreamedNpy(data.stream, data.name, data.name, in_place=data.plain_file is not None)


def check_array(dtype: np.dtype[Any], shape: tuple[int, ...], where: str) -> None:
    if dtype.hasobject:
        raise InputError("holds Python objects (pickle); bce never loads pickles", where=where)
    if dtype.kind not in "biuf" or len(shape) not in (1, 2) or math.prod(shape) == 0:
        raise InputError(f"needs a non-empty 1-D or 2-D numeric array, not {len(shape)}-D "
                         f"{dtype} of shape {tuple(shape)}", where=where)


class StreamedNpy(Reader):
    """An `.npy` array read from a stream, a block of rows at a time.

    `name` is how messages name the array: the file, or `d.npz['y_pred']`. With
    `in_place` (a plain file), the stream is seekable: its size is checked first, and
    a Fortran-order array's columns are read where they lie.
    """

    def __init__(self, stream: IO[bytes], source: str, name: str, *, in_place: bool = False):
        from numpy.lib import format as npy_format

        try:
            version = npy_format.read_magic(stream)
            header = {(1, 0): npy_format.read_array_header_1_0,
                      (2, 0): npy_format.read_array_header_2_0}.get(version)
            if header is None:
                raise ValueError(f"version {version[0]}.{version[1]} is not supported")
            shape, fortran, dtype = header(stream)
        except (ValueError, OSError, EOFError) as e:
            raise InputError(f"not a valid .npy file ({e})", where=name) from None
        check_array(dtype, shape, name)
        self.stream, self.name, self.dtype, self.shape = stream, name, dtype, shape
        self.fortran = fortran and len(shape) == 2 and shape[1] > 1
        self.offset = stream.tell() if in_place and stream.seekable() else None
        if self.offset is not None:
            if os.fstat(stream.fileno()).st_size < self.offset + math.prod(shape) * dtype.itemsize:
                raise self.short()
        elif self.fortran and math.prod(shape) * (dtype.itemsize + 8) > MAX_FORTRAN_BYTES:
            raise InputError(f"a Fortran-order array this large cannot be streamed (over "
                             f"{MAX_FORTRAN_BYTES >> 20} MiB with its float64 copy)", where=name,
                             hint="save it as np.save(path, np.ascontiguousarray(a)), or "
                             "decompress it (a plain file is read in place)")
        super().__init__(source, None, shape[1] if len(shape) == 2 else 1, len(shape) == 2)

    def short(self) -> InputError:
        return InputError(f"the array data ends early (the header says {self.shape[0]} rows)",
                          where=self.name)

    def exactly(self, count: int) -> np.ndarray[Any, Any]:
        """The next `count` values of the stream, of the array's type, read straight into
        a new array."""
        out = np.empty(count, self.dtype)
        buffer, got = out.view(np.uint8).data, 0
        while got < len(buffer):
            part = read_into(self.stream, buffer[got:], self.name)
            if not part:
                raise self.short()
            got += part
        return out

    def rows(self, count: int) -> np.ndarray[Any, Any]:
        """The next `count` rows, exactly, as stored."""
        data = self.exactly(count * self.width)
        if self.fortran:
            return data.reshape(self.width, count).T
        return data.reshape(count, self.width)

    def columns_at(self, start: int, count: int, columns: Sequence[int]) -> np.ndarray[Any, Any]:
        """Rows `start` to `start + count` of a Fortran-order array in a file, only the
        columns asked for, each read where it lies."""
        assert self.offset is not None
        out = np.empty((count, len(columns)))
        for k, column in enumerate(columns):
            self.stream.seek(self.offset + (column * self.shape[0] + start) * self.dtype.itemsize)
            out[:, k] = self.exactly(count)
        return out

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        total = self.shape[0]
        in_place = self.fortran and self.offset is not None
        whole = self.fortran and not in_place
        step = total if whole else max(1, base.BLOCK_ROWS // max(1, len(columns) if in_place
                                                             else self.width))
        every = list(columns) == list(range(self.width))
        for start in range(0, total, step):
            count = min(step, total - start)
            if in_place:
                values = self.columns_at(start, count, columns)
            else:
                rows = self.rows(count)
                values = rows if every and rows.dtype == np.float64 and not self.fortran else \
                    np.array(rows[:, list(columns)], dtype=np.float64)
            yield self.decoded(Block(values, start, None), columns)

    def where(self, block: Block, row: int) -> str:
        return f"{self.name}[{block.index(row)}]"
