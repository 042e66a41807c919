"""What `bce compute`, `compare`, `diff` and `merge` do once Typer has parsed their options.

Each command checks its options before reading any input, in a fixed order (the
first problem is the one reported), reads every input once, and writes through
one `render.Output`. What it needs from the terminal comes in an `Environment`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bcecli import remote
from bcecli.conventions import CONVENTIONS, choose
from bcecli.core import DType, Reduction
from bcecli.environment import Environment
from bcecli.errors import ClosedPipe, ExitStatus, UsageError
from bcecli.gates import Gates
from bcecli.inputs import Plan, is_many
from bcecli.job import (
    MAX_WORKERS,
    Evaluation,
    InputOptions,
    Job,
    SliceLimits,
    check_split,
    slice_codecs,
    slice_names,
)
from bcecli.pipeline import Streamed, run
from bcecli.render import ComparisonRow, Format, Output, Result
from bcecli.settings import Settings

if TYPE_CHECKING:
    from bcecli.diagnostics import Diagnostics
    from bcecli.shards import Partial

MAX_TOP = 20_000  # --top: its samples are held as Python objects (110 MiB at the most)


@dataclass(repr=False, eq=False)
class Pictures:
    """`--report PATH`, `--report-format`, `--plot PATH.svg`, `--plot-kind`: files written
    beside the result on stdout, from the JSON it prints (`bcecli.report`, imported only
    when one is asked for)."""

    report: str | None = None
    report_format: str | None = None
    plot: str | None = None
    plot_kind: str | None = None

    @property
    def asked(self) -> bool:
        return self.report is not None or self.plot is not None

    def check(self, reduction: Reduction = Reduction.MEAN,
              given: dict[str, bool] | None = None) -> None:
        """Refuse what cannot be written, before any input is read (`given`: which options
        that charts need were given, where that is known before reading)."""
        if self.report_format is not None and self.report is None:
            raise UsageError("--report-format needs --report")
        if self.plot_kind is not None and self.plot is None:
            raise UsageError("--plot-kind needs --plot")
        if not self.asked:
            return
        if not reduction.single:
            raise UsageError(f"--report and --plot summarise a reduced loss: not with "
                             f"-r {reduction}", hint="--hist draws the per-sample losses")
        from bcecli.report import check_plot, report_format

        if self.report is not None:
            self.report_format = report_format(self.report, self.report_format)
        if self.plot is not None:
            self.plot_kind = check_plot(self.plot, self.plot_kind, given or {})

    def write(self, json_text: str) -> None:
        """Write what was asked from the result's JSON text; every chart is drawn before
        the first file is written, so a missing one leaves no file behind."""
        if not self.asked:
            return
        from bcecli import report

        result = report.result_of(json_text)
        files = []
        if self.plot is not None and self.plot_kind is not None:
            files.append((self.plot, report.chart(self.plot_kind, result).svg()))
        if self.report is not None and self.report_format is not None:
            files.append((self.report, report.render(result, self.report_format)))
        for path, text in files:
            report.write(path, text)


def compute(env: Environment, inputs: InputOptions, *, fmt: Format, json_: bool, logits: bool,
            reduction: Reduction | None, dtype: DType | None, eps: float | None,
            like: str | None, focal_gamma: float | None, focal_alpha: float | None,
            class_weights: str | None, pos_weight: str | None, label_smoothing: float,
            gates: Gates, partial: bool, top: int, metrics: bool, threshold: float | None,
            hist: bool, evaluation: Evaluation | None = None,
            limits: SliceLimits | None = None, pictures: Pictures | None = None,
            workers: int = 1, scheduler: str | None = None,
            scheduler_file: str | None = None) -> ExitStatus:
    """`bce compute`: the loss, reported, or the shard's totals (`--partial`); with
    `workers`, the input's pieces read in that many processes (`parallel`), with
    `scheduler` or `scheduler_file`, by a Dask cluster's workers (`cluster`)."""
    output = Output.choose(fmt, json_, sys.stdout, terminal=env.stdout_isatty)
    if eps is not None and logits:
        raise UsageError("--eps clips probabilities; it does not apply with --logits")
    reduction, dtype, eps, floor = choose(like, reduction=reduction, dtype=dtype, eps=eps,
                                          logits=logits)
    gates = gates.check(reduction, metrics, slices=bool(inputs.by))
    if partial and (not reduction.single or gates.asked or json_ or fmt is not Format.AUTO):
        raise UsageError("--partial prints JSON for bce merge: use it without -r none or rows, "
                         "--format and the CI gates (give those to bce merge)")
    if not 0 <= top <= MAX_TOP:
        raise UsageError(f"--top must be between 0 and {MAX_TOP}, not {top}",
                         hint="it keeps K samples in memory; for all of them, sort the "
                         "per-element losses: -r none -f csv" if top > 0 else None)
    if threshold is not None and (not metrics or not 0 <= threshold <= 1):
        raise UsageError("--threshold needs --metrics" if not metrics else
                         f"--threshold must be in [0, 1], not {threshold}")
    evaluation = evaluation or Evaluation()
    evaluation.check(metrics, reduction, partial, gates.baseline is not None)
    limits = limits or SliceLimits()
    limits.check(inputs.by, reduction, metrics)
    pictures = pictures or Pictures()
    pictures.check(reduction, {"--metrics": metrics, "--hist": hist, "--by COL": bool(inputs.by)})
    if partial and pictures.asked:
        raise UsageError("--partial prints a shard's totals: give --report and --plot to "
                         "bce merge")
    if partial and evaluation.bootstrap is not None and inputs.id_col is None:
        raise UsageError("--bootstrap with --partial needs --id-col: each shard numbers its "
                         "rows from 1, so only an id draws a row's replicates alike in every "
                         "shard and in one run")
    if not 1 <= workers <= MAX_WORKERS:
        raise UsageError(f"--workers must be between 1 and {MAX_WORKERS}, not {workers}")
    cluster = None
    if scheduler is not None or scheduler_file is not None:
        from bcecli.cluster import Scheduler

        if scheduler is not None and scheduler_file is not None:
            raise UsageError("use one of --scheduler and --scheduler-file")
        cluster = Scheduler(scheduler, scheduler_file)
        if workers != 1:
            raise UsageError(f"--workers reads the pieces on this machine, {cluster.option} on "
                             "the Dask cluster: use one of them")
    if workers != 1 or cluster is not None:
        check_split(cluster.option if cluster else "--workers", inputs, reduction, evaluation)
    settings = Settings.parse(class_weights=class_weights, pos_weight=pos_weight,
                              label_smoothing=label_smoothing, eps=eps,
                              focal_gamma=focal_gamma, focal_alpha=focal_alpha, like=like,
                              pos_label=inputs.pos_label)
    job = Job(inputs, settings, logits, reduction, dtype, floor, evaluation, top, metrics,
              threshold, hist, limits)
    job.function()  # the core checks the settings' ranges before any input is read
    per_element = not reduction.single  # -r none, -r rows: losses written as they come
    if (workers != 1 or cluster is not None) and any(
            is_many(path) for path in (inputs.predictions, inputs.targets, inputs.weights)
            if path is not None):
        from bcecli.parallel import evaluate

        plan, streamed, total, diagnostics = evaluate(job, env, workers, cluster)
    else:
        with ExitStack() as resources:
            plan, streamed, diagnostics = job.stream(
                resources, env, output.unreduced(reduction) if per_element else None)
        (total,) = streamed.totals
    if partial:
        warn_about(plan, streamed, logits)
        job.partial(plan, total, diagnostics).write(diagnostics, sys.stdout)
        return ExitStatus.OK
    loss = None if per_element else total.result(reduction, dtype)  # may still be an error
    if loss is not None and evaluation.radix is not None:
        from bcecli.evaluation import in_base

        loss = in_base(loss, evaluation.radix)
    warn_about(plan, streamed, logits)
    warn_about_baseline(gates, total.count)
    return report(output, Result(
        loss=loss, reduction=reduction, count=total.count,
        shape=shape_of(total.count, plan.classes, plan.predictions.flat), from_logits=logits,
        dtype=dtype, sources=sources(plan, streamed),
        settings=settings.fields() | evaluation.fields(), gate_options=gates.fields(),
        extra=diagnostics.report(plan.predictions.column_names, pictures.asked)
        if diagnostics else {}), gates, pictures)


