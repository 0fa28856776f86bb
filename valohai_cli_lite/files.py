"""Where vh-lite keeps its files, and how (docs/security.md, "Local state"): private whatever
the umask, written atomically under a lock so concurrent runs never lose or truncate state, and
used only when no other user could have written them or a link on the way to them: whoever
can change config.json could name their own server as the host."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import stat
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
APP = "vh-lite"
_MAX_LINK_HOPS = 40  # as the kernel's own limit (ELOOP)
_UNREADABLE_HINT = "fix or move the file away; vh-lite never overwrites a file it cannot read"


def user_dir(kind: Literal["config", "cache"], environ: Mapping[str, str] = os.environ) -> Path:
    """$VH_LITE_CONFIG_DIR or $VH_LITE_CACHE_DIR, else the platform's directory of that kind.
    On Linux, the XDG rule as platformdirs computes it, from the run's environ."""
    if override := environ.get(f"VH_LITE_{kind.upper()}_DIR"):
        return Path(override).expanduser().absolute()
    if sys.platform.startswith("linux"):
        home = environ.get("HOME") or os.path.expanduser("~")
        return Path(environ.get(f"XDG_{kind.upper()}_HOME", "").strip() or f"{home}/.{kind}") / APP
    import platformdirs

    if kind == "config":
        return Path(platformdirs.user_config_dir(APP, appauthor=False, roaming=True))
    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


class UntrustedPath(ConfigError):
    """A file or directory another user could have put there or changed."""


def ensure_private_dir(path: Path) -> None:
    """Create the directory and missing parents 0700. An existing one keeps its owner's mode if
    trusted (VH_LITE_CONFIG_DIR may name one); the files in it are 0600 anyway."""
    missing = list(itertools.takewhile(lambda d: not os.path.lexists(d), (path, *path.parents)))
    try:
        for directory in reversed(missing):
            try:
                os.mkdir(directory, PRIVATE_DIR_MODE)
            except FileExistsError:  # created meanwhile by a concurrent vh-lite
                continue
            os.chmod(directory, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    except OSError as exc:
        raise ConfigError(f"cannot create the directory {path}: {exc.strerror}") from None
    check_trusted(path)


def check_trusted(path: Path) -> None:
    """`path`, if it exists, is the user's own and writable by nobody else, and every symbolic
    link on the way to it belongs to the user or to root; else ConfigError."""
    if sys.platform == "win32":  # access is by ACL there, and the profile directory is private
        return
    _check_links(path.absolute(), hops=0)
    try:
        _check_owner(path, os.stat(path))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot use {path}: {exc.strerror}") from None


def _check_owner(path: Path, info: os.stat_result) -> None:
    if info.st_uid != os.getuid():
        raise UntrustedPath(
            f"refusing to use {path}: it belongs to another user (uid {info.st_uid})",
            hint="vh-lite reads its config, token and cache only from files you own",
        )
    if info.st_mode & 0o022:
        raise UntrustedPath(
            f"refusing to use {path}: other users can write to it",
            hint=f"chmod go-w {path}",
        )


def _check_links(path: Path, hops: int) -> None:
    """Link targets' own links included."""
    current = Path(path.anchor)
    for part in path.parts[1:]:
        current /= part
        try:
            info = os.lstat(current)
        except OSError:  # missing, or not reachable: nothing further to check
            return
        if not stat.S_ISLNK(info.st_mode):
            continue
        if info.st_uid not in (os.getuid(), 0):
            raise UntrustedPath(
                f"refusing to use {path}: {current} is a symbolic link that belongs to "
                f"another user (uid {info.st_uid})"
            )
        if hops >= _MAX_LINK_HOPS:
            raise UntrustedPath(f"cannot use {path}: too many symbolic links")
        target = Path(os.path.realpath(current.parent)) / os.readlink(current)
        _check_links(Path(os.path.normpath(target)), hops + 1)


def read_profiles_file(path: Path) -> dict[str, Any]:
    """config.json or credentials.json; {"profiles": {}} when missing or empty (a crash, a
    `touch`). Other top-level keys are kept so a write never drops what a newer version stored."""
    raw = read_trusted(path) or b""
    try:
        text = raw.decode("utf-8")
        data = json.loads(text) if text.strip() else {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})", hint=_UNREADABLE_HINT
        ) from None
    except RecursionError:
        raise ConfigError(f"{path} is nested too deeply to read", hint=_UNREADABLE_HINT) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a JSON object", hint="fix or move the file away")
    if not isinstance(data.setdefault("profiles", {}), dict):
        raise ConfigError(f"{path}: 'profiles' is not an object", hint=_UNREADABLE_HINT)
    return data


def read_trusted(path: Path) -> bytes | None:
    """None when missing; ConfigError unless it and its directory are trusted."""
    check_trusted(path.parent)
    check_trusted(path)
    try:
        with open(path, "rb") as handle:
            _check_owner(path, os.fstat(handle.fileno()))  # the file opened, not a swapped one
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_atomically(path: Path, payload: str) -> None:
    """Temp file, fsync, rename: a crash leaves the old file or the new one, never a truncated
    one. 0600 from its first byte: mkstemp creates it so (O_EXCL, never through a planted link),
    and the rename replaces a link rather than writing through it."""
    import tempfile

    ensure_private_dir(path.parent)
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
    """An exclusive lock on `directory/.lock`, for a read-modify-write of its files."""
    ensure_private_dir(directory)
    lock_path = directory / ".lock"
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)  # never a planted link
    try:
        fd = os.open(lock_path, flags, PRIVATE_FILE_MODE)
    except OSError as exc:
        raise ConfigError(f"cannot open the lock file {lock_path}: {exc.strerror}") from None
    try:
        if sys.platform != "win32":  # Windows: no flock; atomic renames still prevent torn files
            import fcntl

            _check_owner(lock_path, os.fstat(fd))
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor is closed
        yield
    finally:
        os.close(fd)


def write_new_private_file(path: Path, data: bytes) -> None:
    """At most 0600 (the umask can only take more away); never through a link, never over an
    existing file (OSError then)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, PRIVATE_FILE_MODE), "wb") as handle:
        handle.write(data)
