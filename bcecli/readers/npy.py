"""NumPy `.npy`: a 1-D or 2-D numeric array, memory-mapped when it is a plain file.

Object arrays (pickles) are refused, never loaded.
"""

from __future__ import annotations

import io

import numpy as np

from bcecli.errors import InputError
from bcecli.readers.base import ArrayReader, Input


def read_npy(data: Input) -> ArrayReader:
    source = data.name
    try:
        if data.plain_file is not None:
            array = np.load(data.plain_file, mmap_mode="r", allow_pickle=False)
        else:
            array = np.load(io.BytesIO(data.read_all()), allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e) or "Python objects" in str(e):
            raise InputError("holds Python objects (pickle); bce never loads pickles",
                             where=source) from None
        raise InputError(f"not a valid .npy file ({e})", where=source) from None
    except (OSError, EOFError) as e:
        raise InputError(f"not a valid .npy file ({e})", where=source) from None
    if array.dtype.kind not in "biuf" or array.ndim not in (1, 2) or array.size == 0:
        raise InputError(f"needs a non-empty 1-D or 2-D numeric array, not {array.ndim}-D "
                         f"{array.dtype} of shape {tuple(array.shape)}", where=source)
    return ArrayReader(source, array.reshape(len(array), -1), nested=array.ndim == 2)
