"""The deployment score: availability, performance and stability, weighted into 0-100.

Pure functions over a :class:`~pytest_deploycheck.score.results.RunResult`; DESIGN.md's definition:

- availability = 100 x operations whose probes all answered / operations probed; a failing
  health check makes it 0. With no operation probed, a passing health check gives 100.
- performance = mean over operations of s: 100 when p95 <= target, 0 when p95 >= max, linear
  in between. p95 is interpolated linearly between order statistics (numpy's default).
- stability = mean over operations of 100 x max(0, 1 - cv / cv_max), cv being the sample
  standard deviation over the mean of that operation's latencies, all rounds together.
  An operation with fewer than 2 latency samples has no cv and is left out of stability.
- score = weighted mean of the components (default 40/40/20), rounded to one decimal; band
  and verdict are decided on that rounded number, the one reports show.

A component with nothing to measure (no latency at all, say) is reported as None and its
weight is spread over the measured ones, so a missing measurement neither earns nor costs
points; a run where nothing at all was measured scores 0 and fails.
"""

from __future__ import annotations

import difflib
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.families import FAMILIES
from pytest_deploycheck.core.stats import percentile
from pytest_deploycheck.core.units import parse_duration, parse_percent

from .results import OperationSamples, RunResult

__all__ = [
    "CHECK_FAMILIES",
    "DEFAULT_SETTINGS",
    "Band",
    "Components",
    "OperationScore",
    "Score",
    "ScoringSettings",
    "Thresholds",
    "Verdict",
    "Weights",
    "band_for",
    "coefficient_of_variation",
    "performance_points",
    "score_run",
    "stability_points",
]

# Families whose failure may fail the verdict (``scoring.key_checks``).
CHECK_FAMILIES = tuple(FAMILIES)


class Band(StrEnum):
    """Where a score falls: 90-100 excellent, 70-89 good, 50-69 fair, 0-49 poor."""

    EXCELLENT = "excellent"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"

    @property
    def advice(self) -> str:
        """A few words for the reader."""
        return {
            Band.EXCELLENT: "ship it",
            Band.GOOD: "healthy",
            Band.FAIR: "watch it",
            Band.POOR: "consider rollback",
        }[self]


class Verdict(StrEnum):
    """Whether the gate lets the deployment through."""

    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Latency thresholds of the performance component, in milliseconds."""

    target_ms: float = 300.0
    max_ms: float = 2000.0


@dataclass(frozen=True, slots=True)
class Weights:
    """Relative weights of the components; only their ratios matter."""

    availability: float = 40.0
    performance: float = 40.0
    stability: float = 20.0


@dataclass(frozen=True)
class ScoringSettings:
    """The ``scoring`` section, parsed, with its defaults filled in."""

    weights: Weights = field(default_factory=Weights)
    thresholds: Thresholds = field(default_factory=Thresholds)
    operations: Mapping[str, Thresholds] = field(default_factory=dict)
    cv_max: float = 1.0
    # the coefficient of variation of two samples says nothing: a phase2 run's health probe
    # and its availability probe would make a "stability" out of one cold connection
    stability_min_samples: int = 3
    fail_below: float = 50.0
    key_checks: tuple[str, ...] = ("health",)
    regression_tolerance: float = 0.10
    regression_p: float = 0.01
    # a median that grew by less than this is noise however significant: at a few
    # milliseconds, load on the machine moves medians by double-digit percentages
    regression_min_ms: float = 2.0

    def thresholds_for(self, label: str) -> Thresholds:
        """The thresholds of operation ``label``: its override, else the global ones."""
        return self.operations.get(label, self.thresholds)

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> ScoringSettings:
        """Parse the ``scoring`` section; raise ConfigError listing every problem."""
        return _SettingsParser(section or {}).parse()


DEFAULT_SETTINGS = ScoringSettings()


@dataclass(frozen=True, slots=True)
class OperationScore:
    """How one operation did, and what it contributed."""

    label: str
    probes: int
    failed_probes: int
    latency_samples: int
    p50_ms: float | None
    p95_ms: float | None
    thresholds: Thresholds
    performance: float | None
    cv: float | None
    stability: float | None
    failures: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the operation was probed and every probe answered."""
        return self.probes > 0 and self.failed_probes == 0


@dataclass(frozen=True, slots=True)
class Components:
    """The three components, each 0-100, or None when there was nothing to measure."""

    availability: float | None
    performance: float | None
    stability: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {
            "availability": self.availability,
            "performance": self.performance,
            "stability": self.stability,
        }


@dataclass(frozen=True, slots=True)
class Score:
    """The score of a run, with everything needed to explain it."""

    components: Components
    score: float
    band: Band
    verdict: Verdict
    reasons: tuple[str, ...]
    operations: tuple[OperationScore, ...]

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS


