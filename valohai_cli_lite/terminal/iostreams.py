"""IOStreams, made once per run: the one owner of stdin, stdout and stderr and of every terminal
decision, so no other module touches the standard streams or asks `isatty`. Modelled on the
GitHub CLI's pkg/iostreams."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

from ..errors import OutputError, StdoutClosed
from ..text import json_text, sanitize

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")


class _GuardedStdout:
    """stdout, with write failures turned into the two outcomes a user should see: a closed
    pipe (`vh-lite ... | head -1`) becomes StdoutClosed, which ends the run quietly with exit 0
    so `set -o pipefail` scripts survive; any other OSError (a full disk, a closed descriptor)
    becomes OutputError, one error line and exit 1."""

    def __init__(self, stream: IO[str] | None) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is None:  # the shell closed it: `vh-lite ... >&-`
            raise OutputError()
        return _guarded(self._stream.write, text)

    def flush(self) -> None:
        if self._stream is not None:
            _guarded(self._stream.flush)

    def write_bytes(self, data: bytes) -> None:
        """Bytes as they are, past the text layer (flushed first, so the order holds)."""
        if self._stream is None:
            raise OutputError()
        _guarded(self._stream.flush)
        _guarded(self._stream.buffer.write, data)  # type: ignore[attr-defined]

    def isatty(self) -> bool:
        return _is_terminal(self._stream)

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _guarded(call: Callable[..., T], *args: Any) -> T:
    try:
        return call(*args)
    except BrokenPipeError:
        raise StdoutClosed from None
    except OSError as exc:
        raise OutputError(exc) from None


class TestStream(io.StringIO):
    """An in-memory stream for IOStreams.test(), with a settable encoding."""

    __test__ = False  # not a pytest test class
    encoding = "utf-8"  # an attribute, unlike StringIO's read-only one

    def reconfigure(self, *, encoding: str | None = None, errors: str | None = None) -> None:
        self.encoding = encoding or self.encoding


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def _is_unicode(encoding: str | None) -> bool:
    return (encoding or "").lower().replace("-", "") in ("utf8", "utf16", "utf32")


class IOStreams:
    def __init__(
        self,
        *,
        stdin: IO[str],
        stdout: IO[str],
        stderr: IO[str],
        stdin_tty: bool,
        stdout_tty: bool,
        stderr_tty: bool,
        environ: Mapping[str, str],
        read_secret: Callable[[str], str],
        terminal_width: Callable[[bool], int | None],
    ) -> None:
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.is_stdin_tty = stdin_tty
        self.is_stdout_tty = stdout_tty
        self.is_stderr_tty = stderr_tty
        self.environ = environ
        # A hidden answer from the terminal; EOFError at the end of input.
        self.read_secret = read_secret
        self._terminal_width = terminal_width
        self._color_disabled = False
        # The pager command for long output on a terminal (pager_command); None: no pager.
        self.pager: str | None = None
        self._pager_process: Any = None
        # Lines for stderr while the pager owns the screen, shown once it is done.
        self._deferred: list[str] = []

    @classmethod
    def system(cls) -> IOStreams:
        """The process's own streams, made safe to write to: text a stream's encoding cannot
        represent (PYTHONIOENCODING=ascii, an old terminal) is written as backslash escapes
        instead of crashing, and sys.stdout itself is replaced by the guarded stream so that
        writes by libraries (Typer's help, shell completion) fail as cleanly as ours."""
        for stream in (sys.stdout, sys.stderr):
            unicode = stream is None or _is_unicode(getattr(stream, "encoding", None))
            if not unicode and hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="backslashreplace")
        if not isinstance(sys.stdout, _GuardedStdout):
            sys.stdout = cast(IO[str], _GuardedStdout(sys.stdout))
        stdout = cast(IO[str], sys.stdout)
        stdin = sys.stdin if sys.stdin is not None else io.StringIO()
        stderr = sys.stderr if sys.stderr is not None else io.StringIO()

        def read_secret(prompt: str) -> str:
            import getpass

            # getpass talks to /dev/tty (stderr as fallback), never stdout, and does not echo.
            return getpass.getpass(prompt, stream=stderr)

        def terminal_width(stderr: bool) -> int | None:
            try:
                stream = sys.__stderr__ if stderr else sys.__stdout__
                return os.get_terminal_size(stream.fileno()).columns  # type: ignore[union-attr]
            except (AttributeError, OSError, ValueError):
                return None

        streams = cls(
            stdin=stdin, stdout=stdout, stderr=stderr,
            stdin_tty=_is_terminal(stdin), stdout_tty=_is_terminal(stdout),
            stderr_tty=_is_terminal(stderr), environ=os.environ,
            read_secret=read_secret, terminal_width=terminal_width,
        )  # fmt: skip
        if streams.is_stdout_tty:  # a pager is only ever started there
            from .pager import pager_command

            streams.pager = pager_command(os.environ)
        return streams

    @classmethod
    def test(
        cls,
        *,
        stdin: str = "",
        stdin_tty: bool = False,
        stdout_tty: bool = False,
        stderr_tty: bool = False,
        environ: Mapping[str, str] | None = None,
        width: int | None = 100,
        encoding: str = "utf-8",
    ) -> tuple[IOStreams, TestStream, TestStream, TestStream]:
        """In-memory streams with the terminal flags a test wants: (io, stdin, stdout, stderr)."""
        stdin_stream, out, err = TestStream(stdin), TestStream(), TestStream()
        out.encoding = err.encoding = encoding

        def read_secret(prompt: str) -> str:
            err.write(prompt)
            line = stdin_stream.readline()
            if not line:
                raise EOFError
            return line.rstrip("\n")

        streams = cls(
            stdin=stdin_stream, stdout=out, stderr=err, stdin_tty=stdin_tty,
            stdout_tty=stdout_tty, stderr_tty=stderr_tty,
            environ=dict(environ) if environ is not None else {},
            read_secret=read_secret, terminal_width=lambda _stderr: width,
        )  # fmt: skip
        return streams, stdin_stream, out, err

    def disable_color(self) -> None:  # --no-color: tables, messages and progress alike
        self._color_disabled = True

    def color_enabled(self, *, stderr: bool = False) -> bool:
        if self._color_disabled or "NO_COLOR" in self.environ or self.environ.get("TERM") == "dumb":
            return False
        return self.is_stderr_tty if stderr else self.is_stdout_tty

    @property
    def styled(self) -> bool:
        """Bold and the like on stdout (not colour): on a terminal that is not 'dumb'."""
        return self.is_stdout_tty and self.environ.get("TERM") != "dumb"

    hyperlinks = styled  # OSC 8 links go where styling does (a 'dumb' terminal prints garbage)

    @property
    def stdout_encoding(self) -> str:
        return getattr(self.stdout, "encoding", None) or "utf-8"

    @property
    def stdout_is_unicode(self) -> bool:
        return _is_unicode(self.stdout_encoding)

    def width(self, *, stderr: bool = False) -> int | None:
        """Columns of stdout's (or stderr's) terminal: COLUMNS when set, else the terminal's
        width, else unknown."""
        columns = self.environ.get("COLUMNS", "")
        if columns.isdecimal() and columns.isascii() and int(columns) > 0:
            return int(columns)
        tty = self.is_stderr_tty if stderr else self.is_stdout_tty
        measured = self._terminal_width(stderr) if tty else None
        # A pty nobody sized (`script`, some CI and container setups) reports 0 columns.
        return measured if measured and measured > 0 else None

    def progress_allowed(self, *, streams_to_stdout: bool) -> bool:
        """A bar on stderr: on a terminal, and not while streamed output shares it."""
        return self.is_stderr_tty and not (streams_to_stdout and self.is_stdout_tty)

    def console(self, *, stderr: bool = False) -> Console:
        """A rich Console bound to one of our streams, with our colour and width decisions."""
        from rich.console import Console

        return Console(
            file=self.stderr if stderr else self.stdout,
            force_terminal=self.is_stderr_tty if stderr else self.is_stdout_tty,
            no_color=not self.color_enabled(stderr=stderr),
            # rich uses 80 columns when it is told none.
            width=self.width(stderr=stderr) or 80,
            highlight=False,
            soft_wrap=False,
            # Our environment, without a COLUMNS rich would take over our decision (even 0).
            _environ={k: v for k, v in self.environ.items() if k not in ("COLUMNS", "LINES")},
        )

    def page(self) -> None:
        """From here on, stdout goes through the pager, when stdout is a terminal and a pager
        is configured (`less -FRX` by default, which quits at once when everything fits on
        one screen). Never in a pipe. A pager that cannot be started is done without."""
        if self._pager_process is not None or not (self.is_stdout_tty and self.pager):
            return
        from .pager import start_pager

        # The pager gets the text as the terminal would have: in its encoding (the locale's
        # for the table, UTF-8 for data formats: use_utf8).
        process = start_pager(
            self.pager,
            encoding=self.stdout_encoding,
            errors=getattr(self.stdout, "errors", None) or "backslashreplace",
            utf8=self.stdout_is_unicode,
        )
        if process is None:
            return
        self.stdout.flush()
        self._pager_process = process
        self.stdout = cast(IO[str], _GuardedStdout(process.stdin))

    def close_pager(self) -> None:
        """Wait for the pager to finish (the user quits it): the run ends after it."""
        process, self._pager_process = self._pager_process, None
        if process is None:
            return
        from .pager import wait_for_pager

        wait_for_pager(process)
        deferred, self._deferred = self._deferred, []
        for line in deferred:
            self._err_line(line)

    def write(self, text: str) -> None:
        self.stdout.write(text)

    def flush(self) -> None:
        self.stdout.flush()

    def write_line(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def write_bytes(self, data: bytes) -> None:
        """Data on stdout exactly as it came (api's body in a pipe); an in-memory stream (a
        test) gets the text it stands for."""
        write_bytes = getattr(self.stdout, "write_bytes", None)
        if write_bytes is None:
            self.stdout.write(data.decode("utf-8", "surrogateescape"))
        else:
            write_bytes(data)

    def read_bytes(self) -> bytes:
        """All of standard input, as it is (api --input -)."""
        buffer = getattr(self.stdin, "buffer", None)
        return buffer.read() if buffer is not None else self.stdin.read().encode("utf-8")

    def json_text(self, value: Any, *, compact: bool) -> str:
        """JSON this stdout can carry: non-ASCII escaped when its encoding cannot hold it,
        and what must not reach a terminal raw escaped on one (the data decodes the same)."""
        return json_text(value, compact=compact, ascii_only=not self.stdout_is_unicode,
                         terminal=self.is_stdout_tty)  # fmt: skip

    def use_utf8(self) -> None:
        """Data formats are UTF-8 whatever the locale says (LANG=C, PYTHONIOENCODING=ascii):
        a CSV must not turn 日本語 into escapes. Human output keeps the locale's encoding."""
        reconfigure = getattr(self.stdout, "reconfigure", None)
        if reconfigure is not None and not self.stdout_is_unicode:
            self.stdout.flush()
            reconfigure(encoding="utf-8", errors="strict")

    def write_json(self, value: Any) -> None:
        """JSON on stdout (UTF-8): indented on a terminal, compact in a pipe."""
        self.use_utf8()
        self.write_line(self.json_text(value, compact=not self.is_stdout_tty))

    # Every message may quote server text (a username, an error detail): all are sanitised.

    def _err_line(self, text: str) -> None:
        if self._pager_process is not None:  # not over the pager's screen: afterwards
            self._deferred.append(text)
        else:
            self.write_err(text + "\n")

    def message(self, text: str) -> None:
        """A status line for people, always on stderr so stdout stays pure data."""
        self._err_line(sanitize(text))

    def _labelled_line(self, label: str, color: str, text: str) -> None:
        if self.color_enabled(stderr=True):
            label = f"\x1b[{color}m{label}\x1b[0m"
        self._err_line(f"{label} {sanitize(text)}")

    def warning(self, text: str) -> None:
        self._labelled_line("warning:", "1;33", text)

    def error_line(self, text: str) -> None:
        self._labelled_line("vh-lite: error:", "1;31", text)

    def debug_line(self, text: str) -> None:
        """--debug output: one line per request, response and retry, tokens already redacted."""
        self._err_line(f"debug: {sanitize(text)}")

    def write_err(self, text: str) -> None:
        """Raw text on stderr: a traceback with --debug, the newline after a ^C."""
        self.stderr.write(text)
        self.stderr.flush()

    def prompt(self, text: str) -> str:
        """Show `text` on stderr and read one line ('' at the end of input)."""
        self.write_err(text)
        return self.stdin.readline()
