"""Keeping secrets out of everything the gate writes: reports, history and logs.

A :class:`Redactor` knows the secret values of one run (``Config.secrets``) and the header
names that always carry credentials. Renderers and stores pass text, headers, URLs and JSON
data through it before anything leaves the process; :meth:`Redactor.preview` masks before it
cuts, so a cut never leaves the start of a secret behind. :func:`redact_log_records` masks
every log record as it is made, whichever library logs it.

Each secret is looked for in the forms it takes in text: as written, URL-quoted, JSON-escaped
and base64-encoded (alone, inside ``Bearer <secret>``, inside a Basic ``user:secret``, at any
offset of a longer base64 text). The search is a plain substring search: a regular expression
compiled from a secret costs seconds and hundreds of megabytes for a long one, and an
Aho-Corasick automaton a node per character of every form.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

__all__ = [
    "DEFAULT_SENSITIVE_HEADERS",
    "MASK",
    "MIN_SECRET_LENGTH",
    "Redactor",
    "looks_secret",
    "redact_log_records",
]

MASK = "***"
# Shorter values would mangle ordinary text ("on", "1", "GET") for little protection.
MIN_SECRET_LENGTH = 4
# What URL quoting leaves as it is.
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")
# A base64 fragment shorter than this would match ordinary base64 text by chance.
_MIN_BASE64_FORM = 8

DEFAULT_SENSITIVE_HEADERS = frozenset(
    {"authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"}
)

# scheme://user:password@ in free text, such as a database URL in a log line. Every part is
# bounded, so a hostile text cannot make the search quadratic.
_URL_PASSWORD = re.compile(
    r"\b[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s:/@]{0,256}:(?P<password>[^\s/@]{1,1024})@"
)
# The longest text _URL_PASSWORD can match: a preview looks this far past its cut.
_URL_PASSWORD_REACH = 1 + 31 + 3 + 256 + 1 + 1024 + 1

# Name words that mark a secret: a variable, key, header or query parameter whose name holds
# one of them as a whole word (``API_TOKEN``, ``dbPassword``, ``x-auth-token``).
_SECRET_WORDS = frozenset(
    {
        "auth",
        "oauth",
        "authorization",
        "authentication",
        "token",
        "tokens",
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "pass",
        "pwd",
        "pw",
        "credential",
        "credentials",
        "creds",
        "cookie",
        "cookies",
        "session",
        "signature",
        "webhook",
        "jwt",
        "bearer",
        "apikey",
        "privatekey",
        "secretkey",
        "accesskey",
    }
)
# Lower-case names written as one word: ``accesstoken``, ``clientsecret``, ``dbpassword``.
_SECRET_ENDINGS = ("token", "secret", "password", "passwd", "apikey", "sessionid")
# ``key`` is a secret when another word qualifies it (``API_KEY``, ``STRIPE_KEY``), except
# these, which name ordinary data (``public_key``, ``sort_key``, ``idempotency_key``).
_PLAIN_KEYS = frozenset(
    {
        "public",
        "primary",
        "foreign",
        "sort",
        "partition",
        "idempotency",
        "hash",
        "range",
        "row",
        "object",
        "lookup",
        "unique",
        "composite",
        "shard",
        "routing",
        "index",
        "group",
        "map",
        "dedup",
        "dedupe",
    }
)
# The shell's working folders, not passwords (spelled as the shell does: a ``pwd`` query
# parameter is still a password).
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})
# The words of a name: runs split at separators and at camelCase humps ("DBPass": DB, Pass;
# "APIKey": API, Key). Digits stay with their word and are dropped when comparing.
_NAME_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])|[0-9]+")


def looks_secret(name: str) -> bool:
    """Whether a variable, key or parameter called ``name`` probably holds a secret.

    A name is split into words at ``_``, ``-``, ``.``, spaces and camelCase humps, and is a
    secret's when one word is a secret word (``token``, ``secret``, ``password``, ``passwd``,
    ``pass``, ``pwd``, ``auth``, ``authorization``, ``credential``, ``cookie``, ``session``,
    ``apikey``...) or when ``key`` follows a word other than an ordinary qualifier
    (``API_KEY``, ``privateKey``, ``STRIPE_KEY``; not ``public_key`` or ``sort_key``). Words
    are matched whole, not as substrings: ``author``, ``BYPASS`` and ``monkey`` are not
    secrets. The shell's own ``PWD`` and ``OLDPWD`` are not secrets either.
    """
    if name in _NOT_SECRET:
        return False
    words = [part.lower().rstrip("0123456789") for part in _NAME_PARTS.findall(name)]
    words = [word for word in words if word]
    if any(word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS) for word in words):
        return True
    return any(
        word in ("key", "keys") and before not in _PLAIN_KEYS
        for before, word in itertools.pairwise(words)
    )


class Redactor:
    """Masks known secret values, sensitive headers and URL passwords with ``***``.

    ``secrets`` keeps the values as given (those of at least ``MIN_SECRET_LENGTH``
    characters); the forms searched for are derived from them once, here.
    """

    def __init__(
        self,
        secrets: Iterable[str],
        header_names: Iterable[str] = DEFAULT_SENSITIVE_HEADERS,
    ) -> None:
        kept = {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}
        self.secrets: tuple[str, ...] = tuple(sorted(kept, key=lambda v: (-len(v), v)))
        forms: set[str] = set()
        for secret in self.secrets:
            forms.update(_forms(secret))
        self._forms = tuple(sorted((f for f in forms if len(f) >= MIN_SECRET_LENGTH), key=len))
        self._reach = max(max((len(form) for form in self._forms), default=0), _URL_PASSWORD_REACH)
        self.header_names = frozenset(name.lower() for name in header_names)

    @classmethod
    def for_headers(
        cls, headers: Mapping[str, str] | Iterable[tuple[str, str]], *, every_value: bool = False
    ) -> Redactor:
        """A redactor for the credentials in ``headers``: the values of credential headers
        (or of every header, with ``every_value``), each also without its scheme word, so a
        ``Bearer <token>`` header hides the token wherever it is echoed alone."""
        items = list(headers.items() if isinstance(headers, Mapping) else headers)
        secrets: list[str] = []
        for name, value in items:
            if every_value or name.lower() in DEFAULT_SENSITIVE_HEADERS or looks_secret(name):
                secrets.append(value)
                scheme, _, credential = value.strip().partition(" ")
                if credential and scheme.isalpha():
                    secrets.append(credential.strip())
        names = {*DEFAULT_SENSITIVE_HEADERS, *(name.lower() for name, _ in items if every_value)}
        return cls(secrets, names)

    def with_secrets(self, extra: Iterable[str]) -> Redactor:
        """A redactor for these secrets and ``extra``, with the same header names."""
        return Redactor([*self.secrets, *extra], self.header_names)

    def redact(self, text: str) -> str:
        """``text`` with every secret value, and any password in a URL, replaced by ``***``."""
        if not text:
            return text
        spans = self._spans(text)
        return _apply(text, spans, len(text)) if spans else text

    def preview(self, text: str, limit: int) -> str:
        """The first ``limit`` characters of ``text``, masked before the cut (``...`` marks
        one): a secret that starts before the cut is masked whole, never left half shown."""
        # A match that starts before the cut ends within the longest form (or URL) after it.
        window = text[: limit + self._reach]
        spans = self._spans(window)
        shown = _apply(window, spans, min(limit, len(window)))
        return shown + "..." if len(text) > limit else shown

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """Where secrets sit in ``text``: sorted ``(start, end)`` ranges, overlaps merged."""
        found: list[tuple[int, int]] = []
        for form in self._forms:
            if len(form) > len(text):
                break  # the forms are sorted by length
            start = text.find(form)
            while start >= 0:
                found.append((start, start + len(form)))
                # from the next character: two occurrences may overlap ("abab" in "ababab")
                start = text.find(form, start + 1)
        if "://" in text:
            found.extend(match.span("password") for match in _URL_PASSWORD.finditer(text))
        if not found:
            return found
        found.sort()
        merged = [found[0]]
        for start, end in found[1:]:
            last_start, last_end = merged[-1]
            if start <= last_end:
                merged[-1] = (last_start, max(last_end, end))
            else:
                merged.append((start, end))
        return merged

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


class _RecordMasker(logging.Filter):
    """Masks a log record's message, arguments, traceback and stack in place."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is shown, masked, as it is
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # formatted now, masked, and cached where every Formatter looks for it
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def redact_log_records(redact: Callable[[str], str]) -> Callable[[], None]:
    """Mask every log record as it is made, until the returned function is called.

    The masking sits in the log record factory, so it covers every logger (httpx, httpcore,
    schemathesis, this package's own, and any created later, children included) before any
    handler formats a record: a filter on a logger would miss the records of its children.
    """
    previous = logging.getLogRecordFactory()
    masker = _RecordMasker(redact)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        masker.filter(record)
        return record

    logging.setLogRecordFactory(factory)

    def restore() -> None:
        # only when nothing was installed on top since: that one keeps ours as its previous
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return restore


