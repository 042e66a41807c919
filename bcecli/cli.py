"""The `bce` command: the Typer declarations, and the one error boundary.

Everything that can fail raises a `BceError` or a Click usage error; `BceGroup.main`
is the single place that turns those into `bce: error: ...`, a hint line and an
exit code, so no traceback reaches the user (unless `BCE_TRACEBACK=1` asks for
one, for a bug report). It also sets the rules of the run: stdout and stderr are
`environment.Stream`s (a stdout that cannot be written is an error, a closed pipe
ends quietly, a broken stderr changes nothing), and a `RuntimeWarning` is an error,
so numpy's warnings never reach stderr beside a result. What the commands do is in
`bcecli.commands`.
"""

# No `from __future__ import annotations` here: Typer would resolve the option annotations
# from strings on every run, which costs more start-up time than evaluating them once.
import copy
import sys
import warnings
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from bcecli import __version__, commands
from bcecli.commands import Pictures
from bcecli.conventions import CONVENTIONS
from bcecli.core import DType, Reduction
from bcecli.environment import Environment, standard_streams
from bcecli.errors import BceError, ClosedPipe, ExitStatus
from bcecli.gates import Gates
from bcecli.job import Evaluation, InputOptions, SliceLimits
from bcecli.render import Format


def run() -> None:
    """Run `bce`. Typer builds the Click command of every subcommand on each run; when
    the arguments name one, only that one is built: the others would only cost start-up
    time (`bce --help` and a mistyped name still see them all)."""
    named = [info for info in app.registered_commands if info.callback is not None
             and [info.name or info.callback.__name__] == sys.argv[1:2]]
    chosen = app
    if named:
        chosen = copy.copy(app)
        chosen.registered_commands = named
    chosen()


class BceGroup(TyperGroup):
    """Runs the app without Click's own error printing and maps failures to exit codes."""

    # Always run non-standalone, so every failure comes back here: no `standalone_mode`.
    def main(self, args: Sequence[str] | None = None,  # type: ignore[override]
             prog_name: str | None = None, complete_var: str | None = None,
             **extra: Any) -> NoReturn:
        args = sys.argv[1:] if args is None else list(args)
        with standard_streams(), warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # numpy's: a bug, never a note
            env: Environment = extra.pop("obj", None) or Environment.from_system()
            try:
                code = super().main(args or ["--help"], prog_name or "bce", complete_var,
                                    standalone_mode=False, obj=env, **extra)
                sys.stdout.flush()  # here, so a full disk is reported like any error
            except ClosedPipe:
                code = ExitStatus.OK  # `| head` read what it wanted
            except (typer.Abort, KeyboardInterrupt):
                code = ExitStatus.INTERRUPTED
            except Exception as e:
                if env.traceback:
                    raise
                code = fail(*explain(e))
        sys.exit(int(code or 0))


def explain(error: Exception) -> tuple[str, str | None]:
    """The one-line message and the hint for an exception that reached the boundary."""
    if isinstance(error, BceError):
        return str(error), error.hint
    if isinstance(error, typer.TyperException):  # Click's usage errors: bad option, no argument
        ctx = getattr(error, "ctx", None)
        message = error.format_message()
        if ctx and message.startswith("Got unexpected extra argument"):  # `preds/*.csv` unquoted
            return message, ("quote a glob ('preds/*.csv') so that bce reads its files, not the "
                             f"shell; or see '{ctx.command_path} --help'")
        return message, f"see '{ctx.command_path} --help'" if ctx else None
    if isinstance(error, RecursionError):
        return "the input is nested too deeply to read", None
    if isinstance(error, MemoryError):
        return "out of memory reading the input", "try JSON Lines or CSV, which stream"
    return (f"internal error: {type(error).__name__}: {error}",  # a bug: still one line
            "this is a bug in bce; please report it with the command that caused it "
            "(BCE_TRACEBACK=1 shows where it happened)")


def fail(message: str, hint: str | None) -> ExitStatus:
    """Print the one-line error (and hint) on stderr: one line each, whatever an
    exception's text held (a library's message over several lines)."""
    lines = [f"bce: error: {one_line(message)}"] + ([f"hint: {one_line(hint)}"] if hint else [])
    print("\n".join(lines), file=sys.stderr)
    return ExitStatus.ERROR


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


