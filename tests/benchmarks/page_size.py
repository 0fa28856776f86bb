"""How large should the first request be? Lists accounts of several sizes from emulators that
cap pages at 100 or honour 10000, at several latencies, with first limits of 100-2000.

    .venv/bin/python tests/benchmarks/page_size.py

Prints one line per setup with the median of 3 listings per first limit (seconds); the
figures and the decision are in docs/performance.md ("How large the first request is").
"""

from __future__ import annotations

import statistics
import time

from valohai_cli_lite.client import ValohaiClient
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig

FIRST_LIMITS = (100, 500, 1000, 2000)


def list_all(base_url: str, first_limit: int) -> float:
    with ValohaiClient(base_url, "t") as client:
        started = time.perf_counter()
        url = base_url + "/api/v0/projects/"
        pages = client.iter_pages(url, page_size=first_limit, max_concurrency=8)
        sum(len(page.results) for page in pages)
        return time.perf_counter() - started


def main() -> None:
    for cap in (100, 10_000):
        for projects in (100, 250, 1000, 10_000):
            for latency in (0, 50, 150):
                config = EmulatorConfig(
                    token="t", projects=projects, page_size=100, max_limit=cap,
                    latency_ms=latency, record_requests=False,
                )  # fmt: skip
                with Emulator(config) as emu:
                    medians = {
                        limit: statistics.median(list_all(emu.base_url, limit) for _ in range(3))
                        for limit in FIRST_LIMITS
                    }
                cells = "  ".join(f"first {limit}: {t:.3f}" for limit, t in medians.items())
                print(f"cap {cap:>5}  {projects:>5} projects  {latency:>3} ms  {cells}", flush=True)


if __name__ == "__main__":
    main()
