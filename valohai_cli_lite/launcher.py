"""The console-script entry point. `--version`, what scripts and CI call to check the tool is
there, is answered before anything heavy is imported; the rest goes to cli.run."""

from __future__ import annotations

import contextlib
import os
import sys


def main() -> None:
    args = sys.argv[1:]
    if args == ["--version"]:
        from . import version_line

        exit_now(0, last_output=version_line() + "\n")
    collect_garbage_less_often()
    try:
        from .cli import run
        from .terminal.iostreams import IOStreams
    except KeyboardInterrupt:  # Ctrl-C while loading: no traceback, and the line ended
        with contextlib.suppress(Exception):
            sys.stderr.write("\n")
        exit_now(130)
    exit_now(run(args, IOStreams.system()))


def collect_garbage_less_often() -> None:
    """Every 100,000 allocations, not 700: the objects Typer and httpx make live to the end
    and would be scanned again and again; cycles are still collected (docs/performance.md)."""
    import gc

    gc.set_threshold(100_000)


def exit_now(code: int, last_output: str = "") -> None:
    """Flush the streams and skip the interpreter's teardown (docs/performance.md): files are
    fsynced when written; page fetchers still running after a --limit go with the process.
    os._exit skips the atexit hook that saves coverage data, so that is saved first."""
    from .errors import OutputError, StdoutClosed

    try:
        if sys.stdout is None:
            raise OutputError()
        sys.stdout.write(last_output)
        sys.stdout.flush()
    except (BrokenPipeError, StdoutClosed):
        pass  # the reader has what it wanted
    except Exception as exc:  # data that never got out must not end in success
        if code == 0:
            if not isinstance(exc, OutputError):
                exc = OutputError(exc if isinstance(exc, OSError) else None)
            with contextlib.suppress(Exception):
                sys.stderr.write(f"vh-lite: error: {exc.message}\n")
            code = 1
    with contextlib.suppress(Exception):  # if even stderr fails, no one is left to tell
        sys.stderr.flush()
    _save_coverage()
    os._exit(code)


def _save_coverage() -> None:
    with contextlib.suppress(Exception):  # measuring must never change the outcome
        current = sys.modules["coverage"].Coverage.current()  # (KeyError: not measured)
        if current is not None:
            current.stop()
            current.save()
