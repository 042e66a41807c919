"""Reports and charts: `--report` (HTML or Markdown) and `--plot` (one SVG chart).

Everything here is made from the result dict alone, the one that `--json` prints
(read back from its text, so a report cannot show a number the JSON does not
have). `sections` turns it into titled tables and chart kinds; `html` and
`markdown` render those, the charts as inline SVG (`bcecli.svg`) or as Mermaid
`xychart-beta` blocks, which GitHub renders in job summaries and comments.
Numbers are written by `errors.format_float`, as the table and the JSON write them;
in HTML each sits in a `<data>` element whose `data-key` is its place in the JSON
(`metrics.calibration_bins.3.mean_label`). No script, no style sheet or font from
elsewhere, no link out: a report opens offline and as a CI artifact.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any, NoReturn

from bcecli.errors import InputError, OutputError, UsageError, format_float, shown_path
from bcecli.svg import Chart, tick_text

FORMATS = {".html": "html", ".htm": "html", ".md": "md"}
SHOWN_SLICES = 12  # bars of the slices chart; its table has them all
ROWS_SHOWN = 100  # rows of a table of --top, slices, classes or checks (the JSON has all)
MERMAID_POINTS = 21  # points of a curve in Markdown: a subset of the JSON's
SECTIONS = ("metrics", "histogram", "per_class", "slices", "top", "checks", "conventions",
            "losses")  # keys with sections of their own, not the headline's
ALWAYS = ("loss", "reduction", "count", "shape", "from_logits", "dtype", "loss_a", "loss_b",
          "delta", "delta_ci95", "better", "worse", "better_rows", "worse_rows", "rows",
          "skipped")  # shown even when 0: a result, not a setting left at its default
NEEDS = {"reliability": ("--metrics", "a reliability diagram needs the calibration bins"),
         "roc": ("--metrics", "a ROC curve needs the ranking metrics"),
         "pr": ("--metrics", "a precision-recall curve needs the ranking metrics"),
         "hist": ("--hist", "a loss histogram needs the per-sample losses' counts"),
         "slices": ("--by COL", "a slices chart needs the per-slice results")}


def report_format(path: str, given: str | None) -> str:
    """`--report-format`, or the one `path`'s extension names."""
    if given is not None:
        return given
    for extension, fmt in FORMATS.items():
        if path.lower().endswith(extension):
            return fmt
    raise UsageError(f"--report {shown_path(path)}: cannot tell the format from the name",
                     hint="end it in .html or .md, or give --report-format html|md")


def check_plot(path: str, kind: str | None, given: dict[str, bool]) -> str:
    """`--plot PATH.svg` with its kind (reliability when not given), refused early when
    `given` says the option its data needs is not (`chart` checks the data itself)."""
    if not path.lower().endswith(".svg"):
        raise UsageError(f"--plot {shown_path(path)}: bce draws SVG: name the file .svg")
    kind = kind or "reliability"
    if not given.get(NEEDS[kind][0], True):
        missing(kind)
    return kind


def missing(kind: str) -> NoReturn:
    option, why = NEEDS[kind]
    raise UsageError(f"--plot-kind {kind}: {why}", hint=f"add {option}")


def result_of(json_text: str) -> dict[str, Any]:
    """The result dict, read back from the JSON text `--json` prints."""
    value: dict[str, Any] = json.loads(json_text)
    return value


def write(path: str, text: str) -> None:
    """Write a report or a chart; a path that cannot be written is one line naming it."""
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as e:
        raise OutputError(f"cannot write {shown_path(path)}: {e.strerror or e}") from None


# -- the sections, as one structure both formats render -------------------------------


@dataclass
class Number:
    """A number of the result and its place in the JSON (`metrics.roc_auc`)."""

    value: Any
    key: str


Cell = str | Number | list[str | Number]


@dataclass
class Table:
    columns: tuple[str, ...]
    rows: list[list[Cell]]
    caption: str = ""


@dataclass
class Section:
    key: str
    title: str
    tables: list[Table] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)  # chart kinds
    note: str = ""