def compare(env: Environment, inputs: InputOptions, *, fmt: Format, json_: bool, logits: bool,
            class_weights: str | None, pos_weight: str | None,
            label_smoothing: float, pictures: Pictures | None = None) -> ExitStatus:
    """`bce compare`: the loss under each library's conventions, in one pass."""
    output = Output.choose(fmt, json_, sys.stdout, terminal=env.stdout_isatty)
    pictures = pictures or Pictures()
    pictures.check()
    settings = Settings.parse(class_weights=class_weights, pos_weight=pos_weight,
                              label_smoothing=label_smoothing)
    functions = [c.function(logits=logits, pos_weight=settings.pos_weight,
                            label_smoothing=label_smoothing, dtype=DType.FLOAT64,
                            check_labels=False) for c in CONVENTIONS.values()]
    with ExitStack() as resources:
        plan = inputs.plan(resources, env, settings)
        streamed = run(plan, functions, settings.class_weights, skip_missing=inputs.skip_missing,
                       totals=[c.total() for c in CONVENTIONS.values()])
    totals = streamed.totals
    multi_label = not plan.predictions.flat
    refused = streamed.soft_targets  # a convention that reads them as 0/1 gives no number
    rows = [ComparisonRow(c.name, None if refused and c.only_labels else
                          c.result(total, f.dtype, settings.class_weights), c.reduction,
                          c.dtype or DType.FLOAT64, f"soft targets refused: {c.only_labels}"
                          if refused and c.only_labels else c.differences(multi_label),
                          c.per_class and multi_label)
            for c, f, total in zip(CONVENTIONS.values(), functions, totals, strict=True)]
    warn_about(plan, streamed, logits)
    shape = shape_of(totals[0].count, plan.classes, plan.predictions.flat)
    if pictures.asked:
        from bcecli.render import comparison_fields, json_text

        pictures.write(json_text(comparison_fields(rows, count=totals[0].count, shape=shape,
                                                   from_logits=logits,
                                                   sources=sources(plan, streamed))))
    output.comparison(rows, count=totals[0].count, shape=shape, from_logits=logits,
                      sources=sources(plan, streamed))
    return ExitStatus.OK


