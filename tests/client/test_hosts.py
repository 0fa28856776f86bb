"""client/hosts.py, unit: normalising what a user types as a host, the API URL under a path
prefix, same origin, loopback."""

from __future__ import annotations

import pytest

from valohai_cli_lite.client.hosts import api_url, is_loopback, normalize_host, same_origin
from valohai_cli_lite.errors import UsageError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://app.valohai.com", "https://app.valohai.com"),
        ("https://app.valohai.com/", "https://app.valohai.com"),
        ("HTTPS://App.Valohai.COM", "https://app.valohai.com"),
        ("valohai.example.com", "https://valohai.example.com"),
        ("https://example.com/valohai/", "https://example.com/valohai"),
        ("https://example.com/valohai/api/v0/", "https://example.com/valohai"),
        ("https://app.valohai.com/auth/tokens/", "https://app.valohai.com"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("  http://[::1]:8000/ ", "http://[::1]:8000"),
    ],
)
def test_normalize_host(raw: str, expected: str) -> None:
    assert normalize_host(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "ftp://x", "https://", "https://x?y=1", "https://u:p@x", "https://x:99999"]
)
def test_normalize_host_rejects(raw: str) -> None:
    with pytest.raises(UsageError):
        normalize_host(raw)


def test_api_url_keeps_the_prefix() -> None:
    assert api_url("https://e.com/vh", "projects/") == "https://e.com/vh/api/v0/projects/"


def test_same_origin_compares_scheme_host_and_port() -> None:
    assert same_origin("https://a.com/x", "https://A.com:443/y")
    assert not same_origin("https://a.com", "http://a.com")
    assert not same_origin("https://a.com", "http://a.com:443")  # the same port, not TLS
    assert same_origin("http://a.com", "http://a.com:80")
    assert not same_origin("http://a.com", "http://a.com:443")
    assert not same_origin("https://a.com", "https://a.com:8443")
    assert not same_origin("https://a.com", "https://a.com.evil.net")


def test_is_loopback() -> None:
    assert is_loopback("http://127.0.0.1:1") and is_loopback("http://127.9.9.9")
    assert is_loopback("http://[::1]:8") and is_loopback("http://localhost:8")
    assert not is_loopback("http://10.0.0.1") and not is_loopback("https://app.valohai.com")
