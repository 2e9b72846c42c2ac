"""Contract, negative and stateful checks: schemathesis's engine, one operation at a time.

``run_contract`` runs the engine's examples, coverage and fuzzing phases against a single
operation (``schema.include(name=label)``), so each pytest item has its own id and result;
``run_stateful`` runs its state machine over the spec's links. The engine's events become
findings that name the operation, the check and the reason, with a curl command that
reproduces the request (credentials masked), plus the latencies the run saw.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import random
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pytest_deploycheck.core.bounds import BoundExceeded, Bounds, describe_error
from pytest_deploycheck.core.errors import ConfigError, SpecError, TargetError
from pytest_deploycheck.core.findings import Finding, Severity, failures
from pytest_deploycheck.core.redaction import DEFAULT_SENSITIVE_HEADERS, MASK, Redactor
from pytest_deploycheck.core.spec import Spec
from pytest_deploycheck.core.units import format_duration, parse_duration

if TYPE_CHECKING:
    from schemathesis.engine.events import EngineEvent
    from schemathesis.engine.recorder import ScenarioRecorder
    from schemathesis.schemas import BaseSchema

__all__ = [
    "DEFAULT_CHECKS",
    "KNOWN_CHECKS",
    "ContractResult",
    "ContractSettings",
    "Mode",
    "contract_operations",
    "contract_settings",
    "run_contract",
    "run_stateful",
]

Mode = Literal["positive", "negative"]
SpecSource = Spec | Path | str | Mapping[str, Any]

PHASES = ("examples", "coverage", "fuzzing")
_RESPONSE_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
DEFAULT_CHECKS: Mapping[str, tuple[str, ...]] = {
    "positive": _RESPONSE_CHECKS,
    # A rejection is right whatever 4xx it is, documented or not, and whatever its body:
    # the contract items hold the documented answers to the spec.
    "negative": ("not_a_server_error", "negative_data_rejection"),
    "stateful": (*_RESPONSE_CHECKS, "use_after_free", "ensure_resource_availability"),
}
# schemathesis's built-in checks; max_response_time takes a limit, and performance owns latency.
KNOWN_CHECKS = (
    *_RESPONSE_CHECKS,
    "positive_data_acceptance",
    "negative_data_rejection",
    "use_after_free",
    "ensure_resource_availability",
    "missing_required_header",
    "ignored_auth",
    "unsupported_method",
    "allow_header_conformance",
)
_DEFAULTS: dict[str, Any] = {
    "max_examples": 50,
    "seed": None,
    "derandomize": False,
    "deadline": "5s",
    "max_time": "2m",
    "phases": list(PHASES),
}
_NEGATIVE_DEFAULTS: dict[str, Any] = {"enabled": True}
_STATEFUL_DEFAULTS: dict[str, Any] = {"enabled": True, "max_examples": 20, "max_steps": 10}
_BODY_PREVIEW = 400


@dataclass(frozen=True, slots=True)
class ContractSettings:
    """The effective settings of one run, after defaults and per-operation overrides."""

    family: str
    enabled: bool
    max_examples: int
    seed: int | None
    derandomize: bool
    deadline: float
    max_time: float
    phases: tuple[str, ...]
    checks: tuple[str, ...]
    max_steps: int = _STATEFUL_DEFAULTS["max_steps"]


@dataclass(frozen=True, slots=True)
class ContractResult:
    """What one run found: findings, and per request sent, whether it passed and its latency.

    ``samples`` holds (passed every check, latency in ms or None when no answer came) per
    request, in the order they were sent; ``seed`` replays the run.
    """

    label: str
    family: str
    findings: list[Finding]
    samples: list[tuple[bool, float | None]]
    seed: int
    timed_out: bool = False

    @property
    def passed(self) -> bool:
        """True when no finding is an error."""
        return not failures(self.findings)

    @property
    def cases(self) -> int:
        """How many requests the run sent."""
        return len(self.samples)

    @property
    def latencies_ms(self) -> list[float]:
        """The latency of every request that got an answer."""
        return [latency for _, latency in self.samples if latency is not None]

    @property
    def outcomes(self) -> list[bool]:
        return [ok for ok, _ in self.samples]


def contract_settings(
    section: Mapping[str, Any], operation_label: str | None = None, mode: str = "positive"
) -> ContractSettings:
    """Settings for ``mode`` (positive, negative or stateful) of one operation.

    Precedence, most specific first: ``operations[label]``, then ``negative``/``stateful``,
    then the top level of the section, then the defaults of ``contract.json``.
    """
    merged = {**_DEFAULTS, **{k: v for k, v in section.items() if k in _DEFAULTS}}
    enabled = bool(section.get("enabled", True))
    checks: dict[str, bool] = dict.fromkeys(DEFAULT_CHECKS[mode], True)
    checks.update(section.get("checks") or {})
    max_steps = int(_STATEFUL_DEFAULTS["max_steps"])
    if mode == "negative":
        negative = {**_NEGATIVE_DEFAULTS, **(section.get("negative") or {})}
        enabled = enabled and bool(negative["enabled"])
        merged.update({k: v for k, v in negative.items() if k in _DEFAULTS})
    elif mode == "stateful":
        stateful = {**_STATEFUL_DEFAULTS, **(section.get("stateful") or {})}
        enabled = enabled and bool(stateful["enabled"])
        merged["max_examples"] = stateful["max_examples"]
        max_steps = int(stateful["max_steps"])
    if operation_label is not None:
        override = (section.get("operations") or {}).get(operation_label) or {}
        merged.update({k: v for k, v in override.items() if k in _DEFAULTS})
        checks.update(override.get("checks") or {})
    seed = merged["seed"]
    return ContractSettings(
        family="contract" if mode == "positive" else mode,
        enabled=enabled,
        max_examples=int(merged["max_examples"]),
        seed=int(seed) if seed is not None else None,
        derandomize=bool(merged["derandomize"]),
        deadline=parse_duration(merged["deadline"]),
        max_time=parse_duration(merged["max_time"]),
        phases=tuple(phase for phase in PHASES if phase in merged["phases"]),
        checks=tuple(name for name in KNOWN_CHECKS if checks.get(name)),
        max_steps=max_steps,
    )


def contract_operations(spec: Spec, section: Mapping[str, Any]) -> list[str]:
    """Labels of the operations to test, in spec order, without ``exclude``.

    Raises ConfigError when ``exclude`` or ``operations`` name an operation the spec lacks.
    """
    labels = [operation.label for operation in spec.operations]
    problems = []
    for key in ("exclude", "operations"):
        for label in section.get(key) or ():
            if label not in labels:
                problems.append(f"contract.{key}: {_unknown_operation(label, labels, spec)}")
    if problems:
        raise ConfigError(problems)
    excluded = set(section.get("exclude") or ())
    return [label for label in labels if label not in excluded]


def _unknown_operation(label: str, labels: list[str], spec: Spec) -> str:
    close = difflib.get_close_matches(label, labels, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; the spec has {', '.join(labels)}"
    return f"{label!r} is not an operation of {spec.name}{hint}"


def run_contract(
    spec: SpecSource,
    base_url: str,
    operation_label: str,
    settings: Mapping[str, Any],
    *,
    mode: Mode = "positive",
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    verify: bool | str = True,
    secrets: Iterable[str] = (),
    bounds: Bounds | None = None,
) -> ContractResult:
    """Run the configured schemathesis phases against one operation of the target.

    ``settings`` is the ``contract`` section; ``timeout`` the target's deadline of a request
    (the shorter of it and ``deadline`` applies), from connecting to the answer's last byte;
    ``bounds`` gives the ceiling on an answer's size and the redirects followed. In negative
    mode only invalid input is generated and it must be rejected with a 4xx. The run stops
    after ``max_time`` with a timeout finding, its requests in flight ended, so a target that
    hangs fails the item in bounded time. Header values and ``secrets`` are masked in every
    finding.
    """
    effective = contract_settings(settings, operation_label, mode)
    seed = _seed(effective)
    limits = _request_bounds(effective, timeout, bounds)
    schema = _load_schema(spec, base_url, effective, mode, seed, headers, limits, verify)
    if schema.find_operation_by_label(operation_label) is None:
        labels = [f"{op.method.upper()} {op.path}" for op in _operations(schema)]
        raise SpecError(_unknown_operation(operation_label, labels, _as_spec(spec)))
    selected = schema.include(name=operation_label)
    return _execute(selected, operation_label, effective, seed, headers, secrets, limits)


def run_stateful(
    spec: SpecSource,
    base_url: str,
    settings: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    verify: bool | str = True,
    secrets: Iterable[str] = (),
    bounds: Bounds | None = None,
) -> ContractResult:
    """Run schemathesis's state machine over the spec's links (and the ones it infers).

    ``max_examples`` sequences of at most ``max_steps`` calls each; operations in
    ``exclude`` take no part. A spec without links yields an info finding, not a failure.
    """
    effective = contract_settings(settings, None, "stateful")
    seed = _seed(effective)
    limits = _request_bounds(effective, timeout, bounds)
    schema = _load_schema(spec, base_url, effective, "stateful", seed, headers, limits, verify)
    excluded = list(settings.get("exclude") or ())
    if excluded:
        schema = schema.exclude(name=excluded)
    return _execute(schema, "stateful", effective, seed, headers, secrets, limits)


def _request_bounds(
    settings: ContractSettings, timeout: float | None, bounds: Bounds | None
) -> Bounds:
    """The bounds of one generated request: the shorter of ``deadline`` and the target's
    timeout, with the target's ceiling on the answer and its redirects."""
    target = bounds or Bounds()
    limit = settings.deadline if timeout is None else min(settings.deadline, timeout)
    return Bounds(limit, target.max_body, target.max_redirects)


