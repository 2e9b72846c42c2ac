"""The pytest plugin: options, markers, collection of the config files, and fixtures.

Hooks stay thin: they hand off to the run's ``GateSessions`` (one ``DeployCheckSession`` per
config file) stored on the pytest config. Every pytest run of every user loads this module,
so it imports the gate itself only once a config file is collected or a fixture is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from pytest_deploycheck.core.errors import DeployCheckError
from pytest_deploycheck.core.families import FAMILIES, PHASES, ROUNDS

from .items import CONFIG_PROPERTY, SESSIONS_KEY, CheckItem, ConfigFile, GateSessions

if TYPE_CHECKING:
    import httpx

    from pytest_deploycheck.core.config import Config
    from pytest_deploycheck.core.spec import Spec
    from pytest_deploycheck.gate.checks import Check
    from pytest_deploycheck.gate.session import DeployCheckSession

    from .scorekeeper import ScoredRun, ScoreKeeper

T = TypeVar("T")
DEFAULT_CONFIG = "deployment-config.json"
_LOGS_KEY = pytest.StashKey[Callable[[], None]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deploycheck", "spec-driven deployment gate")
    group.addoption(
        "--deploycheck-config",
        metavar="PATH",
        action="append",
        help=f"a gate config file to collect and run; repeat it for several services "
        f"(default: {DEFAULT_CONFIG} in the rootdir, or the deploycheck_config ini option)",
    )
    group.addoption(
        "--deploycheck-base-url",
        metavar="URL",
        help="the deployed service to check in phase2 and phase3 (default: "
        "$DEPLOYCHECK_BASE_URL, then target.base_url, else the service is started locally)",
    )
    group.addoption(
        "--deploy-id",
        metavar="ID",
        help="the deployment these results belong to (default: the CI commit, else git HEAD)",
    )
    group.addoption(
        "--deploycheck-no-history",
        action="store_true",
        help="score the run but do not store it in the history",
    )
    parser.addini("deploycheck_config", "path of the gate's config file", default=DEFAULT_CONFIG)


def pytest_configure(config: pytest.Config) -> None:
    for name, description in {**PHASES, **ROUNDS, **FAMILIES}.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    named: list[str] = config.getoption("deploycheck_config") or []
    if named:
        _collect_named_configs(config, named)
    defaults = [Path(path) for path in named] or [
        config.rootpath / str(config.getini("deploycheck_config"))
    ]

    def make(path: Path) -> DeployCheckSession:
        from pytest_deploycheck.gate.session import DeployCheckSession, shortest_path

        return DeployCheckSession(
            config_path=shortest_path(path),
            base_url_option=config.getoption("deploycheck_base_url"),
            deploy_id=config.getoption("deploy_id"),
            store_history=not config.getoption("deploycheck_no_history"),
        )

    sessions = GateSessions(config.rootpath, defaults, make)
    config.stash[SESSIONS_KEY] = sessions
    config.pluginmanager.register(GateReporter(config, sessions), "deploycheck-gate")
    # --log-level=DEBUG shows what httpx, httpcore and schemathesis log: echoed headers too
    from pytest_deploycheck.core.redaction import redact_log_records

    config.stash[_LOGS_KEY] = redact_log_records(sessions.mask)


def _collect_named_configs(config: pytest.Config, named: list[str]) -> None:
    """``--deploycheck-config PATH`` collects PATH: alone when pytest's arguments are its
    defaults (testpaths, or the current folder), else with the arguments given."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = list(named)
        config.args_source = pytest.Config.ArgsSource.ARGS
        return
    here = config.invocation_params.dir
    given = {(here / arg.split("::", 1)[0]).resolve() for arg in config.args}
    config.args.extend(path for path in named if (here / path).resolve() not in given)


