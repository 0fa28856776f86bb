"""`projects list`, the installed script in a real pseudo-terminal (pexpect): a fitted
table, safe against hostile data. (The table in-process: output/test_table.py.)"""

from __future__ import annotations

import csv
import io
import json
import re

import pexpect
import pytest
from conftest import TEST_TOKEN, VH_LITE, InstalledCli

from valohai_cli_lite.emulator.server import Emulator


@pytest.fixture
def cli(installed: InstalledCli) -> InstalledCli:
    """This module's tests run the installed script."""
    return installed


def test_table_fits_the_terminal_and_keeps_every_column(
    cli: InstalledCli, emulator: Emulator
) -> None:
    env = {
        **cli.env,
        "VH_API_TOKEN": TEST_TOKEN,
        "VH_HOST": emulator.base_url,
        "NO_COLOR": "1",
        "TERM": "xterm-256color",
        "VH_PAGER": "cat",  # the pager is tested below
    }
    child = pexpect.spawn(
        str(VH_LITE),
        ["projects", "list", "--limit", "8"],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 90),
    )
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before or ""
    cli.outputs.append(screen)
    assert child.exitstatus == 0, screen
    # Our own header may be bold (NO_COLOR is about colour); strip SGR codes to read the text.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", screen)
    # Project names are OSC 8 hyperlinks to the project's page.
    link = f"\x1b]8;id=[^;]*;{emulator.base_url}/p/demo/project-0001/\x1b\\\\"
    assert re.search(link, plain)
    plain = re.sub("\x1b]8;[^\x1b]*\x1b\\\\", "", plain)
    lines = [line for line in plain.splitlines() if line.strip()]
    assert lines[0].split() == ["NAME", "OWNER", "EXECUTIONS", "LAST", "RUN", "DESCRIPTION"]
    assert all(len(line) <= 90 for line in lines)
    assert any(line.endswith("…") for line in lines)  # long descriptions are cut, not wrapped
    assert "8 projects" in lines[-1]
    # The emulator's project-0003 carries ESC sequences, a bell and a CR in its description.
    assert "\x07" not in screen
    assert "\x1b[31m" not in screen
    assert "Control characters: ?[31mred" in plain


def test_progress_on_a_terminal_never_swallows_redirected_output(
    cli: InstalledCli, emulator: Emulator
) -> None:
    """stderr on a terminal (the bar shows there), stdout into a file: the data must reach
    the file whole, exactly as without a terminal."""
    env = {**cli.env, "VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url}
    out = cli.home / "out.txt"
    for args, count in ((["--format", "jsonl"], 250), (["--json", "--limit", "150"], 150),
                        (["--format", "csv", "--limit", "150"], 151), ([], 250)):  # fmt: skip
        command = f"'{VH_LITE}' projects list {' '.join(args)} > '{out}'"
        child = pexpect.spawn("bash", ["-c", command], env=env, encoding="utf-8", timeout=60)
        child.expect(pexpect.EOF)
        child.close()
        cli.outputs.append(child.before or "")
        assert child.exitstatus == 0, child.before
        text = out.read_text()
        if args[:1] == ["--json"]:
            assert len(json.loads(text)) == count
        elif "csv" in args:
            assert len(list(csv.reader(io.StringIO(text)))) == count
        else:
            assert len(text.splitlines()) == count, args
        assert "project-0001" not in (child.before or "")  # no data on the terminal


def test_long_output_on_a_terminal_goes_through_the_pager(
    cli: InstalledCli, emulator: Emulator
) -> None:
    paged = cli.home / "paged.txt"
    env = {**cli.env, "VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url,
           "VH_PAGER": f"tee {paged}", "TERM": "dumb"}  # fmt: skip
    child = pexpect.spawn(str(VH_LITE), ["projects", "list"], env=env, encoding="utf-8",
                          timeout=30, dimensions=(20, 100))  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    cli.outputs.append(child.before or "")
    assert child.exitstatus == 0, child.before
    lines = paged.read_text().splitlines()
    assert lines[0].split()[:2] == ["NAME", "OWNER"] and len(lines) == 251
    # The count line waits until the pager is done, instead of landing on its screen.
    assert (child.before or "").rstrip().endswith("250 projects")
    # Never in a pipe.
    never = cli.home / "never.txt"
    piped = cli.run("projects", "list", env={**env, "VH_PAGER": f"tee {never}"})
    assert len(piped.stdout.splitlines()) == 250
    assert not never.exists()


def test_ctrl_c_while_the_pager_is_open_waits_for_it_however_often_pressed(
    cli: InstalledCli, emulator: Emulator
) -> None:
    import time

    # A pager that outlives several Ctrl-Cs, as less does; it says when it has read it all.
    read_all = cli.home / "read-all"
    pager = f"sh -c 'trap \"\" INT; cat >/dev/null; touch {read_all}; sleep 2'"
    env = {**cli.env, "VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url,
           "VH_PAGER": pager, "TERM": "dumb"}  # fmt: skip
    child = pexpect.spawn(str(VH_LITE), ["projects", "list"], env=env, encoding="utf-8",
                          timeout=30, dimensions=(20, 100))  # fmt: skip
    deadline = time.monotonic() + 20
    while not read_all.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read_all.exists()  # vh-lite now only waits for the pager
    for _ in range(4):
        child.sendintr()
        time.sleep(0.2)
    child.expect(pexpect.EOF)
    child.close()
    cli.outputs.append(child.before or "")
    assert "Traceback" not in (child.before or "")
    assert child.exitstatus == 0, child.before  # the listing was complete; the pager ended it


def test_a_terminal_that_is_not_unicode_gets_an_aligned_ascii_table(
    cli: InstalledCli, emulator: Emulator
) -> None:
    """PYTHONIOENCODING=ascii: what the terminal cannot show is escaped before the widths
    are measured, and cut text ends in '...', so the columns still line up."""
    env = {**cli.env, "VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url,
           "PYTHONIOENCODING": "ascii", "VH_PAGER": "", "TERM": "xterm"}  # fmt: skip
    child = pexpect.spawn(str(VH_LITE), ["projects", "list", "--limit", "3", "--fields",
                          "name,description,execution_count"], env=env, encoding="utf-8",
                          timeout=30, dimensions=(40, 100))  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before or ""
    cli.outputs.append(screen)
    assert child.exitstatus == 0, screen
    lines = [_visible(line) for line in screen.splitlines()]
    assert len(lines) == 5 and all(line.isascii() for line in lines), lines  # + "3 projects"
    assert "\\xfc" in screen and "..." in screen
    assert len({len(row) for row in lines[1:4]}) == 1, lines  # the count column ends in one place


def _visible(line: str) -> str:
    """What a terminal shows of `line`: without hyperlinks and colour codes."""
    return re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", line)
