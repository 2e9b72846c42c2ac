"""Redaction: secrets, credential headers and URL passwords never leave the process."""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from pytest_deploycheck.core.redaction import MASK, Redactor, looks_secret

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
