"""Interactive login, the installed script in a real pseudo-terminal (pexpect): prompts,
hidden input, Ctrl-C."""

from __future__ import annotations

import re

import pexpect
import pytest
from conftest import TEST_TOKEN, VH_LITE, InstalledCli

from valohai_cli_lite.emulator.server import Emulator


@pytest.fixture
def cli(installed: InstalledCli) -> InstalledCli:
    """This module's tests run the installed script."""
    return installed


def _spawn(cli: InstalledCli, *args: str) -> pexpect.spawn:
    child = pexpect.spawn(str(VH_LITE), list(args), env=cli.env, encoding="utf-8", timeout=30)
    child.setwinsize(40, 120)
    return child


def _finish(child: pexpect.spawn, cli: InstalledCli) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    child.close()
    transcript = child.before or ""
    cli.outputs.append(transcript)
    return child.exitstatus, transcript


def test_username_and_hidden_password(cli: InstalledCli, emulator: Emulator) -> None:
    child = _spawn(cli, "login")
    child.expect("Valohai host")
    child.sendline(emulator.base_url)
    child.expect("How do you want to log in?")
    child.expect("Choice")
    child.sendline("2")
    child.expect("Username")
    child.sendline("demo")
    child.expect(r"Password for demo \(hidden\)")
    child.sendline("demo-password")
    code, transcript = _finish(child, cli)
    assert code == 0, transcript
    assert "demo-password" not in transcript
    assert "Logged in to" in transcript
    assert cli.run("auth", "status").returncode == 0


def test_a_mistyped_username_can_be_fixed_at_the_next_try(
    cli: InstalledCli, emulator: Emulator
) -> None:
    child = _spawn(cli, "login", "--host", emulator.base_url)
    child.expect("Choice")
    child.sendline("2")
    child.expect("Username")
    child.sendline("dmeo")
    child.expect(r"Password for dmeo \(hidden\)")
    child.sendline("demo-password")
    child.expect(r"Unable to log in with provided credentials\. Try again\.")
    child.expect(r"Username \[dmeo\]")  # asked again, the last one offered
    child.sendline("demo")
    child.expect(r"Password for demo \(hidden\)")
    child.sendline("demo-password")
    code, transcript = _finish(child, cli)
    assert code == 0, transcript
    assert "Logged in to" in transcript and "as demo" in transcript


def test_pasted_token_is_not_echoed(cli: InstalledCli, emulator: Emulator) -> None:
    child = _spawn(cli, "login", "--host", emulator.base_url)
    child.expect(f"Paste an API token \\(create one at {emulator.base_url}/auth/tokens/\\)")
    child.expect("Choice")
    child.sendline("")  # the default: a token, at a hidden prompt
    child.expect(r"API token \(hidden\)")
    child.sendline(TEST_TOKEN)
    code, transcript = _finish(child, cli)
    assert code == 0, transcript
    assert TEST_TOKEN not in transcript


def test_two_factor_account_is_asked_for_a_token(cli: InstalledCli, emulator: Emulator) -> None:
    child = _spawn(cli, "login", "--host", emulator.base_url, "--username", "twofa")
    child.expect("Password for twofa")
    child.sendline("whatever")
    child.expect("two-factor authentication")
    child.expect(f"{emulator.base_url}/auth/tokens/")
    child.expect(r"Paste the API token \(hidden\)")
    child.sendline(TEST_TOKEN)
    code, transcript = _finish(child, cli)
    assert code == 0, transcript
    assert TEST_TOKEN not in transcript


@pytest.mark.parametrize("prompt", ["Valohai host", "Choice"])
def test_ctrl_c_at_a_prompt_exits_130_and_writes_nothing(
    cli: InstalledCli, emulator: Emulator, prompt: str
) -> None:
    child = _spawn(cli, "login")
    child.expect("Valohai host")
    if prompt == "Choice":
        child.sendline(emulator.base_url)
        child.expect("Choice")
    child.sendintr()
    code, transcript = _finish(child, cli)
    assert code == 130, transcript
    assert "Traceback" not in transcript
    assert not (cli.config_dir / "config.json").exists()


