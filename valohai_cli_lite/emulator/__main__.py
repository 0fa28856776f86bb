"""`python -m valohai_cli_lite.emulator`: serve the emulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from valohai_cli_lite.client.hosts import is_loopback_host
from valohai_cli_lite.emulator.config import (
    DETAIL_COUNTS_CHOICES,
    ENVELOPE_CHOICES,
    EXECUTION_SHAPE_CHOICES,
    REFUSAL_STATUS_CHOICES,
)
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig, TLSSetupError
from valohai_cli_lite.errors import StdoutClosed
from valohai_cli_lite.terminal.iostreams import IOStreams


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be at most 65535, not {value}")
    return value


def _faults(text: str) -> list[int | str]:
    faults: list[int | str] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part in ("truncate", "hang"):
            faults.append(part)
        elif part.isdigit() and (int(part) == 0 or 100 <= int(part) <= 599):
            faults.append(int(part))
        else:
            raise argparse.ArgumentTypeError(f"not a status code, 'truncate' or 'hang': {part}")
    return faults


def build_parser() -> argparse.ArgumentParser:
    defaults = EmulatorConfig()
    parser = argparse.ArgumentParser(
        prog="python -m valohai_cli_lite.emulator",
        description="Serve a fake Valohai REST API (v0) on loopback for offline testing. "
        "Prints the base URL as the only line on stdout.",
    )
    parser.add_argument(
        "--host", default=defaults.host, help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=defaults.port,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--token",
        default=defaults.token,
        help="the API token the server accepts (default: %(default)s)",
    )
    parser.add_argument(
        "--projects",
        type=_non_negative_int,
        default=defaults.projects,
        help="how many projects exist (default: %(default)s)",
    )
    parser.add_argument(
        "--executions",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help="how many executions every project has (default: each project's own execution_count)",
    )
    parser.add_argument(
        "--execution-shape",
        choices=EXECUTION_SHAPE_CHOICES,
        default=defaults.execution_shape,
        help="serve executions in the older shape (valohai-cli's fixtures), the 2025 shape, or "
        "both alternating by counter (default: %(default)s)",
    )
    parser.add_argument(
        "--ignore-filters",
        action="store_true",
        help="ignore the execution list's project/status/creator/ordering filters as minihai "
        "does: every request gets the first project's executions, newest first",
    )
    parser.add_argument(
        "--page-size",
        type=_positive_int,
        default=defaults.page_size,
        help="page size without `limit`, and the cap on `limit` (default: %(default)s)",
    )
    parser.add_argument(
        "--max-limit",
        type=_positive_int,
        default=None,
        help="cap on `limit` when it should differ from --page-size",
    )
    parser.add_argument(
        "--latency-ms",
        type=_non_negative_int,
        default=defaults.latency_ms,
        help="delay before answering each request (default: %(default)s)",
    )
    parser.add_argument(
        "--max-in-flight",
        type=_positive_int,
        default=None,
        metavar="N",
        help="act as a gateway that allows N requests in flight per client: one more is "
        "answered at once with 429 and Retry-After: 1 (default: no limit)",
    )
    parser.add_argument(
        "--fail-next",
        type=_faults,
        default=[],
        metavar="LIST",
        help="comma-separated faults for the next requests, one each: an HTTP status "
        "(502/503/504 come as HTML, 429 with Retry-After), 'truncate' (200 with half a JSON "
        "body), 'hang' (never answer), or 0 (answer normally)",
    )
    parser.add_argument(
        "--foreign-next",
        metavar="ORIGIN",
        default=None,
        help="point `next` links at this origin instead, like a hostile server",
    )
    parser.add_argument(
        "--next-alias",
        action="store_true",
        help="build `next`/`previous` with another name for this server (127.0.0.1 <-> "
        "localhost, same port), like a self-hosted install that gets its own host wrong",
    )
    parser.add_argument(
        "--envelope",
        choices=ENVELOPE_CHOICES,
        default=defaults.envelope,
        help="'drf': paged {count, next, previous, results}; 'bare': {results} with every "
        "entry in one answer, like a client's test double (default: %(default)s)",
    )
    parser.add_argument(
        "--ignore-paging",
        action="store_true",
        help="ignore limit/offset: one page with every entry, next/previous null",
    )
    parser.add_argument(
        "--detail-counts",
        choices=DETAIL_COUNTS_CHOICES,
        default=defaults.detail_counts,
        help="the per-project counters in projects/{id}/: 'null' as in Valohai's published "
        "sample, or 'filled' with numbers (default: %(default)s)",
    )
    parser.add_argument(
        "--legacy-data",
        action="store_true",
        help="serve projects as older data has them: owner a bare id, relative url, empty urls",
    )
    parser.add_argument(
        "--relative-urls",
        action="store_true",
        help="serve url and urls.display relative to the host (/p/demo/project-0001/)",
    )
    parser.add_argument(
        "--refusal-status",
        type=int,
        choices=REFUSAL_STATUS_CHOICES,
        default=defaults.refusal_status,
        help="HTTP status of get-token's has_2fa/has_external_identity answer "
        "(default: %(default)s; the real one is not known)",
    )
    parser.add_argument(
        "--tls-cert",
        metavar="PEM",
        default=None,
        help="serve HTTPS with this certificate chain (PEM)",
    )
    parser.add_argument(
        "--tls-key",
        metavar="PEM",
        default=None,
        help="the private key for --tls-cert (PEM), unless it is in the certificate file",
    )
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    parser.add_argument(
        "--stats",
        action="store_true",
        help="on stopping, print 'requests=M throttled=N peak_in_flight=K' to stderr",
    )
    return parser


def build_config(argv: Sequence[str] | None = None) -> EmulatorConfig:
    return _parse(argv)[0]


def _parse(argv: Sequence[str] | None) -> tuple[EmulatorConfig, bool]:
    """The config the flags describe, and whether --stats was given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.tls_key and not args.tls_cert:
        parser.error("--tls-key needs --tls-cert")
    config = EmulatorConfig(
        record_requests=False,  # a long-running emulator must not grow without bound
        token=args.token,
        projects=args.projects,
        executions=args.executions,
        execution_shape=args.execution_shape,
        ignore_filters=args.ignore_filters,
        page_size=args.page_size,
        max_limit=args.max_limit,
        latency_ms=args.latency_ms,
        max_in_flight=args.max_in_flight,
        host=args.host,
        port=args.port,
        verbose=args.verbose,
        fail_next=args.fail_next,
        foreign_next=args.foreign_next,
        next_origin_alias=args.next_alias,
        envelope=args.envelope,
        ignore_paging=args.ignore_paging,
        detail_counts=args.detail_counts,
        legacy_data=args.legacy_data,
        relative_urls=args.relative_urls,
        refusal_status=args.refusal_status,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    return config, args.stats


def main(argv: Sequence[str] | None = None) -> int:
    config, print_stats = _parse(argv)
    io = IOStreams.system()
    if not is_loopback_host(config.host):
        io.message(f"warning: listening on {config.host}, reachable beyond this machine")

    stopping = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stopping.set()

    # Handlers go in before the URL is printed, so a supervisor that signals as soon as it has
    # read the URL always gets a clean exit.
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        emulator = Emulator(config).start()
    except TLSSetupError as exc:
        io.message(f"error: {exc}")
        return 1
    except OSError as exc:
        io.message(f"error: cannot listen on {config.host}:{config.port}: {exc}")
        return 1
    try:
        io.write_line(emulator.base_url)
        # A timed wait keeps the main thread returning to Python, where signal handlers run.
        while not stopping.wait(0.5):
            pass
    except (BrokenPipeError, StdoutClosed):
        pass  # whoever read the URL went away; nothing left to tell them
    finally:
        emulator.stop()
        if print_stats:
            io.message(emulator.stats().line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