def _seed(settings: ContractSettings) -> int:
    # A run without a configured seed still reports the one it drew, so it can be replayed.
    return settings.seed if settings.seed is not None else random.getrandbits(32)


def _as_spec(source: SpecSource) -> Spec:
    if isinstance(source, Spec):
        return source
    if isinstance(source, str | Path):
        return Spec(document={}, source=Path(source))
    return Spec(document=dict(source))


def _operations(schema: BaseSchema) -> list[Any]:
    from schemathesis.core.result import Ok

    return [item.ok() for item in schema.get_all_operations() if isinstance(item, Ok)]


def _load_schema(
    source: SpecSource,
    base_url: str,
    settings: ContractSettings,
    mode: str,
    seed: int,
    headers: Mapping[str, str] | None,
    bounds: Bounds,
    verify: bool | str,
) -> BaseSchema:
    import schemathesis
    from schemathesis.config import ConfigError as SchemathesisConfigError
    from schemathesis.config import SchemathesisConfig
    from schemathesis.core.errors import LoaderError

    try:
        config = SchemathesisConfig.from_dict(
            _engine_config(base_url, settings, mode, seed, headers, bounds, verify)
        )
    except SchemathesisConfigError as exc:
        raise TargetError(f"cannot test {base_url!r}: {exc}") from None
    try:
        if isinstance(source, Spec):
            return schemathesis.openapi.from_dict(copy.deepcopy(source.document), config=config)
        if isinstance(source, str | Path):
            return schemathesis.openapi.from_path(source, config=config)
        return schemathesis.openapi.from_dict(copy.deepcopy(dict(source)), config=config)
    except LoaderError as exc:
        raise SpecError(f"schemathesis cannot load the spec: {exc}") from None
    except OSError as exc:
        raise SpecError(f"cannot read spec file {str(source)!r}: {exc.strerror}") from None


