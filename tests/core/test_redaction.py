"""Redaction: secrets, credential headers and URL passwords never leave the process."""

from __future__ import annotations

import base64
import json
import logging
import time
import tracemalloc
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.redaction import MASK, Redactor, looks_secret, redact_log_records
from tests.leaks import leaks

TOKEN = "tok-3f9a1c77e2"


def test_redact_masks_every_occurrence_of_every_secret() -> None:
    redactor = Redactor([TOKEN, "hunter22"])
    text = f"sent {TOKEN} twice: {TOKEN}; db password hunter22."
    assert redactor.redact(text) == f"sent {MASK} twice: {MASK}; db password {MASK}."


def test_redact_prefers_the_longest_secret() -> None:
    # "abcd1234" contains "abcd": masking the short one first would leave "***1234" behind.
    redactor = Redactor(["abcd", "abcd1234"])
    assert redactor.redact("x abcd1234 y abcd z") == f"x {MASK} y {MASK} z"


def test_short_values_are_not_treated_as_secrets() -> None:
    redactor = Redactor(["on", "GET", "1"])
    assert redactor.redact("GET /health is on 1 port") == "GET /health is on 1 port"
    assert redactor.secrets == ()


def test_redact_finds_url_encoded_and_json_escaped_forms() -> None:
    secret = 'p@ss w/rd"x'
    redactor = Redactor([secret])
    in_url = f"https://api.example.com/login?password={quote(secret, safe='')}"
    in_json = json.dumps({"password": secret})
    assert quote(secret, safe="") not in redactor.redact(in_url)
    assert redactor.redact(in_json) == json.dumps({"password": MASK})


def test_redact_hides_passwords_of_urls_in_free_text() -> None:
    redactor = Redactor([])
    line = "connecting to postgresql://deploy:s3cret@db.internal:5432/history failed"
    assert redactor.redact(line) == (
        f"connecting to postgresql://deploy:{MASK}@db.internal:5432/history failed"
    )


def test_redact_headers_masks_credential_headers_in_any_case() -> None:
    redactor = Redactor([TOKEN], header_names=["Authorization", "X-Session"])
    headers = {
        "authorization": "Bearer whatever",
        "X-SESSION": "abc",
        "Cookie": "id=1",
        "Content-Type": "application/json",
        "X-Echo": f"token={TOKEN}",
    }
    assert redactor.redact_headers(headers) == {
        "authorization": MASK,
        "X-SESSION": MASK,
        "Cookie": "id=1",  # not in the configured names, which replace the defaults
        "Content-Type": "application/json",
        "X-Echo": f"token={MASK}",
    }


def test_redact_headers_default_names_and_pairs() -> None:
    redactor = Redactor([])
    pairs = [
        ("Set-Cookie", "session=1"),
        ("Proxy-Authorization", "Basic eA=="),
        ("X-Api-Key", "k"),
        ("Cookie", "a=b"),
        ("Accept", "*/*"),
    ]
    assert redactor.redact_headers(pairs) == {
        "Set-Cookie": MASK,
        "Proxy-Authorization": MASK,
        "X-Api-Key": MASK,
        "Cookie": MASK,
        "Accept": "*/*",
    }


def test_redact_url_hides_password_and_secret_query_values() -> None:
    redactor = Redactor([TOKEN])
    url = f"https://deploy:hunter22@api.example.com/v1/{TOKEN}/items?access_token=abc&page=2"
    assert redactor.redact_url(url) == (
        f"https://deploy:{MASK}@api.example.com/v1/{MASK}/items?access_token={MASK}&page=2"
    )


def test_redact_url_leaves_plain_urls_alone() -> None:
    redactor = Redactor([TOKEN])
    url = "https://api.example.com/appointments?limit=10&provider=p1"
    assert redactor.redact_url(url) == url


def test_redact_url_survives_text_that_is_not_a_url() -> None:
    redactor = Redactor([TOKEN])
    assert redactor.redact_url(f"http://[::1/{TOKEN}") == f"http://[::1/{MASK}"


def test_redact_data_walks_nested_json() -> None:
    redactor = Redactor([TOKEN])
    data = {
        "request": {
            "headers": {"Authorization": "Bearer x", "Accept": "application/json"},
            "url": f"https://api.example.com/?q={TOKEN}",
        },
        "api_key": "literal-key-value",
        "samples": [1.5, {"note": f"echo {TOKEN}"}],
        "ok": True,
    }
    assert redactor.redact_data(data) == {
        "request": {
            "headers": {"Authorization": MASK, "Accept": "application/json"},
            "url": f"https://api.example.com/?q={MASK}",
        },
        "api_key": MASK,
        "samples": [1.5, {"note": f"echo {MASK}"}],
        "ok": True,
    }


