"""The root Typer app and `run()`, the one place that maps errors to exit codes."""

import contextlib
import itertools
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import version_line
from .auth.config import PROFILE_ENV
from .commands.options import complete_profiles
from .errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, StdoutClosed, VhLiteError, redact

if TYPE_CHECKING:
    from .context import AppContext, Services
    from .terminal.iostreams import IOStreams

HELP = """vh-lite: a fast, safe command-line client for the Valohai API.

Log in once with `vh-lite login`, then `vh-lite projects list`.
Exit codes: 0 ok, 1 error, 2 usage, 4 authentication needed or rejected, 130 interrupted.
"""


def _show_version(ctx: typer.Context, value: bool) -> None:
    if value:
        ctx.find_root().obj.io.write_line(version_line())
        raise typer.Exit()


def _seconds(value: float) -> float:
    """--timeout: not inf, not nan, which pass `min`."""
    if not math.isfinite(value) or value <= 0:
        raise typer.BadParameter(f"{value} is not a number of seconds above zero")
    return value


def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            metavar="NAME",
            envvar=PROFILE_ENV,
            autocompletion=complete_profiles,
            help="Profile to use; each holds one host, user and token (default: the one "
            "'auth switch' chose, else 'default').",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            envvar="VH_TIMEOUT",
            min=0.1,
            callback=_seconds,
            metavar="SECONDS",
            help="Give up on a request the server does not answer within this time.",
        ),
    ] = 30.0,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar=["VH_DEBUG", "VALOHAI_DEBUG"],
            help="Log every request, response and retry on stderr (tokens redacted).",
        ),
    ] = False,
    ca_file: Annotated[
        str | None,
        typer.Option(
            "--ca-file",
            envvar="VH_CA_FILE",
            metavar="PATH",
            help="Trust this PEM bundle (a private CA) for TLS; login saves it in the profile.",
        ),
    ] = None,
    allow_insecure_http: Annotated[
        bool,
        typer.Option(
            "--allow-insecure-http",
            help="Allow plain http:// to a host that is not loopback (token sent unencrypted); "
            "login saves it in the profile.",
        ),
    ] = False,
    system_certs: Annotated[
        bool,
        typer.Option(
            "--system-certs",
            envvar="VH_SYSTEM_CERTS",
            help="Trust the operating system's certificate store instead of certifi's (for "
            "networks that intercept TLS with a company CA installed there).",
        ),
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour in the output (as NO_COLOR does).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_show_version, is_eager=True
        ),
    ] = False,
) -> None:
    from .auth.config import validate_profile_name
    from .auth.session import ProfileChoice
    from .context import GlobalOptions

    app: AppContext = ctx.obj  # made by run(); the root fills in the global options
    if no_color:
        app.io.disable_color()
    choice = None
    if profile is not None:
        from typer._click.core import ParameterSource

        from_env = ctx.get_parameter_source("profile") == ParameterSource.ENVIRONMENT
        choice = ProfileChoice(validate_profile_name(profile), "env" if from_env else "flag")
    app.options = GlobalOptions(
        profile=choice, timeout=timeout, debug=debug,
        ca_file=str(Path(ca_file).expanduser().absolute()) if ca_file else None,
        allow_insecure_http=allow_insecure_http, system_certs=system_certs,
    )  # fmt: skip


# `vh project list` is what users of `vh` type.
ROOT_ALIASES = {"project": "projects", "execution": "executions", "environment": "environments"}
# Commands that are no group: their word and module (the function is <word>_command).
COMMANDS = {"login": "login", "logout": "auth", "api": "api"}
# The groups: their word (also their commands' module, but login's), help and verbs.
GROUPS = {
    "auth": (
        "Log in and out, switch profiles, inspect the active credentials.",
        ("login", "logout", "status", "list", "switch", "token"),
    ),
    "projects": ("Work with Valohai projects.", ("list", "show")),
    "executions": ("A project's executions: list them, show one.", ("list", "show")),
    "environments": ("The environments executions run in.", ("list",)),
}
# Top-level command words (aliases included), each built on its own.
COMMAND_WORDS = frozenset({*COMMANDS, *GROUPS, *ROOT_ALIASES})


def _aliased(aliases: dict[str, str]) -> Any:
    """A group also answering to `aliases`, not registered twice (Typer introspects each)."""
    from typer.core import TyperGroup

    class Aliased(TyperGroup):
        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            return super().get_command(ctx, aliases.get(cmd_name, cmd_name))

    return Aliased


