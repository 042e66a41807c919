"""Reference docs that cannot drift from the code.

- docs/cli.md is exactly what scripts/make_cli_docs.py writes from `--help`;
- every command, option and argument has help text, so that reference is complete;
- every `>>>` example in bcecli's docstrings runs and prints what it shows;
- every relative link in README.md and docs/*.md points at a file and heading that exist.
"""

from __future__ import annotations

import difflib
import doctest
import importlib
import importlib.util
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer

import bcecli
from bcecli.cli import app
from tests.helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date() -> None:
    make = load_script("make_cli_docs")
    expected: str = make.render()
    actual = make.TARGET.read_text(encoding="utf-8") if make.TARGET.exists() else ""
    if actual != expected:
        diff = "".join(difflib.unified_diff(actual.splitlines(True), expected.splitlines(True),
                                            "docs/cli.md", "bce --help"))
        pytest.fail(f"docs/cli.md is out of date: run python scripts/make_cli_docs.py\n{diff}")


def commands(command: Any, name: str, parent: typer.Context | None = None
             ) -> Iterator[tuple[Any, typer.Context]]:
    """(command, context) for the app and every command below it, as a run would make them."""
    ctx = typer.Context(command, info_name=name, parent=parent, **command.context_settings)
    yield command, ctx
    for sub in getattr(command, "commands", {}):
        yield from commands(command.get_command(ctx, sub), sub, ctx)


def test_every_command_option_and_argument_has_help() -> None:
    seen, missing = [], []
    for command, ctx in commands(typer.main.get_command(app), "bce"):
        if not (command.help or command.short_help or "").strip():
            missing.append(ctx.command_path)
        for param in command.get_params(ctx):  # get_params adds --help
            option = param.param_type_name == "option"
            name = (f"{ctx.command_path} "
                    f"{'/'.join(sorted(param.opts)) if option else param.human_readable_name}")
            seen.append(name)
            if not (getattr(param, "help", None) or "").strip():
                missing.append(name)
    assert {"bce --version", "bce compute --reduction/-r", "bce compute PREDICTIONS",
            "bce compute [TARGETS]", "bce merge PART...", "bce merge --help/-h"} <= set(seen), seen
    assert not missing, f"no help text: {', '.join(missing)}"


def package_modules() -> list[ModuleType]:
    """bcecli and every module below it (not __main__, which runs the CLI)."""
    names = [info.name for info in pkgutil.walk_packages(bcecli.__path__, "bcecli.")]
    return [bcecli, *(importlib.import_module(n) for n in names if n != "bcecli.__main__")]


DOCTESTS = [test for module in package_modules()
            for test in doctest.DocTestFinder().find(module, globs={}) if test.examples]


def test_the_public_api_has_runnable_examples() -> None:
    names = {test.name for test in DOCTESTS}
    assert {"bcecli.core.binary_cross_entropy", "bcecli.core.binary_cross_entropy_with_logits",
            "bcecli.core.LossTotal"} <= names


@pytest.mark.parametrize("test", DOCTESTS, ids=[test.name for test in DOCTESTS])
def test_docstring_examples(test: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    result = runner.run(test, out=report.append)
    assert result.attempted and not result.failed, "".join(report)


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the headings of a page: lower case, punctuation dropped."""
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n = 0
        while (candidate := slug if n == 0 else f"{slug}-{n}") in found:
            n += 1
        found.add(candidate)
    return found


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_links_point_at_files_and_headings_that_exist(page: Path) -> None:
    broken = []
    for target in LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file)):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"
