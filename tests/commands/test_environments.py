"""`environments list` in-process against the emulator: every page, the table, the GPU
filter with a sort by price, CSV."""

from __future__ import annotations

import csv
import io
import json

from conftest import InProcessCli, ok, screen

from valohai_cli_lite.emulator.executions import ENVIRONMENT_COUNT
from valohai_cli_lite.emulator.server import Emulator


def test_environments_list_gives_every_environment(cli: InProcessCli, served: Emulator) -> None:
    everything = json.loads(ok(cli, "environments", "list", "--json"))
    assert len(everything) == ENVIRONMENT_COUNT == len({e["slug"] for e in everything})
    pages = [r for r in served.requests if r.path == "/api/v0/environments/"]
    assert len(pages) == (ENVIRONMENT_COUNT + 1) // 2
    table = ok(cli, "environments", "list", "--format", "table", stdout_tty=True, width=160)
    assert screen(table).splitlines()[0].split() == ["NAME", "SLUG", "GPU", "USD/HOUR"]
    assert "1x NVIDIA V100" in table and "3.06" in table
    gpus = json.loads(ok(cli, "environments", "list", "--gpu", "--sort", "-price", "--json"))
    assert gpus and all(e["has_gpu"] for e in gpus)
    prices = [float(e["per_hour_price_usd"]) for e in gpus]
    assert prices == sorted(prices, reverse=True)
    as_csv = list(csv.DictReader(io.StringIO(ok(cli, "environments", "list", "--format", "csv"))))
    assert [r["slug"] for r in as_csv] == [e["slug"] for e in everything]
