"""Keeping secrets out of everything the gate writes: reports, history and logs.

A :class:`Redactor` knows the secret values of one run (``Config.secrets``) and the header
names that always carry credentials. Renderers and stores pass text, headers, URLs and JSON
data through it before anything leaves the process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

__all__ = [
    "DEFAULT_SENSITIVE_HEADERS",
    "MASK",
    "MIN_SECRET_LENGTH",
    "Redactor",
    "looks_secret",
]

MASK = "***"
# Shorter values would mangle ordinary text ("on", "1", "GET") for little protection.
MIN_SECRET_LENGTH = 4

DEFAULT_SENSITIVE_HEADERS = frozenset(
    {"authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"}
)

# scheme://user:password@ in free text, such as a database URL in a log line
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s/@]+@")

_SECRET_WORDS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "KEY",
    "AUTH",
    "COOKIE",
    "CREDENTIAL",
    "PRIVATE",
    "SESSION",
    "SIGNATURE",
    "WEBHOOK",
)


# Words too short to match inside other words (BYPASS, COMPASS): they count only as a whole
# part of a name, as in DB_PASS, dbPass or MYSQL_PWD.
_SECRET_PARTS = frozenset({"PASS", "PWD", "PW"})
# The shell's working folders, not passwords (spelled as the shell does: a ``pwd`` query
# parameter is still a password).
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})
# The parts of a name: runs split at separators and at camelCase humps ("DBPass": DB, Pass).
_NAME_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def looks_secret(name: str) -> bool:
    """Whether a variable, key or parameter called ``name`` probably holds a secret.

    The long words match as substrings on purpose (``API_KEY``, ``x-auth-token``,
    ``dbPassword``, ``SESSION_COOKIE``): a needless mask costs little, a leaked token costs a
    lot. ``PASS``, ``PWD`` and ``PW`` match only as a whole part (``DB_PASS``, ``mysqlPwd``),
    and the shell's own ``PWD`` and ``OLDPWD`` are not secrets.
    """
    if name in _NOT_SECRET:
        return False
    upper = name.upper()
    if any(word in upper for word in _SECRET_WORDS):
        return True
    return any(part.upper() in _SECRET_PARTS for part in _NAME_PARTS.findall(name))


class Redactor:
    """Masks known secret values, sensitive headers and URL passwords with ``***``."""

    def __init__(
        self,
        secrets: Iterable[str],
        header_names: Iterable[str] = DEFAULT_SENSITIVE_HEADERS,
    ) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if len(secret) >= MIN_SECRET_LENGTH:
                variants.update(_encodings(secret))
        # Longest first, so a secret containing another one is masked whole.
        self.secrets: tuple[str, ...] = tuple(
            sorted((v for v in variants if len(v) >= MIN_SECRET_LENGTH), key=lambda v: (-len(v), v))
        )
        self._pattern = re.compile("|".join(map(re.escape, self.secrets))) if self.secrets else None
        self.header_names = frozenset(name.lower() for name in header_names)

    def redact(self, text: str) -> str:
        """``text`` with every secret value, and any password in a URL, replaced by ``***``."""
        if not text:
            return text
        if self._pattern is not None:
            # One pass over the text: masking one secret can neither reveal nor split another.
            text = self._pattern.sub(MASK, text)
        return _URL_PASSWORD.sub(rf"\g<head>{MASK}@", text)

    def redact_headers(
        self, headers: Mapping[str, str] | Iterable[tuple[str, str]]
    ) -> dict[str, str]:
        """A copy of ``headers`` with credential headers masked and secrets removed elsewhere."""
        items = headers.items() if isinstance(headers, Mapping) else headers
        return {
            name: MASK if self.is_sensitive_header(name) else self.redact(value)
            for name, value in items
        }

    def is_sensitive_header(self, name: str) -> bool:
        """Whether a header called ``name`` always carries a credential."""
        return name.lower() in self.header_names

    def redact_url(self, url: str) -> str:
        """``url`` without its password, secret-looking query values and known secrets."""
        try:
            parts = urlsplit(url)
            password = parts.password
        except ValueError:
            # Not a URL we can take apart (a bad port, say): still mask what we know.
            return self.redact(url)
        netloc = parts.netloc
        if password is not None:
            userinfo, _, hostinfo = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{hostinfo}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(looks_secret(key) for key, _ in pairs):
                masked = [(key, MASK if looks_secret(key) else value) for key, value in pairs]
                query = urlencode(masked, safe="*")
        rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
        return self.redact(rebuilt)

    def redact_data(self, data: Any) -> Any:
        """A copy of JSON-like ``data`` with secrets masked in every string.

        Values under a sensitive header name or a secret-looking key are masked whole.
        """
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, Mapping):
            return {
                key: MASK
                if isinstance(key, str)
                and (self.is_sensitive_header(key) or looks_secret(key))
                and isinstance(data[key], str)
                else self.redact_data(data[key])
                for key in data
            }
        if isinstance(data, list | tuple):
            return [self.redact_data(item) for item in data]
        return data


def _encodings(secret: str) -> set[str]:
    """The forms a secret takes in text: as is, URL-quoted and JSON-escaped."""
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
