"""Issue 10: containers and encodings, decided from the bytes; pandas' JSON leftovers.

Compressed, zipped, `.npz` and re-encoded inputs give exactly the loss of the
same data written plainly; files that are no data are refused with their name;
lists of names in messages stop at 20.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bcecli.errors import InputError
from bcecli.readers import base, containers, npy
from tests.helpers import TRUE, Files, Run, loss_of, refused

CSV = b"y_true,y_pred\n1,0.8\n0,0.3\n1,0.6\n"
COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


def zipped(exact: dict[str, bytes] | None = None, /, **members: bytes) -> bytes:
    """A zip archive of `members` (`__` for `.` in names) and of `exact`ly named files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name.replace("__", "."), data)
        for name, data in (exact or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


# -- compression and zip ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["d.csv.gz", "d.csv.bz2", "d.csv.xz", "d.csv.zip", "d.csv",
                                  "d.dat"])
@pytest.mark.parametrize("kind", ["gzip", "bz2", "xz", "zip"])
def test_compression_is_what_the_bytes_say(bce: Run, files: Files, kind: str,
                                           name: str) -> None:
    """Whatever the name, the bytes decide; a zip's file name says its format."""
    data = zipped(d__csv=CSV) if kind == "zip" else COMPRESS[kind](CSV)
    files(**{name.replace(".", "__"): data})
    assert loss_of(bce("compute", name, "--json")) == TRUE


@pytest.mark.parametrize("kind", ["gzip", "bz2", "xz"])
def test_compressed_stdin(bce: Run, kind: str) -> None:
    data = COMPRESS[kind](CSV)
    assert loss_of(bce("compute", "-", "--json", input=data)) == TRUE


def test_zip_of_another_format_and_nested_compression(bce: Run, files: Files) -> None:
    files(a__zip=zipped(data__json=b'{"y_true": [1, 0, 1], "y_pred": [0.8, 0.3, 0.6]}'),
          b__zip=zipped(p__npy=npy_bytes(np.array([0.8, 0.3, 0.6]))),
          c__zip=zipped(d__csv__gz=gzip.compress(CSV)),
          y__csv="1\n0\n1\n")
    assert loss_of(bce("compute", "a.zip", "--json")) == TRUE
    assert loss_of(bce("compute", "b.zip", "y.csv", "--json")) == TRUE
    assert loss_of(bce("compute", "c.zip", "--json")) == TRUE


def test_zip_from_a_redirected_file_but_not_a_pipe(bce: Run, files: Files) -> None:
    files(d__zip=zipped(d__csv=CSV))
    # The test runner's stdin is seekable, like `bce compute - < d.zip`.
    assert loss_of(bce("compute", "-", "--json", input=Path("d.zip").read_bytes())) == TRUE
    stream = containers.peekable(io.BytesIO(Path("d.zip").read_bytes()).read, "x", "<stdin>",
                                 lambda: None)  # what a pipe looks like: not seekable
    from contextlib import ExitStack

    with ExitStack() as resources, pytest.raises(InputError) as error:
        containers.zip_members(stream, "<stdin>", resources)
    assert str(error.value) == "<stdin>: a zip archive can be read only from a file (it is " \
        "read from its end): pass its path, or unzip it into the pipe"


