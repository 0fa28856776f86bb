"""The installed script's start-up shortcuts, in-process: command_word (build only what
runs), exit_now, the launcher's lone --version."""

from __future__ import annotations

import io
import os
import sys
from typing import Any

import pytest
import typer

from valohai_cli_lite import launcher
from valohai_cli_lite.cli import (
    COMMAND_WORDS,
    OPTIONS_WITH_VALUES,
    ROOT_ALIASES,
    build_app,
    command_word,
)


@pytest.mark.parametrize(
    ("args", "word"),
    [
        ([], None),
        (["projects", "list"], "projects"),
        (["--profile", "projects", "auth", "status"], "auth"),  # a value is not a command
        (["-p", "x", "--timeout", "3", "--ca-file", "c.pem", "api", "users/me/"], "api"),
        (["--debug", "--no-color", "login"], "login"),
        (["--help", "projects"], None),  # help needs the whole tree
        (["-h"], None),
        (["projcts", "list"], None),  # a typo: the whole tree, for click's suggestion
    ],
)
def test_command_word(args: list[str], word: str | None) -> None:
    assert command_word(args, {}) == word


def test_shell_completion_gets_the_whole_tree() -> None:
    assert command_word(["projects"], {"_VH_LITE_COMPLETE": "bash_complete"}) is None


def test_the_early_parser_knows_every_root_option_that_takes_a_value() -> None:
    root = typer.main.get_command(build_app())
    taking_values = {
        name
        for param in root.params
        if not getattr(param, "is_flag", False) and param.param_type_name == "option"
        for name in [*param.opts, *param.secondary_opts]
    }
    assert taking_values == OPTIONS_WITH_VALUES


def test_each_command_word_builds_only_its_part_and_every_part_exists() -> None:
    full = typer.main.get_command(build_app())
    aliases = ROOT_ALIASES  # answered by the group, not registered twice
    assert set(full.commands) == set(COMMAND_WORDS) - set(aliases)  # type: ignore[attr-defined]
    for word in COMMAND_WORDS:
        built = typer.main.get_command(build_app(word))
        assert set(built.commands) == {aliases.get(word, word)}  # type: ignore[attr-defined]


class Exited(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class Sink(io.StringIO):
    def __init__(self, error: Exception | None = None) -> None:
        super().__init__()
        self.error = error

    def write(self, text: str) -> int:
        if self.error is not None:
            raise self.error
        return super().write(text)


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """exit_now with os._exit replaced, so the test survives to look at what happened."""
    seen: dict[str, Any] = {}

    def fake_exit(code: int) -> None:
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", fake_exit)
    return seen


@pytest.mark.parametrize(
    ("error", "code", "code_after", "stderr"),
    [
        (None, 0, 0, ""),
        (BrokenPipeError(), 0, 0, ""),  # `| head`: the reader has what it wanted
        (OSError(28, "No space left on device"), 0, 1,
         "vh-lite: error: cannot write the output: No space left on device\n"),
        (OSError(28, "No space left on device"), 4, 4, ""),  # already failing: keep the code
        (ValueError("I/O operation on closed file"), 0, 1,
         "vh-lite: error: cannot write the output: standard output is closed\n"),
    ],
)  # fmt: skip
def test_exit_now_flushes_reports_unwritable_output_and_exits(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    exits: dict[str, Any],
    error: Exception | None,
    code: int,
    code_after: int,
    stderr: str,
) -> None:
    out = Sink(error)
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(Exited) as info:
        launcher.exit_now(code, last_output="vh-lite 1.0\n")
    assert info.value.code == code_after
    assert capsys.readouterr().err == stderr
    if error is None:
        assert out.getvalue() == "vh-lite 1.0\n"


def test_exit_now_saves_coverage_data_when_coverage_is_running(
    monkeypatch: pytest.MonkeyPatch, exits: dict[str, Any]
) -> None:
    calls: list[str] = []

    class FakeCoverage:
        @staticmethod
        def current() -> FakeCoverage:
            return FakeCoverage()

        def stop(self) -> None:
            calls.append("stop")

        def save(self) -> None:
            calls.append("save")

    fake_module = type(sys)("coverage")
    fake_module.Coverage = FakeCoverage  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "coverage", fake_module)
    monkeypatch.setattr(sys, "stdout", Sink())
    with pytest.raises(Exited):
        launcher.exit_now(0)
    assert calls == ["stop", "save"]


def test_the_launcher_answers_a_lone_version_without_typer(
    monkeypatch: pytest.MonkeyPatch, exits: dict[str, Any]
) -> None:
    out = Sink()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "argv", ["vh-lite", "--version"])
    monkeypatch.delitem(sys.modules, "valohai_cli_lite.cli", raising=False)
    with pytest.raises(Exited) as info:
        launcher.main()
    assert info.value.code == 0
    assert out.getvalue().startswith("vh-lite ")
    assert "valohai_cli_lite.cli" not in sys.modules