def sections(result: dict[str, Any]) -> list[Section]:
    """What a report shows, in order: the headline, then each part the result has."""
    out = [headline(result)]
    metrics = result.get("metrics")
    if metrics:
        out.append(metric_section(metrics))
        out.append(Section("reliability", f"Reliability ({metrics['binning']} bins)",
                           [bins_table(metrics)], ["reliability"]))
        curves = [kind for kind in ("roc", "pr") if metrics.get(f"{kind}_curve")]
        if curves:
            out.append(Section("ranking", "Ranking: ROC and precision-recall", [], curves))
    if "histogram" in result:
        data = result["histogram"]
        out.append(Section("histogram", "Per-sample losses", [Table(("Losses", "Samples"), [
            [bin_text(low, high), Number(count, f"histogram.counts.{i}")]
            for i, (low, high, count) in enumerate(zip(data["edges"], data["edges"][1:],
                                                       data["counts"], strict=False))
            if count])], ["hist"]))
    for key, title, charts in (("per_class", "Per class", []),
                               ("slices", "Slices, worst first", ["slices"]),
                               ("top", "Worst samples", []), ("checks", "Checks", [])):
        if isinstance(result.get(key), list) and result[key]:
            table = records(result[key][:ROWS_SHOWN], key)
            if len(result[key]) > ROWS_SHOWN:
                table.caption = (f"The first {ROWS_SHOWN} of {len(result[key])} "
                                 "(--json has them all).")
            out.append(Section(key, title, [table], charts))
    if "conventions" in result:
        out.append(Section("conventions", "Conventions: one input, each library's loss", [
            Table(("Convention", "Loss", "Reduction", "dtype", "What differs"), [
                [name, number(row["loss"], f"conventions.{name}.loss", "refused"),
                 row["reduction"], row["dtype"], row["differs"]]
                for name, row in result["conventions"].items()])]))
    return out


def headline(result: dict[str, Any]) -> Section:
    """The loss (or Δ), the settings, the inputs and the columns used."""
    if "conventions" in result:
        title = (f"Binary cross-entropy of {result['count']} values, "
                 f"{len(result['conventions'])} ways")
    elif "delta" in result:
        title = "Binary cross-entropy, model B against model A"
    else:
        title = "Binary cross-entropy"
    rows: list[list[Cell]] = []
    for key, value in result.items():
        if key in SECTIONS or (key not in ALWAYS and value in (None, 0, 0.0, False, {}, [])):
            continue
        if key == "from_logits":
            rows.append(["input", "logits (sigmoid applied)" if value else "probabilities"])
        elif key == "passed":
            rows.append(["gates", "passed" if value else "FAILED"])
        elif key == "columns":
            rows.append([key, ", ".join(f"{role} ← {fed!r}" for role, fed in value.items()
                                        if fed is not None)])
        else:
            rows.append([key.replace("_", " "), cell(value, key)])
    return Section("headline", title, [Table(("", "Value"), rows)])


def metric_section(metrics: dict[str, Any]) -> Section:
    """Every number of --metrics, an interval as its two ends, the bootstrap's too."""
    rows: list[list[Cell]] = [
        [key.replace("_", " "), cell(value, f"metrics.{key}")] for key, value in metrics.items()
        if key not in ("calibration_bins", "bootstrap", "roc_curve", "pr_curve", "binning")]
    for key, value in (metrics.get("bootstrap") or {}).items():
        if key.endswith("_ci95"):
            rows.append([f"{key.removesuffix('_ci95').replace('_', ' ')} ci95 (bootstrap)",
                         cell(value, f"metrics.bootstrap.{key}")])
    return Section("metrics", "Metrics", [Table(("Metric", "Value"), rows)],
                   note="An interval is [low, high]; `bounds` certainly hold the exact value "
                   "where the score sketch shared buckets between scores.")


def bins_table(metrics: dict[str, Any]) -> Table:
    """The reliability bins that hold any weight."""
    keys = ("count", "weight", "mean_prediction", "mean_label", "label_ci95")
    return Table(("Bin", "Count", "Weight", "Mean p", "Mean y", "95% CI (y)"), [
        [bin_text(b["lower"], b["upper"], b["upper"] == 1),
         *(cell(b[key], f"metrics.calibration_bins.{i}.{key}") for key in keys)]
        for i, b in enumerate(metrics["calibration_bins"]) if b["count"]])


