"""minihai, Valohai's own small implementation of its API (shared/valohai-api.md), as a real
server no one here wrote: installed in a virtualenv of its own (built once, then reused while
its pins hold) and run on loopback for the tests that need it. This module holds no tests."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-minihai"
# minihai 0.1 and what it needs, pinned to a set that runs (minihai's own pins no longer
# install on current Pythons); each goes in with --no-deps, so nothing else is pulled in.
PINS = (
    "minihai==0.1", "aiofiles==25.1.0", "attrs==26.1.0", "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3", "click==8.5.1", "docker==4.2.0", "fastapi==0.54.1",
    "gitignorant==0.4.0", "h11==0.16.0", "idna==3.20", "jsonschema==4.26.0",
    "jsonschema-specifications==2025.9.1", "leval==1.4.0", "pydantic==1.10.27",
    "PyJWT==1.7.1", "python-multipart==0.0.34", "PyYAML==6.0.4", "referencing==0.37.0",
    "requests==2.34.2", "requests-toolbelt==1.0.0", "rpds-py==2026.9.1", "six==1.17.0",
    "starlette==0.13.2", "typing_extensions==4.16.0", "ulid2==0.3.0", "urllib3==2.8.0",
    "uvicorn==0.55.0", "valohai-cli==0.37.0", "valohai-papi==0.1.3", "valohai-utils==0.8.0",
    "valohai-yaml==0.61.0", "websocket-client==1.9.2",
)  # fmt: skip
# minihai's Settings._build_values predates pydantic 1.10's signature (valohai-api.md).
_PATCH = (
    "self, init_kwargs: Dict[str, Any], _env_file: Union[Path, str, None] = None",
    "super()._build_values(init_kwargs, _env_file)",
)
USER, PASSWORD = "alice", "s3cret-pass"


def _stamp() -> str:
    return hashlib.sha256("\n".join((sys.version, *PINS)).encode()).hexdigest()[:16]


def ensure_venv() -> Path:
    """The virtualenv's python, built (under a lock: xdist workers share it) when missing
    or made for other pins."""
    VENV.parent.mkdir(exist_ok=True)
    with open(ROOT / ".venv-minihai.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        python = VENV / "bin" / "python"
        stamp = VENV / ".stamp"
        if stamp.exists() and stamp.read_text() == _stamp():
            return python
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                        "--disable-pip-version-check", *PINS], check=True)  # fmt: skip
        conf = next((VENV / "lib").glob("python*/site-packages/minihai/conf.py"))
        source = conf.read_text()
        old_signature, old_call = _PATCH
        source = source.replace(old_signature, "self, init_kwargs: Dict[str, Any], *args, **kw")
        source = source.replace(old_call, "super()._build_values(init_kwargs, *args, **kw)")
        conf.write_text(source)
        stamp.write_text(_stamp())
        return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def minihai(work: Path) -> Iterator[str]:
    """minihai on a free loopback port with one user (USER/PASSWORD); yields its base URL."""
    python = ensure_venv()
    data = work / "minihai-data"
    data.mkdir(parents=True, exist_ok=True)
    config = work / "minihai.json"  # YAML is a superset of JSON
    config.write_text(json.dumps({"auth": {USER: PASSWORD}, "data_path": str(data)}))
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MINIHAI")}
    env.update(MINIHAI_CONFIG=str(config), HOME=str(work))
    port = _free_port()
    server = subprocess.Popen(
        [str(python), "-m", "uvicorn", "minihai.app:app", "--host", "127.0.0.1",
         "--port", str(port)],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v0/server/", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    assert server.stderr is not None
                    raise RuntimeError(f"minihai did not start: {server.stderr.read()!r}") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
