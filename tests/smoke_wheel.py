"""The installed wheel, as a new user meets it: run with the Python of a fresh virtualenv
holding only the wheel, from an empty directory (`make matrix` does both). Standard library
only, so it needs nothing the wheel does not bring.

Checks `vh-lite --version`, a token login to the bundled emulator, `projects list --json`,
and relative times ("... ago") in the table on a pseudo-terminal for timestamps with 2 and
6 fractional digits (Python 3.10's datetime parser takes neither 1-2 nor 4-5 by itself).
Exits non-zero with a line saying what failed."""

from __future__ import annotations

import json
import os
import pty
import secrets
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VH_LITE = str(Path(sys.executable).parent / "vh-lite")
TOKEN = "smoke-" + secrets.token_hex(16)
# Two projects whose last runs carry 2 and 6 fractional digits (both real servers' forms).
PROJECTS = [
    {"id": f"p{n}", "name": f"smoke-{n}", "owner": {"username": "smoke"},
     "execution_count": 1, "last_execution_ctime": stamp, "ctime": stamp, "description": ""}
    for n, stamp in enumerate(["2024-01-02T03:04:05.12Z", "2024-01-02T03:04:05.123456Z"])
]  # fmt: skip


def run(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([VH_LITE, *args], input=stdin, env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def check(ok: bool, what: str, detail: object = "") -> None:
    if not ok:
        sys.exit(f"smoke test failed: {what} {detail!r}"[:2000])
    print(f"ok: {what}")


def on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """What `vh-lite ARGS` shows on a pseudo-terminal (stdout and stderr)."""
    parent, child = pty.openpty()
    process = subprocess.Popen([VH_LITE, *args], stdin=child, stdout=child, stderr=child,
                               env=env, close_fds=True)  # fmt: skip
    os.close(child)
    shown = b""
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=60)
    os.close(parent)
    return shown.decode("utf-8", "replace")


class Projects(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"count": len(PROJECTS), "next": None, "results": PROJECTS}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    home = tempfile.mkdtemp(prefix="vh-lite-smoke-")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LANG": "C.UTF-8",
           "XDG_CONFIG_HOME": f"{home}/config", "XDG_CACHE_HOME": f"{home}/cache",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}  # fmt: skip

    version = run("--version", env=env)
    check(version.returncode == 0 and version.stdout.startswith("vh-lite "), "--version",
          version.stdout + version.stderr)  # fmt: skip

    emulator = subprocess.Popen(
        [sys.executable, "-m", "valohai_cli_lite.emulator", "--port", "0", "--token", TOKEN,
         "--projects", "250", "--page-size", "100"],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert emulator.stdout is not None
        url = emulator.stdout.readline().strip()
        check(url.startswith("http://127.0.0.1:"), "the emulator starts", url)
        login = run("login", "--host", url, "--with-token", env=env, stdin=TOKEN + "\n")
        check(login.returncode == 0, "a token login", login.stderr)
        listing = run("projects", "list", "--json", env=env)
        check(listing.returncode == 0, "projects list --json", listing.stderr)
        check(len(json.loads(listing.stdout)) == 250, "every project listed")
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Projects)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host = f"http://127.0.0.1:{server.server_address[1]}"
        table_env = {**env, "VH_API_TOKEN": TOKEN, "VH_HOST": host, "COLUMNS": "120",
                     "TERM": "xterm", "NO_COLOR": "1", "VH_PAGER": ""}  # fmt: skip
        shown = on_a_terminal("projects", "list", env=table_env)
    finally:
        server.shutdown()
    rows = [line for line in shown.splitlines() if "smoke-" in line]
    check(len(rows) == 2 and all(" ago" in row for row in rows),
          "relative times for 2 and 6 fractional digits on a terminal", shown)  # fmt: skip
    check("2024-01-02" not in shown, "no raw timestamp in the table", shown)


if __name__ == "__main__":
    main()
