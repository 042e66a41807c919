"""Reports and charts (issue 16): `--report` (HTML, Markdown), `--plot` (SVG), the curves.

Every number an HTML report shows sits in a `<data>` element naming its place in
the JSON; the tests read the report with `html.parser`, follow each place in the
`--json` output of the same run and compare. SVGs are parsed as XML and written
twice; the Markdown's Mermaid blocks are held to a grammar and to a golden file.
The ROC and PR curves are scikit-learn's on exact sketches
(tests/golden/curve_cases.json, from scripts/make_golden_curves.py).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bcecli.ranking import ScoreSketch
from tests.helpers import ROOT, Files, Run

CURVES = json.loads((ROOT / "tests" / "golden" / "curve_cases.json").read_text())
MERMAID_GOLDEN = ROOT / "tests" / "golden" / "report_mermaid.md"
SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$|^-?inf$|^nan$")


def data_csv(rows: int = 400, seed: int = 16) -> str:
    """Scores with ties (3 decimals), 0/1 labels, weights and a group column."""
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(rows), 3)
    y = (rng.random(rows) < p).astype(int)
    w = rng.choice([0.5, 1.0, 2.0], rows)
    group = rng.choice(["eu", "us", "asia"], rows)
    return "score,label,weight,group\n" + "".join(
        f"{a},{b},{c},{d}\n" for a, b, c, d in zip(p, y, w, group, strict=True))


class Report(HTMLParser):
    """The `<data>` numbers of an HTML report, the text of each cell, and every tag."""

    def __init__(self) -> None:
        super().__init__()
        self.numbers: list[tuple[str, str, str]] = []  # (value, data-key, text)
        self.cells: list[tuple[str, bool]] = []  # (text, whether it is one <data>)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: dict[str, str | None] | None = None
        self.cell: list[str] | None = None
        self.cell_data = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "data":
            self.open, self.text = dict(attrs), ""
            self.cell_data += 1
        elif tag == "td":
            self.cell, self.cell_data = [], 0

    def handle_endtag(self, tag: str) -> None:
        if tag == "data" and self.open is not None:
            self.numbers.append((self.open["value"] or "", self.open["data-key"] or "",
                                 self.text))
            self.open = None
        elif tag == "td" and self.cell is not None:
            self.cells.append(("".join(self.cell), self.cell_data == 1))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.open is not None:
            self.text += data
        if self.cell is not None:
            self.cell.append(data)


def at(result: Any, key: str) -> Any:
    """The value at a `data-key` such as `metrics.calibration_bins.3.mean_label`."""
    for part in key.split("."):
        result = result[int(part)] if isinstance(result, list) else result[part]
    return result


def check_html(text: str, result: dict[str, Any]) -> Report:
    """Every number shown is the JSON's, at the place it names; nothing from elsewhere."""
    parsed = Report()
    parsed.feed(text)
    assert parsed.numbers
    for value, key, shown in parsed.numbers:
        assert value == shown, key
        expected = at(result, key)
        assert isinstance(expected, int | float) and not isinstance(expected, bool), key
        assert float(shown) == expected or (math.isnan(expected) and shown == "nan"), key
        if isinstance(expected, int):
            assert shown == str(expected), key
    for cell, is_number in parsed.cells:  # a cell that is a number is one of them
        assert is_number or not NUMBER.match(cell.strip()), cell
    assert "<script" not in text.lower() and "http://" not in text and "https://" not in text
    assert not any(name in ("src", "href", "xlink:href") for _, attrs in parsed.tags
                   for name in attrs)
    return parsed


def run_json(bce: Run, *args: str, code: int = 0) -> dict[str, Any]:
    result = bce(*args, "--json")
    assert result.exit_code == code, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


# -- the curves ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CURVES["cases"], ids=lambda c: c["name"])
def test_curves_are_scikit_learns(case: dict[str, Any]) -> None:
    sketch = ScoreSketch(case["weights"] is not None)
    sketch.add(case["scores"], case["targets"], case["weights"])
    curves = sketch.curves()
    assert curves.roc is not None and curves.pr is not None
    for ours, theirs in ((curves.roc[0], case["fpr"]), (curves.roc[1], case["tpr"]),
                         (curves.pr[0], case["recall"]), (curves.pr[1], case["precision"])):
        assert len(ours) == len(theirs)
        assert np.allclose(ours, theirs, rtol=1e-12, atol=0)