def records(items: list[dict[str, Any]], key: str) -> Table:
    """A list of objects (per class, slices, --top, checks) as a table: a column a key."""
    columns: dict[str, None] = {}
    for item in items:
        columns |= dict.fromkeys(item)
    columns.pop("other", None)
    rows = [[by_text(item) if column == "by" else
             cell(item.get(column), f"{key}.{i}.{column}", passed=column == "passed")
             for column in columns] for i, item in enumerate(items)]
    return Table(tuple(c.replace("_", " ") for c in columns), rows)


def by_text(item: dict[str, Any]) -> str:
    """A slice's name, `region=eu, device=phone` (the terminal's, with the columns)."""
    from bcecli.render import slice_name

    if not isinstance(item.get("by"), dict):
        return slice_name(item)
    return ", ".join(f"{name}={slice_name({'by': {name: value}})}"
                     for name, value in item["by"].items())


def cell(value: Any, key: str, *, passed: bool = False) -> Cell:
    """A JSON value as a cell: numbers as `Number`s (a list of them as a list)."""
    if passed and isinstance(value, bool):
        return "✓ passed" if value else "✗ FAILED"
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "undefined"}[value]
    if isinstance(value, int | float):
        return Number(value, key)
    if isinstance(value, list):
        parts: list[str | Number] = []
        for i, item in enumerate(value):
            inner = cell(item, f"{key}.{i}")
            parts += inner if isinstance(inner, list) else [inner]
        return parts
    if isinstance(value, dict):
        return ", ".join(f"{name}: {item}" for name, item in value.items())
    return str(value)


def number(value: Any, key: str, missing: str) -> Cell:
    return missing if value is None else Number(value, key)


def bin_text(low: float, high: float, closed: bool = False) -> str:
    return f"[{tick_text(low)}, {'∞' if high == float('inf') else tick_text(high)}" + \
        ("]" if closed else ")")


# -- the charts -----------------------------------------------------------------------


def chart(kind: str, result: dict[str, Any]) -> Chart:
    """The chart of `kind`; a usage error naming the option when its data is missing."""
    metrics = result.get("metrics") or {}
    data = metrics if kind in ("reliability", "roc", "pr") else result.get(
        "histogram" if kind == "hist" else "slices")
    if not data:
        missing(kind)
    if kind in ("roc", "pr") and not metrics.get(f"{kind}_curve"):
        raise InputError(f"no {'ROC' if kind == 'roc' else 'precision-recall'} curve: the "
                         "targets hold " + ("one class only" if kind == "roc" else
                                            "no positive weight"))
    builder: Callable[[dict[str, Any], dict[str, Any]], Chart] = BUILDERS[kind]
    return builder(data, result)


def unit(result: dict[str, Any]) -> str:
    return "bits" if result.get("base") == 2 else "nats"


def reliability_chart(metrics: dict[str, Any], result: dict[str, Any]) -> Chart:
    bins = [b for b in metrics["calibration_bins"] if b["count"] and b["mean_label"] is not None]
    most = max((b["count"] for b in bins), default=1)
    ece = "undefined" if metrics["ece"] is None else format_float(metrics["ece"])
    chart = Chart(f"Reliability ({metrics['binning']} bins), ECE {ece}",
                  "mean predicted probability (per bin)", "observed rate of positives",
                  "Each dot is a bin: its mean prediction against the rate of positives in "
                  "it, with the 95% Wilson interval. Grey bars: samples per bin (the tallest "
                  f"holds {most}). Good: the dots lie on the dashed diagonal, where a "
                  "prediction of p comes true a share p of the time.",
                  x_range=(0.0, 1.0), y_range=(0.0, 1.0))
    chart.bars([b["lower"] for b in bins], [b["upper"] for b in bins],
               [0.25 * b["count"] / most for b in bins], "faint")
    chart.line([0.0, 1.0], [0.0, 1.0], "muted", width=1.5, dashed=True)
    shown = [b for b in bins if b["label_ci95"] is not None]
    chart.error_bars([b["mean_prediction"] for b in shown], [b["label_ci95"][0] for b in shown],
                     [b["label_ci95"][1] for b in shown])
    chart.line([b["mean_prediction"] for b in bins], [b["mean_label"] for b in bins])
    chart.points([b["mean_prediction"] for b in bins], [b["mean_label"] for b in bins])
    return chart


