"""NumPy `.npy` and `.npz`: 1-D or 2-D numeric arrays, never pickles.

A plain `.npy` file is memory-mapped; one inside compression, from stdin, or in
an `.npz` archive is streamed a block of rows at a time (its header says the
shape and type). Object arrays (pickles) are refused, never loaded; in an
`.npz`, only the arrays a role picks are opened at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import IO, Any

import numpy as np

from bcecli.errors import InputError
from bcecli.readers.base import BLOCK_ROWS, ArrayReader, Block, Input, Reader, read_chunk

# A Fortran-order array (`np.save(path, a.T)`) is stored column after column: a stream of
# it is read whole (with its float64 copy, up to this size), since its rows cannot be had
# one block at a time.
MAX_FORTRAN_BYTES = 1 << 26


def read_npy(data: Input) -> Reader:
    source = data.name
    if data.plain_file is None:
        return StreamedNpy(data.stream, source, source)
    try:
        array = np.load(data.plain_file, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e) or "Python objects" in str(e):
            raise InputError("holds Python objects (pickle); bce never loads pickles",
                             where=source) from None
        raise InputError(f"not a valid .npy file ({e})", where=source) from None
    except (OSError, EOFError) as e:
        raise InputError(f"not a valid .npy file ({e})", where=source) from None
    check_array(array.dtype, array.shape, source)
    return ArrayReader(source, array.reshape(len(array), -1), nested=array.ndim == 2)


def check_array(dtype: np.dtype[Any], shape: tuple[int, ...], where: str) -> None:
    if dtype.hasobject:
        raise InputError("holds Python objects (pickle); bce never loads pickles", where=where)
    if dtype.kind not in "biuf" or len(shape) not in (1, 2) or math.prod(shape) == 0:
        raise InputError(f"needs a non-empty 1-D or 2-D numeric array, not {len(shape)}-D "
                         f"{dtype} of shape {tuple(shape)}", where=where)


class StreamedNpy(Reader):
    """An `.npy` array read from a stream, a block of rows at a time.

    `name` is how messages name the array: the file, or `d.npz['y_pred']`.
    """

    def __init__(self, stream: IO[bytes], source: str, name: str):
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
        if self.fortran and math.prod(shape) * (dtype.itemsize + 8) > MAX_FORTRAN_BYTES:
            raise InputError(f"a Fortran-order array this large cannot be streamed (over "
                             f"{MAX_FORTRAN_BYTES >> 20} MiB with its float64 copy)", where=name,
                             hint="save it as np.save(path, np.ascontiguousarray(a)), or "
                             "uncompressed (it is then memory-mapped)")
        super().__init__(source, None, shape[1] if len(shape) == 2 else 1, len(shape) == 2)

    def rows(self, count: int) -> np.ndarray[Any, Any]:
        """The next `count` rows, exactly, as stored."""
        size = count * self.width * self.dtype.itemsize
        parts, got = [], 0
        while got < size:
            part = read_chunk(self.stream, size - got, self.name)
            if not part:
                raise InputError(f"the array data ends early (the header says "
                                 f"{self.shape[0]} rows)", where=self.name)
            parts.append(part)
            got += len(part)
        data = np.frombuffer(b"".join(parts), dtype=self.dtype)
        if self.fortran:
            return data.reshape(self.width, count).T
        return data.reshape(count, self.width)

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        total = self.shape[0]
        step = total if self.fortran else max(1, BLOCK_ROWS // max(1, self.width))
        for start in range(0, total, step):
            count = min(step, total - start)
            values = np.array(self.rows(count)[:, list(columns)], dtype=np.float64)
            yield self.decoded(Block(values, start, None), columns)

    def where(self, block: Block, row: int) -> str:
        return f"{self.name}[{block.index(row)}]"
