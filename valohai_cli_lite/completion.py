"""Shell completion of option values: profiles, formats' fields, sort keys.

Each function gets what the user has typed so far and returns the candidates; none may ever
print or raise, since its output lands in the user's shell.
"""

from __future__ import annotations


def complete_profiles(incomplete: str) -> list[str]:
    """Profile names from config.json."""
    from .config import ConfigStore, config_dir

    try:
        names = ConfigStore(config_dir()).profile_names()
    except Exception:  # completion must never print an error into the user's shell
        return []
    return [name for name in names if name.startswith(incomplete)]


def complete_fields(incomplete: str) -> list[str]:
    """--fields a,b,c: complete the last name, keeping the ones before it."""
    from .projects import PROJECT

    done, _, last = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    chosen = set(done.split(",")) if done else set()
    return [prefix + f for f in PROJECT.known_fields if f.startswith(last) and f not in chosen]


def complete_sort_keys(incomplete: str) -> list[str]:
    """--sort [-]FIELD."""
    from .projects import PROJECT

    sign = "-" if incomplete.startswith("-") else ""
    return [sign + key for key in PROJECT.sort_keys if key.startswith(incomplete.lstrip("-"))]