class BceCommand(TyperCommand):
    def collect_usage_pieces(self, ctx: Any) -> list[str]:  # Any: Click's Context, vendored
        """`PREDICTIONS [TARGETS]`, not Typer's `{PREDICTIONS} [TARGETS]`."""
        return [piece.removeprefix("{").removesuffix("}")
                for piece in super().collect_usage_pieces(ctx)]


app = typer.Typer(name="bce", cls=BceGroup,
                  help="Binary cross-entropy, exactly as PyTorch computes it.",
                  no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]})


class InputFormat(StrEnum):
    CSV = "csv"
    TSV = "tsv"
    JSON = "json"
    JSONL = "jsonl"


class DiffReduction(StrEnum):
    """`bce diff -r`: the reductions to a single number."""

    MEAN = "mean"
    SUM = "sum"
    WEIGHTED_MEAN = "weighted-mean"


class Binning(StrEnum):
    WIDTH = "width"
    MASS = "mass"


class Base(StrEnum):
    TWO = "2"
    E = "e"


class ReportFormat(StrEnum):
    HTML = "html"
    MD = "md"


class PlotKind(StrEnum):
    RELIABILITY = "reliability"
    HIST = "hist"
    ROC = "roc"
    PR = "pr"
    SLICES = "slices"


class DecimalMark(StrEnum):
    POINT = "."
    COMMA = ","


# The --like choices are the conventions' names (built here: Typer needs an enum).
Like = StrEnum("Like", {name: name for name in CONVENTIONS})  # type: ignore[misc]


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


# Options that several commands share, declared once.
Predictions = Annotated[str, typer.Argument(
    help="Predictions file (.csv .tsv .txt .json .jsonl .npy .npz .parquet; gzip, bzip2, xz "
    "or a zip of one file), - for stdin, many files (a quoted glob or a directory), or a "
    "URL (s3://, https://, …: the cloud extra).",
    metavar="PREDICTIONS", show_default=False)]
Targets = Annotated[str | None, typer.Argument(
    help="Targets file (or a glob or directory, paired file by file with PREDICTIONS'), or - "
    "for stdin. Omit when PREDICTIONS holds both.",
    metavar="[TARGETS]", show_default=False)]
Logits = Annotated[bool, typer.Option(
    "--logits", "--sigmoid", help="Inputs are raw scores: apply a (stable) sigmoid.")]
Weights = Annotated[str | None, typer.Option(
    metavar="FILE", help="File of per-sample weights: N values, or an N×C matrix.")]
PredCol = Annotated[str | None, typer.Option(
    metavar="COL", help="Prediction column(s): header name or 0-based index; for multi-label "
    "a comma list, a range (1-3, both ends included) or a glob ('pred_*'). Default: the "
    "column named so (y_pred, prob, score, …).")]
TargetCol = Annotated[str | None, typer.Option(
    metavar="COL", help="Target column(s), as --pred-col. Default: the column named so "
    "(y_true, label, target, …).")]
WeightCol = Annotated[str | None, typer.Option(
    metavar="COL", help="Weight column, as --pred-col. Weights are applied only when named "
    "here or by --weights, never by guess.")]
ClassWeights = Annotated[str | None, typer.Option(
    metavar="LIST", help="C comma-separated weights, one per class (PyTorch weight of shape "
    "(C,)).")]
PosWeight = Annotated[str | None, typer.Option(
    metavar="LIST", help="Weight of positives: one value or C values (PyTorch pos_weight).")]
LabelSmoothing = Annotated[float, typer.Option(
    metavar="F", help="Keras label smoothing: y ← y·(1−F) + 0.5·F.")]
Eps = Annotated[float | None, typer.Option(
    metavar="E", help="Clip probabilities to [E, 1−E] instead of clamping each log at "
    "−100.")]
DTypeOption = Annotated[DType | None, typer.Option(
    "--dtype", help="float64 (the default), or float32 as PyTorch float32 computes.",
    show_default=False)]
LikeOption = Annotated[Like | None, typer.Option(
    "--like", help="Another library's conventions: keras = float32 and clipping at 1e-7; "
    "sklearn = clipping at 2.2e-16 and weighted-mean; xgboost, lightgbm, catboost, spark = "
    "their log-loss metrics (bce compare says how). Explicit options win.")]