def score_run(run: RunResult, settings: ScoringSettings = DEFAULT_SETTINGS) -> Score:
    """Score ``run`` (often several runs merged) under ``settings``."""
    operations = tuple(
        _score_operation(run.operations[label], settings) for label in sorted(run.operations)
    )
    probed = [op for op in operations if op.probes > 0]
    reasons: list[str] = []

    availability: float | None
    if run.health_ok is False:
        availability = 0.0
        reasons.append("health check failed, so availability counts as 0")
    elif probed:
        availability = 100.0 * sum(op.ok for op in probed) / len(probed)
    elif run.health_ok:
        availability = 100.0
    else:
        availability = None
    performance = _mean([op.performance for op in operations])
    stability = _mean([op.stability for op in operations])
    components = Components(availability, performance, stability)

    measured = [
        (value, weight)
        for value, weight in (
            (availability, settings.weights.availability),
            (performance, settings.weights.performance),
            (stability, settings.weights.stability),
        )
        if value is not None
    ]
    for name, value in components.as_dict().items():
        if value is None and measured:
            reasons.append(f"{name} was not measured; its weight goes to the other components")
    if measured:
        raw = sum(value * weight for value, weight in measured) / sum(w for _, w in measured)
    else:
        raw = 0.0
        reasons.append("nothing was measured: no operation was probed and no health check ran")
    # Clamp away float noise so 100.00000000000001 never escapes the 0..100 range.
    score = round(min(100.0, max(0.0, raw)), 1)

    failed_key_checks = [
        family for family in run.key_checks_failed if family in settings.key_checks
    ]
    if (
        run.health_ok is False
        and "health" in settings.key_checks
        and "health" not in failed_key_checks
    ):
        failed_key_checks.insert(0, "health")
    failing = bool(failed_key_checks) or score < settings.fail_below or not measured
    reasons.extend(f"key check failed: {family}" for family in failed_key_checks)
    if score < settings.fail_below and measured:
        reasons.append(f"score {score:.1f} is below scoring.fail_below ({settings.fail_below:g})")
    return Score(
        components=components,
        score=score,
        band=band_for(score),
        verdict=Verdict.FAIL if failing else Verdict.PASS,
        reasons=tuple(reasons),
        operations=operations,
    )


def band_for(score: float) -> Band:
    """The band of a 0-100 score."""
    if score >= 90:
        return Band.EXCELLENT
    if score >= 70:
        return Band.GOOD
    if score >= 50:
        return Band.FAIR
    return Band.POOR


def performance_points(p95_ms: float, thresholds: Thresholds) -> float:
    """100 at or under the target, 0 at or over the max, linear in between."""
    if p95_ms <= thresholds.target_ms:
        return 100.0
    if p95_ms >= thresholds.max_ms:
        return 0.0
    span = thresholds.max_ms - thresholds.target_ms
    return 100.0 * (thresholds.max_ms - p95_ms) / span


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    """Sample standard deviation over the mean; None under 2 values, 0 when all are 0."""
    count = len(values)
    if count < 2:
        return None
    mean = math.fsum(values) / count
    if mean == 0:
        return 0.0
    # Two passes in floats: statistics.stdev is exact but 50x slower, and a report scores
    # 10 deployments of 50 operations.
    variance = math.fsum((value - mean) ** 2 for value in values) / (count - 1)
    return math.sqrt(variance) / mean


def stability_points(cv: float, cv_max: float) -> float:
    """100 x max(0, 1 - cv / cv_max)."""
    return 100.0 * max(0.0, 1.0 - cv / cv_max)


def _score_operation(samples: OperationSamples, settings: ScoringSettings) -> OperationScore:
    latencies = samples.latencies_ms
    thresholds = settings.thresholds_for(samples.label)
    p50 = percentile(latencies, 50) if latencies else None
    p95 = percentile(latencies, 95) if latencies else None
    cv = coefficient_of_variation(latencies)
    return OperationScore(
        label=samples.label,
        probes=samples.probes,
        failed_probes=samples.outcomes.count(False),
        latency_samples=len(latencies),
        p50_ms=p50,
        p95_ms=p95,
        thresholds=thresholds,
        performance=None if p95 is None else performance_points(p95, thresholds),
        cv=cv,
        stability=(
            None
            if cv is None or len(latencies) < settings.stability_min_samples
            else stability_points(cv, settings.cv_max)
        ),
        failures=tuple(dict.fromkeys(samples.failures))[:5],
    )


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.fmean(present) if present else None


_KEYS = (
    "weights",
    "thresholds",
    "operations",
    "cv_max",
    "stability_min_samples",
    "fail_below",
    "key_checks",
    "regression_tolerance",
    "regression_p",
    "regression_min",
)