class GateReporter:
    """Scores the run from item reports, per config file, stores it, and reports it.

    Registered as a plugin so its hooks see every report, on the xdist controller too.
    """

    def __init__(self, config: pytest.Config, sessions: GateSessions) -> None:
        self.config = config
        self.sessions = sessions
        self.started_at = datetime.now(UTC)
        # one keeper per config file, in the order their first reports came
        self.keepers: dict[str, ScoreKeeper] = {}
        self.scored: list[tuple[DeployCheckSession, ScoredRun | DeployCheckError]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = next(
            (
                value
                for name, value in report.user_properties
                if name == CONFIG_PROPERTY and isinstance(value, str)
            ),
            None,
        )
        if key is None:
            return
        keeper = self.keepers.get(key)
        if keeper is None:
            from .scorekeeper import ScoreKeeper

            keeper = self.keepers[key] = ScoreKeeper(started_at=self.started_at)
        longrepr = report.longreprtext if report.failed else ""
        keeper.add(report.nodeid, report.when, report.outcome, report.user_properties, longrepr)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(self.config, "workerinput"):
            return
        store = not self.config.getoption("deploycheck_no_history")
        for key, keeper in self.keepers.items():
            if not keeper.has_results:
                continue
            state = self.sessions.for_key(key)
            try:
                scored = keeper.finish(state, store_results=store)
            except DeployCheckError as exc:
                self.scored.append((state, exc))
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
                continue
            self.scored.append((state, scored))
            if scored.analysis is not None and scored.analysis.score.verdict.value == "fail":
                # the gate's verdict fails the run even when every item passed
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.scored:
            return
        terminalreporter.section("deploycheck")
        several = len(self.scored) > 1
        for state, scored in self.scored:
            if several:
                # one score and verdict per service, each under its name and config file
                name = _service_name(state)
                terminalreporter.write_line(f"{name} ({state.config_path}):", bold=True)
            self._summarise(terminalreporter, state, scored)

    def _summarise(
        self, terminalreporter: Any, state: DeployCheckSession, scored: ScoredRun | DeployCheckError
    ) -> None:
        if isinstance(scored, DeployCheckError):
            message = f"the run could not be scored: {scored}"
            terminalreporter.write_line(message, red=True)
            return
        analysis = scored.analysis
        if analysis is None:
            return
        from pytest_deploycheck.reports.terminal import render_summary

        text = render_summary(
            analysis.score,
            analysis.comparison,
            redact=state.redactor.redact,
            deploy_id=scored.run.deploy_id,
        )
        verdict = analysis.score.verdict.value
        for line in text.splitlines():
            terminalreporter.write_line(line, red=verdict == "fail", yellow=verdict == "warn")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str]
    ) -> None:
        for state, scored in self.scored:
            if isinstance(scored, DeployCheckError) or scored.analysis is None:
                continue
            from pytest_deploycheck.reports.html import render_summary_fragment

            prefix.append(render_summary_fragment(scored.analysis, redact=state.redactor.redact))


def _service_name(state: DeployCheckSession) -> str:
    try:
        return state.config.service_name
    except DeployCheckError:
        return state.config_path.parent.name or str(state.config_path)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_html_results_table_row(
    report: pytest.TestReport | pytest.CollectReport, cells: list[str]
) -> None:
    # tryfirst: cells that other plugins' hooks add after this one are their own HTML
    from pytest_deploycheck.reports.html import escape_results_row

    test_id = report.nodeid if report.when == "call" else f"{report.nodeid}::{report.when}"
    escape_results_row(cells, test_id)


def pytest_unconfigure(config: pytest.Config) -> None:
    sessions = config.stash.get(SESSIONS_KEY, None)
    if sessions is not None:
        sessions.close()
    restore_logging = config.stash.get(_LOGS_KEY, None)
    if restore_logging is not None:
        restore_logging()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ConfigFile | None:
    sessions = parent.config.stash[SESSIONS_KEY]
    if not _is_gate_config(file_path, parent, sessions):
        return None
    return ConfigFile.from_parent(
        parent, path=file_path, gate=sessions.get(file_path), key=sessions.key(file_path)
    )


