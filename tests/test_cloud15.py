"""URLs as inputs (issue 15): object storage through a real S3 API, HTTP, file://.

S3 is moto's server (`ThreadedMotoServer`) on loopback, its bucket filled with
boto3; HTTP is `http.server` on loopback, with byte ranges, in a thread. A URL
run must equal the local run on the same bytes to the bit; each failure is one
exact line naming the URL. The tests that need the `cloud` and `test-cloud`
extras skip without them; `file://`, the option parsing and the message without
the extra run everywhere.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bcecli import remote
from bcecli.errors import UsageError
from tests.helpers import BCE, Files, Run, output, refused

HAS_S3 = all(find_spec(name) for name in ("fsspec", "s3fs", "moto", "boto3", "flask"))
HAS_HTTP = all(find_spec(name) for name in ("fsspec", "aiohttp"))
HAS_ARROW = find_spec("pyarrow") is not None
HAS_DASK = find_spec("distributed") is not None
needs_s3 = pytest.mark.skipif(not HAS_S3, reason="the cloud and test-cloud extras are not "
                              "installed")
needs_http = pytest.mark.skipif(not HAS_HTTP, reason="the cloud extra is not installed")
needs_arrow = pytest.mark.skipif(not HAS_ARROW, reason="the arrow extra is not installed")
BUCKET = "bce-data"
ROWS = 2000


def data_files(folder: Path) -> dict[str, bytes]:
    """The shards every test reads, locally and at a URL: CSV (one file per role, and both
    in one gzipped), JSON Lines, and Parquet where pyarrow is installed."""
    rng = np.random.default_rng(15)
    p = rng.uniform(0.001, 0.999, ROWS)
    y = (rng.uniform(size=ROWS) < p).astype(int)
    w = rng.uniform(0.5, 2.0, ROWS)
    out = {
        "p.csv": ("p\n" + "".join(f"{float(v)!r}\n" for v in p)).encode(),
        "y.csv": ("y\n" + "".join(f"{v}\n" for v in y)).encode(),
        "w.csv": ("w\n" + "".join(f"{float(v)!r}\n" for v in w)).encode(),
        "both.jsonl": "".join(json.dumps({"p": float(a), "y": int(b)}) + "\n"
                              for a, b in zip(p, y, strict=True)).encode(),
    }
    import gzip

    out["both.csv.gz"] = gzip.compress(b"p,y\n" + b"".join(
        f"{float(a)!r},{b}\n".encode() for a, b in zip(p, y, strict=True)), mtime=0)
    if HAS_ARROW:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / "both.parquet"
        pq.write_table(pa.table({"p": p, "y": y}), path, row_group_size=500)
        out["both.parquet"] = path.read_bytes()
    for name, content in out.items():
        (folder / name).write_bytes(content)
    return out


# -- S3: moto's server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 API on loopback with the shards in a bucket: its endpoint URL."""
    if not HAS_S3:
        pytest.skip("the cloud and test-cloud extras are not installed")
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as env:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.setenv(key, "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        env.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint)
            client.create_bucket(Bucket=BUCKET)
            folder = tmp_path_factory.mktemp("shards")
            for name, content in data_files(folder).items():
                client.put_object(Bucket=BUCKET, Key=f"shards/{name}", Body=content)
            client.put_object(Bucket=BUCKET, Key="bad.csv", Body=b"p,y\n0.5,1\n1.5,0\n")
            yield endpoint
        finally:
            server.stop()


@pytest.fixture(autouse=True)
def fresh_filesystems() -> None:
    forget_filesystems()


def forget_filesystems() -> None:
    """fsspec keeps one filesystem per set of options; a test that changes the environment
    (credentials, the endpoint) must not get one made before."""
    if find_spec("fsspec"):
        import fsspec

        for kind in fsspec.registry.values():
            kind.clear_instance_cache()


def local(bce: Run, folder: Path, *args: str) -> dict[str, Any]:
    """`bce compute --json` on the local copies."""
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return output(bce, *args)
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same shards on this machine."""
    folder = tmp_path_factory.mktemp("local")
    data_files(folder)
    return folder


CASES = [("p.csv", "y.csv", "--weights", "w.csv"), ("both.jsonl",), ("both.csv.gz",),
         pytest.param(("both.parquet",), marks=needs_arrow)]


@needs_s3
@pytest.mark.parametrize("names", CASES)
def test_s3_equals_the_local_run_to_the_bit(bce: Run, s3: str, shards: Path,
                                           names: tuple[str, ...]) -> None:
    urls = [name if name.startswith("--") else f"s3://{BUCKET}/shards/{name}" for name in names]
    got = output(bce, *urls, "--storage-option", f"endpoint_url={s3}")
    want = local(bce, shards, *names)
    assert (got["loss"], got["count"], got["columns"]) == \
        (want["loss"], want["count"], want["columns"])
    assert got["predictions"] == urls[0]


@needs_s3
def test_the_endpoint_and_credentials_come_from_the_environment(
        bce: Run, s3: str, shards: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3)
    got = output(bce, f"s3://{BUCKET}/shards/both.jsonl")
    assert got["loss"] == local(bce, shards, "both.jsonl")["loss"]
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    forget_filesystems()
    assert refused(bce, f"s3://{BUCKET}/shards/both.jsonl") == (
        f"bce: error: s3://{BUCKET}/shards/both.jsonl: no credentials: Unable to locate "
        "credentials\nhint: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE "
        "(see docs/cloud.md); a public bucket: --storage-option anon=true\n")


@needs_s3
@pytest.mark.parametrize(("url", "options", "message"), [
    (f"s3://{BUCKET}/shards/none.csv", [], "no such file"),
    ("s3://no-such-bucket/p.csv", [], "no such bucket"),
    (f"s3://{BUCKET}/shards/p.csv", ["anon=true"], "access denied\nhint: check the "
     "credentials the filesystem finds (see docs/cloud.md)"),
])
def test_s3_failures_name_the_url(bce: Run, s3: str, url: str, options: list[str],
                                  message: str) -> None:
    args = [arg for option in options for arg in ("--storage-option", option)]
    assert refused(bce, url, "--storage-option", f"endpoint_url={s3}", *args) == \
        f"bce: error: {url}: {message}\n"


FAST = json.dumps({"connect_timeout": 0.5, "read_timeout": 0.5, "retries": {"max_attempts": 1}})


@needs_s3
def test_a_refused_connection_names_the_url(bce: Run) -> None:
    port = free_port()
    url = f"s3://{BUCKET}/p.csv"
    assert refused(bce, url, "--storage-option", f"endpoint_url=http://127.0.0.1:{port}",
                   "--storage-option", f"config_kwargs={FAST}") == (
        f'bce: error: {url}: cannot connect: Could not connect to the endpoint URL: '
        f'"http://127.0.0.1:{port}/{BUCKET}/p.csv"\nhint: is the endpoint right '
        "(--storage-option endpoint_url=…, AWS_ENDPOINT_URL)?\n")


@needs_s3
def test_a_timeout_names_the_url(bce: Run) -> None:
    """An endpoint that takes the connection and never answers."""
    with silent_server() as port:
        url = f"s3://{BUCKET}/p.csv"
        assert refused(bce, url, "--storage-option", f"endpoint_url=http://127.0.0.1:{port}",
                       "--storage-option", f"config_kwargs={FAST}") == (
            f'bce: error: {url}: timed out: Read timeout on endpoint URL: '
            f'"http://127.0.0.1:{port}/{BUCKET}/p.csv"\nhint: is the endpoint right? '
            "--storage-option sets the timeouts (see docs/cloud.md)\n")


@needs_s3
def test_a_bad_value_names_the_url_and_line(bce: Run, s3: str, files: Files) -> None:
    """The message of the local file, with the URL where its name was."""
    files(bad__csv="p,y\n0.5,1\n1.5,0\n")
    want = refused(bce, "bad.csv")
    url = f"s3://{BUCKET}/bad.csv"
    assert "bad.csv:3:" in want
    assert refused(bce, url, "--storage-option", f"endpoint_url={s3}") == \
        want.replace("bad.csv", url)


@needs_s3
def test_an_unknown_storage_option_is_a_usage_error(bce: Run, s3: str) -> None:
    assert refused(bce, f"s3://{BUCKET}/shards/p.csv", "--storage-option",
                   f"endpoint_url={s3}", "--storage-option", "colour=1") == (
        "bce: error: --storage-option: the s3:// filesystem refuses them "
        "(AioSession.__init__() got an unexpected keyword argument 'colour')\n")


# -- many files at a URL: a pattern, or a folder ending in / ---------------------------------

SHARD_ROWS = [(700, "csv"), (500, "jsonl"), (800, "parquet" if HAS_ARROW else "csv")]


def shard(fmt: str, columns: dict[str, Any]) -> bytes:
    """One shard's bytes: a table of these columns as CSV, JSON Lines or Parquet."""
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(pa.table(columns), sink, row_group_size=300)
        return bytes(sink.getvalue().to_pybytes())
    rows = list(zip(*columns.values(), strict=True))
    if fmt == "jsonl":
        return "".join(json.dumps(dict(zip(columns, (v.item() for v in row), strict=True)))
                       + "\n" for row in rows).encode()
    return (",".join(columns) + "\n" + "".join(",".join(repr(v.item()) for v in row) + "\n"
                                                for row in rows)).encode()


def many_files() -> dict[str, bytes]:
    """Shards of predictions and of targets, in three formats, beside what a Spark job
    leaves (`_SUCCESS`, a hidden `.crc` checksum) and a subfolder; a copy of the targets
    with one row fewer in a shard (`short/`), shards with a bad value (`bad/`), and a tree
    for `**` with a hidden folder (`deep/`)."""
    rng = np.random.default_rng(151)
    out: dict[str, bytes] = {}
    for k, (rows, fmt) in enumerate(SHARD_ROWS):
        p = rng.uniform(0.001, 0.999, rows)
        y = (rng.uniform(size=rows) < p).astype(np.int64)
        out[f"preds/part-{k:05d}.{fmt}"] = shard(fmt, {"p": p})
        out[f"targets/part-{k:05d}.{fmt}"] = shard(fmt, {"y": y})
        out[f"short/part-{k:05d}.{fmt}"] = shard(fmt, {"y": y[:-1] if k == 1 else y})
    out |= {"preds/_SUCCESS": b"", "preds/.part-00000.csv.crc": b"crc\x00",
            "preds/sub/part-00000.csv": b"p\n0.5\n", "bad/part-00000.csv": b"p,y\n0.5,1\n",
            "bad/part-00001.csv": b"p,y\n0.2,0\n0.7,1\n1.5,1\n"}
    for name in ("deep/top.csv", "deep/a/x.csv", "deep/b/c/y.csv", "deep/.hidden/z.csv",
                 "deep/b/.z.csv", "deep/b/notes.md"):
        out[name] = b"p,y\n0.25,0\n"
    return out


@pytest.fixture(scope="module")
def many(s3: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`many_files` under `s3://bce-data/many/`, and the same files on this machine: their
    folder."""
    import boto3

    folder = tmp_path_factory.mktemp("many")
    client = boto3.client("s3", endpoint_url=s3)
    for name, content in many_files().items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
        client.put_object(Bucket=BUCKET, Key=f"many/{name}", Body=content)
    return folder


MANY = f"s3://{BUCKET}/many/"


def at_url(bce: Run, s3: str, *args: str) -> Any:
    """`bce compute ARGS` over moto's S3, the run's output or error with `MANY` taken out of
    every name: what the same run on the local copies says."""
    result = bce("compute", *(arg.replace("@", MANY) for arg in args), "--storage-option",
                 f"endpoint_url={s3}")
    return result.exit_code, result.stdout.replace(MANY, ""), result.stderr.replace(MANY, "")


def at_home(bce: Run, folder: Path, *args: str) -> Any:
    """The same run on the local copies (`@` is the folder, as the working directory)."""
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        result = bce("compute", *(arg.replace("@", "") for arg in args))
    finally:
        os.chdir(cwd)
    return result.exit_code, result.stdout, result.stderr


@needs_s3
@pytest.mark.parametrize("inputs", [("@preds/part-*", "@targets/part-*"),
                                    ("@preds/", "@targets/"), ("@preds/", "@targets/*")])
def test_a_pattern_or_folder_url_equals_the_local_run_to_the_bit(
        bce: Run, s3: str, many: Path, inputs: tuple[str, str]) -> None:
    """Shards in three formats, in name order, paired shard by shard: the whole JSON (every
    name with the bucket's prefix taken out) is the local run's text."""
    args = (*inputs, "--metrics", "--hist", "--top", "5", "--json")
    got = at_url(bce, s3, *args)
    assert got == at_home(bce, many, *args)
    result = json.loads(got[1])
    assert result["count"] == sum(rows for rows, _ in SHARD_ROWS)
    assert {item["where"].split(":")[0].split("[")[0] for item in result["top"]} <= {
        f"preds/part-{k:05d}.{fmt}" for k, (_, fmt) in enumerate(SHARD_ROWS)}


@needs_s3
def test_a_folder_url_lists_its_data_files_and_their_sizes(s3: str, many: Path) -> None:
    """Its objects of a known format only (not `_SUCCESS`, the `.crc`, the subfolder), and
    the whole input's bytes from the listing, without a request for each file."""
    import s3fs

    from bcecli.sources import selected

    asked: list[str] = []
    info = s3fs.S3FileSystem._info

    async def counted(self: Any, path: str, **kwargs: Any) -> Any:
        asked.append(path)
        return await info(self, path, **kwargs)

    names = [f"preds/part-{k:05d}.{fmt}" for k, (_, fmt) in enumerate(SHARD_ROWS)]
    want = (MANY + names[0], tuple(MANY + name for name in names),
            sum((many / name).stat().st_size for name in names))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(s3fs.S3FileSystem, "_info", counted)
        for url in (f"{MANY}preds/", f"{MANY}preds/part-*", f"{MANY}preds/*.*",
                    f"{MANY}preds/part-0000[0-2].*", f"{MANY}preds/part-0000?.*"):
            chosen = selected(url, {"endpoint_url": s3})
            assert (chosen.first, chosen.files, chosen.size) == want, url
    assert [path for path in asked if "part-" in path] == []  # (the folder's own: glob's)


@needs_s3
def test_a_double_star_matches_at_any_depth_as_pythons_glob_does(s3: str, many: Path) -> None:
    from bcecli.sources import expand, selected

    for pattern in ("deep/**/*.csv", "deep/**", "deep/*/*.csv", "deep/**/.*.csv"):
        local = [os.path.relpath(name, many) for name in expand(str(many / pattern))]
        listed = selected(MANY + pattern, {"endpoint_url": s3}).files
        assert [url.removeprefix(MANY) for url in listed] == local, pattern
    assert local == ["deep/b/.z.csv"]


@needs_s3
def test_paired_shards_of_unequal_rows_are_refused_naming_both(bce: Run, s3: str,
                                                               many: Path) -> None:
    got = at_url(bce, s3, "@preds/", "@short/")
    assert got == at_home(bce, many, "@preds/", "@short/")
    assert got == (2, "", "bce: error: short/part-00001.jsonl: has 499 rows but "
                   "preds/part-00001.jsonl has 500: paired shards must have as many rows\n"
                   "hint: the files of each input pair one to one in name order\n")


@needs_s3
def test_a_bad_value_names_the_shard_url_and_its_line(bce: Run, s3: str, many: Path) -> None:
    got = at_url(bce, s3, "@bad/*.csv")
    assert got == at_home(bce, many, "@bad/*.csv")
    assert got[2].startswith("bce: error: bad/part-00001.csv:4: prediction 1.5 ")


@needs_s3
def test_workers_on_a_url_pattern_give_one_process_result(s3: str, many: Path) -> None:
    """Real processes, each piece opening its own URLs with the run's storage options."""
    args = [str(BCE), "compute", f"{MANY}preds/part-*", f"{MANY}targets/", "--metrics",
            "--top", "5", "--json", "--storage-option", f"endpoint_url={s3}"]
    runs = [subprocess.run(args + extra, capture_output=True, text=True, check=False)
            for extra in ([], ["--workers", "2"])]
    assert [(run.returncode, run.stderr) for run in runs] == [(0, "")] * 2
    assert runs[1].stdout == runs[0].stdout


@needs_s3
@pytest.mark.skipif(not HAS_DASK, reason="the dask extra is not installed")
def test_a_dask_cluster_reads_a_url_pattern(s3: str, many: Path, tmp_path: Path) -> None:
    """The tasks open their shards' URLs with the run's storage options (the credentials are
    the workers' own, here the same environment's), from whatever directory the workers
    run in: a URL is no relative path."""
    import distributed

    args = [str(BCE), "compute", f"{MANY}preds/part-*", f"{MANY}targets/", "--metrics",
            "--top", "5", "--json", "--storage-option", f"endpoint_url={s3}"]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as cluster:
        assert Path.cwd() != tmp_path  # the workers' directory is not bce's
        runs = [subprocess.run(args + extra, capture_output=True, text=True, check=False,
                               cwd=tmp_path, timeout=120)
                for extra in ([], ["--scheduler", cluster.scheduler_address])]
    assert [(run.returncode, run.stderr) for run in runs] == [(0, "")] * 2
    assert runs[1].stdout == runs[0].stdout


@needs_s3
def test_what_many_files_at_a_url_refuse(bce: Run, s3: str, many: Path) -> None:
    for url, message in (
            (f"{MANY}preds/*.tsv", "no file matches this pattern"),
            (f"{MANY}nothing/", "a directory with no data file in it (.csv, .tsv, .txt, .json, "
             ".jsonl, .ndjson, .npy, .parquet, .feather, …, or compressed)"),
            ("s3://no-such-bucket/preds/*.csv", "no such bucket"),
            ("s3://no-such-bucket/preds/", "no such bucket"),
            (f"{MANY}preds", "is a folder (the beginning of other files' names), not a file\n"
             f"hint: end it with / to read its files as one input: {MANY}preds/")):
        assert refused(bce, url, "--storage-option", f"endpoint_url={s3}") == \
            f"bce: error: {url}: {message}\n"


@needs_s3
def test_storage_options_reach_the_listing(bce: Run, s3: str) -> None:
    """The listing goes where the options say (not to the bucket's server, `s3`, whose
    credentials the environment holds), and fails there in remote's one line."""
    port = free_port()
    url = f"s3://{BUCKET}/many/preds/*.csv"
    error = refused(bce, url, "--storage-option", f"endpoint_url=http://127.0.0.1:{port}",
                    "--storage-option", f"config_kwargs={FAST}")
    # botocore's text goes on with the listing's query (list-type=2&prefix=…)
    assert error.startswith(f"bce: error: {url}: cannot connect: Could not connect to the "
                            f'endpoint URL: "http://127.0.0.1:{port}/{BUCKET}?'), error
    assert error.endswith('"\nhint: is the endpoint right (--storage-option endpoint_url=…, '
                          "AWS_ENDPOINT_URL)?\n") and error.count("\n") == 2


@needs_s3
def test_merge_reads_parts_at_urls(bce: Run, s3: str, files: Files) -> None:
    """`bce merge` of partial results in a bucket equals the merge of the same files."""
    import boto3

    files(a__csv="p,y\n0.8,1\n0.3,0\n", b__csv="p,y\n0.6,1\n0.1,0\n")
    client = boto3.client("s3", endpoint_url=s3)
    for name in ("a", "b"):
        part = bce("compute", f"{name}.csv", "--partial")
        assert part.exit_code == 0, part.stderr
        Path(f"{name}.json").write_text(part.stdout)
        client.put_object(Bucket=BUCKET, Key=f"parts/{name}.json", Body=part.stdout.encode())
    want = bce("merge", "a.json", "b.json", "--json")
    got = bce("merge", f"s3://{BUCKET}/parts/a.json", f"s3://{BUCKET}/parts/b.json", "--json",
              "--storage-option", f"endpoint_url={s3}")
    assert got.exit_code == 0, got.stderr
    assert json.loads(got.stdout)["loss"] == json.loads(want.stdout)["loss"]
    missing = bce("merge", f"s3://{BUCKET}/parts/a.json", f"s3://{BUCKET}/parts/c.json",
                  "--storage-option", f"endpoint_url={s3}")
    assert (missing.exit_code, missing.stdout, missing.stderr) == (
        2, "", f"bce: error: s3://{BUCKET}/parts/c.json: no such file\n")


@needs_s3
@needs_arrow
def test_parquet_is_read_by_column_and_row_group(bce: Run, s3: str,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Two columns of ten: the bytes fetched are about a fifth of the file, not all of it."""
    import boto3
    import pyarrow as pa
    import pyarrow.parquet as pq
    import s3fs

    rng = np.random.default_rng(7)
    rows = 200_000
    columns: dict[str, Any] = {f"f{k}": rng.uniform(size=rows) for k in range(8)}
    columns |= {"p": rng.uniform(0.01, 0.99, rows), "y": rng.integers(0, 2, rows)}
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=20_000, compression="none")
    boto3.client("s3", endpoint_url=s3).upload_file(str(path), BUCKET, "wide.parquet")
    fetched: list[int] = []
    fetch = s3fs.core.S3File._fetch_range

    def counted(self: Any, start: int, end: int) -> Any:
        fetched.append(end - start)
        return fetch(self, start, end)

    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", counted)
    got = output(bce, f"s3://{BUCKET}/wide.parquet", "--pred-col", "p", "--target-col", "y",
                 "--storage-option", f"endpoint_url={s3}")
    assert got["count"] == rows
    assert got["loss"] == local(bce, tmp_path, "wide.parquet", "--pred-col", "p",
                                "--target-col", "y")["loss"]
    size = path.stat().st_size
    assert len(fetched) > 10  # row group by row group
    assert sum(fetched) < 0.3 * size, (sum(fetched), size)


# -- HTTP: a server on loopback --------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """`http.server`'s files, whole, whatever the request asks."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class RangeHandler(QuietHandler):
    """`http.server`'s files, with the byte ranges (206) object stores and CDNs serve."""

    def send_head(self) -> Any:
        wanted = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not wanted or not path.is_file():
            return super().send_head()
        first, _, last = wanted.removeprefix("bytes=").partition("-")
        data = path.read_bytes()
        start, end = int(first), min(int(last or len(data) - 1), len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        import io

        return io.BytesIO(data[start:end + 1])


class QuietServer(http.server.ThreadingHTTPServer):
    """A server that says nothing of clients that hang up early (bce, once refused):
    running in-process, it would write on the run's stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def serve(folder: Path, handler: type[http.server.SimpleHTTPRequestHandler]
          ) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = QuietServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def web(shards: Path) -> Iterator[str]:
    server, url = serve(shards, RangeHandler)
    yield url
    server.shutdown()
    server.server_close()


@needs_http
@pytest.mark.parametrize("names", CASES)
def test_http_equals_the_local_run_to_the_bit(bce: Run, web: str, shards: Path,
                                              names: tuple[str, ...]) -> None:
    urls = [name if name.startswith("--") else f"{web}/{name}" for name in names]
    got = output(bce, *urls)
    want = local(bce, shards, *names)
    assert (got["loss"], got["count"]) == (want["loss"], want["count"])


@needs_http
def test_http_failures_name_the_url(bce: Run, web: str) -> None:
    assert refused(bce, f"{web}/none.csv") == f"bce: error: {web}/none.csv: no such file\n"
    port = free_port()
    url = f"http://127.0.0.1:{port}/p.csv"
    assert refused(bce, url) == (
        f"bce: error: {url}: cannot connect: Cannot connect to host 127.0.0.1:{port} "
        f"ssl:default [Connect call failed ('127.0.0.1', {port})]\nhint: is the endpoint "
        "right (--storage-option endpoint_url=…, AWS_ENDPOINT_URL)?\n")


@needs_http
def test_a_server_without_ranges_is_read_as_a_stream(bce: Run, tmp_path: Path) -> None:
    """`http.server` as it is sends whole files: refused at the first range beyond the
    start (files larger than one read), read with block_size=0 as one stream."""
    rows = 20_000
    (tmp_path / "p.csv").write_text("".join(f"{(k % 97 + 1) / 99!r}\n" for k in range(rows)))
    (tmp_path / "y.csv").write_text("".join(f"{k % 2}\n" for k in range(rows)))
    server, url = serve(tmp_path, QuietHandler)
    try:
        want = local(bce, tmp_path, "p.csv", "y.csv")["loss"]
        assert refused(bce, f"{url}/p.csv", f"{url}/y.csv") == (
            f"bce: error: {url}/p.csv: the server does not send parts of a file (HTTP "
            "ranges)\nhint: --storage-option block_size=0 reads it as one stream\n")
        got = output(bce, f"{url}/p.csv", f"{url}/y.csv", "--storage-option", "block_size=0")
        assert got["loss"] == want
    finally:
        server.shutdown()
        server.server_close()


def test_http_lists_no_files(bce: Run) -> None:
    """No listing over HTTP (fsspec's would be the links of an HTML index page): a pattern
    or a folder is refused in one line, before anything is asked of the server."""
    for url in ("https://example.org/preds/*.csv", "https://example.org/preds/",
                "http://example.org/p[0-9].csv?v=1"):
        assert refused(bce, url) == (
            f"bce: error: {url}: an HTTP server gives no list of its files: a pattern or a "
            "folder (a URL ending in /) cannot be read over http(s)\nhint: pass each file's "
            "URL, or the store's own URL (s3://, gs://, az://), which lists them\n")


@needs_http
def test_an_http_query_is_not_a_pattern(bce: Run, web: str, shards: Path) -> None:
    assert output(bce, f"{web}/both.jsonl?version=2")["loss"] == \
        local(bce, shards, "both.jsonl")["loss"]


# -- without the extra, and file:// ----------------------------------------------------------


def test_a_url_without_the_extra_names_it(bce: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "fsspec.core", None)
    assert refused(bce, "s3://bucket/p.csv") == ('bce: error: s3://bucket/p.csv: reading URLs '
                                                 'needs the cloud extra: pip install '
                                                 '"bcecli[cloud]"\n')


def test_file_urls_are_local_files(bce: Run, files: Files, tmp_path: Path) -> None:
    files(**{"p é%__csv": "p\n0.8\n0.3\n0.6\n"}, y__csv="y\n1\n0\n1\n",
          bad__csv="p,y\n0.5,1\n2,0\n")
    url = (tmp_path / "p é%.csv").as_uri()  # percent-escaped: file:///…/p%20%C3%A9%25.csv
    assert "%20%C3%A9%25" in url
    got = output(bce, url, (tmp_path / "y.csv").as_uri())
    assert got["loss"] == output(bce, "p é%.csv", "y.csv")["loss"]
    assert got["predictions"] == url
    bad = (tmp_path / "bad.csv").as_uri()
    assert refused(bce, bad) == refused(bce, "bad.csv").replace("bad.csv", bad)
    none = (tmp_path / "none.csv").as_uri()
    assert refused(bce, none) == f"bce: error: {none}: no such file\n"
    assert refused(bce, "file://host/p.csv") == (
        "bce: error: file://host/p.csv: a file:// URL names a file on this machine: "
        "file:///path/to/file\n")


def test_file_url_patterns_and_folders_are_local_ones(bce: Run, files: Files,
                                                      tmp_path: Path) -> None:
    files()
    (tmp_path / "d").mkdir()
    for name, text in (("a.csv", "p,y\n0.8,1\n0.3,0\n"), ("b.csv", "p,y\n0.6,1\n"),
                       ("_SUCCESS", "")):
        (tmp_path / "d" / name).write_text(text)
    want = output(bce, "d")["loss"]
    for url in ((tmp_path / "d").as_uri(), (tmp_path / "d").as_uri() + "/*.csv"):
        got = output(bce, url)
        assert (got["loss"], got["count"], got["predictions"]) == (want, 3, url)


def test_storage_options_parse_as_json_else_text() -> None:
    assert remote.options(["endpoint_url=http://127.0.0.1:9000", "anon=true",
                           'config_kwargs={"read_timeout": 5}', "region=", "key=a=b"]) == {
        "endpoint_url": "http://127.0.0.1:9000", "anon": True,
        "config_kwargs": {"read_timeout": 5}, "region": "", "key": "a=b"}
    for pairs, message in ((["anon"], "--storage-option 'anon': expected KEY=VALUE, as "
                             "endpoint_url=http://127.0.0.1:9000"),
                           (["=1"], "--storage-option '=1': expected KEY=VALUE, as "
                            "endpoint_url=http://127.0.0.1:9000"),
                           (["anon=true", "anon=false"], "--storage-option anon is given twice")):
        with pytest.raises(UsageError) as caught:
            remote.options(pairs)
        assert str(caught.value) == message


def test_storage_options_without_a_url_are_refused(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n", y__csv="1\n")
    assert refused(bce, "p.csv", "y.csv", "--storage-option", "anon=true") == (
        "bce: error: --storage-option applies to URL inputs (s3://, gs://, az://, https://): "
        "none was given\n")


def test_a_local_run_imports_no_filesystem(files: Files, tmp_path: Path) -> None:
    """Start-up is unchanged by the extra: a plain run imports none of it."""
    files(p__csv="0.8\n0.3\n", y__csv="1\n0\n")
    script = ("import sys\nfrom bcecli.cli import run\n"
              "sys.argv = ['bce', 'compute', 'p.csv', 'y.csv', '--json']\n"
              "try:\n    run()\nexcept SystemExit:\n    pass\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in "
              "('fsspec', 's3fs', 'aiohttp', 'botocore', 'aiobotocore')), "
              "file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, check=True)
    assert done.stdout.startswith('{"loss": ')
    assert done.stderr == "[]\n"


# -- helpers -----------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class silent_server:
    """A loopback server that accepts connections and never answers."""

    def __enter__(self) -> int:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        threading.Thread(target=self.accept, daemon=True).start()
        port: int = self.socket.getsockname()[1]
        return port

    def accept(self) -> None:
        self.socket.settimeout(0.2)
        while not self.stop.is_set():
            try:
                self.held.append(self.socket.accept()[0])
            except OSError:
                continue

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.socket.close()
        for held in self.held:
            held.close()