def test_curves_keep_at_most_200_points_of_the_full_curve() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(20_000)
    sketch = ScoreSketch()
    sketch.add(p, (rng.random(20_000) < p).astype(float))
    thin, full = sketch.curves(), sketch.curves(points=10**6)
    assert thin.roc is not None and full.roc is not None and thin.pr is not None
    assert len(thin.roc[0]) == len(thin.pr[0]) <= 200 < len(full.roc[0])
    points = set(zip(*full.roc, strict=True))
    assert all(point in points for point in zip(*thin.roc, strict=True))
    assert (thin.roc[0][0], thin.roc[1][0], thin.roc[0][-1], thin.roc[1][-1]) == (0, 0, 1, 1)
    assert thin == sketch.curves()  # deterministic
    area = sum((b - a) * (c + d) / 2 for a, b, c, d in zip(
        full.roc[0], full.roc[0][1:], full.roc[1], full.roc[1][1:], strict=False))
    estimate = sketch.roc_auc()
    assert estimate is not None and math.isclose(area, estimate.value, rel_tol=1e-12)


def test_a_coarse_sketch_draws_the_tie_curve_and_one_class_none() -> None:
    sketch = ScoreSketch(cap=4)
    sketch.add(np.linspace(0, 1, 101), np.arange(101) % 2)
    curves = sketch.curves()
    assert curves.roc is not None and len(curves.roc[0]) == len(sketch) + 1
    only = ScoreSketch()
    only.add([0.2, 0.4], [0, 0])
    assert only.curves().roc is None and only.curves().pr is None


def test_curves_are_in_the_json_only_when_a_report_asks(bce: Run, files: Files) -> None:
    files(d__csv=data_csv())
    plain = run_json(bce, "compute", "d.csv", "--metrics")
    assert "roc_curve" not in plain["metrics"]
    asked = run_json(bce, "compute", "d.csv", "--metrics", "--report", "r.html")
    sketch = ScoreSketch()
    data = np.loadtxt("d.csv", delimiter=",", skiprows=1, usecols=(0, 1))
    sketch.add(data[:, 0], data[:, 1])
    curves = sketch.curves()
    assert curves.roc is not None and curves.pr is not None
    assert asked["metrics"]["roc_curve"] == {"fpr": curves.roc[0], "tpr": curves.roc[1]}
    assert asked["metrics"]["pr_curve"] == {"recall": curves.pr[0], "precision": curves.pr[1]}
    assert {k: v for k, v in asked["metrics"].items() if not k.endswith("_curve")} == \
        plain["metrics"]


# -- HTML -----------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [(), ("--weight-col", "weight", "--binning", "mass"),
                                   ("--bootstrap", "20", "--base", "2")])
def test_every_number_of_the_html_report_is_the_jsons(bce: Run, files: Files,
                                                       extra: tuple[str, ...]) -> None:
    files(d__csv=data_csv())
    result = run_json(bce, "compute", "d.csv", "--metrics", "--hist", "--top", "4",
                      "--max-loss", "5", *extra, "--report", "r.html")
    parsed = check_html(Path("r.html").read_text(), result)
    keys = {key for _, key, _ in parsed.numbers}
    assert "loss" in keys and "count" in keys and "top.3.loss" in keys
    assert {f"metrics.{k}" for k, v in result["metrics"].items()
            if isinstance(v, float)} <= keys
    assert {f"metrics.calibration_bins.{i}.mean_label"
            for i, b in enumerate(result["metrics"]["calibration_bins"]) if b["count"]} <= keys
    text = Path("r.html").read_text()
    for title in ("Reliability", "ROC curve", "Precision-recall", "Per-sample losses",
                  "Worst samples", "Metrics"):
        assert title in text
    assert text.count("<svg") == 4 and '<meta name="viewport"' in text
    assert "@media (max-width:600px)" in text and "@media print" in text