def _is_gate_config(file_path: Path, parent: pytest.Collector, sessions: GateSessions) -> bool:
    """The configured config files, and any JSON file named as an argument of pytest
    (``pytest services/api/deployment-config.json``), not those it meets in a folder."""
    if file_path.resolve() in sessions.defaults:
        return True
    return (
        file_path.suffix == ".json"
        and parent.config.args_source == pytest.Config.ArgsSource.ARGS
        and parent.session.isinitpath(file_path)
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item], config: pytest.Config) -> None:
    # trylast: after -k / -m deselected, so each availability sweep probes exactly the
    # operations its config still has selected
    labels: dict[int, list[str]] = {}
    for item in items:
        if isinstance(item, CheckItem) and item.check.family == "availability" and item.check.param:
            labels.setdefault(id(item.gate), []).append(item.check.param)
    for state in config.stash[SESSIONS_KEY]:
        state.availability_labels = labels.get(id(state), [])
    # last, after -m/-k and any plugin that reorders: each gate's items run reads first and
    # deletes last, so no item removes the data a later one needs
    _in_gate_order(items)


def _in_gate_order(items: list[pytest.Item]) -> None:
    """Each config's items in its gate order, in the places they held."""
    from pytest_deploycheck.gate.ordering import gate_order

    gates = {id(item.gate): item.gate for item in items if isinstance(item, CheckItem)}
    for gate in gates.values():

        def check_of(item: pytest.Item, gate: DeployCheckSession = gate) -> Check | None:
            return item.check if isinstance(item, CheckItem) and item.gate is gate else None

        def spec(gate: DeployCheckSession = gate) -> Spec:
            return gate.spec

        items[:] = gate_order(items, check_of, spec)


def pytest_collection_finish(session: pytest.Session) -> None:
    errors = session.config.stash[SESSIONS_KEY].errors
    if errors:
        raise pytest.UsageError("\n".join(str(error) for error in errors.values()))


# -- fixtures for users' own tests ---------------------------------------------------------


@pytest.fixture(scope="session")
def deploycheck_session(pytestconfig: pytest.Config) -> DeployCheckSession:
    """The gate's session: config, spec and target of this run (the first config file's)."""
    return pytestconfig.stash[SESSIONS_KEY].default


def _loaded(load: Callable[[], T]) -> T:
    """``load()``, with a DeployCheckError failing the test by its message alone."""
    try:
        return load()
    except DeployCheckError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def deploycheck_config(deploycheck_session: DeployCheckSession) -> Config:
    """The validated, interpolated deployment config."""
    return _loaded(lambda: deploycheck_session.config)


@pytest.fixture(scope="session")
def deploycheck_spec(deploycheck_session: DeployCheckSession) -> Spec:
    """The OpenAPI document the config names."""
    return _loaded(lambda: deploycheck_session.spec)


@pytest.fixture
def deploycheck_client(deploycheck_session: DeployCheckSession) -> Iterator[httpx.Client]:
    """An httpx client bound to the target (started locally if no base URL), with auth headers;
    each request within target.timeout, target.max_body and target.max_redirects."""
    with _loaded(deploycheck_session.client) as client:
        yield client


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    sessions = config.stash.get(SESSIONS_KEY, None)
    if sessions is None:
        return None
    named = [path for path in sessions.defaults if path.exists()]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        here = config.invocation_params.dir
        for arg in config.args:
            path = (here / arg.split("::", 1)[0]).resolve()
            if path.suffix == ".json" and path.is_file() and path not in named:
                named.append(path)
    if not named:
        return None
    target = (
        config.getoption("deploycheck_base_url")
        or os.environ.get("DEPLOYCHECK_BASE_URL")
        or "the configured base_url, else the local service (target.local.command)"
    )
    return [f"deploycheck: {_shown(path)}, target: {target}" for path in named]


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
