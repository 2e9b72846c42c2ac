"""Required environment variables and the types of their values.

The variables are those of ``env.variables`` and those an example file declares
(``env.example``: ``.env.example``, read as dotenv-safe does; see ``env_example``). A
required variable must be set and not empty. Values come from the process environment
first, then from the configured dotenv files in order (``.env``, Cloudflare's
``.dev.vars``: same syntax). Every problem is reported at once.
The value of a secret variable (``secret: true``, or by default a name that
:func:`~.redaction.looks_secret`) never appears in a message, not even in part: reasons are
phrased from the configuration alone, only non-secret values are quoted, and any secret value
a quoted one embeds (through ``${VAR}``) is masked.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv.parser import parse_stream
from dotenv.variables import parse_variables

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.redaction import MASK, MIN_SECRET_LENGTH, looks_secret

from .env_example import read_example

__all__ = [
    "BOOL_FALSE",
    "BOOL_TRUE",
    "VARIABLE_TYPES",
    "Variable",
    "check_environment",
    "check_value",
    "declared_variables",
    "parse_bool",
    "parse_email",
    "parse_int",
    "parse_port",
    "parse_url",
    "parse_variables_section",
]

VARIABLE_TYPES = ("string", "int", "bool", "url", "port", "email", "choice", "pattern")
BOOL_TRUE = frozenset({"true", "1", "yes", "on"})
BOOL_FALSE = frozenset({"false", "0", "no", "off"})
DEFAULT_FILES = (".env",)

_INTEGER = re.compile(r"[+-]?[0-9]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_NEWLINE = re.compile(r"\r\n|\n|\r")
# Schemes whose URLs name a local file rather than a host.
_HOSTLESS_SCHEMES = ("file", "sqlite")


# -- value parsers: each raises ValueError with a reason that never quotes the value ---------


def parse_bool(text: str) -> bool:
    """``true/false``, ``1/0``, ``yes/no``, ``on/off`` in any case."""
    folded = text.lower()
    if folded in BOOL_TRUE:
        return True
    if folded in BOOL_FALSE:
        return False
    raise ValueError("is not a bool (use true/false, 1/0, yes/no or on/off)")


def parse_int(text: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """A decimal integer, optionally within ``minimum..maximum``."""
    if not _INTEGER.fullmatch(text):
        raise ValueError("is not an integer")
    value = int(text)
    if minimum is not None and value < minimum:
        raise ValueError(f"is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"is above the maximum {maximum}")
    return value


def parse_port(text: str) -> int:
    """A TCP port: an integer in 1..65535."""
    if not _INTEGER.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise ValueError("is not a valid port (1..65535)")
    return int(text)


def parse_url(text: str, schemes: Sequence[str] = ()) -> str:
    """A URL with a scheme and a host (file and sqlite URLs need no host)."""
    if not text or any(char.isspace() for char in text):
        raise ValueError("is not a valid url")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError on a port out of range
    except ValueError:
        raise ValueError("is not a valid url") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise ValueError("is not a valid url (it has no scheme; expected scheme://host)")
    if not parts.hostname and not scheme.startswith(_HOSTLESS_SCHEMES):
        raise ValueError("is not a valid url (it has no host)")
    if schemes and scheme not in {s.lower() for s in schemes}:
        raise ValueError(f"is not a valid url (the scheme must be one of {', '.join(schemes)})")
    return text


def parse_email(text: str) -> str:
    """An address of the form ``name@domain.tld``."""
    if not _EMAIL.fullmatch(text):
        raise ValueError("is not a valid email address")
    return text


# -- the configuration -----------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One entry of ``env.variables``, defaults applied."""

    name: str
    type: str = "string"
    required: bool = False
    secret: bool = False
    default: str | None = None
    choices: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    min: int | None = None
    max: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    schemes: tuple[str, ...] = ()
    # where an example file (env.example) declares it, such as ".env.example:2"
    declared_in: str | None = None


def declared_variables(section: Mapping[str, Any], root: Path) -> list[Variable]:
    """``env.variables`` merged with the names the ``env.example`` files declare.

    A declared name is required unless marked optional there, and secret when it looks
    so; an entry of ``env.variables`` adds a type and constraints, and its own ``required``
    or ``secret`` win over the file's.
    """
    variables = {variable.name: variable for variable in parse_variables_section(section)}
    options = section.get("variables") or {}
    example = section.get("example") or []
    for name in [example] if isinstance(example, str) else example:
        for declared in read_example(root, str(name)):
            known = variables.get(declared.name)
            if known is None:
                variables[declared.name] = Variable(
                    declared.name,
                    required=declared.required,
                    secret=declared.secret,
                    declared_in=declared.location,
                )
            elif known.declared_in is None:
                required = options[declared.name].get("required", declared.required)
                variables[declared.name] = dataclasses.replace(
                    known, required=bool(required), declared_in=declared.location
                )
    return list(variables.values())


