"""The private CA and server certificate of the fal (HTTPS) listener, kept in ``data_dir``.

``ca.pem`` is what clients trust (``SSL_CERT_FILE=<data_dir>/ca.pem``); ``server-cert.pem``
(the leaf, then the CA) and ``server-key.pem`` (mode 0600) are what the listener serves.
The leaf names ``IP:127.0.0.1`` and ``DNS:localhost`` (plus the host of
``fal_public_base_url`` when it is another one, e.g. a compose service name). All three are made once with
``trustme`` and reused, so a client that trusts ``ca.pem`` keeps trusting the sandbox across
restarts. The CA's own key is never written: when a file is missing or unreadable, all
three are made anew (and clients must trust the new ``ca.pem``).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
import trustme
from cryptography import x509

from reelhouse.sandbox.persistence import write_atomically

log = structlog.get_logger(__name__)

CA_FILE = "ca.pem"
CERT_FILE = "server-cert.pem"
KEY_FILE = "server-key.pem"
IDENTITIES = ("127.0.0.1", "localhost")
PUBLIC_MODE = 0o644
PRIVATE_MODE = 0o600


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path

    @classmethod
    def under(cls, data_dir: Path) -> TlsFiles:
        return cls(ca=data_dir / CA_FILE, cert=data_dir / CERT_FILE, key=data_dir / KEY_FILE)

    def usable(self, now: datetime.datetime, identities: Sequence[str]) -> bool:
        """All three present, the certificates readable, still valid, naming ``identities``."""
        try:
            if not self.key.read_bytes().strip():
                return False
            certificates = [
                x509.load_pem_x509_certificate(path.read_bytes()) for path in (self.ca, self.cert)
            ]
            names = (
                certificates[1]
                .extensions.get_extension_for_class(x509.SubjectAlternativeName)
                .value
            )
        except (OSError, ValueError, x509.ExtensionNotFound):
            return False
        named = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
        named |= set(names.get_values_for_type(x509.DNSName))
        if not all(_canonical(identity) in named for identity in identities):
            return False
        return all(cert.not_valid_after_utc > now for cert in certificates)


def _canonical(identity: str) -> str:
    try:
        return str(ipaddress.ip_address(identity))
    except ValueError:
        return identity.lower()


def identities_for(public_host: str | None) -> tuple[str, ...]:
    """The names the certificate must carry: the loopback ones and the public host."""
    extra = () if not public_host or public_host in IDENTITIES else (public_host,)
    return (*IDENTITIES, *extra)


def load_or_create_tls(data_dir: Path, public_host: str | None = None) -> TlsFiles:
    files = TlsFiles.under(data_dir)
    identities = identities_for(public_host)
    if files.usable(datetime.datetime.now(datetime.UTC), identities):
        if os.stat(files.key).st_mode & 0o077:
            os.chmod(files.key, PRIVATE_MODE)
        return files
    data_dir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="reelhouse sandbox")
    leaf = ca.issue_cert(*identities, common_name="reelhouse sandbox (fal)")
    write_atomically(files.key, leaf.private_key_pem.bytes())
    write_atomically(files.cert, b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    write_atomically(files.ca, ca.cert_pem.bytes())
    os.chmod(files.cert, PUBLIC_MODE)
    os.chmod(files.ca, PUBLIC_MODE)
    log.info("tls.created", ca=str(files.ca), identities=list(identities))
    return files
