"""The streaming loop: every input read once, rows aligned across files, into the core.

`batches` yields rows cut so that predictions, targets and weights line up; a
file that runs longer than the others is an error at its first extra row. `run`
feeds each batch to the loss function and a running `LossTotal`, and hands the
per-element losses to the output as they come, so memory stays bounded.

Rows pass through three stages:

- `Block` (readers): consecutive rows of one input, the columns some roles asked
  for, each row still knowing its source line;
- `Chunk`: one role's columns of an aligned block (predictions, targets or weights);
- `Batch`: the chunks of every role, over the same rows: what the core is fed.

`bce diff` adds a role, model B's predictions (`Batch.second`): checked as the
predictions are, its losses computed by the command; the targets B's input holds
must equal the targets row by row (`SameTargets`). `--by` adds each slice column
as a chunk of its own (`Batch.slices`), read through its `Ids` codec.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bcecli.core import FloatArray, LossFunction, LossTotal, check_weights
from bcecli.errors import BadValue, InputError, format_float
from bcecli.inputs import SECOND, Plan, Role
from bcecli.readers import Block, Reader

if TYPE_CHECKING:
    from bcecli.join import OrderCheck


@dataclass
class Streamed:
    """What streaming every row gave: one total per function, and what was seen on the way."""

    totals: list[LossTotal]
    rows: int = 0  # rows read, those skipped included
    skipped: int = 0  # rows dropped for a missing value (--skip-missing)
    lowest: float = math.inf  # the smallest and largest prediction used
    highest: float = -math.inf
    hard_predictions: bool = True  # every prediction 0 or 1
    soft_targets: bool = False  # some target neither 0 nor 1

    @property
    def looks_swapped(self) -> bool:
        """Hard predictions against soft targets: PREDICTIONS and TARGETS given the wrong
        way round, most likely."""
        return self.hard_predictions and self.soft_targets

    @property
    def predictions_in_unit_interval(self) -> bool:
        """Every prediction in [0, 1]: given with --logits, they look like probabilities."""
        return self.lowest >= 0.0 and self.highest <= 1.0


def run(plan: Plan, functions: Sequence[LossFunction], class_weights: list[float] | None,
        on_rows: Callable[[FloatArray], None] | None = None,
        on_batch: Callable[[Batch, FloatArray], None] | None = None, *,
        skip_missing: bool = False, totals: Sequence[LossTotal] | None = None,
        complete: bool = True) -> Streamed:
    """Stream every batch through each function, into one total each (`bce compare` has
    several; `totals` when not plain `LossTotal`s); the first function's per-element
    losses go to `on_rows` and, with their batch, to `on_batch` (diagnostics).

    A row with a missing value (NaN) in any role is an error, or with `skip_missing`
    left out of every role alike and counted. No rows at all is an error, unless the
    input is one piece of a larger one (not `complete`, `parallel`).
    """
    streamed = Streamed(list(totals) if totals else [LossTotal() for _ in functions])
    for batch in batches(plan):
        streamed.rows += len(batch.predictions.values)
        if batch.has_missing():
            if not skip_missing:
                raise earliest_problem(batch, functions, class_weights, skip_missing)
            missing = batch.missing_rows()
            streamed.skipped += int(missing.sum())
            batch = batch.keep(~missing)
            if not len(batch.predictions.values):
                continue
        predictions, targets = batch.predictions.values, batch.targets.values
        for view in batch.views:  # model A's predictions, then B's (`bce diff`)
            seen = view.predictions.values
            streamed.lowest = min(streamed.lowest, float(seen.min()))
            streamed.highest = max(streamed.highest, float(seen.max()))
            # each flag settles for good on the first batch that says otherwise, mostly the first
            if streamed.hard_predictions:
                streamed.hard_predictions = bool(((seen == 0) | (seen == 1)).all())
        if not streamed.soft_targets:
            streamed.soft_targets = bool(((targets != 0) & (targets != 1)).any())
        weight = weight_array(batch, class_weights)
        try:  # the weights as read, so a bad one is reported with its own value and line
            if batch.weights is not None:
                check_weights(batch.weights.values, "weight", negative=functions[0].permissive)
        except BadValue:
            raise earliest_problem(batch, functions, class_weights, skip_missing) from None
        for function, total in zip(functions, streamed.totals, strict=True):
            try:
                losses = function(predictions, targets, weight)
            except BadValue:
                raise earliest_problem(batch, functions, class_weights, skip_missing) from None
            total.add(losses, None if weight is None else function.cast(weight))
            if total is streamed.totals[0]:
                if on_rows is not None:
                    on_rows(losses)
                if on_batch is not None:
                    on_batch(batch, losses)
    if complete:
        nothing_read(plan, streamed)
    return streamed


def nothing_read(plan: Plan, streamed: Streamed) -> None:
    """Refuse a run that computed no loss: every row missing, or none."""
    if streamed.skipped and not streamed.totals[0].count:
        raise InputError(f"every row has a missing value ({streamed.skipped} skipped): "
                         "nothing is left to compute a loss from")
    if not streamed.totals[0].count:  # text readers say so sooner; an empty Parquet file
        raise InputError("has no rows", where=plan.predictions.reader.source)


@dataclass
class Chunk:
    """Aligned rows of one role: values (n,) or (n, C), and how to point at them."""

    role: Role
    block: Block

    @property
    def values(self) -> FloatArray:
        return self.block.values[:, 0] if self.role.flat else self.block.values

    def where(self, row: int) -> str:
        return self.role.reader.where(self.block, row)


@dataclass
class Batch:
    predictions: Chunk
    targets: Chunk
    weights: Chunk | None
    second: Chunk | None = None  # `bce diff`: model B's predictions
    ids: FloatArray | None = None  # --id-col: each row's id, as `readers.Ids` codes
    slices: list[Chunk] | None = None  # --by: each slice column's values, as `Ids` codes

    @staticmethod
    def of(chunks: list[Chunk]) -> Batch:
        """A batch from its chunks in role order (predictions, targets, weights, B's)."""
        second = chunks[-1] if chunks[-1].role.name == SECOND else None
        rest = chunks[:-1] if second else chunks
        return Batch(rest[0], rest[1], rest[2] if len(rest) > 2 else None, second)

    @property
    def chunks(self) -> list[Chunk]:
        return [self.predictions, self.targets] + ([self.weights] if self.weights else []) \
            + ([self.second] if self.second else [])

    @property
    def views(self) -> list[Batch]:
        """The batch as each model sees it: itself, then with B's predictions (`bce diff`)."""
        return [self] + ([Batch(self.second, self.targets, self.weights)] if self.second else [])

    def has_missing(self) -> bool:
        """Whether any role has a missing value (NaN): a NaN makes the minimum NaN, so one
        quick reduction a role instead of a mask."""
        return any(math.isnan(chunk.values.min()) for chunk in self.chunks)

    def missing_rows(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Rows with a missing value (NaN) in any role."""
        missing = np.zeros(len(self.predictions.values), dtype=bool)
        for chunk in self.chunks:
            nan = np.isnan(chunk.values)
            missing |= nan if nan.ndim == 1 else nan.any(axis=1)
        return missing

    def keep(self, rows: np.ndarray[Any, np.dtype[np.bool_]]) -> Batch:
        """The same batch, only the rows where `rows` is True."""
        kept = Batch.of([Chunk(chunk.role, chunk.block.keep(rows)) for chunk in self.chunks])
        kept.ids = None if self.ids is None else self.ids[rows]
        kept.slices = None if self.slices is None else \
            [Chunk(chunk.role, chunk.block.keep(rows)) for chunk in self.slices]
        return kept

    def chunk_of(self, name: str) -> Chunk:
        """The chunk a core `BadValue` role ("prediction", "target", "weight") refers to."""
        chunk = {"prediction": self.predictions, "target": self.targets}.get(name, self.weights)
        assert chunk is not None
        return chunk


def batches(plan: Plan) -> Iterator[Batch]:
    """Every input read once, in blocks, cut so that all roles see the same rows: paired
    by position, or by id (`--id-col`)."""
    readers: list[Reader] = []
    wanted: list[list[int]] = []
    slots = []  # (reader, first column in its blocks) of each role
    for role in plan.read:
        at = next((i for i, r in enumerate(readers) if r is role.reader), len(readers))
        if at == len(readers):
            readers.append(role.reader)
            wanted.append([])
        slots.append((at, len(wanted[at])))
        wanted[at].extend(role.columns)
    by_slots = []  # --by: after the roles' columns, before the id column
    for role in plan.by or ():
        at = next(i for i, r in enumerate(readers) if r is role.reader)
        by_slots.append((at, len(wanted[at])))
        wanted[at].extend(role.columns)
    checks: list[SameTargets | OrderCheck] = []
    if plan.second_targets is not None:
        checks.append(SameTargets(plan.targets, plan.second_targets, slots[1], slots[-1]))
    if plan.ids is not None:  # each block ends with the id column
        for reader, columns in zip(readers, wanted, strict=True):
            assert reader.id_column is not None
            columns.append(reader.id_column)
    elif len(readers) > 1 and any(reader.names for reader in readers):
        from bcecli.join import order_checks

        checks += order_checks(readers, wanted, {
            (at, c) for at, columns in enumerate(wanted) for c in columns})
    streams = [r.blocks(columns) for r, columns in zip(readers, wanted, strict=True)]
    if plan.ids is not None:
        from bcecli.join import joined

        paired = joined(streams, readers, [len(columns) for columns in wanted], plan.ids)
    else:
        paired = aligned(streams, readers, plan)
    for blocks in paired:
        for check in checks:
            check.see(blocks)
        chunks = [Chunk(role, blocks[at].select(offset, len(role.columns)))
                  for role, (at, offset) in zip(plan.roles, slots[:len(plan.roles)],
                                                strict=True)]
        batch = Batch.of(chunks)
        if plan.by:
            batch.slices = [Chunk(role, blocks[at].select(offset, 1)) for role, (at, offset)
                            in zip(plan.by, by_slots, strict=True)]
        if plan.ids is not None:
            batch.ids = blocks[0].values[:, -1]
        yield batch
    for check in checks:
        check.verdict()


class SameTargets:
    """The targets B's input holds (`bce diff`) against the targets, row by row: the first
    row where they differ is an error at the end, as `OrderCheck`'s is (a missing value
    on either side is not compared)."""

    def __init__(self, targets: Role, own: Role, at: tuple[int, int], own_at: tuple[int, int]):
        self.roles = (targets, own)
        self.places = (at, own_at)
        self.differs: tuple[str, str, float, float] | None = None

    def see(self, blocks: Sequence[Block]) -> None:
        if self.differs is not None:
            return
        values = [blocks[at].select(offset, len(role.columns)).values
                  for role, (at, offset) in zip(self.roles, self.places, strict=True)]
        differ = (values[0] != values[1]) & ~np.isnan(values[0]) & ~np.isnan(values[1])
        if differ.any():
            row, column = np.unravel_index(int(np.argmax(differ)), differ.shape)
            (at, _), (own_at, _) = self.places
            self.differs = (self.roles[1].reader.where(blocks[own_at], int(row)),
                            self.roles[0].reader.where(blocks[at], int(row)),
                            float(values[1][row, column]), float(values[0][row, column]))

    def verdict(self) -> None:
        if self.differs is not None:
            here, there, ours, theirs = self.differs
            raise InputError(f"target {format_float(ours)} here but {format_float(theirs)} at "
                             f"{there}: B's rows are not the targets' rows", where=here,
                             hint="give B the same rows in the same order, or pair them by "
                             "id with --id-col")


def aligned(streams: Sequence[Iterator[Block]], readers: Sequence[Reader], plan: Plan
            ) -> Iterator[list[Block]]:
    """Blocks of equal length from each stream; one that runs longer is an error."""
    current = [next(stream, None) for stream in streams]
    rows = 0
    while any(block is not None for block in current):
        blocks = [block for block in current if block is not None]
        if len(blocks) < len(current):
            long = next(i for i, block in enumerate(current) if block is not None)
            short = next(i for i, block in enumerate(current) if block is None)
            raise InputError(
                f"more {role_name(readers[long], plan)} than {role_name(readers[short], plan)} "
                f"({readers[short].source} has {rows})",
                where=readers[long].where(blocks[0], 0),
                hint=next((r.first_row_guess for r in readers if r.first_row_guess), None))
        size = min(len(block.values) for block in blocks)
        yield [block.take(0, size) for block in blocks]
        rows += size
        current = [block.take(size, len(block.values)) if len(block.values) > size
                   else next(stream, None) for block, stream in zip(blocks, streams, strict=True)]


def role_name(reader: Reader, plan: Plan) -> str:
    return next(role.name for role in plan.roles if role.reader is reader)


def weight_array(batch: Batch, class_weights: list[float] | None) -> FloatArray | None:
    """Row weights (n), an n×C matrix and class weights (C), multiplied into one array."""
    ndim = batch.predictions.values.ndim
    weight: FloatArray | None = None
    if batch.weights is not None:
        weight = batch.weights.values
        if ndim == 2 and weight.ndim == 1:
            weight = weight[:, np.newaxis]
        elif ndim == 1 and weight.ndim == 2:
            weight = weight[:, 0]
    if class_weights is not None:
        row = np.asarray(class_weights if ndim == 2 else class_weights[0], dtype=np.float64)
        weight = row if weight is None else weight * row
    return weight


def earliest_problem(batch: Batch, functions: Sequence[LossFunction],
                     class_weights: list[float] | None, skip_missing: bool) -> InputError:
    """The error of a batch's earliest bad row. The checks go kind by kind and role by role
    (missing values, weights, predictions, targets), so the first they come to may lie
    after another's: the rows before it are checked again until none is bad, and the
    line reported does not depend on where the blocks were cut."""
    found = first_problem(batch, functions, class_weights, skip_missing)
    assert found is not None
    while found[0]:
        rows = np.arange(len(batch.predictions.values)) < found[0]
        earlier = first_problem(batch.keep(rows), functions, class_weights, skip_missing)
        if earlier is None:
            break
        found = earlier
    return found[1]


def first_problem(batch: Batch, functions: Sequence[LossFunction],
                  class_weights: list[float] | None, skip_missing: bool
                  ) -> tuple[int, InputError] | None:
    """The first problem `run`'s checks find in a batch, with its row; None if none."""
    if not skip_missing and batch.has_missing():
        row = int(np.argmax(batch.missing_rows()))
        return row, missing_value(batch, row)
    function = functions[0]
    try:
        if batch.weights is not None:
            check_weights(batch.weights.values, "weight", negative=function.permissive)
        weight = weight_array(batch, class_weights)
    except BadValue as e:
        return e.index[0], located(e, batch, function.logits)
    found = []
    for view in batch.views:  # the earliest of model A's problems and B's (`bce diff`)
        try:
            for function in functions:
                function(view.predictions.values, view.targets.values, weight)
        except BadValue as e:
            found.append((e.index[0], located(e, view, function.logits)))
    return min(found, key=lambda problem: problem[0], default=None)


def missing_value(batch: Batch, row: int) -> InputError:
    """The first missing value of a batch's row, as a message naming file and line."""
    chunk = next(chunk for chunk in batch.chunks if np.isnan(chunk.values[row]).any())
    column = int(np.argmax(np.isnan(chunk.values[row]))) if chunk.values.ndim == 2 else 0
    return InputError(f"a missing value{chunk.role.in_column((row, column))}",
                      where=chunk.where(row),
                      hint="pass --skip-missing to leave out every row with a missing value, "
                      "in all the inputs alike")


def located(error: BadValue, batch: Batch, logits: bool) -> InputError:
    """A core `BadValue` (role, index in the batch) as a message naming file and line, with
    a hint where an option would accept the value."""
    chunk = batch.chunk_of(error.role)
    message = (f"{error.role} {format_float(error.value)}{chunk.role.in_column(error.index)} "
               f"{error.problem}")
    hint = None
    if error.role == "prediction" and error.problem == "is outside [0, 1]":
        hint = "if these are logits (raw scores), pass --logits"
    elif error.role == "target" and error.problem == "is outside [0, 1]" and \
            float(error.value).is_integer():
        hint = "if the targets are class labels, pass --pos-label with the positive one " \
            "(it becomes 1, the other 0)"
        if logits:
            hint += "; PyTorch accepts any target with logits: --like torch does too"
    elif error.role == "target" and error.problem == "is outside [0, 1]" and logits:
        hint = "PyTorch accepts any target with logits: pass --like torch to do the same"
    elif error.role == "weight" and error.problem == "is negative":
        hint = "PyTorch accepts negative weights (Monte-Carlo event weights): pass --like " \
            "torch to do the same"
    return InputError(message, where=chunk.where(error.index[0]), hint=hint)
