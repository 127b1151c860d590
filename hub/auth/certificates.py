"""Client certificates for certificate sign-in: issued by the city's CA, in force, not revoked.

The hub checks a presented certificate itself, whichever way it arrived (its own TLS, or nginx's header from a
trusted proxy), so that every refusal has its code and its words: `certificate_missing`, `certificate_invalid`,
`certificate_unknown_ca`, `certificate_expired`, `certificate_not_yet_valid`, `certificate_revoked`. The
revocation list is read again whenever its file changes (the city's CA publishes a new one; no restart). Which
person a certificate stands for is the directory's business (bindings by SHA-256 fingerprint).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from hub.errors import Unauthorized

log = logging.getLogger(__name__)


def fingerprint(der: bytes) -> str:
    """A certificate's SHA-256 fingerprint, as the directory binds it."""
    return hashlib.sha256(der).hexdigest()


def from_header(value: str) -> bytes | None:
    """The DER of a certificate nginx passed in a header ($ssl_client_escaped_cert: URL-encoded PEM); None if the
    header is empty or is not a certificate."""
    text = unquote(value).strip()
    if not text:
        return None
    try:
        return x509.load_pem_x509_certificate(text.encode()).public_bytes(Encoding.DER)
    except ValueError:
        return None


class ClientCertificates:
    """The city CA's certificates and revocation list; `check` a presented certificate against them."""

    def __init__(self, ca_file: str, crl_file: str = "") -> None:
        self._cas = x509.load_pem_x509_certificates(Path(ca_file).read_bytes()) if ca_file else []
        self._crl_file = Path(crl_file) if crl_file else None
        self._crl: x509.CertificateRevocationList | None = None
        self._crl_stamp: tuple[float, int] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._cas)

    def _revocations(self) -> x509.CertificateRevocationList | None:
        if self._crl_file is None:
            return None
        try:
            stat = self._crl_file.stat()
        except OSError:
            log.error("certificate sign-in: the revocation list %s cannot be read", self._crl_file)
            raise Unauthorized("certificate_revocation_unknown",
                               "the revocation list cannot be read: certificate sign-in is closed") from None
        stamp = (stat.st_mtime, stat.st_size)
        if stamp != self._crl_stamp:
            raw = self._crl_file.read_bytes()
            try:
                self._crl = (x509.load_pem_x509_crl(raw) if raw.lstrip().startswith(b"-----")
                             else x509.load_der_x509_crl(raw))
            except ValueError:
                log.error("certificate sign-in: %s is not a revocation list", self._crl_file)
                raise Unauthorized("certificate_revocation_unknown",
                                   "the revocation list cannot be read: certificate sign-in is closed") from None
            self._crl_stamp = stamp
            log.info("certificate sign-in: revocation list %s read (%d revoked)", self._crl_file, len(self._crl))
        return self._crl

    def check(self, der: bytes | None, now: datetime) -> str:
        """The fingerprint of a certificate the city's CA issued, in force now and not revoked; Unauthorized with
        the reason otherwise."""
        if not der:
            raise Unauthorized("certificate_missing", "no client certificate was presented")
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            raise Unauthorized("certificate_invalid", "the client certificate cannot be read") from None
        issuer = next((ca for ca in self._cas if _issued_by(cert, ca)), None)
        if issuer is None:
            raise Unauthorized("certificate_unknown_ca", "the certificate was not issued by the city's CA")
        if now < cert.not_valid_before_utc:
            raise Unauthorized("certificate_not_yet_valid", "the certificate is not valid yet")
        if now > cert.not_valid_after_utc:
            raise Unauthorized("certificate_expired", "the certificate has expired")
        crl = self._revocations()
        if crl is not None and crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            raise Unauthorized("certificate_revoked", "the certificate has been revoked")
        return fingerprint(der)


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True

