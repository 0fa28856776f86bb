"""The gateway in front of the emulated API: requests in flight per client, and a cap on them.

Like an API gateway that allows N requests in flight per client, a request that arrives while
that client already has N being served is answered at once with a 429 (see
`EmulatorConfig.max_in_flight`). The counts are kept whether or not there is a cap, so a
benchmark can tell how many requests a client really had in flight.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class GatewayStats:
    """What the gateway saw since the emulator started."""

    requests: int  # every request received, throttled ones included
    throttled: int  # answered 429 because the client already had max_in_flight in flight
    peak_in_flight: int  # the most requests one client had in flight at once

    def line(self) -> str:
        """`requests=M throttled=N peak_in_flight=K`, as `--stats` prints it."""
        return (
            f"requests={self.requests} throttled={self.throttled} "
            f"peak_in_flight={self.peak_in_flight}"
        )


class Gateway:
    """Counts each client's requests in flight; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._requests = 0
        self._throttled = 0
        self._peak = 0

    def admit(self, client: str, max_in_flight: int | None) -> bool:
        """Let a request from `client` through (True), or turn it away (False, counted).

        Every admitted request must be `release`d once its answer is ready.
        """
        with self._lock:
            self._requests += 1
            current = self._in_flight.get(client, 0)
            if max_in_flight is not None and current >= max_in_flight:
                self._throttled += 1
                return False
            self._in_flight[client] = current + 1
            self._peak = max(self._peak, current + 1)
            return True

    def release(self, client: str) -> None:
        with self._lock:
            left = self._in_flight.get(client, 0) - 1
            if left > 0:
                self._in_flight[client] = left
            else:
                self._in_flight.pop(client, None)

    @property
    def throttled(self) -> int:
        with self._lock:
            return self._throttled

    def stats(self) -> GatewayStats:
        with self._lock:
            return GatewayStats(self._requests, self._throttled, self._peak)
