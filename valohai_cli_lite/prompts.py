"""Reading input from people and pipes. Prompts go to stderr; secrets are never echoed."""

from __future__ import annotations

import sys

from .errors import UsageError, VhLiteError, register_secret


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def ask(text: str, default: str | None = None) -> str:
    """A visible answer, the prompt on stderr. Ctrl-C propagates (exit 130)."""
    suffix = f" [{default}]" if default else ""
    sys.stderr.write(f"{text}{suffix}: ")
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise VhLiteError("no answer: standard input ended at a prompt")
    return line.strip() or (default or "")


def ask_secret(text: str) -> str:
    """A hidden answer; asks again when it is empty."""
    import getpass

    while True:
        try:
            # getpass talks to /dev/tty (stderr as fallback), never to stdout, and no echo.
            answer = getpass.getpass(f"{text}: ", stream=sys.stderr).strip()
        except EOFError:
            raise VhLiteError("no answer: standard input ended at a prompt") from None
        if answer:
            register_secret(answer)
            return answer


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
