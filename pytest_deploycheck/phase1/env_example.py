"""``.env.example`` (or Workers' ``.dev.vars.example``) read as the declaration of the
environment a service needs, as dotenv-safe and envalid read it.

Every name the file lists is required, unless a comment on its line, or the comment line
just above it, starts with ``optional`` (``# optional``, ``# Optional: ...``); an empty
value means the variable must be set (a value there is an example, never a default); a
name that looks secret (``*_TOKEN``, ``*_SECRET``...) is a secret. Values in the example
file are never read as the service's values.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from dotenv.parser import parse_stream

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.redaction import looks_secret

__all__ = ["EXAMPLE_FILES", "Declared", "read_example"]

# the declaration files init looks for, with the file their values go in
EXAMPLE_FILES = {".env.example": ".env", ".dev.vars.example": ".dev.vars"}
# a comment that starts with the word: "# optional", "# Optional: ...", "# (optional)"
_OPTIONAL = re.compile(r"#\s*\(?optional\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Declared:
    """One name of a declaration file: where, whether required, whether secret."""

    name: str
    required: bool
    secret: bool
    location: str  # ".env.example:2"


def read_example(root: Path, name: str) -> list[Declared]:
    """The names ``name`` (relative to ``root``) declares; ConfigError when it cannot be
    read (it was named in the config, so it must exist)."""
    path = root / name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            [f"env.example: {name!r} does not exist (the file that declares the variables)"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8"
        raise ConfigError([f"env.example: cannot read {name!r}: {reason}"]) from None
    declared: list[Declared] = []
    comment_says_optional = False
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        if binding.key is None:
            # a comment line just above a name may say it is optional
            comment_says_optional = bool(original.strip()) and bool(_OPTIONAL.search(original))
            continue
        leading = original[: len(original) - len(original.lstrip())]
        if "\n\n" in "\n" + leading:
            comment_says_optional = False  # a blank line parts the comment from the name
        value = binding.value or ""
        inline = _OPTIONAL.search(original)
        optional = comment_says_optional or (inline is not None and "optional" not in value)
        line = binding.original.line + leading.count("\n")
        declared.append(
            Declared(binding.key, not optional, looks_secret(binding.key), f"{name}:{line}")
        )
        comment_says_optional = False
    return declared
