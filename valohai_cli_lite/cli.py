"""The root Typer app and `main()`, the one place that maps errors to exit codes."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from . import __version__
from .config import DEFAULT_PROFILE, PROFILE_ENV
from .errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, VhLiteError, redact

HELP = """vh-lite: a fast, safe command-line client for the Valohai API.

Log in once with `vh-lite login`, then `vh-lite projects list`.
Exit codes: 0 ok, 1 error, 2 usage, 4 authentication needed or rejected, 130 interrupted.
"""

app = typer.Typer(
    name="vh-lite",
    help=HELP,
    no_args_is_help=True,
    # Typer's pretty tracebacks print local variables, which can hold a token.
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
auth_app = typer.Typer(
    help="Log in and out, and inspect the active credentials.", no_args_is_help=True
)
projects_app = typer.Typer(help="Work with Valohai projects.", no_args_is_help=True)


def _complete_profiles(incomplete: str) -> list[str]:
    """Shell completion of --profile from config.json; silent on any problem."""
    from .config import ConfigStore, config_dir

    try:
        names = ConfigStore(config_dir()).profile_names()
    except Exception:  # completion must never print an error into the user's shell
        return []
    return [name for name in names if name.startswith(incomplete)]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"vh-lite {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            "-p",
            metavar="NAME",
            envvar=PROFILE_ENV,
            autocompletion=_complete_profiles,
            help="Profile to use; each holds one host, user and token.",
        ),
    ] = DEFAULT_PROFILE,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_show_version, is_eager=True
        ),
    ] = False,
) -> None:
    from .config import validate_profile_name
    from .context import AppContext

    ctx.obj = AppContext(validate_profile_name(profile))


def _register() -> None:
    from .commands import api, auth, projects

    app.command("login")(auth.login)
    app.command("logout")(auth.logout)
    auth_app.command("login")(auth.login)
    auth_app.command("logout")(auth.logout)
    auth_app.command("status")(auth.status)
    auth_app.command("token")(auth.token)
    projects_app.command("list")(projects.list_projects)
    projects_app.command("show")(projects.show_project)
    app.command("api")(api.api)
    app.add_typer(auth_app, name="auth")
    app.add_typer(projects_app, name="projects")


_register()


def _silence_stdout() -> None:
    # The reader went away (`| head`); point stdout at /dev/null so the interpreter's final
    # flush cannot raise BrokenPipeError again on the way out.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: list[str] | None = None) -> None:
    from typer._click import exceptions as click_exceptions

    from . import output

    args = sys.argv[1:] if argv is None else argv
    output.guard_stdout()
    try:
        command = typer.main.get_command(app)
        code = command.main(args=args, prog_name="vh-lite", standalone_mode=False)
        code = code if isinstance(code, int) else EXIT_OK
    except VhLiteError as exc:
        text = exc.message + (f" ({exc.hint})" if exc.hint else "")
        output.error_line(redact(text))
        code = exc.exit_code
    except click_exceptions.ClickException as exc:  # usage errors: exit 2
        exc.show()
        code = exc.exit_code
    except typer.Abort:  # end of input at a prompt
        output.error_line("aborted: no input")
        code = EXIT_ERROR
    except KeyboardInterrupt:
        print(file=sys.stderr)
        code = EXIT_INTERRUPTED
    except (output.StdoutClosed, BrokenPipeError):
        _silence_stdout()
        code = EXIT_OK
    except Exception as exc:  # a bug: short report; the traceback only with VH_DEBUG
        if os.environ.get("VH_DEBUG"):
            import traceback

            sys.stderr.write(redact("".join(traceback.format_exception(exc))))
        output.error_line(
            redact(
                f"internal error: {type(exc).__name__}: {exc} "
                "(set VH_DEBUG=1 for details and please report it)"
            )
        )
        code = EXIT_ERROR
    if code == EXIT_INTERRUPTED:
        print(file=sys.stderr)
    sys.exit(code)