def diff(env: Environment, inputs: InputOptions, *, fmt: Format, json_: bool, logits: bool,
         reduction: Reduction | None, dtype: DType | None, eps: float | None, like: str | None,
         focal_gamma: float | None, focal_alpha: float | None, class_weights: str | None,
         pos_weight: str | None, label_smoothing: float,
         max_regression: float | None, checks: list[str] | None = None,
         limits: SliceLimits | None = None,
         pictures: Pictures | None = None) -> ExitStatus:
    """`bce diff`: models A and B on the same targets, in one pass: Δ = B − A, its paired
    interval, the rows B does better and worse on, and the gates: `--max-regression` and
    `--check` on the numbers printed."""
    from bcecli.diff import DIFF_METRICS, Diff, check_regression, regression_gate
    from bcecli.gates import Check

    output = Output.choose(fmt, json_, sys.stdout, terminal=env.stdout_isatty)
    if eps is not None and logits:
        raise UsageError("--eps clips probabilities; it does not apply with --logits")
    reduction, dtype, eps, floor = choose(like, reduction=reduction, dtype=dtype, eps=eps,
                                          logits=logits)
    check_regression(max_regression)
    pictures = pictures or Pictures()
    pictures.check()
    (limits or SliceLimits()).check(inputs.by, reduction)
    expressions = [Check.parse(text, DIFF_METRICS) for text in checks or []]
    for text, check in zip(checks or [], expressions, strict=True):
        if check.each and not inputs.by:
            raise UsageError(f"--check {text!r}: each: needs --by (a check on every slice)",
                             hint="drop each: to check the whole input")
        if check.each and check.metric not in DIFF_METRICS[:3]:
            raise UsageError(f"--check {text!r}: a slice has no {check.metric}",
                             hint="each: checks " + ", ".join(DIFF_METRICS[:3]))
    settings = Settings.parse(class_weights=class_weights, pos_weight=pos_weight,
                              label_smoothing=label_smoothing, eps=eps,
                              focal_gamma=focal_gamma, focal_alpha=focal_alpha, like=like,
                              pos_label=inputs.pos_label)
    function = settings.function(logits=logits, dtype=dtype, floor=floor)
    with ExitStack() as resources:
        plan = inputs.plan(resources, env, settings)
        index = None
        if plan.by:
            from bcecli.slices import DEFAULT_MAX_SLICES, SliceIndex

            index = SliceIndex(slice_names(plan), (limits and limits.max_slices)
                               or DEFAULT_MAX_SLICES, slice_codecs(plan))
        state = Diff(function, settings.class_weights, inputs.skip_missing, index)
        streamed = run(plan, [function], settings.class_weights, None, state.observe,
                       skip_missing=inputs.skip_missing)
    fields = state.result(reduction, dtype, plan.predictions.column_names)
    gates = [] if max_regression is None else \
        [regression_gate(max_regression, fields["delta"], state.total.interval(reduction))]
    gates += [check.verdict(fields) for check in expressions]
    warn_about(plan, streamed, logits)
    fields |= {"reduction": reduction, "count": state.total.count,
               "shape": list(shape_of(state.total.count, plan.classes, plan.predictions.flat)),
               "from_logits": logits, "dtype": dtype, **sources(plan, streamed),
               **settings.fields()}
    if max_regression is not None:
        fields |= {"max_regression": max_regression}
    if gates:
        fields |= {"checks": [gate.to_json() for gate in gates],
                   "passed": all(gate.held for gate in gates)}
    if "slices" in fields:  # last, as compute's
        fields["slices"] = fields.pop("slices")
    if pictures.asked:
        from bcecli.render import json_text

        pictures.write(json_text(fields))
    try:
        output.diff(fields, gates)
        sys.stdout.flush()
    except ClosedPipe:
        pass  # the reader went away; the gates still decide the exit code
    for gate in gates:
        if not gate.held:
            print(f"bce: {gate.failure}", file=sys.stderr)
    return ExitStatus.CHECK_FAILED if fields.get("passed") is False else ExitStatus.OK