def _apply(text: str, spans: list[tuple[int, int]], limit: int) -> str:
    """``text[:limit]`` with each span that starts before ``limit`` replaced by ``***``."""
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        if start >= limit:
            break
        pieces.append(text[position:start])
        pieces.append(MASK)
        position = end
    if position < limit:
        pieces.append(text[position:limit])
    return "".join(pieces)


@functools.lru_cache(maxsize=32)
def _forms(secret: str) -> frozenset[str]:
    """The forms ``secret`` takes in text: as is, URL-quoted, JSON-escaped and base64.

    Cached: the config's validation, the session and each check build redactors for the
    same few secrets.
    """
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    if not _URL_SAFE.fullmatch(secret):  # (quoting is slow, and changes nothing here)
        forms.add(quote(secret, safe="", errors="surrogatepass"))
        forms.add(quote_plus(secret, errors="surrogatepass"))
    raw = secret.encode("utf-8", errors="surrogatepass")
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for whole in (raw, b"Bearer " + raw):
            encoded = encode(whole).decode("ascii")
            forms.update((encoded, encoded.rstrip("=")))
        # Inside a longer base64 text (a Basic "user:secret", an echoed header) the secret
        # starts at byte offset 0, 1 or 2 of a 3-byte group; the characters made of its bits
        # alone are the same whatever surrounds it.
        for offset in range(3):
            encoded = encode(bytes(offset) + raw).decode("ascii")
            first = -(-offset * 8 // 6)  # the first character with no bit of the padding
            last = (offset + len(raw)) * 8 // 6  # past the last made of the secret's bits
            core = encoded[first:last]
            if len(core) >= _MIN_BASE64_FORM:
                forms.add(core)
    return frozenset(forms)
