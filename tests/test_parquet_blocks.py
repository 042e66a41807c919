"""Issue 12, Parquet: numeric columns read without `pyarrow.compute`, a record batch a block.

The numbers must be those of pyarrow's own cast to float64 (the path before), and
a file read in many blocks must give what the same rows give as CSV.
"""

from __future__ import annotations

import numpy as np
import pytest

from bcecli.readers import arrow, base
from tests.helpers import Files, Run

pa = pytest.importorskip("pyarrow")
LIMIT = 2 ** 53


@pytest.mark.parametrize("column", [
    pa.array([0.25, None, -0.0, 1e300]),
    pa.array([0.1, None, 3.5], pa.float32()),
    pa.array(np.array([0.1, 65504], np.float16)),
    pa.array([0, 1, -5, LIMIT, -LIMIT], pa.int64()),
    pa.array([0, 200, 255], pa.uint8()),
    pa.array([0, LIMIT], pa.uint64()),
    pa.array([1, None, 0], pa.int32()),
    pa.array([True, False, None]),
    pa.array([], pa.int64()),
], ids=repr)
def test_floats_are_pyarrow_s(column: object) -> None:
    expected = column.cast(pa.float64()).to_numpy(zero_copy_only=False)  # type: ignore[attr-defined]
    got = np.asarray(arrow.floats(column), dtype=np.float64)
    np.testing.assert_array_equal(got, expected)
    assert (np.signbit(got) == np.signbit(expected)).all()


@pytest.mark.parametrize("value", [LIMIT + 1, -LIMIT - 1])
def test_integers_no_float_holds_are_refused_as_before(value: int) -> None:
    """pyarrow's cast refuses them: so does `floats`, with pyarrow's own error."""
    column = pa.array([0, value], pa.int64())
    with pytest.raises(pa.ArrowInvalid) as before:
        column.cast(pa.float64())
    with pytest.raises(pa.ArrowInvalid) as now:
        arrow.floats(column)
    assert str(now.value) == str(before.value)


def test_many_blocks_are_the_csv_s(bce: Run, files: Files,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    monkeypatch.setattr(base, "BLOCK_ROWS", 1000)  # blocks of 500 rows, of two columns
    rng = np.random.default_rng(5)
    p, y = rng.random(4321), rng.integers(0, 2, 4321)
    pq.write_table(pa.table({"id": np.arange(4321), "prediction": p, "label": y}),
                   "d.parquet", row_group_size=1234)
    files(d__csv="prediction,label\n" + "".join(f"{a!r},{b}\n" for a, b
                                                 in zip(p.tolist(), y.tolist(), strict=True)))
    for reduction in ("mean", "none"):
        read = [bce("compute", name, "--pred-col", "prediction", "--target-col", "label",
                    "-r", reduction, "-f", "csv") for name in ("d.parquet", "d.csv")]
        assert read[0].exit_code == read[1].exit_code == 0, read[0].stderr
        assert read[0].stdout == read[1].stdout