class _SettingsParser:
    """Reads the section, collecting every problem instead of stopping at the first."""

    def __init__(self, section: Mapping[str, Any]) -> None:
        self.section = section
        self.problems: list[str] = []

    def parse(self) -> ScoringSettings:
        for key in self.section:
            if key not in _KEYS:
                self.problem(f"scoring.{key}", "is not a known key" + _suggest(key, _KEYS))
        weights = self.weights(self.section.get("weights", {}))
        known = len(self.problems)
        thresholds = self.thresholds("scoring.thresholds", self.section.get("thresholds", {}))
        # Overrides inherit from the global thresholds; broken ones would spread the error.
        base = thresholds if len(self.problems) == known else Thresholds()
        operations: dict[str, Thresholds] = {}
        overrides = self.section.get("operations", {})
        if not isinstance(overrides, Mapping):
            self.problem("scoring.operations", f"must be an object (got {overrides!r})")
            overrides = {}
        for label, override in overrides.items():
            operations[label] = self.thresholds(f"scoring.operations.{label}", override, base=base)
        settings = ScoringSettings(
            weights=weights,
            thresholds=thresholds,
            operations=operations,
            cv_max=self.number("cv_max", 1.0, low=0.0, low_open=True),
            stability_min_samples=int(
                self.number("stability_min_samples", 3, low=2.0, high=1000.0)
            ),
            fail_below=self.number("fail_below", 50.0, low=0.0, high=100.0),
            key_checks=self.key_checks(),
            regression_tolerance=self.percent("regression_tolerance", 0.10),
            regression_p=self.number("regression_p", 0.01, low=0.0, high=1.0, low_open=True),
            regression_min_ms=self.duration_ms(
                "scoring.regression_min", self.section.get("regression_min"), 2.0
            ),
        )
        if self.problems:
            raise ConfigError(self.problems)
        return settings

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def weights(self, raw: object) -> Weights:
        if not isinstance(raw, Mapping):
            self.problem("scoring.weights", f"must be an object (got {raw!r})")
            return Weights()
        names = ("availability", "performance", "stability")
        for key in raw:
            if key not in names:
                self.problem(f"scoring.weights.{key}", "is not a component" + _suggest(key, names))
        defaults = Weights()
        values: dict[str, float] = {}
        for name in names:
            value = raw.get(name, getattr(defaults, name))
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                self.problem(
                    f"scoring.weights.{name}", f"must be a positive number (got {value!r})"
                )
                value = getattr(defaults, name)
            values[name] = float(value)
        return Weights(**values)

    def thresholds(self, path: str, raw: object, base: Thresholds | None = None) -> Thresholds:
        base = base or Thresholds()
        if not isinstance(raw, Mapping):
            self.problem(path, f'must be an object like {{"target": "300ms"}} (got {raw!r})')
            return base
        for key in raw:
            if key not in ("target", "max"):
                self.problem(f"{path}.{key}", "is not a threshold; use target or max")
        known = len(self.problems)
        target = self.duration_ms(f"{path}.target", raw.get("target"), base.target_ms)
        maximum = self.duration_ms(f"{path}.max", raw.get("max"), base.max_ms)
        # Compare only values that parsed, or one typo would be reported twice.
        if len(self.problems) == known and target >= maximum:
            self.problem(
                path,
                f"target ({target:g}ms) must be below max ({maximum:g}ms); "
                "raise max or lower target",
            )
        return Thresholds(target, maximum)

    def duration_ms(self, path: str, raw: object, default: float) -> float:
        if raw is None:
            return default
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            self.problem(path, f'must be a duration such as "300ms" (got {raw!r})')
            return default
        try:
            return parse_duration(raw) * 1000.0
        except ValueError as error:
            self.problem(path, str(error))
            return default

    def number(
        self,
        key: str,
        default: float,
        *,
        low: float,
        high: float | None = None,
        low_open: bool = False,
    ) -> float:
        value = self.section.get(key, default)
        bad = isinstance(value, bool) or not isinstance(value, int | float)
        if not bad:
            bad = value <= low if low_open else value < low
            bad = bad or (high is not None and value > high)
        if bad:
            lower = f"> {low:g}" if low_open else f">= {low:g}"
            upper = f" and <= {high:g}" if high is not None else ""
            self.problem(f"scoring.{key}", f"must be a number {lower}{upper} (got {value!r})")
            return default
        return float(value)

    def percent(self, key: str, default: float) -> float:
        value = self.section.get(key)
        if value is None:
            return default
        try:
            if isinstance(value, bool):
                raise ValueError(f'expected a percentage such as "10%" (got {value!r})')
            fraction = parse_percent(value)
        except ValueError as error:
            self.problem(f"scoring.{key}", str(error))
            return default
        if fraction < 0:
            self.problem(f"scoring.{key}", f"cannot be negative (got {value!r})")
            return default
        return fraction

    def key_checks(self) -> tuple[str, ...]:
        value = self.section.get("key_checks", ["health"])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem("scoring.key_checks", f"must be a list of check names (got {value!r})")
            return ("health",)
        for item in value:
            if item not in CHECK_FAMILIES:
                self.problem(
                    "scoring.key_checks",
                    f"{item!r} is not a check family" + _suggest(item, CHECK_FAMILIES),
                )
        return tuple(dict.fromkeys(value))


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(choices)}"
