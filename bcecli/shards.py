"""Shards: `compute --partial` saves exact running totals, `bce merge` combines them.

A partial holds the count and the loss (and weight) sums as a few
non-overlapping floats whose exact sum is the shard's sum, so merging any
number of them gives the result one run over all the data would (within an
ulp), in any order. It also records every setting that changes the numbers;
shards computed differently are refused rather than mixed.

A partial file is JSON Lines: a header object (the schema version
`bcecli_partial`, an id unique to the run that wrote it, the settings, the
totals, the diagnostics asked for and the SHA-256 of each section), then one
line per section of the diagnostics' state (`Diagnostics.sections`: per-class
totals, histogram, worst samples, metric sums, bootstrap replicates, the score
sketch a column a line, so that no line is larger than a column), and the
header's own SHA-256 checksum over its values. Each part is checked
field by field when it is read, then for totals that contradict each other,
then against its checksums: a file that was edited, truncated, copied or written
by something else is an error naming the file (and the field, where one is
wrong), never a wrong number or an internal error. `merge` refuses a part given
twice (the same path, or the same id under another name), and reads one part at
a time: its memory is that of one sketch more than the merged one. `merged` does
the same for parts that come in memory (`Lines`: `--workers`' pieces, whose sketch
columns stay arrays, each let go as it is merged).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from bcecli.conventions import CONVENTIONS
from bcecli.core import DType, LossTotal, Reduction, exact_total
from bcecli.errors import BceError, InputError, UsageError, format_float, plural, shown_path
from bcecli.settings import Settings

if TYPE_CHECKING:
    from bcecli.diagnostics import Diagnostics

VERSION = 3  # the value of "bcecli_partial"; 1 had no id and no checksum, 2 no diagnostics
HEADER_LIMIT = 1 << 20  # the most bce reads of a header line
SECTION_LIMIT = 32 << 20  # of a section line: a column of the largest sketch is 22 MB
SECTION_NAME = re.compile(r"[a-z_]+(\.[a-z_]+)*")
REDUCTIONS = (Reduction.MEAN, Reduction.SUM, Reduction.WEIGHTED_MEAN)  # never -r none
MAX_COUNT = 2**63 - 1  # more elements than numpy can index
HEX_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex
HEX_SUM = re.compile(r"[0-9a-f]{64}")  # sha256().hexdigest()
REMAKE = "make it again with bce compute ... --partial"


@dataclass(frozen=True)
class Partial:
    """One shard's totals, and what must agree between shards; fields in file order."""

    id: str  # unique to the run that wrote it: a part given twice is refused
    classes: int
    flat: bool  # one column read as N values: the shape is (N,), not (N, 1)
    reduction: Reduction
    dtype: DType
    from_logits: bool
    weighted: bool  # weights were given (--weights or --weight-col)
    settings: Settings
    rate: float | None  # --negative-sampling-rate
    diagnostics: dict[str, Any] | None  # `DiagnosticOptions.spec`: what else was computed
    count: int
    loss_parts: list[float]
    weight_parts: list[float]
    sections: list[list[str]]  # [name, SHA-256 of its value] of each line after the header

    @classmethod
    def of(cls, total: LossTotal, *, classes: int, flat: bool, reduction: Reduction,
           dtype: DType, from_logits: bool, weighted: bool, settings: Settings,
           rate: float | None, diagnostics: dict[str, Any] | None) -> Partial:
        return cls(uuid.uuid4().hex, classes, flat, reduction, dtype, from_logits, weighted,
                   settings, rate, diagnostics, total.count, total.loss_parts,
                   total.weight_parts, [])

    @property
    def total(self) -> LossTotal:
        return LossTotal(self.count, list(self.loss_parts), list(self.weight_parts))

    def agreed(self) -> dict[str, Any]:
        """Everything but the totals: what every shard must have been computed with."""
        return {"classes": self.classes, "flat": self.flat, "reduction": self.reduction,
                "dtype": self.dtype, "from_logits": self.from_logits,
                "weighted": self.weighted, **self.settings.fields(),
                "negative_sampling_rate": self.rate, "diagnostics": self.diagnostics}

    def content(self) -> dict[str, Any]:
        """Every field of the header but the checksum, in file order."""
        return {"bcecli_partial": VERSION, "id": self.id, **self.agreed(), "count": self.count,
                "loss_parts": self.loss_parts, "weight_parts": self.weight_parts,
                "sections": self.sections}

    def checksum(self) -> str:
        """SHA-256 of the content as values, not text: reformatting a header keeps it."""
        return digest(self.content())

    def to_json(self) -> str:
        return json.dumps({**self.content(), "checksum": self.checksum()})

    def write(self, state: Diagnostics | None, stream: IO[str]) -> None:
        """The file: `lines`, a column's text written a piece at a time."""
        for line in self.lines(state):
            for text in section_text(line.name, line.values) if isinstance(line, Column) \
                    else (line,):
                stream.write(text)

    def lines(self, state: Diagnostics | None) -> Iterator[str | Column]:
        """The file's lines: this header with the checksum of each of `state`'s sections,
        then the sections, a line each, but a section that is an array (a sketch's column)
        as the array (`Column`). Each section is made twice (for its checksum, then for
        its line) rather than all of them held at once."""
        sections = [] if state is None else \
            [[name, digest(value)] for name, value in state.sections()]
        yield replace(self, sections=sections).to_json() + "\n"
        for name, value in state.sections() if state is not None else ():
            yield Column(name, value) if isinstance(value, np.ndarray) else \
                "".join(section_text(name, value))