def test_ctrl_d_at_a_prompt_is_exit_1_on_a_line_of_its_own(
    cli: InstalledCli, emulator: Emulator
) -> None:
    child = _spawn(cli, "login", "--host", emulator.base_url)
    child.expect("Choice")
    child.sendeof()
    code, transcript = _finish(child, cli)
    assert code == 1, transcript
    lines = re.sub(r"\x1b\[[0-9;]*m", "", transcript).replace("\r", "").splitlines()
    assert lines[-1] == "vh-lite: error: no answer: standard input ended at a prompt"
    assert lines[-2].endswith("[1]: ")  # the prompt's line was ended first


def test_password_stdin_on_a_terminal_asks_hidden(cli: InstalledCli, emulator: Emulator) -> None:
    child = _spawn(cli, "login", "--host", emulator.base_url, "--username", "demo",
                   "--password-stdin")  # fmt: skip
    child.expect(r"Password for demo")
    child.sendline("demo-password")
    code, transcript = _finish(child, cli)
    assert code == 0, transcript
    assert "demo-password" not in transcript


def test_a_mistyped_or_unreachable_host_is_asked_for_again(
    cli: InstalledCli, emulator: Emulator
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    child = _spawn(cli, "login")
    child.expect("Valohai host")
    typo = emulator.base_url.replace("://", "//")
    child.sendline(typo)
    child.expect(f"did you mean {emulator.base_url}\\?")
    child.expect("Try again")
    child.expect("Valohai host")
    child.sendline(f"http://127.0.0.1:{closed_port}")
    child.expect("connection refused")
    child.expect("Valohai host")
    child.sendline(f"https://127.0.0.1:{emulator.port}")  # the emulator speaks plain http
    child.expect("does not answer TLS on that port")
    child.expect("use an http:// URL")
    child.expect("Valohai host")
    child.sendline(emulator.base_url)
    child.expect("Choice")
    child.sendline("1")
    child.expect("API token")
    child.sendline(TEST_TOKEN)
    code, transcript = _finish(child, cli)
    assert code == 0, transcript
    assert "Traceback" not in transcript


def test_replacing_a_login_asks_first_and_wrong_passwords_get_three_tries(
    cli: InstalledCli, emulator: Emulator
) -> None:
    assert cli.login(emulator.base_url).returncode == 0  # not a terminal: no question
    child = _spawn(cli, "login", "--host", emulator.base_url, "--username", "demo")
    child.expect(r"Profile 'default' is logged in as demo on .*\. Replace that login\? \[Y/n\]")
    child.sendline("n")
    code, transcript = _finish(child, cli)
    assert code == 1 and "login cancelled; profile 'default' is unchanged" in transcript

    child = _spawn(cli, "login", "--host", emulator.base_url, "--username", "demo")
    child.expect(r"Replace that login\?")
    child.sendline("")  # yes is the default
    for _ in range(2):
        child.expect("Password for demo")
        child.sendline("wrong")
        child.expect(r"Unable to log in with provided credentials\. Try again\.")
        child.expect(r"Username \[demo\]")
        child.sendline("")  # Enter keeps the username: only the password was wrong
    child.expect("Password for demo")
    child.sendline("demo-password")
    code, transcript = _finish(child, cli)
    assert code == 0, transcript
    assert "Replaced the previous login" in transcript

    child = _spawn(cli, "login", "--host", emulator.base_url, "--username", "demo", "--force")
    for attempt in range(3):
        if attempt:
            child.expect(r"Username \[demo\]")
            child.sendline("")
        child.expect("Password for demo")
        child.sendline("wrong")
    code, transcript = _finish(child, cli)
    assert code == 4 and "Replace" not in transcript
