"""The console-script entry point. It answers `--version`, what scripts and CI call to check
the tool is there, before importing anything heavy: it should cost no more than starting
Python. Everything else goes to cli.run with the process's IOStreams."""

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
    """Let the cycle collector run every 100,000 allocations instead of every 700: loading
    Typer and httpx makes tens of thousands of objects that live to the end, which the
    default would scan again and again (docs/performance.md). Cycles are still collected,
    only in bigger batches, so memory stays bounded."""
    import gc

    gc.set_threshold(100_000)


def exit_now(code: int, last_output: str = "") -> None:
    """Flush the streams and leave without the interpreter's teardown, which costs more than
    a typical command (docs/performance.md). Nothing is lost: config and credential files
    are closed and fsynced when written; page fetchers still running after an early stop
    (a --limit) go with the process. os._exit skips the atexit hook that saves coverage
    data (the test suite), so that is saved first."""
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
    # stderr: if even that fails there is no one left to tell.
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    _save_coverage()
    os._exit(code)


def _save_coverage() -> None:
    with contextlib.suppress(Exception):  # measuring must never change the outcome
        current = sys.modules["coverage"].Coverage.current()  # (KeyError: not measured)
        if current is not None:
            current.stop()
            current.save()
