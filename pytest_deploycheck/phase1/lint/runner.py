"""Running the rules: levels from the config, ignored pointers, findings located in the file.

``validate_document`` runs the structural rules, ``lint_spec`` the others, ``check_openapi``
both, configured by the ``openapi`` section of deployment-config.json. The context is built
once per spec and kept with it. A rule that raises (a bug: rules tolerate any JSON where the
meta-schema is violated) becomes one ``lint-rule-crashed`` error, and the others still run.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity
from pytest_deploycheck.core.spec import Spec

from .context import LintContext
from .indexer import Indexer
from .registry import RULES, Rule

# The rule modules, imported for their @rule declarations. Their order is the order of RULES,
# which is the order of findings that share a line: keep it.
# isort: off
from . import validity, metadata, servers, paths, operations  # noqa: F401
from . import links, components, schemas, texts, examples  # noqa: F401
# isort: on

LEVELS = ("error", "warning", "info", "off")
EXTENDS = ("recommended", "minimal", "all", "none")


def _levels(settings: Mapping[str, str] | None, extends: str) -> dict[str, str]:
    """Effective level per rule id, after the base ruleset and the user's settings."""
    problems: list[str] = []
    if extends not in EXTENDS:
        problems.append(
            f"openapi.extends: {extends!r} is not a ruleset; use one of {', '.join(EXTENDS)}"
        )
    levels: dict[str, str] = {}
    for rule in RULES.values():
        level = rule.severity
        if extends == "minimal" and level != "error":
            level = "off"
        elif extends == "all" and level == "off":
            level = "warning"
        elif extends == "none" and not rule.structural:
            level = "off"
        levels[rule.id] = level
    for rule_id, level in (settings or {}).items():
        if rule_id not in RULES:
            close = difflib.get_close_matches(rule_id, list(RULES), n=1, cutoff=0.5)
            hint = f" -> did you mean {close[0]!r}?" if close else ""
            problems.append(
                f"openapi.rules: unknown rule {rule_id!r}{hint} Valid rules: "
                + ", ".join(sorted(RULES))
            )
        elif level not in LEVELS:
            problems.append(
                f"openapi.rules.{rule_id}: {level!r} is not a severity; use one of "
                + ", ".join(LEVELS)
            )
        else:
            levels[rule_id] = level
    if problems:
        raise ConfigError(problems)
    return levels


def _normalise_prefix(prefix: str) -> str:
    prefix = prefix.rstrip("/") if prefix not in ("#/", "/") else ""
    return prefix if prefix.startswith("#") else "#" + prefix


def _context(spec: Spec) -> LintContext:
    """The index of ``spec``, built on first use and kept with it."""
    ctx = spec.derived.get("lint")
    if not isinstance(ctx, LintContext):
        spec.read_json_text()  # findings are located in it, and it is cheaper to read now
        ctx = Indexer(spec).run()
        spec.derived["lint"] = ctx
    return ctx


def _run(
    spec: Spec,
    rules: Iterable[Rule],
    levels: Mapping[str, str],
    ignore: Iterable[str],
    *,
    release: bool = False,
) -> list[Finding]:
    """Run ``rules``, then locate their findings; ``release`` drops the index before that."""
    ctx = _context(spec)
    prefixes = [_normalise_prefix(p) for p in ignore]
    issues: list[tuple[Rule, Severity, str, str]] = []
    crashes: list[Finding] = []
    for rule in rules:
        level = levels.get(rule.id, rule.severity)
        if level == "off":
            continue
        try:
            found = list(rule.check(ctx))
        except Exception as exc:  # noqa: BLE001 - a bug in one rule must not hide the others
            crashes.append(_crash(rule, exc))
            continue
        for pointer, message in found:
            if not any(p == "#" or pointer == p or pointer.startswith(p + "/") for p in prefixes):
                issues.append((rule, Severity(level), pointer, message))
    if release:
        # Locating reads the file again: the index (a third of the memory on a document
        # the size of Microsoft Graph's) is not needed for that, nor kept for a second lint.
        spec.derived.pop("lint", None)
        del ctx
    located: dict[str, str] = {}
    pointers = [p for _, _, p, _ in issues if not p.startswith("@")]
    if spec.source is not None and pointers:
        located = spec.locate_many(pointers)
    elif release:  # the text read for the findings is not needed: a valid document keeps none
        spec.forget_text()
    ranked: list[tuple[tuple[str, int], Finding]] = []
    for rule, severity, pointer, message in issues:
        if pointer.startswith("@"):  # already a file:line
            where = location = pointer[1:]
        elif pointer in located:
            where = located[pointer]
            location = f"{where} ({pointer})"
        else:
            where = location = pointer
        file, _, line = where.rpartition(":")
        order = (file, int(line)) if line.isdigit() else (where, 0)
        ranked.append((order, Finding(rule.id, message, severity, location)))
    ranked.sort(key=lambda item: item[0])
    return [*crashes, *(finding for _, finding in ranked)]


