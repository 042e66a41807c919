"""JSON number text read in numpy, a whole block at once, bit for bit as `float(text)`.

The fast paths of JSON Lines and of big JSON documents find where each number's
text sits (`starts`, `stops` into a block's bytes) and hand the spans here:

1. every span is checked against JSON's number grammar by a small automaton run
   over all spans at once (`01`, `.5`, `1.`, `+1`, `1_0`, `nan` are no JSON
   numbers, though `float` takes some of them): a block with any such span is the
   strict parser's, which says where and why;
2. a mantissa below 10**18 without an exponent are read as one integer; below 2**53 it is
   exact and one division by an exact power of ten rounds it correctly; above, the
   quotient is refined once and kept only where an exact residual proves it the
   correctly rounded one;
3. everything else (exponents, long mantissas, the unproven) is `float(text)`; a text
   longer than 32 bytes is checked by a regular expression instead of the automaton.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from bcecli.core import POW10, FloatArray, split

Bytes = np.ndarray[Any, np.dtype[np.uint8]]
Positions = np.ndarray[Any, np.dtype[np.int64]]

_LONGEST = 32  # a longer number (big integers, many digits) is read by a regex and float()
_NUMBER = re.compile(rb"[ \t\r\n]*-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?[ \t\r\n]*")
_DIGITS = 18  # fewer digits stay below 10**18 < 2**63: an int64 holds the mantissa

BATCH = 1 << 13


# The automaton. Byte classes: padding after the span, '-', '0', '1'-'9', '.', 'e'/'E',
# '+', a blank (JSON's whitespace, allowed around a number), anything else.
_PAD, _MINUS, _ZERO, _DIGIT, _POINT, _EXP, _PLUS, _BLANK, _OTHER = range(9)
_CLASSES = 9
_CLASS = np.full(256, _OTHER, dtype=np.uint8)
_CLASS[[ord("-"), ord("0"), ord("."), ord("+")]] = _MINUS, _ZERO, _POINT, _PLUS
_CLASS[ord("1"):ord("9") + 1] = _DIGIT
_CLASS[[ord("e"), ord("E")]] = _EXP
_CLASS[[ord(" "), ord("\t"), ord("\n"), ord("\r")]] = _BLANK
# States: start, after '-', a leading 0, integer digits, after '.', fraction digits,
# after 'e', after the exponent's sign, exponent digits, blanks after, done, error.
(_START, _SIGNED, _LEAD0, _INT, _DOT, _FRAC, _E, _ESIGN, _EXPD, _TRAIL, _DONE,
 _ERROR) = range(12)
_NEXT = np.full((12, _CLASSES), _ERROR, dtype=np.uint8)
_NEXT[_START, [_BLANK, _MINUS, _ZERO, _DIGIT]] = _START, _SIGNED, _LEAD0, _INT
_NEXT[_SIGNED, [_ZERO, _DIGIT]] = _LEAD0, _INT
_NEXT[_LEAD0, [_POINT, _EXP]] = _DOT, _E
_NEXT[_INT, [_ZERO, _DIGIT, _POINT, _EXP]] = _INT, _INT, _DOT, _E
_NEXT[_DOT, [_ZERO, _DIGIT]] = _FRAC
_NEXT[_FRAC, [_ZERO, _DIGIT, _EXP]] = _FRAC, _FRAC, _E
_NEXT[_E, [_MINUS, _PLUS, _ZERO, _DIGIT]] = _ESIGN, _ESIGN, _EXPD, _EXPD
_NEXT[_ESIGN, [_ZERO, _DIGIT]] = _EXPD
_NEXT[_EXPD, [_ZERO, _DIGIT]] = _EXPD
for _state in (_LEAD0, _INT, _FRAC, _EXPD, _TRAIL):
    _NEXT[_state, [_BLANK, _PAD]] = _TRAIL, _DONE
_NEXT[_DONE, _PAD] = _DONE
_FLAT_NEXT = _NEXT.ravel().astype(np.intp)
_ENDS = np.zeros(12, dtype=bool)  # where a span may end
_ENDS[[_LEAD0, _INT, _FRAC, _EXPD, _TRAIL, _DONE]] = True


def json_numbers(buf: Bytes, starts: Positions, stops: Positions) -> FloatArray | None:
    """The numbers written in `buf[starts[i]:stops[i]]` (blanks around them allowed), as
    `float(text)` gives them; None if any span is not exactly one JSON number."""
    return read_spans(buf, starts, stops, True)


def are_json_numbers(buf: Bytes, starts: Positions, stops: Positions) -> bool:
    """Whether every span is exactly one JSON number (for the fields nobody reads)."""
    return read_spans(buf, starts, stops, False) is not None


def read_spans(buf: Bytes, starts: Positions, stops: Positions, parse: bool
               ) -> FloatArray | None:
    """The automaton run over the spans, a byte column at a time, then (where `parse`)
    their values; BATCH spans at a time, so that the grids stay in the CPU's cache."""
    if len(starts) > BATCH:
        parts = []
        for at in range(0, len(starts), BATCH):
            part = read_spans(buf, starts[at:at + BATCH], stops[at:at + BATCH], parse)
            if part is None:
                return None
            parts.append(part)
        return np.concatenate(parts)
    lengths = stops - starts
    if not len(lengths):
        return np.empty(0)
    if int(lengths.min()) < 1:
        return None
    long = np.flatnonzero(lengths > _LONGEST)  # read by a regular expression and float()
    if not all(_NUMBER.fullmatch(buf[starts[i]:stops[i]].tobytes()) for i in long.tolist()):
        return None
    width = min(int(lengths.max()), _LONGEST)
    offsets = np.arange(width, dtype=np.int32)[:, np.newaxis]
    # (width, spans); int32 places keep the temporaries small (blocks are far below 2 GiB)
    text = buf[np.minimum(starts.astype(np.int32) + offsets, len(buf) - 1)]
    classes = np.where(offsets < lengths, _CLASS[text], _PAD)
    classes[:, long] = _PAD
    classes[0, long] = _DIGIT  # a stand-in that the automaton takes and as_floats reads again
    state = np.full(len(starts), _START, dtype=np.intp)
    for j in range(width):
        state = _FLAT_NEXT[state * _CLASSES + classes[j]]
    if not _ENDS[state].all():
        return None
    return as_floats(text, classes, buf, starts, stops) if parse else np.empty(0)


