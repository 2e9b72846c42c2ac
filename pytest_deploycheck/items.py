"""The pytest collectors and items generated from the gate's config files.

Node ids look like ``deployment-config.json::phase2::availability[GET /providers]``: the
file, the phase, then the family with its parameter, so ``-k``, ``-m``, ``--lf``, JUnit XML
and pytest-html all see stable, unique names. Each config file collected has its own
``DeployCheckSession`` (``GateSessions``), so one run can gate several services.

``-m`` and ``-k`` are judged before an item exists (``Selection``): the markers of a check
(phase, round, family) and its name are known from the plan, so checks they cannot select are
never built, and the planners of families they cannot select never run.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_deploycheck.core.errors import CheckSkipped, DeployCheckError
from pytest_deploycheck.core.families import FAMILIES, PHASES, ROUNDS
from pytest_deploycheck.core.findings import Finding, Severity, failures, format_findings
from pytest_deploycheck.gate.checks import Check, Kind, Outcome

if TYPE_CHECKING:
    from pytest_deploycheck.gate.session import DeployCheckSession

__all__ = [
    "CHECK_PROPERTY",
    "CONFIG_PROPERTY",
    "FAILURES_PROPERTY",
    "SAMPLES_PROPERTY",
    "SESSIONS_KEY",
    "CheckFailed",
    "CheckItem",
    "ConfigFile",
    "GateSessions",
    "PhaseCollector",
    "Selection",
]

# user properties carry an item's identity and samples to the controller (across xdist too)
CHECK_PROPERTY = "deploycheck_check"
SAMPLES_PROPERTY = "deploycheck_samples"
# the rule and first message line of a failed item's first error: what the verdict names
FAILURES_PROPERTY = "deploycheck_failure"
# which config file an item comes from: its path relative to the rootdir
CONFIG_PROPERTY = "deploycheck_config"

GATE_MARKERS = frozenset({*PHASES, *ROUNDS, *FAMILIES})
# built once: add_marker with a name looks the marker up again for every item
_MARKS = {name: getattr(pytest.mark, name) for name in GATE_MARKERS}

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


class GateSessions:
    """The gate's sessions of one pytest run: one per config file, each made on first use.

    ``defaults`` are the config files the run gates without being named as arguments
    (``--deploycheck-config``, else the ``deploycheck_config`` ini option); the first one
    also serves the fixtures and the report header.
    """

    def __init__(
        self,
        rootpath: Path,
        defaults: Sequence[Path],
        make: Callable[[Path], DeployCheckSession],
    ) -> None:
        self.rootpath = rootpath
        self.defaults = [path.resolve() for path in defaults]
        self._make = make
        self._sessions: dict[Path, DeployCheckSession] = {}
        # problems of the config files collected, raised as one usage error at the end
        self.errors: dict[Path, DeployCheckError] = {}

    def get(self, path: Path) -> DeployCheckSession:
        """The session of the config file at ``path``."""
        resolved = path.resolve()
        if resolved not in self._sessions:
            self._sessions[resolved] = self._make(path)
        return self._sessions[resolved]

    @property
    def default(self) -> DeployCheckSession:
        return self.get(self.defaults[0])

    def key(self, path: Path) -> str:
        """How items name their config file: its path relative to the rootdir."""
        return Path(os.path.relpath(path.resolve(), self.rootpath.resolve())).as_posix()

    def for_key(self, key: str) -> DeployCheckSession:
        return self.get(self.rootpath / key)

    @property
    def several(self) -> bool:
        """Whether this run gates more than one config file."""
        return len(self._sessions) > 1

    def __iter__(self) -> Iterator[DeployCheckSession]:
        return iter(list(self._sessions.values()))

    def mask(self, text: str) -> str:
        """``text`` with the secrets of every session loaded so far masked (for log records:
        it never loads a config)."""
        for session in self:
            text = session.mask(text)
        return text

    def close(self) -> None:
        for session in self:
            session.close()


SESSIONS_KEY = pytest.StashKey[GateSessions]()


# -- -m and -k before the items exist -------------------------------------------------------

# pytest's grammar for an identifier of -m and -k (used when Expression has no idents())
_IDENT = re.compile(r"(?:\w|:|\+|-|\.|\[|\]|\\|/)+")
_OPERATORS = frozenset({"and", "or", "not", "True", "False", "None"})
# an expression with more undecidable identifiers than this is not pre-evaluated
_MAX_UNKNOWN = 8


class _CallParameters(Exception):
    """-k with call parameters: pytest reports that itself, so nothing is left out here."""


def _compile(text: str) -> Any:
    """pytest's own compiled match expression for ``text``, or None to select everything
    (no expression, an invalid one that pytest reports, or a pytest without the API)."""
    if not text.strip():
        return None
    try:
        from _pytest.mark.expression import Expression

        return Expression.compile(text.strip())
    except (ImportError, AttributeError, SyntaxError, ValueError, pytest.UsageError):
        return None


def _idents(expression: Any, text: str) -> frozenset[str]:
    """The identifiers of ``expression`` (compiled from ``text``)."""
    if expression is None:
        return frozenset()
    idents = getattr(expression, "idents", None)
    if callable(idents):
        return frozenset(idents())
    # pytest before 9: the names the grammar allows (keyword arguments too: harmless)
    return frozenset(_IDENT.findall(text)) - _OPERATORS


def _possible(
    expression: Any, truth: Callable[[str, dict[str, Any]], bool], unknown: Collection[str]
) -> bool:
    """Whether ``expression`` can hold, where ``truth`` decides an identifier and those in
    ``unknown`` may be anything (a marker a conftest adds later): each is tried both ways."""
    names = sorted(unknown)
    if len(names) > _MAX_UNKNOWN:
        return True
    for values in itertools.product((False, True), repeat=len(names)):
        try:
            if expression.evaluate(_matcher(dict(zip(names, values, strict=True)), truth)):
                return True
        except _CallParameters:
            return True
    return False


def _matcher(
    assumed: dict[str, bool], truth: Callable[[str, dict[str, Any]], bool]
) -> Callable[..., bool]:
    def matcher(name: str, /, **kwargs: Any) -> bool:
        return assumed[name] if name in assumed else truth(name, kwargs)

    return matcher


class Selection:
    """What ``-m`` and ``-k`` can select among the checks of one config file, judged from a
    check's would-be markers and names.

    pytest's own expression matcher evaluates them, as pytest would on the built item. The
    gate's markers (phases, rounds, families) are the plugin's alone: an item has them or
    not. Any other marker in ``-m`` may still be added by a conftest, so it counts both ways;
    so does a ``-k`` word that matches none of the item's names but is part of a registered
    marker's name. A check is left out only when no such choice selects it.
    """

    def __init__(
        self,
        markexpr: str,
        keywordexpr: str,
        *,
        markers: Iterable[str] = (),
        context: Sequence[str] = (),
    ) -> None:
        self._mark = _compile(markexpr)
        self._keyword = _compile(keywordexpr)
        self._foreign = [name.lower() for name in markers if name not in GATE_MARKERS]
        self._mark_unknown = _idents(self._mark, markexpr) - GATE_MARKERS
        self._keyword_idents = _idents(self._keyword, keywordexpr)
        # the names -k sees on every item of the file: its parents' names, keywords, markers
        self._context = [name.lower() for name in context]
        self._kinds: dict[Kind, bool] = {}

    @classmethod
    def from_config(cls, config: pytest.Config, context: Sequence[str] = ()) -> Selection:
        markers = [
            line.split(":", 1)[0].split("(", 1)[0].strip()
            for line in config.getini("markers")
            if isinstance(line, str)
        ]
        markexpr = str(config.option.markexpr or "")
        return cls(markexpr, str(config.option.keyword or ""), markers=markers, context=context)

    @property
    def active(self) -> bool:
        return self._mark is not None or self._keyword is not None

    def may_select_kind(self, kind: Kind) -> bool:
        """Whether some check of ``kind`` may be selected, its parameter not known yet."""
        if kind not in self._kinds:
            self._kinds[kind] = self._marks_allow(kind) and self._keywords_allow(kind, None)
        return self._kinds[kind]

    def selects(self, check: Check) -> bool:
        """Whether ``check`` may be selected: False only when pytest would deselect it."""
        return self.may_select_kind(check.kind) and (
            self._keyword is None or self._keywords_allow(check.kind, check.name)
        )

    def _marks_allow(self, kind: Kind) -> bool:
        if self._mark is None:
            return True
        own = {marker for marker in kind if marker}

        def truth(name: str, kwargs: dict[str, Any]) -> bool:
            return name in own and not kwargs  # the gate's markers carry no arguments

        return _possible(self._mark, truth, self._mark_unknown)

    def _keywords_allow(self, kind: Kind, name: str | None) -> bool:
        """-k for an item named ``name``; None: any item of the kind (its parameter unknown,
        so a word that matches no known name may be part of it)."""
        if self._keyword is None:
            return True
        # the phase collector's name, then the item's markers, then its name
        names = [*self._context, *(marker for marker in kind if marker)]
        if name is not None:
            names.append(name.lower())

        def matches(ident: str) -> bool:
            word = ident.lower()
            return any(word in known for known in names)

        def truth(ident: str, kwargs: dict[str, Any]) -> bool:
            if kwargs:
                raise _CallParameters
            return matches(ident)

        unknown = {
            ident
            for ident in self._keyword_idents
            if not matches(ident)
            and (name is None or any(ident.lower() in marker for marker in self._foreign))
        }
        return _possible(self._keyword, truth, unknown)


def context_names(node: pytest.Collector) -> list[str]:
    """The names ``-k`` matches an item against that come from ``node`` and its parents:
    their names (but the session's and the root directory's), extra keywords and markers."""
    names = [
        parent.name
        for parent in node.listchain()
        if not isinstance(parent, pytest.Session)
        and not (isinstance(parent, pytest.Directory) and isinstance(parent.parent, pytest.Session))
    ]
    names.extend(node.listextrakeywords())
    names.extend(mark.name for mark in node.iter_markers())
    return names


# -- collectors and items -----------------------------------------------------------------


@contextlib.contextmanager
def _collector_held() -> Iterator[None]:
    """Run a static check with the cyclic garbage collector paused, then collect what it
    made in one pass and freeze the rest.

    The indexes a check builds over the spec live as long as the run (millions of objects
    for a large spec): collected again and again while they grow, then at every later full
    collection, they cost a third of a run's time. Paused, everything the check made stays
    in the youngest generation, so one pass over it finds its garbage.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            gc.collect(0)
            gc.freeze()


