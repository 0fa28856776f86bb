"""Where vh-lite keeps its files: the user's config and cache directories.

platformdirs knows every platform, and costs ~12 ms to import. On Linux the answer is the XDG
rule, which is computed here directly (a test holds it equal to platformdirs'); elsewhere
platformdirs answers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

APP = "vh-lite"


def _xdg(environ: Mapping[str, str], variable: str, fallback: str) -> Path:
    # platformdirs: an unset or blank variable means the default under the home directory.
    value = environ.get(variable, "").strip()
    if value:
        return Path(value) / APP
    home = environ.get("HOME") or os.path.expanduser("~")
    return Path(home) / fallback / APP


def user_config_dir(environ: Mapping[str, str] = os.environ) -> Path:
    if sys.platform.startswith("linux"):
        return _xdg(environ, "XDG_CONFIG_HOME", ".config")
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False, roaming=True))


def user_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    if sys.platform.startswith("linux"):
        return _xdg(environ, "XDG_CACHE_HOME", ".cache")
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP, appauthor=False))
