"""The official client's login (vh, valohai-cli 0.37): where its config.json is and what it
holds (shared/valohai-api.md). Only ever read: vh's file is never changed."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ..client.hosts import normalize_host
from ..errors import AuthError, ConfigError, UsageError, check_token, register_secret


class VhLogin(NamedTuple):
    host: str
    token: str  # never in repr(): see __repr__
    ca_file: str | None  # vh's verify_ssl when it names a CA bundle
    path: Path

    def __repr__(self) -> str:
        return f"VhLogin(host={self.host!r}, path={self.path!r})"


def vh_config_path(environ: Mapping[str, str]) -> Path:
    """vh's own rule (valohai_cli.settings.paths)."""
    if environ.get("VALOHAI_CONFIG_DIR"):
        return Path(environ["VALOHAI_CONFIG_DIR"]) / "config.json"
    home = environ.get("HOME") or os.path.expanduser("~")
    if sys.platform == "win32":
        root = Path(environ.get("LOCALAPPDATA") or home)
    elif sys.platform == "darwin":
        root = Path(home) / "Library" / "Application Support"
    else:
        root = Path(environ.get("XDG_CONFIG_HOME") or Path(home) / ".config")
    return root / "valohai-cli" / "config.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:
        detail = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise ConfigError(f"cannot read vh's login in {path}: {detail}") from None
    return data if isinstance(data, dict) else None


def vh_login_exists(environ: Mapping[str, str]) -> bool:
    """Whether vh is logged in here (for advice: never raises)."""
    try:
        data = _read(vh_config_path(environ))
    except ConfigError:
        return False
    return bool(data and data.get("token") and data.get("host"))


def read_vh_login(environ: Mapping[str, str], ca_file: str | None) -> VhLogin:
    path = vh_config_path(environ)
    data = _read(path)
    log_in = "log in with 'vh login' first, or with 'vh-lite login'"
    if data is None:
        raise AuthError(f"no vh login found ({path} does not exist)", hint=log_in)
    token, host = data.get("token"), data.get("host")
    if not token or not host or not isinstance(host, str):
        raise AuthError(f"vh is logged out ({path} holds no token)", hint=log_in)
    if not isinstance(token, str):
        raise AuthError(f"the token in {path} is not text")
    register_secret(token)
    verify = data.get("verify_ssl", True)
    if verify is False and ca_file is None:
        raise UsageError(
            "vh's login turns TLS verification off (verify_ssl: false); vh-lite always verifies",
            hint="trust the server's certificate authority instead: "
            "vh-lite login --from-vh --ca-file CA.pem",
        )
    ca = ca_file or (verify if isinstance(verify, str) and verify else None)
    return VhLogin(normalize_host(host), check_token(token, str(path)), ca, path)
