"""The plugin as users run it: pytester runs pytest on a tiny project with a real service."""

from __future__ import annotations

import json
import socket
import textwrap
from typing import Any

import pytest

from tests.live_server import free_port

pytest_plugins = ["pytester"]

SERVICE = textwrap.dedent(
    """
    import http.server, json, os, sys

    FAIL = set(filter(None, os.environ.get("TINY_FAIL", "").split(",")))
    PREFIX = os.environ.get("TINY_PREFIX", "")  # serve the API under this path only

    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path = self.path.split("?")[0]
            if PREFIX and not path.startswith(PREFIX + "/"):
                return self._send(404, {"error": "no route"})
            path = path[len(PREFIX):]
            if path in FAIL:
                return self._send(500, {"error": "boom"})
            if path == "/health":
                return self._send(200, {"status": "ok"})
            if path == "/items":
                return self._send(200, [{"id": 7}])
            if path.startswith("/items/"):
                item = path.rsplit("/", 1)[1]
                return self._send(200 if item == "7" else 404, {"id": 7})
            self._send(404, {"error": "no route"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            self._send(201 if "name" in body else 422, {"id": 8})

        def log_message(self, *args):
            pass

    print("tiny service on port", sys.argv[1], flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
    """
)

SPEC = textwrap.dedent(
    """
    openapi: 3.1.0
    info:
      title: Tiny
      version: "1.0"
      description: A tiny API.
      contact: {name: Team, email: team@example.com}
      license: {name: MIT, identifier: MIT}
    servers:
      - url: https://tiny.example.org
    tags:
      - name: items
        description: Items.
    paths:
      /items:
        get:
          operationId: listItems
          summary: List items
          description: All items.
          tags: [items]
          responses:
            "200":
              description: The items.
            "400":
              description: Bad request.
        post:
          operationId: createItem
          summary: Create an item
          description: Creates one.
          tags: [items]
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string, example: spoon}
          responses:
            "201":
              description: Created.
            "422":
              description: Invalid.
      /items/{item_id}:
        get:
          operationId: getItem
          summary: Get an item
          description: One item.
          tags: [items]
          parameters:
            - name: item_id
              in: path
              required: true
              schema: {type: integer, example: 7}
          responses:
            "200":
              description: The item.
            "404":
              description: No such item.
    """
)


def write_project(pytester: pytest.Pytester, **overrides: Any) -> None:
    pytester.makefile(".py", service=SERVICE)
    pytester.makefile(".yaml", openapi=SPEC)
    config: dict[str, Any] = {
        "spec": "openapi.yaml",
        "target": {
            "local": {
                "command": ["{python}", "service.py", "{port}"],
                "ready_path": "/health",
                "ready_timeout": "20s",
            },
            "timeout": "5s",
        },
        "health": {"path": "/health", "body": {"status": "ok"}, "retries": 0},
        # these tests are about the plugin; the families below have tests of their own
        "contract": {"enabled": False},
        "drift": {"enabled": False},
        "tls": {"enabled": False},
        "performance": {"enabled": False},
    }
    for key, value in overrides.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    (pytester.path / "deployment-config.json").write_text(json.dumps(config, indent=2))


# in gate order: within a phase, what reads before what writes
EXPECTED_IDS = [
    "deployment-config.json::phase1::openapi[validity]",
    "deployment-config.json::phase1::openapi[lint]",
    "deployment-config.json::phase1::health",
    "deployment-config.json::phase1::availability[GET /items]",
    "deployment-config.json::phase1::availability[GET /items/{item_id}]",
    "deployment-config.json::phase1::availability[POST /items]",
    "deployment-config.json::phase2::health",
    "deployment-config.json::phase2::availability[GET /items]",
    "deployment-config.json::phase2::availability[GET /items/{item_id}]",
    "deployment-config.json::phase2::availability[POST /items]",
]