def hist_chart(data: dict[str, Any], result: dict[str, Any]) -> Chart:
    edges, counts = data["edges"], data["counts"]
    last = max((i for i, c in enumerate(counts) if c), default=0) + 1
    chart = Chart("Per-sample losses", f"loss per sample ({unit(result)}; bins widen to the "
                  "right)", "samples",
                  "Samples per range of loss. Good: most samples in the leftmost bars; a bar "
                  "far to the right is confident mistakes (the worst samples, --top, say "
                  "where they are).", x_range=(0.0, float(last)),
                  y_range=(0.0, float(max(counts[:last]) or 1)),
                  x_ticks=[(float(i), "∞" if edge == float("inf") else tick_text(edge))
                           for i, edge in enumerate(edges[:last + 1])])
    chart.bars([float(i) for i in range(last)], [i + 1.0 for i in range(last)],
               [float(c) for c in counts[:last]])
    return chart


def roc_chart(metrics: dict[str, Any], result: dict[str, Any]) -> Chart:
    curve = metrics["roc_curve"]
    caption = ("True-positive rate against false-positive rate as the threshold falls; the "
               "dashed diagonal is a ranking by chance. Good: the curve hugs the top-left "
               "corner (AUC near 1).")
    if "roc_auc_bounds" in metrics:
        low, high = metrics["roc_auc_bounds"]
        caption += (" Scores share buckets here, so between thresholds the curve is the tie "
                    "curve (straight lines through the buckets' corners); the exact AUC lies "
                    f"in [{format_float(low)}, {format_float(high)}].")
    chart = Chart(f"ROC curve, AUC {format_float(metrics['roc_auc'])}", "false-positive rate",
                  "true-positive rate", caption, x_range=(0.0, 1.0), y_range=(0.0, 1.0))
    chart.line([0.0, 1.0], [0.0, 1.0], "muted", width=1.5, dashed=True)
    chart.line(curve["fpr"], curve["tpr"])
    return chart


def pr_chart(metrics: dict[str, Any], result: dict[str, Any]) -> Chart:
    curve = metrics["pr_curve"]
    share = curve["precision"][-1]  # at the lowest threshold: every sample predicted positive
    caption = ("Precision against recall as the threshold falls; the dashed line is the share "
               f"of positives, {format_float(share)} (a ranking by chance). Good: precision "
               "stays high as recall grows to 1.")
    if "average_precision_bounds" in metrics:
        low, high = metrics["average_precision_bounds"]
        caption += (" Scores share buckets here, so the curve runs straight through the "
                    f"buckets' corners; the exact AP lies in [{format_float(low)}, "
                    f"{format_float(high)}].")
    chart = Chart(f"Precision-recall, AP {format_float(metrics['average_precision'])}",
                  "recall (true-positive rate)", "precision", caption, x_range=(0.0, 1.0),
                  y_range=(0.0, 1.0))
    chart.line([0.0, 1.0], [share, share], "muted", width=1.5, dashed=True)
    chart.line(curve["recall"], curve["precision"])
    return chart


def slices_chart(slices: list[dict[str, Any]], result: dict[str, Any]) -> Chart:
    measure = "delta" if "delta" in slices[0] else "loss"
    shown = [s for s in slices if s.get(measure) is not None][:SHOWN_SLICES]
    values = [float(s[measure]) for s in shown]
    low, high = min([0.0, *values]), max([0.0, *values]) or 1.0
    chart = Chart(f"Slices, worst first ({measure})", "slice",
                  "Δ loss (B − A)" if measure == "delta" else f"loss ({unit(result)})",
                  f"The {len(shown)} worst of {len(slices)} slices (the table has them all). "
                  "Good: bars of about one height; a tall bar is a slice the model serves "
                  "badly.", x_range=(0.0, float(len(shown) or 1)), y_range=(low, high),
                  x_ticks=[(i + 0.5, by_text(s)[:12]) for i, s in enumerate(shown)])
    chart.bars([float(i) for i in range(len(shown))], [i + 1.0 for i in range(len(shown))],
               values, "second")
    return chart


