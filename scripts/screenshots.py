"""Screenshots of the HTML report for docs/report.md, by headless Chromium.

    apt-get install -y chromium            # Debian's package: /usr/bin/chromium
    /work/.venv-gen/bin/python scripts/screenshots.py   # any Python with numpy and Pillow

Writes sample_data/scores.csv if it is missing (2,000 rows, a made-up model that is
over-confident at the top, from a fixed seed), runs the installed `bce compute` on it
with `--metrics --hist --top 5 --report`, and has Chromium render the report to PNG at
1280 px and 390 px (a phone) wide: docs/img/report-1280.png and report-390.png. Pillow
crops the page's empty end and reduces the images to 64 colours (a few hundred KB
each). Nothing here is a test; the tests use Chromium only when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "scores.csv"
IMAGES = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
WIDTHS = {1280: 5000, 390: 9000}  # width: the height rendered (cropped afterwards)
COMMAND = ["compute", "sample_data/scores.csv", "--metrics", "--hist", "--top", "5"]


def make_sample() -> None:
    """2,000 scores of a model that ranks well but is over-confident above 0.7."""
    rng = np.random.default_rng(16)
    truth = rng.beta(2, 3, 2000)
    labels = (rng.random(2000) < truth).astype(int)
    scores = np.where(truth > 0.6, np.minimum(truth * 1.35, 0.999), truth)
    scores = np.clip(scores + rng.normal(0, 0.05, 2000), 0.001, 0.999)
    rows = "\n".join(f"{s:.4f},{y}" for s, y in zip(scores, labels, strict=True))
    SAMPLE.write_text("score,label\n" + rows + "\n")


def bce() -> str:
    found = shutil.which("bce") or str(Path(sys.executable).parent / "bce")
    return found if Path(found).exists() else str(ROOT / ".venv" / "bin" / "bce")


def main() -> None:
    if not SAMPLE.exists():
        make_sample()
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        page = Path(scratch) / "report.html"
        subprocess.run([bce(), *COMMAND, "--report", str(page), "--json"], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        for width, height in WIDTHS.items():
            shot = Path(scratch) / f"{width}.png"
            subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                            "--hide-scrollbars", f"--window-size={width},{height}",
                            f"--screenshot={shot}", page.as_uri()], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            optimise(shot, IMAGES / f"report-{width}.png")
            print(f"wrote docs/img/report-{width}.png")


def optimise(source: Path, target: Path) -> None:
    """Crop the empty end of the page (the body's grey) and keep 64 colours."""
    from PIL import Image

    image = Image.open(source).convert("RGB")
    pixels = np.asarray(image)
    rows = np.flatnonzero((pixels != pixels[-1, 0]).any(axis=(1, 2)))
    bottom = int(rows[-1]) + 12 if len(rows) else image.height
    image.crop((0, 0, image.width, min(bottom, image.height))).quantize(64).save(
        target, optimize=True)


if __name__ == "__main__":
    main()
