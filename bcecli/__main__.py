"""`bce` and `python -m bcecli`: Ctrl-C while Typer and numpy load exits 130 too, quietly.

Once the result is written and flushed, the process ends without Python's teardown
(every module's objects freed one by one: a third of what bce adds to numpy's own
start-up). Exit handlers still run; if a standard stream cannot be flushed, Python's
ordinary exit takes over, as it was.
"""

import sys


def main() -> None:
    """Console-script entry point."""
    try:
        from bcecli.cli import run
    except KeyboardInterrupt:
        sys.exit(130)
    try:
        run()
    except SystemExit as done:
        if not isinstance(done.code, int):
            raise
        code = done.code
    else:
        code = 0
    import atexit
    import os

    for stream in (sys.stdout, sys.stderr):  # None: closed before bce started
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            sys.exit(code)
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    main()
