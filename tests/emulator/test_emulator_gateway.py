"""The emulator as a gateway that allows N requests in flight per client (max_in_flight)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass

import pytest
from emulator_support import TOKEN, call, get_over_one_connection, projects_url, serving, start_cli

from valohai_cli_lite.emulator.__main__ import build_config
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig

THROTTLED = {"detail": "Request was throttled. Expected available in 1 second."}
ME = "/api/v0/users/me/"


@dataclass
class Outcome:
    status: int
    retry_after: str | None
    body: bytes
    seconds: float


def at_once(port: int, count: int) -> list[Outcome]:
    """`count` GETs of users/me, each on its own connection, sent at the same moment."""
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=20) for _ in range(count)]
    for connection in connections:
        connection.connect()
    start = threading.Barrier(count)
    outcomes: list[Outcome | None] = [None] * count

    def send(index: int) -> None:
        connection = connections[index]
        start.wait()
        started = time.monotonic()
        connection.request("GET", ME, headers={"Authorization": f"Token {TOKEN}"})
        response = connection.getresponse()
        body = response.read()
        seconds = time.monotonic() - started
        outcomes[index] = Outcome(response.status, response.getheader("Retry-After"), body, seconds)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(count)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for connection in connections:
            connection.close()
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]


@pytest.mark.parametrize(("limit", "extra"), [(1, 1), (4, 5)])
def test_requests_beyond_the_limit_are_throttled_at_once(limit: int, extra: int) -> None:
    with serving(max_in_flight=limit, latency_ms=1500) as emu:
        outcomes = at_once(emu.port, limit + extra)
        stats = emu.stats()

    throttled = [outcome for outcome in outcomes if outcome.status == 429]
    served = [outcome for outcome in outcomes if outcome.status == 200]
    assert (len(served), len(throttled)) == (limit, extra)
    assert all(outcome.retry_after == "1" for outcome in throttled)
    assert all(json.loads(outcome.body) == THROTTLED for outcome in throttled)
    # Turned away without waiting out the latency, which the served ones did.
    assert all(outcome.seconds < 1.0 for outcome in throttled)
    assert all(outcome.seconds >= 1.5 for outcome in served)
    assert emu.throttled == extra
    assert (stats.requests, stats.throttled, stats.peak_in_flight) == (limit + extra, extra, limit)


def test_sequential_requests_are_never_throttled() -> None:
    with serving(max_in_flight=1, latency_ms=5) as emu:
        fresh_connections = [call(f"{emu.base_url}{ME}").status for _ in range(20)]
        one_connection = get_over_one_connection("127.0.0.1", emu.port, [ME] * 20)
        pages = [call(projects_url(emu.base_url, f"offset={n * 100}")).status for n in range(3)]

        assert fresh_connections == one_connection == [200] * 20
        assert pages == [200] * 3
        assert emu.throttled == 0
        assert emu.stats().peak_in_flight == 1


def test_without_a_limit_nothing_is_throttled_and_the_peak_is_counted() -> None:
    with serving(latency_ms=1000) as emu:
        outcomes = at_once(emu.port, 6)

        assert [outcome.status for outcome in outcomes] == [200] * 6
        assert emu.stats().line() == "requests=6 throttled=0 peak_in_flight=6"


def test_slots_come_back_after_failures_and_throttling() -> None:
    with serving(max_in_flight=2, latency_ms=1000) as emu:
        assert [o.status for o in at_once(emu.port, 3)].count(429) == 1
        emu.config.latency_ms = 0
        emu.config.fail_next = [503, "truncate"]
        after = [call(f"{emu.base_url}{ME}").status for _ in range(3)]

        assert after == [503, 200, 200]
        assert emu.throttled == 1


def test_throttled_requests_are_recorded_and_leave_injected_faults_queued() -> None:
    with serving(max_in_flight=1, latency_ms=1000) as emu:
        emu.config.fail_next = [0]
        statuses = sorted(o.status for o in at_once(emu.port, 2))

        assert statuses == [200, 429]
        assert len(emu.requests) == 2
        assert emu.config.fail_next == []  # popped once, by the request that got through


def test_counts_start_again_with_each_start() -> None:
    emu = Emulator(EmulatorConfig(token=TOKEN, max_in_flight=1, latency_ms=1000)).start()
    try:
        at_once(emu.port, 2)
    finally:
        emu.stop()
    assert emu.throttled == 1  # still readable after stop()

    emu.start()
    try:
        assert emu.throttled == 0
    finally:
        emu.stop()


# --- the command line ---------------------------------------------------------------------


def test_command_line_gateway_prints_its_stats_when_stopped() -> None:
    proc, line = start_cli(
        "--token", TOKEN, "--max-in-flight", "2", "--latency-ms", "1000", "--stats"
    )
    try:
        port = int(line.strip().rsplit(":", 1)[1])
        outcomes = at_once(port, 5)
    finally:
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=20)

    assert sorted(outcome.status for outcome in outcomes) == [200, 200, 429, 429, 429]
    assert proc.returncode == 0
    assert stdout == ""
    assert stderr == "requests=5 throttled=3 peak_in_flight=2\n"


def test_command_line_without_stats_prints_nothing_more() -> None:
    proc, _ = start_cli("--max-in-flight", "1")
    proc.terminate()
    _, stderr = proc.communicate(timeout=20)

    assert (proc.returncode, stderr) == (0, "")


def test_max_in_flight_flag_fills_the_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_config(["--max-in-flight", "4"]).max_in_flight == 4
    assert build_config([]).max_in_flight is None
    with pytest.raises(SystemExit) as exit_info:
        build_config(["--max-in-flight", "0"])
    assert exit_info.value.code == 2
    assert "--max-in-flight: must be 1 or more" in capsys.readouterr().err