@pytest.mark.parametrize(("data", "message"), [
    (zipped(a__csv=CSV, b__csv=CSV, c__txt=b"x"),
     "d.zip: a zip archive of 3 files ('a.csv', 'b.csv', 'c.txt'): bce reads a zip of one "
     "file\nhint: unzip it and pass the file you mean\n"),
    (zipped(**{f"f{i:02d}__csv": CSV for i in range(25)}),
     "d.zip: a zip archive of 25 files ('f00.csv', 'f01.csv', 'f02.csv', 'f03.csv', 'f04.csv', "
     "'f05.csv', 'f06.csv', 'f07.csv', 'f08.csv', 'f09.csv', 'f10.csv', 'f11.csv', 'f12.csv', "
     "'f13.csv', 'f14.csv', 'f15.csv', 'f16.csv', 'f17.csv', 'f18.csv', 'f19.csv', … and 5 "
     "more): bce reads a zip of one file\nhint: unzip it and pass the file you mean\n"),
    (zipped(**{"[Content_Types]__xml": b"<x/>", "xl/workbook__xml": b"<x/>"}),
     "d.zip: this is an Excel workbook, not text: save it as CSV\n"),
    (zipped(mimetype=b"application/vnd.oasis.opendocument.spreadsheet"),
     "d.zip: this is an OpenDocument spreadsheet, not text: save it as CSV\n"),
    (zipped(**{"archive/data__pkl": b"x", "archive/version": b"3"}),
     "d.zip: this is a PyTorch file (torch.save, a pickle), not text: bce never loads pickles; "
     "save the tensor with numpy.save\n"),
    (b"PK\x05\x06" + bytes(18), "d.zip: this is an empty zip archive, not text\n"),
    (zipped(d__csv=CSV)[:-30], "d.zip: not a valid zip archive (File is not a zip file)\n"),
])
def test_zip_refusals(bce: Run, files: Files, data: bytes, message: str) -> None:
    files(d__zip=data)
    assert refused(bce, "d.zip") == f"bce: error: {message}"


def test_an_encrypted_zip_member_is_named(bce: Run, files: Files) -> None:
    data = bytearray(zipped(d__csv=CSV))
    for header, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set "encrypted"
        at = data.index(header) + flags
        data[at] |= 1
    files(d__zip=bytes(data))
    assert refused(bce, "d.zip") == "bce: error: d.zip: cannot read 'd.csv' in the zip archive " \
        "(File 'd.csv' is encrypted, password required for extraction)\n"


def test_broken_zip_headers_are_one_line(bce: Run, files: Files) -> None:
    """Found by mutating archives: zipfile's errors from opening a member, or from a
    version it does not know, are the input's fault, not bce's."""
    data = zipped(d__csv=CSV)
    renamed = data.replace(b"d.csv", b"e.csv", 1)  # the local header's name only
    central = bytearray(data)
    central[central.index(b"PK\x01\x02") + 6] = 0xFF  # version needed to extract: 25.5
    files(a__zip=renamed, b__zip=bytes(central))
    assert refused(bce, "a.zip") == "bce: error: a.zip: not a valid zip archive (File name in " \
        "directory 'd.csv' and header b'e.csv' differ.)\n"
    assert refused(bce, "b.zip") == \
        "bce: error: b.zip: not a valid zip archive (zip file version 25.5)\n"


def test_zip_ignores_macos_copies(bce: Run, files: Files) -> None:
    files(d__zip=zipped({"__MACOSX/._d.csv": b"\x00\x05", "__MACOSX/": b""}, d__csv=CSV))
    assert loss_of(bce("compute", "d.zip", "--json")) == TRUE


