"""TLS: the target's certificate chain, its hostname and the days left before it expires.

``check_tls`` makes one verifying handshake (the system's CAs, plus ``ca_file``); when the
chain does not verify it makes a second, non-verifying one to still read the certificate.
The certificate itself is read from its DER form by ``parse_certificate``, a small reader of
the few X.509 fields needed here, so expiry and hostname are judged the same way whether or
not the chain verifies, against a clock the caller injects.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pytest_deploycheck.core.bounds import describe_error
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.units import format_duration

__all__ = [
    "DEFAULTS",
    "Certificate",
    "Handshake",
    "check_tls",
    "evaluate_certificate",
    "fetch_certificate",
    "hostname_matches",
    "parse_certificate",
]

# The defaults of the tls section (schemas/sections/tls.json).
DEFAULTS: dict[str, Any] = {
    "min_days": 14,
    "warn_days": 30,
    "check_hostname": True,
    "verify_chain": True,
}
# OpenSSL's codes for a certificate outside its validity period: the expiry check says more.
_VALIDITY_CODES = frozenset({9, 10})
_OID_NAMES = {
    b"\x55\x04\x03": "CN",
    b"\x55\x04\x0a": "O",
    b"\x55\x04\x0b": "OU",
    b"\x55\x04\x06": "C",
}
_OID_SUBJECT_ALT_NAME = b"\x55\x1d\x11"


@dataclass(frozen=True, slots=True)
class Certificate:
    """The fields of an X.509 certificate that the TLS check judges."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()

    @property
    def common_name(self) -> str | None:
        for part in self.subject.split(", "):
            if part.startswith("CN="):
                return part[3:]
        return None

    @property
    def names(self) -> list[str]:
        """Every name the certificate is valid for, as ``DNS:x`` and ``IP:y``."""
        return [f"DNS:{n}" for n in self.dns_names] + [f"IP:{a}" for a in self.ip_addresses]


# -- DER ---------------------------------------------------------------------------------------