RULE_CRASHED = "lint-rule-crashed"
"""The rule id of the finding that stands for a rule that raised instead of reporting."""


def _crash(rule: Rule, exc: Exception) -> Finding:
    """An error finding for a rule that raised: a bug here, never the document's fault."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return Finding(
        RULE_CRASHED,
        f"rule {rule.id} failed on this document ({type(exc).__name__}: {first}), so its "
        "findings are missing; this is a bug in deploycheck, please report it",
        Severity.ERROR,
    )


_SECTION_KEYS = frozenset(("rules", "ignore", "extends", "enabled"))


@dataclass(frozen=True)
class _Settings:
    levels: dict[str, str]
    ignore: list[str]
    enabled: bool


def _settings(settings: Mapping[str, Any] | None, ignore: Iterable[str], extends: str) -> _Settings:
    """Rule levels and ignored pointers from a rule map or from a whole ``openapi`` section."""
    rules: Mapping[str, Any] | None = settings
    ignored = list(ignore)
    enabled = True
    if settings and set(settings) <= _SECTION_KEYS:  # the config section itself
        rules = settings.get("rules") or {}
        ignored += list(settings.get("ignore") or [])
        extends = settings.get("extends", extends)
        enabled = settings.get("enabled", True) is not False
    return _Settings(_levels(rules, extends), ignored, enabled)


def validate_document(
    spec: Spec, settings: Mapping[str, Any] | None = None, *, ignore: Iterable[str] = ()
) -> list[Finding]:
    """Structural validity: the official meta-schema, resolvable references, unique keys.

    Every problem at once, each located at ``file:line (#/pointer)``. A version other than
    3.0.x or 3.1.x is one error. ``settings`` (a rule map, or the whole ``openapi`` config
    section) may change the severity of these rules (``oas3-schema``, ``no-unresolved-refs``,
    ``no-duplicate-keys``) like any other, and ``ignore`` drops findings under pointers.
    """
    config = _settings(settings, ignore, "recommended")
    if not config.enabled:
        return []
    rules = [r for r in RULES.values() if r.structural]
    return _run(spec, rules, config.levels, config.ignore)


def lint_spec(
    spec: Spec,
    settings: Mapping[str, Any] | None = None,
    *,
    ignore: Iterable[str] = (),
    extends: str = "recommended",
) -> list[Finding]:
    """Run the lint rules of ``RULES`` (not the structural ones) over ``spec``.

    ``settings`` maps a rule id to ``"error"``, ``"warning"``, ``"info"`` or ``"off"`` over the
    ``extends`` base ruleset; an unknown id or severity raises ConfigError with a suggestion.
    Findings under an ``ignore`` pointer prefix are dropped. The whole ``openapi`` config
    section (``{"rules": ..., "ignore": ..., "extends": ...}``) is accepted as ``settings`` too.
    """
    config = _settings(settings, ignore, extends)
    if not config.enabled:
        return []
    rules = [r for r in RULES.values() if not r.structural]
    return _run(spec, rules, config.levels, config.ignore, release=True)


def check_openapi(spec: Spec, section: Mapping[str, Any] | None = None) -> list[Finding]:
    """Validity then lint, configured by the ``openapi`` section of deployment-config.json."""
    section = {"rules": {}, **(section or {})}  # always read as a section, even when empty
    _settings(section, (), "recommended")  # report configuration problems before any work
    return [*validate_document(spec, section), *lint_spec(spec, section)]