FocalGamma = Annotated[float | None, typer.Option(
    metavar="G", help="Focal loss with γ = G, as torchvision's sigmoid_focal_loss.")]
FocalAlpha = Annotated[float | None, typer.Option(
    metavar="A", help="With --focal-gamma: α = A balances positives against negatives.")]
IdCol = Annotated[str | None, typer.Option(
    metavar="COL", help="Join the rows of PREDICTIONS and TARGETS (and --weights) by the ids "
    "in column COL of each, not by position: every id in every file, once. '' is pandas' "
    "index.")]
By = Annotated[str | None, typer.Option(
    metavar="COL[,COL]", help="Slice the rows by the values of these columns (header name or "
    "0-based index, in PREDICTIONS, TARGETS or --weights): the loss of each slice (with "
    "--metrics NE, calibration, ROC AUC), worst first. A missing value is a slice of its "
    "own.")]
MaxSlices = Annotated[int | None, typer.Option(
    metavar="M", help="With --by: refuse more than M slices.  [default: 10000]",
    show_default=False)]
Header = Annotated[bool | None, typer.Option(
    "--header/--no-header", help="Force the first row to be (or not be) a header. Default: "
    "detected.", show_default=False)]
InputFormatOption = Annotated[InputFormat | None, typer.Option(
    "--input-format", help="Format of stdin, when sniffing is not wanted.")]
PosLabel = Annotated[str | None, typer.Option(
    metavar="VALUE", help="Targets are class labels (yes/no, malignant/benign, 2/4): VALUE is 1, "
    "the one other label 0; a third label is an error.")]
DecimalOption = Annotated[DecimalMark, typer.Option(
    "--decimal", help="The decimal mark of text input: ',' reads European CSV (0,8), as "
    "pandas to_csv(sep=';', decimal=',') writes it.")]
SkipMissing = Annotated[bool, typer.Option(
    "--skip-missing", help="Leave out every row with a missing value (blank line, empty cell, "
    "nan, NA, null) in any input, aligned across inputs, and report how many.")]
NoProgress = Annotated[bool, typer.Option(
    "--no-progress", help="Never show the progress bar (it shows only on a terminal, for reads "
    "of over a second).")]
StorageOption = Annotated[list[str] | None, typer.Option(
    "--storage-option", metavar="KEY=VALUE", help="For URL inputs (s3://, gs://, az://, "
    "https://): an option of the filesystem, as endpoint_url=http://127.0.0.1:9000 or "
    "anon=true (a JSON value, else text); repeatable.", show_default=False)]
FormatOption = Annotated[Format, typer.Option(
    "--format", "-f", help="auto: a table on a terminal, JSON otherwise.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Short for --format json.")]
MaxLoss = Annotated[float | None, typer.Option(
    metavar="X", help="CI gate: exit 1 when the reduced loss is above X (--check 'loss <= "
    "X').")]
MinLoss = Annotated[float | None, typer.Option(
    metavar="X", help="CI gate: exit 1 when the reduced loss is below X (--check 'loss >= X'; "
    "suspiciously good: label leakage?).")]
CheckOption = Annotated[list[str] | None, typer.Option(
    "--check", metavar="EXPR", help="CI gate, repeatable: exit 1 unless METRIC OP NUMBER holds "
    "on the number printed, e.g. 'auc > 0.7'. OP: <, <=, >, >=. METRIC: loss, or with "
    "--metrics ne, calibration, auc, ap, ece, mce, brier, accuracy or metrics.KEY.",
    show_default=False)]
LossCheck = Annotated[list[str] | None, typer.Option(
    "--check", metavar="EXPR", help="CI gate, repeatable: exit 1 unless 'loss OP NUMBER' holds, "
    "e.g. 'loss < 0.7'. OP: <, <=, >, >=.", show_default=False)]
Baseline = Annotated[str | None, typer.Option(
    metavar="FILE", help="CI gate: a saved `bce compute ... --json` result to compare with.")]
Tolerance = Annotated[float | None, typer.Option(
    metavar="FRACTION", help="With --baseline: exit 1 when the loss is worse by more than "
    "FRACTION (0.05 = 5%).  [default: 0]", show_default=False)]
