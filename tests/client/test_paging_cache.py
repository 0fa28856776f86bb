"""client/paging_cache.py, unit: paging.json, last time's page size, total and distance per
host, and nothing that can hurt."""

from __future__ import annotations

import json
from pathlib import Path

from valohai_cli_lite.client.paging import PagingGuess
from valohai_cli_lite.client.paging_cache import MAX_HOSTS, PagingCache


def test_what_was_put_is_got_back_per_host(tmp_path: Path) -> None:
    cache = PagingCache(tmp_path / "cache")
    assert cache.get("https://a/api/v0/projects/") is None
    cache.put("https://a/api/v0/projects/", PagingGuess(100, 12_000, far=True))
    cache.put("https://b/api/v0/projects/", PagingGuess(50, 700, far=False))
    assert cache.get("https://a/api/v0/projects/") == PagingGuess(100, 12_000, True)
    assert cache.get("https://b/api/v0/projects/") == PagingGuess(50, 700, False)
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700


def test_it_is_written_only_when_something_changed(tmp_path: Path) -> None:
    cache = PagingCache(tmp_path)
    cache.put("h", PagingGuess(100, 1000, far=False))
    before = cache.path.stat().st_ino
    cache.put("h", PagingGuess(100, 1000, far=False))
    assert cache.path.stat().st_ino == before  # not replaced: same file
    cache.put("h", PagingGuess(100, 1000, far=True))
    assert cache.path.stat().st_ino != before
    assert not list(tmp_path.glob("*.tmp"))


def test_older_shapes_and_junk_are_ignored(tmp_path: Path) -> None:
    cache = PagingCache(tmp_path)
    cache.path.write_text(json.dumps({
        "old": [100, 1000],  # before the distance was kept
        "neg": [100, -1, 0], "bool": [True, 10, 1], "far?": [100, 1000, 7], "str": "x",
    }))  # fmt: skip
    for key in ("old", "neg", "bool", "far?", "str", "missing"):
        assert cache.get(key) is None, key
    cache.path.write_text("{not json")
    assert cache.get("old") is None
    cache.put("old", PagingGuess(100, 1000, far=False))  # rewritten in the current shape
    assert cache.get("old") == PagingGuess(100, 1000, False)


def test_it_remembers_a_bounded_number_of_hosts_most_recent_last(tmp_path: Path) -> None:
    cache = PagingCache(tmp_path)
    for port in range(MAX_HOSTS + 10):
        cache.put(f"http://127.0.0.1:{port}/", PagingGuess(100, 1000 + port, far=False))
    cache.put("http://127.0.0.1:15/", PagingGuess(100, 1, far=False))  # changed: now newest
    kept = list(json.loads(cache.path.read_text()))
    assert len(kept) == MAX_HOSTS
    assert kept[-1] == "http://127.0.0.1:15/"
    assert "http://127.0.0.1:0/" not in kept and "http://127.0.0.1:41/" in kept


def test_a_cache_that_cannot_be_written_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = PagingCache(blocker / "cache")  # its parent is a file: mkdir fails
    cache.put("h", PagingGuess(100, 1000, far=True))
    assert cache.get("h") is None