def build_app(command: str | None = None) -> typer.Typer:
    """Only what `command` needs: Typer introspects every registered command's signature."""
    from importlib import import_module

    from .commands.options import group_options

    app = typer.Typer(
        name="vh-lite",
        help=HELP,
        no_args_is_help=True,
        cls=_aliased(ROOT_ALIASES),
        # Typer's pretty tracebacks print local variables, which can hold a token.
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(root)
    word = ROOT_ALIASES.get(command, command) if command in COMMAND_WORDS else None
    for name, module_name in COMMANDS.items():
        if word in (None, name):
            module = import_module(f".commands.{module_name}", __package__)
            app.command(name)(getattr(module, f"{name}_command"))
    for noun, (text, verbs) in GROUPS.items():
        if word in (None, noun):
            aliases = {"ls": "list"} if noun != "auth" else {}
            group = typer.Typer(help=text, no_args_is_help=True, cls=_aliased(aliases))
            for verb in verbs:
                module_name = "login" if verb == "login" else noun
                module = import_module(f".commands.{module_name}", __package__)
                group.command(verb)(getattr(module, f"{verb}_command"))
            group.callback()(group_options)
            app.add_typer(group, name=noun)
    return app


def click_command(app: typer.Typer) -> Any:
    """Arguments shown as `NAME_OR_ID`, not Typer's `{NAME_OR_ID}` in usage nor `<str>`."""
    from typer._click.types import StringParamType

    class PlainText(StringParamType):
        def get_metavar(self, *_args: Any, **_kwargs: Any) -> str:
            return ""

    def fixed(metavar: str) -> Any:
        return lambda *_args, **_kwargs: metavar

    command = typer.main.get_command(app)
    pending = [command]
    while pending:
        current = pending.pop()
        pending.extend(getattr(current, "commands", {}).values())
        for param in current.params:
            if param.param_type_name == "argument" and param.metavar:
                param.make_metavar = fixed(param.metavar)  # type: ignore[method-assign]
                if isinstance(param.type, StringParamType):
                    param.type = PlainText()
    return command


# The root options that take a value (a test checks this against root()'s parameters).
OPTIONS_WITH_VALUES = frozenset({"--profile", "-p", "--timeout", "--ca-file"})


def command_word(args: list[str], environ: Mapping[str, str]) -> str | None:
    if any(name.endswith("_COMPLETE") for name in environ):
        return None  # shell completion needs the whole tree
    remaining = iter(args)
    for arg in remaining:
        if arg in OPTIONS_WITH_VALUES:
            next(remaining, None)  # its value
        elif not arg.startswith("-"):
            return arg if arg in COMMAND_WORDS else None
        elif arg in ("-h", "--help"):
            return None
    return None


# Root options that may also come after the command (`vh-lite projects list --debug`), as
# --profile may: moved in front of it before parsing (so is a value spelled like one of them).
LATE_FLAGS = frozenset({"--debug", "--allow-insecure-http", "--no-color", "--system-certs"})
LATE_WITH_VALUES = frozenset({"--timeout", "--ca-file"})


def hoist_global_options(args: list[str]) -> list[str]:
    at = 0
    while at < len(args) and args[at].startswith("-"):  # the root's own options
        at += 2 if args[at] in OPTIONS_WITH_VALUES else 1
    moved: list[str] = []
    rest: list[str] = []
    remaining = iter(args[at:])
    for arg in remaining:
        if arg == "--":  # everything after it is an argument
            rest += [arg, *remaining]
        elif arg in LATE_WITH_VALUES:
            moved += [arg, *itertools.islice(remaining, 1)]  # with its value
        elif arg in LATE_FLAGS or arg.split("=", 1)[0] in LATE_WITH_VALUES:
            moved.append(arg)
        else:
            rest.append(arg)
    return [*args[:at], *moved, *rest]


@contextlib.contextmanager
def _no_help_colours() -> Iterator[None]:
    """Typer's help Console ignores --no-color; COLOR_SYSTEM, its documented switch, is reset."""
    import typer.rich_utils

    before = typer.rich_utils.COLOR_SYSTEM
    typer.rich_utils.COLOR_SYSTEM = None
    try:
        yield
    finally:
        typer.rich_utils.COLOR_SYSTEM = before


def run(args: list[str], io: "IOStreams", services: "Services | None" = None) -> int:
    """One command line to an exit code. Every expected failure ends here."""
    from typer._click import exceptions as click_exceptions

    from .context import AppContext, GlobalOptions

    app = AppContext(io, GlobalOptions(), services)
    args = hoist_global_options(args)
    try:
        command = click_command(build_app(command_word(args, app.environ)))
        plain_help = "--no-color" in args and ("--help" in args or "-h" in args)
        with _no_help_colours() if plain_help else contextlib.nullcontext():
            code = command.main(args=args, prog_name="vh-lite", standalone_mode=False, obj=app)
        code = code if isinstance(code, int) else EXIT_OK
    except VhLiteError as exc:
        from .hints import explain

        explain(exc)  # advice for what nothing above the failing layer explained yet
        io.error_line(redact(exc.message + (f" ({exc.hint})" if exc.hint else "")))
        code = exc.exit_code
    except click_exceptions.NoArgsIsHelpError as exc:  # `vh-lite projects`: the group's help
        exc.show(file=io.stderr)
        code = exc.exit_code
    except click_exceptions.ClickException as exc:  # usage errors: exit 2, one line
        context = getattr(exc, "ctx", None)
        where = f" (see '{context.command_path} --help')" if context is not None else ""
        io.error_line(exc.format_message().rstrip(".") + where)
        code = exc.exit_code
    except typer.Abort:  # end of input at a prompt
        io.error_line("aborted: no input")
        code = EXIT_ERROR
    except KeyboardInterrupt:
        io.write_err("\n")  # end the line the ^C left behind
        code = EXIT_INTERRUPTED
    except (StdoutClosed, BrokenPipeError):  # `| head`: the reader has what it wanted
        code = EXIT_OK
    except RecursionError:  # data nested deeper than Python's stack (a hostile file or answer)
        io.error_line("the data is nested too deeply to handle")
        code = EXIT_ERROR
    except Exception as exc:  # a bug: short report; the traceback only with --debug
        flags = (app.environ.get(name, "") for name in ("VH_DEBUG", "VALOHAI_DEBUG"))
        truthy = ("1", "true", "t", "yes", "y", "on")  # as Typer reads VH_DEBUG
        if "--debug" in args or any(flag.strip().lower() in truthy for flag in flags):
            import traceback

            io.write_err(redact("".join(traceback.format_exception(exc))))
        report = f"internal error: {type(exc).__name__}: {exc} "
        io.error_line(redact(report + "(run with --debug for details, and please report it)"))
        code = EXIT_ERROR
    finally:
        io.close_pager()
    return code
