"""The gate as users run it: pytest on a project whose config targets the reference service.

Each test writes a ``deployment-config.json`` into a pytester folder. Its spec and its local
command point at the repository (the service starts from the repository root, so it
imports); its history is a SQLite file next to it. Runs go through ``runpytest_subprocess``,
because in-process runs break httpx/httpcore class identity.

Two ways to reach the service, both as users do: without a base URL the gate starts it
(``target.local``), and fault switches reach it through the environment of the pytest
process (``BOOKING_FAULTS=slow``); after a deploy CI passes ``--deploycheck-base-url``, which
these tests point at one reference service per module whose fault switches come from a file
it reads on every request (``BOOKING_FAULTS_FILE``), so each fault costs no service start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from pytest_deploycheck.core.spec import load_spec
from pytest_deploycheck.score.history import HistoryStore, StoredRun
from tests.live_server import REPO_ROOT, free_port, serve_booking_api

pytest_plugins = ["pytester"]

SPEC = REPO_ROOT / "specs" / "booking.openapi.yaml"
OPERATIONS = sorted(operation.label for operation in load_spec(SPEC).operations)
# phase2 is health, drift and tls plus one availability item per operation; tls has nothing
# to check on the local http service, so it is skipped with its reason
PHASE2_ITEMS = len(OPERATIONS) + 3
PHASE2_PASSED = PHASE2_ITEMS - 1
SLOTS = "GET /providers/{provider_id}/slots"
SECRET = "s3cr3t-e2e-7f4c9a1d2b"
RUN_TIMEOUT = 180.0
# environment that would change what the gate targets or how the service behaves
CLEARED = (
    "BOOKING_DATABASE",
    "BOOKING_FAULTS",
    "BOOKING_FAULTS_FILE",
    "BOOKING_SEED",
    "BOOKING_SLOW_MS",
    "BOOKING_SPEC",
    "DEPLOYCHECK_BASE_URL",
    "DEPLOYCHECK_HISTORY_URL",
)
SCORE_LINE = re.compile(
    r"^deploycheck score for (?P<id>\S+): (?P<score>\d+\.\d)/100, \w+ \(.*\), "
    r"verdict (?P<verdict>PASS|FAIL)$",
    re.MULTILINE,
)


def gate_config(**sections: Any) -> dict[str, Any]:
    """A gate for the reference service: the repository's spec, run from the repository root."""
    config: dict[str, Any] = {
        "spec": str(SPEC),
        "target": {
            "timeout": "10s",
            "headers": {"Authorization": "Bearer ${API_TOKEN}"},
            "local": {
                "command": [
                    "{python}",
                    "-m",
                    "examples.booking_api",
                    "--host",
                    "{host}",
                    "--port",
                    "{port}",
                    "--log-level",
                    "critical",
                ],
                "cwd": str(REPO_ROOT),
                # under the unhealthy fault /health answers 503, yet the service is up
                "ready_path": "/openapi.json",
                "ready_timeout": "60s",
            },
        },
        "health": {"path": "/health", "body": {"status": "ok"}, "retries": 0},
        "history": {"url": "sqlite:///history.db"},
        # seed 1 with 10 sequences is known to reach a created appointment's GET
        "contract": {"max_examples": 5, "seed": 1, "stateful": {"max_examples": 10}},
        "performance": {
            "samples": 30,
            "warmup": 2,
            "concurrency": 5,
            "thresholds": {"p95": "250ms"},
            "include": [SLOTS],
        },
    }
    config.update(sections)
    return config


