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
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from bcecli import __version__, core
from bcecli.errors import BceError, ExitStatus, UsageError, plural
from bcecli.gates import evaluate, read_baseline
from bcecli.inputs import gather
from bcecli.pipeline import run
from bcecli.progress import ByteProgress
from bcecli.render import Output, Result


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


@app.command()
def compute(
    predictions: Annotated[str, typer.Argument(
        help="Predictions file (.csv .tsv .txt .json .jsonl .npy, optionally .gz), or - for stdin.",
        metavar="PREDICTIONS", show_default=False)],
    targets: Annotated[str | None, typer.Argument(
        help="Targets file, or - for stdin. Omit when PREDICTIONS holds both.",
        metavar="[TARGETS]", show_default=False)] = None,
    logits: Annotated[bool, typer.Option(
        "--logits", "--sigmoid", help="Inputs are raw scores: apply a (stable) sigmoid.")] = False,
    reduction: Annotated[ReductionName, typer.Option(
        "--reduction", "-r", help="mean = Σw·l/N (PyTorch); weighted-mean = Σw·l/Σw "
        "(scikit-learn); none = one loss per element.")] = ReductionName.mean,
    weights: Annotated[str | None, typer.Option(
        help="File of per-sample weights: N values, or an N×C matrix.")] = None,
    pred_col: Annotated[str | None, typer.Option(
        help="Prediction column(s): header name or 0-based index; a comma list for "
        "multi-label.")] = None,
    target_col: Annotated[str | None, typer.Option(help="Target column(s), as --pred-col.")] = None,
    weight_col: Annotated[str | None, typer.Option(help="Weight column, as --pred-col.")] = None,
    class_weights: Annotated[str | None, typer.Option(
        help="C comma-separated weights, one per class (PyTorch weight of shape (C,)).")] = None,
    pos_weight: Annotated[str | None, typer.Option(
        help="Weight of positives: one value or C values (PyTorch pos_weight).")] = None,
    label_smoothing: Annotated[float, typer.Option(
        help="Keras label smoothing: y ← y·(1−F) + 0.5·F.")] = 0.0,
    eps: Annotated[float | None, typer.Option(
        help="Clip probabilities to [E, 1−E] instead of clamping each log at −100.")] = None,
    dtype: Annotated[DType, typer.Option(
        help="float32 reproduces PyTorch float32 results.")] = DType.float64,
    header: Annotated[bool | None, typer.Option(
        "--header/--no-header", help="Force the first row to be (or not be) a header. "
        "Default: detected.", show_default=False)] = None,
    input_format: Annotated[InputFormat | None, typer.Option(
        help="Format of stdin, when sniffing is not wanted.")] = None,
    format: Annotated[Format, typer.Option(
        "--format", "-f", help="auto: a table on a terminal, JSON otherwise.")] = Format.auto,
    json_: Annotated[bool, typer.Option("--json", help="Short for --format json.")] = False,
    max_loss: Annotated[float | None, typer.Option(
        help="CI gate: exit 1 when the reduced loss is above this.")] = None,
    min_loss: Annotated[float | None, typer.Option(
        help="CI gate: exit 1 when the reduced loss is below this (suspiciously good: "
        "label leakage?).")] = None,
    baseline: Annotated[str | None, typer.Option(
        help="CI gate: a saved `bce compute ... --json` result to compare with.")] = None,
    tolerance: Annotated[float | None, typer.Option(
        help="With --baseline: exit 1 when the loss is worse by more than this fraction "
        "(0.05 = 5%).  [default: 0]", show_default=False)] = None,
    no_progress: Annotated[bool, typer.Option(
        "--no-progress", help="Never show the progress bar (it shows only on a terminal, "
        "for reads of over a second).")] = False,
) -> int:
    """Compute the binary cross-entropy of PREDICTIONS against TARGETS."""
    if json_ and format not in (Format.auto, Format.json):
        raise UsageError(f"use just one of --json and --format {format.value}")
    if eps is not None and logits:
        raise UsageError("--eps clips probabilities; it does not apply with --logits")
    if reduction is ReductionName.none:
        for option, value in (("--max-loss", max_loss), ("--min-loss", min_loss),
                              ("--baseline", baseline)):
            if value is not None:
                raise UsageError(f"{option} needs a single loss; it cannot be used with -r none")
    if tolerance is not None and (baseline is None or not tolerance >= 0):
        raise UsageError("--tolerance needs --baseline" if baseline is None else
                         f"--tolerance must be a fraction >= 0, not {tolerance}")
    saved = read_baseline(baseline, reduction.value) if baseline is not None else None
    class_list = float_list("--class-weights", class_weights)
    pos_list = float_list("--pos-weight", pos_weight)
    function = core.LossFunction(logits=logits, pos_weight=pos_list,
                                 label_smoothing=label_smoothing, eps=eps, dtype=dtype.value)
    output = Output("json" if json_ else format.value, sys.stdout, terminal=sys.stdout.isatty())
    with ExitStack() as resources:
        progress = None
        if not no_progress and sys.stderr.isatty():
            progress = ByteProgress(input_size(predictions, targets, weights), sys.stderr)
            resources.callback(progress.close)
        plan = gather(predictions, targets, weights=weights, pred_col=pred_col,
                      target_col=target_col, weight_col=weight_col, header=header,
                      input_format=input_format.value if input_format else None,
                      on_read=progress.advance if progress else None, resources=resources)
        for option, values, allowed in (("--pos-weight", pos_list, (1, plan.classes)),
                                        ("--class-weights", class_list, (plan.classes,))):
            if values is not None and len(values) not in allowed:
                raise UsageError(f"{option} has {plural(len(values), 'value')} but the input "
                                 f"has {plural(plan.classes, 'class')}")
        result: Result | None = None
        try:
            total = run(plan, function, class_list,
                        output.rows if reduction is ReductionName.none else None)
            result = Result(
                loss=None if reduction is ReductionName.none else
                total.result(reduction.value, function.dtype),  # type: ignore[arg-type]
                reduction=reduction.value, count=total.count,
                shape=(total.count // plan.classes,) + (() if plan.predictions.flat
                                                        else (plan.classes,)),
                from_logits=logits, dtype=dtype.value,
                sources={"predictions": plan.predictions.reader.source,
                         "targets": plan.targets.reader.source,
                         "weights": plan.weights.reader.source if plan.weights else None},
                settings={"class_weights": class_list, "pos_weight": pos_list,
                          "label_smoothing": label_smoothing, "eps": eps},
                checks={"max_loss": max_loss, "min_loss": min_loss, "baseline": baseline,
                        "baseline_loss": saved.loss if saved else None,
                        "tolerance": tolerance})
            if result.loss is not None:
                result.gates.extend(evaluate(result.loss, max_loss=max_loss, min_loss=min_loss,
                                             baseline=saved, tolerance=tolerance or 0.0))
            output.finish(result)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, and no flush error at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if result is None:
        return ExitStatus.OK
    for gate in result.gates:
        if not gate.held:
            print(f"bce: {gate.failure}", file=sys.stderr)
    return ExitStatus.CHECK_FAILED if result.passed is False else ExitStatus.OK
