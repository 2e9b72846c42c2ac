"""The pytest plugin: options, markers, collection of the config file, and fixtures.

Hooks stay thin: they hand off to one ``DeployCheckSession`` stored on the pytest config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from pytest_deploycheck.core.config import Config
from pytest_deploycheck.core.errors import DeployCheckError
from pytest_deploycheck.core.families import FAMILIES, PHASES, ROUNDS
from pytest_deploycheck.core.spec import Spec
from pytest_deploycheck.gate.planners import plan_checks
from pytest_deploycheck.gate.session import DeployCheckSession, shortest_path

from .items import SESSION_KEY, CheckItem, ConfigFile

if TYPE_CHECKING:
    from .scorekeeper import ScoredRun, ScoreKeeper

T = TypeVar("T")
DEFAULT_CONFIG = "deployment-config.json"
_ERROR_KEY = pytest.StashKey[DeployCheckError]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deploycheck", "spec-driven deployment gate")
    group.addoption(
        "--deploycheck-config",
        metavar="PATH",
        help=f"the gate's config file (default: {DEFAULT_CONFIG} in the rootdir, "
        "or the deploycheck_config ini option)",
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
    option = config.getoption("deploycheck_config")
    path = Path(option) if option else config.rootpath / str(config.getini("deploycheck_config"))
    from .scorekeeper import ScoreKeeper

    config.pluginmanager.register(GateReporter(config, ScoreKeeper()), "deploycheck-gate")
    config.stash[SESSION_KEY] = DeployCheckSession(
        config_path=shortest_path(path),
        base_url_option=config.getoption("deploycheck_base_url"),
        deploy_id=config.getoption("deploy_id"),
        store_history=not config.getoption("deploycheck_no_history"),
    )


class GateReporter:
    """Scores the run from item reports, stores it, and reports it (registered per run).

    Registered as a plugin so its hooks see every report, on the xdist controller too.
    """

    def __init__(self, config: pytest.Config, keeper: ScoreKeeper) -> None:
        self.config = config
        self.keeper = keeper
        self.scored: ScoredRun | DeployCheckError | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.keeper.add(report.nodeid, report.when, report.outcome, report.user_properties)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.keeper.has_results or hasattr(self.config, "workerinput"):
            return
        state = self.config.stash[SESSION_KEY]
        store = not self.config.getoption("deploycheck_no_history")
        try:
            self.scored = scored = self.keeper.finish(state, store_results=store)
        except DeployCheckError as exc:
            self.scored = exc
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        if scored.analysis is not None and scored.analysis.score.verdict.value == "fail":
            # the gate's verdict fails the run even when every item passed
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.scored is None:
            return
        terminalreporter.section("deploycheck")
        if isinstance(self.scored, DeployCheckError):
            message = f"the run could not be scored: {self.scored}"
            terminalreporter.write_line(message, red=True)
            return
        analysis = self.scored.analysis
        if analysis is None:
            return
        from pytest_deploycheck.reports.terminal import render_summary

        text = render_summary(
            analysis.score,
            analysis.comparison,
            redact=self.config.stash[SESSION_KEY].redactor.redact,
            deploy_id=self.scored.run.deploy_id,
        )
        failing = analysis.score.verdict.value == "fail"
        for line in text.splitlines():
            terminalreporter.write_line(line, red=failing)
        items = self.scored.run.items
        if items.failed and not failing:
            # the verdict weighs the score and the key checks; the run fails all the same
            terminalreporter.write_line(
                f"  but {items.failed} of {items.failed + items.passed} scored checks failed "
                "(above): pytest exits 1",
                yellow=True,
            )

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str]
    ) -> None:
        if self.scored is None or isinstance(self.scored, DeployCheckError):
            return
        if self.scored.analysis is None:
            return
        from pytest_deploycheck.reports.html import render_summary_fragment

        redact = self.config.stash[SESSION_KEY].redactor.redact
        prefix.append(render_summary_fragment(self.scored.analysis, redact=redact))


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(SESSION_KEY, None)
    if state is not None:
        state.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ConfigFile | None:
    state = parent.config.stash[SESSION_KEY]
    if file_path.resolve() != state.config_path.resolve():
        return None
    try:
        # plan now: a bad config, an unreadable spec or a setting that names something the
        # spec lacks stops the run with every problem listed, as a usage error
        checks = plan_checks(state)
    except DeployCheckError as exc:
        parent.config.stash[_ERROR_KEY] = exc
        return None
    return ConfigFile.from_parent(parent, path=file_path, checks=checks)


def pytest_collection_modifyitems(items: list[pytest.Item], config: pytest.Config) -> None:
    # the availability sweep probes exactly the operations still selected after -k / -m
    state = config.stash[SESSION_KEY]
    state.availability_labels = [
        item.check.param
        for item in items
        if isinstance(item, CheckItem) and item.check.family == "availability" and item.check.param
    ]


def pytest_collection_finish(session: pytest.Session) -> None:
    error = session.config.stash.get(_ERROR_KEY, None)
    if error is not None:
        raise pytest.UsageError(str(error))


# -- fixtures for users' own tests ---------------------------------------------------------


@pytest.fixture(scope="session")
def deploycheck_session(pytestconfig: pytest.Config) -> DeployCheckSession:
    """The gate's session: config, spec and target of this run."""
    return pytestconfig.stash[SESSION_KEY]


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
    state = config.stash.get(SESSION_KEY, None)
    if state is None or not state.config_path.exists():
        return None
    target = (
        state.base_url_option
        or state.environ.get("DEPLOYCHECK_BASE_URL")
        or "the configured base_url, else the local service (target.local.command)"
    )
    return [f"deploycheck: {state.config_path.name}, target: {target}"]