def test_items_are_generated_from_the_config_with_stable_ids(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    result.stdout.fnmatch_lines([f"{node_id}" for node_id in EXPECTED_IDS], consecutive=True)
    assert result.ret == 0


def test_markers_select_phases_rounds_and_families(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    # -m and -k are applied before the items are built: the others are never collected
    result = pytester.runpytest_subprocess(
        "--collect-only", "-q", "--strict-markers", "-m", "phase2"
    )
    result.stdout.fnmatch_lines(["*phase2::health", "4 tests collected*"])
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-m", "round2")
    result.stdout.fnmatch_lines(["2 tests collected*"])
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-m", "phase2 and availability")
    result.stdout.fnmatch_lines(["3 tests collected*"])
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-k", "phase2 and item_id")
    result.stdout.fnmatch_lines(
        ["*phase2::availability[[]GET /items/{item_id}[]]", "1 test collected*"]
    )


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.phase1:*",
            "@pytest.mark.round3:*",
            "@pytest.mark.availability:*",
            "@pytest.mark.stateful:*",
        ]
    )


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_local_service_is_started_checked_and_stopped(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makeconftest(
        """
        import pytest
        PORTS = []
        @pytest.hookimpl(trylast=True)
        def pytest_unconfigure(config):
            from pytest_deploycheck.items import SESSIONS_KEY
            print("service was at", config.stash[SESSIONS_KEY].default._local)
        def pytest_runtest_teardown(item):
            from pytest_deploycheck.items import SESSIONS_KEY
            local = item.config.stash[SESSIONS_KEY].default._local
            if local is not None:
                PORTS.append(local.port)
                open("port.txt", "w").write(str(local.port))
        """
    )
    result = pytester.runpytest_subprocess("-m", "phase2", "-v")
    result.assert_outcomes(passed=4)
    port = int((pytester.path / "port.txt").read_text())
    assert port_is_closed(port)


def test_a_failing_endpoint_fails_its_item_with_the_cause(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(pytester)
    monkeypatch.setenv("TINY_FAIL", "/items")
    result = pytester.runpytest_subprocess("-m", "phase2")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        ["*availability-server-error*GET http://127.0.0.1:*/items answered 500: a server error*"]
    )
    # availability is a key check: the verdict fails, and the summary names the item
    result.stdout.fnmatch_lines(
        [
            "*verdict FAIL",
            "*availability *",
            "  key check failed: availability",
            "  failed: deployment-config.json::phase2::availability[[]GET /items[]] "
            "[[]availability-server-error[]] GET /items: GET http://*/items answered 500*",
        ]
    )


def test_a_failed_item_that_is_not_a_key_check_makes_the_verdict_warn(
    pytester: pytest.Pytester,
) -> None:
    performance = {
        "include": ["GET /items"],
        "samples": 6,
        "warmup": 0,
        "thresholds": {"p50": "0.001ms"},  # no answer is that fast
    }
    write_project(pytester, performance=performance)
    result = pytester.runpytest_subprocess("-m", "phase2 or phase3")
    result.assert_outcomes(passed=4, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*excellent (production-ready), verdict WARN",
            "*",
            "  1 other gate item(s) failed (performance)",
            "  failed: deployment-config.json::phase3::performance[[]GET /items[]] "
            "[[]performance-p50[]] GET /items: p50 is *",
        ]
    )


def test_a_bad_config_is_a_usage_error_listing_every_problem(pytester: pytest.Pytester) -> None:
    write_project(pytester, servise={"name": "x"}, health={"path": 5, "retries": "many"})
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*deployment-config.json*problems*"])
    text = result.stderr.str()
    assert "did you mean 'service'" in text
    assert "health.path" in text
    assert "health.retries" in text
    assert "Traceback" not in text


def test_an_unparseable_spec_points_at_the_line(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makefile(".yaml", openapi="openapi: 3.1.0\npaths:\n  /a: [unclosed\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*openapi.yaml:*invalid YAML*"])
    assert "Traceback" not in result.stderr.str()


def test_a_local_command_that_exits_at_once_says_why(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    config = json.loads((pytester.path / "deployment-config.json").read_text())
    config["target"]["local"]["command"] = [
        "{python}",
        "-c",
        "import sys; print('missing DATABASE_URL'); sys.exit(4)",
    ]
    (pytester.path / "deployment-config.json").write_text(json.dumps(config))
    result = pytester.runpytest_subprocess("-m", "phase2")
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        ["*exited with code 4 before it was ready*", "*missing DATABASE_URL*"]
    )
    assert "Traceback" not in result.stdout.str()


def test_an_unreachable_base_url_fails_items_in_bounded_time(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    port = free_port()
    result = pytester.runpytest_subprocess(
        "-m", "phase2", f"--deploycheck-base-url=http://127.0.0.1:{port}"
    )
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(["*connection refused*"])


def test_a_dead_target_scores_zero_and_fails_its_verdict(pytester: pytest.Pytester) -> None:
    """Refused connections have no latency: a dead target must not score on speed."""
    write_project(pytester)
    port = free_port()
    result = pytester.runpytest_subprocess(
        "-m", "phase2 and availability", f"--deploycheck-base-url=http://127.0.0.1:{port}"
    )
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["deploycheck score for *: 0.0/100, poor *, verdict FAIL"])


