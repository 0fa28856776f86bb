"""One module per command word: `<verb>_command` (Typer: flags -> options) and `run_<verb>`.

These modules, and cli.py's root callback, do not use `from __future__ import annotations`:
Typer reads every parameter's type with typing.get_type_hints, which compiles each string
annotation anew on every run (~2 ms of a `projects list`). Evaluated once at import instead,
the same annotations cost ~0.3 ms. tests/test_startup.py keeps it that way.
"""
