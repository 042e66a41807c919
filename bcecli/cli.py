"""The `bce` command: Typer options in, `Result` out, and the one error boundary.

Everything that can fail raises a `BceError` or a Click usage error; `BceGroup.main`
is the single place that turns those into `bce: error: ...`, a hint line and an
exit code, so no traceback ever reaches the user.
"""

# No `from __future__ import annotations` here: Typer would resolve the option annotations
# from strings on every run, which costs more start-up time than evaluating them once.
import math
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from bcecli import __version__, core
from bcecli.errors import BceError, ExitStatus, UsageError, plural
from bcecli.inputs import Plan, gather
from bcecli.pipeline import Streamed, run
from bcecli.progress import ByteProgress
from bcecli.render import Output, Result

if TYPE_CHECKING:  # imported where used: each costs start-up time that most runs never need
    from bcecli.gates import Baseline, Gate


class BceGroup(TyperGroup):
    """Runs the app without Click's own error printing and maps failures to exit codes."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> NoReturn:
        args = sys.argv[1:] if args is None else list(args)
        try:
            code = super().main(args or ["--help"], prog_name or "bce", complete_var,
                                standalone_mode=False, windows_expand_args=windows_expand_args,
                                **extra)
        except BceError as e:
            code = fail(str(e), e.hint)
        except typer.TyperException as e:  # Click's usage errors: bad option, missing argument
            ctx = getattr(e, "ctx", None)
            code = fail(e.format_message(), f"see '{ctx.command_path} --help'" if ctx else None)
        except (typer.Abort, KeyboardInterrupt):
            code = ExitStatus.INTERRUPTED
        except RecursionError:
            code = fail("the input is nested too deeply to read", None)
        except MemoryError:
            code = fail("out of memory reading the input", "try JSON Lines or CSV, which stream")
        except Exception as e:  # a bug: still one line, never a traceback
            code = fail(f"internal error: {type(e).__name__}: {e}",
                        "this is a bug in bce; please report it with the command that caused it")
        sys.exit(int(code or 0))


def fail(message: str, hint: str | None) -> ExitStatus:
    """Print the one-line error (and hint) on stderr."""
    lines = [f"bce: error: {message}"] + ([f"hint: {hint}"] if hint else [])
    print("\n".join(lines), file=sys.stderr)
    return ExitStatus.ERROR


app = typer.Typer(name="bce", cls=BceGroup,
                  help="Binary cross-entropy, exactly as PyTorch computes it.",
                  no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]})


class Format(StrEnum):
    auto = "auto"
    table = "table"
    json = "json"
    csv = "csv"
    plain = "plain"


class ReductionName(StrEnum):
    mean = "mean"
    sum = "sum"
    none = "none"
    weighted_mean = "weighted-mean"


class DType(StrEnum):
    float64 = "float64"
    float32 = "float32"


class InputFormat(StrEnum):
    csv = "csv"
    tsv = "tsv"
    json = "json"
    jsonl = "jsonl"


def show_version(value: bool) -> None:
    if value:
        print(f"bce {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """bce: binary cross-entropy from CSV, JSON, JSON Lines, NumPy files or stdin."""


def input_size(*paths: str | None) -> int | None:
    """Bytes to read, for the progress bar; None when stdin is among them."""
    try:
        return sum(os.path.getsize(p) for p in paths if p is not None and p != "-") \
            if "-" not in paths else None
    except OSError:
        return None


def float_list(option: str, text: str | None) -> list[float] | None:
    """`1,2.5,3` as floats; each must be finite and non-negative, like every weight."""
    if text is None:
        return None
    values = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise UsageError(f"{option}: {part.strip()!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise UsageError(f"{option}: {part.strip()} must be finite and non-negative")
        values.append(value)
    return values


class Like(StrEnum):
    torch = "torch"
    keras = "keras"
    sklearn = "sklearn"


# Options that several commands share, declared once.
Predictions = Annotated[str, typer.Argument(
    help="Predictions file (.csv .tsv .txt .json .jsonl .npy .parquet, optionally .gz), or - "
    "for stdin.", metavar="PREDICTIONS", show_default=False)]
Targets = Annotated[str | None, typer.Argument(
    help="Targets file, or - for stdin. Omit when PREDICTIONS holds both.",
    metavar="[TARGETS]", show_default=False)]
Logits = Annotated[bool, typer.Option(
    "--logits", "--sigmoid", help="Inputs are raw scores: apply a (stable) sigmoid.")]
Weights = Annotated[str | None, typer.Option(
    "--weights", help="File of per-sample weights: N values, or an N×C matrix.")]
PredCol = Annotated[str | None, typer.Option(
    "--pred-col", help="Prediction column(s): header name or 0-based index; a comma list for "
    "multi-label.")]
TargetCol = Annotated[str | None, typer.Option("--target-col",
                                               help="Target column(s), as --pred-col.")]
WeightCol = Annotated[str | None, typer.Option("--weight-col",
                                               help="Weight column, as --pred-col.")]
ClassWeights = Annotated[str | None, typer.Option(
    "--class-weights", help="C comma-separated weights, one per class (PyTorch weight of "
    "shape (C,)).")]
PosWeight = Annotated[str | None, typer.Option(
    "--pos-weight", help="Weight of positives: one value or C values (PyTorch pos_weight).")]
LabelSmoothing = Annotated[float, typer.Option(
    "--label-smoothing", help="Keras label smoothing: y ← y·(1−F) + 0.5·F.")]
Header = Annotated[bool | None, typer.Option(
    "--header/--no-header", help="Force the first row to be (or not be) a header. Default: "
    "detected.", show_default=False)]
InputFormatOption = Annotated[InputFormat | None, typer.Option(
    "--input-format", help="Format of stdin, when sniffing is not wanted.")]
SkipMissing = Annotated[bool, typer.Option(
    "--skip-missing", help="Leave out every row with a missing value (blank line, empty cell, "
    "nan, NA, null) in any input, aligned across inputs, and report how many.")]
NoProgress = Annotated[bool, typer.Option(
    "--no-progress", help="Never show the progress bar (it shows only on a terminal, for reads "
    "of over a second).")]
FormatOption = Annotated[Format, typer.Option(
    "--format", "-f", help="auto: a table on a terminal, JSON otherwise.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Short for --format json.")]
MaxLoss = Annotated[float | None, typer.Option(
    "--max-loss", help="CI gate: exit 1 when the reduced loss is above this.")]
MinLoss = Annotated[float | None, typer.Option(
    "--min-loss", help="CI gate: exit 1 when the reduced loss is below this (suspiciously "
    "good: label leakage?).")]
BaselineOption = Annotated[str | None, typer.Option(
    "--baseline", help="CI gate: a saved `bce compute ... --json` result to compare with.")]
Tolerance = Annotated[float | None, typer.Option(
    "--tolerance", help="With --baseline: exit 1 when the loss is worse by more than this "
    "fraction (0.05 = 5%).  [default: 0]", show_default=False)]


@dataclass(frozen=True)
class InputOptions:
    """Where the data comes from: the options `compute` and `compare` share."""

    predictions: str
    targets: str | None
    weights: str | None
    pred_col: str | None
    target_col: str | None
    weight_col: str | None
    header: bool | None
    input_format: InputFormat | None
    no_progress: bool

    def plan(self, resources: ExitStack, class_weights: list[float] | None,
             pos_weight: list[float] | None) -> Plan:
        """Open the inputs (closed by `resources`) and check the per-class lists against them."""
        progress = None
        if not self.no_progress and sys.stderr.isatty():
            progress = ByteProgress(input_size(self.predictions, self.targets, self.weights),
                                    sys.stderr)
            resources.callback(progress.close)
        plan = gather(self.predictions, self.targets, weights=self.weights,
                      pred_col=self.pred_col, target_col=self.target_col,
                      weight_col=self.weight_col, header=self.header,
                      input_format=self.input_format.value if self.input_format else None,
                      on_read=progress.advance if progress else None, resources=resources)
        for option, values, allowed in (("--pos-weight", pos_weight, (1, plan.classes)),
                                        ("--class-weights", class_weights, (plan.classes,))):
            if values is not None and len(values) not in allowed:
                raise UsageError(f"{option} has {plural(len(values), 'value')} but the input "
                                 f"has {plural(plan.classes, 'class')}")
        return plan

    @staticmethod
    def sources(plan: Plan, streamed: Streamed) -> dict[str, Any]:
        """The JSON keys that say what was read: files, columns, rows skipped."""
        return {"predictions": plan.predictions.reader.source,
                "targets": plan.targets.reader.source,
                "weights": plan.weights.reader.source if plan.weights else None,
                "columns": plan.columns(), "unused_columns": plan.unused_columns(),
                "skipped": streamed.skipped}


def warn_about(plan: Plan, streamed: Streamed, logits: bool) -> None:
    """Notes on stderr where the input may not mean what the options say."""
    from bcecli.columns import unapplied_weights

    if logits and streamed.predictions_in_unit_interval:
        print("bce: warning: every prediction is in [0, 1]: these look like probabilities, "
              "not logits (drop --logits if so)", file=sys.stderr)
    if plan.weights is None:
        role = plan.predictions
        for name in unapplied_weights(role.reader, set(role.columns) | set(plan.targets.columns)):
            print(f"bce: note: column {name!r} was not used as weights (pass --weight-col "
                  f"{name} to apply it)", file=sys.stderr)


@dataclass(frozen=True)
class Checks:
    """The CI gates asked for, validated before any input is read."""

    max_loss: float | None
    min_loss: float | None
    baseline: "Baseline | None"
    tolerance: float | None

    @classmethod
    def from_options(cls, reduction: str, max_loss: float | None, min_loss: float | None,
                     baseline: str | None, tolerance: float | None) -> "Checks":
        if reduction == "none":
            for option, value in (("--max-loss", max_loss), ("--min-loss", min_loss),
                                  ("--baseline", baseline)):
                if value is not None:
                    raise UsageError(f"{option} needs a single loss; it cannot be used with "
                                     "-r none")
        if tolerance is not None and (baseline is None or not tolerance >= 0):
            raise UsageError("--tolerance needs --baseline" if baseline is None else
                             f"--tolerance must be a fraction >= 0, not {tolerance}")
        saved = None
        if baseline is not None:
            from bcecli.gates import read_baseline

            saved = read_baseline(baseline, reduction)
        return cls(max_loss, min_loss, saved, tolerance)

    def fields(self) -> dict[str, Any]:
        """The JSON keys that record the gates."""
        return {"max_loss": self.max_loss, "min_loss": self.min_loss,
                "baseline": self.baseline.path if self.baseline else None,
                "baseline_loss": self.baseline.loss if self.baseline else None,
                "tolerance": self.tolerance}

    @property
    def asked(self) -> bool:
        return any(value is not None for value in self.fields().values())

    def gates(self, loss: float | None) -> "list[Gate]":
        if loss is None or not self.asked:
            return []
        from bcecli.gates import evaluate

        return evaluate(loss, max_loss=self.max_loss, min_loss=self.min_loss,
                        baseline=self.baseline, tolerance=self.tolerance or 0.0)


def output_for(format: Format, json_: bool) -> Output:
    """The one place the output format is chosen."""
    if json_ and format not in (Format.auto, Format.json):
        raise UsageError(f"use just one of --json and --format {format.value}")
    return Output("json" if json_ else format.value, sys.stdout, terminal=sys.stdout.isatty())


def report(output: Output, result: Result) -> int:
    """Write the result, say which gates failed, and choose the exit code."""
    try:
        output.finish(result)
        sys.stdout.flush()
    except BrokenPipeError:
        closed_pipe()
    for gate in result.gates:
        if not gate.held:
            print(f"bce: {gate.failure}", file=sys.stderr)
    return ExitStatus.CHECK_FAILED if result.passed is False else ExitStatus.OK


def closed_pipe() -> None:
    """The reader went away (`| head`): stop quietly, and no flush error at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def shape_of(count: int, classes: int, flat: bool) -> tuple[int, ...]:
    return (count // classes,) if flat else (count // classes, classes)


@app.command()
def compute(
    predictions: Predictions,
    targets: Targets = None,
    logits: Logits = False,
    reduction: Annotated[ReductionName | None, typer.Option(
        "--reduction", "-r", help="mean = Σw·l/N (PyTorch, the default); weighted-mean = "
        "Σw·l/Σw (scikit-learn); none = one loss per element.", show_default=False)] = None,
    weights: Weights = None,
    pred_col: PredCol = None,
    target_col: TargetCol = None,
    weight_col: WeightCol = None,
    class_weights: ClassWeights = None,
    pos_weight: PosWeight = None,
    label_smoothing: LabelSmoothing = 0.0,
    eps: Annotated[float | None, typer.Option(
        help="Clip probabilities to [E, 1−E] instead of clamping each log at −100.")] = None,
    dtype: Annotated[DType | None, typer.Option(
        help="float64 (the default), or float32 as PyTorch float32 computes.",
        show_default=False)] = None,
    like: Annotated[Like | None, typer.Option(
        help="Another library's conventions: keras = float32 and clipping at 1e-7; sklearn = "
        "clipping at 2.2e-16 and weighted-mean. Explicit options win.")] = None,
    focal_gamma: Annotated[float | None, typer.Option(
        help="Focal loss with this γ, as torchvision's sigmoid_focal_loss.")] = None,
    focal_alpha: Annotated[float | None, typer.Option(
        help="With --focal-gamma: the α balancing positives against negatives.")] = None,
    header: Header = None,
    input_format: InputFormatOption = None,
    format: FormatOption = Format.auto,
    json_: JsonOption = False,
    max_loss: MaxLoss = None,
    min_loss: MinLoss = None,
    baseline: BaselineOption = None,
    tolerance: Tolerance = None,
    partial: Annotated[bool, typer.Option(
        "--partial", help="Print the exact running totals as JSON, for `bce merge` (shards).")
    ] = False,
    top: Annotated[int, typer.Option(
        "--top", help="List the K samples with the highest loss, with their line.",
        show_default=False)] = 0,
    metrics: Annotated[bool, typer.Option(
        "--metrics", help="Add accuracy, Brier score, ROC AUC and calibration error.")] = False,
    threshold: Annotated[float, typer.Option(
        help="With --metrics: predicted positive when p >= this.")] = 0.5,
    hist: Annotated[bool, typer.Option(
        "--hist", help="Add a histogram of per-sample losses.")] = False,
    skip_missing: SkipMissing = False,
    no_progress: NoProgress = False,
) -> int:
    """Compute the binary cross-entropy of PREDICTIONS against TARGETS.

    Multi-label input (several columns) also gets the loss of each class.
    """
    output = output_for(format, json_)
    if eps is not None and logits:
        raise UsageError("--eps clips probabilities; it does not apply with --logits")
    convention = None
    if like:
        from bcecli.conventions import CONVENTIONS

        convention = CONVENTIONS[like.value]
    chosen_reduction = reduction.value if reduction else \
        convention.reduction if convention else "mean"
    chosen_dtype = dtype.value if dtype else \
        (convention.dtype if convention and convention.dtype else "float64")
    if eps is None and convention:
        eps = convention.eps_for(logits)
    checks = Checks.from_options(chosen_reduction, max_loss, min_loss, baseline, tolerance)
    if partial and (chosen_reduction == "none" or checks.asked
                    or json_ or format is not Format.auto or top or metrics or hist):
        raise UsageError("--partial prints JSON for bce merge: use it without -r none, "
                         "--format, the CI gates (give those to bce merge) and diagnostics")
    if top < 0 or not 0 <= threshold <= 1:
        raise UsageError(f"--top must be >= 0, not {top}" if top < 0 else
                         f"--threshold must be in [0, 1], not {threshold}")
    class_list = float_list("--class-weights", class_weights)
    pos_list = float_list("--pos-weight", pos_weight)
    function = core.LossFunction(logits=logits, pos_weight=pos_list,
                                 label_smoothing=label_smoothing, eps=eps, dtype=chosen_dtype,
                                 focal_gamma=focal_gamma, focal_alpha=focal_alpha)
    settings = {"class_weights": class_list, "pos_weight": pos_list,
                "label_smoothing": label_smoothing, "eps": eps, "focal_gamma": focal_gamma,
                "focal_alpha": focal_alpha, "like": like.value if like else None}
    inputs = InputOptions(predictions, targets, weights, pred_col, target_col, weight_col,
                          header, input_format, no_progress)
    with ExitStack() as resources:
        plan = inputs.plan(resources, class_list, pos_list)
        diagnostics = None
        if top or metrics or hist or not plan.predictions.flat:
            from bcecli.diagnostics import Diagnostics

            diagnostics = Diagnostics(top=top, per_class=not plan.predictions.flat,
                                      metrics=metrics, histogram=hist, threshold=threshold,
                                      logits=logits)
        try:
            streamed = run(plan, [function], class_list,
                           output.rows if chosen_reduction == "none" else None,
                           diagnostics.observe if diagnostics else None,
                           skip_missing=skip_missing)
        except BrokenPipeError:
            closed_pipe()
            return ExitStatus.OK
    (total,) = streamed.totals
    warn_about(plan, streamed, logits)
    if partial:
        from bcecli.shards import Partial

        shape = {"classes": plan.classes, "flat": plan.predictions.flat}
        recorded = {"reduction": chosen_reduction, "dtype": chosen_dtype, "from_logits": logits,
                    "weighted": plan.weights is not None, **settings}
        print(Partial(total, shape, recorded).to_json())
        return ExitStatus.OK
    loss = None if chosen_reduction == "none" else \
        total.result(chosen_reduction, function.dtype)  # type: ignore[arg-type]
    result = Result(
        loss=loss, reduction=chosen_reduction, count=total.count,
        shape=shape_of(total.count, plan.classes, plan.predictions.flat),
        from_logits=logits, dtype=chosen_dtype, sources=InputOptions.sources(plan, streamed),
        settings=settings, checks=checks.fields(), gates=checks.gates(loss),
        extra=diagnostics.report(plan.predictions.column_names) if diagnostics else {})
    return report(output, result)


@app.command()
def compare(
    predictions: Predictions,
    targets: Targets = None,
    logits: Logits = False,
    weights: Weights = None,
    pred_col: PredCol = None,
    target_col: TargetCol = None,
    weight_col: WeightCol = None,
    class_weights: ClassWeights = None,
    pos_weight: PosWeight = None,
    label_smoothing: LabelSmoothing = 0.0,
    header: Header = None,
    input_format: InputFormatOption = None,
    format: FormatOption = Format.auto,
    json_: JsonOption = False,
    skip_missing: SkipMissing = False,
    no_progress: NoProgress = False,
) -> int:
    """Compare PyTorch's, Keras' and sklearn's losses.

    The loss under each library's conventions, side by side, and what differs.
    """
    from bcecli.conventions import CONVENTIONS
    from bcecli.render import ComparisonRow

    output = output_for(format, json_)
    class_list = float_list("--class-weights", class_weights)
    pos_list = float_list("--pos-weight", pos_weight)
    functions = [c.function(logits=logits, pos_weight=pos_list, label_smoothing=label_smoothing,
                            dtype="float64") for c in CONVENTIONS.values()]
    inputs = InputOptions(predictions, targets, weights, pred_col, target_col, weight_col,
                          header, input_format, no_progress)
    with ExitStack() as resources:
        plan = inputs.plan(resources, class_list, pos_list)
        streamed = run(plan, functions, class_list, skip_missing=skip_missing)
    warn_about(plan, streamed, logits)
    totals = streamed.totals
    rows = [ComparisonRow(c.name, total.result(c.reduction, f.dtype),  # type: ignore[arg-type]
                          c.reduction, str(f.dtype), c.differs)
            for c, f, total in zip(CONVENTIONS.values(), functions, totals, strict=True)]
    try:
        output.comparison(rows, count=totals[0].count,
                          shape=shape_of(totals[0].count, plan.classes, plan.predictions.flat),
                          from_logits=logits, sources=InputOptions.sources(plan, streamed))
        sys.stdout.flush()
    except BrokenPipeError:
        closed_pipe()
    return ExitStatus.OK


@app.command()
def merge(
    parts: Annotated[list[str], typer.Argument(
        help="Partial results of `bce compute ... --partial`, one per shard.",
        metavar="PART...", show_default=False)],
    format: FormatOption = Format.auto,
    json_: JsonOption = False,
    max_loss: MaxLoss = None,
    min_loss: MinLoss = None,
    baseline: BaselineOption = None,
    tolerance: Tolerance = None,
) -> int:
    """Merge shards' partial results (--partial).

    The result is that of one run over all the shards' data.
    """
    from bcecli import shards

    output = output_for(format, json_)
    combined = shards.merge(parts)
    settings = dict(combined.settings)
    reduction = str(settings.pop("reduction"))
    dtype = str(settings.pop("dtype"))
    from_logits = bool(settings.pop("from_logits"))
    settings.pop("weighted", None)
    checks = Checks.from_options(reduction, max_loss, min_loss, baseline, tolerance)
    loss = combined.total.result(reduction, dtype)  # type: ignore[arg-type]
    result = Result(
        loss=loss, reduction=reduction, count=combined.total.count,
        shape=shape_of(combined.total.count, combined.shape["classes"], combined.shape["flat"]),
        from_logits=from_logits, dtype=dtype, sources={"parts": parts}, settings=settings,
        checks=checks.fields(), gates=checks.gates(loss))
    return report(output, result)