def parse_variables_section(section: Mapping[str, Any]) -> list[Variable]:
    """The ``env.variables`` entries; ConfigError lists what the schema cannot catch."""
    problems: list[str] = []
    variables: list[Variable] = []
    for name, options in (section.get("variables") or {}).items():
        key = f"env.variables.{name}"
        kind = options.get("type", "string")
        if kind not in VARIABLE_TYPES:
            problems.append(f"{key}.type: {kind!r} is not one of {', '.join(VARIABLE_TYPES)}")
            continue
        pattern = None
        if "pattern" in options:
            try:
                pattern = re.compile(str(options["pattern"]))
            except re.error as exc:
                problems.append(f"{key}.pattern: {options['pattern']!r} is not a regex ({exc})")
        elif kind == "pattern":
            problems.append(f"{key}: type 'pattern' needs a 'pattern' (a regular expression)")
        choices = tuple(str(choice) for choice in options.get("choices", []))
        if kind == "choice" and not choices:
            problems.append(f"{key}: type 'choice' needs 'choices' (a list of allowed values)")
        default = options.get("default")
        variables.append(
            Variable(
                name=str(name),
                type=kind,
                required=bool(options.get("required", False)),
                secret=bool(options.get("secret", looks_secret(str(name)))),
                default=None if default is None else str(default),
                choices=choices,
                pattern=pattern,
                min=options.get("min"),
                max=options.get("max"),
                min_length=options.get("min_length"),
                max_length=options.get("max_length"),
                schemes=tuple(options.get("schemes", [])),
            )
        )
    if problems:
        raise ConfigError(problems)
    return variables


def check_value(variable: Variable, text: str) -> str | None:
    """Why ``text`` is not a valid value of ``variable``, or None; never quotes ``text``."""
    checks: dict[str, Callable[[str], object]] = {
        "string": str,
        "pattern": str,
        "int": lambda t: parse_int(t, variable.min, variable.max),
        "bool": parse_bool,
        "url": lambda t: parse_url(t, variable.schemes),
        "port": parse_port,
        "email": parse_email,
        "choice": lambda t: _parse_choice(t, variable.choices),
    }
    try:
        checks[variable.type](text)
    except ValueError as exc:
        reason = str(exc)
        if text != text.strip() and _valid_stripped(variable, text):
            reason += " (it has leading or trailing whitespace)"
        return reason
    if variable.pattern is not None and not variable.pattern.fullmatch(text):
        return f"does not match the pattern {variable.pattern.pattern}"
    if variable.min_length is not None and len(text) < variable.min_length:
        return f"is shorter than {variable.min_length} characters"
    if variable.max_length is not None and len(text) > variable.max_length:
        return f"is longer than {variable.max_length} characters"
    return None


def _parse_choice(text: str, choices: Sequence[str]) -> str:
    if text not in choices:
        raise ValueError(f"is not one of {', '.join(choices)}")
    return text


def _valid_stripped(variable: Variable, text: str) -> bool:
    return text.strip() != text and check_value(variable, text.strip()) is None


# -- the check -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    text: str
    origin: str  # "the environment", ".env:3", "the default"
    location: str | None


