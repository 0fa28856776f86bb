"""Reading input from people and pipes, through IOStreams. Prompts go to stderr; secrets are
never echoed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import UsageError, VhLiteError, check_token, register_secret

if TYPE_CHECKING:
    from .iostreams import IOStreams

NO_ANSWER = "no answer: standard input ended at a prompt"


def ask(io: IOStreams, text: str, default: str | None = None) -> str:
    """A visible answer, the prompt on stderr. Ctrl-C propagates (exit 130)."""
    suffix = f" [{default}]" if default else ""
    line = io.prompt(f"{text}{suffix}: ")
    if not line:
        raise VhLiteError(NO_ANSWER)
    return line.strip() or (default or "")


def ask_token(io: IOStreams, text: str) -> str:
    return check_token(ask_secret(io, text), "the prompt")


def ask_secret(io: IOStreams, text: str) -> str:
    """A hidden answer; asks again when it is empty."""
    while True:
        try:
            answer = io.read_secret(f"{text}: ").strip()
        except EOFError:
            raise VhLiteError(NO_ANSWER) from None
        if answer:
            register_secret(answer)
            return answer


def read_token_from_stdin(io: IOStreams) -> str:
    """A token piped in (`--with-token`): one line, surrounding whitespace ignored."""
    token = io.read_all().strip()
    if not token:
        raise UsageError(
            "no token on standard input", hint="pipe it in: vh-lite login --with-token < token.txt"
        )
    register_secret(token)
    return check_token(token, "standard input")


def read_password_from_stdin(io: IOStreams) -> str:
    """A password piped in (`--password-stdin`): everything up to the first line break."""
    password = io.read_line().rstrip("\r\n")
    if not password:
        raise UsageError("no password on standard input")
    register_secret(password)
    return password
