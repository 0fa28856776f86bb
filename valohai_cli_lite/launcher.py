"""The console-script entry point: answers `--version` before importing anything heavy.

`vh-lite --version` is what scripts and CI call to check the tool is there; it should cost no
more than starting Python. Everything else goes to the Typer app in cli.py.
"""

from __future__ import annotations

import contextlib
import os
import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from . import __version__

        exit_now(0, last_output=f"vh-lite {__version__}\n")
    from .cli import run

    exit_now(run(sys.argv[1:]))


def exit_now(code: int, last_output: str = "") -> None:
    """Flush the streams and leave without the interpreter's teardown.

    Tearing down the ~400 modules Typer and httpx bring in (and running their atexit hooks)
    costs ~40 ms a run: more than everything vh-lite itself does for a typical command.
    Nothing is lost: config and credential files are closed and fsynced when written. Page
    fetchers still running after an early stop (a --limit) are abandoned with the process.
    """
    try:
        if sys.stdout is None:
            raise OSError("standard output is closed")
        sys.stdout.write(last_output)
        sys.stdout.flush()
    except Exception as exc:  # data that never got out must not end in success
        from .output import StdoutClosed

        if code == 0 and not isinstance(exc, BrokenPipeError | StdoutClosed):
            reason = str(exc)
            if not reason.startswith("cannot write the output"):
                reason = f"cannot write the output: {getattr(exc, 'strerror', None) or exc}"
            with contextlib.suppress(Exception):
                sys.stderr.write(f"vh-lite: error: {reason}\n")
            code = 1
    # stderr: if even that fails there is no one left to tell.
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(code)