@pytest.mark.parametrize(("kind", "message"), [
    ("gzip", "not a valid gzip file (Compressed file ended before the end-of-stream marker was "
     "reached)"),
    ("bz2", "not a valid bzip2 file (Compressed file ended before the end-of-stream marker was "
     "reached)"),
    ("xz", "not a valid xz file (Compressed file ended before the end-of-stream marker was "
     "reached)"),
])
def test_truncated_compression(bce: Run, files: Files, kind: str, message: str) -> None:
    data = COMPRESS[kind](CSV * 50)
    files(d__csv=data[: len(data) * 2 // 3])
    assert refused(bce, "d.csv") == f"bce: error: d.csv: {message}\n"


def test_compressed_text_streams_in_blocks(files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    """A decompressed stream is read a block at a time, never whole."""
    from contextlib import ExitStack

    from bcecli.readers import open_input, read_input

    rows = b"".join(b"%d,0.5\n" % (i % 2) for i in range(200_000))
    files(d__csv=bz2.compress(b"y,p\n" + rows))
    asked: list[int] = []
    with ExitStack() as resources:
        data = open_input("d.csv", resources)
        real = data.stream.read

        def read(size: int | None = -1) -> bytes:
            asked.append(-1 if size is None else size)
            return real(-1 if size is None else size)

        monkeypatch.setattr(data.stream, "read", read)
        reader = read_input(data, resources)
        assert isinstance(reader, base.Reader)
        assert sum(len(block.values) for block in reader.blocks([0, 1])) == 200_000
    assert asked and all(0 < size <= base.BLOCK_BYTES for size in asked)


# -- .npz and streamed .npy ------------------------------------------------------------------


def savez(path: str, compressed: bool = False, /, **arrays: np.ndarray) -> None:
    (np.savez_compressed if compressed else np.savez)(path, **arrays)  # type: ignore[arg-type]


P, Y = np.array([0.8, 0.3, 0.6]), np.array([1, 0, 1])


@pytest.mark.parametrize(("arrays", "args"), [
    ({"y_true": Y, "y_pred": P}, []),
    ({"predictions": P, "targets": Y.astype(np.int8), "X_test": np.zeros((3, 5))}, []),
    ({"arr_0": P, "arr_1": Y}, []),  # np.savez(path, p, y): two arrays no name claims
    ({"out": P, "truth_": Y}, ["--pred-col", "out", "--target-col", "truth_"]),
    ({"scores": P, "y": Y.astype(bool)}, []),
    ({"X_test": np.zeros((3, 4)), "y_test": Y, "y_pred_proba": P}, []),  # features never a role
])
@pytest.mark.parametrize("compressed", [False, True])
def test_npz_arrays_by_name(bce: Run, files: Files, arrays: dict[str, np.ndarray],
                            args: list[str], compressed: bool) -> None:
    files()
    savez("d.npz", compressed, **arrays)
    result = bce("compute", "d.npz", *args, "--json")
    assert loss_of(result) == TRUE
    columns = json.loads(result.stdout)["columns"]
    assert columns["predictions"] in arrays and columns["targets"] in arrays


def test_npz_with_other_files(bce: Run, files: Files) -> None:
    files(y__csv="1\n0\n1\n", p__csv="0.8\n0.3\n0.6\n")
    savez("p.npz", arr_0=P)
    savez("t.npz", labels=Y, ids=np.arange(3))
    savez("w.npz", w=np.ones(3))
    assert loss_of(bce("compute", "p.npz", "y.csv", "--json")) == TRUE
    assert loss_of(bce("compute", "p.csv", "t.npz", "--json")) == TRUE
    assert loss_of(bce("compute", "p.npz", "t.npz", "--weights", "w.npz", "--json")) == TRUE


def test_npz_multilabel_and_weights(bce: Run, files: Files) -> None:
    files(p__csv="0.8,0.1\n0.3,0.9\n", y__csv="1,0\n0,1\n", w__csv="2\n1\n")
    savez("d.npz", y_pred=np.array([[0.8, 0.1], [0.3, 0.9]]), y_true=np.array([[1, 0], [0, 1]]),
          sample_weight=np.array([2.0, 1.0]))
    plain = loss_of(bce("compute", "p.csv", "y.csv", "--weights", "w.csv", "--json"))
    result = bce("compute", "d.npz", "--weight-col", "sample_weight", "--json")
    assert loss_of(result) == plain
    assert json.loads(result.stdout)["columns"] == \
        {"predictions": "y_pred", "targets": "y_true", "weights": "sample_weight"}


@pytest.mark.parametrize(("arrays", "args", "message"), [
    ({"a": P, "b": Y, "c": Y}, [], "cannot tell which array of d.npz holds the predictions "
     "(arrays: 'a', 'b', 'c'): pass --pred-col"),
    ({"y_pred": P, "probs": P, "y": Y}, [], "arrays 'y_pred' and 'probs' of d.npz both look "
     "like predictions: pass --pred-col to say which"),
    ({"y_pred": P, "y_true": Y}, ["--pred-col", "p"], "--pred-col 'p': no array of that name "
     "in d.npz (arrays: 'y_pred', 'y_true')"),
    ({"y_pred": P, "y_true": Y, "names": np.array(["a", None], dtype=object)},
     ["--target-col", "names"], "d.npz['names']: holds Python objects (pickle); bce never "
     "loads pickles"),
    ({"y_pred": P, "y_true": np.zeros((3, 2, 2))}, [], "d.npz['y_true']: needs a non-empty 1-D "
     "or 2-D numeric array, not 3-D float64 of shape (3, 2, 2)"),
    ({"y_pred": np.array([0.8, 1.3, 0.6]), "y_true": Y}, [],
     "d.npz['y_pred'][1]: prediction 1.3 is outside [0, 1]\nhint: if these are logits (raw "
     "scores), pass --logits"),
    ({"y_pred": P, "y_true": np.array([1, 0])}, [],
     "d.npz['y_pred'][2]: more predictions than targets (d.npz has 2)"),
])
def test_npz_refusals(bce: Run, files: Files, arrays: dict[str, np.ndarray],
                      args: list[str], message: str) -> None:
    files()
    savez("d.npz", **arrays)
    assert refused(bce, "d.npz", *args) == f"bce: error: {message}\n"


def test_an_npz_object_array_nobody_picks_is_never_opened(bce: Run, files: Files) -> None:
    files()
    savez("d.npz", y_pred=P, y_true=Y, names=np.array(["a", None], dtype=object))
    assert loss_of(bce("compute", "d.npz", "--json")) == TRUE


def test_a_name_saying_npz_needs_a_zip(bce: Run, files: Files) -> None:
    files(d__npz=CSV)
    assert refused(bce, "d.npz") == \
        "bce: error: d.npz: not a valid .npz file (it is not a zip archive)\n"


@pytest.mark.parametrize("order", ["C", "F"])
def test_streamed_npy_matches_the_mapped_one(bce: Run, files: Files, order: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Compressed `.npy` (C or Fortran order, any dtype) is streamed in blocks of rows and
    gives what the memory-mapped file gives."""
    monkeypatch.setattr(base, "BLOCK_ROWS", 7)
    monkeypatch.setattr(base, "BLOCK_ROWS", 7)
    rng = np.random.default_rng(3)
    p = np.asfortranarray(rng.uniform(0.01, 0.99, (50, 3))) if order == "F" else \
        rng.uniform(0.01, 0.99, (50, 3)).astype(">f4")
    y = rng.integers(0, 2, (50, 3)).astype(np.uint8)
    files(p__npy=npy_bytes(p), y__npy=npy_bytes(y), pz__npy=gzip.compress(npy_bytes(p)),
          yz__npy=bz2.compress(npy_bytes(y)))
    plain = loss_of(bce("compute", "p.npy", "y.npy", "--json"))
    assert loss_of(bce("compute", "pz.npy", "yz.npy", "--json")) == plain
    assert loss_of(bce("compute", "-", "y.npy", "--json", input=npy_bytes(p))) == plain


def test_streamed_npy_refusals(bce: Run, files: Files) -> None:
    data = npy_bytes(np.array([0.8, 0.3, 0.6]))
    big = np.asfortranarray(np.zeros((3, 2)))
    files(a__npy=gzip.compress(data[:-4]), b__npy=gzip.compress(data[:20]),
          c__npy=gzip.compress(npy_bytes(np.array([{"a": 1}], dtype=object))),
          f__npy=gzip.compress(npy_bytes(big)), y__csv="1\n0\n1\n")
    assert refused(bce, "a.npy", "y.csv") == \
        "bce: error: a.npy: the array data ends early (the header says 3 rows)\n"
    assert refused(bce, "b.npy", "y.csv").startswith("bce: error: b.npy: not a valid .npy file (")
    assert refused(bce, "c.npy", "y.csv") == \
        "bce: error: c.npy: holds Python objects (pickle); bce never loads pickles\n"
    npy.MAX_FORTRAN_BYTES, before = 16, npy.MAX_FORTRAN_BYTES
    try:
        assert refused(bce, "f.npy", "y.csv") == (
            "bce: error: f.npy: a Fortran-order array this large cannot be streamed (over 0 MiB "
            "with its float64 copy)\nhint: save it as np.save(path, np.ascontiguousarray(a)), "
            "or decompress it (a plain file is read in place)\n")
    finally:
        npy.MAX_FORTRAN_BYTES = before


# -- encodings ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be-bom", "utf-32"])
@pytest.mark.parametrize(("name", "text"), [
    ("d.csv", "y_true,y_pred\r\n1,0.8\r\n0,0.3\r\n1,0.6\r\n"),
    ("d.tsv", "y_true\ty_pred\n1\t0.8\n0\t0.3\n1\t0.6\n"),
    ("d.json", '{"y_true": [1, 0, 1], "y_pred": [0.8, 0.3, 0.6]}'),
    ("d.jsonl", '{"y_true": 1, "y_pred": 0.8}\n{"y_true": 0, "y_pred": 0.3}\n'
                '{"y_true": 1, "y_pred": 0.6}\n'),
    ("-", "[[0.8, 1], [0.3, 0], [0.6, 1]]"),  # a BOM before JSON on stdin is JSON
    ("-", '{"y_true": 1, "y_pred": 0.8}\n{"y_true": 0, "y_pred": 0.3}\n'
          '{"y_true": 1, "y_pred": 0.6}\n'),
])
def test_byte_order_marks(bce: Run, files: Files, encoding: str, name: str, text: str) -> None:
    data = b"\xfe\xff" + text.encode("utf-16-be") if encoding == "utf-16-be-bom" else \
        text.encode(encoding)
    if name == "-":
        args = ["-"] + (["--input-format", "jsonl"] if "\n{" in text else [])
        assert loss_of(bce("compute", *args, "--json", input=data)) == TRUE
        return
    files(**{name.replace(".", "__"): data})
    assert loss_of(bce("compute", name, "--json")) == TRUE


def test_utf16_inside_gzip_and_broken_utf16(bce: Run, files: Files) -> None:
    files(d__csv=gzip.compress(CSV.decode().encode("utf-16")),
          e__csv="y_true,y_pred\n1,0.8\n".encode("utf-16")[:-1])
    assert loss_of(bce("compute", "d.csv", "--json")) == TRUE
    assert refused(bce, "e.csv") == "bce: error: e.csv: not valid UTF-16 text (truncated data)\n"


@pytest.mark.parametrize(("data", "message"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "this is a PDF document, not text"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "this is a PNG image, not text"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "this is a JPEG image, not text"),
    (b"SQLite format 3\x00\x10\x00", "this is an SQLite database, not text: export the table "
     "as CSV"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(8), "this is an Excel 97-2003 workbook (or "
     "another old Office file), not text: save it as CSV"),
    (b"\x89HDF\r\n\x1a\n" + bytes(8), "this is an HDF5 file, not text: save the arrays with "
     "numpy.save or as CSV"),
    (pickle.dumps([0.8, 0.3]), "this is a Python pickle, not text: bce never loads pickles; "
     "save arrays with numpy.save"),
    (b"\x28\xb5\x2f\xfd" + bytes(8), "this is a Zstandard-compressed file, not text: "
     "decompress it first (zstd -d)"),
    (bytes(257) + b"ustar\x0000" + bytes(300), "this is a tar archive, not text: unpack it "
     "first (tar -xf)"),
    ("y_true,y_pred\n1,0.8\n".encode("utf-16-le"), "this looks like UTF-16 text without a "
     "byte-order mark: save it as UTF-8"),
    (gzip.compress(b"%PDF-1.4\n"), "this is a PDF document, not text"),
])
def test_files_that_are_no_data_are_named(bce: Run, files: Files, data: bytes,
                                          message: str) -> None:
    files(d__csv=data)
    assert refused(bce, "d.csv") == f"bce: error: d.csv: {message}\n"
    assert refused(bce, "-", input=data) == f"bce: error: <stdin>: {message}\n"


def test_binary_data_formats_are_what_the_bytes_say(bce: Run, files: Files) -> None:
    """A `.npy` saved under a text name is still read as NumPy."""
    files(p__csv=npy_bytes(P), y__txt=npy_bytes(Y))
    assert loss_of(bce("compute", "p.csv", "y.txt", "--json")) == TRUE


# -- pandas JSON leftovers -----------------------------------------------------------------


@pytest.mark.parametrize(("preds", "targets"), [
    ('{"0":0.8,"1":0.3,"2":0.6}', '{"0":1,"1":0,"2":1}'),  # Series.to_json()
    ('{"17":0.8,"4":0.3,"9":0.6}', '{"17":1,"4":0,"9":1}'),  # a shuffled split's index
    ('{"name":"p","index":[0,1,2],"data":[0.8,0.3,0.6]}',  # orient="split"
     '{"name":null,"index":[0,1,2],"data":[1,0,1]}'),
    ('[0.8,0.3,0.6]', '{"a":true,"b":false,"c":true}'),
])
def test_series_to_json(bce: Run, files: Files, preds: str, targets: str) -> None:
    files(p__json=preds, y__json=targets)
    assert loss_of(bce("compute", "p.json", "y.json", "--json")) == TRUE


def test_series_errors_name_their_line(bce: Run, files: Files) -> None:
    files(p__json='{"0": 0.8,\n "1": "x",\n "2": 0.6}', y__json="[1, 0, 1]")
    assert refused(bce, "p.json", "y.json") == \
        "bce: error: p.json:2: \"x\" in column 0 is not a number\n"


def test_key_lists_stop_at_twenty(bce: Run, files: Files) -> None:
    """An object of 200,000 keys names the first 20, not 1.9 MB of them."""
    keys = {f"k{i}": [i] if i % 2 else {"a": 1} for i in range(200_000)}
    files(d__json=json.dumps(keys), r__json='[{"a": 1, "b": 2}, {"a": 1, "c": 2}]',
          w__json=json.dumps({f"c{i}": [1, 2] for i in range(30)}) [:-1] + ', "z": [1]}',
          n__csv=",".join(f"c{i}" for i in range(30)) + "\n" + ",".join(["1"] * 30) + "\n")
    first = ", ".join(f"'k{i}'" for i in range(20))
    assert refused(bce, "d.json") == "bce: error: d.json: a JSON object needs arrays " \
        f"(predictions and targets, or named columns); found {first}, … and 199980 more\n"
    listed = ", ".join(f"'c{i}' 2" for i in range(20))
    assert refused(bce, "w.json") == "bce: error: w.json: the columns have different lengths " \
        f"({listed}, … and 11 more)\n"
    names = ", ".join(f"c{i}" for i in range(20))
    assert refused(bce, "n.csv", "--pred-col", "x", "--target-col", "c1") == \
        f"bce: error: --pred-col 'x': no such column in n.csv (columns: {names}, … and 10 more)\n"
    assert refused(bce, "r.json").startswith("bce: error: r.json:1: record 1 has the keys")


def test_json_text_columns_nobody_reads_are_fine(bce: Run, files: Files) -> None:
    files(d__json='[{"id": "a", "y_true": 1, "y_pred": 0.8}, {"id": "b", "y_true": 0, '
                  '"y_pred": 0.3}, {"id": "c", "y_true": 1, "y_pred": 0.6}]')
    assert loss_of(bce("compute", "d.json", "--json")) == TRUE
