"""What each host's project list looked like last time (page size, total), to ask for the
second round of pages together with the first (client/pagination.PagingGuess).

A cache, nothing more: in the user's cache directory, never holding anything secret (a host
and two numbers), written only when the numbers change, and any problem with it is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from .client.pagination import PagingGuess

FILE_NAME = "paging.json"


class PagingCache:
    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME

    @classmethod
    def for_user(cls, environ: Mapping[str, str]) -> PagingCache:
        from .dirs import user_cache_dir

        return cls(user_cache_dir(environ))

    def _read(self) -> dict[str, list[int]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> PagingGuess | None:
        entry = self._read().get(key)
        if (
            isinstance(entry, list) and len(entry) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in entry)
        ):  # fmt: skip
            return PagingGuess(entry[0], entry[1])
        return None

    def put(self, key: str, guess: PagingGuess) -> None:
        data = self._read()
        if data.get(key) == list(guess):
            return
        data[key] = list(guess)
        with contextlib.suppress(OSError):  # a cache that cannot be written is just not used
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(data), encoding="utf-8")
            os.replace(temporary, self.path)
