"""A certificate authority of the sandbox's own, and a server certificate it signs.

Clients trust `ca.pem` the way a company trusts its own CA; the server presents
`server.pem` with `server-key.pem`. The files are written once into a directory (beside
the sandbox's state) and reused on every later start, so a client's trust survives
restarts. A server certificate that no longer covers the wanted host names, or expires
within a day, is issued anew from the same CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
CA_FILE, CA_KEY_FILE = "ca.pem", "ca-key.pem"
SERVER_FILE, SERVER_KEY_FILE = "server.pem", "server-key.pem"
_CA_LIFETIME = dt.timedelta(days=3650)
_SERVER_LIFETIME = dt.timedelta(days=825)  # the longest lifetime TLS clients accept
_RENEW_BEFORE = dt.timedelta(days=1)


@dataclass(frozen=True)
class TlsFiles:
    """Where the CA and the server certificate are; pass `certfile`/`keyfile` to uvicorn."""

    ca_file: Path
    certfile: Path
    keyfile: Path


def ensure_tls_files(directory: str | Path, extra_hosts: tuple[str, ...] = ()) -> TlsFiles:
    """Create (or reuse) the CA and a server certificate for localhost and `extra_hosts`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    hosts = tuple(dict.fromkeys(DEFAULT_HOSTS + extra_hosts))
    files = TlsFiles(directory / CA_FILE, directory / SERVER_FILE, directory / SERVER_KEY_FILE)
    ca_key_file = directory / CA_KEY_FILE
    if files.ca_file.exists() and ca_key_file.exists():
        ca_cert = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey), "the sandbox writes EC keys only"
    else:
        ca_cert, ca_key = _new_ca()
        _write_key(ca_key_file, ca_key)
        files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    if not _server_cert_fits(files, ca_cert, hosts):
        server_cert, server_key = _new_server_cert(ca_cert, ca_key, hosts)
        _write_key(files.keyfile, server_key)
        files.certfile.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    return files


def _new_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "esExchange sandbox CA")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _new_server_cert(
    ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, hosts: tuple[str, ...]
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + _SERVER_LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _server_cert_fits(files: TlsFiles, ca_cert: x509.Certificate, hosts: tuple[str, ...]) -> bool:
    if not (files.certfile.exists() and files.keyfile.exists()):
        return False
    cert = x509.load_pem_x509_certificate(files.certfile.read_bytes())
    if cert.issuer != ca_cert.subject or cert.not_valid_after_utc - _now() < _RENEW_BEFORE:
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return all(_san(h) in names for h in hosts)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Only the owner may read a private key.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
