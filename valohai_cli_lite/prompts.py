"""Reading input from people and pipes. Prompts go to stderr; secrets are never echoed."""

from __future__ import annotations

import sys

from .errors import UsageError, VhLiteError, check_token, register_secret

NO_ANSWER = "no answer: standard input ended at a prompt"


def stdin_is_terminal() -> bool:
    from .output import is_terminal

    return is_terminal(sys.stdin)


def ask(text: str, default: str | None = None) -> str:
    """A visible answer, the prompt on stderr. Ctrl-C propagates (exit 130)."""
    suffix = f" [{default}]" if default else ""
    sys.stderr.write(f"{text}{suffix}: ")
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise VhLiteError(NO_ANSWER)
    return line.strip() or (default or "")


def ask_token(text: str) -> str:
    return check_token(ask_secret(text), "the prompt")


def ask_secret(text: str) -> str:
    """A hidden answer; asks again when it is empty."""
    import getpass

    while True:
        try:
            # getpass talks to /dev/tty (stderr as fallback), never to stdout, and no echo.
            answer = getpass.getpass(f"{text}: ", stream=sys.stderr).strip()
        except EOFError:
            raise VhLiteError(NO_ANSWER) from None
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
    register_secret(token)
    return check_token(token, "standard input")


def read_password_from_stdin() -> str:
    """A password piped in (`--password-stdin`): everything up to the first line break."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("no password on standard input")
    register_secret(password)
    return password
