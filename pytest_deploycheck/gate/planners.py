"""The catalogue: for each check family, the checks a config and a spec call for.

``plan_checks`` decides, for every family, which checks exist (one per operation, table,
model, command, flow...), in which phase and round they run, and what function runs them.
Each planner takes the session and yields ``Check``s of the kinds it declares with
``@_yields``, so a caller that wants only some kinds (pytest's ``-m``) skips the planners of
the others. Runners import their check module lazily, so collecting a phase pays only for
what it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pytest_deploycheck.core.config import named_operations, operation_problems
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import failures

from .checks import Check, Kind, Outcome, Sample, skip_when_nothing_checked
from .ordering import order_key
from .session import DeployCheckSession

__all__ = ["PLANNERS", "Kind", "plan_checks"]

Planner = Callable[[DeployCheckSession], Iterator[Check]]
# the kinds of check each planner may yield: (phase, round, family)
KINDS: dict[Planner, tuple[Kind, ...]] = {}


def _yields(*kinds: Kind) -> Callable[[Planner], Planner]:
    """Declare the kinds of check a planner yields (``plan_checks`` holds it to them)."""

    def declare(planner: Planner) -> Planner:
        KINDS[planner] = kinds
        return planner

    return declare


# -- phase1 round 1: code quality ---------------------------------------------------------


@_yields(("phase1", "round1", "static_analysis"))
def _plan_static_analysis(session: DeployCheckSession) -> Iterator[Check]:
    from pytest_deploycheck.phase1.static_analysis import parse_commands

    for command in parse_commands(session.section("static_analysis")):

        def run(s: DeployCheckSession, command: Any = command) -> Outcome:
            from pytest_deploycheck.phase1.static_analysis import check_command

            return Outcome(findings=check_command(command, s.root, environ=s.environ))

        yield Check("static_analysis", "phase1", run, command.name, "round1")


@_yields(("phase1", "round1", "env"))
def _plan_env(session: DeployCheckSession) -> Iterator[Check]:
    if not session.section("env"):
        return

    def run(s: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.phase1.environment import check_environment

        findings = check_environment(s.section("env"), s.root, s.environ, redact=s.redactor.redact)
        return Outcome(findings=findings)

    yield Check("env", "phase1", run, None, "round1")


def _prepared(session: DeployCheckSession, family: str) -> None:
    """Validate the family's prepare command now, so a bad one is a usage error."""
    from pytest_deploycheck.phase1.prepare import parse_prepare

    parse_prepare(family, session.section(family))