def test_reports_of_diff_compare_and_merge(bce: Run, files: Files) -> None:
    files(a__csv=data_csv(seed=1), b__csv=data_csv(seed=1).replace("0.1", "0.2"))
    diff = run_json(bce, "diff", "a.csv", "b.csv", "--report", "d.html")
    parsed = check_html(Path("d.html").read_text(), diff)
    assert {"loss_a", "loss_b", "delta", "delta_ci95.0", "delta_ci95.1"} <= \
        {key for _, key, _ in parsed.numbers}
    same = run_json(bce, "diff", "a.csv", "a.csv", "--report", "s.html")  # Δ = 0 is shown
    assert same["delta"] == 0.0 and same["better"] == 0.0
    assert {"delta", "better", "worse"} <= {key for _, key, _ in
                                            check_html(Path("s.html").read_text(), same).numbers}
    compare = run_json(bce, "compare", "a.csv", "--report", "c.html")
    parsed = check_html(Path("c.html").read_text(), compare)
    assert {f"conventions.{name}.loss" for name, row in compare["conventions"].items()
            if row["loss"] is not None} <= {key for _, key, _ in parsed.numbers}
    for part in ("a", "b"):
        shard = bce("compute", f"{part}.csv", "--metrics", "--hist", "--partial")
        assert shard.exit_code == 0, shard.stderr
        Path(f"{part}.part").write_text(shard.stdout)
    merged = run_json(bce, "merge", "a.part", "b.part", "--report", "m.html", "--plot",
                      "m.svg", "--plot-kind", "pr")
    check_html(Path("m.html").read_text(), merged)
    assert merged["metrics"]["pr_curve"]["recall"][-1] == 1.0
    ET.fromstring(Path("m.svg").read_text())


def test_long_tables_show_their_first_rows(bce: Run, files: Files) -> None:
    files(d__csv=data_csv(300))
    result = run_json(bce, "compute", "d.csv", "--top", "250", "--report", "r.html")
    parsed = check_html(Path("r.html").read_text(), result)
    assert {key for _, key, _ in parsed.numbers if key.startswith("top.")} == \
        {f"top.{i}.{column}" for i in range(100) for column in ("prediction", "target", "loss")}
    assert "The first 100 of 250 (--json has them all)." in Path("r.html").read_text()


def test_real_slices_and_checks_in_reports_and_the_slices_plot(bce: Run, files: Files) -> None:
    files(d__csv=data_csv())
    result = run_json(bce, "compute", "d.csv", "--metrics", "--by", "group", "--check",
                      "auc >= 0.99", "--check", "loss < 5", "--report", "r.html", "--plot",
                      "s.svg", "--plot-kind", "slices", code=1)
    assert result["passed"] is False and len(result["checks"]) == 2
    parsed = check_html(Path("r.html").read_text(), result)
    keys = {key for _, key, _ in parsed.numbers}
    assert {f"slices.{i}.loss" for i in range(3)} | {"checks.0.value", "checks.1.value"} <= keys
    text = Path("r.html").read_text()
    assert "group=eu" in text and "✗ FAILED" in text and "✓ passed" in text
    svg = ET.fromstring(Path("s.svg").read_text())
    assert len(svg.findall(f"{SVG}rect")) == 1 + 3
    assert [t for t in svg_texts(svg) if t.startswith("group=")] == \
        [f"group={s['by']['group']}"[:12] for s in result["slices"]]
    diff = run_json(bce, "diff", "d.csv", "d.csv", "--by", "group", "--report", "d.html")
    check_html(Path("d.html").read_text(), diff)
    assert "Slices, worst first (delta)" in Path("d.html").read_text()


def test_slices_and_checks_render_as_tables_and_a_chart() -> None:
    from bcecli import report

    result: dict[str, Any] = {
        "loss": 0.5, "reduction": "mean", "count": 10, "shape": [10], "from_logits": False,
        "dtype": "float64", "passed": False,
        "checks": [{"expression": "loss <= 0.4", "value": 0.5, "passed": False,
                    "option": "--check"}],
        "slices": [{"by": {"region": "eu"}, "rows": 6, "count": 6, "loss": 0.75},
                   {"by": {"region": "us"}, "rows": 3, "count": 3, "loss": 0.25},
                   {"by": None, "other": True, "slices": 2, "rows": 1, "count": 1,
                    "loss": 0.125}]}
    text = report.html(result)
    check_html(text, result)
    assert "region=eu" in text and "(other: 2 slices)" in text and "✗ FAILED" in text
    chart = ET.fromstring(report.chart("slices", result).svg())
    assert len(chart.findall(f"{SVG}rect")) == 1 + 3  # the background and a bar a slice
    assert "slices" in report.markdown(result)


