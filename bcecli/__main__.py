"""`bce` and `python -m bcecli`: Ctrl-C while Typer and numpy load exits 130 too, quietly."""

import sys


def main() -> None:
    """Console-script entry point."""
    try:
        from bcecli.cli import run
    except KeyboardInterrupt:
        sys.exit(130)
    run()


if __name__ == "__main__":
    main()
