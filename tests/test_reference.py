"""docs/commands.md is generated from the CLI; it must match what --help says today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import InProcessCli
from reference import render_reference

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "commands.md"


def test_committed_reference_is_current() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render_reference(), (
        "docs/commands.md is out of date: run `make docs`"
    )


def test_every_documented_option_is_in_the_commands_help(
    cli: InProcessCli, capsys: pytest.CaptureFixture[str]
) -> None:
    sections = re.split(r"^## `(vh-lite[^`]*)`$", REFERENCE.read_text(), flags=re.M)[1:]
    assert len(sections) >= 2 * 11  # root + 10 commands at least
    for command, body in zip(sections[::2], sections[1::2], strict=True):
        args = [*command.split()[1:], "--help"]
        result = cli.run(*args, env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
        assert result.returncode == 0, (command, result.stderr)
        shown = capsys.readouterr().out  # Typer writes help to the process's stdout
        for option in re.findall(r"^\| `(--[a-z-]+)`", body, flags=re.M):
            assert option in shown, (command, option)
        # Metavars read naturally, and every command shows how it is used.
        assert "<str>" not in shown and "{" not in shown, command
        if command.count(" ") >= 1 and command not in ("vh-lite auth", "vh-lite projects"):
            assert "Example" in shown, command


def test_security_doc_names_only_tests_that_exist() -> None:
    doc = (REFERENCE.parent / "security.md").read_text()
    tests_dir = Path(__file__).resolve().parent
    # Paths under tests/ (`commands/test_login.py::test_...`): the file is looked up there.
    references = re.findall(r"`((?:[a-z_]+/)*test_[a-z_]+\.py)(?:::(test_[a-z0-9_]+))?`", doc)
    assert len(references) >= 20
    for module, function in references:
        source = (tests_dir / module).read_text()
        if function:
            assert f"def {function}(" in source, f"{module}::{function} is gone"


def test_no_doc_puts_the_token_in_another_programs_arguments() -> None:
    """`curl -H "Authorization: Token $(vh-lite auth token)"` shows the token to `ps`."""
    root = REFERENCE.parent.parent
    texts = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    substituted = re.compile(r"\$\(\s*vh-lite\b[^)]*\bauth\s+token")
    for path in texts:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not substituted.search(line), f"{path.name}:{number}: {line}"
    assert substituted.search('curl -H "Authorization: Token $(vh-lite auth token)" URL')
    assert substituted.search("TOKEN=$( vh-lite --profile x auth token )")
