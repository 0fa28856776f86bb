"""terminal/iostreams.py, unit: every terminal decision, the guarded stdout, and the test
double."""

from __future__ import annotations

import errno
import io
import sys

import pytest
from conftest import fake_streams

from valohai_cli_lite.errors import OutputError, StdoutClosed
from valohai_cli_lite.terminal.iostreams import IOStreams


def test_colour_only_on_a_terminal_without_no_color_or_dumb_term() -> None:
    tty, _, _, _ = fake_streams(stdout_tty=True, stderr_tty=True, environ={"TERM": "xterm"})
    assert tty.color_enabled() and tty.color_enabled(stderr=True)
    pipe, _, _, _ = fake_streams(environ={"TERM": "xterm"})
    assert not pipe.color_enabled() and not pipe.color_enabled(stderr=True)
    for environ in ({"NO_COLOR": ""}, {"NO_COLOR": "1"}, {"TERM": "dumb"}):
        streams, _, _, _ = fake_streams(stdout_tty=True, stderr_tty=True, environ=environ)
        assert not streams.color_enabled(), environ
        assert not streams.color_enabled(stderr=True), environ
    tty.disable_color()  # --no-color
    assert not tty.color_enabled() and not tty.color_enabled(stderr=True)


def test_hyperlinks_on_a_terminal_that_is_not_dumb() -> None:
    assert fake_streams(stdout_tty=True, environ={"TERM": "xterm"})[0].hyperlinks
    assert not fake_streams(stdout_tty=True, environ={"TERM": "dumb"})[0].hyperlinks
    assert not fake_streams(stdout_tty=False)[0].hyperlinks


def test_width_from_columns_then_the_terminal() -> None:
    assert fake_streams(stdout_tty=True, width=77)[0].width() == 77
    assert fake_streams(stdout_tty=True, width=77, environ={"COLUMNS": "120"})[0].width() == 120
    assert fake_streams(stdout_tty=True, width=77, environ={"COLUMNS": "x"})[0].width() == 77
    assert fake_streams(stdout_tty=False, width=77)[0].width() is None


def test_progress_only_where_a_person_watches_and_nothing_streams_over_it() -> None:
    def allowed(out: bool, err: bool, streams: bool) -> bool:
        streams_io = fake_streams(stdout_tty=out, stderr_tty=err)[0]
        return streams_io.progress_allowed(streams_to_stdout=streams)

    assert allowed(out=True, err=True, streams=False)
    assert allowed(out=False, err=True, streams=True)  # stdout to a file: the bar is alone
    assert not allowed(out=True, err=True, streams=True)
    assert not allowed(out=True, err=False, streams=False)


def test_json_is_indented_only_on_a_terminal_and_ascii_where_it_must_be() -> None:
    tty, _, out, _ = fake_streams(stdout_tty=True)
    tty.write_json([{"a": "ü"}])
    assert out.getvalue() == '[\n  {\n    "a": "ü"\n  }\n]\n'
    # Data is UTF-8 whatever the locale says: the ASCII stdout is switched over first.
    pipe, _, out, _ = fake_streams(encoding="ascii")
    assert not pipe.stdout_is_unicode
    pipe.write_json([{"a": "ü"}])
    assert out.getvalue() == '[{"a":"ü"}]\n'
    assert pipe.stdout_is_unicode


def test_messages_go_to_stderr_sanitised_with_colour_only_on_a_terminal() -> None:
    streams, _, out, err = fake_streams(stderr_tty=True, environ={"TERM": "xterm"})
    streams.message("hello\x1b[2Jworld")
    streams.warning("careful")
    streams.error_line("broken")
    streams.debug_line("> GET /")
    assert out.getvalue() == ""
    assert err.getvalue().splitlines() == [
        "hello?[2Jworld",
        "\x1b[1;33mwarning:\x1b[0m careful",
        "\x1b[1;31mvh-lite: error:\x1b[0m broken",
        "debug: > GET /",
    ]
    plain, _, _, err = fake_streams(stderr_tty=False)
    plain.error_line("broken")
    assert err.getvalue() == "vh-lite: error: broken\n"


def test_the_test_double_reads_prompts_and_secrets_from_its_stdin() -> None:
    streams, _, _, err = fake_streams(stdin="alice\ns3cret\n", stdin_tty=True)
    assert streams.prompt("Username: ") == "alice\n"
    assert streams.read_secret("Password: ") == "s3cret"
    with pytest.raises(EOFError):
        streams.read_secret("Again: ")
    assert err.getvalue() == "Username: Password: Again: "


class _Failing(io.StringIO):
    def __init__(self, error: OSError) -> None:
        super().__init__()
        self.error = error

    def write(self, text: str) -> int:
        raise self.error


@pytest.mark.parametrize(
    ("error", "outcome", "message"),
    [
        (BrokenPipeError(), StdoutClosed, None),
        (OSError(errno.ENOSPC, "No space left on device"), OutputError, "No space left on device"),
    ],
)
def test_system_streams_turn_write_failures_into_typed_errors(
    monkeypatch: pytest.MonkeyPatch, error: OSError, outcome: type[Exception], message: str | None
) -> None:
    monkeypatch.setattr(sys, "stdout", _Failing(error))
    streams = IOStreams.system()
    assert sys.stdout is streams.stdout  # libraries' writes (Typer's help) are guarded too
    with pytest.raises(outcome) as info:
        streams.write_line("data")
    if message:
        assert info.value.message == f"cannot write the output: {message}"  # type: ignore[attr-defined]
    assert IOStreams.system().stdout is streams.stdout  # guarded once, not twice


def test_a_closed_stdout_is_an_output_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    streams = IOStreams.system()
    assert not streams.is_stdout_tty
    with pytest.raises(OutputError, match="standard output is closed"):
        streams.write_line("data")


@pytest.mark.parametrize(("encoding", "told"), [("utf-8", "utf-8"), ("ascii", "")])
def test_the_pager_is_told_the_text_is_utf8_only_when_it_is(
    encoding: str, told: str, tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python writes UTF-8 even to a C-locale terminal; less, reading LC_ALL=C, would show
    it as <C3><BC> unless told. Text in another encoding is not labelled UTF-8."""
    monkeypatch.delenv("LESSCHARSET", raising=False)
    seen = tmp_path / "charset"  # type: ignore[operator]
    pager = f"sh -c 'printf %s \"$LESSCHARSET\" > {seen}; cat >/dev/null'"
    streams, _, _, _ = fake_streams(stdout_tty=True, encoding=encoding)
    streams.pager = pager
    streams.page()
    streams.write("NAME\n")
    streams.close_pager()
    assert seen.read_text() == told
