"""The console-script entry point: answers `--version` before importing anything heavy.

`vh-lite --version` is what scripts and CI call to check the tool is there; it should cost no
more than starting Python. Everything else goes to cli.run with the process's IOStreams.
"""

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
    from .cli import run
    from .terminal.iostreams import IOStreams

    exit_now(run(args, IOStreams.system()))


def collect_garbage_less_often() -> None:
    """Let the cycle collector run every 100,000 allocations instead of every 700.

    Loading Typer and httpx creates some 40,000 objects that live until the end, and with
    the default threshold the collector runs ~60 times over them while they are made: ~6 ms
    of a 90 ms run (docs/performance.md). Reference counting still frees everything that is
    not a cycle at once, and the rare cycles (an exception's traceback, a thread's future)
    are still collected, only in bigger batches, so memory stays bounded: the same peak RSS
    at 100,000 projects.
    """
    import gc

    gc.set_threshold(100_000)


def exit_now(code: int, last_output: str = "") -> None:
    """Flush the streams and leave without the interpreter's teardown.

    Tearing down the ~400 modules Typer and httpx bring in (and running their atexit hooks)
    costs ~40 ms a run: more than everything vh-lite itself does for a typical command.
    Nothing is lost: config and credential files are closed and fsynced when written. Page
    fetchers still running after an early stop (a --limit) are abandoned with the process.
    When coverage is measuring this process (the test suite), its data is saved first,
    since os._exit skips the atexit hook that would save it.
    """
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
            error = exc if isinstance(exc, OutputError) else None
            if error is None:
                error = OutputError(exc if isinstance(exc, OSError) else None)
            with contextlib.suppress(Exception):
                sys.stderr.write(f"vh-lite: error: {error.message}\n")
            code = 1
    # stderr: if even that fails there is no one left to tell.
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    _save_coverage()
    os._exit(code)


def _save_coverage() -> None:
    coverage = sys.modules.get("coverage")
    if coverage is None:
        return
    with contextlib.suppress(Exception):  # measuring must never change the outcome
        current = coverage.Coverage.current()
        if current is not None:
            current.stop()
            current.save()
