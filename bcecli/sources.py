"""Many files as one input: a glob pattern or a directory, read as one table in name order.

`inputs.is_many` tells such an input from a file by its name alone (nothing is
imported for it on a plain run); `selected` lists its files: a pattern's matches,
or a directory's files of a known format (hidden files, subdirectories and the
likes of Spark's `_SUCCESS` left out: `data_file`), sorted by name; here
(`expand`), or at a URL, a pattern or a folder ending in `/` over object storage,
from one listing of the store (`remote.listing`). A `ShardsReader` is the
`Reader` of them all: the first file decides the columns, and every other must
have the same header (else an error naming it); blocks come shard after shard,
one file open at a time, rows numbered across the files, and `where` names the
shard and its own line.

Two or more such inputs in one run (PREDICTIONS and TARGETS) pair shard by shard
(`Pairing`): as many files each, and each pair as many rows, checked as the rows
stream, before a row of one shard could meet a row of another.

A `Selection` reads some of the files only, the columns still decided by the first:
one piece of the input, as `parallel` hands a worker (`only` in `inputs.gather`); a
`RowGroups` some row groups of one Parquet file.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence, Sized
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np

from bcecli.errors import InputError, UsageError, listed, plural, shown_path
from bcecli.readers import Arrays, Block, Reader

OpenShard = Callable[[str, ExitStack], Reader]  # a file's reader, its header settled


@dataclass(frozen=True)
class Selection:
    """Which files of a many-file input to read: `files`, with the columns the first file
    of the whole input (`first`) decides, and read as the whole input's `size` bytes are
    (with pyarrow's parsers if they pay: `readers.arrow_pays`)."""

    first: str
    files: tuple[str, ...]
    size: int


    @property
    def paths(self) -> tuple[str, ...]:
        """The files opened: the first of the input (for its columns) and these."""
        return (self.first, *self.files)

    @property
    def name(self) -> str:
        return shown_path(self.files[0])


@dataclass(frozen=True)
class RowGroups:
    """Some row groups of one Parquet file (`parallel` cuts a large one into pieces)."""

    path: str
    groups: range

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path,)

    @property
    def name(self) -> str:
        return f"{shown_path(self.path)} (row groups {self.groups.start + 1} to " \
               f"{self.groups.stop})"


def selected(path: str, storage: Mapping[str, Any] | None = None) -> Selection:
    """Every file of a pattern or directory: on this machine (a `file://` URL too), or at a
    URL, named and sized by one listing of the store (`remote.listing`, with the run's
    `storage` options)."""
    from bcecli import remote

    if not remote.is_url(path):
        files = expand(path)
        return Selection(files[0], tuple(files), sum(os.path.getsize(name) for name in files))
    folder = path.endswith("/")
    listed = [(url, size) for url, size in remote.listing(path, storage or {})
              if not folder or data_file(url.rpartition("/")[2])]
    check_found(listed, path, folder)
    return Selection(listed[0][0], tuple(url for url, _ in listed),
                     sum(size for _, size in listed))


def table(data: Reader | dict[str, Reader] | Arrays, path: str) -> Reader:
    """A shard's reader: a table, not a JSON object of its own arrays nor an `.npz`."""
    if not isinstance(data, Reader):
        raise InputError("holds named arrays (a JSON object of predictions and targets, an "
                         ".npz): the files of a glob or directory must be tables",
                         where=shown_path(path))
    return data


def expand(path: str) -> list[str]:
    """The files of a pattern or a directory here, sorted by name; none is an error."""
    from bcecli.remote import local_path

    local = local_path(path) or path
    folder = os.path.isdir(local)
    if folder:
        try:
            names = sorted(os.listdir(local))
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror or e}", where=shown_path(path)) from None
        files = [os.path.join(local, name) for name in names
                 if data_file(name) and os.path.isfile(os.path.join(local, name))]
    else:
        import glob

        files = sorted(name for name in glob.glob(local, recursive=True) if os.path.isfile(name))
    check_found(files, path, folder)
    return files


def data_file(name: str) -> bool:
    """Whether a directory's (or a folder URL's) file is read: its name says a format bce
    reads, and it is not hidden, nor the likes of Spark's `_SUCCESS`."""
    from bcecli.readers import known_suffix

    return not name.startswith((".", "_")) and known_suffix(name)


def check_found(files: Sized, path: str, folder: bool) -> None:
    """A directory or a pattern with no file to read is an error naming it."""
    if not files:
        raise InputError("a directory with no data file in it (.csv, .tsv, .txt, .json, "
                         ".jsonl, .ndjson, .npy, .parquet, .feather, …, or compressed)"
                         if folder else "no file matches this pattern", where=shown_path(path))


class Pairing:
    """The many-file inputs of one run, paired shard by shard: each shard of one must have
    as many rows as the same shard of every other. Told each block's rows as they stream
    (`seen`), it refuses a pair the moment one side has more rows than the other can."""

    def __init__(self, members: Sequence[ShardsReader]):
        self.members = list(members)
        first = self.members[0]
        for other in self.members[1:]:
            if len(other.files) != len(first.files):
                raise UsageError(f"{first.source} has {plural(len(first.files), 'file')} but "
                                 f"{other.source} has {len(other.files)}: many-file inputs pair "
                                 "shard by shard, in name order")
        for member in self.members:
            member.pairing = self

    def seen(self, member: ShardsReader) -> None:
        """`member` has read `member.rows` rows of shard `member.shard` (all of them when
        `member.ended`): refuse it where another member's same shard holds fewer."""
        k, rows = member.shard, member.rows
        for other in self.members:
            if other is member:
                continue
            theirs = other.counts[k] if k < len(other.counts) else None
            if theirs is not None and (rows > theirs or (member.ended and rows != theirs)):
                raise mismatch(member, rows, other, theirs)
            if theirs is None and other.shard == k and member.ended and other.rows > rows:
                raise mismatch(member, rows, other, other.rows + other.rest())