def merge(env: Environment, parts: list[str], *, fmt: Format, json_: bool,
          gates: Gates, pictures: Pictures | None = None,
          storage_options: Sequence[str] = ()) -> ExitStatus:
    """`bce merge`: the result of one run over all the shards' data."""
    from bcecli import shards

    output = Output.choose(fmt, json_, sys.stdout, terminal=env.stdout_isatty)
    gates.check_options()  # the expressions, before any part is read: a typo fails fast
    pictures = pictures or Pictures()
    pictures.check()
    storage = remote.options(storage_options)
    remote.check_used(storage, parts)
    combined, state = shards.merge(parts, diagnostics_of, storage)
    gates = gates.check(combined.reduction, metrics=state is not None and state.metrics is not None,
                        merging=True, slices=state is not None and state.slices is not None)
    loss = combined.total.result(combined.reduction, combined.dtype)
    warn_about_baseline(gates, combined.count)
    rate = {} if combined.rate is None else {"negative_sampling_rate": combined.rate}
    labels = tuple((combined.diagnostics or {}).get("class_names") or ())
    return report(output, Result(
        loss=loss, reduction=combined.reduction, count=combined.count,
        shape=shape_of(combined.count, combined.classes, combined.flat),
        from_logits=combined.from_logits, dtype=combined.dtype, sources={"parts": parts},
        settings=combined.settings.fields() | rate, gate_options=gates.fields(),
        extra=state.report(labels, pictures.asked) if state else {}),
        gates, pictures)


