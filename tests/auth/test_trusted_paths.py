"""Trusted paths (files.py): what vh-lite creates is private whatever the umask, and what
another user of the machine could have put in its way is refused before it is read."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TEST_TOKEN, InProcessCli, InstalledCli, MemoryKeyring, emulator_env
from emulator_support import Certificate
from hostile_support import answering, scripted_server

from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig

ANOTHER_USER = 65534  # nobody
as_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="giving a file to another user takes root (the CI runs as root)",
)


def _tree(root: Path) -> list[tuple[Path, int]]:
    found = [(root, stat.S_IMODE(root.lstat().st_mode))]
    found += [(p, stat.S_IMODE(p.lstat().st_mode)) for p in sorted(root.rglob("*"))]
    return found


# 000 leaves everything open; 277 would make directories unusable (0500) if vh-lite did not
# set their modes itself.
@pytest.mark.parametrize("umask", [0o000, 0o277], ids=["umask 000", "umask 277"])
def test_whatever_the_umask_nothing_is_left_open(
    installed: InstalledCli, certificate: Certificate, umask: int
) -> None:
    config = EmulatorConfig(token=TEST_TOKEN, projects=250, tls_cert=str(certificate.cert),
                            tls_key=str(certificate.key))  # fmt: skip
    with Emulator(config) as tls:
        login = installed.run(
            "--ca-file", str(certificate.cert), "login", "--host", tls.base_url, "--with-token",
            "--insecure-storage", input=TEST_TOKEN, umask=umask,
        )  # fmt: skip
        assert login.returncode == 0, login.stderr
        listing = installed.run("projects", "list", umask=umask)  # pages: the paging cache too
        assert listing.returncode == 0, listing.stderr
        assert len(listing.stdout.splitlines()) == 250
    trees = [installed.home / ".config", installed.home / ".cache"]
    written = {p.name for tree in trees for p, _ in _tree(tree)}
    # Every kind of file vh-lite writes: config, token, lock, paging cache, trust store cache.
    assert {"config.json", "credentials.json", ".lock", "paging.json", ".complete"} <= written
    for tree in trees:
        for path, mode in _tree(tree):
            if path.is_dir():
                assert mode == 0o700, (path, oct(mode))  # parents (~/.config) included
            else:
                assert mode & 0o077 == 0, (path, oct(mode))


def _logged_in(cli: InProcessCli, emulator: Emulator) -> None:
    assert cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage").returncode == 0
    assert cli.run("projects", "list").returncode == 0


def _refused(cli: InProcessCli, *args: str, naming: Path, saying: str) -> None:
    result = cli.run(*(args or ("projects", "list")))
    assert result.returncode == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"vh-lite: error: refusing to use {naming}")
    assert saying in lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("name", ["", "config.json", "credentials.json"])
def test_a_config_others_can_write_to_is_refused(
    cli: InProcessCli, emulator: Emulator, name: str
) -> None:
    _logged_in(cli, emulator)
    path = cli.config_dir / name if name else cli.config_dir
    path.chmod(0o777 if path.is_dir() else 0o666)
    _refused(cli, naming=path, saying="other users can write to it")
    _refused(cli, "auth", "status", naming=path, saying="other users can write to it")
    path.chmod(0o700 if path.is_dir() else 0o600)
    assert cli.run("projects", "list").returncode == 0


@as_root
@pytest.mark.parametrize("name", ["", "config.json", "credentials.json"])
def test_a_config_another_user_owns_is_refused(
    cli: InProcessCli, emulator: Emulator, name: str
) -> None:
    _logged_in(cli, emulator)
    path = cli.config_dir / name if name else cli.config_dir
    os.chown(path, ANOTHER_USER, ANOTHER_USER)
    _refused(cli, naming=path, saying=f"it belongs to another user (uid {ANOTHER_USER})")
    before = {p.name: p.read_bytes() for p in cli.config_dir.iterdir() if p.is_file()}
    relogin = cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage")
    assert relogin.returncode == 1 and "refusing to use" in relogin.stderr
    assert {p.name: p.read_bytes() for p in cli.config_dir.iterdir() if p.is_file()} == before


@as_root
def test_another_users_link_on_the_way_is_refused(cli: InProcessCli, emulator: Emulator) -> None:
    real = cli.home / "real-config"
    real.mkdir(mode=0o700)
    link = cli.home / "linked-config"
    link.symlink_to(real)
    cli.env["XDG_CONFIG_HOME"] = str(link)
    _logged_in(cli, emulator)  # the user's own link is fine
    os.lchown(link, ANOTHER_USER, ANOTHER_USER)
    result = cli.run("projects", "list")
    assert result.returncode == 1
    assert f"{link} is a symbolic link that belongs to another user" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@as_root
def test_a_credentials_file_swapped_for_another_users_link_is_refused(
    cli: InProcessCli, emulator: Emulator
) -> None:
    _logged_in(cli, emulator)
    theirs = cli.home / "theirs.json"
    theirs.write_text(json.dumps({"profiles": {"default": {"host": emulator.base_url,
                                                           "token": "their-token"}}}))  # fmt: skip
    credentials = cli.config_dir / "credentials.json"
    credentials.unlink()
    credentials.symlink_to(theirs)
    os.lchown(credentials, ANOTHER_USER, ANOTHER_USER)
    result = cli.run("projects", "list")
    assert result.returncode == 1
    assert f"{credentials} is a symbolic link that belongs to another user" in result.stderr


def test_a_planted_lock_link_is_not_followed(cli: InProcessCli, emulator: Emulator) -> None:
    cli.config_dir.mkdir(parents=True, mode=0o700)
    target = cli.home / "not-a-lock"
    (cli.config_dir / ".lock").symlink_to(target)
    result = cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage")
    assert result.returncode == 1
    assert f"cannot open the lock file {cli.config_dir / '.lock'}" in result.stderr
    assert not target.exists()  # nothing created or written through the link


@pytest.mark.parametrize("in_keyring", [True, False])
def test_a_swapped_config_json_gets_no_token_sent_to_its_host(
    cli: InProcessCli, emulator: Emulator, in_keyring: bool
) -> None:
    keyring = MemoryKeyring()
    cli.keyring = lambda _recorded: keyring
    storage = [] if in_keyring else ["--insecure-storage"]
    assert cli.login(emulator.base_url, TEST_TOKEN, *storage).returncode == 0
    assert keyring.tokens() == ([TEST_TOKEN] if in_keyring else [])
    with scripted_server(answering({"count": 0, "results": []})) as attacker:
        config_json = cli.config_dir / "config.json"
        config = json.loads(config_json.read_text())
        config["profiles"]["default"]["host"] = attacker.url  # their server, in our config
        config_json.write_text(json.dumps(config))
        for args in (["projects", "list"], ["auth", "status"], ["auth", "token"]):
            result = cli.run(*args)
            assert result.returncode == 4, (args, result.output)
            assert f"belongs to {emulator.base_url}, but the config now names {attacker.url}" in (
                result.stderr
            )
            assert TEST_TOKEN not in result.stdout
    assert attacker.requests == []  # not a request, let alone an Authorization header


def test_a_cache_others_can_write_to_is_refused(cli: InProcessCli, emulator: Emulator) -> None:
    cache = cli.home / "shared-cache"
    cache.mkdir(mode=0o777)
    cache.chmod(0o777)
    env = {
        "VH_API_TOKEN": TEST_TOKEN,
        "VH_HOST": emulator.base_url,
        "VH_LITE_CACHE_DIR": str(cache),
    }
    result = cli.run("projects", "list", env=env)
    assert result.returncode == 1
    assert f"refusing to use {cache}: other users can write to it" in result.stderr
    cache.chmod(0o700)
    assert cli.run("projects", "list", env=env).returncode == 0
    assert (cache / "paging.json").exists()


@as_root
def test_a_paging_cache_another_user_owns_is_refused(cli: InProcessCli, emulator: Emulator) -> None:
    env = emulator_env(emulator)
    assert cli.run("projects", "list", env=env).returncode == 0
    paging = cli.home / ".cache" / "vh-lite" / "paging.json"
    os.chown(paging, ANOTHER_USER, ANOTHER_USER)
    result = cli.run("projects", "list", env=env)
    assert result.returncode == 1
    assert f"refusing to use {paging}: it belongs to another user" in result.stderr


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda path: path.write_text("[" * 100_000 + "]" * 100_000),
        lambda path: path.write_bytes(b'{"profiles": {"\xff": 1}}'),
    ],
    ids=["nested too deep", "not UTF-8"],
)
def test_a_config_that_cannot_be_read_is_one_line(
    cli: InProcessCli, emulator: Emulator, corrupt: Callable[[Path], None]
) -> None:
    _logged_in(cli, emulator)
    corrupt(cli.config_dir / "config.json")
    result = cli.run("projects", "list")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert str(cli.config_dir / "config.json") in result.stderr
    assert "internal error" not in result.stderr
