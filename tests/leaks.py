"""Finding a secret in an output: as written, or in a base64 text that decodes to it."""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["leaks"]

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}")


def leaks(text: str, secret: str, part: int = 8) -> list[str]:
    """How ``secret`` shows in ``text``: ``["as written"]``, ``["base64"]``, both or none.

    base64 counts when any run of base64 characters, read at any of its four alignments in
    either alphabet, decodes to bytes holding ``part`` consecutive bytes of the secret: a
    Basic ``user:secret`` or an echoed ``Bearer <secret>`` is caught wherever it starts.
    """
    found = []
    if secret in text:
        found.append("as written")
    raw = secret.encode()
    pieces = {raw[i : i + part] for i in range(max(1, len(raw) - part + 1))}
    for run in set(_BASE64_RUN.findall(text)):
        if _decodes_to(run, pieces):
            found.append("base64")
            break
    return found


def _decodes_to(run: str, pieces: set[bytes]) -> bool:
    for shift in range(4):
        chunk = run[shift:]
        chunk = chunk[: len(chunk) - len(chunk) % 4]
        if not chunk:
            continue
        for altchars in (b"+/", b"-_"):
            try:
                decoded = base64.b64decode(chunk, altchars=altchars)
            except (binascii.Error, ValueError):
                continue
            if any(piece in decoded for piece in pieces):
                return True
    return False
