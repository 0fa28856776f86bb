"""The TLS trust store as a hashed directory, which OpenSSL loads lazily (docs/performance.md).
The trust is exactly the bundle's: the same certificates, the same verification (hostname
checked, CERT_REQUIRED). Anything unexpected (an unwritable cache, a bundle that cannot be
split) falls back to loading the bundle itself, never to less verification; a cache another
user could change is refused."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..files import UntrustedPath, check_trusted, ensure_private_dir, write_new_private_file

if TYPE_CHECKING:
    import ssl

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\s+(.+?)\s+-----END CERTIFICATE-----", re.DOTALL)
# The ASN.1 string types OpenSSL canonicalises before hashing a name (ASN1_MASK_CANON): UTF8,
# Printable, T61, IA5, Universal, BMP and VisibleString. Anything else is hashed as it is.
_CANONICAL_STRINGS = {0x0C: "utf-8", 0x13: "latin-1", 0x14: "latin-1", 0x16: "latin-1",
                      0x1C: "utf-32-be", 0x1E: "utf-16-be", 0x1A: "latin-1"}  # fmt: skip


# Heeded in this order after --ca-file (VH_CA_FILE): OpenSSL's own, then those of requests
# (which `vh` uses) and curl, which corporate machines often set instead.
TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def trust_source(ca_file: str | None, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """(where the trust comes from, the file or directory it names, or None for certifi's)."""
    if ca_file:
        return "--ca-file", ca_file
    for variable in TRUST_VARIABLES:
        if environ.get(variable):
            return variable, environ[variable]
    return "certifi", None


def tls_context(ca_file: str | None, environ: Mapping[str, str], cache: Path) -> ssl.SSLContext:
    import ssl

    kind, named = trust_source(ca_file, environ)
    if kind == "SSL_CERT_DIR" or (named and Path(named).is_dir()):
        return ssl.create_default_context(capath=named)
    if named is None:
        import certifi  # httpx's own dependency, and its default trust

        named = certifi.where()
    directory = hashed_directory(Path(named), cache)
    if directory is None:
        return ssl.create_default_context(cafile=named)
    return ssl.create_default_context(capath=str(directory))


def hashed_directory(bundle: Path, cache: Path) -> Path | None:
    """Built if missing; None when it cannot be had safely (the caller loads the bundle)."""
    if not hasattr(os, "getuid"):
        return None  # Windows guards directories with ACLs, which check_trusted cannot check
    try:
        stat = bundle.stat()
    except OSError:
        return None  # let ssl report the missing file in its own words
    key = hashlib.sha256(
        f"{bundle.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}".encode()
    ).hexdigest()[:24]
    directory = cache / "ca" / key
    try:
        # Ours alone, or refused (UntrustedPath): a directory others could write to could
        # slip in a certificate authority.
        ensure_private_dir(cache / "ca")
        if (directory / ".complete").exists():
            check_trusted(directory)
            return directory
        return _build(bundle.read_bytes(), cache / "ca", directory)
    except UntrustedPath:
        raise
    except (ConfigError, OSError, ValueError, IndexError):  # IndexError: a bad certificate
        return None


def _build(pem: bytes, parent: Path, directory: Path) -> Path | None:
    import ssl
    import tempfile

    certificates = [base64.b64decode(b"".join(m.group(1).split())) for m in _PEM.finditer(pem)]
    if not certificates:
        raise ValueError("no certificates in the bundle")
    if len(certificates) != pem.count(b"-----BEGIN "):
        # Blocks the directory cannot carry (TRUSTED CERTIFICATE with its trust settings, a
        # CRL): only OpenSSL reading the bundle itself gives the same trust.
        raise ValueError("blocks other than plain certificates in the bundle")
    names = [subject_hash(der) for der in certificates]  # before anything is written
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=parent))  # new, ours alone
    os.chmod(building, 0o700)  # what mkdtemp asked for, before the umask took its share
    for i, (name, der) in enumerate(zip(names, certificates, strict=True)):
        pem_text = ssl.DER_cert_to_PEM_cert(der).encode("ascii")
        write_new_private_file(building / f"{name}.{names[:i].count(name)}", pem_text)
    write_new_private_file(building / ".complete", b"")
    try:
        os.rename(building, directory)
    except OSError:  # another run built it meanwhile: use theirs
        import shutil

        shutil.rmtree(building, ignore_errors=True)
    return directory if (directory / ".complete").exists() else None


def subject_hash(certificate: bytes) -> str:
    """What `openssl x509 -subject_hash` prints (X509_NAME_hash_ex): the first four bytes of
    SHA-1 over the canonical encoding of the subject name, little-endian, as 8 hex digits."""
    digest = hashlib.sha1(_canonical_name(_subject(certificate))).digest()  # noqa: S324 (OpenSSL's own scheme, not security)
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def _elements(der: bytes) -> list[tuple[int, bytes]]:
    found = []
    at = 0
    while at < len(der):
        tag, length = der[at], der[at + 1]
        at += 2
        if length & 0x80:
            size = length & 0x7F
            length = int.from_bytes(der[at : at + size], "big")
            at += size
        if at + length > len(der):
            raise ValueError("truncated DER")
        found.append((tag, der[at : at + length]))
        at += length
    return found


def _subject(certificate: bytes) -> bytes:
    _, content = _elements(certificate)[0]  # Certificate ::= SEQUENCE
    _, tbs = _elements(content)[0]  # TBSCertificate ::= SEQUENCE
    fields = _elements(tbs)  # [0] EXPLICIT version (but in v1), serialNumber, signature,
    tag, subject = fields[5 if fields[0][0] == 0xA0 else 4]  # issuer, validity, subject
    if tag != 0x30:
        raise ValueError("not a certificate subject")
    return subject


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def _canonical_value(tag: int, value: bytes) -> bytes:
    encoding = _CANONICAL_STRINGS.get(tag)
    if encoding is None:
        return _der(tag, value)
    # As OpenSSL does: ASCII letters lower-cased; whitespace (its six ASCII characters, as
    # bytes.split's) trimmed and each run of it made one space; other bytes kept.
    text = value.decode(encoding).encode("utf-8")
    return _der(0x0C, b" ".join(text.split()).lower())


def _canonical_name(name: bytes) -> bytes:
    """Each RDN as a SET of canonical entries, concatenated (no outer SEQUENCE)."""
    canonical = b""
    for tag, rdn in _elements(name):
        if tag != 0x31:
            raise ValueError("not a relative distinguished name")
        entries = []
        for _, entry in _elements(rdn):
            (oid_tag, oid), (value_tag, value) = _elements(entry)
            entries.append(_der(0x30, _der(oid_tag, oid) + _canonical_value(value_tag, value)))
        canonical += _der(0x31, b"".join(sorted(entries)))
    return canonical
