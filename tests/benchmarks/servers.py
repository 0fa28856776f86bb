"""What the clients talk to during `make bench`: the emulator, a keyring, a private CA.

The emulator runs as its own process (`python -m valohai_cli_lite.emulator`), so its CPU is
not the bench's and not the client's; its CPU time is read from /proc to show it stays small.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import ROOT, TOKEN, VH_VENV, BenchError


@dataclass
class RunningEmulator:
    url: str
    pid: int
    # With stats=True, what it printed on stopping: requests, throttled, peak_in_flight.
    stats: dict[str, int] = field(default_factory=dict)

    def cpu_seconds(self) -> float:
        """User + system CPU the emulator has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return ticks / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback port nobody listens on now (for emulators restarted at the same address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def emulator(*args: str, stats: bool = False) -> Iterator[RunningEmulator]:
    """An emulator serving `args` on a free loopback port, stopped on leaving."""
    port = [] if "--port" in args else ["--port", "0"]
    cmd = [sys.executable, "-m", "valohai_cli_lite.emulator", "--host", "127.0.0.1", *port,
           "--token", TOKEN, *args, *(["--stats"] if stats else [])]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    running = RunningEmulator(line, proc.pid)
    try:
        if not line.startswith(("http://127.0.0.1:", "https://127.0.0.1:")):
            raise BenchError(f"the emulator did not start: {proc.communicate(timeout=20)[1]}")
        yield running
    finally:
        if proc.poll() is None:
            proc.terminate()
        _, err = proc.communicate(timeout=20)
    if "Traceback" in err:
        raise BenchError(f"the emulator failed while measuring:\n{err}")
    if stats:
        last = err.strip().splitlines()[-1] if err.strip() else ""
        running.stats = {k: int(v) for k, v in (pair.split("=") for pair in last.split())}


def round_trip(url: str, path: str, times: int) -> float:
    """The median time of a GET of `path` from in here, a new connection each (warm server)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url + path, headers={"Authorization": f"Token {TOKEN}"})
    taken = []
    for _ in range(times):
        started = time.perf_counter()
        with opener.open(request, timeout=30) as response:
            response.read()
        taken.append(time.perf_counter() - started)
    return statistics.median(taken)


@contextlib.contextmanager
def secret_service(base_env: dict[str, str], home: Path) -> Iterator[dict[str, str] | None]:
    """A private D-Bus session with an unlocked gnome-keyring, or None when not installed."""
    if not (shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon")):
        yield None
        return
    runtime = Path(tempfile.mkdtemp(prefix="run-", dir=home))  # 0700; one per session
    env = {**base_env, "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert bus.stdout is not None
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        subprocess.run(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize"],
            input="bench",
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        yield env
    finally:
        bus.terminate()
        bus.wait(timeout=10)


@dataclass(frozen=True)
class PrivateCA:
    ca: Path  # the CA's certificate
    cert: Path  # the server's certificate for 127.0.0.1, signed by the CA
    key: Path  # the server's key
    bundle: Path  # certifi's public roots + the CA: what both clients are told to trust


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise BenchError("openssl is not installed (apt-get install openssl)")
    done = subprocess.run([openssl, *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise BenchError(f"openssl {args[0]} failed: {done.stderr.strip()}")


def private_ca(directory: Path) -> PrivateCA:
    """A CA and a server certificate for 127.0.0.1 made with the openssl CLI, and a bundle of
    certifi's roots (from the vh virtualenv, as requests would use them) plus that CA."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=vh-lite bench private CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    _openssl("req", "-new", *ec, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr))
    extensions = directory / "server.ext"
    extensions.write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
    )
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
             "-set_serial", f"0x{secrets.token_hex(16)}", "-days", "2",
             "-extfile", str(extensions), "-out", str(cert))  # fmt: skip
    where = [str(VH_VENV / "bin" / "python"), "-c", "import certifi; print(certifi.where())"]
    certifi_pem = Path(
        subprocess.run(where, capture_output=True, text=True, check=True).stdout.strip()
    )
    bundle = directory / "bundle.pem"
    bundle.write_bytes(certifi_pem.read_bytes().rstrip(b"\n") + b"\n" + ca.read_bytes())
    return PrivateCA(ca, cert, key, bundle)