# -- SVG ----------------------------------------------------------------------------------


def svg_texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("kind", ["reliability", "hist", "roc", "pr"])
def test_plots_are_standalone_xml_with_titles_and_byte_identical(
        bce: Run, files: Files, kind: str) -> None:
    files(d__csv=data_csv())
    texts = []
    for _ in range(2):
        result = run_json(bce, "compute", "d.csv", "--metrics", "--hist", "--plot", "c.svg",
                          "--plot-kind", kind)
        texts.append(Path("c.svg").read_bytes())
    assert texts[0] == texts[1]
    root = ET.fromstring(texts[0])
    assert root.tag == f"{SVG}svg"
    shown = svg_texts(root)
    title = shown[0]
    metrics = result["metrics"]
    expected = {"reliability": ("ece", "ECE "), "roc": ("roc_auc", "AUC "),
                "pr": ("average_precision", "AP ")}
    if kind in expected:  # the number in the title is the JSON's
        key, label = expected[kind]
        assert float(title.split(label)[1]) == metrics[key]
    assert len(shown) > 10 and any("Good:" in t for t in shown)  # ticks, labels, a caption
    assert all(not name.endswith("href") for element in root.iter() for name in element.attrib)
    if kind == "roc":  # the curve's points are the JSON's, to the pixel's hundredth
        lines = root.findall(f"{SVG}polyline")
        points = [tuple(map(float, p.split(","))) for p in lines[-1].attrib["points"].split()]
        fpr, tpr = metrics["roc_curve"]["fpr"], metrics["roc_curve"]["tpr"]
        assert len(points) == len(fpr)
        assert all(abs(x - (70 + f * 550)) <= 0.006 and abs(y - (344 - t * 298)) <= 0.006
                   for (x, y), f, t in zip(points, fpr, tpr, strict=True))


# -- Markdown -------------------------------------------------------------------------------


XYCHART = re.compile(
    r'```mermaid\nxychart-beta\n'
    r'    title "[^"\n]+"\n'
    r'    x-axis "[^"\n]+" \[("[^"\n]*"(, "[^"\n]*")*)\]\n'
    r'    y-axis "[^"\n]+"( -?[\d.]+ --> -?[\d.]+)?\n'
    r'((    (bar|line) \[-?[\d.e-]+(, -?[\d.e-]+)*\]\n)+)```')


def mermaid_blocks(text: str) -> list[str]:
    return re.findall(r"```mermaid\n.*?```", text, re.S)


def test_markdown_report_mermaid_blocks(bce: Run, files: Files) -> None:
    files()
    result = bce("compute", str(ROOT / "sample_data" / "scores.csv"), "--metrics", "--hist",
                 "--top", "3", "--report", "r.txt", "--report-format", "md", "-f", "plain")
    assert result.exit_code == 0, result.stderr
    text = Path("r.txt").read_text()
    blocks = mermaid_blocks(text)
    assert len(blocks) == 4
    for block in blocks:  # the grammar of xychart-beta, and a value per category
        found = XYCHART.fullmatch(block)
        assert found, block
        categories = found.group(1).count('", "') + 1
        for series in re.findall(r"    (?:bar|line) \[(.*)\]", block):
            assert series.count(", ") + 1 == categories
    assert "\n\n".join(blocks) + "\n" == MERMAID_GOLDEN.read_text()
    assert "## Metrics" in text and "## Worst samples" in text and "| --- |" in text


# -- the terminal -----------------------------------------------------------------------------


