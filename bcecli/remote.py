"""Inputs at URLs: object storage (s3://, gs://, az://), http(s):// and file://.

`is_url` tells a URL from a path by its scheme alone, importing nothing, so a
plain local run costs what it did. `open_url` opens one through fsspec as a
binary stream of its stored bytes, read by range, which `readers.open_input`
then treats as it treats a file: every format, compression and reader works on
it; text streams; Parquet is read from its footer, only the columns wanted,
row group by row group (`Input.ranged`). fsspec and the filesystems (s3fs;
gcsfs and adlfs installed apart; aiohttp for http) come with the `cloud` extra
and are imported for a URL only. A `file://` URL is a path on this machine and
needs none of them (`local_path`).

A URL that is a glob pattern or ends in `/` names many files (`names_many`), read as
one input (`sources`): `listing` gives their URLs and sizes from one listing of
the store, never a request per file. HTTP has no listing, and is refused.

`--storage-option KEY=VALUE` goes to the filesystem as a keyword (`options`);
credentials come as each filesystem finds them (AWS_ACCESS_KEY_ID,
AWS_ENDPOINT_URL, GOOGLE_APPLICATION_CREDENTIALS, …). Whatever the filesystem
raises, on opening or on any later read, becomes one line naming the URL
(`failure`): a missing bucket or file, access denied, a timeout, a refused
connection.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Mapping, Sequence
from typing import IO, Any

from bcecli.errors import BceError, InputError, UsageError

EXTRA = 'pip install "bcecli[cloud]"'
BUFFER = 1 << 16  # what a small read fetches (sniffing a format); larger reads go as asked
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HTTP = ("http", "https")
# The filesystems fsspec names, where the `cloud` extra does not bring them.
_PACKAGES = {"gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs", "abfss": "adlfs",
             "adl": "adlfs"}


def scheme(path: str) -> str | None:
    """The scheme of a URL (`s3` of `s3://b/k`), lower case; None for a path."""
    found = _SCHEME.match(path)
    return found.group(1).lower() if found else None


def is_url(path: str) -> bool:
    """A URL read through fsspec: any scheme but `file`, which is a local path."""
    return scheme(path) not in (None, "file")


def local_path(path: str) -> str | None:
    """The path a `file://` URL names on this machine (`file:///tmp/p.csv` → `/tmp/p.csv`,
    percent-escapes undone); None for anything else."""
    if scheme(path) != "file":
        return None
    host, slash, rest = path[len("file://"):].partition("/")
    if host not in ("", "localhost"):
        raise UsageError(f"{path}: a file:// URL names a file on this machine: "
                         "file:///path/to/file")
    # Percent-escapes are bytes of UTF-8 (bcecli imports no urllib: see test_hardening).
    escaped = re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]),
                     (slash + rest).encode("utf-8", "surrogateescape"))
    return escaped.decode("utf-8", "surrogateescape")


def options(pairs: Sequence[str]) -> dict[str, Any]:
    """`--storage-option KEY=VALUE`s as keywords: a value that parses as JSON is that
    (`anon=true`, `config_kwargs={"read_timeout": 5}`), any other is text
    (`endpoint_url=http://127.0.0.1:9000`). A key given twice is refused."""
    import json

    out: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        key = key.strip()
        if not equals or not key.isidentifier():
            raise UsageError(f"--storage-option {pair!r}: expected KEY=VALUE, as "
                             "endpoint_url=http://127.0.0.1:9000")
        if key in out:
            raise UsageError(f"--storage-option {key} is given twice")
        try:
            out[key] = json.loads(text)
        except ValueError:
            out[key] = text
    return out


def check_used(storage: Mapping[str, Any], paths: Sequence[str | None]) -> None:
    """Storage options with no URL to apply to are a mistake, not a no-op."""
    if storage and not any(path is not None and is_url(path) for path in paths):
        raise UsageError("--storage-option applies to URL inputs (s3://, gs://, az://, "
                         "https://): none was given")


def open_url(url: str, storage: Mapping[str, Any]) -> IO[bytes]:
    """A URL's bytes as a buffered binary stream, seekable where the filesystem reads by
    range (not an HTTP server without ranges, nor `block_size=0`); failures name it."""
    fs, path = filesystem(url, storage)
    try:
        file = fs.open(path, "rb", cache_type="none")  # each read one request, as asked
    except Exception as e:
        raise failure(e, url, storage) from None
    if (getattr(file, "details", None) or {}).get("type") == "directory":  # s3fs opens one
        file.close()
        raise InputError("is a folder (the beginning of other files' names), not a file",
                         where=url, hint=f"end it with / to read its files as one input: {url}/")
    return io.BufferedReader(RemoteFile(file, url, storage), buffer_size=BUFFER)


def names_many(url: str) -> bool:
    """Whether a URL names many files, by its name alone (nothing is asked of the store): a
    glob pattern (`*`, `?`, `[`; `**` at any depth) or a folder, a name ending in `/`. Over
    http(s) a `?` starts the query, not a pattern."""
    rest = url.partition("://")[2]
    if scheme(url) in _HTTP:
        rest = re.split("[?#]", rest, maxsplit=1)[0]
        return rest.endswith("/") or any(c in rest for c in "*[")
    return rest.endswith("/") or any(c in rest for c in "*?[")


def listing(url: str, storage: Mapping[str, Any]) -> list[tuple[str, int]]:
    """The files of a URL that names many (`names_many`), each with its size in bytes, sorted
    by name, from the listing alone (no request per file): a folder's objects (not its
    subfolders'), or a pattern's matches (a name beginning with `.` only where the pattern
    says `.`, as Python's glob has it). Each is named as the URL is written (its scheme, an
    account in it), so that it opens with the same options anywhere. An HTTP server has no
    listing: refused (fsspec would scrape the links of an HTML index page)."""
    if scheme(url) in _HTTP:
        raise UsageError("an HTTP server gives no list of its files: a pattern or a folder "
                         "(a URL ending in /) cannot be read over http(s)", where=url,
                         hint="pass each file's URL, or the store's own URL (s3://, gs://, "
                         "az://), which lists them")
    fs, path = filesystem(url, storage)
    folder = url.endswith("/")
    try:
        found = fs.ls(path, detail=True) if folder else list(fs.glob(path, detail=True).values())
    except FileNotFoundError:  # s3fs' word for a folder with nothing in it
        found = []
    except Exception as e:
        raise failure(e, url, storage) from None
    fs.invalidate_cache()  # its copy of every entry: about 1 KB an object, not needed again
    files = sorted((named(url, path, fs, info["name"]), int(info.get("size") or 0))
                   for info in found if info["type"] == "file"
                   and (folder or not hidden(info["name"], path)))
    if not files:
        check_bucket(fs, path, url)
    return files


def hidden(name: str, pattern: str) -> bool:
    """A match Python's glob would leave out: a part of its name that a wildcard matched
    begins with `.`, and no part of the pattern from its first wildcard on does."""
    parts = pattern.split("/")
    fixed = next((k for k, part in enumerate(parts) if any(c in part for c in "*?[")),
                 len(parts))
    return not any(part.startswith(".") for part in parts[fixed:]) and \
        any(part.startswith(".") for part in name.split("/")[fixed:])


def named(url: str, path: str, fs: Any, name: str) -> str:
    """The URL of a name the filesystem listed under `path` (its form of `url`): `url`'s own
    beginning, then the name from the parts where the two forms agree
    (`abfs://c@account.dfs.core.windows.net/d/` lists `c/d/a.csv`)."""
    ours, theirs = url.rstrip("/").split("/"), path.split("/")
    common = 0
    while common < min(len(ours), len(theirs)) and ours[-1 - common] == theirs[-1 - common]:
        common += 1
    head = "/".join(theirs[:len(theirs) - common])
    prefix = head + "/" if head else ""
    if not name.startswith(prefix):
        return str(fs.unstrip_protocol(name))
    return "/".join(ours[:len(ours) - common]) + "/" + name[len(prefix):]


def check_bucket(fs: Any, path: str, url: str) -> None:
    """s3fs lists nothing, without an error, in a bucket that does not exist: say so."""
    try:
        fs.info(path.split("/")[0])
    except FileNotFoundError:
        raise InputError("no such bucket", where=url) from None
    except Exception:  # the bucket itself may be closed to a key allowed to list in it
        return


def filesystem(url: str, storage: Mapping[str, Any]) -> tuple[Any, str]:
    """fsspec's filesystem for the URL's scheme, made with the storage options, and the
    path within it."""
    try:
        import fsspec.core
    except ImportError:
        raise UsageError(f"reading URLs needs the cloud extra: {EXTRA}", where=url) from None
    try:
        fs, path = fsspec.core.url_to_fs(url, **storage)
    except Exception as e:
        raise failure(e, url, storage) from None
    return fs, path


class RemoteFile(io.RawIOBase):
    """An fsspec file as raw I/O for `io.BufferedReader`, each failure of a read one line
    naming the URL (a connection lost midway, a timeout)."""

    def __init__(self, file: Any, url: str, storage: Mapping[str, Any]):
        super().__init__()
        self.file, self.url, self.storage = file, url, storage
        # An HTTP response read as a stream (no size) cannot seek: Parquet is then read whole.
        self.ranged = bool(file.seekable()) and getattr(file, "size", None) is not None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.ranged

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.file.read(len(buffer))
        except Exception as e:
            raise failure(e, self.url, self.storage) from None
        buffer[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return int(self.file.seek(offset, whence))
        except Exception as e:
            raise failure(e, self.url, self.storage) from None

    def tell(self) -> int:
        return int(self.file.tell())

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):  # read only: nothing is lost
                self.file.close()
        super().close()


def failure(error: BaseException, url: str, storage: Mapping[str, Any]) -> BceError:
    """What a filesystem raised, as one line naming the URL. fsspec's HTTP filesystem
    reports every failure to open as "not found": its cause says what it was."""
    if isinstance(error, BceError):
        return error
    name = scheme(url) or ""
    if isinstance(error, ImportError):  # the filesystem of this scheme is not installed
        package = _PACKAGES.get(name)
        return UsageError(f"reading {name}:// URLs needs "
                          f"{package + ': pip install ' + package if package else EXTRA}",
                          where=url)
    if isinstance(error, ValueError) and str(error).startswith("Protocol not known"):
        return UsageError(f"unknown URL scheme {name}://", where=url)
    if isinstance(error, TypeError) and storage:  # a keyword the filesystem does not take
        return UsageError(f"--storage-option: the {name}:// filesystem refuses them "
                          f"({reason(error)})")
    cause = error.__cause__ if isinstance(error, FileNotFoundError) and \
        name in _HTTP and error.__cause__ is not None else error
    status = getattr(cause, "status", None)  # an HTTP response's
    if is_kind(cause, "Timeout") or isinstance(cause, TimeoutError):
        return InputError(f"timed out: {reason(cause)}", where=url,
                          hint="is the endpoint right? --storage-option sets the timeouts "
                          "(see docs/cloud.md)")
    if is_kind(cause, "Connect") or isinstance(cause, ConnectionError):
        return InputError(f"cannot connect: {reason(cause)}", where=url,
                          hint="is the endpoint right (--storage-option endpoint_url=…, "
                          "AWS_ENDPOINT_URL)?")
    if is_kind(cause, "NoCredentials"):  # botocore's: nothing in the environment
        return InputError(f"no credentials: {reason(cause)}", where=url,
                          hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE "
                          "(see docs/cloud.md); a public bucket: --storage-option anon=true")
    if isinstance(cause, PermissionError) or status in (401, 403):
        return InputError("access denied", where=url,
                          hint="check the credentials the filesystem finds (see docs/cloud.md)")
    if isinstance(cause, FileNotFoundError) or status in (404, 410):
        text = str(cause).lower()
        bucket = "bucket does not exist" in text or "nosuchbucket" in text
        return InputError("no such bucket" if bucket else "no such file", where=url)
    if isinstance(cause, IsADirectoryError):
        return InputError("is a directory, not a file", where=url)
    if status is not None:
        return InputError(f"cannot read: HTTP {status} {getattr(cause, 'message', '')}".strip(),
                          where=url)
    if "support range requests" in str(cause):
        return InputError("the server does not send parts of a file (HTTP ranges)", where=url,
                          hint="--storage-option block_size=0 reads it as one stream")
    return InputError(f"cannot read: {reason(cause)}", where=url)


def is_kind(error: BaseException, word: str) -> bool:
    """Whether an exception's class, or one it derives from, has `word` in its name: how
    botocore's, aiohttp's and the others' timeouts and connection errors are told apart
    without importing any of them."""
    return any(word in kind.__name__ for kind in type(error).__mro__)


def reason(error: BaseException) -> str:
    """An exception's text on one line (its class where it has none)."""
    return " ".join(str(error).split()) or type(error).__name__
