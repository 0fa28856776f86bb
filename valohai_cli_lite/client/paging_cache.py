"""Each list's PagingGuess from last time (docs/performance.md): a URL and three numbers,
nothing secret, written only when they change. A cache that cannot be read or written is not
used; one another user could change is refused, as the config is (check_trusted)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from ..errors import ConfigError
from ..files import UntrustedPath, read_trusted, write_atomically
from .paging import PagingGuess

# Lists remembered; beyond this the least recently changed are forgotten, so a cache that
# has seen many servers (test servers on a new port each time) stays a few KiB.
MAX_HOSTS = 32


class PagingCache:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "paging.json"

    def _read(self) -> dict[str, list[int]]:
        try:
            data = json.loads(read_trusted(self.path) or b"{}")
        except UntrustedPath:  # refused, as the config would be
            raise
        except (ConfigError, ValueError, RecursionError):  # unreadable: not used
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> PagingGuess | None:
        entry = self._read().get(key)
        if (
            isinstance(entry, list) and len(entry) == 3
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in entry[:2])
            and entry[2] in (0, 1)
        ):  # fmt: skip
            return PagingGuess(entry[0], entry[1], bool(entry[2]))
        return None  # nothing, or an older shape: this listing will write the current one

    def put(self, key: str, guess: PagingGuess) -> None:
        # A cache that cannot be written is not used (nor one not to be trusted: get() said so).
        with contextlib.suppress(ConfigError):
            data = self._read()
            entry = [guess.step, guess.total, int(guess.far)]
            if data.get(key) == entry:
                return
            data.pop(key, None)
            data[key] = entry  # last in the file: the most recently changed host
            for stale in list(data)[:-MAX_HOSTS]:
                del data[stale]
            write_atomically(self.path, json.dumps(data))