def diagnostics_of(part: Partial) -> Diagnostics | None:
    """The empty state a partial's diagnostics merge into (None: it has none)."""
    if part.diagnostics is None:
        return None
    from bcecli.diagnostics import DiagnosticOptions, Diagnostics

    return Diagnostics(DiagnosticOptions.from_spec(
        part.diagnostics, flat=part.flat, logits=part.from_logits, rate=part.rate,
        reduction=str(part.reduction),
        weighted=part.weighted or part.settings.class_weights is not None,
        class_weights=part.settings.class_weights))


def report(output: Output, result: Result, gates: Gates, pictures: Pictures | None = None
           ) -> ExitStatus:
    """Judge the gates on the numbers the result prints, write the report and chart asked
    for, then the result; say which gates failed, and choose the exit code."""
    result.gates = gates.evaluate(result.numbers)
    if pictures is not None and pictures.asked:
        pictures.write(result.json_object())
    note = output.unprinted(result)
    if note:
        print(note, file=sys.stderr)
    try:
        output.finish(result)
        sys.stdout.flush()
    except ClosedPipe:
        pass  # the reader went away; the gates still decide the exit code
    for gate in result.gates:
        if not gate.held:
            print(f"bce: {gate.failure}", file=sys.stderr)
    return ExitStatus.CHECK_FAILED if result.passed is False else ExitStatus.OK


def sources(plan: Plan, streamed: Streamed) -> dict[str, Any]:
    """The JSON keys that say what was read: files, columns, rows skipped."""
    labels = plan.labels
    given: dict[str, Any] = {"labels": labels.pair} if labels and labels.active else {}
    if plan.id_col is not None:
        given |= {"id_col": plan.id_col, "joined": streamed.rows}
    second = {"predictions_b": plan.second.reader.source} if plan.second else {}
    return {"predictions": plan.predictions.reader.source, **second,
            "targets": plan.targets.reader.source,
            "weights": plan.weights.reader.source if plan.weights else None,
            "columns": plan.columns(), "unused_columns": plan.unused_columns(),
            "skipped": streamed.skipped, **given}


def warn_about(plan: Plan, streamed: Streamed, logits: bool) -> None:
    """Notes on stderr where the input may not mean what the options say."""
    from bcecli.columns import unapplied_weights

    if logits and streamed.predictions_in_unit_interval:
        print("bce: warning: every prediction is in [0, 1]: these look like probabilities, "
              "not logits (drop --logits if so)", file=sys.stderr)
    if streamed.looks_swapped:
        print("bce: warning: every prediction is 0 or 1 and some targets are not: are "
              "PREDICTIONS and TARGETS swapped?", file=sys.stderr)
    labels = plan.labels
    if labels is not None and labels.positive is not None and not labels.seen_positive:
        other = f" (every label is {labels.pair['0']!r})" if labels.negative is not None else ""
        print(f"bce: warning: no target is --pos-label {labels.given!r}: every target is "
              f"0{other}", file=sys.stderr)
    if plan.weights is None:
        for reader in dict.fromkeys(role.reader for role in plan.roles):
            used = {c for role in plan.roles if role.reader is reader for c in role.columns}
            for name in unapplied_weights(reader, used):
                own = reader is plan.predictions.reader
                column = repr(name) if own else f"{name!r} of {reader.source}"
                how = f"--weight-col {name} to apply it" if own else \
                    f"--weights {reader.source} --weight-col {name}"
                print(f"bce: note: column {column} was not used as weights (pass {how})",
                      file=sys.stderr)


def warn_about_baseline(gates: Gates, count: int) -> None:
    """A baseline computed on another number of values is still a gate, with a warning."""
    warning = gates.warning(count)
    if warning:
        print(warning, file=sys.stderr)


def shape_of(count: int, classes: int, flat: bool) -> tuple[int, ...]:
    return (count // classes,) if flat else (count // classes, classes)
