"""client/trust.py, unit and through the command line in-process: the trust store as a hashed
directory OpenSSL loads lazily, exactly the bundle's."""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import certifi
import pytest
from conftest import TEST_TOKEN, InProcessCli
from emulator_support import Certificate

from valohai_cli_lite.client.trust import _PEM, hashed_directory, subject_hash, tls_context
from valohai_cli_lite.emulator.server import Emulator, EmulatorConfig
from valohai_cli_lite.files import UntrustedPath


def test_subject_hashes_are_the_ones_openssl_computes() -> None:
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed (apt-get install openssl); CI installs it")
    blocks = [m.group(0) for m in _PEM.finditer(Path(certifi.where()).read_bytes())]
    assert len(blocks) > 100
    for block in blocks:
        der = base64.b64decode(b"".join(block.split(b"-----")[2].split()))
        command = ["openssl", "x509", "-noout", "-subject_hash"]
        theirs = subprocess.run(command, input=block, capture_output=True, check=True)
        assert subject_hash(der) == theirs.stdout.decode().strip()


def test_the_directory_holds_the_bundle_and_follows_its_changes(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes())
    cache = tmp_path / "cache"
    first = hashed_directory(bundle, cache)
    assert first is not None
    files = [p for p in first.iterdir() if not p.name.startswith(".")]
    assert len(files) == len(list(_PEM.finditer(bundle.read_bytes())))
    assert hashed_directory(bundle, cache) == first  # built once
    blocks = [m.group(0) + b"\n" for m in _PEM.finditer(bundle.read_bytes())]
    bundle.write_bytes(b"".join(blocks[:5]))
    second = hashed_directory(bundle, cache)
    assert second is not None and second != first  # rebuilt for the new contents


def test_a_cache_others_can_write_to_is_refused(tmp_path: Path) -> None:
    # Another user could slip a certificate authority of their own into it.
    cache = tmp_path / "cache"
    built = hashed_directory(Path(certifi.where()), cache)
    assert built is not None
    for changeable in (cache / "ca", built):
        changeable.chmod(0o777)
        with pytest.raises(UntrustedPath, match=f"{changeable}: other users can write to it"):
            tls_context(None, {}, cache)
        changeable.chmod(0o700)
    os.chown(built, 65534, 65534)  # another user's (the tests run as root in CI)
    with pytest.raises(UntrustedPath, match="belongs to another user"):
        tls_context(None, {}, cache)


def test_an_unwritable_cache_falls_back_to_the_bundle(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.write_text("not a directory")
    assert hashed_directory(Path(certifi.where()), cache) is None
    context = tls_context(None, {}, cache)  # the bundle itself: it still verifies
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 100


def test_without_owners_and_modes_to_check_the_bundle_is_loaded_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no os.getuid: a cache directory cannot be shown to be private there."""
    monkeypatch.delattr(os, "getuid")
    assert hashed_directory(Path(certifi.where()), tmp_path) is None
    context = tls_context(None, {}, tmp_path)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 100


def test_https_with_a_private_ca_through_the_environment_and_the_cache(
    cli: InProcessCli, certificate: Certificate
) -> None:
    config = EmulatorConfig(token=TEST_TOKEN, projects=3, tls_cert=str(certificate.cert),
                            tls_key=str(certificate.key))  # fmt: skip
    with Emulator(config) as tls:
        env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": tls.base_url}
        untrusted = cli.run("projects", "list", env=env)
        assert untrusted.returncode == 1 and "does not verify" in untrusted.stderr
        trusted = cli.run("projects", "list", env={**env, "SSL_CERT_FILE": str(certificate.cert)})
        assert trusted.returncode == 0, trusted.stderr
        assert len(trusted.stdout.splitlines()) == 3
    built = list((cli.home / ".cache" / "vh-lite" / "ca").glob("*/.complete"))
    assert len(built) == 2  # certifi's bundle, then the private CA's


def test_a_bundle_with_trusted_certificate_blocks_is_loaded_as_it_is(
    cli: InProcessCli, certificate: Certificate, tmp_path: Path
) -> None:
    """OpenSSL's TRUSTED CERTIFICATE blocks (with trust settings) cannot go into the hashed
    directory; the bundle itself is then loaded, so the trust is the same."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed (apt-get install openssl); CI installs it")
    trusted = subprocess.run(
        ["openssl", "x509", "-in", str(certificate.cert), "-trustout", "-addtrust", "serverAuth"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert b"BEGIN TRUSTED CERTIFICATE" in trusted
    mixed = tmp_path / "mixed.pem"
    mixed.write_bytes(Path(certifi.where()).read_bytes() + trusted)
    assert hashed_directory(mixed, tmp_path / "cache") is None
    config = EmulatorConfig(token=TEST_TOKEN, projects=3, tls_cert=str(certificate.cert),
                            tls_key=str(certificate.key))  # fmt: skip
    with Emulator(config) as tls:
        env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": tls.base_url}
        listed = cli.run("--ca-file", str(mixed), "projects", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        assert len(listed.stdout.splitlines()) == 3


CUT_SHORT = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("content", [None, b"not a certificate\n", CUT_SHORT])
def test_an_unusable_ssl_cert_file_is_one_clear_line(
    cli: InProcessCli, certificate: Certificate, tmp_path: Path, content: bytes | None
) -> None:
    bundle = tmp_path / "bundle.pem"
    if content is not None:
        bundle.write_bytes(content)
    config = EmulatorConfig(token=TEST_TOKEN, projects=3, tls_cert=str(certificate.cert),
                            tls_key=str(certificate.key))  # fmt: skip
    with Emulator(config) as tls:
        env = {"VH_API_TOKEN": TEST_TOKEN, "VH_HOST": tls.base_url, "SSL_CERT_FILE": str(bundle)}
        result = cli.run("projects", "list", env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"vh-lite: error: cannot use the certificates SSL_CERT_FILE "
                                    f"names ({bundle})")  # fmt: skip
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
