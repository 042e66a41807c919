"""What a command reads and how, once Typer has parsed its options.

`InputOptions` (where the data comes from, shared by `compute`, `compare` and
`diff`) opens the inputs into a `Plan`; `Evaluation` holds issue 13's metric
options and `SliceLimits` the limits of `--by`; a `Job` is a `compute` run once its
options are checked. A Job is
picklable and reads its input through the normal pipeline wherever it runs, so
`parallel` hands one, with some of the files (`InputOptions.only`), to each
worker process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bcecli import remote
from bcecli.core import DType, FloatArray, Floor, LossFunction, LossTotal, Reduction
from bcecli.environment import Environment
from bcecli.errors import BceError, UsageError, plural
from bcecli.inputs import Plan, gather, is_many
from bcecli.pipeline import Streamed, run
from bcecli.progress import ByteProgress
from bcecli.readers import Ids, Labels
from bcecli.settings import Settings

if TYPE_CHECKING:
    from bcecli.diagnostics import Diagnostics
    from bcecli.shards import Partial
    from bcecli.sources import RowGroups, Selection

MAX_BINS = 1000  # --bins: each batch visits every bin
MAX_REPLICATES = 10_000  # --bootstrap


@dataclass(repr=False, eq=False)
class InputOptions:
    """Where the data comes from: the options `compute`, `compare` and `diff` share."""

    predictions: str
    targets: str | None
    weights: str | None
    pred_col: str | None
    target_col: str | None
    weight_col: str | None
    header: bool | None
    input_format: str | None
    skip_missing: bool
    no_progress: bool
    pos_label: str | None = None
    decimal: str = "."
    id_col: str | None = None
    second: str | None = None  # `bce diff`: model B's predictions
    by: str | None = None  # --by: the slice columns
    # some files of a many-file input, or row groups of a Parquet file (a piece)
    only: Mapping[str, Selection | RowGroups] | None = None
    storage_options: Sequence[str] = ()  # --storage-option KEY=VALUE, for URL inputs

    def plan(self, resources: ExitStack, env: Environment, settings: Settings) -> Plan:
        """Open the inputs (closed by `resources`) and check the per-class lists against them."""
        labels = Labels(self.pos_label)  # a bad label is refused before any input is read
        storage = remote.options(self.storage_options)  # and bad storage options
        remote.check_used(storage, [self.predictions, self.targets, self.weights, self.second])
        progress = None
        if not self.no_progress and env.stderr_isatty:
            progress = ByteProgress(input_size(self.predictions, self.targets, self.weights,
                                               self.second), sys.stderr)
            resources.callback(progress.close)
        plan = gather(self.predictions, self.targets, weights=self.weights, second=self.second,
                      pred_col=self.pred_col, target_col=self.target_col,
                      weight_col=self.weight_col, header=self.header,
                      input_format=self.input_format, decimal=self.decimal, labels=labels,
                      id_col=self.id_col, by=self.by, column_vectors=settings.like == "sklearn",
                      on_read=progress.advance if progress else None, only=self.only,
                      storage=storage, resources=resources)
        for option, values, allowed in (
                ("--pos-weight", settings.pos_weight, (1, plan.classes)),
                ("--class-weights", settings.class_weights, (plan.classes,))):
            if values is not None and len(values) not in allowed:
                raise UsageError(f"{option} has {plural(len(values), 'value')} but the input "
                                 f"has {plural(plan.classes, 'class')}")
        return plan


@dataclass(frozen=True)
class SliceLimits:
    """--max-slices and --min-slice-size, as given (None: not given)."""

    max_slices: int | None = None
    min_slice_size: int | None = None

    def check(self, by: str | None, reduction: Reduction, metrics: bool = False) -> None:
        """Refuse what cannot be honoured, before any input is read."""
        from bcecli.slices import MAX_METRIC_SLICES, MAX_SLICES

        for option, value in (("--max-slices", self.max_slices),
                              ("--min-slice-size", self.min_slice_size)):
            if value is not None and by is None:
                raise UsageError(f"{option} needs --by")
        if self.max_slices is not None and not 1 <= self.max_slices <= MAX_SLICES:
            raise UsageError(f"--max-slices must be in [1, {MAX_SLICES}], not {self.max_slices}")
        if metrics and (self.max_slices or 0) > MAX_METRIC_SLICES:
            raise UsageError(f"--max-slices with --metrics is at most {MAX_METRIC_SLICES}, not "
                             f"{self.max_slices}: each slice keeps a score sketch")
        if self.min_slice_size is not None and self.min_slice_size < 1:
            raise UsageError(f"--min-slice-size must be at least 1, not {self.min_slice_size}")
        if by is not None and not reduction.single:
            raise UsageError(f"--by gives a loss per slice: not with -r {reduction}",
                             hint="use -r mean, sum or weighted-mean")

    def options(self) -> dict[str, int]:
        """The `DiagnosticOptions` fields of the limits given."""
        given = {"max_slices": self.max_slices, "min_slice_size": self.min_slice_size}
        return {key: value for key, value in given.items() if value is not None}


@dataclass(frozen=True)
class Evaluation:
    """The options of issue 13's metrics, as given (None: not given)."""

    bins: int | None = None
    binning: str | None = None
    bootstrap: int | None = None
    seed: int | None = None
    base: str | None = None
    rate: float | None = None  # --negative-sampling-rate

    def check(self, metrics: bool, reduction: Reduction, partial: bool, baseline: bool) -> None:
        """Refuse what cannot be honoured, before any input is read; first problem first."""
        needs_metrics = (("--bins", self.bins), ("--binning", self.binning),
                         ("--bootstrap", self.bootstrap), ("--seed", self.seed))
        for option, value in needs_metrics:
            if value is not None and not metrics:
                raise UsageError(f"{option} needs --metrics")
        if self.seed is not None and self.bootstrap is None:
            raise UsageError("--seed needs --bootstrap")
        if self.bins is not None and not 1 <= self.bins <= MAX_BINS:
            raise UsageError(f"--bins must be in [1, {MAX_BINS}], not {self.bins}")
        if self.bootstrap is not None and not 1 <= self.bootstrap <= MAX_REPLICATES:
            raise UsageError(f"--bootstrap must be in [1, {MAX_REPLICATES}], "
                             f"not {self.bootstrap}")
        if self.rate is not None and not 0 < self.rate <= 1:
            raise UsageError(f"--negative-sampling-rate must be in (0, 1], not {self.rate}")
        if self.base is not None:
            if not reduction.single:
                raise UsageError(f"--base applies to a reduced loss: not with -r {reduction}",
                                 hint="per-element losses are in nats; divide by ln 2 for bits")
            if baseline:
                raise UsageError("--base cannot be used with --baseline, which is in nats")
        if partial and self.base is not None:
            raise UsageError("--partial keeps losses in nats, as bce merge prints them: use "
                             "--base without --partial")

    def fields(self) -> dict[str, Any]:
        """The JSON keys of the options that change the loss, only when given."""
        given = {"base": 2} if self.base == "2" else {}
        return given | ({} if self.rate is None else {"negative_sampling_rate": self.rate})

    @property
    def radix(self) -> float | None:
        """--base as a number: 2.0 for bits, None for nats."""
        return 2.0 if self.base == "2" else None


