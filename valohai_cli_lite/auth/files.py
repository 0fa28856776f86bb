"""Where vh-lite keeps its files, and how: private directories, atomic writes and a lock, so
concurrent runs never lose or truncate state.

platformdirs knows every platform but is slow to import: on Linux the XDG rule is computed here
directly, as platformdirs computes it; elsewhere platformdirs answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

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
    """$VH_LITE_CACHE_DIR, else the platform's (XDG_CACHE_HOME on Linux)."""
    if environ.get("VH_LITE_CACHE_DIR"):
        return Path(environ["VH_LITE_CACHE_DIR"]).expanduser().absolute()
    if sys.platform.startswith("linux"):
        return _xdg(environ, "XDG_CACHE_HOME", ".cache")
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def ensure_private_dir(path: Path) -> None:
    """Create the directory 0700 if it is missing. An existing one is left as its owner set
    it (VH_LITE_CONFIG_DIR may name a shared directory); the files in it are 0600 anyway."""
    if path.is_dir():
        return
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True)
        os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    except FileExistsError:  # created meanwhile by a concurrent vh-lite
        return
    except OSError as exc:
        raise ConfigError(f"cannot create the config directory {path}: {exc.strerror}") from None


_UNREADABLE_HINT = "fix or move the file away; vh-lite never overwrites a file it cannot read"


def read_profiles_file(path: Path) -> dict[str, Any]:
    """A state file whose "profiles" maps profile names to objects (config.json and
    credentials.json both are); {"profiles": {}} when missing or empty (a crash, a `touch`).
    Other top-level keys are kept so a write never drops what a newer version stored."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})", hint=_UNREADABLE_HINT
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a JSON object", hint="fix or move the file away")
    data.setdefault("profiles", {})
    if not isinstance(data["profiles"], dict):
        raise ConfigError(f"{path}: 'profiles' is not an object", hint=_UNREADABLE_HINT)
    return data


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write to a temp file in the same directory, fsync, then rename over the target.

    A crash at any point leaves either the old file or the new one, never a truncated one,
    and the file is 0600 from its first byte (mkstemp creates it so).
    """
    import tempfile

    ensure_private_dir(path.parent)
    payload = json.dumps(data, indent=2, sort_keys=True) + "\n"
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, PRIVATE_FILE_MODE)
        os.replace(tmp_name, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on `directory/.lock` for a read-modify-write of its files."""
    ensure_private_dir(directory)
    lock_path = directory / ".lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    except OSError as exc:
        raise ConfigError(f"cannot open the lock file {lock_path}: {exc.strerror}") from None
    try:
        if sys.platform != "win32":  # Windows: no flock; atomic renames still prevent torn files
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor is closed
        yield
    finally:
        os.close(fd)
