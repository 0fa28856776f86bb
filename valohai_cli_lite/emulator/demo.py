"""`make demo`: a guided tour against the bundled emulator, touching none of your own setup.

Starts the emulator on a free loopback port, logs in to it with a throw-away config
directory, lists projects as a table and as JSON, logs out and stops the emulator.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..terminal.iostreams import IOStreams


def _step(io: IOStreams, title: str, shown: str) -> None:
    heading = f"\033[1m# {title}\033[0m" if io.color_enabled() else f"# {title}"
    io.write_line(f"\n{heading}\n$ {shown}")


def main() -> int:
    io = IOStreams.system()
    token = "demo-" + secrets.token_hex(16)
    emulator = subprocess.Popen(
        [sys.executable, "-m", "valohai_cli_lite.emulator",
         "--port", "0", "--token", token, "--projects", "250", "--page-size", "100"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    config_dir = tempfile.mkdtemp(prefix="vh-lite-demo-")
    # Your own settings (a host, a token, a format, a profile) have no say in the demo, and it
    # writes nothing to your config or cache: everything lives in its own directory.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VH_", "VALOHAI_"))}
    env.update(VH_LITE_CONFIG_DIR=config_dir, VH_PROFILE="demo",
               VH_LITE_CACHE_DIR=str(Path(config_dir) / "cache"))  # fmt: skip
    script = Path(sys.executable).parent / "vh-lite"
    vh_lite = [str(script)] if script.exists() else [sys.executable, "-m", "valohai_cli_lite"]
    try:
        assert emulator.stdout is not None
        url = emulator.stdout.readline().strip()
        if not url:
            io.message("the emulator did not start")
            return 1
        io.write_line(f"Emulator running at {url}: 250 projects, at most 100 per page.")
        io.write_line(f"Config directory for this demo: {config_dir}")

        def run(
            *args: str, stdin: str | None = None, capture: bool = False
        ) -> subprocess.CompletedProcess[str]:
            command = [*vh_lite, *args]
            return subprocess.run(
                command, input=stdin, env=env, text=True, capture_output=capture, check=False
            )

        # --insecure-storage keeps the demo out of your real keyring (no unlock prompt, nothing
        # left behind); a real login stores the token in the system keyring.
        _step(
            io,
            "Log in (the token comes from stdin, never from the command line)",
            f"vh-lite login --host {url} --with-token --insecure-storage < token.txt",
        )
        login = run("login", "--host", url, "--with-token", "--insecure-storage", stdin=token)
        if login.returncode != 0:
            return 1
        # Listings get --format table: the demo's output may be piped (make demo | less),
        # and a pipe would otherwise get plain tab-separated lines.
        shown = [
            ("Who am I?", ["auth", "status"]),
            ("Projects as a table (first 10)", ["projects", "list", "--limit", "10"]),
            ("Projects as JSON (first 2)", ["projects", "list", "--json", "--limit", "2"]),
            ("A project's executions, newest first (8 of them)",
             ["executions", "list", "--project", "project-0002", "--limit", "8"]),
            ("Its failed executions, with the fields you choose",
             ["executions", "list", "--project", "project-0002", "--status", "error",
              "--fields", "counter,status,step,duration"]),
            ("One execution", ["executions", "show", "30", "--project", "project-0002"]),
            ("The environments executions run in", ["environments", "list", "--gpu"]),
        ]  # fmt: skip
        for title, args in shown:
            _step(io, title, " ".join(["vh-lite", *args]))
            plain = args[0] == "auth" or "--json" in args or "--fields" in args
            table = [] if plain else ["--format", "table"]
            if run(*args, *table).returncode != 0:
                return 1
        _step(io, "Every page is fetched", "vh-lite projects list --json | python -c 'len(...)'")
        listing = run("projects", "list", "--json", capture=True)
        if listing.returncode != 0:
            io.write_err(listing.stderr)
            return 1
        io.write_line(f"{len(json.loads(listing.stdout))} projects (the official client shows 100)")
        _step(io, "Log out", "vh-lite logout")
        run("logout")
        return 0
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
        shutil.rmtree(config_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