def test_the_reliability_bar_table_fits_80_columns(bce: Run, files: Files) -> None:
    files(d__csv=data_csv(4000, seed=5))
    for binning in ("width", "mass"):
        result = bce("compute", "d.csv", "--metrics", "--bins", "1000", "--binning", binning,
                     "-f", "table")
        assert result.exit_code == 0, result.stderr
        lines = result.stdout.splitlines()
        assert max(map(len, lines)) <= 80
        table = lines[next(i for i, line in enumerate(lines) if line.startswith("Reliability")):]
        bars = [line.split("│")[-2] for line in table if line.startswith("│")]
        assert bars and all(set(bar) <= {"█", " "} for bar in bars)


# -- options and errors -------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (("--report", "r.txt"), "bce: error: --report r.txt: cannot tell the format from the name\n"
     "hint: end it in .html or .md, or give --report-format html|md\n"),
    (("--report-format", "md"), "bce: error: --report-format needs --report\n"),
    (("--plot-kind", "roc"), "bce: error: --plot-kind needs --plot\n"),
    (("--plot", "c.png"), "bce: error: --plot c.png: bce draws SVG: name the file .svg\n"),
    (("--plot", "c.svg", "--plot-kind", "roc"),
     "bce: error: --plot-kind roc: a ROC curve needs the ranking metrics\n"
     "hint: add --metrics\n"),
    (("--plot", "c.svg", "--plot-kind", "hist", "--metrics"),
     "bce: error: --plot-kind hist: a loss histogram needs the per-sample losses' counts\n"
     "hint: add --hist\n"),
    (("--plot", "c.svg", "--plot-kind", "slices", "--metrics"),
     "bce: error: --plot-kind slices: a slices chart needs the per-slice results\n"
     "hint: add --by COL\n"),
    (("--report", "r.html", "-r", "none"),
     "bce: error: --report and --plot summarise a reduced loss: not with -r none\n"
     "hint: --hist draws the per-sample losses\n"),
    (("--report", "r.html", "--partial"),
     "bce: error: --partial prints a shard's totals: give --report and --plot to bce merge\n"),
    (("--report", "missing/r.html"),
     "bce: error: cannot write missing/r.html: No such file or directory\n"),
])
def test_errors(bce: Run, files: Files, args: tuple[str, ...], message: str) -> None:
    files(d__csv="p,y\n0.2,0\n0.7,1\n0.6,0\n")
    result = bce("compute", "d.csv", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)
    assert sorted(p.name for p in Path().iterdir()) == ["d.csv"]  # no file left


def test_one_class_has_no_roc_plot(bce: Run, files: Files) -> None:
    files(d__csv="p,y\n0.2,0\n0.7,0\n")
    result = bce("compute", "d.csv", "--metrics", "--plot", "c.svg", "--plot-kind", "roc")
    assert (result.exit_code, result.stdout, result.stderr) == (
        2, "", "bce: error: no ROC curve: the targets hold one class only\n")
    report = bce("compute", "d.csv", "--metrics", "--report", "r.md", "-f", "plain")
    assert report.exit_code == 0 and "ROC" not in Path("r.md").read_text()


def test_a_run_without_a_report_imports_neither_report_nor_svg(files: Files) -> None:
    files(d__csv=data_csv(20))
    probe = ("import sys\nfrom bcecli.cli import run\nsys.argv = ['bce', 'compute', 'd.csv', "
             "'--metrics', '--hist', '-f', '{}']\ntry:\n    run()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m in ('bcecli.report', 'bcecli.svg')), "
             "file=sys.stderr)")
    for fmt, expected in (("table", "[]"), ("json", "[]")):
        done = subprocess.run([sys.executable, "-c", probe.format(fmt)], capture_output=True,
                              text=True, check=True)
        assert done.stderr.strip().splitlines()[-1] == expected


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no /usr/bin/chromium")
def test_chromium_renders_the_report(bce: Run, files: Files, tmp_path: Path) -> None:
    files(d__csv=data_csv())
    assert bce("compute", "d.csv", "--metrics", "--hist", "--report", "r.html",
               "--json").exit_code == 0
    shot = tmp_path / "r.png"
    subprocess.run(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--window-size=390,2000", f"--screenshot={shot}",
                    (tmp_path / "r.html").as_uri()], capture_output=True, timeout=120,
                   check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
