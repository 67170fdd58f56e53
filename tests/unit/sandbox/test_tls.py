"""The fal listener's private CA and certificate: made once, reused, key kept private."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

from cryptography import x509

from reelhouse.sandbox.tls import load_or_create_tls


def test_certificate_names_the_loopback_ip_and_localhost(tmp_path: Path) -> None:
    files = load_or_create_tls(tmp_path)
    leaf = x509.load_pem_x509_certificates(files.cert.read_bytes())[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    # a client that trusts ca.pem accepts the served chain
    context = ssl.create_default_context(cafile=str(files.ca))
    assert context.cert_store_stats()["x509_ca"] == 1
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.ca.stat().st_mode) == 0o644


def test_files_are_made_once(tmp_path: Path) -> None:
    first = load_or_create_tls(tmp_path)
    ca = first.ca.read_bytes()
    again = load_or_create_tls(tmp_path)
    assert again.ca.read_bytes() == ca


def test_a_missing_key_makes_everything_anew(tmp_path: Path) -> None:
    first = load_or_create_tls(tmp_path)
    ca = first.ca.read_bytes()
    first.key.unlink()
    again = load_or_create_tls(tmp_path)
    assert again.key.exists()
    assert again.ca.read_bytes() != ca


def test_a_public_host_is_named_too_and_a_new_name_reissues(tmp_path: Path) -> None:
    first = load_or_create_tls(tmp_path)
    ca = first.ca.read_bytes()
    again = load_or_create_tls(tmp_path, "sandbox")
    leaf = x509.load_pem_x509_certificates(again.cert.read_bytes())[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "sandbox" in names.get_values_for_type(x509.DNSName)
    assert again.ca.read_bytes() != ca
    assert load_or_create_tls(tmp_path, "127.0.0.1").ca.read_bytes() == again.ca.read_bytes()