def _element(data: bytes, offset: int, end: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``offset``."""
    if offset + 2 > end:
        raise ValueError("truncated DER element")
    tag, first = data[offset], data[offset + 1]
    start = offset + 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or start + count > end:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    else:
        length = first
    if start + length > end:
        raise ValueError("DER element runs past its parent")
    return tag, start, start + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    children = []
    while start < end:
        child = _element(data, start, end)
        children.append(child)
        start = child[2]
    return children


def _expect(child: tuple[int, int, int], tag: int, what: str) -> tuple[int, int, int]:
    if child[0] != tag:
        raise ValueError(f"expected {what} (tag {tag:#04x}), found tag {child[0]:#04x}")
    return child


def parse_certificate(der: bytes) -> Certificate:
    """Read subject, issuer, validity and subjectAltName from a DER certificate.

    Raises ValueError when ``der`` is not a certificate this reader understands.
    """
    try:
        return _parse_certificate(der)
    except IndexError:
        # A structure with fewer elements than X.509 requires.
        raise ValueError("not an X.509 certificate: an element is missing") from None


def _parse_certificate(der: bytes) -> Certificate:
    _, start, end = _expect(_element(der, 0, len(der)), 0x30, "a certificate")
    tbs = _expect(_children(der, start, end)[0], 0x30, "the to-be-signed certificate")
    fields = _children(der, tbs[1], tbs[2])
    if fields and fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    if len(fields) < 6:
        raise ValueError("the certificate has too few fields")
    issuer = _name(der, _expect(fields[2], 0x30, "the issuer"))
    validity = _children(der, *_expect(fields[3], 0x30, "the validity")[1:])
    if len(validity) != 2:
        raise ValueError("the validity holds two times")
    subject = _name(der, _expect(fields[4], 0x30, "the subject"))
    dns_names: list[str] = []
    ip_addresses: list[str] = []
    for wrapper in (f for f in fields[6:] if f[0] == 0xA3):  # [3] extensions
        inner = _children(der, wrapper[1], wrapper[2])
        extensions = _expect(inner[0], 0x30, "the extensions") if inner else wrapper
        for extension in _children(der, extensions[1], extensions[2]):
            parts = _children(der, extension[1], extension[2])
            if parts and der[parts[0][1] : parts[0][2]] == _OID_SUBJECT_ALT_NAME:
                value = _expect(parts[-1], 0x04, "an extension value")
                _alt_names(der, value, dns_names, ip_addresses)
    return Certificate(
        subject=subject,
        issuer=issuer,
        not_before=_time(der, validity[0]),
        not_after=_time(der, validity[1]),
        dns_names=tuple(dns_names),
        ip_addresses=tuple(ip_addresses),
    )


def _name(der: bytes, name: tuple[int, int, int]) -> str:
    parts = []
    for rdn in _children(der, name[1], name[2]):
        for attribute in _children(der, rdn[1], rdn[2]):
            oid, value = _children(der, attribute[1], attribute[2])[:2]
            short = _OID_NAMES.get(der[oid[1] : oid[2]])
            if short is not None:
                raw = der[value[1] : value[2]]
                text = raw.decode("utf-16-be" if value[0] == 0x1E else "utf-8", errors="replace")
                parts.append(f"{short}={text}")
    return ", ".join(parts)


def _time(der: bytes, element: tuple[int, int, int]) -> datetime:
    text = der[element[1] : element[2]].decode("ascii", errors="replace")
    try:
        if element[0] == 0x17:  # UTCTime: two-digit years, 1950 to 2049
            moment = datetime.strptime(text, "%y%m%d%H%M%SZ")
            if moment.year >= 2050:
                moment = moment.replace(year=moment.year - 100)
        elif element[0] == 0x18:
            moment = datetime.strptime(text, "%Y%m%d%H%M%SZ")
        else:
            raise ValueError(f"unknown time tag {element[0]:#04x}")
    except ValueError as exc:
        raise ValueError(f"unreadable certificate time {text!r}: {exc}") from None
    return moment.replace(tzinfo=UTC)


def _alt_names(
    der: bytes, value: tuple[int, int, int], dns_names: list[str], ip_addresses: list[str]
) -> None:
    names = _expect(_element(der, value[1], value[2]), 0x30, "the subjectAltName list")
    for tag, start, end in _children(der, names[1], names[2]):
        if tag == 0x82:
            dns_names.append(der[start:end].decode("ascii", errors="replace"))
        elif tag == 0x87 and end - start in (4, 16):
            ip_addresses.append(str(ipaddress.ip_address(der[start:end])))


# -- judging -----------------------------------------------------------------------------------


def hostname_matches(certificate: Certificate, hostname: str) -> bool:
    """Whether ``certificate`` is valid for ``hostname`` (RFC 6125, left-most wildcard only).

    An IP address matches only an IP subjectAltName; the common name counts only when the
    certificate has no subjectAltName at all, as in OpenSSL.
    """
    try:
        address = ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return any(ipaddress.ip_address(ip) == address for ip in certificate.ip_addresses)
    names = list(certificate.dns_names)
    if not names and not certificate.ip_addresses and certificate.common_name:
        names = [certificate.common_name]
    host = hostname.rstrip(".").lower()
    return any(_dns_match(name.rstrip(".").lower(), host) for name in names)


def _dns_match(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == pattern[2:] and rest.count(".") >= 1
    return pattern == host


def evaluate_certificate(
    certificate: Certificate,
    hostname: str,
    now: datetime,
    *,
    min_days: int = DEFAULTS["min_days"],
    warn_days: int = DEFAULTS["warn_days"],
    check_hostname: bool = True,
) -> list[Finding]:
    """Findings on validity dates and hostname; an info line when all is well."""
    where = hostname
    findings: list[Finding] = []
    expires = certificate.not_after.date().isoformat()
    days_left = (certificate.not_after - now).total_seconds() / 86400
    if now < certificate.not_before:
        message = (
            f"the certificate of {hostname} is not valid before "
            f"{certificate.not_before.isoformat()}"
        )
        findings.append(Finding("tls-not-yet-valid", message, location=where))
    if days_left < 0:
        message = f"the certificate of {hostname} expired on {expires}, {-days_left:.0f} days ago"
        findings.append(Finding("tls-expired", message, location=where))
    elif days_left < min_days:
        message = (
            f"the certificate of {hostname} expires on {expires}, in {days_left:.1f} days, "
            f"under tls.min_days ({min_days}): renew it"
        )
        findings.append(Finding("tls-expiry", message, location=where))
    elif days_left < warn_days:
        message = (
            f"the certificate of {hostname} expires on {expires}, in {days_left:.0f} days "
            f"(tls.warn_days is {warn_days})"
        )
        findings.append(Finding("tls-expiry", message, Severity.WARNING, where))
    if check_hostname and not hostname_matches(certificate, hostname):
        valid_for = ", ".join(certificate.names) or certificate.subject or "no name"
        message = f"the certificate is not valid for {hostname}: it names {valid_for}"
        findings.append(Finding("tls-hostname", message, location=where))
    if not findings:
        message = (
            f"the certificate of {hostname} is valid until {expires} ({days_left:.0f} days), "
            f"issued by {certificate.issuer or 'an unnamed issuer'}"
        )
        findings.append(Finding("tls-ok", message, Severity.INFO, where))
    return findings


# -- the network edge --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Handshake:
    """The leaf certificate a server presented, and why its chain failed, if it did."""

    der: bytes
    chain_error: str | None = None
    chain_code: int | None = None


def fetch_certificate(
    host: str, port: int, *, timeout: float = 10.0, cafile: Path | None = None
) -> Handshake:
    """The server's certificate, after a verifying handshake (and a second one if it fails).

    Raises OSError (ssl.SSLError included) when no TLS handshake is possible at all.
    """
    verifying = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    # The hostname is judged by hostname_matches, so a wrong name and a bad chain both show.
    verifying.check_hostname = False
    try:
        return Handshake(_handshake(host, port, verifying, timeout))
    except ssl.SSLCertVerificationError as exc:
        error, code = str(exc.verify_message), int(exc.verify_code)
    trusting = ssl.create_default_context()
    trusting.check_hostname = False
    trusting.verify_mode = ssl.CERT_NONE
    return Handshake(_handshake(host, port, trusting, timeout), error, code)


def _handshake(host: str, port: int, context: ssl.SSLContext, timeout: float) -> bytes:
    # ssl takes the socket's timeout as a deadline for the whole handshake, not each read
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server presented no certificate")
    return der


def check_tls(
    base_url: str,
    section: Mapping[str, Any],
    *,
    root: Path | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    timeout: float = 10.0,
) -> list[Finding]:
    """Check the certificate of an https target; an http target yields an info finding.

    ``section`` is the ``tls`` section; ``ca_file`` is relative to ``root``, the project.
    """
    parts = urlsplit(base_url)
    if parts.scheme != "https":
        message = f"{base_url} is not https: there is no certificate to check"
        return [Finding("tls-not-https", message, Severity.INFO, "tls")]
    host = parts.hostname or ""
    port = parts.port or 443
    settings = {**DEFAULTS, **section}
    cafile = _ca_file(settings.get("ca_file"), root)
    try:
        handshake = fetch_certificate(host, port, timeout=timeout, cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        if isinstance(exc, TimeoutError):
            reason = f"no complete TLS handshake within {format_duration(timeout)}"
        else:
            reason = describe_error(exc)
        message = f"no TLS handshake with {host}:{port}: {reason}"
        return [Finding("tls-handshake", message, location=host)]
    try:
        certificate = parse_certificate(handshake.der)
    except ValueError as exc:
        return [
            Finding(
                "tls-certificate", f"cannot read the certificate of {host}: {exc}", location=host
            )
        ]
    findings = evaluate_certificate(
        certificate,
        host,
        now(),
        min_days=int(settings["min_days"]),
        warn_days=int(settings["warn_days"]),
        check_hostname=bool(settings["check_hostname"]),
    )
    dated = any(f.rule in ("tls-expired", "tls-not-yet-valid") for f in findings)
    if (
        handshake.chain_error is not None
        and settings["verify_chain"]
        and not (dated and handshake.chain_code in _VALIDITY_CODES)
    ):
        message = (
            f"the certificate chain of {host} does not verify: {handshake.chain_error}. "
            "If the target uses a private CA, set tls.ca_file to its certificate"
        )
        findings = [f for f in findings if f.rule != "tls-ok"]
        findings.insert(0, Finding("tls-chain", message, location=host))
    return findings


def _ca_file(value: Any, root: Path | None) -> Path | None:
    if not value:
        return None
    path = Path(str(value))
    if not path.is_absolute() and root is not None:
        path = root / path
    if not path.is_file():
        raise ConfigError([f"tls.ca_file: {str(value)!r} is not a file (looked at {path})"])
    return path
