"""Interactive login in a real pseudo-terminal (pexpect): prompts, hidden input, Ctrl-C."""

from __future__ import annotations

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
    child.expect(r"Username \(leave empty to paste an API token\)")
    child.sendline("demo")
    child.expect(r"Password \(hidden\)")
    child.sendline("demo-password")
    code, transcript = _finish(child, cli)
    assert code == 0, transcript
    assert "demo-password" not in transcript
    assert "Logged in to" in transcript
    assert cli.run("auth", "status").returncode == 0


def test_pasted_token_is_not_echoed(cli: InstalledCli, emulator: Emulator) -> None:
    child = _spawn(cli, "login", "--host", emulator.base_url)
    child.expect("Username")
    child.sendline("")
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


@pytest.mark.parametrize("prompt", ["Valohai host", "Username"])
def test_ctrl_c_at_a_prompt_exits_130_and_writes_nothing(
    cli: InstalledCli, emulator: Emulator, prompt: str
) -> None:
    child = _spawn(cli, "login")
    child.expect("Valohai host")
    if prompt == "Username":
        child.sendline(emulator.base_url)
        child.expect("Username")
    child.sendintr()
    code, transcript = _finish(child, cli)
    assert code == 130, transcript
    assert "Traceback" not in transcript
    assert not (cli.config_dir / "config.json").exists()