def _engine_config(
    base_url: str,
    settings: ContractSettings,
    mode: str,
    seed: int,
    headers: Mapping[str, str] | None,
    bounds: Bounds,
    verify: bool | str,
) -> dict[str, Any]:
    """The schemathesis configuration (its ``schemathesis.toml`` shape) of one run."""
    # Setting keys-to-sanitize replaces schemathesis's list, so ours extends it.
    from schemathesis.config._output import DEFAULT_KEYS_TO_SANITIZE

    sensitive = {*DEFAULT_SENSITIVE_HEADERS, *(name.lower() for name in headers or {})}
    stateful = mode == "stateful"
    # the spec's examples are valid input: negative mode has nothing to send from them
    skipped = {"examples"} if mode == "negative" else set()
    phases: dict[str, dict[str, Any]] = {
        name: {"enabled": not stateful and name in settings.phases and name not in skipped}
        for name in PHASES
    }
    phases["stateful"] = {"enabled": stateful}
    if stateful:
        phases["stateful"]["max-steps"] = max(settings.max_steps, 2)
    return {
        "seed": seed,
        "base-url": base_url.rstrip("/"),
        "request-timeout": bounds.timeout,
        # 0: a 3xx is the answer, judged against the spec; a loop stops after the limit
        "max-redirects": bounds.max_redirects,
        "tls-verify": verify,
        # replaying a cache sends outside the bounded sessions, and writes into the project
        "cache": {"enabled": False},
        "workers": 1,
        "headers": dict(headers or {}),
        "generation": {
            "mode": "negative" if mode == "negative" else "positive",
            "max-examples": settings.max_examples,
            "deterministic": settings.derandomize,
            # No .hypothesis directory in the user's project; the seed reproduces a run.
            "database": "none",
        },
        "checks": {"enabled": False, **{name: {"enabled": True} for name in settings.checks}},
        "phases": phases,
        "output": {
            "sanitization": {
                "keys-to-sanitize": sorted({*DEFAULT_KEYS_TO_SANITIZE, *sensitive}),
                "replacement": MASK,
            }
        },
        "warnings": False,
    }