def check_environment(
    section: Mapping[str, Any],
    root: Path,
    environ: Mapping[str, str],
    redact: Callable[[str], str] | None = None,
) -> list[Finding]:
    """Every declared variable is set (when required) and valid for its type.

    Secret values are masked here, whatever ``redact`` does; ``redact`` (the session's
    redactor) then masks what only the session knows to be secret in every message.
    """
    variables = declared_variables(section, root)
    files = [str(name) for name in section.get("files", DEFAULT_FILES)]
    findings: list[Finding] = []
    from_files: list[tuple[str, dict[str, tuple[str, int]]]] = []
    for name in files:
        values, problems = _read_dotenv(root / name, name, environ)
        findings.extend(problems)
        from_files.append((name, values))
    places = ", ".join(["the environment", *files])
    resolved = {variable: _lookup(variable, environ, from_files) for variable in variables}
    secrets = _secret_values(variables, resolved, environ, from_files)
    for variable, value in resolved.items():
        declared = f" (declared in {variable.declared_in})" if variable.declared_in else ""
        if value is not None and not value.text and variable.required:
            findings.append(
                Finding(
                    "env-missing",
                    f"{variable.name} is required{declared} but empty (from {value.origin})",
                    location=value.location,
                )
            )
            continue
        if value is None:
            if variable.required:
                findings.append(
                    Finding(
                        "env-missing",
                        f"{variable.name} is required{declared} but not set (looked in {places})",
                    )
                )
            else:
                findings.append(
                    Finding(
                        "env-unset",
                        f"{variable.name} is not set (optional)",
                        Severity.INFO,
                    )
                )
            continue
        reason = check_value(variable, value.text)
        if reason is None:
            continue
        shown = (
            "value hidden: secret" if variable.secret else f"got {_redact(value.text, secrets)!r}"
        )
        findings.append(
            Finding(
                "env-invalid",
                f"{variable.name} {reason} ({shown}; from {value.origin})",
                location=value.location,
            )
        )
    if redact is None:
        return findings
    return [dataclasses.replace(f, message=redact(f.message)) for f in findings]


def _secret_values(
    variables: Sequence[Variable],
    resolved: Mapping[Variable, _Value | None],
    environ: Mapping[str, str],
    from_files: Sequence[tuple[str, Mapping[str, tuple[str, int]]]],
) -> list[str]:
    """Every secret value in sight: a plain value may embed one through ${VAR} expansion.

    A declared variable is secret as declared; any other name is secret when it looks so.
    """
    declared = {variable.name: variable.secret for variable in variables}

    def secret(name: str) -> bool:
        return declared[name] if name in declared else looks_secret(name)

    found = [value.text for variable, value in resolved.items() if value and variable.secret]
    found += [text for name, text in environ.items() if secret(name)]
    for _, values in from_files:
        found += [text for name, (text, _) in values.items() if secret(name)]
    # longest first, so a secret containing another is hidden whole
    return sorted({text for text in found if text}, key=len, reverse=True)


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        # a very short secret ("1", "on") would blank out unrelated characters: only whole
        # values equal to it are hidden
        if len(secret) >= MIN_SECRET_LENGTH or text == secret:
            text = text.replace(secret, MASK)
    return text


def _lookup(
    variable: Variable,
    environ: Mapping[str, str],
    from_files: Sequence[tuple[str, Mapping[str, tuple[str, int]]]],
) -> _Value | None:
    if variable.name in environ:
        return _Value(environ[variable.name], "the environment", None)
    for name, values in from_files:
        if variable.name in values:
            text, line = values[variable.name]
            return _Value(text, f"{name}:{line}", f"{name}:{line}")
    if variable.default is not None:
        key = f"env.variables.{variable.name}.default"
        return _Value(variable.default, f"the default in {key}", None)
    return None


def _read_dotenv(
    path: Path, name: str, environ: Mapping[str, str]
) -> tuple[dict[str, tuple[str, int]], list[Finding]]:
    """The values of one dotenv file with their line numbers, and its malformed lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, [Finding("env-file", f"{name} does not exist; skipped", Severity.INFO, name)]
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8"
        return {}, [Finding("env-file", f"cannot read {name}: {reason}", location=name)]
    values: dict[str, tuple[str, int]] = {}
    problems: list[Finding] = []
    # python-dotenv's own parser (what dotenv_values uses), which also gives line numbers;
    # a malformed line is reported by number only, since it may hold a secret
    for binding in parse_stream(io.StringIO(text)):
        # a binding's line is where the blank lines before it start; count past them
        original = binding.original.string
        leading = original[: len(original) - len(original.lstrip())]
        line = binding.original.line + len(_NEWLINE.findall(leading))
        if binding.error:
            problems.append(
                Finding(
                    "env-malformed-line",
                    f"{name}:{line}: cannot parse this line; write KEY=value",
                    location=f"{name}:{line}",
                )
            )
        elif binding.key is not None and binding.value is not None:
            # ${VAR} expands like python-dotenv's dotenv_values: earlier lines, then environ
            scope: dict[str, str | None] = {**environ, **{k: v for k, (v, _) in values.items()}}
            expanded = "".join(atom.resolve(scope) for atom in parse_variables(binding.value))
            values[binding.key] = (expanded, line)
    return values, problems
