"""IOStreams: the one owner of the standard streams and of every terminal decision (no other
module touches them or asks `isatty`), modelled on the GitHub CLI's pkg/iostreams."""

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
    """A closed pipe (`vh-lite ... | head -1`) becomes StdoutClosed, exit 0, so `set -o pipefail`
    scripts survive; any other OSError (a full disk) becomes OutputError, one line and exit 1."""

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
        """Past the text layer (flushed first, so the order holds)."""
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
        self.read_secret = read_secret  # a hidden answer; EOFError at the end of input
        self._terminal_width = terminal_width
        self._color_disabled = False
        self.pager: str | None = None  # the command (pager_command); None: no pager
        self._pager_process: Any = None
        self._deferred: list[str] = []  # stderr lines, shown once the pager is done

    @classmethod
    def system(cls) -> IOStreams:
        """Unencodable text becomes backslash escapes, not a crash; sys.stdout itself is guarded,
        so that writes by libraries (Typer's help, completion) fail as cleanly as ours."""
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

    def disable_color(self) -> None:  # --no-color: tables, messages and progress alike
        self._color_disabled = True

    def color_enabled(self, *, stderr: bool = False) -> bool:
        if self._color_disabled or "NO_COLOR" in self.environ or self.environ.get("TERM") == "dumb":
            return False
        return self.is_stderr_tty if stderr else self.is_stdout_tty

    @property
    def styled(self) -> bool:
        """Bold and the like (not colour) on stdout."""
        return self.is_stdout_tty and self.environ.get("TERM") != "dumb"

    hyperlinks = styled  # OSC 8 links go where styling does (a 'dumb' terminal prints garbage)

    @property
    def stdout_encoding(self) -> str:
        return getattr(self.stdout, "encoding", None) or "utf-8"

    @property
    def stdout_is_unicode(self) -> bool:
        return _is_unicode(self.stdout_encoding)

    def width(self, *, stderr: bool = False) -> int | None:
        columns = self.environ.get("COLUMNS", "")
        if columns.isdecimal() and columns.isascii() and int(columns) > 0:
            return int(columns)
        tty = self.is_stderr_tty if stderr else self.is_stdout_tty
        measured = self._terminal_width(stderr) if tty else None
        # A pty nobody sized (`script`, some CI and container setups) reports 0 columns.
        return measured if measured and measured > 0 else None

    def progress_allowed(self, *, streams_to_stdout: bool) -> bool:
        """Not while streamed output shares the terminal."""
        return self.is_stderr_tty and not (streams_to_stdout and self.is_stdout_tty)

    def console(self, *, stderr: bool = False) -> Console:
        from rich.console import Console

        return Console(
            file=self.stderr if stderr else self.stdout,
            force_terminal=self.is_stderr_tty if stderr else self.is_stdout_tty,
            no_color=not self.color_enabled(stderr=stderr),
            width=self.width(stderr=stderr) or 80,  # rich's own default, made explicit
            highlight=False,
            soft_wrap=False,
            # Our environment, without a COLUMNS rich would take over our decision (even 0).
            _environ={k: v for k, v in self.environ.items() if k not in ("COLUMNS", "LINES")},
        )

    def page(self) -> None:
        """stdout through the pager from here on, if any; one that cannot start is done without."""
        if self._pager_process is not None or not (self.is_stdout_tty and self.pager):
            return
        from .pager import start_pager

        # The text as the terminal would have it (the locale's encoding, or UTF-8: use_utf8).
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
        process, self._pager_process = self._pager_process, None
        if process is None:
            return
        from .pager import wait_for_pager

        wait_for_pager(process)
        self.write_err("".join(line + "\n" for line in self._deferred))
        self._deferred = []

    def write(self, text: str) -> None:
        self.stdout.write(text)

    def flush(self) -> None:
        self.stdout.flush()

    def write_line(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def write_bytes(self, data: bytes) -> None:
        """Exactly as it came (api's body in a pipe); a test's stream gets the text."""
        write_bytes = getattr(self.stdout, "write_bytes", None)
        if write_bytes is None:
            self.stdout.write(data.decode("utf-8", "surrogateescape"))
        else:
            write_bytes(data)

    def read_bytes(self) -> bytes:
        buffer = getattr(self.stdin, "buffer", None)
        return buffer.read() if buffer is not None else self.stdin.read().encode("utf-8")

    def json_text(self, value: Any, *, compact: bool) -> str:
        return json_text(value, compact=compact, ascii_only=not self.stdout_is_unicode,
                         terminal=self.is_stdout_tty)  # fmt: skip

    def use_utf8(self) -> None:
        """Data formats are UTF-8 whatever the locale: a CSV must not turn 日本語 into escapes."""
        reconfigure = getattr(self.stdout, "reconfigure", None)
        if reconfigure is not None and not self.stdout_is_unicode:
            self.stdout.flush()
            reconfigure(encoding="utf-8", errors="strict")

    def write_json(self, value: Any) -> None:
        self.use_utf8()
        self.write_line(self.json_text(value, compact=not self.is_stdout_tty))

    # Every message may quote server text (a username, an error detail): all are sanitised.

    def _err_line(self, text: str) -> None:
        if self._pager_process is not None:  # not over the pager's screen: afterwards
            self._deferred.append(text)
        else:
            self.write_err(text + "\n")

    def message(self, text: str) -> None:
        """Always on stderr, so stdout stays pure data."""
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
        self._err_line(f"debug: {sanitize(text)}")

    def write_err(self, text: str) -> None:
        self.stderr.write(text)
        self.stderr.flush()

    def prompt(self, text: str) -> str:
        self.write_err(text)
        return self.stdin.readline()
