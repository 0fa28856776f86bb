"""Reading input from people and pipes. Prompts go to stderr; secrets are never echoed."""

from __future__ import annotations

import sys

from .errors import UsageError, register_secret


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def ask(text: str, default: str | None = None) -> str:
    import typer

    answer: str = typer.prompt(text, default=default, err=True)
    return answer.strip()


def ask_secret(text: str) -> str:
    import typer

    while True:
        answer: str = typer.prompt(text, hide_input=True, err=True)
        if answer.strip():
            register_secret(answer.strip())
            return answer.strip()


def read_token_from_stdin() -> str:
    """A token piped in (`--with-token`): one line, surrounding whitespace ignored."""
    token = sys.stdin.read().strip()
    if not token:
        raise UsageError(
            "no token on standard input", hint="pipe it in: vh-lite login --with-token < token.txt"
        )
    if any(ch.isspace() for ch in token):
        raise UsageError("the token read from standard input contains spaces or several lines")
    register_secret(token)
    return token


def read_password_from_stdin() -> str:
    """A password piped in (`--password-stdin`): everything up to the first line break."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("no password on standard input")
    register_secret(password)
    return password