@dataclass
class Gate:
    """A pytester project holding a gate config; runs pytest on it in a subprocess."""

    pytester: pytest.Pytester

    @property
    def path(self) -> Path:
        return self.pytester.path

    @property
    def history_url(self) -> str:
        return f"sqlite:///{self.path / 'history.db'}"

    def configure(self, **sections: Any) -> None:
        text = json.dumps(gate_config(**sections), indent=2)
        (self.path / "deployment-config.json").write_text(text, encoding="utf-8")

    def run(self, *args: str, **env: str) -> pytest.RunResult:
        """Run pytest on the project with ``env`` added to its environment."""
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            return self.pytester.runpytest_subprocess(*args, timeout=RUN_TIMEOUT)

    def stored_runs(self, deploy_id: str) -> list[StoredRun]:
        with HistoryStore.open(self.history_url) as store:
            return store.runs(deploy_id)


@pytest.fixture
def gate(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Gate:
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("API_TOKEN", SECRET)
    project = Gate(pytester)
    project.configure()
    return project


@dataclass(frozen=True)
class Deployed:
    """A running reference service, as after a deploy, with its fault switches in a file."""

    base_url: str
    faults: Path

    def switch(self, *faults: str) -> None:
        self.faults.write_text("\n".join(faults), encoding="utf-8")


@pytest.fixture(scope="module")
def deployed_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    faults = tmp_path_factory.mktemp("deployed") / "faults.txt"
    faults.write_text("", encoding="utf-8")
    with serve_booking_api(BOOKING_FAULTS_FILE=str(faults)) as base_url:
        yield Deployed(base_url, faults)


@pytest.fixture
def deployed(deployed_service: Deployed) -> Iterator[Deployed]:
    """The module's deployed service, without faults when the test starts and ends."""
    deployed_service.switch()
    yield deployed_service
    deployed_service.switch()


def scores(result: pytest.RunResult) -> list[re.Match[str]]:
    """The ``deploycheck score for ...`` lines of a run's terminal summary."""
    return list(SCORE_LINE.finditer(result.stdout.str()))


def literal(text: str) -> str:
    """``text`` as an fnmatch pattern matching itself (brackets are pattern syntax)."""
    return re.sub(r"([\[\]*?])", r"[\1]", text)


def test_a_run_is_scored_stored_and_compared_with_the_previous_one(gate: Gate) -> None:
    first = gate.run("-m", "phase2", "--deploy-id", "release-1")
    first.assert_outcomes(passed=PHASE2_PASSED, skipped=1)
    first.stdout.fnmatch_lines(
        [
            "*= deploycheck =*",
            "deploycheck score for release-1: *.*/100, * verdict PASS",
            "  availability 100.0 \u00b7 performance *.* \u00b7 stability *",
        ]
    )
    assert "  against " not in first.stdout.str()
    assert first.ret == 0
    assert (gate.path / "history.db").is_file()
    [stored] = gate.stored_runs("release-1")
    assert stored.verdict == "pass"
    assert stored.score == pytest.approx(float(scores(first)[0]["score"]), abs=0.05)
    assert sorted(stored.result.operations) == OPERATIONS

    second = gate.run("-m", "phase2", "--deploy-id", "release-2", "--html=report.html")
    second.stdout.fnmatch_lines(
        [
            "deploycheck score for release-2: *, verdict PASS",
            "  availability *",
            "  against release-1: score [+-\u00b1]*",
        ]
    )
    assert second.ret == 0
    [line] = scores(second)

    # pytest-html: the deployment section above the results, with this run's score
    html = (gate.path / "report.html").read_text(encoding="utf-8")
    section = re.search(r'<div class="deploycheck-summary".*?</div>', html, re.DOTALL)
    assert section is not None, "no deployment section in the pytest-html report"
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section.group(0)))
    assert "Deployment release-2" in text
    assert f"{line['score']}/100" in text
    assert re.search(r"verdict pass\b", text)
    # a phase2 run has too few samples per operation for stability: shown as a dash
    assert re.search(r"availability 100\.0, performance [\d.]+, stability ([\d.]+|\u2014)", text)


