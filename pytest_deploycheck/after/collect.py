"""``deploycheck collect``: measure the deployment in rounds after it went live.

Rounds start at offsets from the start (``collect.rounds``, default ``0s``, ``5m``, ``15m``;
``--quick`` runs the first only). Each round checks health, probes every selected operation
for availability and sends ``collect.samples`` requests to each measured one for latency,
then stores the round against the deployment (saving a round again replaces it). The
deployment's score then uses every run and round it has, so stability sees the latencies
across rounds. Ctrl-C keeps the rounds already stored.

Progress is reported through a :class:`CollectProgress`; :class:`RichCollectProgress` draws
it on a rich console.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from pytest_deploycheck.core.bounds import Bounds, bounded_async_client, bounded_client
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.spec import Operation, Spec
from pytest_deploycheck.core.stats import percentile
from pytest_deploycheck.core.units import format_duration, parse_duration
from pytest_deploycheck.live.availability import send_probe
from pytest_deploycheck.live.health import check_health
from pytest_deploycheck.live.probes import ProbeRequest
from pytest_deploycheck.score.history import HistoryStore
from pytest_deploycheck.score.results import OperationSamples, RunResult
from pytest_deploycheck.score.scoring import Score, ScoringSettings, score_run

__all__ = [
    "CollectProgress",
    "CollectResult",
    "CollectSettings",
    "RichCollectProgress",
    "RoundSummary",
    "collect_round",
    "format_round",
    "run_collect",
    "select_operations",
]

DEFAULT_ROUNDS = ("0s", "5m", "15m")
DEFAULT_SAMPLES = 5
DEFAULT_CONCURRENCY = 10
PHASE = "collect"
EXIT_INTERRUPTED = 130
_SAFE_METHODS = frozenset({"get", "head", "options"})
_TICK = 1.0  # seconds between two progress updates while waiting


@dataclass(frozen=True, slots=True)
class CollectSettings:
    """The ``collect`` section with its defaults applied; offsets and timeout in seconds."""

    rounds: tuple[float, ...] = (0.0, 300.0, 900.0)
    samples: int = DEFAULT_SAMPLES
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = 10.0

    @classmethod
    def from_config(
        cls,
        section: Mapping[str, Any],
        *,
        quick: bool = False,
        timeout: float = 10.0,
        source: str = "deployment-config.json",
    ) -> CollectSettings:
        """Parse ``section``; ``quick`` keeps the first round only."""
        written = [str(offset) for offset in section.get("rounds") or DEFAULT_ROUNDS]
        offsets = [parse_duration(offset) for offset in written]
        problems = [
            f"collect.rounds: {written[i]!r} comes after {written[i - 1]!r}; list the rounds "
            'in increasing order, such as ["0s", "5m", "15m"]'
            for i in range(1, len(offsets))
            if offsets[i] <= offsets[i - 1]
        ]
        if problems:
            raise ConfigError(problems, source=source)
        if quick:
            offsets = offsets[:1]
        if "timeout" in section:
            timeout = parse_duration(section["timeout"])
        return cls(
            rounds=tuple(offsets),
            samples=int(section.get("samples", DEFAULT_SAMPLES)),
            concurrency=int(section.get("concurrency", DEFAULT_CONCURRENCY)),
            timeout=timeout,
        )


def select_operations(
    spec: Spec,
    collect: Mapping[str, Any],
    availability: Mapping[str, Any],
    *,
    source: str = "deployment-config.json",
) -> tuple[list[str], set[str]]:
    """The labels to probe and, among them, those to measure with ``samples`` requests.

    Probed: ``collect.include``, else the operations availability probes
    (``availability.include`` minus ``availability.exclude``); minus ``collect.exclude``.
    Measured: ``collect.measure``, else the probed GET, HEAD and OPTIONS operations without a
    required body: the others (which create or cancel things) get one probe per round.
    """
    operations = {operation.label: operation for operation in spec.operations}
    problems = [
        f"{name}.{key}: {label!r} is not an operation of {spec.name}"
        for name, section in (("collect", collect), ("availability", availability))
        for key in ("include", "exclude", "measure")
        for label in section.get(key) or ()
        if label not in operations
    ]
    if problems:
        raise ConfigError(problems, source=source)
    if collect.get("include"):
        chosen = set(collect["include"])
    elif availability.get("include"):
        chosen = set(availability["include"]) - set(availability.get("exclude") or ())
    else:
        chosen = set(operations) - set(availability.get("exclude") or ())
    chosen -= set(collect.get("exclude") or ())
    probed = [label for label in operations if label in chosen]
    if collect.get("measure") is not None:
        measured = set(collect["measure"]) & set(probed)
    else:
        measured = {label for label in probed if _safe(spec, operations[label])}
    return probed, measured


def _safe(spec: Spec, operation: Operation) -> bool:
    body = spec.resolve(operation.definition.get("requestBody"))
    required_body = isinstance(body, Mapping) and bool(body.get("required"))
    return operation.method.lower() in _SAFE_METHODS and not required_body


# -- one round ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoundSummary:
    """One stored round: its number, its offset from the start and what it measured."""

    number: int
    total: int
    offset: float
    run: RunResult
    seconds: float

    @property
    def failed(self) -> list[str]:
        """Labels of the operations with at least one failed probe."""
        return [label for label, s in self.run.operations.items() if not s.ok]


async def _probe_operations(
    client: httpx.AsyncClient,
    requests: Mapping[str, tuple[ProbeRequest, int]],
    *,
    concurrency: int,
    timeout: float,
    allowed: Mapping[str, frozenset[int]],
) -> dict[str, OperationSamples]:
    gate = asyncio.Semaphore(max(1, concurrency))
    samples = {label: OperationSamples(label) for label in requests}

    async def one(label: str, request: ProbeRequest) -> None:
        async with gate:
            result = await send_probe(client, label, request, timeout)
        # a redirect is not followed (target.max_redirects): unless documented, it is no answer
        redirect = result.status is not None and 300 <= result.status < 400
        ok = (result.answered and not redirect) or result.status in allowed.get(label, frozenset())
        failure = None
        if not ok:
            failure = result.error or f"{result.method} {result.url} answered {result.status}"
        latency = result.latency_ms if result.status is not None else None
        samples[label].record(ok, latency, failure)

    await asyncio.gather(
        *(one(label, request) for label, (request, count) in requests.items() for _ in range(count))
    )
    return samples


def collect_round(
    number: int,
    *,
    deploy_id: str,
    base_url: str,
    requests: Mapping[str, tuple[ProbeRequest, int]],
    settings: CollectSettings,
    health: Mapping[str, Any] | None,
    headers: Mapping[str, str] | None = None,
    verify: bool = True,
    allowed: Mapping[str, frozenset[int]] | None = None,
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    bounds: Bounds | None = None,
) -> RunResult:
    """Measure one round: health (unless ``health`` is None), then every request ``count``
    times, concurrently; return it as a collect :class:`RunResult`.

    Every request stays within ``bounds`` (the target's), its deadline ``settings.timeout``.
    """
    run = RunResult(deploy_id, PHASE, now(), now(), round=number)
    limits = (bounds or Bounds()).with_timeout(settings.timeout)
    if health is not None:
        with bounded_client(
            base_url, limits, headers=headers, verify=verify, transport=transport
        ) as client:
            checked = check_health(client, health, sleep=sleep)
        run.health_ok = checked.ok
        if not checked.ok:
            run.fail_check("health")

    async def go() -> dict[str, OperationSamples]:
        pool = httpx.Limits(max_connections=max(1, settings.concurrency))
        async with bounded_async_client(
            base_url,
            limits,
            headers=headers,
            verify=verify,
            limits=pool,
            transport=async_transport,
        ) as client:
            return await _probe_operations(
                client,
                requests,
                concurrency=settings.concurrency,
                timeout=settings.timeout,
                allowed=allowed or {},
            )

    if requests:
        for samples in asyncio.run(go()).values():
            run.samples(samples.label).extend(samples)
    if any(not samples.ok for samples in run.operations.values()):
        run.fail_check("availability")
    run.finished_at = now()
    return run


# -- progress -------------------------------------------------------------------------------


class CollectProgress(Protocol):
    """What ``run_collect`` reports while it works (all calls from the calling thread)."""

    def waiting(self, number: int, total: int, remaining: float) -> None:
        """Round ``number`` starts in ``remaining`` seconds."""

    def round_started(self, number: int, total: int, operations: int) -> None:
        """Round ``number`` of ``total`` starts probing ``operations`` operations."""

    def round_finished(self, summary: RoundSummary) -> None:
        """A round was measured and stored."""


class _Silent:
    def waiting(self, number: int, total: int, remaining: float) -> None:
        return None

    def round_started(self, number: int, total: int, operations: int) -> None:
        return None

    def round_finished(self, summary: RoundSummary) -> None:
        return None


def format_round(summary: RoundSummary) -> str:
    """One line about a round: what answered, the latencies, what failed (rich markup)."""
    run = summary.run
    operations = run.operations
    answered = sum(1 for samples in operations.values() if samples.ok)
    latencies = [value for samples in operations.values() for value in samples.latencies_ms]
    offset = format_duration(summary.offset) if summary.offset else "0s"
    parts = [f"round {summary.number}/{summary.total} (+{offset}):"]
    if run.health_ok is not None:
        parts.append("health [green]ok[/]," if run.health_ok else "health [red]FAILED[/],")
    parts.append(f"{answered}/{len(operations)} operations answered")
    if latencies:
        parts.append(
            f"(p50 {percentile(latencies, 50):.0f} ms, p95 {percentile(latencies, 95):.0f} ms, "
            f"{len(latencies)} samples)"
        )
    parts.append(f"in {format_duration(summary.seconds)}")
    line = " ".join(parts)
    failed = summary.failed
    if failed:
        line += "\n  [red]failed:[/] " + ", ".join(_escape(label) for label in failed)
    return line


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


class RichCollectProgress:
    """Draws collect's progress on a rich console: a status line while it waits or probes,
    and one line per stored round. Use it as a context manager."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self._status: Any = None

    def __enter__(self) -> RichCollectProgress:
        self._status = self.console.status("starting collect")
        self._status.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._status is not None:
            self._status.stop()

    def _update(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)

    def waiting(self, number: int, total: int, remaining: float) -> None:
        self._update(f"round {number}/{total} starts in {format_duration(math.ceil(remaining))}")

    def round_started(self, number: int, total: int, operations: int) -> None:
        self._update(f"round {number}/{total}: probing {operations} operations")

    def round_finished(self, summary: RoundSummary) -> None:
        self.console.print(format_round(summary))


# -- the command ----------------------------------------------------------------------------


@dataclass
class CollectResult:
    """What ``collect`` did: the rounds stored, whether Ctrl-C cut it short, and the
    deployment's score over everything stored for it."""

    deploy_id: str
    planned: int
    rounds: list[RoundSummary] = field(default_factory=list)
    interrupted: bool = False
    score: Score | None = None

    @property
    def exit_code(self) -> int:
        """130 when interrupted, 1 when the deployment's verdict fails, else 0."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return 0 if self.score is None or self.score.passed else 1

    def describe(self) -> str:
        """A closing summary (rich markup)."""
        kept = ", ".join(str(summary.number) for summary in self.rounds) or "none"
        lines = []
        if self.interrupted:
            lines.append(
                f"[yellow]interrupted[/]: kept {len(self.rounds)} of {self.planned} rounds "
                f"({kept}) for deployment {_escape(self.deploy_id)}; the rest were not run"
            )
        else:
            lines.append(
                f"collected {len(self.rounds)} round(s) for deployment {_escape(self.deploy_id)}"
            )
        if self.score is not None:
            components = ", ".join(
                f"{name} {'-' if value is None else f'{value:.1f}'}"
                for name, value in self.score.components.as_dict().items()
            )
            colour = {"pass": "green", "warn": "yellow"}.get(self.score.verdict.value, "red")
            lines.append(
                f"deployment score [{colour}]{self.score.score:.1f}[/] ({self.score.band.value}, "
                f"{self.score.band.advice}; verdict {self.score.verdict.value}): {components}"
            )
            lines.extend(f"  {_escape(reason)}" for reason in self.score.reasons)
        return "\n".join(lines)


def run_collect(
    session: Any,
    store: HistoryStore,
    *,
    quick: bool = False,
    progress: CollectProgress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
) -> CollectResult:
    """``deploycheck collect`` for a :class:`~.session.DeployCheckSession`.

    ``clock`` and ``sleep`` time the waits between rounds (a test passes a fake pair where
    sleeping advances the clock); the transports replace the network in tests.
    """
    config = session.config
    source = str(config.path)
    availability = session.section("availability")
    default_timeout = parse_duration(availability.get("timeout", config.timeout))
    settings = CollectSettings.from_config(
        session.section("collect"), quick=quick, timeout=default_timeout, source=source
    )
    scoring = ScoringSettings.from_config(session.section("scoring"))
    labels, measured = select_operations(
        session.spec, session.section("collect"), availability, source=source
    )
    requests = {
        label: (session.probe_request(session.operation(label)), _count(label, measured, settings))
        for label in labels
    }
    allow_status = availability.get("allow_status") or {}
    allowed = {
        label: frozenset(int(code) for code in allow_status.get(label, ()))
        # the redirects the spec documents are the operation's answer
        | {s for s in range(300, 400) if session.operation(label).documents(s)}
        for label in labels
    }
    health_section = session.section("health")
    health = health_section if health_section.get("enabled", True) else None
    deploy_id = session.deployment_id
    deployment = session.deployment_record()
    report = progress or _Silent()
    result = CollectResult(deploy_id, len(settings.rounds))
    base_url = session.base_url()
    start = clock()
    try:
        for number, offset in enumerate(settings.rounds, start=1):
            _wait_until(start + offset, number, len(settings.rounds), report, clock, sleep)
            report.round_started(number, len(settings.rounds), len(requests))
            began = clock()
            run = collect_round(
                number,
                deploy_id=deploy_id,
                base_url=base_url,
                requests=requests,
                settings=settings,
                health=health,
                headers=config.headers,
                verify=config.verify_tls,
                allowed=allowed,
                transport=transport,
                async_transport=async_transport,
                now=now,
                sleep=sleep,
                bounds=config.bounds,
            )
            store.save_run(run, deployment=deployment)
            summary = RoundSummary(number, len(settings.rounds), offset, run, clock() - began)
            result.rounds.append(summary)
            report.round_finished(summary)
    except KeyboardInterrupt:
        # The rounds stored so far stay: each was saved in its own transaction.
        result.interrupted = True
    if result.rounds:
        result.score = score_run(store.load_result(deploy_id), scoring)
    return result


def _count(label: str, measured: set[str], settings: CollectSettings) -> int:
    return settings.samples if label in measured else 1


def _wait_until(
    moment: float,
    number: int,
    total: int,
    report: CollectProgress,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    while (remaining := moment - clock()) > 0:
        report.waiting(number, total, remaining)
        sleep(min(_TICK, remaining))