BUILDERS: dict[str, Callable[[Any, dict[str, Any]], Chart]] = {
    "reliability": reliability_chart, "hist": hist_chart, "roc": roc_chart, "pr": pr_chart,
    "slices": slices_chart}


# -- HTML -----------------------------------------------------------------------------

STYLE = """
body{margin:0;background:#f4f5f7;color:#222;font:15px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,sans-serif}
main{max-width:1160px;margin:0 auto;padding:12px 24px 32px;background:#fff}
h1{font-size:1.5em;margin:.4em 0}h2{font-size:1.2em;margin:1.4em 0 .4em;
border-bottom:2px solid #e3e6ea;padding-bottom:.2em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:.3em 0}
th,td{padding:3px 10px;border-bottom:1px solid #e7e7e7;text-align:left;vertical-align:top}
th{background:#f7f8fa}
td:first-child{font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,500px),1fr));
gap:16px}
figure{margin:0;max-width:720px}svg{width:100%;height:auto;display:block}
figcaption{font-size:.9em;font-style:italic;color:#444;margin:.2em 0 .6em}
td:first-child{white-space:nowrap}
.note{color:#555;font-size:.92em}
.pass{color:#176b2c;font-weight:600}.fail{color:#b00020;font-weight:700}
@media (max-width:600px){main{padding:8px 10px}body{font-size:14px}th,td{padding:2px 5px}
h1{font-size:1.25em}}
@media print{body{background:#fff}main{max-width:none;padding:0}section{break-inside:avoid}
.scroll{overflow:visible}a{color:inherit}}
"""


def html(result: dict[str, Any]) -> str:
    """The HTML report: one file, inline CSS and SVG, no script, no link out."""
    parts = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>bce report</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
             "<main>", "<h1>bce report</h1>"]
    for section in sections(result):
        parts.append(f'<section id="{section.key}">\n<h2>{escape(section.title)}</h2>')
        if section.charts:
            parts.append('<div class="charts">' + "".join(
                figure(chart(kind, result)) for kind in section.charts) + "</div>")
        parts += [html_table(table) for table in section.tables]
        if section.note:
            parts.append(f'<p class="note">{escape(section.note)}</p>')
        parts.append("</section>")
    parts += ['<p class="note">Written by bce. Every number is the one <code>--json</code> '
              "prints with the same options.</p>", "</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def figure(drawn: Chart) -> str:
    """A chart and its caption, as HTML text beneath it."""
    return f"<figure>{drawn.svg(standalone=False)}<figcaption>{escape(drawn.caption)}" \
        "</figcaption></figure>"


def html_table(table: Table) -> str:
    head = "".join(f"<th>{escape(column)}</th>" for column in table.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html_cell(c)}</td>" for c in row) + "</tr>\n"
                   for row in table.rows)
    caption = f"<caption>{escape(table.caption)}</caption>" if table.caption else ""
    return f'<div class="scroll"><table>{caption}<thead><tr>{head}</tr></thead>\n' \
        f"<tbody>\n{rows}</tbody></table></div>"


def html_cell(value: Cell) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(html_cell(part) for part in value) + "]"
    if isinstance(value, Number):
        text = shown(value.value)
        return f'<data value="{text}" data-key="{escape(value.key)}">{text}</data>'
    style = ' class="pass"' if value.startswith("✓") or value == "passed" else \
        ' class="fail"' if value.startswith("✗") or value == "FAILED" else ""
    return f"<span{style}>{escape(value)}</span>" if style else escape(value)


def shown(value: float | int) -> str:
    """A number as the table prints it (ints as ints)."""
    return str(value) if isinstance(value, int) else format_float(value)


# -- Markdown ---------------------------------------------------------------------------


