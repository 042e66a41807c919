"""bcecli's own exceptions and exit codes, and the text helpers messages share.

Everything that can go wrong with a user's input, options or output stream is
raised as a `BceError`; the CLI turns it into one `bce: error: ...` line and exit
code 2 in one place (`cli.BceGroup.main`). Library users catch `BceError` (a
`ValueError`).
`format_float` is also how every output format writes a number, so a value in a
message reads exactly as it does in a result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any


class ExitStatus(IntEnum):
    """Exit codes promised by the SPEC."""

    OK = 0
    CHECK_FAILED = 1
    ERROR = 2
    INTERRUPTED = 130


class BceError(ValueError):
    """A problem with the input or the options, worth one line to the user.

    `where` is the place to point at (``preds.csv:4``, ``preds.npy[3, 1]``, or just
    a file name); `hint` is an optional second line saying what to do.
    """

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return one_line(text)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole (`where`, `hint`, a subclass's own fields): a worker's error
        (`--workers`) reaches the boundary as it was raised."""
        return rebuilt, (type(self), self.args, self.__dict__)


def rebuilt(kind: type[BceError], args: tuple[Any, ...], state: dict[str, Any]) -> BceError:
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error


class UsageError(BceError):
    """Options that are invalid or contradict each other."""


class InputError(BceError):
    """Input that cannot be read or is not what it should be."""


class OutputError(BceError):
    """stdout cannot be written (closed before bce started, a full disk): the result is lost."""


class ClosedPipe(Exception):
    """The reader of stdout went away (`| head`): not an error, bce stops quietly.

    Not an `OSError`, so that Click, which turns a broken pipe into exit 1, lets it
    pass to the boundary."""


class BadValue(InputError):
    """A value that fails validation in the core, found at `index` of array `role`.

    The core knows only array positions; the CLI maps `role` and `index` back to
    the file and line the value came from (see `readers.Column.where`).
    """

    def __init__(self, role: str, index: tuple[int, ...], value: float, problem: str):
        self.role = role
        self.index = index
        self.value = value
        self.problem = problem
        super().__init__(f"{role} {format_float(value)} {problem}")


def shown_path(path: str) -> str:
    """A path as messages show it: as given, or quoted like `repr` when it is empty or holds
    a character that does not print (a newline would split the one-line error)."""
    return path if path.isprintable() and path else repr(path)


def one_line(text: str) -> str:
    """Text with each character that does not print escaped as `repr` escapes it (`\\n`,
    `\\x1b`): whatever a message quotes, the error stays one line, and no escape sequence
    reaches the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def format_float(value: float) -> str:
    """The shortest text that reads back as the same float: 1.7, nan, inf."""
    return repr(float(value))


def listed(names: Sequence[object], limit: int = 20, show: Callable[[object], str] = repr
           ) -> str:
    """Names for a message, at most `limit` of them: `'a', 'b', … and 199980 more`."""
    shown = ", ".join(show(name) for name in names[:limit])
    return shown + (f", … and {len(names) - limit} more" if len(names) > limit else "")


def plural(count: int, noun: str) -> str:
    """`1 class`, `2 classes`, `3 columns`."""
    suffix = "es" if noun.endswith("s") else "s"
    return f"{count} {noun}{suffix * (count != 1)}"
