"""Starting measured processes from a small process, so that their peak RSS is their own.

Linux records a process's peak RSS (what wait4 reports as ru_maxrss) across exec, starting
from the address space it was forked from: a command forked (or vforked, as subprocess does)
from the bench starts with the bench's own peak, hundreds of MiB once it has checked a
100,000-project listing. So every timed command is forked by a spawner: a copy of the bench
made at its start, while it held nothing but Python and a few modules (its RSS, about 10 MiB,
is the floor under every figure). The bench hands it the command, the environment and the
file descriptors for stdin/stdout/stderr over a Unix socket and reads the output itself; the
spawner forks, execs, and on request reaps the process and sends back its status and peak RSS.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import resource
import signal
import socket
import sys
import termios
from typing import Any

_MESSAGE_BYTES = 1 << 20


class Spawner:
    """The bench's side of the spawner; `start()` forks the spawner itself."""

    def __init__(self) -> None:
        self._socket: socket.socket | None = None
        self._pid = 0
        self.rss_floor_kib = 0  # the spawner's own peak RSS when it started

    def start(self) -> Spawner:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            ours.close()
            try:
                _serve(theirs)
            finally:
                os._exit(0)
        theirs.close()
        self._socket, self._pid = ours, pid
        self.rss_floor_kib = int(self._call({"op": "rss"})["rss"])
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()  # the spawner reads EOF and leaves
            self._socket = None
            os.waitpid(self._pid, 0)

    def _call(self, request: dict[str, Any], fds: list[int] | None = None) -> dict[str, Any]:
        if self._socket is None:
            raise RuntimeError("the spawner is not running")
        payload = json.dumps(request).encode()
        socket.send_fds(self._socket, [payload], fds or [])
        reply: dict[str, Any] = json.loads(self._socket.recv(_MESSAGE_BYTES))
        if "error" in reply:
            raise OSError(reply["error"])
        return reply

    def spawn(
        self, cmd: list[str], env: dict[str, str], stdio: tuple[int, int, int], terminal: bool
    ) -> int:
        """Start `cmd` with these descriptors as fds 0-2 (on a pty: also its controlling
        terminal); returns its pid. The caller still owns, and should close, `stdio`."""
        request = {"op": "spawn", "cmd": cmd, "env": env, "terminal": terminal}
        return int(self._call(request, list(stdio))["pid"])

    def wait(self, pid: int) -> tuple[int, int]:
        """Reap `pid`: its wait status and its peak RSS in KiB."""
        reply = self._call({"op": "wait", "pid": pid})
        return int(reply["status"]), int(reply["maxrss"])


def _serve(sock: socket.socket) -> None:
    """The spawner's loop: one request, one reply, until the bench closes the socket."""
    while True:
        message, fds, _, _ = socket.recv_fds(sock, _MESSAGE_BYTES, 3)
        if not message:
            return
        request = json.loads(message)
        reply: dict[str, int | str]
        try:
            if request["op"] == "spawn":
                reply = {
                    "pid": _fork_exec(request["cmd"], request["env"], fds, request["terminal"])
                }
            elif request["op"] == "wait":
                _, status, usage = os.wait4(request["pid"], 0)
                reply = {"status": status, "maxrss": usage.ru_maxrss}
            else:
                reply = {"rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
        except OSError as exc:
            reply = {"error": str(exc)}
        finally:
            for fd in fds:
                os.close(fd)
        sock.send(json.dumps(reply).encode())


def _fork_exec(cmd: list[str], env: dict[str, str], fds: list[int], terminal: bool) -> int:
    pid = os.fork()
    if pid != 0:
        return pid
    try:  # the child: never returns
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as subprocess restores it
        if terminal:
            os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        if terminal:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        os.closerange(3, 1 << 16)
        os.execve(cmd[0], cmd, env)  # noqa: S606 - no shell, the command as given
    except BaseException as exc:  # tell the bench, through the child's stderr
        with contextlib.suppress(OSError):
            os.write(2, f"cannot start {cmd[0]}: {exc}\n".encode())
    finally:
        os._exit(127)


_SPAWNER: Spawner | None = None


def spawner() -> Spawner:
    """The bench's spawner, started on first use (bench.py starts it first thing)."""
    global _SPAWNER
    if _SPAWNER is None:
        sys.stdout.flush()
        sys.stderr.flush()
        _SPAWNER = Spawner().start()
    return _SPAWNER