def markdown(result: dict[str, Any]) -> str:
    """The Markdown report: the same sections as tables, the charts as Mermaid blocks."""
    parts = ["# bce report"]
    for section in sections(result):
        parts.append(f"## {section.title}")
        parts += [md_table(table) for table in section.tables]
        parts += [mermaid(kind, result) for kind in section.charts]
        if section.note:
            parts.append(f"_{section.note}_")
    parts.append("_Written by bce. Every number is the one `--json` prints with the same "
                 "options; the charts round theirs._")
    return "\n\n".join(parts) + "\n"


def md_table(table: Table) -> str:
    lines = ["| " + " | ".join(table.columns) + " |",
             "|" + " --- |" * len(table.columns)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines) + (f"\n\n_{table.caption}_" if table.caption else "")


def md_cell(value: Cell) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(md_cell(part) for part in value) + "]"
    if isinstance(value, Number):
        return shown(value.value)
    return value.replace("|", "\\|").replace("\n", " ")


def mermaid(kind: str, result: dict[str, Any]) -> str:
    """One chart as a Mermaid `xychart-beta` block (values rounded to 4 decimals)."""
    drawn = chart(kind, result)  # checks the data, and gives the title and caption
    metrics = result.get("metrics") or {}
    series: list[str]
    if kind == "reliability":
        bins = [b for b in metrics["calibration_bins"] if b["count"] and
                b["mean_label"] is not None]
        labels = [bin_text(b["lower"], b["upper"], b["upper"] == 1) for b in bins]
        y_axis = '"rate of positives (bars), mean prediction (line)" 0 --> 1'
        series = [f"bar {values([b['mean_label'] for b in bins])}",
                  f"line {values([b['mean_prediction'] for b in bins])}"]
        caption = "Good: each bar (the observed rate) as tall as the line (the mean prediction)."
    elif kind == "hist":
        data = result["histogram"]
        last = max((i for i, c in enumerate(data["counts"]) if c), default=0) + 1
        labels = [bin_text(low, high) for low, high in zip(data["edges"][:last],
                                                           data["edges"][1:last + 1],
                                                           strict=True)]
        y_axis = '"samples"'
        series = [f"bar {values(data['counts'][:last])}"]
        caption = "Good: most samples in the leftmost bars."
    elif kind in ("roc", "pr"):
        curve = metrics[f"{kind}_curve"]
        x, y = (curve["fpr"], curve["tpr"]) if kind == "roc" else \
            (curve["recall"], curve["precision"])
        step = max(1, -(-(len(x) - 1) // (MERMAID_POINTS - 1)))
        kept = sorted({*range(0, len(x), step), len(x) - 1})
        labels = [f"{x[i]:.3f}" for i in kept]
        y_axis = f'"{"true-positive rate" if kind == "roc" else "precision"}" 0 --> 1'
        series = [f"line {values([y[i] for i in kept])}"]
        caption = drawn.caption
    else:
        slices = result["slices"]
        measure = "delta" if "delta" in slices[0] else "loss"
        shown_slices = [s for s in slices if s.get(measure) is not None][:SHOWN_SLICES]
        labels = [by_text(s)[:20] for s in shown_slices]
        y_axis = f'"{measure}"'
        series = [f"bar {values([s[measure] for s in shown_slices])}"]
        caption = "Worst first. Good: bars of about one height."
    x_label = drawn.x_label
    block = ["```mermaid", "xychart-beta", f'    title "{quoted(drawn.title)}"',
             f'    x-axis "{quoted(x_label)}" [' + ", ".join(f'"{quoted(label)}"'
                                                          for label in labels) + "]",
             f"    y-axis {y_axis}", *(f"    {line}" for line in series), "```"]
    return "\n".join(block) + f"\n\n_{caption}_"


def values(numbers: list[Any]) -> str:
    return "[" + ", ".join(format_float(round(float(v), 4)) for v in numbers) + "]"


def quoted(text: str) -> str:
    """Text inside a Mermaid string: no double quotes."""
    return text.replace('"', "'")


def render(result: dict[str, Any], fmt: str) -> str:
    return html(result) if fmt == "html" else markdown(result)