@_yields(("phase1", "round1", "bundle"))
def _plan_bundle(session: DeployCheckSession) -> Iterator[Check]:
    if not session.section("bundle"):
        return
    _prepared(session, "bundle")

    def run(s: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.phase1.bundle import check_bundle

        prepared = s.prepare("bundle")
        if failures(prepared):
            return Outcome(findings=prepared)
        findings, sizes = check_bundle(s.section("bundle"), s.root, s.previous_bundle_sizes())
        s.record_bundle_sizes(sizes)
        return Outcome(findings=[*prepared, *findings])

    yield Check("bundle", "phase1", run, None, "round1")


# -- phase1 round 2: the spec --------------------------------------------------------------


@_yields(("phase1", "round2", "openapi"))
def _plan_openapi(session: DeployCheckSession) -> Iterator[Check]:
    def validity(s: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.phase1.lint import validate_document

        return Outcome(findings=validate_document(s.spec, {"rules": {}, **s.section("openapi")}))

    def lint(s: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.phase1.lint import lint_spec

        return Outcome(findings=lint_spec(s.spec, {"rules": {}, **s.section("openapi")}))

    yield Check("openapi", "phase1", validity, "validity", "round2")
    yield Check("openapi", "phase1", lint, "lint", "round2")


@_yields(("phase1", "round2", "breaking"))
def _plan_breaking(session: DeployCheckSession) -> Iterator[Check]:
    if not session.section("breaking"):
        return

    def run(s: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.phase1.breaking import check_breaking

        return Outcome(findings=check_breaking(s.spec, s.section("breaking"), s.root))

    yield Check("breaking", "phase1", run, None, "round2")


@_yields(("phase1", "round2", "migrations"), ("phase1", "round2", "database"))
def _plan_migrations(session: DeployCheckSession) -> Iterator[Check]:
    if "migrations" not in session.config.raw:
        return

    def migrations(s: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.phase1.migrations import check_migrations

        return Outcome(findings=check_migrations(s.section("migrations"), s.root))

    def database(s: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.phase1.database import check_database

        prepared = s.prepare("database")
        if failures(prepared):
            return Outcome(findings=prepared)
        findings = check_database(s.spec, s.section("database"), s.section("migrations"), s.root)
        return Outcome(findings=[*prepared, *findings])

    yield Check("migrations", "phase1", migrations, None, "round2")
    if "database" in session.config.raw:
        _prepared(session, "database")
        yield Check("database", "phase1", database, None, "round2")


@_yields(("phase1", "round2", "models"))
def _plan_models(session: DeployCheckSession) -> Iterator[Check]:
    from pytest_deploycheck.phase1.models import model_sources

    _prepared(session, "models")
    for source in model_sources(session.section("models")):

        def run(s: DeployCheckSession, source: Any = source) -> Outcome:
            from pytest_deploycheck.phase1.models import check_model

            # the JSON Schema files may be the output of models.prepare (a Zod export)
            prepared = s.prepare("models")
            if failures(prepared):
                return Outcome(findings=prepared)
            return Outcome(findings=[*prepared, *check_model(s.spec, source, s.root)])

        yield Check("models", "phase1", run, source.item_id, "round2")


# -- live checks: health and availability --------------------------------------------------


def _health(local: bool) -> Callable[[DeployCheckSession], Outcome]:
    def run(session: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.live.health import check_health

        base_url = session.local_base_url() if local else session.base_url()
        section = session.section("health")
        with session.client(base_url) as client:
            result = check_health(client, section, redactor=session.redactor)
        label = f"{str(section.get('method', 'GET')).upper()} {section.get('path', '/health')}"
        status = result.status
        latency = result.latency_ms if status is not None else None
        samples = [Sample(label, status is not None and status < 500, latency)]
        details = [
            f"{label}: {result.status} in {result.latency_ms or 0:.1f} ms "
            f"after {result.attempts} attempt(s)"
        ]
        return Outcome(result.findings, samples, details)

    return run


def _availability(label: str, local: bool) -> Callable[[DeployCheckSession], Outcome]:
    def run(session: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.live.availability import judge

        base_url = session.local_base_url() if local else session.base_url()
        result = session.availability(label, base_url)
        allowed = frozenset(
            int(code)
            for code in (session.section("availability").get("allow_status") or {}).get(label, [])
        )
        findings = judge(session.operation(label), result, allowed)
        # a refused connection or a timeout has no latency: its milliseconds say nothing
        # about how fast the service answers
        latency = result.latency_ms if result.status is not None else None
        # the score counts what the item judged: an answer that fails it (a 401, a 404 the
        # spec does not document) did not show the operation working
        sample = Sample(label, not failures(findings), latency)
        status = result.status if result.status is not None else result.error
        details = [f"{result.method} {result.url}: {status} in {result.latency_ms:.1f} ms"]
        if result.error is not None and result.error.endswith("(timeout)"):
            concurrency = session.section("availability").get("concurrency", 50)
            details.append(
                f"the sweep sends {concurrency} probes at once; when many operations time out "
                "together a small service may be overloaded by it: lower "
                "availability.concurrency, or raise availability.timeout"
            )
        return Outcome(findings, [sample], details)

    return run


def _selected_operations(session: DeployCheckSession, section: str) -> list[str]:
    include = session.section(section).get("include")
    exclude = set(session.section(section).get("exclude") or [])
    labels = [op.label for op in session.spec.operations]
    if include:
        unknown = [label for label in include if label not in labels]
        if unknown:
            from pytest_deploycheck.core.errors import ConfigError

            raise ConfigError(
                [
                    f"{section}.include: {label!r} is not an operation of the spec "
                    f"(operations look like {labels[0]!r})"
                    for label in unknown
                ]
                if labels
                else [f"{section}.include: the spec has no operations"]
            )
        labels = [label for label in labels if label in include]
    return [label for label in labels if label not in exclude]


@_yields(
    ("phase1", "round3", "health"),
    ("phase1", "round3", "availability"),
    ("phase2", None, "health"),
    ("phase2", None, "availability"),
)
def _plan_live_basics(session: DeployCheckSession) -> Iterator[Check]:
    health_enabled = session.section("health").get("enabled", True)
    availability_enabled = session.section("availability").get("enabled", True)
    labels = _selected_operations(session, "availability") if availability_enabled else []
    # round 3 of phase1 checks the locally started service before anything is deployed
    for phase, round_, local in (("phase1", "round3", True), ("phase2", None, False)):
        if health_enabled:
            yield Check("health", phase, _health(local), None, round_)
        for label in labels:
            yield Check("availability", phase, _availability(label, local), label, round_)


# -- phase2: drift and TLS; phase3: generated tests, smoke flows, latency ----------------------


def _enabled(session: DeployCheckSession, section: str) -> bool:
    return bool(session.section(section).get("enabled", True))


@_yields(("phase2", None, "drift"), ("phase2", None, "tls"))
def _plan_drift_and_tls(session: DeployCheckSession) -> Iterator[Check]:
    def drift(s: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.live.drift import check_drift

        section = dict(s.section("drift"))
        if not section.get("path") and s.config.spec_served_path:
            section["path"] = s.config.spec_served_path  # spec.served_path says where
        with s.client() as client:
            findings = check_drift(client, s.spec, section, redactor=s.redactor)
        return Outcome(findings=skip_when_nothing_checked(findings, "drift-not-served"))

    def tls(s: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.live.tls import check_tls

        findings = check_tls(s.base_url(), s.section("tls"), root=s.root, timeout=s.timeout)
        return Outcome(findings=skip_when_nothing_checked(findings, "tls-not-https"))

    if _enabled(session, "drift"):
        yield Check("drift", "phase2", drift)
    if _enabled(session, "tls"):
        yield Check("tls", "phase2", tls)


def _contract(label: str, mode: str, local: bool) -> Callable[[DeployCheckSession], Outcome]:
    def run(session: DeployCheckSession) -> Outcome:
        from pytest_deploycheck.live.contract import run_contract
        from pytest_deploycheck.live.disposable import Disposable, with_examples

        base_url = session.local_base_url() if local else session.base_url()
        spec: Any = session.live_spec(base_url)
        own = session.own_resource(label, base_url)
        if isinstance(own, Disposable):
            # the generated requests name a resource created for them, not an example
            operation = next(op for op in spec.operations if op.label == label)
            spec = with_examples(spec, [(operation, own)], pin=mode == "positive")
        result = run_contract(
            spec,
            base_url,
            label,
            session.section("contract"),
            mode=mode,  # type: ignore[arg-type]
            headers=session.config.headers,
            timeout=session.timeout,
            verify=session.config.verify_tls,
            secrets=session.config.secrets,
            bounds=session.bounds,
        )
        outcome = _from_contract(result)
        if own is not None:
            outcome.details.append(
                f"{label}: {own.describe() if isinstance(own, Disposable) else own}"
            )
        return outcome

    return run


def _from_contract(result: Any) -> Outcome:
    # generated requests judge conformance, not speed: fuzzed inputs make latency noise, so
    # their samples stay out of the score (availability, health and performance feed it)
    details = [f"{result.cases} requests, seed {result.seed} (replay with contract.seed)"]
    return Outcome(result.findings, [], details)


@_yields(
    ("phase1", "round3", "contract"),
    ("phase3", None, "contract"),
    ("phase3", None, "negative"),
    ("phase3", None, "stateful"),
)
def _plan_contract(session: DeployCheckSession) -> Iterator[Check]:
    if not _enabled(session, "contract"):
        return
    from pytest_deploycheck.live.contract import contract_operations

    section = session.section("contract")
    labels = contract_operations(session.spec, section)
    for label in labels:
        # round 3 of phase1: the same contract against the locally started service
        yield Check("contract", "phase1", _contract(label, "positive", True), label, "round3")
    for label in labels:
        yield Check("contract", "phase3", _contract(label, "positive", False), label)
    if (section.get("negative") or {}).get("enabled", True):
        for label in labels:
            yield Check("negative", "phase3", _contract(label, "negative", False), label)
    if (section.get("stateful") or {}).get("enabled", True):

        def stateful(s: DeployCheckSession) -> Outcome:
            from pytest_deploycheck.core.effects import Effect, effect_of
            from pytest_deploycheck.live.contract import run_stateful
            from pytest_deploycheck.live.disposable import Disposable, with_examples

            base_url = s.base_url()
            spec = s.live_spec(base_url)
            # a sequence that starts with a delete deletes a resource created for it
            own = {label: s.own_resource(label, base_url) for label in labels}
            created = [
                (op, resource)
                for op in spec.operations
                if isinstance(resource := own.get(op.label), Disposable)
            ]
            if any(effect_of(op) is Effect.DELETE for op in spec.operations):
                # its sequences follow list answers to deletes: the examples may be gone
                s.examples.may_have_deleted(base_url)
            result = run_stateful(
                with_examples(spec, created, pin=True) if created else spec,
                base_url,
                s.section("contract"),
                headers=s.config.headers,
                timeout=s.timeout,
                verify=s.config.verify_tls,
                secrets=s.config.secrets,
                bounds=s.bounds,
            )
            outcome = _from_contract(result)
            outcome.details.extend(f"{op.label}: {o.describe()}" for op, o in created)
            return outcome

        yield Check("stateful", "phase3", stateful)


@_yields(("phase3", None, "smoke"))
def _plan_smoke(session: DeployCheckSession) -> Iterator[Check]:
    section = session.section("smoke")
    if not section.get("flows") or not _enabled(session, "smoke"):
        return
    from pytest_deploycheck.live.smoke import check_flows

    check_flows(section)
    for index, flow in enumerate(section["flows"]):

        def run(s: DeployCheckSession, index: int = index) -> Outcome:
            from pytest_deploycheck.live.smoke import run_flow

            flow = s.section("smoke")["flows"][index]
            with s.client() as client:
                result = run_flow(client, flow, redactor=s.redactor)
            steps = [f"{step.name}: {step.latency_ms or 0:.1f} ms" for step in result.steps]
            return Outcome(result.findings, [], steps)

        yield Check("smoke", "phase3", run, str(flow.get("name") or f"flow {index + 1}"))


@_yields(("phase3", None, "performance"))
def _plan_performance(session: DeployCheckSession) -> Iterator[Check]:
    if not _enabled(session, "performance"):
        return
    from pytest_deploycheck.live.performance import performance_operations

    for label in performance_operations(session.spec, session.section("performance")):

        def run(s: DeployCheckSession, label: str = label) -> Outcome:
            from pytest_deploycheck.live.performance import run_performance

            base_url = s.base_url()
            spec = s.live_spec(base_url)  # examples recreated if a delete removed them
            result = run_performance(
                base_url,
                spec,
                label,
                s.section("performance"),
                build_request=lambda operation: s.probe_request(operation, spec),
                headers=s.config.headers,
                timeout=s.timeout,
                verify=s.config.verify_tls,
                bounds=s.bounds,
            )
            # failed requests count too: a run whose every request failed is scored, not lost
            samples = [Sample(label, ok, ms) for ok, ms in result.samples]
            figures = ", ".join(f"{k} {v:.1f} ms" for k, v in result.percentiles.items())
            return Outcome(result.findings, samples, [f"{label}: {figures}"])

        yield Check("performance", "phase3", run, label)


PLANNERS: list[Planner] = [
    _plan_static_analysis,
    _plan_env,
    _plan_bundle,
    _plan_openapi,
    _plan_breaking,
    _plan_migrations,
    _plan_models,
    _plan_live_basics,
    _plan_drift_and_tls,
    _plan_contract,
    _plan_smoke,
    _plan_performance,
]


def plan_checks(
    session: DeployCheckSession, wanted: Callable[[Kind], bool] | None = None
) -> list[Check]:
    """Every check the config asks for, in gate order (``ordering``); only those of the kinds
    ``wanted`` accepts when it is given (the planners of other kinds do not run).

    Raises ConfigError when a setting names an operation the spec lacks (any setting, also
    those only ``collect`` or ``monitor`` read), listing every one.
    """
    config = session.config
    if named_operations(config.raw):
        # only then is the spec loaded here: -m "phase1 and openapi" on a spec of 20,000
        # operations need not read it before its two items run
        labels = {operation.label for operation in session.spec.operations}
        problems = operation_problems(config.raw, labels)
        if problems:
            raise ConfigError([str(problem) for problem in problems], source=str(config.path))
    planned: list[Check] = []
    for planner in PLANNERS:
        kinds = KINDS[planner]
        if wanted is not None and not any(wanted(kind) for kind in kinds):
            continue
        for check in planner(session):
            if check.kind not in kinds:
                raise AssertionError(f"{planner.__name__} yielded {check.kind}, not declared")
            if wanted is None or wanted(check.kind):
                planned.append(check)
    if planned:
        # reads first, deletes last within each phase and round (see ordering)
        planned.sort(key=order_key(lambda: session.spec))
    return unique(iter(planned))


def unique(checks: Iterator[Check]) -> list[Check]:
    """Checks with distinct names per phase (parameters that collide get a numeric suffix)."""
    seen: dict[tuple[str, str], int] = {}
    result = []
    for check in checks:
        key = (check.phase, check.name)
        count = seen.get(key, 0)
        seen[key] = count + 1
        if count:
            check = Check(
                check.family, check.phase, check.run, f"{check.param}#{count + 1}", check.round
            )
        result.append(check)
    return result