def as_floats(text: Bytes, classes: Bytes, buf: Bytes, starts: Positions, stops: Positions
              ) -> FloatArray:
    """Valid JSON numbers (a byte column a row) as floats, correctly rounded: the digits
    read as one integer, scaled once (see the module's docstring)."""
    digit = (classes == _ZERO) | (classes == _DIGIT)
    point = classes == _POINT  # a grid's sums fit in uint8: it is at most 32 bytes high
    fraction = (digit & running_or(point)).sum(axis=0, dtype=np.uint8)
    significant = (digit & running_or(classes == _DIGIT)).sum(axis=0, dtype=np.uint8)
    simple = (significant <= _DIGITS) & ~(classes == _EXP).any(axis=0) & \
        (stops - starts <= _LONGEST)
    scale = (digit * np.uint8(9) + np.uint8(1)).astype(np.uint8)
    add = np.where(digit, text - np.uint8(48), np.uint8(0))
    mantissa = np.zeros(len(starts), dtype=np.int64)
    for j in range(len(text)):  # Horner's rule (leading zeros add nothing); a longer one wraps
        mantissa *= scale[j]
        mantissa += add[j]
    quotients = mantissa / POW10[np.where(simple, fraction, 0)]
    wide = simple & (mantissa >= 2**53) & (fraction > 0)
    if wide.any():
        refined, proven = divided(mantissa[wide], fraction[wide])
        quotients[wide] = refined
        simple[np.flatnonzero(wide)[~proven]] = False
    values: FloatArray = np.where((classes == _MINUS).any(axis=0), -quotients, quotients)
    for i in np.flatnonzero(~simple).tolist():
        values[i] = float(buf[starts[i]:stops[i]].tobytes())
    return values


def running_or(mask: np.ndarray[Any, np.dtype[np.bool_]]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Whether each byte or one above it in its column is set, in place (a row at a time:
    far faster than numpy's accumulate along the short axis)."""
    for j in range(1, len(mask)):
        mask[j] |= mask[j - 1]
    return mask


def divided(mantissa: np.ndarray[Any, np.dtype[np.int64]], fraction: np.ndarray[Any, Any]
            ) -> tuple[FloatArray, np.ndarray[Any, np.dtype[np.bool_]]]:
    """mantissa / 10**fraction for mantissas from 2**53 (not exact as doubles), and
    where the result is proven correctly rounded.

    With m = high + low (high the nearest double, low the exact rest) and P the exact
    power, the error m − d·P of a candidate d is computed exactly but for one last
    rounding (Dekker's product); d is kept only where that error is clearly less than
    half the gap to each neighbouring double, times P.
    """
    power = POW10[fraction]
    high = mantissa.astype(np.float64)
    low = (mantissa - high.astype(np.int64)).astype(np.float64)
    candidate = high / power
    candidate = candidate + residual(candidate, power, high, low) / power
    error = residual(candidate, power, high, low)
    margin = power * (0.5 - 2.0**-30)
    above = (np.nextafter(candidate, np.inf) - candidate) * margin
    below = (candidate - np.nextafter(candidate, 0)) * margin
    return candidate, (error < above) & (-error < below)


def residual(d: FloatArray, power: FloatArray, high: FloatArray, low: FloatArray) -> FloatArray:
    """(high + low) − d·power, exact but for the last rounding."""
    product = d * power
    d_high, d_low = split(d)
    p_high, p_low = split(power)
    error = ((d_high * p_high - product) + d_high * p_low + d_low * p_high) + d_low * p_low
    result: FloatArray = ((high - product) + low) - error
    return result
