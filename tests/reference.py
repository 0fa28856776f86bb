"""Generates docs/commands.md from the CLI itself, so the reference cannot drift from --help.

    python tests/reference.py > docs/commands.md     (or: make docs)

tests/test_reference.py fails when the committed file differs from what this prints.
"""

from __future__ import annotations

import inspect
from typing import Any

HEADER = """# Command reference

Generated from the CLI by `make docs` (`python tests/reference.py`); a test fails
when this file and `--help` disagree. Exit codes: see [exit codes](exit-codes.md).
"""


def _option_row(param: Any) -> str:
    names = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
    choices = getattr(param.type, "choices", None)
    if not param.is_flag and (param.metavar or choices):
        names += f" `{param.metavar or 'CHOICE'}`"
    text = " ".join((param.help or "").split())
    if choices:
        text += " One of: " + ", ".join(f"`{getattr(c, 'value', c)}`" for c in choices) + "."
    if param.envvar:
        envvars = [param.envvar] if isinstance(param.envvar, str) else param.envvar
        text += f" (env {', then '.join(f'`{name}`' for name in envvars)})"
    default = param.default
    hidden = param.show_default is False or callable(default)
    if not hidden and default not in (None, False, "", ()):
        text += f" [default: {default}]"
    escaped = text.replace("|", "\\|")  # a pipe would end the table cell
    return f"| {names} | {escaped} |"


def _argument_row(param: Any) -> str:
    text = " ".join((getattr(param, "help", None) or "").split())
    return f"| `{param.metavar or param.name.upper()}` | {text} |"


def _section(path: list[str], command: Any, ctx: Any) -> list[str]:
    from typer.core import TyperArgument, TyperOption

    lines = [f"## `{' '.join(path)}`", ""]
    doc = inspect.cleandoc(command.help or "")
    if doc:
        lines += [doc, ""]
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines += ["```", f"{' '.join(path)} {usage}".rstrip(), "```", ""]
    arguments = [p for p in command.params if isinstance(p, TyperArgument)]
    options = [p for p in command.params
               if isinstance(p, TyperOption) and not p.hidden]  # fmt: skip
    if arguments:
        lines += ["| argument | meaning |", "|---|---|"]
        lines += [_argument_row(p) for p in arguments] + [""]
    if options:
        lines += ["| option | meaning |", "|---|---|"]
        lines += [_option_row(p) for p in options] + [""]
    return lines


def render_reference() -> str:
    from typer._click.core import Context
    from typer.core import TyperGroup

    from valohai_cli_lite.cli import build_app, click_command

    root = click_command(build_app())
    lines = [HEADER]

    def walk(command: Any, path: list[str], parent: Any) -> None:
        ctx = Context(command, info_name=path[-1], parent=parent)
        if parent is None or not isinstance(command, TyperGroup):  # groups: only the root
            lines.extend(_section(path, command, ctx))
        if isinstance(command, TyperGroup):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name], ctx)

    walk(root, ["vh-lite"], None)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    from valohai_cli_lite.terminal.iostreams import IOStreams

    IOStreams.system().write(render_reference())