class CheckFailed(Exception):
    """A check found errors; the item's report lists them instead of a traceback."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__(format_findings(findings))


class ConfigFile(pytest.File):
    """A gate config (``deployment-config.json``): one collector per phase.

    Planning happens here, so a config that is not collected costs nothing. A bad config,
    an unreadable spec or a setting that names something the spec lacks is recorded and
    stops the run as a usage error once collection ends, with every problem listed.
    """

    def __init__(self, *, gate: DeployCheckSession, key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = gate
        self.key = key

    def collect(self) -> Iterator[PhaseCollector]:
        from pytest_deploycheck.gate.planners import plan_checks

        sessions = self.config.stash[SESSIONS_KEY]
        context = context_names(self)
        selections = {
            phase: Selection.from_config(self.config, [*context, phase]) for phase in PHASES
        }
        active = selections["phase1"].active
        try:
            if active:
                # the planners of families -m and -k cannot select do not run at all
                checks = plan_checks(self.gate, lambda k: selections[k[0]].may_select_kind(k))
            else:
                checks = plan_checks(self.gate)
        except DeployCheckError as exc:
            sessions.errors[self.path] = exc
            return
        for phase, selection in selections.items():
            selected = [check for check in checks if check.phase == phase]
            if active:
                selected = [check for check in selected if selection.selects(check)]
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
        config_file = self.parent
        if not isinstance(config_file, ConfigFile):
            raise TypeError("a PhaseCollector belongs to a ConfigFile")
        redact = config_file.gate.redactor.redact
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
        config_file = self.parent.parent if self.parent is not None else None
        if not isinstance(config_file, ConfigFile):
            raise TypeError("a CheckItem belongs to a PhaseCollector of a ConfigFile")
        self.gate = config_file.gate
        self.key = config_file.key
        for marker in check.kind:
            if marker:
                self.add_marker(_MARKS[marker])
        self.user_properties.append((CHECK_PROPERTY, f"{check.phase}:{check.family}"))
        self.user_properties.append((CONFIG_PROPERTY, config_file.key))

    @property
    def session_state(self) -> DeployCheckSession:
        return self.gate

    def runtest(self) -> None:
        state = self.gate
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
            if check.family in _LIVE:
                outcome = check.run(state)
            else:
                with _collector_held():
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
        where = f"{self.check.phase}::{self.name}"
        if self.config.stash[SESSIONS_KEY].several:
            # the headings of failures of two services must say which one failed (after the
            # name: pytest reads a domain that ends the node id as a dotted Python path)
            where = f"{where} ({self.key})"
        return self.path, None, where
