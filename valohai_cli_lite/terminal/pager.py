"""The pager, by gh's and git's convention. IOStreams decides when (a terminal, never a pipe)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess


def pager_command(environ: Mapping[str, str]) -> str | None:
    """VH_PAGER, then PAGER, then `less -FRX`; empty or `cat` means no pager."""
    for name in ("VH_PAGER", "PAGER"):
        if name in environ:
            chosen = environ[name].strip()
            return None if chosen in ("", "cat") else chosen
    return "less -FRX"


def start_pager(
    command: str, *, encoding: str, errors: str, utf8: bool
) -> subprocess.Popen[str] | None:
    """None when it cannot be started. `utf8`: the text is UTF-8, whatever the locale."""
    import shlex
    import subprocess

    env = dict(os.environ)
    env.setdefault("LESS", "FRX")  # as git does: a pager named without options behaves
    if utf8:
        # Python writes UTF-8 to a C-locale terminal too (PEP 538/540); less, reading
        # LC_ALL=C, would show it as <C3><BC>. The pager shows what the terminal would.
        env.setdefault("LESSCHARSET", "utf-8")
    try:
        return subprocess.Popen(
            shlex.split(command), stdin=subprocess.PIPE, env=env, encoding=encoding,
            errors=errors,
        )  # fmt: skip
    except (OSError, ValueError):
        return None


def wait_for_pager(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(OSError):  # the user quit before reading everything
        if process.stdin is not None:
            process.stdin.close()
    # Ctrl-C reaches the pager too, which decides when it ends (less stays): however often it
    # is pressed, we wait, as git does. Only the main thread may change the handler.
    import signal
    import threading

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
    try:
        while process.returncode is None:
            with contextlib.suppress(KeyboardInterrupt):  # pressed before SIGINT was ignored
                process.wait()
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)
