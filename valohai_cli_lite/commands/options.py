"""What command modules share: the AppContext, and option types spelled alike everywhere.
A completion function must never print or raise: its output lands in the user's shell."""

from typing import Annotated, Any

import typer

from ..context import AppContext
from ..errors import UsageError
from ..kinds.fields import parse_fields, validate_fields
from ..kinds.kind import RecordKind
from ..output.render import OutputFormat, resolve_format


def app_context(ctx: typer.Context, profile: str | None = None) -> AppContext:
    """`profile`: a --profile after the command word; it wins over one before it, VH_PROFILE."""
    obj: AppContext = ctx.find_root().obj  # made by cli.run()
    if profile is not None:
        from ..auth.config import validate_profile_name

        obj.select_profile(validate_profile_name(profile))
    return obj


def complete_profiles(incomplete: str) -> list[str]:
    from ..auth.config import ConfigStore, config_dir

    try:
        names = ConfigStore(config_dir()).profile_names()
    except Exception:  # completion must never print an error into the user's shell
        return []
    return [name for name in names if name.startswith(incomplete)]


FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format", envvar="VH_FORMAT", case_sensitive=False, show_default=False, metavar="FORMAT",
        help="Output format: table, plain, json, jsonl, csv or tsv (default: table on a "
        "terminal, plain tab-separated lines in a pipe).",
    ),
]  # fmt: skip
JsonOption = Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")]
ProjectOption = Annotated[
    str | None,
    typer.Option(
        "--project", metavar="PROJECT", envvar=["VH_PROJECT", "VALOHAI_PROJECT"],
        show_default=False, help="The project: a name, OWNER/NAME or id.",
    ),
]  # fmt: skip
WebOption = Annotated[
    bool, typer.Option("--web", help="Open the page in the Valohai web app instead.")
]

ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile", "-p", metavar="NAME", show_default=False, autocompletion=complete_profiles,
        help="Profile to use (also accepted before the command).",
    ),
]  # fmt: skip

# A ceiling: how many pages are really in flight is found out as the listing goes
# (client/paging.Window), starting at 8 and backing off when the server throttles.
DEFAULT_MAX_CONCURRENCY = 32
MaxConcurrencyOption = Annotated[
    int,
    typer.Option(
        "--max-concurrency", min=1, max=64, metavar="N",
        help="Fetch at most N pages at once once the total is known; fewer while more do "
        "not help or the server throttles (1: one after another).",
    ),
]  # fmt: skip


def kind_options(kind: RecordKind) -> tuple[Any, Any, Any, Any]:
    """--fields, --sort, --search and --limit, as typer.Options for Annotated[...] parameters."""

    def complete_fields(incomplete: str) -> list[str]:
        # --fields a,b,c: complete the last name, keeping the ones before it.
        done, _, last = incomplete.rpartition(",")
        prefix = f"{done}," if done else ""
        chosen = set(done.split(",")) if done else set()
        return [prefix + f for f in kind.known_fields if f.startswith(last) and f not in chosen]

    def complete_sort_keys(incomplete: str) -> list[str]:
        sign = "-" if incomplete.startswith("-") else ""
        return [sign + key for key in kind.sort_keys if key.startswith(incomplete.lstrip("-"))]

    return (
        typer.Option(
            "--fields", show_default=False, metavar="A,B,C", autocompletion=complete_fields,
            help="Comma-separated fields to show; dotted paths reach into objects "
            f"({next(f for f in kind.known_fields if '.' in f)}).",
        ),
        typer.Option(
            "--sort", metavar="[-]FIELD", show_default=False,
            autocompletion=complete_sort_keys,
            help=f"Sort by {', '.join(kind.sort_keys)}; a leading - sorts descending.",
        ),
        typer.Option(
            "--search", metavar="TEXT", show_default=False,
            help=f"Only {kind.plural} whose {' or '.join(kind.search_paths)} contains this text "
            "(case-insensitive).",
        ),
        typer.Option(
            "--limit", "-L", metavar="N", min=1, show_default=False,
            help=f"Show at most this many {kind.plural} (after filtering and sorting).",
        ),
    )  # fmt: skip


def choices_option(name: str, choices: tuple[str, ...], help: str) -> Any:
    def check(values: list[str] | None) -> list[str]:
        chosen = [value.strip().lower() for value in values or []]
        unknown = sorted(set(chosen) - set(choices))
        if unknown:
            raise typer.BadParameter(f"{', '.join(unknown)}; choose from {', '.join(choices)}")
        return chosen

    return typer.Option(
        name, metavar=name.lstrip("-").upper(), show_default=False, help=help, callback=check,
        autocompletion=lambda incomplete: [c for c in choices if c.startswith(incomplete)],
    )  # fmt: skip


# vh's formats that vh-lite has too; vh's "human" is vh-lite's default (table or plain).
VH_FORMATS = {"json": OutputFormat.json, "csv": OutputFormat.csv, "tsv": OutputFormat.tsv}


def _vh_format(app: AppContext) -> OutputFormat | None:
    for name in ("VALOHAI_OUTPUT_FORMAT", "VALOHAI_TABLE_FORMAT"):
        value = app.environ.get(name, "").strip().lower()
        if value:
            if value not in (*VH_FORMATS, "human"):
                app.io.warning(f"{name}={value} is one of vh's formats that vh-lite does not "
                               "have (json, csv, tsv or human): ignored")  # fmt: skip
            return VH_FORMATS.get(value)
    return None


def format_and_fields(
    ctx: typer.Context,
    fmt: OutputFormat | None,
    json_flag: bool,
    fields: str | None,
    kind: RecordKind,
) -> tuple[OutputFormat, list[str] | None]:
    """Checked before any request: --json or --format, then VH_FORMAT, then vh's
    VALOHAI_OUTPUT_FORMAT and VALOHAI_TABLE_FORMAT (--json against another --format: an error)."""
    from typer._click.core import ParameterSource

    from_command_line = ctx.get_parameter_source("fmt") == ParameterSource.COMMANDLINE
    if json_flag and fmt not in (None, OutputFormat.json) and from_command_line:
        raise UsageError(f"--json and --format {fmt.value} contradict each other")
    app = app_context(ctx)
    chosen = resolve_format(app.io, fmt or _vh_format(app), json_flag=json_flag)
    if fields is None:
        return chosen, None
    parsed = parse_fields(fields)
    validate_fields(parsed, kind.known_fields)
    return chosen, parsed


def group_options(ctx: typer.Context, profile: ProfileOption = None) -> None:
    # A group's callback: --profile between the group and its command also counts
    # (`vh-lite projects -p work list`). No docstring: the group's help stays its own.
    app_context(ctx, profile)
