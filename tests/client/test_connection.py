"""client/connection.py: which proxy a host is reached through (never one for loopback, where
a plain-http request would hand the proxy the token in clear), and NO_PROXY as users write it."""

from __future__ import annotations

import pytest
from conftest import TEST_TOKEN, InProcessCli
from proxy_support import LoopbackProxy, only_loopback_lookups

from valohai_cli_lite.client.connection import proxy_for
from valohai_cli_lite.emulator.server import Emulator
from valohai_cli_lite.errors import UsageError

PROXY = "http://proxy.example.com:3128"
EVERY_PROXY = {"HTTP_PROXY": PROXY, "HTTPS_PROXY": PROXY, "ALL_PROXY": PROXY}


@pytest.mark.parametrize(
    "host",
    ["http://127.0.0.1:8000", "http://localhost:8000", "https://127.0.0.2", "http://[::1]:8000",
     "https://LOCALHOST"],
)  # fmt: skip
def test_loopback_is_never_proxied(host: str) -> None:
    assert proxy_for(host, EVERY_PROXY) is None


@pytest.mark.parametrize(
    ("host", "no_proxy", "direct"),
    [
        ("https://10.1.2.3", "10.0.0.0/8", True),
        ("https://10.1.2.3", "192.168.0.0/16, 10.0.0.0/8", True),
        ("https://11.1.2.3", "10.0.0.0/8", False),
        ("https://[fd00::5]", "fd00::/8", True),
        ("https://valohai.example.com", "example.com", True),
        ("https://valohai.example.com", ".example.com", True),
        ("https://valohai.example.com", "*.example.com", True),
        ("https://valohai.example.com", "localhost,*.example.com:8443", True),
        ("https://valohai.example.org", "*.example.com", False),
        ("https://valohai.example.com", "example.com:443", True),
        ("https://notexample.com", "example.com", False),
        ("https://valohai.example.com", "*", True),
        ("https://valohai.example.com", "", False),
        ("https://valohai.example.com", "not a cidr/99", False),
    ],
)
def test_no_proxy_as_users_write_it(host: str, no_proxy: str, direct: bool) -> None:
    assert (proxy_for(host, {**EVERY_PROXY, "NO_PROXY": no_proxy}) is None) == direct
    assert (proxy_for(host, {**EVERY_PROXY, "no_proxy": no_proxy}) is None) == direct


def test_the_lower_case_variable_comes_first_and_a_bare_proxy_is_http() -> None:
    environ = {"https_proxy": "squid:3128", "HTTPS_PROXY": PROXY}
    assert proxy_for("https://valohai.example.com", environ) == "http://squid:3128"
    assert proxy_for("http://valohai.example.com", {"ALL_PROXY": PROXY}) == PROXY
    assert proxy_for("https://valohai.example.com", {"HTTP_PROXY": PROXY}) is None


def test_a_socks_proxy_without_its_library_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="needs the socksio package") as refused:
        proxy_for("https://valohai.example.com", {"ALL_PROXY": "socks5://u:secret@proxy:1080"})
    assert "secret" not in refused.value.message + (refused.value.hint or "")


def test_a_token_login_and_a_listing_never_reach_a_proxy_for_loopback(
    cli: InProcessCli, emulator: Emulator
) -> None:
    with LoopbackProxy() as proxy:
        cli.env.update(HTTP_PROXY=proxy.url, HTTPS_PROXY=proxy.url, ALL_PROXY=proxy.url,
                       http_proxy=proxy.url, https_proxy=proxy.url)  # fmt: skip
        for host in (emulator.base_url, f"http://localhost:{emulator.port}"):
            login = cli.login(host, TEST_TOKEN, "--insecure-storage")
            assert login.returncode == 0, login.stderr
            listing = cli.run("projects", "list")
            assert listing.returncode == 0, listing.stderr
            assert len(listing.stdout.splitlines()) == 250
        password = cli.password_login(emulator.base_url, "demo", "demo-password")
        assert password.returncode == 0, password.stderr
        assert proxy.seen == []  # not a request: no header, no token, no password
    assert any(r.headers.get("authorization") for r in emulator.requests)


def test_plain_http_through_a_proxy_needs_the_insecure_flag(
    cli: InProcessCli, emulator: Emulator
) -> None:
    with LoopbackProxy({"valohai.test": "127.0.0.1"}) as proxy, only_loopback_lookups():
        env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": f"http://valohai.test:{emulator.port}",
               "HTTP_PROXY": proxy.url}  # fmt: skip
        refused = cli.run("projects", "list", env=env)
        assert refused.returncode == 2 and "over plain http" in refused.stderr
        assert proxy.seen == []
        allowed = cli.run("--allow-insecure-http", "projects", "list", env=env)
        assert allowed.returncode == 0, allowed.stderr
        assert proxy.seen[0].startswith(f"GET http://valohai.test:{emulator.port}/api/v0/")