ReportOption = Annotated[str | None, typer.Option(
    "--report", metavar="PATH", help="Also write a report to PATH: HTML (.html: charts as "
    "inline SVG, no script, opens offline) or Markdown (.md: tables and Mermaid charts, for "
    "$GITHUB_STEP_SUMMARY). stdout is unchanged.")]
ReportFormatOption = Annotated[ReportFormat | None, typer.Option(
    "--report-format", help="The report's format.  [default: from PATH's extension]",
    show_default=False)]
PlotOption = Annotated[str | None, typer.Option(
    "--plot", metavar="PATH.svg", help="Also write one chart (--plot-kind) to PATH.svg.")]
PlotKindOption = Annotated[PlotKind | None, typer.Option(
    "--plot-kind", help="The chart of --plot: reliability and roc and pr need --metrics, "
    "hist --hist, slices --by.  [default: reliability]", show_default=False)]


def pictures(report: str | None, report_format: ReportFormat | None, plot: str | None = None,
             plot_kind: PlotKind | None = None) -> Pictures:
    return Pictures(report, report_format.value if report_format else None, plot,
                    plot_kind.value if plot_kind else None)


@app.command(cls=BceCommand)
def compute(
    ctx: typer.Context,
    predictions: Predictions,
    targets: Targets = None,
    logits: Logits = False,
    reduction: Annotated[Reduction | None, typer.Option(
        "--reduction", "-r", help="mean = Σw·l/N (PyTorch, the default); weighted-mean = "
        "Σw·l/Σw (scikit-learn); none = one loss per element; rows = one per row, the mean "
        "over classes (Keras' reduction=None).", show_default=False)] = None,
    weights: Weights = None,
    pred_col: PredCol = None,
    target_col: TargetCol = None,
    weight_col: WeightCol = None,
    class_weights: ClassWeights = None,
    pos_weight: PosWeight = None,
    label_smoothing: LabelSmoothing = 0.0,
    eps: Eps = None,
    dtype: DTypeOption = None,
    like: LikeOption = None,
    focal_gamma: FocalGamma = None,
    focal_alpha: FocalAlpha = None,
    pos_label: PosLabel = None,
    id_col: IdCol = None,
    header: Header = None,
    input_format: InputFormatOption = None,
    decimal: DecimalOption = DecimalMark.POINT,
    format: FormatOption = Format.AUTO,
    json_: JsonOption = False,
    max_loss: MaxLoss = None,
    min_loss: MinLoss = None,
    check: CheckOption = None,
    baseline: Baseline = None,
    tolerance: Tolerance = None,
    partial: Annotated[bool, typer.Option(
        "--partial", help="Print the exact running totals, and the diagnostics' state, as "
        "JSON Lines for `bce merge` (shards).")
    ] = False,
    top: Annotated[int, typer.Option(
        metavar="K", help="List the K samples with the highest loss, with their line.",
        show_default=False)] = 0,
    metrics: Annotated[bool, typer.Option(
        "--metrics", help="Add normalized entropy, calibration, accuracy, Brier score, ROC AUC, "
        "average precision, reliability bins (ECE, MCE) and a 95% interval for the loss, "
        "weighted when weights are given.")] = False,
    threshold: Annotated[float | None, typer.Option(
        metavar="T", help="With --metrics: predicted positive when p >= T.  [default: 0.5]",
        show_default=False)] = None,
    bins: Annotated[int | None, typer.Option(
        metavar="N", help="With --metrics: N reliability bins.  [default: 10]",
        show_default=False)] = None,
    binning: Annotated[Binning | None, typer.Option(
        help="With --metrics: bins of equal width, or holding equal weight (mass).  "
        "[default: width]", show_default=False)] = None,
    bootstrap: Annotated[int | None, typer.Option(
        metavar="B", help="With --metrics: 95% intervals for loss, NE, calibration, Brier and "
        "accuracy from B Poisson bootstrap replicates.", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        metavar="S", help="With --bootstrap: the seed of the replicates.  [default: 0]",
        show_default=False)] = None,
    base: Annotated[Base | None, typer.Option(
        help="Losses (the loss, --top, --hist, entropies, intervals) in bits (2) or nats (e).  "
        "[default: e]", show_default=False)] = None,
    negative_sampling_rate: Annotated[float | None, typer.Option(
        metavar="R", help="The model was trained on negatives kept at rate R (0 < R <= 1): "
        "recalibrate p to p/(p + (1-p)/R) before the loss and every metric (TorchRec).",
        show_default=False)] = None,
    hist: Annotated[bool, typer.Option("--hist", help="Add a histogram of per-sample losses.")
                    ] = False,
    by: By = None,
    max_slices: MaxSlices = None,
    min_slice_size: Annotated[int | None, typer.Option(
        metavar="N", help="With --by: slices of fewer than N rows are reported together, as "
        "one (other).", show_default=False)] = None,
    report: ReportOption = None,
    report_format: ReportFormatOption = None,
    plot: PlotOption = None,
    plot_kind: PlotKindOption = None,
    skip_missing: SkipMissing = False,
    no_progress: NoProgress = False,
    storage_option: StorageOption = None,
    workers: Annotated[int, typer.Option(
        metavar="N", help="Read the files of a glob or directory input in N processes, their "
        "exact totals merged into what one process gives (docs/scale.md).")] = 1,
    scheduler: Annotated[str | None, typer.Option(
        metavar="ADDRESS", help="Read those files as tasks on the Dask cluster whose scheduler "
        "is at ADDRESS (tcp://host:8786), merged as --workers merges them; needs the dask "
        "extra, and bcecli on the workers (docs/scale.md).", show_default=False)] = None,
    scheduler_file: Annotated[str | None, typer.Option(
        metavar="PATH", help="As --scheduler, the address read from the file `dask scheduler "
        "--scheduler-file PATH` writes.", show_default=False)] = None,
) -> int:
    """Compute the binary cross-entropy of PREDICTIONS against TARGETS.

    Multi-label input (several columns) also gets the loss of each class. PREDICTIONS
    and TARGETS may each be many files, a quoted glob ('preds/*.csv') or a directory,
    read as one table in name order (two pair file by file).
    """
    return commands.compute(
        ctx.obj, InputOptions(predictions, targets, weights, pred_col, target_col, weight_col,
                              header, input_format, skip_missing, no_progress, pos_label,
                              decimal.value, id_col, by=by,
                              storage_options=storage_option or ()),
        fmt=format, json_=json_, logits=logits, reduction=reduction, dtype=dtype, eps=eps,
        like=like.value if like else None, focal_gamma=focal_gamma, focal_alpha=focal_alpha,
        class_weights=class_weights, pos_weight=pos_weight, label_smoothing=label_smoothing,
        gates=Gates(max_loss, min_loss, baseline, tolerance, checks=tuple(check or ())),
        partial=partial, top=top,
        metrics=metrics, threshold=threshold, hist=hist,
        evaluation=Evaluation(bins, binning.value if binning else None, bootstrap, seed,
                              base.value if base else None, negative_sampling_rate),
        limits=SliceLimits(max_slices, min_slice_size),
        pictures=pictures(report, report_format, plot, plot_kind), workers=workers,
        scheduler=scheduler, scheduler_file=scheduler_file)


