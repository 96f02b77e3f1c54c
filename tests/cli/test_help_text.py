"""Every command's --help, as a user sees it, reads cleanly: no sentence left dangling by markup that the
help renderer ate (" ."), no sentence said twice, and a mistyped command is corrected once."""
from __future__ import annotations

import re
from typing import Iterator

import click
import pytest
from click.testing import CliRunner
from typer.main import get_command

from cli.main import app

ROOT = get_command(app)


def commands(command: click.Command = ROOT, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from commands(sub, (*path, name))


def rendered_help(path: tuple[str, ...]) -> str:
    """The help text as one line of words: the panel borders and line wraps taken out."""
    result = CliRunner().invoke(ROOT, [*path, "--help"], prog_name="sbsched", terminal_width=100)
    assert result.exit_code == 0, result.output
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


@pytest.mark.parametrize("path", list(commands()), ids=lambda p: " ".join(p) or "sbsched")
def test_help_has_no_dangling_period_and_no_sentence_twice(path: tuple[str, ...]) -> None:
    text = rendered_help(path)
    dangling = re.findall(r"\S+ \S+ \.(?:\s|$)", text)
    assert not dangling, f"`sbsched {' '.join(path)} --help` leaves a dangling ' .': {dangling}"
    sentences = [s.strip() for s in re.findall(r"[^.?!]{12,}[.?!]", text)]
    twice = sorted({s for s in sentences if sentences.count(s) > 1})
    assert not twice, f"`sbsched {' '.join(path)} --help` says twice: {twice}"


@pytest.mark.parametrize("argv, suggestion", [(["reconcil"], "'reconcile'"), (["daemon", "strat"], "'start'")])
def test_a_mistyped_command_is_corrected_once(cli, argv: list[str], suggestion: str) -> None:
    result = cli(*argv)
    assert result.code == 2
    assert result.err.count("Did you mean") == 1 and suggestion in result.err, result.err
