"""What bce reads from the world it runs in, read once, at the error boundary.

Whether stdout and stderr are terminals decides the `auto` format (a table for
people, JSON for pipes) and the progress bar; `BCE_TRACEBACK=1` asks for the
Python traceback instead of the one-line error, for a bug report. Passed in
rather than looked up deep inside, so tests can run both ways in-process
(`CliRunner().invoke(app, args, obj=Environment(stdout_isatty=True))`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass


@dataclass
class Environment:
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    traceback: bool = False  # re-raise errors instead of printing one line

    @classmethod
    def from_system(cls) -> Environment:
        return cls(stdout_isatty=sys.stdout.isatty(), stderr_isatty=sys.stderr.isatty(),
                   traceback=os.environ.get("BCE_TRACEBACK", "") not in ("", "0"))