def test_looks_secret_names() -> None:
    for name in (
        "API_TOKEN",
        "db_password",
        "x-api-key",
        "SESSION_SECRET",
        "AUTH",
        "SLACK_WEBHOOK",
        "SESSION_COOKIE",
        "DB_PASS",
        "dbPass",
        "x-db-pass",
        "DB_PASSWD",
        "MYSQL_PWD",
        "SMTP_PW",
        "pwd",  # a query parameter: only the shell's PWD is a folder
        "TLS_PRIVATE_KEY",
    ):
        assert looks_secret(name), name
    for name in (
        "DEPLOY_ENV",
        "BASE_URL",
        "PORT",
        "timeout",
        "PWD",
        "OLDPWD",
        "BYPASS_CACHE",
        "COMPASS_URL",
        "PASSENGER_APP_ENV",
        "SSL_CERT_FILE",  # a certificate is public; its key is caught by KEY
    ):
        assert not looks_secret(name), name


def test_a_query_parameter_named_like_a_short_password_word_is_masked() -> None:
    url = Redactor([]).redact_url("https://api.example.com/login?user=ann&pass=hunter22&page=2")
    assert url == f"https://api.example.com/login?user=ann&pass={MASK}&page=2"


secret_text = st.text(
    alphabet=st.characters(exclude_characters="*", exclude_categories=["Cs"]),
    min_size=4,
    max_size=20,
)


@given(
    secrets=st.lists(secret_text, min_size=1, max_size=4),
    pieces=st.lists(st.text(max_size=10), min_size=1, max_size=6),
)
def test_no_secret_survives_redaction(secrets: list[str], pieces: list[str]) -> None:
    # Interleave text and secrets, so secrets also touch and overlap each other.
    text = "".join(piece + secrets[i % len(secrets)] for i, piece in enumerate(pieces))
    redacted = Redactor(secrets).redact(text)
    for secret in secrets:
        assert secret not in redacted


@given(st.text(alphabet=st.characters(exclude_characters="*"), max_size=40))
def test_redact_without_secrets_keeps_text_without_urls(text: str) -> None:
    if "://" not in text:
        assert Redactor([]).redact(text) == text


# -- hostile input: long secrets, forms, previews, names, logs ----------------------------------