def mismatch(one: ShardsReader, rows: int, other: ShardsReader, theirs: int) -> InputError:
    if rows > theirs and not one.ended:
        rows += one.rest()
    return InputError(f"has {plural(rows, 'row')} but {other.current_name} has {theirs}: paired "
                      "shards must have as many rows", where=one.current_name,
                      hint="the files of each input pair one to one in name order")


class ShardsReader(Reader):
    """The files of a pattern or directory (`source`, as given) as one table."""

    def __init__(self, source: str, selection: Selection, open_shard: OpenShard,
                 resources: ExitStack):
        self.selection = selection
        self.open_shard = open_shard
        self.head = open_shard(selection.first, resources)  # decides the columns
        super().__init__(source, self.head.names, self.head.width, self.head.nested)
        self.copy_head()
        self.pairing: Pairing | None = None
        self.shard = 0  # the shard being read, its rows so far, and whether they are all
        self.rows = 0
        self.ended = False
        self.counts: list[int] = []  # rows of each shard read to its end
        self.starts: list[int] = []  # the first row of each shard begun, across the files
        self.current: Reader | None = None
        self.pending: Iterator[Block] | None = None  # the rest of the current shard's blocks

    @property
    def files(self) -> tuple[str, ...]:
        return self.selection.files

    @property
    def current_name(self) -> str:
        return shown_path(self.files[self.shard])

    def copy_head(self) -> None:
        head = self.head
        self.header_kind, self.first_line = head.header_kind, head.first_line
        self.first_row_guess, self.lists = head.first_row_guess, dict(head.lists)

    def size(self, column: int) -> int | None:
        """A list column's length, as the first file says (an Arrow file reads it only
        when a role picks the column); every later file must say the same."""
        size = self.head.size(column)
        if size is not None:
            self.lists[column] = size
        return size

    def settle_header(self, header: bool) -> None:
        self.head.settle_header(header)
        self.names = self.head.names
        self.copy_head()

    def blocks(self, columns: Sequence[int]) -> Iterator[Block]:
        start = 0
        for k, path in enumerate(self.files):
            self.shard, self.rows, self.ended = k, 0, False
            self.starts.append(start)
            with ExitStack() as resources:
                reader = self.head if path == self.selection.first else \
                    self.same_columns(self.open_shard(path, resources))
                reader.codecs, reader.id_column = self.codecs, self.id_column
                self.current = reader
                self.pending = reader.blocks(columns)
                for block in self.pending:
                    self.rows += len(block.values)
                    if self.pairing is not None:
                        self.pairing.seen(self)
                    block.start += start
                    if block.indices is not None:
                        block.indices = block.indices + start
                    yield block
                self.ended = True
                self.counts.append(self.rows)
                if self.pairing is not None:
                    self.pairing.seen(self)
            start += self.rows
        self.current = self.pending = None

    def rest(self) -> int:
        """The rows left in the current shard, counted (a message's number: the error path)."""
        return sum(len(block.values) for block in self.pending or ())

    def same_columns(self, reader: Reader) -> Reader:
        """A later shard, its header settled as the first's was, refused unless its columns
        are the first's."""
        head = self.head
        if reader.header_kind == "maybe":
            reader.settle_header(head.header_kind == "positions")
        if (reader.names, reader.width, reader.nested) != (head.names, head.width, head.nested):
            raise InputError(f"its columns ({columns_of(reader)}) are not those of "
                             f"{head.source} ({columns_of(head)}): every file of {self.source} "
                             "must have the same header", where=reader.source)
        for column, size in self.lists.items():
            if reader.size(column) != size:
                raise InputError(f"its lists in column {reader.column_label(column)} hold "
                                 f"{reader.size(column) or 'no'} values, those of {head.source} "
                                 f"{size}: every file of {self.source} must have the same "
                                 "columns", where=reader.source)
        return reader

    def where(self, block: Block, row: int) -> str:
        """The shard's own `file:line` (or `file[row]`) of a row numbered across the files."""
        index = block.index(row)
        k = bisect_right(self.starts, index) - 1
        one = Block(np.empty((1, 0)), index - self.starts[k], block.line(row))
        if k == self.shard and self.current is not None:
            return self.current.where(one, 0)
        with ExitStack() as resources:  # a shard read before (`--id-col`'s messages)
            return self.open_shard(self.files[k], resources).where(one, 0)


def columns_of(reader: Reader) -> str:
    if reader.names is not None:
        return listed(reader.names)
    return plural(reader.width, "column") + " without a header"


def pair(readers: Sequence[Reader], id_col: str | None) -> None:
    """Pair the many-file inputs of a run shard by shard (see `Pairing`): not when rows are
    joined by id, which pairs them wherever they are."""
    many = list(dict.fromkeys(r for r in readers if isinstance(r, ShardsReader)))
    if len(many) > 1 and id_col is None:
        Pairing(many)