MAX_WORKERS = 1024


def check_split(option: str, inputs: InputOptions, reduction: Reduction,
                evaluation: Evaluation) -> None:
    """Refuse `option` (`--workers`, `--scheduler`) where the input cannot be split into
    pieces that merge exactly."""
    if "-" in (inputs.predictions, inputs.targets, inputs.weights):
        raise UsageError(f"{option} splits files: stdin ('-') is read by one process")
    if not reduction.single:
        raise UsageError(f"{option} merges totals: -r {reduction} writes every loss in order, "
                         "in one process", hint=f"drop {option}")
    if evaluation.bootstrap is not None and inputs.id_col is None:
        raise UsageError(f"--bootstrap with {option} needs --id-col: each piece numbers its "
                         "rows from 1, so only an id draws a row's replicates alike in every "
                         "piece and in one run")
    if inputs.pos_label is not None:
        raise UsageError("--pos-label learns the other label from the rows in their order: "
                         "it is read by one process", hint=f"drop {option}, or write the "
                         "targets as 0 and 1")


@dataclass(repr=False, eq=False)
class Job:
    """A `compute` run once its options are checked: what to read and how. Picklable, so
    that a piece of the input can run in another process (`parallel`)."""

    inputs: InputOptions
    settings: Settings
    logits: bool
    reduction: Reduction
    dtype: DType
    floor: Floor | None  # the --like convention's floor of each log term
    evaluation: Evaluation
    top: int
    metrics: bool
    threshold: float | None
    hist: bool
    limits: SliceLimits | None = None  # --max-slices, --min-slice-size
    arrow: bool | None = None  # the score sketch's size, where the run decided it (parallel)

    def function(self) -> LossFunction:
        function = self.settings.function(logits=self.logits, dtype=self.dtype,
                                          floor=self.floor)
        if self.evaluation.rate is not None:
            from bcecli.diagnostics import Recalibrated

            function = Recalibrated(function, self.evaluation.rate)
        return function

    def stream(self, resources: ExitStack, env: Environment,
               on_rows: Callable[[FloatArray], None] | None = None, *, complete: bool = True
               ) -> tuple[Plan, Streamed, Diagnostics | None]:
        """Read every row once: the plan, the totals and the diagnostics' state (`complete`:
        see `pipeline.run`)."""
        plan = self.inputs.plan(resources, env, self.settings)
        diagnostics = self.diagnostics(plan)
        streamed = run(plan, [self.function()], self.settings.class_weights, on_rows,
                       diagnostics.observe if diagnostics else None,
                       skip_missing=self.inputs.skip_missing, complete=complete)
        return plan, streamed, diagnostics

    def diagnostics(self, plan: Plan) -> Diagnostics | None:
        """The empty state of the diagnostics asked for (the per-class losses of multi-label
        input always); None without any."""
        if not (self.top or self.metrics or self.hist or not plan.predictions.flat or plan.by):
            return None
        from bcecli.diagnostics import DiagnosticOptions, Diagnostics
        from bcecli.evaluation import DEFAULT_BINS, DEFAULT_SEED

        evaluation, reduction = self.evaluation, self.reduction
        return Diagnostics(DiagnosticOptions(
            top=self.top, per_class=not plan.predictions.flat, metrics=self.metrics,
            histogram=self.hist, threshold=self.threshold, logits=self.logits,
            bins=evaluation.bins or DEFAULT_BINS, mass=evaluation.binning == "mass",
            base=evaluation.radix, rate=evaluation.rate or 1.0,
            bootstrap=evaluation.bootstrap or 0,
            seed=DEFAULT_SEED if evaluation.seed is None else evaluation.seed,
            by_id=plan.ids is not None,
            reduction=str(reduction) if reduction.single else "mean",
            weighted=plan.weights is not None or self.settings.class_weights is not None,
            class_weights=self.settings.class_weights, by=slice_names(plan),
            **(self.limits or SliceLimits()).options(), arrow=self.arrow), plan.ids,
            slice_codecs(plan))

    def partial(self, plan: Plan, total: LossTotal, diagnostics: Diagnostics | None
                ) -> Partial:
        """The totals as a partial result (`--partial`, and each piece of `--workers`)."""
        from bcecli.shards import Partial

        return Partial.of(total, classes=plan.classes, flat=plan.predictions.flat,
                          reduction=self.reduction, dtype=self.dtype, from_logits=self.logits,
                          weighted=plan.weights is not None, settings=self.settings,
                          rate=self.evaluation.rate,
                          diagnostics=diagnostics.options.spec(plan.predictions.column_names)
                          if diagnostics else None)


def input_size(*paths: str | None) -> int | None:
    """Bytes to read, for the progress bar (every file of a glob or directory); None when
    stdin is among them."""
    if "-" in paths:
        return None
    try:
        return sum(os.path.getsize(file) for path in paths if path is not None
                   for file in (files_of(path) if is_many(path) else [path]))
    except (OSError, BceError):  # the reading will say what is wrong
        return None


def files_of(path: str) -> list[str]:
    from bcecli.sources import expand

    return expand(path)


def slice_names(plan: Plan) -> tuple[str, ...]:
    """The names of the `--by` columns: the header's, else the 0-based position."""
    return tuple(role.reader.names[role.columns[0]] if role.reader.names
                 else str(role.columns[0]) for role in plan.by or ())


def slice_codecs(plan: Plan) -> list[Ids]:
    """The codec each `--by` column is read through."""
    codecs = [role.reader.codecs[role.columns[0]] for role in plan.by or ()]
    assert all(isinstance(codec, Ids) for codec in codecs)
    return codecs  # type: ignore[return-value]
