"""Reading input from people and pipes. Prompts go to stderr; secrets are never echoed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UsageError, VhLiteError, check_token, register_secret

if TYPE_CHECKING:
    from .iostreams import IOStreams


def _no_answer(io: IOStreams) -> VhLiteError:
    """Ctrl-D at a prompt: the prompt's line is ended, so the error has a line of its own."""
    if io.is_stdin_tty:
        io.write_err("\n")
    return VhLiteError("no answer: standard input ended at a prompt")


def ask(io: IOStreams, text: str, default: str | None = None) -> str:
    """Ctrl-C propagates (exit 130)."""
    line = io.prompt(f"{text} [{default}]: " if default else f"{text}: ")
    if not line:
        raise _no_answer(io)
    return line.strip() or (default or "")


def confirm(io: IOStreams, text: str, *, default: bool = True) -> bool:
    while True:
        answer = ask(io, f"{text} {'[Y/n]' if default else '[y/N]'}").lower()
        if not answer:
            return default
        if answer in ("y", "yes", "n", "no"):
            return answer.startswith("y")
        io.message("Please answer y or n.")


def choose(io: IOStreams, text: str, options: list[str], *, default: int = 1) -> int:
    """1-based."""
    io.message(text)
    for number, option in enumerate(options, 1):
        io.message(f"  {number}. {option}")
    while True:
        answer = ask(io, "Choice", default=str(default))
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return int(answer)
        io.message(f"Please answer a number from 1 to {len(options)}.")


def ask_token(io: IOStreams, text: str) -> str:
    return check_token(ask_secret(io, text), "the prompt")


def ask_secret(io: IOStreams, text: str) -> str:
    """Asks again when it is empty."""
    while True:
        try:
            answer = io.read_secret(f"{text}: ").strip()
        except EOFError:
            raise _no_answer(io) from None
        if answer:
            register_secret(answer)
            return answer


def _piped_secret(value: str, what: str, hint: str | None = None) -> str:
    if not value:
        raise UsageError(f"no {what} on standard input", hint=hint)
    register_secret(value)
    return value


def read_token_from_stdin(io: IOStreams) -> str:
    hint = "pipe it in: vh-lite login --with-token < token.txt"
    return check_token(_piped_secret(io.stdin.read().strip(), "token", hint), "standard input")


def read_password_from_stdin(io: IOStreams) -> str:
    """Everything up to the first line break."""
    return _piped_secret(io.stdin.readline().rstrip("\r\n"), "password")