def _execute(
    schema: BaseSchema,
    label: str,
    settings: ContractSettings,
    seed: int,
    headers: Mapping[str, str] | None,
    secrets: Iterable[str],
    bounds: Bounds,
) -> ContractResult:
    from schemathesis.engine import from_schema

    from .sessions import bounded

    redactor = Redactor.for_headers(headers or {}, every_value=True).with_secrets(secrets)
    collector = _Collector(label, settings, seed, redactor)
    timed_out = threading.Event()
    with bounded(schema.config, bounds) as run, _worker_crashes() as crashes:
        stream = from_schema(schema).execute()

        def stop() -> None:
            timed_out.set()
            stream.stop()
            run.stop()  # the requests in flight end now, not at their own deadline

        # The engine works in threads and reports per phase; a timer stops it mid-phase.
        timer = threading.Timer(settings.max_time, stop)
        timer.daemon = True
        timer.start()
        try:
            for event in stream:
                collector.add(event)
        finally:
            timer.cancel()
    for crash in crashes:
        collector.crashed(crash)
    if timed_out.is_set():
        collector.timed_out()
    return collector.result(timed_out.is_set())


@contextlib.contextmanager
def _worker_crashes() -> Iterator[list[BaseException]]:
    """The exceptions that end threads while inside: an engine worker that dies leaves its
    operation without a result, which must fail the item, not pass it as untested."""
    crashes: list[BaseException] = []
    previous = threading.excepthook

    def record(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            crashes.append(args.exc_value)

    threading.excepthook = record
    try:
        yield crashes
    finally:
        threading.excepthook = previous


class _Collector:
    """Turns engine events into findings, case counts and latencies."""

    def __init__(
        self, label: str, settings: ContractSettings, seed: int, redactor: Redactor
    ) -> None:
        self.label = label
        self.settings = settings
        self.family = settings.family
        self.seed = seed
        self.redactor = redactor
        self.findings: list[Finding] = []
        self.samples: list[tuple[bool, float | None]] = []
        self.transitions = -1
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, event: EngineEvent) -> None:
        from schemathesis.engine import events

        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            self._scenario(event.recorder, event.phase.value)
        elif isinstance(event, events.NonFatalError):
            self._error(event)
        elif isinstance(event, events.PhaseStarted) and event.payload is not None:
            self.transitions = event.payload.transitions_total
        elif isinstance(event, events.FatalError):
            self._add(
                "error",
                f"{self.label}: schemathesis stopped with an internal error: {event.exception}",
                key=("fatal", str(event.exception), ""),
            )

    def _scenario(self, recorder: ScenarioRecorder, phase: str) -> None:
        failing = set(recorder.failing_case_ids())
        for case_id, interaction in recorder.interactions.items():
            response = interaction.response
            latency = response.elapsed * 1000 if response is not None else None
            self.samples.append((case_id not in failing and response is not None, latency))
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.failure_info is None:
                    continue
                failure = check.failure_info.failure
                node = recorder.cases.get(case_id)
                where = node.value.operation.label if node is not None else self.label
                key = (check.name, failure.title, failure.message)
                steps = [step.curl for step in check.failure_info.steps]
                curl = "\n".join(steps) if len(steps) > 1 else check.failure_info.code_sample
                lines = [f"{where}: {check.name} failed during {phase}: {failure.title}"]
                if failure.message:
                    lines.append(_indent(failure.message))
                response = recorder.find_response(case_id=case_id)
                if response is not None:
                    preview = _preview(response.content, self.redactor)
                    lines.append(f"  Response: {response.status_code}{preview}")
                lines.append("  Reproduce with:")
                lines.append(_indent(curl))
                lines.append(f"  (seed {self.seed})")
                self._add(check.name, "\n".join(lines), key=key, location=where)

    def _error(self, event: Any) -> None:
        import requests

        info = event.info
        where = event.label if event.related_to_operation else self.label
        phase = f" during {event.phase.value}" if event.phase is not None else ""
        # schemathesis says "Connection failed" for a reset, a bad status line and a TLS
        # error alike: name what happened
        title = info.title.lower()
        message = info.message
        if isinstance(event.value, requests.RequestException):
            message = describe_error(event.value)
        if isinstance(event.value, BoundExceeded):
            title = "answer refused"
        lines = [f"{where}: {title}{phase}: {message}"]
        if info.code_sample:
            lines.append("  Reproduce with:")
            lines.append(_indent(info.code_sample))
        self._add("error", "\n".join(lines), key=("error", info.title, message))

    def crashed(self, error: BaseException) -> None:
        text = str(error).splitlines()[0] if str(error) else ""
        message = (
            f"{self.label}: schemathesis's worker stopped with {type(error).__name__}: "
            f"{text[:200]}; the operation was not fully tested (seed {self.seed})"
        )
        self._add("crash", message, key=("crash", type(error).__name__, text))

    def timed_out(self) -> None:
        message = (
            f"{self.label}: did not finish within {format_duration(self.settings.max_time)} "
            f"(contract.max_time): the target answers too slowly or hangs; the phases that "
            f"finished sent {len(self.samples)} requests (seed {self.seed})"
        )
        self._add("timeout", message, key=("timeout", "", ""))

    def _add(
        self,
        rule: str,
        message: str,
        *,
        key: tuple[str, str, str],
        severity: Severity = Severity.ERROR,
        location: str | None = None,
    ) -> None:
        if key in self._seen:
            return
        self._seen.add(key)
        text = self.redactor.redact(message)
        slug = rule.replace("_", "-")
        self.findings.append(
            Finding(f"{self.family}-{slug}", text, severity, location or self.label)
        )

    def result(self, timed_out: bool) -> ContractResult:
        findings = list(self.findings)
        if not findings and not self.samples:
            findings.append(self._nothing_to_test())
        return ContractResult(
            label=self.label,
            family=self.family,
            findings=findings,
            samples=self.samples,
            seed=self.seed,
            timed_out=timed_out,
        )

    def _nothing_to_test(self) -> Finding:
        if self.family == "stateful":
            reason = (
                "the spec has no links between operations and none could be inferred; "
                "add OpenAPI links to test sequences"
                if self.transitions <= 0
                else "no sequence could be generated from the links"
            )
        elif self.family == "negative":
            reason = "no invalid input can be generated for it (no parameters or body to break)"
        else:
            reason = f"no test case could be generated (phases: {', '.join(self.settings.phases)})"
        return Finding(
            f"{self.family}-nothing-to-test", f"{self.label}: {reason}", Severity.INFO, self.label
        )


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def _preview(content: bytes | None, redactor: Redactor) -> str:
    if not content:
        return ", empty body"
    # masked before the cut: a cut through a secret would leave its start unrecognisable
    text = content.decode("utf-8", errors="replace")
    return f", body: {redactor.preview(text, _BODY_PREVIEW)}"