def test_a_slower_deployment_fails_performance_and_is_a_regression(gate: Gate) -> None:
    selection = ("-m", "phase3 and performance")
    fast = gate.run(*selection, "--deploy-id", "fast")
    fast.assert_outcomes(passed=1)

    slow = gate.run(*selection, "--deploy-id", "slow", BOOKING_FAULTS="slow", BOOKING_SLOW_MS="300")
    slow.assert_outcomes(failed=1)
    p95_line = (
        f"{literal(SLOTS)}: error [[]performance-p95[]] {literal(SLOTS)}: "
        "p95 is *ms, over the 250ms threshold (30 samples; *"
    )
    slow.stdout.fnmatch_lines([f"*_ phase3::performance{literal(f'[{SLOTS}]')} _*", p95_line])
    p95 = re.search(r"performance-p95\] .*?: p95 is (\d+)ms", slow.stdout.str())
    assert p95 is not None
    assert int(p95.group(1)) >= 300

    slow.stdout.fnmatch_lines(
        [
            "deploycheck score for slow: *",
            "  against fast: score *",
            f"  regression: {literal(SLOTS)} median * -> * (+*%, p=*)",
        ]
    )
    regressions = re.findall(
        r"^  regression: (.+?) median .*, p=(<?[\d.]+)\)$", slow.stdout.str(), re.MULTILINE
    )
    assert [label for label, _ in regressions] == [SLOTS]
    assert float(regressions[0][1].lstrip("<")) < 0.01


def test_a_failing_health_check_fails_the_verdict_and_the_run(gate: Gate) -> None:
    result = gate.run(
        "-m",
        "phase2 and health",
        "--deploy-id",
        "sick",
        "--junitxml=junit.xml",
        "--html=report.html",
        BOOKING_FAULTS="unhealthy",
    )
    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*_ phase2::health _*",
            "GET /health: error [[]health-status[]] GET /health answered 503, expected 200*",
            "deploycheck score for sick: *, verdict FAIL",
            "  availability 0.0 *",
            "  health check failed, so availability counts as 0",
        ]
    )
    result.stdout.fnmatch_lines(["  key check failed: health"])
    [stored] = gate.stored_runs("sick")
    assert stored.verdict == "fail"
    assert stored.result.health_ok is False
    assert_secret_kept(result, gate.path)


def test_a_passing_run_that_measures_nothing_is_not_failed_by_the_verdict(
    gate: Gate, deployed: Deployed
) -> None:
    # drift and contract items pass or fail on their own; they take no latency samples, so
    # there is nothing to score. `pytest -m contract` must not fail because of that.
    target = ("--deploycheck-base-url", deployed.base_url)
    result = gate.run("-m", "phase2 and drift", *target, "--deploy-id", "drift-only")
    result.assert_outcomes(passed=1)
    assert "verdict FAIL" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.OK