def test_a_one_megabyte_secret_is_masked_in_little_memory() -> None:
    # a regex compiled from such a secret took ~700 MB (and 15-22 s: the time is measured by
    # benchmarks/bench_hostile_input.py)
    secret = "s" * 500_000 + "t" * 500_000
    tracemalloc.start()
    try:
        redactor = Redactor([secret])
        text = "before " + secret + " between " + secret[:-1] + " after"
        masked = redactor.redact(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert masked == f"before {MASK} between {secret[:-1]} after"
    assert peak < 64 * 1024 * 1024


@pytest.mark.parametrize(
    "wrapped",
    [
        lambda s: s,  # alone
        lambda s: "Bearer " + s,  # an echoed Authorization header
        lambda s: "deploy:" + s,  # Basic auth, user:password
        lambda s: "x" + s + "yz",  # at another offset inside a longer text
        lambda s: "ab" + s,
    ],
)
def test_base64_forms_of_a_secret_are_masked(wrapped: Any) -> None:
    redactor = Redactor([TOKEN])
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(wrapped(TOKEN).encode()).decode()
        masked = redactor.redact(f"echo: {encoded} end")
        assert MASK in masked
        assert masked.startswith("echo: ")
        assert masked.endswith(" end")
        assert leaks(masked, TOKEN, part=4) == []


def test_the_leak_check_finds_an_unmasked_base64_secret() -> None:
    assert leaks(base64.b64encode(b"user:" + TOKEN.encode()).decode(), TOKEN) == ["base64"]
    assert leaks(f"x {TOKEN} y", TOKEN) == ["as written"]


def test_overlapping_occurrences_are_masked_whole() -> None:
    redactor = Redactor(["abab-abab"])
    assert redactor.redact("x abab-abab-abab y") == f"x {MASK} y"


def test_a_preview_masks_before_it_cuts() -> None:
    redactor = Redactor([TOKEN])
    text = "a" * 195 + TOKEN + "b" * 100
    preview = redactor.preview(text, 200)
    # cutting first would have left the token's first five characters
    assert preview == "a" * 195 + MASK + "..."
    assert TOKEN[:5] not in preview
    assert redactor.preview("short", 200) == "short"
    assert Redactor([]).preview("x" * 10, 4) == "xxxx..."


def test_a_preview_masks_a_url_password_that_crosses_the_cut() -> None:
    preview = Redactor([]).preview("see postgresql://app:hunter22-long@db/x", 26)
    assert "hunter" not in preview
    assert preview.endswith(MASK + "...")


def test_for_headers_masks_the_credential_without_its_scheme() -> None:
    redactor = Redactor.for_headers({"Authorization": f"Bearer {TOKEN}", "Accept": "text/html"})
    assert redactor.redact(f"/leak/{TOKEN}") == f"/leak/{MASK}"
    assert redactor.redact("text/html") == "text/html"
    every = Redactor.for_headers({"X-Tenant": "tenant-4417"}, every_value=True)
    assert every.redact("tenant-4417") == MASK


def test_with_secrets_adds_to_the_values_not_to_their_forms() -> None:
    redactor = Redactor([TOKEN]).with_secrets(["other-secret"])
    assert redactor.secrets == tuple(sorted([TOKEN, "other-secret"], key=lambda v: (-len(v), v)))
    assert redactor.redact(f"{TOKEN} other-secret") == f"{MASK} {MASK}"


@pytest.mark.parametrize(
    "name",
    [
        "authorization",
        "x-auth-token",
        "accessToken",
        "access_token",
        "client_secret",
        "clientSecret",
        "API_KEY",
        "apiKey",
        "APIKEY",
        "api-key",
        "private_key",
        "privateKey",
        "STRIPE_KEY",
        "session",
        "session_id",
        "sessionid",
        "Set-Cookie",
        "passwd",
        "credentials",
        "oauth_token",
        "token2",
    ],
)
def test_secret_words_are_found_as_whole_words(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize(
    "name",
    [
        "author",
        "authors",
        "AUTHOR_NAME",
        "coauthor",
        "monkey",
        "keyboard",
        "key",
        "tokenizer",
        "passport",
        "public_key",
        "primary_key",
        "sort_key",
        "idempotency_key",
    ],
)
def test_names_that_only_contain_a_secret_word_are_not_secret(name: str) -> None:
    assert not looks_secret(name)


def test_an_author_field_is_not_masked() -> None:
    data = {"author": "Ann Lee", "auth_token": "abc123456", "title": "x"}
    assert Redactor([]).redact_data(data) == {
        "author": "Ann Lee",
        "auth_token": MASK,
        "title": "x",
    }


def test_every_field_of_a_finding_is_redacted() -> None:
    finding = Finding(
        f"drift-{TOKEN}", f"GET /leak/{TOKEN} is served", Severity.WARNING, f"GET /leak/{TOKEN}"
    )
    masked = finding.redacted(Redactor([TOKEN]).redact)
    assert masked == Finding(
        f"drift-{MASK}", f"GET /leak/{MASK} is served", Severity.WARNING, f"GET /leak/{MASK}"
    )
    assert TOKEN not in str(masked)


def test_log_records_are_masked_as_they_are_made(caplog: pytest.LogCaptureFixture) -> None:
    redactor = Redactor([TOKEN])
    restore = redact_log_records(redactor.redact)
    try:
        with caplog.at_level(logging.DEBUG):
            # a child logger, created after the masking was installed, as httpcore's are
            child = logging.getLogger(f"httpcore.http11.test{time.monotonic_ns()}")
            child.debug("receive_response_headers %r", [(b"x-echo", TOKEN.encode())])
            try:
                raise ValueError(f"bad token {TOKEN}")
            except ValueError:
                logging.getLogger("schemathesis").exception("failed with %s", TOKEN)
            logging.getLogger("x").warning("%s %s", "too few args")  # malformed, still shown
    finally:
        restore()
    assert caplog.records
    assert TOKEN not in caplog.text
    assert MASK in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (record.exc_text or "")
    # restored: records are made as before
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("x").debug("after %s", TOKEN)
    assert caplog.records[-1].getMessage() == f"after {TOKEN}"
