"""The pytest collectors and items generated from ``deployment-config.json``.

Node ids look like ``deployment-config.json::phase2::availability[GET /providers]``: the
file, the phase, then the family with its parameter, so ``-k``, ``-m``, ``--lf``, JUnit XML
and pytest-html all see stable, unique names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_deploycheck.core.errors import CheckSkipped, DeployCheckError
from pytest_deploycheck.core.families import PHASES
from pytest_deploycheck.core.findings import Finding, Severity, failures, format_findings
from pytest_deploycheck.gate.checks import Check, Outcome
from pytest_deploycheck.gate.session import DeployCheckSession

__all__ = [
    "CHECK_PROPERTY",
    "FAILURES_PROPERTY",
    "SAMPLES_PROPERTY",
    "CheckFailed",
    "CheckItem",
    "ConfigFile",
    "PhaseCollector",
]

# user properties carry an item's identity and samples to the controller (across xdist too)
CHECK_PROPERTY = "deploycheck_check"
SAMPLES_PROPERTY = "deploycheck_samples"
# the rule and first message line of a failed item's first error: what the verdict names
FAILURES_PROPERTY = "deploycheck_failure"
SESSION_KEY = pytest.StashKey[DeployCheckSession]()


# families that send requests to the target, and those whose items generate many of them
_LIVE = frozenset(
    {
        "health",
        "availability",
        "drift",
        "tls",
        "contract",
        "negative",
        "stateful",
        "smoke",
        "performance",
    }
)
_GENERATED = frozenset({"contract", "negative", "stateful", "smoke"})


class CheckFailed(Exception):
    """A check found errors; the item's report lists them instead of a traceback."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__(format_findings(findings))


class ConfigFile(pytest.File):
    """``deployment-config.json``: one collector per phase."""

    def __init__(self, *, checks: list[Check], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks = checks

    def collect(self) -> Iterator[PhaseCollector]:
        for phase in PHASES:
            selected = [check for check in self.checks if check.phase == phase]
            if selected:
                yield PhaseCollector.from_parent(self, name=phase, checks=selected)


class PhaseCollector(pytest.Collector):
    """The checks of one phase."""

    def __init__(self, *, checks: list[Check], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks = checks

    def collect(self) -> Iterator[CheckItem]:
        # a node id is printed, written to JUnit XML and cached: an operation's path that
        # holds a secret is masked there too
        redact = self.config.stash[SESSION_KEY].redactor.redact
        for check in self.checks:
            yield CheckItem.from_parent(
                self, name=redact(check.name), check=check, **_node_id(self, check, redact)
            )


def _node_id(
    parent: pytest.Collector, check: Check, redact: Callable[[str], str]
) -> dict[str, Any]:
    """On pytest 9, node ids are structured: ``[param]`` must be set as params, not in the
    name, or ``--lf`` and the cache cannot match an item with its recorded id."""
    structured: Any = getattr(parent, "id", None)
    if check.param is None or not hasattr(structured, "with_params"):
        return {}
    return {"nodeid": structured.child(check.family).with_params(redact(check.param))}


class CheckItem(pytest.Item):
    """One check. Its markers are its phase, its round (phase1) and its family."""

    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.outcome: Outcome | None = None
        for marker in (check.phase, check.round, check.family):
            if marker:
                self.add_marker(marker)
        self.user_properties.append((CHECK_PROPERTY, f"{check.phase}:{check.family}"))

    @property
    def session_state(self) -> DeployCheckSession:
        return self.config.stash[SESSION_KEY]

    def runtest(self) -> None:
        state = self.session_state
        check = self.check
        try:
            if check.family in _GENERATED and state.target_suspect:
                # hundreds of generated-request items against a dead target would each take
                # their whole time to fail; one look at the port tells them all
                local = check.phase == "phase1"
                refusal = state.target_refusal(
                    state.local_base_url() if local else state.base_url()
                )
                if refusal is not None:
                    finding = Finding("target-unreachable", refusal, location=check.param)
                    raise CheckFailed([finding.redacted(state.redactor.redact)])
                state.target_suspect = False
            outcome = check.run(state)
            if failures(outcome.findings):
                state.target_suspect = state.target_suspect or check.family in _LIVE
        except CheckSkipped as exc:
            # nothing to check is said as such, not counted as a pass
            pytest.skip(state.redactor.redact(str(exc)))
        except Exception:
            state.target_suspect = state.target_suspect or check.family in _LIVE
            raise
        self.outcome = outcome
        redact = state.redactor.redact
        if outcome.samples:
            # user properties reach JUnit XML: labels are masked like node ids
            payload = [
                [redact(s.label), s.ok, None if s.latency_ms is None else round(s.latency_ms, 3)]
                for s in outcome.samples
            ]
            self.user_properties.append((SAMPLES_PROPERTY, json.dumps(payload)))
        if outcome.details:
            self.add_report_section("call", "deploycheck", redact("\n".join(outcome.details)))
        errors = failures(outcome.findings)
        notes = [f for f in outcome.findings if f.severity is not Severity.ERROR]
        if notes:
            masked = [finding.redacted(redact) for finding in notes]
            self.add_report_section("call", "findings", format_findings(masked))
        if errors:
            redacted = [finding.redacted(redact) for finding in errors]
            first = redacted[0]
            # most messages name their operation already; the location would repeat it
            shown = first.location and first.location not in first.message
            where = f"{first.location}: " if shown else ""
            line = where + (first.message.splitlines() or [""])[0]
            if len(redacted) > 1:
                line += f" (and {len(redacted) - 1} more)"
            self.user_properties.append((FAILURES_PROPERTY, json.dumps([first.rule, line])))
            raise CheckFailed(redacted)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        redact = self.session_state.redactor.redact
        if isinstance(excinfo.value, DeployCheckError):
            return redact(str(excinfo.value))
        # a check that crashed: its traceback may quote a request, a URL or a header
        return redact(str(super().repr_failure(excinfo, style=style)))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{self.check.phase}::{self.name}"