def test_under_xdist_the_controller_scores_the_samples_of_every_worker(
    gate: Gate, deployed: Deployed
) -> None:
    # every answer takes more than 2 ms, so performance is 0 and the score at most 60: the
    # verdict fails although every item passes, and the controller's verdict sets the exit code
    gate.configure(scoring={"thresholds": {"target": "1ms", "max": "2ms"}, "fail_below": 70})
    target = ("--deploycheck-base-url", deployed.base_url)
    result = gate.run("-n", "2", "-v", "-m", "phase2", *target, "--deploy-id", "spread")
    result.assert_outcomes(passed=PHASE2_PASSED, skipped=1)
    output = result.stdout.str()
    assert "[gw0]" in output
    assert "[gw1]" in output
    assert output.count("= deploycheck =") == 1
    [line] = scores(result)
    assert (line["id"], line["verdict"]) == ("spread", "FAIL")
    result.stdout.fnmatch_lines(
        [
            "deploycheck score for spread: *",
            "  availability 100.0 \u00b7 performance 0.0 \u00b7 *",
        ]
    )
    result.stdout.fnmatch_lines(["  score *.* is below scoring.fail_below (70)"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED

    [stored] = gate.stored_runs("spread")
    assert sorted(stored.result.operations) == OPERATIONS
    assert stored.result.items.passed == PHASE2_PASSED
    assert stored.verdict == "fail"
    assert stored.score == pytest.approx(float(line["score"]), abs=0.05)


def broken_spec() -> str:
    """The reference spec with a response without a description and an undeclared path
    parameter: valid YAML, invalid OpenAPI."""
    text = SPEC.read_text(encoding="utf-8")
    description = "          description: The service and its database work.\n"
    assert text.count(description) == 1
    undeclared = (
        "paths:\n"
        "  /things/{thing_id}:\n"
        "    get:\n"
        "      operationId: getThing\n"
        "      summary: One thing\n"
        "      description: A thing whose id is never declared.\n"
        "      tags: [meta]\n"
        "      responses:\n"
        "        '404':\n"
        "          description: No such thing.\n"
    )
    return text.replace(description, "", 1).replace("paths:\n", undeclared, 1)


def line_of(lines: list[str], anchor: str, target: str) -> int:
    """The 1-based number of the first ``target`` line after the ``anchor`` line."""
    start = lines.index(anchor)
    return lines.index(target, start) + 1


def test_a_broken_spec_fails_the_openapi_items_with_file_line_and_rule(gate: Gate) -> None:
    text = broken_spec()
    (gate.path / "broken.openapi.yaml").write_text(text, encoding="utf-8")
    gate.configure(spec="broken.openapi.yaml")
    lines = text.splitlines()
    response = line_of(lines, "  /health:", "        '200':")
    operation = line_of(lines, "  /things/{thing_id}:", "    get:")

    result = gate.run("-m", "phase1 and openapi")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ phase1::openapi[[]validity[]] _*",
            f"broken.openapi.yaml:{response} (#/paths/~1health/get/responses/200): "
            "error [[]oas3-schema[]] 'description' is required*",
            "*_ phase1::openapi[[]lint[]] _*",
            f"broken.openapi.yaml:{operation} (#/paths/~1things~1{{thing_id}}/get): "
            "error [[]path-params[]] GET /things/{thing_id}: {thing_id} is not declared*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


@dataclass(frozen=True)
class Fault:
    """A fault switch, the items that must catch it, and what the failure must say."""

    switch: str
    selection: tuple[str, ...]
    item: str
    message: str
    passed: int = 0
    # generated requests are reproduced as curl commands, headers included
    shows_requests: bool = False


FAULTS = [
    Fault(
        "server_error",
        ("-m", "phase2 and availability"),
        "phase2::availability[GET /providers]",
        "GET /providers: error [[]availability-server-error[]] "
        "GET http://127.0.0.1:*/providers answered 500*",
        passed=len(OPERATIONS) - 1,
    ),
    Fault(
        "bad_body",
        ("-m", "phase3 and contract", "-k", "GET and appointment_id"),
        "phase3::contract[GET /appointments/{appointment_id}]",
        "GET /appointments/{appointment_id}: error [[]contract-response-schema-conformance[]] "
        "*Response violates schema*",
        shows_requests=True,
    ),
    Fault(
        "accept_invalid",
        ("-m", "phase3 and negative", "-k", "POST and appointments and not appointment_id"),
        "phase3::negative[POST /appointments]",
        "POST /appointments: error [[]negative-negative-data-rejection[]] "
        "*Schema-violating request accepted*",
        shows_requests=True,
    ),
    Fault(
        "lose_created",
        ("-m", "phase3 and stateful"),
        "phase3::stateful",
        "GET /appointments/{appointment_id}: error [[]stateful-ensure-resource-availability[]] "
        "*Created resource not found*",
        shows_requests=True,
    ),
    Fault(
        "drift",
        ("-m", "phase2 and drift"),
        "phase2::drift",
        "POST /appointments/{appointment_id}/cancel: error [[]drift-operation-removed[]] "
        "*not in the spec served at /openapi.json*",
    ),
]


def failed_in_junit(path: Path) -> list[str]:
    """The names of the test cases that failed, from a JUnit XML file."""
    root = ElementTree.parse(path).getroot()  # noqa: S314 - the file our own run just wrote
    return [
        str(case.get("name")) for case in root.iter("testcase") if case.find("failure") is not None
    ]


def assert_secret_kept(result: pytest.RunResult, folder: Path) -> None:
    """The token of ``target.headers`` is in nothing the run printed, nor in any file of the
    project folder: JUnit XML, HTML report, history database, caches."""
    assert SECRET not in result.stdout.str() + result.stderr.str()
    written = [path for path in folder.rglob("*") if path.is_file()]
    assert {"junit.xml", "report.html"} <= {path.name for path in written}
    leaked = [
        str(path.relative_to(folder)) for path in written if SECRET.encode() in path.read_bytes()
    ]
    assert leaked == [], "the API token leaked into these files"


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.switch for fault in FAULTS])
def test_each_fault_fails_the_item_of_its_family_and_no_secret_leaks(
    gate: Gate, deployed: Deployed, fault: Fault
) -> None:
    # the slow fault is caught by performance in the regression test above
    deployed.switch(fault.switch)
    result = gate.run(
        *fault.selection,
        "--deploycheck-base-url",
        deployed.base_url,
        "--deploy-id",
        f"fault-{fault.switch}",
        "--junitxml=junit.xml",
        "--html=report.html",
    )
    result.assert_outcomes(passed=fault.passed, failed=1)
    result.stdout.fnmatch_lines([f"*_ {literal(fault.item)} _*", fault.message])
    result.stdout.fnmatch_lines([f"FAILED deployment-config.json::{literal(fault.item)}*"])
    assert failed_in_junit(gate.path / "junit.xml") == [fault.item.split("::", 1)[1]]

    assert_secret_kept(result, gate.path)
    if fault.shows_requests:
        # the header was sent and shown, masked
        assert "-H 'Authorization: ***'" in result.stdout.str()