@app.command(cls=BceCommand)
def compare(
    ctx: typer.Context,
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
    pos_label: PosLabel = None,
    id_col: IdCol = None,
    header: Header = None,
    input_format: InputFormatOption = None,
    decimal: DecimalOption = DecimalMark.POINT,
    format: FormatOption = Format.AUTO,
    json_: JsonOption = False,
    report: ReportOption = None,
    report_format: ReportFormatOption = None,
    skip_missing: SkipMissing = False,
    no_progress: NoProgress = False,
    storage_option: StorageOption = None,
) -> int:
    """Compare the losses of PyTorch, Keras, sklearn, XGBoost, LightGBM, CatBoost, Spark.

    The loss under each library's conventions, side by side, and what differs.
    """
    return commands.compare(
        ctx.obj, InputOptions(predictions, targets, weights, pred_col, target_col, weight_col,
                              header, input_format, skip_missing, no_progress, pos_label,
                              decimal.value, id_col, storage_options=storage_option or ()),
        fmt=format, json_=json_, logits=logits, class_weights=class_weights,
        pos_weight=pos_weight, label_smoothing=label_smoothing,
        pictures=pictures(report, report_format))


@app.command(cls=BceCommand)
def diff(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(
        help="Model A's predictions (the reference), as PREDICTIONS of compute; - for stdin.",
        metavar="A", show_default=False)],
    b: Annotated[str, typer.Argument(
        help="Model B's predictions, read as A's are (same columns, same rows).",
        metavar="B", show_default=False)],
    targets: Annotated[str | None, typer.Argument(
        help="Targets file, or - for stdin. Omit when A holds the targets (B's then must "
        "equal them, if it has any).", metavar="[TARGETS]", show_default=False)] = None,
    logits: Logits = False,
    reduction: Annotated[DiffReduction | None, typer.Option(
        "--reduction", "-r", help="mean = Σw·l/N (PyTorch, the default); weighted-mean = "
        "Σw·l/Σw (scikit-learn); sum.", show_default=False)] = None,
    weights: Weights = None,
    pred_col: PredCol = None,
    target_col: TargetCol = None,
    weight_col: WeightCol = None,
    class_weights: ClassWeights = None,
    pos_weight: PosWeight = None,
    label_smoothing: LabelSmoothing = 0.0,
    eps: Eps = None,
    dtype: DTypeOption = None,
    like: LikeOption = None,
    focal_gamma: FocalGamma = None,
    focal_alpha: FocalAlpha = None,
    pos_label: PosLabel = None,
    id_col: IdCol = None,
    header: Header = None,
    input_format: InputFormatOption = None,
    decimal: DecimalOption = DecimalMark.POINT,
    format: FormatOption = Format.AUTO,
    json_: JsonOption = False,
    max_regression: Annotated[float | None, typer.Option(
        metavar="X", help="CI gate: exit 1 when B is worse than A by more than X beyond "
        "noise: the lower end of Δ's 95% interval is above X.")] = None,
    check: Annotated[list[str] | None, typer.Option(
        "--check", metavar="EXPR", help="CI gate, repeatable: exit 1 unless METRIC OP NUMBER "
        "holds on the number printed, e.g. 'delta < 0.01'. OP: <, <=, >, >=. METRIC: delta, "
        "loss_a, loss_b, better, worse.", show_default=False)] = None,
    by: By = None,
    max_slices: MaxSlices = None,
    report: ReportOption = None,
    report_format: ReportFormatOption = None,
    skip_missing: SkipMissing = False,
    no_progress: NoProgress = False,
    storage_option: StorageOption = None,
) -> int:
    """Compare two models' losses on the same targets: Δ = B − A, and whether it is noise.

    Both are computed with the same options. Δ's 95% interval comes from the exact
    variance of the paired per-element differences; the shares of rows where B's loss is
    lower and higher, and per class for multi-label input, are shown too.
    """
    return commands.diff(
        ctx.obj, InputOptions(a, targets, weights, pred_col, target_col, weight_col, header,
                              input_format, skip_missing, no_progress, pos_label,
                              decimal.value, id_col, second=b, by=by,
                              storage_options=storage_option or ()),
        fmt=format, json_=json_, logits=logits,
        reduction=Reduction(reduction.value) if reduction else None, dtype=dtype, eps=eps,
        like=like.value if like else None, focal_gamma=focal_gamma, focal_alpha=focal_alpha,
        class_weights=class_weights, pos_weight=pos_weight, label_smoothing=label_smoothing,
        max_regression=max_regression, checks=check or [], limits=SliceLimits(max_slices),
        pictures=pictures(report, report_format))


@app.command(cls=BceCommand)
def merge(
    ctx: typer.Context,
    parts: Annotated[list[str], typer.Argument(
        help="Partial results of `bce compute ... --partial`, one per shard.",
        metavar="PART...", show_default=False)],
    format: FormatOption = Format.AUTO,
    json_: JsonOption = False,
    max_loss: MaxLoss = None,
    min_loss: MinLoss = None,
    check: LossCheck = None,
    baseline: Baseline = None,
    tolerance: Tolerance = None,
    report: ReportOption = None,
    report_format: ReportFormatOption = None,
    plot: PlotOption = None,
    plot_kind: PlotKindOption = None,
    storage_option: StorageOption = None,
) -> int:
    """Merge shards' partial results (--partial).

    The result is that of one run over all the shards' data.
    """
    return commands.merge(ctx.obj, parts, fmt=format, json_=json_,
                          gates=Gates(max_loss, min_loss, baseline, tolerance,
                                      checks=tuple(check or ())),
                          pictures=pictures(report, report_format, plot, plot_kind),
                          storage_options=storage_option or ())