@pytest.mark.parametrize("source", ["servers", "base_path"])
def test_a_service_under_a_base_path_is_checked_there(
    pytester: pytest.Pytester, source: str
) -> None:
    """servers: [{url: /api}] in the spec, or target.local.base_path, puts the local service's
    checks (readiness included) under /api."""
    local = {
        "command": ["{python}", "service.py", "{port}"],
        "ready_timeout": "20s",
        "env": {"TINY_PREFIX": "/api"},
    }
    if source == "base_path":
        local["base_path"] = "/api"
    write_project(pytester, target={"local": local, "timeout": "5s"})
    if source == "servers":
        spec = pytester.path / "openapi.yaml"
        spec.write_text(spec.read_text().replace("https://tiny.example.org", "/api"))
    result = pytester.runpytest_subprocess("-m", "phase1 and round3", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_disabling_the_plugin_collects_nothing(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    result = pytester.runpytest_subprocess("-p", "no:deploycheck", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_junit_xml_and_last_failed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(pytester)
    monkeypatch.setenv("TINY_FAIL", "/items/7")
    result = pytester.runpytest_subprocess("-m", "phase2", "--junitxml=junit.xml")
    result.assert_outcomes(passed=3, failed=1)
    xml = (pytester.path / "junit.xml").read_text()
    assert 'name="availability[GET /items/{item_id}]"' in xml
    assert "<failure" in xml
    result = pytester.runpytest_subprocess("--lf", "-q")
    result.assert_outcomes(failed=1)


def test_runs_under_xdist(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    result = pytester.runpytest_subprocess("-n", "2", "-m", "phase2")
    result.assert_outcomes(passed=4)


def test_fixtures_for_users_own_tests(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makepyfile(
        test_mine="""
        def test_uses_the_target(deploycheck_client, deploycheck_spec, deploycheck_config):
            assert deploycheck_client.get("/items/7").json() == {"id": 7}
            assert len(deploycheck_spec.operations) == 3
            assert deploycheck_config.spec_path.name == "openapi.yaml"
        """
    )
    result = pytester.runpytest_subprocess("test_mine.py")
    result.assert_outcomes(passed=1)


def test_a_setting_naming_an_unknown_operation_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    write_project(pytester, availability={"include": ["GET /itemz"]})
    result = pytester.runpytest_subprocess("--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*availability.include*'GET /itemz'*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_a_wrong_ready_path_is_not_taken_for_a_ready_service(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    config = json.loads((pytester.path / "deployment-config.json").read_text())
    config["target"]["local"].update(ready_path="/no-such-path", ready_timeout="1s")
    (pytester.path / "deployment-config.json").write_text(json.dumps(config))
    result = pytester.runpytest_subprocess("-m", "phase2 and health")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*did not answer http://127.0.0.1:*/no-such-path*HTTP 404*"])


def test_without_a_local_service_round3_says_so_once(pytester: pytest.Pytester) -> None:
    write_project(pytester, target={"timeout": "5s"})
    result = pytester.runpytest_subprocess("-m", "phase1 and round3", "-rs")

    # the first item fails with the reason, the others are skipped pointing at it
    result.assert_outcomes(failed=1, skipped=3)
    output = result.stdout.str()
    assert output.count("no target: pass --deploycheck-base-url URL") == 1
    result.stdout.fnmatch_lines(["*SKIPPED [[]3[]]*target.local.command is not set*"])


def test_gate_items_run_reads_first_whatever_order_they_were_collected_in(
    pytester: pytest.Pytester,
) -> None:
    write_project(pytester)
    # a plugin of the project's own that shuffles the items (backwards) before the gate's hook
    pytester.makeconftest("def pytest_collection_modifyitems(items):\n    items.reverse()\n")
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-m", "phase2")
    # within a rank the project's order stands (reversed here); writes still come last
    result.stdout.fnmatch_lines(
        [
            "deployment-config.json::phase2::health",
            "deployment-config.json::phase2::availability[[]GET /items/{item_id}[]]",
            "deployment-config.json::phase2::availability[[]GET /items[]]",
            "deployment-config.json::phase2::availability[[]POST /items[]]",
        ],
        consecutive=True,
    )