def test_a_phase3_run_whose_every_request_failed_is_scored_and_stored(gate: Gate) -> None:
    """A target that died before phase3: performance got no answer at all. The run is still
    scored (availability 0) and stored, so the history cannot say the deployment passed."""
    port = free_port()
    result = gate.run(
        "-m",
        "phase3 and performance",
        "--deploycheck-base-url",
        f"http://127.0.0.1:{port}",
        "--deploy-id",
        "dead-target",
    )
    result.assert_outcomes(failed=1)
    [score] = scores(result)
    assert score["verdict"] == "FAIL", score[0]
    [run] = gate.stored_runs("dead-target")
    assert run.verdict is not None
    assert run.verdict.upper() == "FAIL"
    assert run.components["availability"] == 0


def test_contract_items_after_the_target_died_fail_at_once_naming_it(gate: Gate) -> None:
    port = free_port()
    result = gate.run(
        "-m", "phase3 and contract", "--deploycheck-base-url", f"http://127.0.0.1:{port}"
    )
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == len(OPERATIONS)
    # the first item meets the refused connection itself; every later one is told at once
    # (counted in the failure sections: with CI set, pytest repeats messages in its summary)
    told = [
        line
        for line in result.stdout.lines
        if "[target-unreachable]" in line and not line.startswith("FAILED ")
    ]
    assert len(told) == len(OPERATIONS) - 1
    assert f"the target 127.0.0.1:{port} no longer accepts connections" in told[0]


def test_a_probe_timeout_names_the_sweeps_concurrency(gate: Gate, deployed: Deployed) -> None:
    deployed.switch("slow")
    gate.configure(availability={"timeout": "200ms", "concurrency": 8})
    result = gate.run(
        "-m", "phase2 and availability", "-k", "slots", "--deploycheck-base-url", deployed.base_url
    )
    assert result.parseoutcomes()["failed"] == 1
    result.stdout.fnmatch_lines(
        [
            "*no complete answer within 200ms (timeout)*",
            "*the sweep sends 8 probes at once; when many operations time out together*",
        ]
    )