@dataclass(frozen=True)
class Column:
    """A section that is an array (a sketch's column), as the array: in a file, the base64
    text of its little-endian bytes (`ranking.encode_column`)."""

    name: str
    values: NDArray[Any]


def section_text(name: str, value: Any) -> Iterator[str]:
    """A section's line as a file holds it, in pieces: an array's text a chunk at a time."""
    if not isinstance(value, np.ndarray):
        yield f'{{"section": "{name}", "data": {canonical(value)}}}\n'
        return
    from bcecli.ranking import encoded_chunks

    yield f'{{"section": "{name}", "data": "'
    for chunk in encoded_chunks(value):
        yield chunk.decode("ascii")
    yield '"}\n'


def canonical(value: Any) -> str:
    """A JSON value as one text whatever the order of its keys or its spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def digest(value: Any) -> str:
    """SHA-256 of `canonical`; of text (a sketch's column) without a copy of it in JSON,
    and of an array as of its base64 text (`section_text`), a chunk at a time."""
    if isinstance(value, np.ndarray):
        from bcecli.ranking import encoded_chunks

        hashed = hashlib.sha256(b'"')
        for chunk in encoded_chunks(value):
            hashed.update(chunk)
        hashed.update(b'"')
        return hashed.hexdigest()
    if isinstance(value, str) and value.isascii() and value.isprintable() and \
            '"' not in value and "\\" not in value:  # JSON writes it as it is, in quotes
        hashed = hashlib.sha256(b'"')
        hashed.update(value.encode("ascii"))
        hashed.update(b'"')
        return hashed.hexdigest()
    return hashlib.sha256(canonical(value).encode()).hexdigest()


KEYS = ("id", "classes", "flat", "reduction", "dtype", "from_logits", "weighted",
        *(field.name for field in fields(Settings)), "negative_sampling_rate", "diagnostics",
        "count", "loss_parts", "weight_parts", "sections", "checksum")
NULLABLE = {field.name for field in fields(Settings) if field.default is None} | {
    "negative_sampling_rate", "diagnostics"}


Sections = Generator[tuple[str, Any], None, None]  # (name, value) of each section line


@contextlib.contextmanager
def opened(path: str, storage: Mapping[str, Any] | None = None
           ) -> Iterator[tuple[Partial, Sections]]:
    """A partial result file's header, every field checked, and its sections, each read
    and checked as the iterator reaches it; the file (or URL: `remote`, with its
    `storage` options) is closed on leaving."""
    from bcecli import remote
    from bcecli.readers import named

    where = shown_path(path)
    named(path)
    try:
        stream = remote.open_url(path, storage or {}) if remote.is_url(path) else \
            open(remote.local_path(path) or path, "rb")  # noqa: SIM115 (closed on leaving)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", where=where) from None
    with stream:
        yield parsed(stream, where)


class Source(Protocol):
    """Where a partial result is read from: a file (read as bytes), or `Lines`."""

    def readline(self, limit: int = -1, /) -> bytes | Column: ...

    def read(self, limit: int = -1, /) -> bytes: ...


class Lines:
    """A partial result in memory (a `--workers` piece, `parallel`), read as a file is
    (`in_memory`): its lines (`Partial.lines`, as UTF-8), a sketch's column as its array,
    each let go once read, so that a part is freed a column at a time as it is merged
    (and never turned into base64 or back). Picklable: arrays travel as their bytes."""

    def __init__(self, lines: Iterable[bytes | Column]) -> None:
        self.lines = deque(lines)

    @classmethod
    def of(cls, partial: Partial, state: Diagnostics | None) -> Lines:
        """What `partial.write(state, ...)` writes, in memory."""
        return cls(line.encode() if isinstance(line, str) else line
                   for line in partial.lines(state))

    def readline(self, limit: int = -1, /) -> bytes | Column:
        """The next line, whole, or b"" at the end (`limit` is for files: a line here was
        made by bce, and its size is checked as a file's is)."""
        return self.lines.popleft() if self.lines else b""

    def read(self, limit: int = -1, /) -> bytes:
        """The rest, as a file would hold it."""
        rest = [line if isinstance(line, bytes) else
                "".join(section_text(line.name, line.values)).encode() for line in self.lines]
        self.lines.clear()
        return b"".join(rest)


@contextlib.contextmanager
def in_memory(lines: Lines, name: str) -> Iterator[tuple[Partial, Sections]]:
    """A partial result in memory, read as a file is: `name` says which in messages."""
    yield parsed(lines, name)


def parsed(stream: Source, where: str) -> tuple[Partial, Sections]:
    """The header of a partial result, every field checked, and its sections to come."""
    first = stream.readline(HEADER_LIMIT + 1)
    try:
        data = parse_header(first if isinstance(first, bytes) else b"", stream, where)
    except DuplicateKey as e:
        raise InputError(f"a broken partial result: duplicate key {json.dumps(e.key)}",
                         where=where, hint=REMAKE) from None
    version = data.get("bcecli_partial") if isinstance(data, dict) else None
    if type(version) is not int or version < 1:
        raise InputError("not a partial result (make one with bce compute ... --partial)",
                         where=where)
    if version != VERSION:
        older = version < VERSION
        why = {1: ": it has no id, so a part given twice would go unnoticed",
               2: ": it has no diagnostics"}.get(version, "")
        raise InputError(
            f"a partial result of version {version}, {'older' if older else 'newer'} than "
            f"this bce's ({VERSION}){why}",
            where=where, hint=REMAKE if older else "merge it with the bce that made it")
    assert isinstance(data, dict)
    partial = PartialFile(where, data).read()
    return partial, sections(stream, partial, where)


def parse_header(first: bytes, stream: Source, where: str) -> Any:
    """The header as JSON (None if it is not JSON): its first line, or the whole file (a
    header written over several lines, as an editor may reformat a part without
    sections; with sections after it, an error). DuplicateKey if a key is repeated."""
    from bcecli.readers import json_integer, parse_small_json

    def small(text: bytes) -> bytes:
        if len(text) > HEADER_LIMIT:
            raise InputError(f"larger than {HEADER_LIMIT >> 20} MiB, the most bce reads of a "
                             "partial result", where=where)
        return text

    try:
        return parse_small_json(small(first), unique_keys)
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    whole = small(first + stream.read(HEADER_LIMIT + 1 - len(first)))
    try:
        return parse_small_json(whole, unique_keys)
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    try:  # a header over several lines, and more after it
        text = whole.decode("utf-8-sig")
        json.JSONDecoder(object_pairs_hook=unique_keys, parse_int=json_integer).raw_decode(
            text, len(text) - len(text.lstrip()))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    raise InputError("a broken partial result: its header is on several lines, but sections "
                     "follow a header of one line", where=where, hint=REMAKE)


def sections(stream: Source, partial: Partial, where: str) -> Sections:
    """Each section named in the header, in order, its checksum checked; then the end."""
    from bcecli.readers import parse_small_json

    def broken(what: str) -> InputError:
        return InputError(f"a broken partial result: {what}", where=where, hint=REMAKE)

    for line_number, (name, expected) in enumerate(partial.sections, start=2):
        line = stream.readline(SECTION_LIMIT + 1)
        if isinstance(line, Column):  # in memory: the array itself
            data: Any = {"section": line.name, "data": line.values}
        else:
            if not line.strip():
                raise broken(f"section {name} is missing (line {line_number}): the file was "
                             "cut short")
            if len(line) > SECTION_LIMIT:
                raise broken(f"line {line_number} is larger than {SECTION_LIMIT >> 20} MiB")
            try:
                data = parse_small_json(line, unique_keys)
            except (json.JSONDecodeError, UnicodeDecodeError, DuplicateKey):
                raise broken(f"line {line_number} is not a JSON object") from None
        del line  # a sketch's column is 11 MB of text: held once at a time
        if not isinstance(data, dict) or set(data) != {"section", "data"} or \
                data["section"] != name:
            raise broken(f"line {line_number} must be section {name}: "
                         '{"section": ..., "data": ...}')
        value = data.pop("data")
        del data
        if digest(value) != expected:
            raise broken(f"section {name} does not match its checksum: it was changed after "
                         "bce wrote it")
        yield name, value
        del value  # before the next line is read
    if stream.read(HEADER_LIMIT).strip():
        raise broken(f"more lines than the header's {plural(len(partial.sections), 'section')}")


Opened = contextlib.AbstractContextManager[tuple[Partial, Sections]]


def merge(paths: list[str], diagnostics: Callable[[Partial], Diagnostics | None],
          storage: Mapping[str, Any] | None = None) -> tuple[Partial, Diagnostics | None]:
    """All partial files combined, read one at a time; each given once, all computed the
    same way (`merged`). `storage` holds the options of parts at URLs."""
    for k, path in enumerate(paths):
        if path in paths[:k]:
            raise UsageError(f"{shown_path(path)} is given twice", hint=TWICE)
    combined, state = merged(((shown_path(path), opened(path, storage)) for path in paths),
                             diagnostics)
    assert combined is not None
    return combined, state


def merged(parts: Iterable[tuple[str, Opened]],
           diagnostics: Callable[[Partial], Diagnostics | None]
           ) -> tuple[Partial | None, Diagnostics | None]:
    """Parts (each named, and opened only in its turn: a file, or a worker's text) combined
    in order; None when there are none. `diagnostics` makes the empty state the first
    part's diagnostics merge into."""
    seen: dict[str, str] = {}
    total = LossTotal()
    first: Partial | None = None
    state: Diagnostics | None = None
    names: list[str] = []
    for name, part_file in parts:
        names.append(name)
        with part_file as (part, parts):
            if part.id in seen:
                raise UsageError(f"{name} and {seen[part.id]} are the same part (id {part.id})",
                                 hint=TWICE)
            seen[part.id] = name
            if first is None:
                first, state = part, diagnostics(part)
            mine, agreed = part.agreed(), first.agreed()
            for key in mine:
                if mine[key] != agreed[key]:
                    raise UsageError(f"{name} was computed with {key} = "
                                     f"{json.dumps(mine[key])}, {names[0]} with "
                                     f"{json.dumps(agreed[key])}: shards must agree")
            expected = state.section_names() if state is not None else []
            if [section[0] for section in part.sections] != expected:
                raise InputError(f"a broken partial result: its sections must be "
                                 f"{', '.join(expected) or 'none'}", where=name, hint=REMAKE)
            total.merge(part.total)
            if state is not None:
                try:
                    state.absorb(parts, part.count, part.classes)
                except InputError:  # the file's own reading said what is wrong
                    raise
                except (ValueError, KeyError, TypeError) as e:  # a section's content
                    raise InputError(f"a broken partial result: {e}", where=name,
                                     hint=REMAKE) from None
            for _ in parts:  # the end of the file is checked too
                pass
    if first is None:
        return None, None
    return replace(first, id=uuid.uuid4().hex, count=total.count,
                   loss_parts=total.loss_parts, weight_parts=total.weight_parts), state


TWICE = "a part merged twice is counted twice: give each shard's part once"


class DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (else the last would silently win)."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise DuplicateKey(key)
        data[key] = value
    return data


def real(value: Any) -> float | None:
    """A JSON number as a float; None for anything else (true is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float
        return None


def is_sum(value: float) -> bool:
    """A sum of non-negative terms is finite, or +inf when a loss was."""
    return math.isfinite(value) or value == math.inf


def is_weight(value: float) -> bool:
    return math.isfinite(value) and value >= 0


def keys(names: list[str]) -> str:
    return f"key{'s' if len(names) > 1 else ''}: {', '.join(names)}"


def is_spec(spec: Any, classes: int, flat: bool) -> bool:
    """Whether `spec` can be a `DiagnosticOptions.spec` of a part of these classes."""
    if not isinstance(spec, dict) or set(spec) - {"slices"} != {"top", "histogram",
                                                                "class_names", "metrics"}:
        return False
    if "slices" in spec and not is_slices(spec["slices"]):
        return False
    names, metrics = spec["class_names"], spec["metrics"]
    if not (type(spec["top"]) is int and spec["top"] >= 0
            and isinstance(spec["histogram"], bool)):
        return False
    named = isinstance(names, list) and len(names) == classes and all(
        isinstance(name, str) for name in names)
    if (names is not None) if flat else not named:
        return False
    if metrics is None:
        return True
    threshold = real(metrics.get("threshold")) if isinstance(metrics, dict) else None
    return (isinstance(metrics, dict) and set(metrics) == {
        "bins", "binning", "threshold", "bootstrap", "seed", "keys"}
        and all(type(metrics[key]) is int and metrics[key] >= low
                for key, low in (("bins", 1), ("bootstrap", 0), ("seed", 0)))
        and metrics["binning"] in ("width", "mass") and metrics["keys"] in ("position", "id")
        and threshold is not None and 0 <= threshold <= 1)


def is_slices(spec: Any) -> bool:
    """Whether `spec` can be the `slices` of a `DiagnosticOptions.spec` (`--by`)."""
    from bcecli.slices import MAX_SLICES

    return (isinstance(spec, dict) and set(spec) == {"by", "max_slices", "min_slice_size"}
            and isinstance(spec["by"], list) and len(spec["by"]) > 0
            and all(isinstance(name, str) for name in spec["by"])
            and type(spec["max_slices"]) is int and 1 <= spec["max_slices"] <= MAX_SLICES
            and type(spec["min_slice_size"]) is int and spec["min_slice_size"] >= 1)


T = TypeVar("T")


class PartialFile:
    """The JSON object of one partial file, read field by field into a `Partial`."""

    def __init__(self, where: str, data: dict[str, Any]):
        self.where = where  # the file, as messages name it
        self.data = data

    def read(self) -> Partial:
        """The fields, each checked; then the totals against each other; then the checksum."""
        missing = [key for key in KEYS if key not in self.data]
        if missing:
            raise self.broken(f"missing {keys(missing)}")
        unknown = [json.dumps(key) for key in self.data if key not in (*KEYS, "bcecli_partial")]
        if unknown:
            raise self.broken(f"unknown {keys(unknown)}")
        part_id = self.text("id", HEX_ID, "32 lowercase hexadecimal digits")
        classes = self.integer("classes", 1)
        flat = self.flag("flat")
        if flat and classes != 1:
            raise self.wrong("flat", f"false with {classes} classes")
        reduction = Reduction(self.choice("reduction", REDUCTIONS))
        dtype = DType(self.choice("dtype", tuple(DType)))
        from_logits = self.flag("from_logits")
        weighted = self.flag("weighted")
        settings = Settings(
            self.optional("class_weights", self.weights), self.optional("pos_weight", self.weights),
            self.number("label_smoothing"), self.optional("eps", self.number),
            self.optional("focal_gamma", self.number), self.optional("focal_alpha", self.number),
            self.optional("like", lambda key: self.choice(key, tuple(CONVENTIONS))),
            self.optional("pos_label", self.label))
        try:
            settings.function(logits=from_logits, dtype=dtype)  # the core checks the ranges
        except BceError as e:
            raise self.broken(str(e)) from None
        for key, values, allowed in (("class_weights", settings.class_weights, {classes}),
                                     ("pos_weight", settings.pos_weight, {1, classes})):
            if values is not None and len(values) not in allowed:
                raise self.broken(f"{key} has {plural(len(values), 'value')} but classes is "
                                  f"{classes}")
        count = self.integer("count", 1)
        if count % classes:
            raise self.wrong("count", f"a multiple of classes ({classes})")
        rate = self.optional("negative_sampling_rate", self.number)
        if rate is not None and not 0 < rate <= 1:
            raise self.wrong("negative_sampling_rate", "a number in (0, 1]")
        diagnostics = self.optional("diagnostics", lambda key: self.diagnostics(classes, flat))
        signed = settings.like == "torch"  # negative weights, targets outside [0, 1]
        part = Partial(part_id, classes, flat, reduction, dtype, from_logits, weighted, settings,
                       rate, diagnostics, count, self.sum("loss_parts", "losses", signed),
                       self.sum("weight_parts", "weights", signed), self.sections())
        if not part.loss_parts:
            raise self.broken("loss_parts is empty: it must hold the sum of the losses")
        weights = weighted or settings.class_weights is not None  # both make a sum of weights
        if weights and not part.weight_parts:
            raise self.broken(f"{'weighted is true' if weighted else 'class_weights are given'}"
                              " but weight_parts is empty")
        if part.weight_parts and not weights:
            raise self.broken("weight_parts holds a sum of weights, but weighted is false and "
                              "class_weights is null")
        checksum = self.text("checksum", HEX_SUM, "64 lowercase hexadecimal digits")
        if checksum != part.checksum():
            raise self.broken("its checksum does not match: it was changed after bce wrote it")
        return part

    def broken(self, what: str) -> InputError:
        return InputError(f"a broken partial result: {what}", where=self.where, hint=REMAKE)

    def diagnostics(self, classes: int, flat: bool) -> dict[str, Any]:
        """`DiagnosticOptions.spec`, each key of its kind (the sections' contents are
        checked as they are merged)."""
        spec = self.data["diagnostics"]
        if not is_spec(spec, classes, flat):
            raise self.broken("diagnostics must be null or what bce compute wrote: top, "
                              "histogram, class_names (one per class), metrics")
        return dict(spec)

    def sections(self) -> list[list[str]]:
        value = self.data["sections"]
        if not isinstance(value, list) or not all(
                isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
                and SECTION_NAME.fullmatch(pair[0]) and isinstance(pair[1], str)
                and HEX_SUM.fullmatch(pair[1]) for pair in value):
            raise self.wrong("sections", "a list of [name, 64 hexadecimal digits]")
        return [list(pair) for pair in value]

    def wrong(self, key: str, expected: str) -> InputError:
        """`<key> must be <expected>, not <the value as JSON>`."""
        shown = json.dumps(self.data[key])
        if len(shown) > 40:
            shown = shown[:39] + "…"
        nullable = "null or " if key in NULLABLE else ""
        return self.broken(f"{key} must be {nullable}{expected}, not {shown}")

    def optional(self, key: str, read: Callable[[str], T]) -> T | None:
        return None if self.data[key] is None else read(key)

    def integer(self, key: str, low: int) -> int:
        value = self.data[key]
        if type(value) is not int or value < low:
            raise self.wrong(key, f"an integer >= {low}")
        if value > MAX_COUNT:
            raise self.wrong(key, f"at most {MAX_COUNT}")
        return value

    def flag(self, key: str) -> bool:
        value = self.data[key]
        if not isinstance(value, bool):
            raise self.wrong(key, "true or false")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.data[key]
        if not isinstance(value, str) or value not in choices:
            raise self.wrong(key, f"one of {', '.join(choices)}")
        return value

    def label(self, key: str) -> str:
        value = self.data[key]
        if not isinstance(value, str) or not value:
            raise self.wrong(key, "a label (text)")
        return value

    def number(self, key: str) -> float:
        number = real(self.data[key])
        if number is None:
            raise self.wrong(key, "a number")
        return number

    def text(self, key: str, pattern: re.Pattern[str], expected: str) -> str:
        value = self.data[key]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise self.wrong(key, expected)
        return value

    def sum(self, key: str, what: str, signed: bool) -> list[float]:
        """Parts whose exact sum is a sum of `what` (never negative, unless `signed`)."""
        parts = self.numbers(key, is_sum, "a list of finite numbers or Infinity")
        total = exact_total(parts)
        if not total >= 0 and not signed:
            raise self.broken(f"{key} add up to {format_float(total)}, but a sum of {what} "
                              "cannot be negative")
        return parts

    def numbers(self, key: str, valid: Callable[[float], bool], expected: str) -> list[float]:
        value = self.data[key]
        numbers = [real(v) for v in value] if isinstance(value, list) else [None]
        checked = [n for n in numbers if n is not None and valid(n)]
        if len(checked) != len(numbers):
            raise self.wrong(key, expected)
        return checked

    def weights(self, key: str) -> list[float]:
        return self.numbers(key, is_weight, "a list of finite numbers >= 0")
