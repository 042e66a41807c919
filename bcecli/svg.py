"""A tiny SVG writer for bce's charts: deterministic text, no plotting library.

A `Chart` maps data coordinates to a fixed canvas and collects lines, points,
bars, error bars and text; `svg` writes axes with ticks, a title, axis labels and
a caption around them. Every coordinate goes through `coordinate` (rounded to
two decimals, trailing zeros dropped), and nothing depends on the time, the
machine or a random state, so the same data gives the same bytes on every run.
No external reference: no `href`, no font file, no script; styles are inline
attributes, so the file stands alone in a page, a slide or a paper.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 440
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 46, 96  # the plot area's margins: title above, labels and
CAPTION_LINE = 15  # caption below
COLOURS = {"ink": "#222", "grid": "#ddd", "main": "#1f5fa8", "second": "#c44e1a",
           "muted": "#9ab", "faint": "#c8d3df"}
FONT = "font-family=\"sans-serif\""


def coordinate(value: float) -> str:
    """A coordinate as text: two decimals, no trailing zeros (`12.5`, `3`, `-0.25`)."""
    text = f"{round(value, 2) + 0.0:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def ticks(low: float, high: float, most: int = 6) -> list[float]:
    """At most `most` round values (1, 2 or 5 times a power of ten apart) in [low, high]."""
    if not high > low:
        return [low]
    raw = (high - low) / max(most - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    return [round(k * step, 12) + 0.0 for k in range(first, math.floor(high / step + 1e-9) + 1)]


def tick_text(value: float) -> str:
    """A tick label: up to four significant digits (`0.25`, `1000`, `1e+05`)."""
    return f"{value:.4g}"


class Chart:
    """One chart: a title, axis labels (with units), a caption, and the marks on it."""

    def __init__(self, title: str, x_label: str, y_label: str, caption: str, *,
                 x_range: tuple[float, float], y_range: tuple[float, float],
                 x_ticks: Sequence[tuple[float, str]] | None = None) -> None:
        self.title, self.x_label, self.y_label, self.caption = title, x_label, y_label, caption
        self.x_range, self.y_range = x_range, y_range
        self.x_ticks = list(x_ticks) if x_ticks is not None else \
            [(t, tick_text(t)) for t in ticks(*x_range)]
        self.marks: list[str] = []

    def x(self, value: float) -> float:
        low, high = self.x_range
        return LEFT + (value - low) / ((high - low) or 1.0) * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        low, high = self.y_range
        return HEIGHT - BOTTOM - (value - low) / ((high - low) or 1.0) * (HEIGHT - TOP - BOTTOM)

    def line(self, xs: Sequence[float], ys: Sequence[float], colour: str = "main", *,
             width: float = 2, dashed: bool = False) -> None:
        """A polyline through the points, in order."""
        points = " ".join(f"{coordinate(self.x(a))},{coordinate(self.y(b))}"
                          for a, b in zip(xs, ys, strict=True))
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        self.marks.append(f'<polyline points="{points}" fill="none" '
                          f'stroke="{COLOURS[colour]}" stroke-width="{coordinate(width)}"'
                          f'{dash}/>')

    def points(self, xs: Sequence[float], ys: Sequence[float], colour: str = "main") -> None:
        """A dot at each point."""
        self.marks += [f'<circle cx="{coordinate(self.x(a))}" cy="{coordinate(self.y(b))}" '
                       f'r="4" fill="{COLOURS[colour]}"/>' for a, b in zip(xs, ys, strict=True)]

    def bars(self, lefts: Sequence[float], rights: Sequence[float], heights: Sequence[float],
             colour: str = "main", base: float = 0.0) -> None:
        """Vertical bars from `base` up to each height, over [left, right] (a pixel apart)."""
        for left, right, height in zip(lefts, rights, heights, strict=True):
            x0, x1 = self.x(left), self.x(right)
            top, bottom = sorted((self.y(height), self.y(base)))
            self.marks.append(f'<rect x="{coordinate(x0 + 0.5)}" y="{coordinate(top)}" '
                              f'width="{coordinate(max(x1 - x0 - 1, 0.5))}" '
                              f'height="{coordinate(bottom - top)}" fill="{COLOURS[colour]}"/>')

    def error_bars(self, xs: Sequence[float], lows: Sequence[float], highs: Sequence[float],
                   colour: str = "main") -> None:
        """A vertical interval with short caps at each x."""
        for a, low, high in zip(xs, lows, highs, strict=True):
            x, y0, y1 = coordinate(self.x(a)), self.y(low), self.y(high)
            x0, x1 = coordinate(self.x(a) - 4), coordinate(self.x(a) + 4)
            self.marks.append(
                f'<path d="M{x},{coordinate(y0)}V{coordinate(y1)}M{x0},{coordinate(y0)}'
                f'H{x1}M{x0},{coordinate(y1)}H{x1}" stroke="{COLOURS[colour]}" '
                f'stroke-width="1.5" fill="none"/>')

    def svg(self, standalone: bool = True) -> str:
        """The chart as an SVG document ending in a newline. A `standalone` file names
        SVG's namespace and holds the caption; HTML's inline `<svg>` needs neither (the
        page sets the caption as text, which stays readable on a phone)."""
        left, right = LEFT, WIDTH - RIGHT
        top, bottom = TOP, HEIGHT - BOTTOM
        caption = wrapped(self.caption, 100) if standalone else []
        height = HEIGHT + CAPTION_LINE * max(len(caption) - 2, 0) if standalone else \
            HEIGHT - BOTTOM + 50
        namespace = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
        parts = [f'<svg{namespace} viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
                 f'height="{height}" role="img">',
                 f"<title>{escape(self.title)}</title>",
                 f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>',
                 label(WIDTH / 2, 24, self.title, anchor="middle", size=16, bold=True)]
        for value, text in self.x_ticks:
            x = coordinate(self.x(value))
            parts.append(f'<path d="M{x},{top}V{bottom + 5}" stroke="{COLOURS["grid"]}"/>')
            parts.append(label(self.x(value), bottom + 18, text, anchor="middle", size=11))
        for value in ticks(*self.y_range):
            y = coordinate(self.y(value))
            parts.append(f'<path d="M{left - 5},{y}H{right}" stroke="{COLOURS["grid"]}"/>')
            parts.append(label(left - 8, self.y(value) + 4, tick_text(value), anchor="end",
                               size=11))
        parts += self.marks
        parts.append(f'<path d="M{left},{top}V{bottom}H{right}" stroke="{COLOURS["ink"]}" '
                     f'fill="none"/>')
        parts.append(label((left + right) / 2, bottom + 38, self.x_label, anchor="middle"))
        parts.append(f'<text transform="translate(16,{coordinate((top + bottom) / 2)}) '
                     f'rotate(-90)" text-anchor="middle" {FONT} font-size="12" '
                     f'fill="{COLOURS["ink"]}">{escape(self.y_label)}</text>')
        for i, line in enumerate(caption):
            parts.append(label(left - 60, bottom + 60 + CAPTION_LINE * i, line, size=11,
                               colour="ink", italic=True))
        return "\n".join([*parts, "</svg>"]) + "\n"


def label(x: float, y: float, words: str, *, anchor: str = "start", colour: str = "ink",
          size: int = 12, bold: bool = False, italic: bool = False) -> str:
    """A `<text>` element at pixel (x, y)."""
    style = (' font-weight="bold"' if bold else "") + (' font-style="italic"' if italic else "")
    return (f'<text x="{coordinate(x)}" y="{coordinate(y)}" text-anchor="{anchor}" {FONT} '
            f'font-size="{size}" fill="{COLOURS[colour]}"{style}>{escape(words)}</text>')


def wrapped(text: str, width: int) -> list[str]:
    """Words in lines of at most `width` characters (a longer word alone on its line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
