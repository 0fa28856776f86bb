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
from rich.cells import cell_len

from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig


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


# --- narrow terminals ----------------------------------------------------------------------

# Every escape sequence a terminal acts on without showing it: CSI (colour, cursor, erase),
# OSC (hyperlinks, titles), and two-byte ones.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def _on_a_pty(cli: InstalledCli, command: list[str], columns: int,
              env: dict[str, str] | None = None, *, in_bash: bool = False) -> str:  # fmt: skip
    """What vh-lite writes to a terminal `columns` wide (`command` run by bash `in_bash`, for
    redirections); it must succeed."""
    program, args = ("bash", ["-c", " ".join(command)]) if in_bash else (str(VH_LITE), command)
    child = pexpect.spawn(program, args, env={**cli.env, **(env or {})}, encoding="utf-8",
                          timeout=60, dimensions=(24, columns))  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    transcript = child.before or ""
    cli.outputs.append(transcript)
    assert child.exitstatus == 0, transcript
    return transcript


def _shown(transcript: str) -> list[str]:
    """Each stretch of text between carriage returns and newlines, as a terminal shows it."""
    return re.split(r"[\r\n]", _ESCAPES.sub("", transcript))


def _widest(transcript: str) -> int:
    return max(cell_len(piece) for piece in _shown(transcript))


LISTINGS = (["projects", "list", "--limit", "8"],
            ["executions", "list", "--project", "project-0002", "--limit", "8"],
            ["environments", "list"])  # fmt: skip


@pytest.fixture
def tabled(cli: InstalledCli, emulator: Emulator) -> dict[str, str]:
    """The environment for a table on the pty: colour and links on, no pager."""
    return {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url,
            "TERM": "xterm-256color", "VH_PAGER": ""}  # fmt: skip


def test_a_40_column_terminal_gets_tables_that_fit_with_the_name_kept(
    cli: InstalledCli, tabled: dict[str, str]
) -> None:
    for command in LISTINGS:
        transcript = _on_a_pty(cli, command, 40, tabled)
        assert _widest(transcript) <= 40, (command, _shown(transcript))
        # (Finding the project by name may show a bar of its own before the table.)
        lines = [line for line in _shown(transcript) if line.strip() and "/250" not in line]
        first = "#" if command[0] == "executions" else "NAME"
        assert lines[0].split()[0] == first, lines
    projects = [line for line in _shown(_on_a_pty(cli, LISTINGS[0], 40, tabled)) if line.strip()]
    assert projects[0].split() == ["NAME", "OWNER", "EXECUTIONS"]  # DESCRIPTION went first
    names = [line.split()[0] for line in projects[1:9]]
    assert names[:7] == [f"project-{i:04d}" for i in range(1, 8)]
    assert names[7].startswith("image-classifier-") and len(names[7]) >= 16  # cut, readable


@pytest.mark.parametrize("columns", [20, 30, 60, 100])
def test_no_table_line_is_wider_than_the_terminal(
    cli: InstalledCli, tabled: dict[str, str], columns: int
) -> None:
    for command in LISTINGS:
        transcript = _on_a_pty(cli, command, columns, tabled)
        assert _widest(transcript) <= columns, (command, _shown(transcript))
        assert "project-0001" in transcript or command[0] != "projects"
    # COLUMNS says the width where the terminal's own size is not to be believed.
    transcript = _on_a_pty(cli, LISTINGS[0], 120, {**tabled, "COLUMNS": str(columns)})
    assert _widest(transcript) <= columns, _shown(transcript)


@pytest.mark.parametrize("columns", [20, 40])
def test_the_progress_bar_fits_a_narrow_terminal_on_one_line(
    cli: InstalledCli, columns: int
) -> None:
    """stdout into a file, stderr on a narrow terminal: every frame of the bar fits on one
    line (a frame that wrapped would leave its first line behind when the bar goes), and the
    count stays whole while the words give way."""
    slow = EmulatorConfig(token=TEST_TOKEN, projects=600, page_size=100, latency_ms=150)
    with Emulator(slow) as emulator:
        out = cli.home / "out.txt"
        env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url,
               "TERM": "xterm-256color"}  # fmt: skip
        command = [f"'{VH_LITE}'", "projects", "list", "--max-concurrency", "1", ">", f"'{out}'"]
        transcript = _on_a_pty(cli, command, columns, env, in_bash=True)
    assert len(out.read_text().splitlines()) == 600
    frames = [piece for piece in _shown(transcript) if piece.strip()]
    assert frames, repr(transcript)  # the bar was shown
    assert all(cell_len(frame) <= columns for frame in frames), frames
    assert any(re.search(r"\b[1-6]00/600\b", frame) for frame in frames), frames
    assert "project-0001" not in transcript


# C1 CSI (starts an escape sequence on many terminals), a bidi override and a zero-width
# space, as a hostile server could put them in any text.
HIDDEN = ("\u009b", "\u202e", "\u200b")


@pytest.mark.parametrize("args", [["--format", "jsonl"], ["--json"], []], ids=str)
def test_hidden_characters_never_reach_a_terminal_raw(
    cli: InstalledCli, emulator: Emulator, args: list[str]
) -> None:
    hostile = {"id": "hostile", "name": "pay\u202eFDP.exe", "owner": {"username": "m\u009b2J"},
               "description": "zero\u200bwidth \u009b31m", "execution_count": 1}  # fmt: skip
    emulator.config.projects = 1
    emulator.config.extra_projects = [hostile]
    env = {**cli.env, "VH_API_TOKEN": TEST_TOKEN, "VH_HOST": emulator.base_url, "VH_PAGER": "cat",
           "TERM": "xterm-256color"}  # fmt: skip
    child = pexpect.spawn(str(VH_LITE), ["projects", "list", *args], env=env, encoding="utf-8",
                          timeout=30, dimensions=(40, 200))  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before or ""
    cli.outputs.append(screen)
    assert child.exitstatus == 0, screen
    assert "pay" in screen and "width" in screen
    assert not any(character in screen for character in HIDDEN), ascii(screen)
    # In a pipe the data is exact.
    piped = cli.run("projects", "list", *args, env={"VH_API_TOKEN": TEST_TOKEN,
                                                     "VH_HOST": emulator.base_url})  # fmt: skip
    assert piped.returncode == 0
    if args:
        assert all(character in piped.stdout for character in HIDDEN)
