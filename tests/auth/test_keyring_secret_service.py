"""The keyring path against a real Secret Service (gnome-keyring on a private D-Bus),
through the installed script."""

from __future__ import annotations

import json

from conftest import TEST_TOKEN, InstalledCli, keyring_entry, keyring_python

from valohai_cli_lite.emulator.server import Emulator

# Run with keyring_python: locks the collection vh-lite's login is in, as a screen lock does.
LOCK_THE_DEFAULT_COLLECTION = (
    "import secretstorage\n"
    "connection = secretstorage.dbus_init()\n"
    "secretstorage.get_default_collection(connection).lock()\n"
)


def _files_holding_token(cli: InstalledCli) -> list[str]:
    hits = []
    for path in cli.home.rglob("*"):
        # gnome-keyring's own (encrypted) store is under keyrings/.
        in_keyring_store = "keyrings" in path.parts
        if path.is_file() and not in_keyring_store and TEST_TOKEN.encode() in path.read_bytes():
            hits.append(str(path))
    return hits


def test_login_stores_the_token_in_the_keyring_and_in_no_file(
    secret_service: InstalledCli, emulator: Emulator
) -> None:
    cli = secret_service
    result = cli.login(emulator.base_url)
    assert result.returncode == 0, result.stderr
    assert "Token stored in the system keyring (SecretService)" in result.stderr
    assert "warning" not in result.stderr.lower()
    assert keyring_entry(cli, TEST_TOKEN) == "match"
    assert not (cli.config_dir / "credentials.json").exists()
    assert _files_holding_token(cli) == []
    profile = json.loads((cli.config_dir / "config.json").read_text())["profiles"]["default"]
    assert profile["token_store"] == "keyring"
    assert profile["keyring_backend"] == "keyring.backends.SecretService.Keyring"

    listing = cli.run("--debug", "projects", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    assert len(json.loads(listing.stdout)) == 250
    # Read straight from the Secret Service through secretstorage, without keyring's import
    # and backend discovery...
    assert "debug: token read from the Secret Service directly (secretstorage)" in listing.stderr
    # ...and through the keyring library itself when PYTHON_KEYRING_BACKEND chooses one.
    forced = cli.run(
        "--debug", "projects", "list", "--json", "--limit", "1",
        env={"PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"},
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert "debug: token read through keyring (SecretService backend)" in forced.stderr
    assert "directly" not in forced.stderr
    status = cli.run("auth", "status")
    assert "Token from: the system keyring" in status.stdout

    logout = cli.run("logout")
    assert logout.returncode == 0
    assert "removed the token from the system keyring" in logout.stderr
    assert keyring_entry(cli, TEST_TOKEN) == "missing"


def test_keyring_login_removes_an_older_plain_text_copy(
    secret_service: InstalledCli, emulator: Emulator
) -> None:
    cli = secret_service
    assert cli.login(emulator.base_url, TEST_TOKEN, "--insecure-storage").returncode == 0
    assert (cli.config_dir / "credentials.json").exists()
    assert keyring_entry(cli, TEST_TOKEN) == "missing"
    assert cli.login(emulator.base_url).returncode == 0
    assert keyring_entry(cli, TEST_TOKEN) == "match"
    assert _files_holding_token(cli) == []


def test_locked_keyring_falls_back_to_file_with_warning(
    secret_service: InstalledCli, emulator: Emulator
) -> None:
    cli = secret_service
    # A keyring whose calls hang (as an unanswered unlock prompt would) must not hang login.
    cli.env["VH_KEYRING_TIMEOUT"] = "0.000001"
    result = cli.login(emulator.base_url)
    assert result.returncode == 0, result.stderr
    assert "did not answer" in result.stderr and "PLAIN TEXT" in result.stderr
    assert (cli.config_dir / "credentials.json").exists()


def test_logout_with_an_unreachable_keyring_keeps_the_login(
    secret_service: InstalledCli, emulator: Emulator
) -> None:
    cli = secret_service
    assert cli.login(emulator.base_url).returncode == 0
    result = cli.run("logout", env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    assert result.returncode == 1
    assert "still logged in" in result.stderr
    assert keyring_entry(cli, TEST_TOKEN) == "match"
    assert json.loads((cli.config_dir / "config.json").read_text())["profiles"]["default"]
    assert cli.run("logout").returncode == 0
    assert keyring_entry(cli, TEST_TOKEN) == "missing"


def test_a_locked_keyring_is_left_to_keyring_which_reports_it(
    secret_service: InstalledCli, emulator: Emulator
) -> None:
    cli = secret_service
    assert cli.login(emulator.base_url).returncode == 0
    keyring_python(cli, LOCK_THE_DEFAULT_COLLECTION)
    # The direct read finds the item locked and hands over to keyring, whose unlock prompt
    # cannot be shown here (no display): a clear auth error, never a token or a traceback.
    result = cli.run("--debug", "projects", "list", "--json",
                     env={"VH_KEYRING_TIMEOUT": "10"})  # fmt: skip
    assert "reading the Secret Service directly failed (the keyring item is locked)" in (
        result.stderr
    )
    assert result.returncode == 4, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "cannot read the token of profile 'default'" in result.stderr


def test_a_copy_in_another_collection_is_not_read(
    secret_service: InstalledCli, emulator: Emulator
) -> None:
    # keyring reads and writes the default collection; an item with the same attributes in
    # another one (here the always-unlocked session collection) may be a stale copy.
    cli = secret_service
    plant = (
        "import secretstorage, sys\n"
        "connection = secretstorage.dbus_init()\n"
        "path = '/org/freedesktop/secrets/collection/session'\n"
        "session = secretstorage.Collection(connection, path)\n"
        "attributes = {'service': 'vh-lite', 'username': sys.argv[1]}\n"
        "session.create_item('stale', attributes, b'stale-token-0000')\n"
    )
    account = f"default ({cli.config_dir})"
    keyring_python(cli, plant, account)
    assert cli.login(emulator.base_url).returncode == 0
    listing = cli.run("--debug", "projects", "list", "--json", "--limit", "1")
    assert listing.returncode == 0, listing.stderr
    assert "token read from the Secret Service directly" in listing.stderr


def test_auth_status_with_a_locked_keyring_says_what_it_knows_and_how_to_unlock(
    secret_service: InstalledCli, emulator: Emulator
) -> None:
    cli = secret_service
    assert cli.login(emulator.base_url).returncode == 0
    keyring_python(cli, LOCK_THE_DEFAULT_COLLECTION)
    emulator.requests.clear()
    result = cli.run("auth", "status", "--json", env={"VH_KEYRING_TIMEOUT": "10"})
    assert result.returncode == 4, result.stderr
    report = json.loads(result.stdout)
    assert (report["logged_in"], report["host"], report["username"], report["user_id"]) == (
        True, emulator.base_url, "demo", 1337,
    )  # fmt: skip
    assert (report["token_source"], report["token_valid"]) == ("keyring", None)
    assert "cannot read the token of profile 'default'" in report["error"]
    # One line, and its advice unlocks this keyring (logging in again would need it too).
    assert len(result.stderr.strip().splitlines()) == 1
    assert "gnome-keyring-daemon --unlock" in result.stderr
    assert "log in again" not in result.stderr
    assert "Traceback" not in result.stderr
    assert emulator.requests == []
    text = cli.run("auth", "status", env={"VH_KEYRING_TIMEOUT": "10"})
    assert text.returncode == 4
    assert f"Host:       {emulator.base_url}" in text.stdout and "demo (id 1337)" in text.stdout
