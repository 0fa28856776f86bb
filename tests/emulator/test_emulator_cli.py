"""`python -m valohai_cli_lite.emulator`: flags, the printed URL, clean exits."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from emulator_support import (
    Certificate,
    call,
    cli_serving,
    detail_url,
    executions_url,
    make_certificate,
    post_form,
    projects_url,
    start_cli,
)

from valohai_cli_lite.emulator.__main__ import build_config
from valohai_cli_lite.emulator.config import EmulatorConfig
from valohai_cli_lite.emulator.data import project_id

CLI_TOKEN = "cli-token"


def _page(base_url: str, query: str = "") -> dict[str, object]:
    answer = call(projects_url(base_url, query), token=CLI_TOKEN)
    assert answer.status == 200
    page: dict[str, object] = answer.json()
    return page


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_command_line_prints_the_url_serves_and_exits_cleanly(
    stop_signal: signal.Signals,
) -> None:
    proc, line = start_cli(
        "--port", "0", "--token", CLI_TOKEN, "--projects", "7", "--page-size", "3"
    )
    try:
        assert line.endswith("\n")
        base_url = line.strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert not base_url.endswith("/")

        me = call(f"{base_url}/api/v0/users/me/", token=CLI_TOKEN)
        page = call(f"{base_url}/api/v0/projects/?limit=100", token=CLI_TOKEN).json()
        detail = call(detail_url(base_url, project_id(0)), token=CLI_TOKEN).json()
        refusal = post_form(base_url, {"username": "twofa", "password": "x"})
        assert me.status == 200
        assert me.json()["username"] == "demo"
        assert (page["count"], len(page["results"])) == (7, 3)
        assert page["next"].startswith(base_url)
        assert page["results"][0]["owner"] == {"id": 1337, "username": "demo"}
        assert detail["execution_count"] is None
        assert refusal.status == 400
    finally:
        proc.send_signal(stop_signal)
        stdout, stderr = proc.communicate(timeout=20)

    assert proc.returncode == 0
    assert stdout == ""  # the URL was the only line
    assert stderr == ""  # quiet without --verbose, and no traceback


def test_command_line_verbose_logs_requests_to_stderr() -> None:
    proc, line = start_cli("--verbose")
    try:
        call(f"{line.strip()}/api/v0/users/me/", token="emulator-token")
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)

    assert proc.returncode == 0
    assert '"GET /api/v0/users/me/ HTTP/1.1" 200' in stderr
    assert "Traceback" not in stderr


def test_localhost_counts_as_loopback() -> None:
    proc, line = start_cli("--host", "localhost")
    proc.terminate()
    _, stderr = proc.communicate(timeout=20)

    assert line.startswith("http://localhost:")
    assert "warning" not in stderr


# --- the modes, from the command line ----------------------------------------------------


def _detail_counts_filled(base_url: str) -> None:
    detail = call(detail_url(base_url, project_id(0)), token=CLI_TOKEN).json()
    assert detail["execution_count"] == detail["execution_summary"]["count"] > 0


def _legacy_data(base_url: str) -> None:
    first = _page(base_url)["results"][0]  # type: ignore[index]
    assert (first["owner"], first["url"], first["urls"]) == (
        1337,
        f"/api/v0/projects/{project_id(0)}/",
        {},
    )


def _refusal_status(base_url: str) -> None:
    assert post_form(base_url, {"username": "sso", "password": "x"}).status == 403


def _next_alias(base_url: str) -> None:
    port = base_url.rsplit(":", 1)[1]
    assert _page(base_url)["next"] == f"http://localhost:{port}/api/v0/projects/?limit=3&offset=3"


def _bare_envelope(base_url: str) -> None:
    page = _page(base_url, "limit=2")
    assert list(page) == ["results"]
    assert len(page["results"]) == 7  # type: ignore[arg-type]


def _ignore_paging(base_url: str) -> None:
    page = _page(base_url, "limit=2&offset=2")
    assert (page["count"], page["next"], page["previous"]) == (7, None, None)
    assert len(page["results"]) == 7  # type: ignore[arg-type]


def _executions(query: str, base_url: str) -> dict[str, Any]:
    answer = call(executions_url(base_url, query), token=CLI_TOKEN)
    assert answer.status == 200
    page: dict[str, Any] = answer.json()
    return page


def _older_executions(base_url: str) -> None:
    page = _executions(f"project={project_id(2)}", base_url)
    assert page["count"] == 5  # --executions 5
    assert all("creator_id" not in e and "outputs" in e for e in page["results"])
    assert _page(base_url)["results"][2]["execution_count"] == 5  # type: ignore[index]


def _ignore_filters(base_url: str) -> None:
    page = _executions(f"project={project_id(2)}&status=error&ordering=counter", base_url)
    first = call(projects_url(base_url, "limit=1"), token=CLI_TOKEN).json()["results"][0]
    assert page["count"] == first["execution_count"]
    assert {e["project"]["id"] for e in page["results"]} == {project_id(0)}


@pytest.mark.parametrize(
    ("flags", "check"),
    [
        (["--detail-counts", "filled"], _detail_counts_filled),
        (["--legacy-data"], _legacy_data),
        (["--refusal-status", "403"], _refusal_status),
        (["--next-alias"], _next_alias),
        (["--envelope", "bare"], _bare_envelope),
        (["--ignore-paging"], _ignore_paging),
        (["--executions", "5", "--execution-shape", "older"], _older_executions),
        (["--ignore-filters"], _ignore_filters),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else "",
)
def test_mode_flags_take_effect(flags: list[str], check: Callable[[str], None]) -> None:
    with cli_serving("--token", CLI_TOKEN, "--projects", "7", "--page-size", "3", *flags) as url:
        check(url)


def test_tls_flags_serve_https(tmp_path: Path) -> None:
    certificate: Certificate = make_certificate(tmp_path)
    flags = ["--tls-cert", str(certificate.cert), "--tls-key", str(certificate.key)]

    with cli_serving("--token", CLI_TOKEN, *flags) as url:
        assert url.startswith("https://127.0.0.1:")
        me = call(f"{url}/api/v0/users/me/", token=CLI_TOKEN, context=certificate.client_context())
        assert me.status == 200


def test_unusable_tls_files_are_one_line_errors(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")

    for flags in (["--tls-cert", missing], ["--tls-cert", str(garbage)]):
        proc, line = start_cli(*flags)
        _, stderr = proc.communicate(timeout=20)
        assert (proc.returncode, line) == (1, "")
        assert stderr.startswith("error: cannot load the TLS certificate or key:")
        assert len(stderr.splitlines()) == 1


def test_flags_fill_the_config() -> None:
    config = build_config(
        [
            "--detail-counts", "filled", "--legacy-data", "--refusal-status", "401",
            "--next-alias", "--envelope", "bare", "--ignore-paging",
            "--tls-cert", "c.pem", "--tls-key", "k.pem",
            "--executions", "100000", "--execution-shape", "2025", "--ignore-filters",
        ]
    )  # fmt: skip

    assert (config.detail_counts, config.legacy_data, config.refusal_status) == (
        "filled",
        True,
        401,
    )
    assert (config.next_origin_alias, config.envelope, config.ignore_paging) == (
        True,
        "bare",
        True,
    )
    assert (config.tls_cert, config.tls_key) == ("c.pem", "k.pem")
    assert (config.executions, config.execution_shape, config.ignore_filters) == (
        100_000,
        "2025",
        True,
    )
    defaults, plain = EmulatorConfig(), build_config([])
    assert (plain.executions, plain.execution_shape, plain.ignore_filters) == (None, "mixed", False)
    assert (defaults.executions, defaults.execution_shape, defaults.ignore_filters) == (
        None,
        "mixed",
        False,
    )
    assert (plain.detail_counts, plain.legacy_data, plain.refusal_status) == (
        defaults.detail_counts,
        defaults.legacy_data,
        defaults.refusal_status,
    )
    assert (plain.next_origin_alias, plain.envelope, plain.ignore_paging, plain.tls_cert) == (
        False,
        "drf",
        False,
        None,
    )


@pytest.mark.parametrize(
    "flags",
    [
        ["--refusal-status", "500"],
        ["--envelope", "xml"],
        ["--detail-counts", "0"],
        ["--tls-key", "k"],
        ["--executions", "-1"],
        ["--executions", "many"],
        ["--execution-shape", "2019"],
    ],
)
def test_bad_flag_values_are_usage_errors(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_config(flags)

    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err
