"""TLS: certificates made with the openssl CLI, served by real HTTPS servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pytest_deploycheck.core.config import validate
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Severity
from pytest_deploycheck.live.tls import (
    DEFAULTS,
    Certificate,
    check_tls,
    evaluate_certificate,
    hostname_matches,
    parse_certificate,
)
from tests.fault_server import tls_drip
from tests.live_server import REPO_ROOT, free_port, serve_app
from tests.pki import Pki, openssl


def app() -> Starlette:
    return Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])


@pytest.fixture(scope="module")
def good_url(pki: Pki) -> Iterator[str]:
    with serve_app(app(), certfile=pki.leaf, keyfile=pki.leaf_key) as url:
        yield url


def der(path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text())


def later(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


# -- reading certificates ------------------------------------------------------------------------


def test_parsed_fields_agree_with_openssl(pki: Pki) -> None:
    certificate = parse_certificate(der(pki.leaf))
    dates = openssl(
        "x509", "-in", str(pki.leaf), "-noout", "-startdate", "-enddate", cwd=pki.folder
    )
    start, end = (line.split("=", 1)[1] for line in dates.splitlines())
    assert certificate.not_before == datetime.strptime(start, "%b %d %H:%M:%S %Y GMT").replace(
        tzinfo=UTC
    )
    assert certificate.not_after == datetime.strptime(end, "%b %d %H:%M:%S %Y GMT").replace(
        tzinfo=UTC
    )
    assert certificate.subject == "CN=localhost, O=Deploycheck"
    assert certificate.issuer == "CN=Deploycheck Test CA"
    assert certificate.dns_names == ("localhost",)
    assert certificate.ip_addresses == ("127.0.0.1",)
    other = parse_certificate(der(pki.other))
    assert other.dns_names == ("example.test", "*.example.test")
    assert other.names == ["DNS:example.test", "DNS:*.example.test"]


def test_every_truncated_certificate_is_a_value_error(pki: Pki) -> None:
    data = der(pki.leaf)
    for size in range(len(data)):
        with pytest.raises(ValueError):  # noqa: PT011 - any reason is fine, never a crash
            parse_certificate(data[:size])


@given(st.binary(max_size=300))
def test_garbage_is_a_value_error_and_never_a_crash(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_certificate(data)


@given(st.data())
def test_a_corrupted_certificate_is_read_or_rejected_but_never_crashes(
    pki: Pki, data: st.DataObject
) -> None:
    original = bytearray(der(pki.leaf))
    for _ in range(data.draw(st.integers(1, 4))):
        original[data.draw(st.integers(0, len(original) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(ValueError):
        assert isinstance(parse_certificate(bytes(original)), Certificate)


# -- judging -------------------------------------------------------------------------------------


def cert(**names: tuple[str, ...]) -> Certificate:
    now = datetime.now(UTC)
    return Certificate(
        "CN=svc.example.com", "CN=CA", now - timedelta(days=1), now + timedelta(days=90), **names
    )


def test_hostnames_follow_rfc_6125() -> None:
    wildcard = cert(dns_names=("*.example.com", "Example.org"))
    assert hostname_matches(wildcard, "api.example.com")
    assert hostname_matches(wildcard, "EXAMPLE.ORG.")
    assert not hostname_matches(wildcard, "example.com")
    assert not hostname_matches(wildcard, "a.b.example.com")
    assert not hostname_matches(cert(dns_names=("*.com",)), "example.com")
    ip = cert(ip_addresses=("127.0.0.1", "::1"))
    assert hostname_matches(ip, "127.0.0.1")
    assert hostname_matches(ip, "[::1]")
    assert not hostname_matches(ip, "127.0.0.2")
    assert not hostname_matches(cert(dns_names=("127.0.0.1",)), "127.0.0.1")
    # The common name counts only for a certificate without any subjectAltName.
    assert hostname_matches(cert(), "svc.example.com")
    assert not hostname_matches(cert(dns_names=("other.example.com",)), "svc.example.com")


def test_expiry_is_judged_against_the_injected_clock() -> None:
    certificate = cert(dns_names=("svc.example.com",))
    expires = certificate.not_after

    def rules(now: datetime) -> list[tuple[str, Severity]]:
        findings = evaluate_certificate(
            certificate, "svc.example.com", now, min_days=14, warn_days=30
        )
        return [(f.rule, f.severity) for f in findings]

    assert rules(expires - timedelta(days=60)) == [("tls-ok", Severity.INFO)]
    assert rules(expires - timedelta(days=20)) == [("tls-expiry", Severity.WARNING)]
    assert rules(expires - timedelta(days=3)) == [("tls-expiry", Severity.ERROR)]
    assert rules(expires + timedelta(days=2)) == [("tls-expired", Severity.ERROR)]
    assert rules(certificate.not_before - timedelta(hours=1)) == [
        ("tls-not-yet-valid", Severity.ERROR)
    ]
    [finding] = evaluate_certificate(certificate, "svc.example.com", expires + timedelta(days=2))
    assert finding.message == (
        f"the certificate of svc.example.com expired on {expires.date().isoformat()}, 2 days ago"
    )


# -- real handshakes -----------------------------------------------------------------------------


def test_a_trusted_certificate_with_ten_days_left_fails_min_days(pki: Pki, good_url: str) -> None:
    [finding] = check_tls(good_url, {"ca_file": str(pki.ca)})
    assert finding.rule == "tls-expiry"
    assert finding.severity is Severity.ERROR
    assert "in 10.0 days, under tls.min_days (14): renew it" in finding.message
    [warning] = check_tls(good_url, {"ca_file": str(pki.ca), "min_days": 7})
    assert (warning.rule, warning.severity) == ("tls-expiry", Severity.WARNING)
    [ok] = check_tls(
        good_url, {"ca_file": "ca.pem", "min_days": 7, "warn_days": 7}, root=pki.folder
    )
    assert (ok.rule, ok.severity) == ("tls-ok", Severity.INFO)
    assert "issued by CN=Deploycheck Test CA" in ok.message


def test_an_injected_clock_past_expiry_reports_expired(pki: Pki, good_url: str) -> None:
    [finding] = check_tls(good_url, {"ca_file": str(pki.ca)}, now=lambda: later(12))
    assert finding.rule == "tls-expired"
    assert "2 days ago" in finding.message


def test_an_untrusted_chain_is_reported_with_the_other_problems(good_url: str) -> None:
    findings = check_tls(good_url, {"min_days": 1, "warn_days": 1})
    assert [f.rule for f in findings] == ["tls-chain"]
    assert "does not verify: unable to get local issuer certificate" in findings[0].message
    assert "set tls.ca_file" in findings[0].message
    findings = check_tls(good_url, {"min_days": 14})
    assert [f.rule for f in findings] == ["tls-chain", "tls-expiry"]
    relaxed = check_tls(good_url, {"verify_chain": False, "min_days": 1, "warn_days": 1})
    assert [f.rule for f in relaxed] == ["tls-ok"]


def test_a_certificate_for_another_host_fails_the_hostname_check(pki: Pki) -> None:
    with serve_app(app(), certfile=pki.other, keyfile=pki.other_key) as url:
        findings = check_tls(url, {"ca_file": str(pki.ca), "min_days": 1, "warn_days": 1})
        assert [f.rule for f in findings] == ["tls-hostname"]
        assert findings[0].message == (
            "the certificate is not valid for 127.0.0.1: it names DNS:example.test, "
            "DNS:*.example.test"
        )
        unchecked = {"ca_file": str(pki.ca), "min_days": 1, "warn_days": 1, "check_hostname": False}
        assert [f.rule for f in check_tls(url, unchecked)] == ["tls-ok"]


def test_http_targets_and_dead_ports_and_missing_ca_files(pki: Pki) -> None:
    [info] = check_tls("http://127.0.0.1:8000", {})
    assert (info.rule, info.severity) == ("tls-not-https", Severity.INFO)
    [dead] = check_tls(f"https://127.0.0.1:{free_port()}", {}, timeout=2)
    assert dead.rule == "tls-handshake"
    assert dead.message.startswith("no TLS handshake with 127.0.0.1:")
    with pytest.raises(ConfigError, match=r"tls\.ca_file: 'nope\.pem' is not a file"):
        check_tls("https://127.0.0.1:1", {"ca_file": "nope.pem"}, root=pki.folder)


# -- the tls section of deployment-config.json ------------------------------------------------


def test_the_schema_defaults_are_the_defaults_in_code() -> None:
    schema = json.loads((REPO_ROOT / "pytest_deploycheck/schemas/sections/tls.json").read_text())
    explicit = {k: v["default"] for k, v in schema["properties"].items() if "default" in v}
    explicit.pop("enabled")  # the plugin's switch, not the check's
    assert explicit == DEFAULTS
    problems = [str(p) for p in validate({"tls": {"min_days": -1, "verify": True}})]
    assert sorted(problems) == [
        "tls.min_days: must be an integer from 0 to 3650 (got -1)",
        "tls.verify: unknown key 'verify' -> did you mean 'verify_chain'?",
    ]


def test_a_handshake_sent_a_byte_at_a_time_ends_at_the_timeout() -> None:
    """The socket's timeout bounds each read; the whole handshake must end in time too."""
    started = time.monotonic()
    with tls_drip() as port:
        [finding] = check_tls(f"https://127.0.0.1:{port}", {}, timeout=0.5)
    # without the cut, the announced 16 KiB would take half an hour
    assert time.monotonic() - started < 5
    assert finding.rule == "tls-handshake", finding
    assert finding.message == (
        f"no TLS handshake with 127.0.0.1:{port}: no complete TLS handshake within 500ms"
    )
