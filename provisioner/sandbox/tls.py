"""Throwaway TLS material for the local sandbox.
Sandbox: the emulator's certificate authority and certificate.

The Auth0 emulator must speak HTTPS: ``auth0-python`` builds every URL as
``https://{domain}/...`` and there is no switch to plain HTTP. This module makes
a private certificate authority and a server certificate for the loopback
address (``subjectAltName`` = IP 127.0.0.1 and DNS localhost), writes the CA
certificate as ``ca.pem`` so that clients can trust it, and returns the
``ssl.SSLContext`` the server wraps its socket with.

Nothing here touches the system trust store. The certificates come from
trustme: elliptic-curve keys (fast to generate), the CA constrained to
``pathlen=0``, and the subject/authority key identifiers and key usages that
OpenSSL's strict X.509 checking (Python 3.13's default) requires.

If the directory already holds a CA and server certificate that are still
valid for at least a day, they are reused, so a sandbox restarted over the same
state directory keeps the CA a user has already pointed ``SSL_CERT_FILE`` at.
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

CA_FILE = "ca.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server-key.pem"

_VALIDITY = dt.timedelta(days=30)
_MIN_REMAINING = dt.timedelta(days=1)


@dataclass(frozen=True)
class TLSMaterial:
    """Paths of the generated CA certificate, server certificate and key."""

    directory: Path
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """An ``SSLContext`` for the server side (TLS 1.2+, our certificate)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(certfile=str(self.cert_file), keyfile=str(self.key_file))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """An ``SSLContext`` for clients that trusts only this sandbox CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def ensure_tls_material(directory: str | os.PathLike[str]) -> TLSMaterial:
    """Create (or reuse) a CA and a loopback server certificate in ``directory``.

    Writes ``ca.pem`` (the certificate clients must trust), ``server.pem`` (the
    server certificate followed by the CA, i.e. the full chain) and
    ``server-key.pem`` (mode 0600).
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    material = TLSMaterial(
        directory=folder,
        ca_file=folder / CA_FILE,
        cert_file=folder / CERT_FILE,
        key_file=folder / KEY_FILE,
    )
    if _reusable(material):
        return material
    _generate(material)
    return material


def make_server_context(directory: str | os.PathLike[str]) -> tuple[ssl.SSLContext, Path]:
    """Convenience wrapper: ensure material in ``directory``; return (server context, ca.pem)."""
    material = ensure_tls_material(directory)
    return material.server_context(), material.ca_file


def _reusable(material: TLSMaterial) -> bool:
    paths = (material.ca_file, material.cert_file, material.key_file)
    if not all(p.is_file() for p in paths):
        return False
    try:
        certs = x509.load_pem_x509_certificates(material.cert_file.read_bytes())
        ca = x509.load_pem_x509_certificate(material.ca_file.read_bytes())
    except ValueError:
        return False
    horizon = dt.datetime.now(dt.UTC) + _MIN_REMAINING
    if not certs or any(c.not_valid_after_utc < horizon for c in [*certs, ca]):
        return False
    return certs[0].issuer == ca.subject


def _generate(material: TLSMaterial) -> None:
    # trustme (python-trio/trustme) makes test CAs and leaf certificates with the extensions strict
    # X.509 checking wants (key usages, subject and authority key identifiers); the CA here may sign
    # leaves only (path length 0) and the server certificate lives for _VALIDITY.
    import trustme

    now = dt.datetime.now(dt.UTC)
    ca = trustme.CA(path_length=0, organization_name="hookctl sandbox", key_type=trustme.KeyType.ECDSA)
    leaf = ca.issue_cert(
        "localhost",
        "127.0.0.1",
        common_name="localhost",
        not_before=now - dt.timedelta(minutes=5),
        not_after=now + _VALIDITY,
        key_type=trustme.KeyType.ECDSA,
    )
    ca_pem = ca.cert_pem.bytes()
    _write(material.key_file, leaf.private_key_pem.bytes(), mode=0o600)
    _write(material.cert_file, b"".join(blob.bytes() for blob in leaf.cert_chain_pems) + ca_pem, mode=0o644)
    _write(material.ca_file, ca_pem, mode=0o644)


def _write(path: Path, data: bytes, *, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
