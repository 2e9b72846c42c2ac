"""The deployment score: availability, performance and stability, weighted into 0-100,
and the verdict that decides whether the deployment goes through.

Pure functions over a :class:`~pytest_deploycheck.score.results.RunResult`; DESIGN.md's
definition:

- availability = 100 x operations whose probes all succeeded / operations probed; a failing
  health check makes it 0. With no operation probed, a passing health check gives 100.
- performance = mean over operations of s: 100 when p95 <= target, 0 when p95 >= max, linear
  in between; p95 over successful answers only, interpolated linearly between order
  statistics (numpy's default). An operation probed with no successful answer scores 0.
- stability = performance variance over time: per operation, the spread between the highest
  and the lowest median latency of its time windows. The windows are the deployment's
  collect rounds when it has two or more, else its successful samples split in arrival
  order into ``stability_windows`` windows. A spread up to ``stability_floor`` is machine
  noise and costs nothing; beyond it, points = 100 x max(0, 1 - (spread - floor) /
  (lowest median + floor)): a median that doubles between windows scores 0. Windows with
  fewer than ``stability_min_samples`` samples are left out, and so is an operation left
  with fewer than two windows.
- score = weighted mean of the components (default 40/40/20), rounded to one decimal; band
  and verdict are decided on that rounded number, the one reports show.
- verdict: ``fail`` when a key check failed, when the score is under ``fail_below`` or when
  nothing was measured (and, in :mod:`.analysis`, on a latency regression against the
  previous deployment); ``warn`` when any other gate item failed or the band is fair or
  poor; ``pass`` otherwise.

A component with nothing to measure (no latency at all, say) is reported as None and its
weight is spread over the measured ones, so a missing measurement neither earns nor costs
points; a run where nothing at all was measured scores 0 and fails.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pytest_deploycheck.core.config import retired_keys
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.families import FAMILIES
from pytest_deploycheck.core.stats import percentile
from pytest_deploycheck.core.units import parse_duration, parse_percent

from .results import FailedItem, OperationSamples, RunResult

__all__ = [
    "CHECK_FAMILIES",
    "DEFAULT_KEY_CHECKS",
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
    "fail_on_regressions",
    "performance_points",
    "score_run",
    "split_windows",
    "stability_points",
    "window_medians",
]

# Families whose failure may fail the verdict (``scoring.key_checks``).
CHECK_FAMILIES = tuple(FAMILIES)
# The seed's key checks: is it up, does every operation answer, do the user journeys work.
DEFAULT_KEY_CHECKS = ("health", "availability", "smoke")


class Band(StrEnum):
    """Where a score falls, in the seed's words: 90-100 excellent, 70-89 good, 50-69 fair,
    0-49 poor."""

    EXCELLENT = "excellent"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"

    @property
    def advice(self) -> str:
        """What the band tells the reader to do."""
        return {
            Band.EXCELLENT: "production-ready",
            Band.GOOD: "monitor closely",
            Band.FAIR: "issues detected",
            Band.POOR: "consider rollback",
        }[self]


class Verdict(StrEnum):
    """Whether the gate lets the deployment through (Keptn's pass / warning / fail)."""

    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    WARN = "warn"
    FAIL = "fail"

    def at_least(self, other: Verdict) -> bool:
        """True when this verdict is as bad as ``other`` or worse."""
        order = (Verdict.PASS, Verdict.WARN, Verdict.FAIL)
        return order.index(self) >= order.index(other)


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
    stability_windows: int = 3
    # a window's median of fewer samples is one slow request, not a trend
    stability_min_samples: int = 3
    # under this spread between window medians a change is the machine, not the service: a
    # loaded 2-core CI runner moves the median of a 5 ms operation by 10 ms and more
    stability_floor_ms: float = 25.0
    fail_below: float = 50.0
    fail_on_regression: bool = True
    key_checks: tuple[str, ...] = DEFAULT_KEY_CHECKS
    regression_tolerance: float = 0.10
    regression_p: float = 0.01
    # a median that grew by less than this is noise however significant: a loaded CI runner
    # moved the median of a healthy 14 ms operation to 40 ms between two runs, and since a
    # regression fails the verdict, noise must never pass for one
    regression_min_ms: float = 50.0

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
    window_medians_ms: tuple[float, ...]
    stability: float | None
    failures: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the operation was probed and every probe succeeded."""
        return self.probes > 0 and self.failed_probes == 0

    @property
    def spread_ms(self) -> float | None:
        """Highest minus lowest window median; None with fewer than two windows."""
        medians = self.window_medians_ms
        return max(medians) - min(medians) if len(medians) >= 2 else None


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
    """The score of a run, with everything needed to explain it.

    ``reasons`` say why the verdict is not pass (and what the score left out);
    ``failed_items`` are the gate items that failed, which every report lists under the
    verdict.
    """

    components: Components
    score: float
    band: Band
    verdict: Verdict
    reasons: tuple[str, ...]
    operations: tuple[OperationScore, ...]
    failed_items: tuple[FailedItem, ...] = ()

    @property
    def passed(self) -> bool:
        """True unless the verdict is fail (a warning lets the deployment through)."""
        return self.verdict is not Verdict.FAIL


def score_run(run: RunResult, settings: ScoringSettings = DEFAULT_SETTINGS) -> Score:
    """Score ``run`` (often several runs merged) under ``settings``."""
    windows = _round_windows(run, settings)
    operations = tuple(
        _score_operation(run.operations[label], settings, windows.get(label))
        for label in sorted(run.operations)
    )
    probed = [op for op in operations if op.probes > 0]
    notes: list[str] = []

    availability: float | None
    if run.health_ok is False:
        availability = 0.0
        notes.append("health check failed, so availability counts as 0")
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
            notes.append(f"{name} was not measured; its weight goes to the other components")
    if measured:
        raw = sum(value * weight for value, weight in measured) / sum(w for _, w in measured)
    else:
        raw = 0.0
    # Clamp away float noise so 100.00000000000001 never escapes the 0..100 range.
    score = round(min(100.0, max(0.0, raw)), 1)
    band = band_for(score)
    verdict, reasons = _verdict(run, score, band, bool(measured), settings)
    return Score(
        components=components,
        score=score,
        band=band,
        verdict=verdict,
        reasons=(*reasons, *notes),
        operations=operations,
        failed_items=tuple(run.failed_items),
    )


def fail_on_regressions(
    score: Score, regressions: Sequence[str], settings: ScoringSettings = DEFAULT_SETTINGS
) -> Score:
    """``score`` with its verdict failed by latency regressions against the previous
    deployment (the labels in ``regressions``), when ``scoring.fail_on_regression`` is on."""
    if not regressions or not settings.fail_on_regression:
        return score
    shown = ", ".join(regressions[:5]) + (
        f" and {len(regressions) - 5} more" if len(regressions) > 5 else ""
    )
    reason = f"latency regression against the previous deployment: {shown}"
    return dataclasses.replace(score, verdict=Verdict.FAIL, reasons=(reason, *score.reasons))


def _verdict(
    run: RunResult, score: float, band: Band, measured: bool, settings: ScoringSettings
) -> tuple[Verdict, list[str]]:
    """The verdict and its reasons, the failing ones first."""
    failing: list[str] = []
    warning: list[str] = []
    failed_families = list(run.key_checks_failed)
    failed_families.extend(item.family for item in run.failed_items)
    if run.health_ok is False:
        failed_families.insert(0, "health")
    key_failures = [f for f in dict.fromkeys(failed_families) if f in settings.key_checks]
    failing.extend(f"key check failed: {family}" for family in key_failures)
    if not measured:
        failing.append("nothing was measured: no operation was probed and no health check ran")
    elif score < settings.fail_below:
        failing.append(f"score {score:.1f} is below scoring.fail_below ({settings.fail_below:g})")
    others = [item for item in run.failed_items if item.family not in settings.key_checks]
    if others:
        families = ", ".join(dict.fromkeys(item.family for item in others))
        warning.append(f"{len(others)} other gate item(s) failed ({families})")
    if band in (Band.FAIR, Band.POOR) and measured and score >= settings.fail_below:
        warning.append(f"the score is {band.value} ({band.advice})")
    if failing:
        return Verdict.FAIL, failing + warning
    if warning:
        return Verdict.WARN, warning
    return Verdict.PASS, []


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


def split_windows(latencies: Sequence[float], count: int) -> list[list[float]]:
    """``latencies`` cut in arrival order into ``count`` windows of (nearly) equal size."""
    size, extra = divmod(len(latencies), count)
    windows: list[list[float]] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        windows.append(list(latencies[start:end]))
        start = end
    return windows


def window_medians(windows: Sequence[Sequence[float]], min_samples: int) -> tuple[float, ...]:
    """The median of each window holding at least ``min_samples`` latencies."""
    return tuple(statistics.median(w) for w in windows if len(w) >= max(1, min_samples))


def stability_points(medians: Sequence[float], floor_ms: float) -> float | None:
    """100 x max(0, 1 - (spread - floor) / (lowest median + floor)), 100 within the floor;
    None with fewer than two medians."""
    if len(medians) < 2:
        return None
    low = min(medians)
    excess = max(medians) - low - floor_ms
    if excess <= 0:
        return 100.0
    return 100.0 * max(0.0, 1.0 - excess / (low + floor_ms))


def _round_windows(run: RunResult, settings: ScoringSettings) -> dict[str, list[list[float]]]:
    """Per operation, its latencies in each collect round, when there are two rounds or more."""
    if len(run.rounds) < 2:
        return {}
    windows: dict[str, list[list[float]]] = {}
    for number in sorted(run.rounds):
        for label, latencies in run.rounds[number].items():
            windows.setdefault(label, []).append(latencies)
    return windows


def _score_operation(
    samples: OperationSamples,
    settings: ScoringSettings,
    rounds: list[list[float]] | None,
) -> OperationScore:
    latencies = samples.latencies_ms
    thresholds = settings.thresholds_for(samples.label)
    p50 = percentile(latencies, 50) if latencies else None
    p95 = percentile(latencies, 95) if latencies else None
    succeeded = samples.outcomes.count(True)
    performance: float | None
    if p95 is not None and succeeded:
        performance = performance_points(p95, thresholds)
    elif samples.probes:
        performance = 0.0 if not succeeded else None  # probed, and nothing succeeded
    else:
        performance = None
    windows = rounds if rounds is not None else split_windows(latencies, settings.stability_windows)
    medians = window_medians(windows, settings.stability_min_samples)
    return OperationScore(
        label=samples.label,
        probes=samples.probes,
        failed_probes=samples.outcomes.count(False),
        latency_samples=len(latencies),
        p50_ms=p50,
        p95_ms=p95,
        thresholds=thresholds,
        performance=performance,
        window_medians_ms=medians,
        stability=stability_points(medians, settings.stability_floor_ms),
        failures=tuple(dict.fromkeys(samples.failures))[:5],
    )


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.fmean(present) if present else None


_KEYS = (
    "weights",
    "thresholds",
    "operations",
    "stability_windows",
    "stability_min_samples",
    "stability_floor",
    "fail_below",
    "fail_on_regression",
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
        retired = retired_keys("scoring")
        for key in self.section:
            if key in retired:
                self.problem(f"scoring.{key}", retired[key])
            elif key not in _KEYS:
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
            stability_windows=int(self.integer("stability_windows", 3, low=2, high=100)),
            stability_min_samples=int(self.integer("stability_min_samples", 3, low=1, high=1000)),
            stability_floor_ms=self.duration_ms(
                "scoring.stability_floor", self.section.get("stability_floor"), 25.0
            ),
            fail_below=self.number("fail_below", 50.0, low=0.0, high=100.0),
            fail_on_regression=self.flag("fail_on_regression", True),
            key_checks=self.key_checks(),
            regression_tolerance=self.percent("regression_tolerance", 0.10),
            regression_p=self.number("regression_p", 0.01, low=0.0, high=1.0, low_open=True),
            regression_min_ms=self.duration_ms(
                "scoring.regression_min", self.section.get("regression_min"), 50.0
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
        bad = bad or not math.isfinite(value)
        if not bad:
            bad = value <= low if low_open else value < low
            bad = bad or (high is not None and value > high)
        if bad:
            lower = f"> {low:g}" if low_open else f">= {low:g}"
            upper = f" and <= {high:g}" if high is not None else ""
            self.problem(f"scoring.{key}", f"must be a number {lower}{upper} (got {value!r})")
            return default
        return float(value)

    def integer(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self.section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(
                f"scoring.{key}", f"must be a whole number from {low} to {high} (got {value!r})"
            )
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.section.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"scoring.{key}", f"must be true or false (got {value!r})")
            return default
        return value

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
        value = self.section.get("key_checks", list(DEFAULT_KEY_CHECKS))
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem("scoring.key_checks", f"must be a list of check names (got {value!r})")
            return DEFAULT_KEY_CHECKS
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
