"""The ``deploycheck`` command line on a small project with a real local service.

Most commands run in this process through click's ``CliRunner`` (the service they start, the
SQLite history and the files they write are real); the error paths a user sees first run as
a real ``deploycheck`` process, so the exit code and stderr are exactly what a shell gets.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from pytest_deploycheck.cli import main
from pytest_deploycheck.score.history import HistoryStore
from tests.live_server import REPO_ROOT, free_port

DEPLOYCHECK = Path(sys.executable).with_name("deploycheck")
REFERENCE_SPEC = REPO_ROOT / "specs" / "booking.openapi.yaml"
# environment that would change what a command targets or where it writes
CLEARED = ("DEPLOYCHECK_BASE_URL", "DEPLOYCHECK_HISTORY_URL", "GITHUB_STEP_SUMMARY")

SERVICE = textwrap.dedent(
    """
    import http.server, json, sys

    ITEM = {"id": 7, "name": "spoon"}

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
            if path == "/health":
                return self._send(200, {"status": "ok"})
            if path == "/items":
                return self._send(200, [ITEM])
            if path.startswith("/items/"):
                found = path.rsplit("/", 1)[1] == "7"
                return self._send(200 if found else 404, ITEM if found else {"error": "no item"})
            self._send(404, {"error": "no route"})

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        # the default backlog of 5 drops concurrent probes' connections for a second
        request_queue_size = 64

    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
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
              content:
                application/json:
                  schema:
                    type: array
                    items: {$ref: "#/components/schemas/Item"}
            "400":
              description: Bad request.
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
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Item"}
            "404":
              description: No such item.
    components:
      schemas:
        Item:
          type: object
          description: An item.
          required: [id, name]
          properties:
            id: {type: integer}
            name: {type: string}
    """
).lstrip()

MIGRATION = "CREATE TABLE items (\n  id INTEGER PRIMARY KEY,\n  name TEXT NOT NULL\n);\n"

CONFIG: dict[str, Any] = {
    "spec": "openapi.yaml",
    "target": {
        "timeout": "5s",
        "local": {
            "command": ["{python}", "service.py", "{port}"],
            "ready_path": "/health",
            "ready_timeout": "20s",
        },
    },
    "static_analysis": {
        "commands": [{"name": "compile", "argv": ["{python}", "-m", "py_compile", "service.py"]}]
    },
    "migrations": {"folder": "migrations"},
    "database": {"tables": {"items": "Item"}},
    "health": {"path": "/health", "body": {"status": "ok"}, "retries": 0},
    "contract": {"max_examples": 5, "seed": 1},
    "history": {"url": "sqlite:///history.db"},
}


def write_project(root: Path, *, config: bool = True) -> Path:
    """The small project: a spec, its service, a migration and (unless not) its config."""
    (root / "migrations").mkdir(parents=True)
    (root / "service.py").write_text(SERVICE, encoding="utf-8")
    (root / "openapi.yaml").write_text(SPEC, encoding="utf-8")
    (root / "migrations" / "0001_init.sql").write_text(MIGRATION, encoding="utf-8")
    if config:
        write_config(root / "deployment-config.json", CONFIG)
    return root


def write_config(path: Path, config: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")


def deploycheck(*args: str, env: Mapping[str, str] | None = None) -> Result:
    """``deploycheck ARGS`` in this process; a crash (a traceback) fails the test."""
    isolated: dict[str, str | None] = dict.fromkeys(CLEARED)
    isolated["DEPLOYCHECK_DEBUG"] = "1"  # a bug raises, so that the test shows its traceback
    isolated.update(env or {})
    result = CliRunner().invoke(main, list(args), env=isolated)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        crash = "".join(traceback.format_exception(*result.exc_info))
        raise AssertionError(f"deploycheck {' '.join(args)} crashed:\n{crash}")
    return result


def deploycheck_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``deploycheck ARGS`` as a real process, the way a shell runs it."""
    env = {name: value for name, value in os.environ.items() if name not in CLEARED}
    return subprocess.run(
        [str(DEPLOYCHECK), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The small project as the working directory."""
    root = write_project(tmp_path / "tiny")
    monkeypatch.chdir(root)
    return root


def break_spec(root: Path) -> int:
    """Remove a response's description (invalid OpenAPI); return the response's line."""
    text = (root / "openapi.yaml").read_text(encoding="utf-8")
    description = "          description: The items.\n"
    assert text.count(description) == 1
    (root / "openapi.yaml").write_text(text.replace(description, "", 1), encoding="utf-8")
    lines = text.splitlines()
    return lines.index('        "200":', lines.index("  /items:")) + 1


# -- check-config and schema ------------------------------------------------------------------


def test_check_config_accepts_a_valid_config_and_names_its_spec(project: Path) -> None:
    result = deploycheck("check-config")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "deployment-config.json: valid; spec openapi.yaml: 2 operations"
    )


def test_check_config_lists_every_problem_and_exits_2_without_a_traceback(
    tmp_path: Path,
) -> None:
    root = write_project(tmp_path / "tiny")
    bad = {**CONFIG, "servise": {"name": "x"}, "health": {"path": 5, "retries": "many"}}
    write_config(root / "deployment-config.json", bad)
    result = deploycheck_process("check-config", cwd=root)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "deploycheck: error: deployment-config.json: 3 problems:"
    assert len(lines) == 4
    assert "did you mean 'service'" in result.stderr
    assert any(line.startswith("  - health.path:") for line in lines)
    assert any(line.startswith("  - health.retries:") and "many" in line for line in lines)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["check-config", "report"])
def test_a_missing_config_is_one_line_naming_the_file_and_init(
    tmp_path: Path, command: str
) -> None:
    result = deploycheck_process(command, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("deploycheck: error: deployment-config.json")
    assert "deploycheck init" in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    # the command line's option is --config; --deploycheck-config belongs to pytest
    assert "--deploycheck-config" not in result.stderr
    assert "--config" in result.stderr


def test_schema_is_json_that_validates_the_repository_config() -> None:
    result = deploycheck("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    repository_config = json.loads((REPO_ROOT / "deployment-config.json").read_text())
    assert list(validator.iter_errors(repository_config)) == []
    typo = {**repository_config, "helth": {"path": "/health"}}
    assert [error.validator for error in validator.iter_errors(typo)] == ["additionalProperties"]


def local_refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` in a JSON Schema document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from local_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from local_refs(value)


def resolves(document: Any, ref: str) -> bool:
    """Whether ``ref`` (``#/a/b``) points at something inside ``document``."""
    if not ref.startswith("#"):
        return False
    node = document
    for part in filter(None, ref[1:].split("/")):
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def test_the_schema_of_one_section_resolves_on_its_own() -> None:
    result = deploycheck("schema", "--section", "health")
    assert result.exit_code == 0
    section = json.loads(result.stdout)
    dangling = sorted({ref for ref in local_refs(section) if not resolves(section, ref)})
    assert dangling == [], "the printed section refers to definitions it does not print"
    health = json.loads((REPO_ROOT / "deployment-config.json").read_text())["health"]
    validator = jsonschema.Draft202012Validator(section)
    validator.validate(health)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**health, "max_latency": "soon"})


def test_schema_of_an_unknown_section_lists_the_sections() -> None:
    result = deploycheck("schema", "--section", "helth")
    assert result.exit_code == 2
    assert "no section 'helth'" in result.stderr
    assert "'health'" in result.stderr


# -- lint ------------------------------------------------------------------------------------


def test_lint_passes_the_reference_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config here: the default rules apply
    result = deploycheck("lint", str(REFERENCE_SPEC))
    assert result.exit_code == 0, result.output
    assert re.search(
        r"booking\.openapi\.yaml: 11 operations, 0 errors, \d+ warnings", result.stderr
    )
    assert " error [" not in result.stdout


def test_lint_fails_a_broken_spec_with_file_line_and_rule(project: Path) -> None:
    line = break_spec(project)
    expected = f"openapi.yaml:{line} (#/paths/~1items/get/responses/200)"

    text = deploycheck("lint", "openapi.yaml")
    assert text.exit_code == 1
    assert f"{expected}: error [oas3-schema] 'description' is required" in text.stdout
    assert "openapi.yaml: 2 operations, 1 errors" in text.stderr

    as_json = deploycheck("lint", "openapi.yaml", "--format", "json")
    assert as_json.exit_code == 1
    rows = json.loads(as_json.stdout)
    errors = [row for row in rows if row["severity"] == "error"]
    assert [(row["rule"], row["location"]) for row in errors] == [("oas3-schema", expected)]
    assert all(set(row) == {"rule", "severity", "message", "location"} for row in rows)


DAMAGED_SPEC = textwrap.dedent(
    """\
    openapi: 3.0.3
    info: {title: Damaged, version: "1"}
    security: [{oauth: [{}]}]
    paths:
      /items:
        get:
          tags: [[x]]
          responses: {"200": {description: The items.}}
    components:
      securitySchemes:
        oauth:
          type: oauth2
          flows: {implicit: {authorizationUrl: "https://a.test", scopes: {read: Read.}}}
    """
)


def test_lint_of_a_structurally_damaged_spec_reports_it_without_a_traceback(
    tmp_path: Path,
) -> None:
    # An unhashable tag and scope crashed two rules: a traceback instead of the findings,
    # and exit code 1, as if the findings had failed.
    (tmp_path / "damaged.yaml").write_text(DAMAGED_SPEC, encoding="utf-8")
    result = deploycheck_process("lint", "damaged.yaml", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "lint-rule-crashed" not in result.stdout
    assert "damaged.yaml:3 (#/security/0/oauth/0): error [oas3-schema]" in result.stdout
    assert "damaged.yaml:7 (#/paths/~1items/get/tags/0): error [oas3-schema]" in result.stdout


def test_lint_exits_3_when_a_rule_fails_and_still_shows_the_other_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_deploycheck.phase1.lint import RULES, Rule

    def broken(ctx: Any) -> Any:
        raise TypeError("unhashable type: 'dict'")

    monkeypatch.setitem(RULES, "broken-rule", Rule("broken-rule", "warning", "Breaks.", broken))
    monkeypatch.chdir(tmp_path)
    result = deploycheck("lint", str(REFERENCE_SPEC), env={"DEPLOYCHECK_DEBUG": None})
    assert result.exit_code == 3
    assert (
        "error [lint-rule-crashed] rule broken-rule failed on this document (TypeError: "
        "unhashable type: 'dict')" in result.stdout
    )
    assert "warning [" in result.stdout  # the other rules' findings
    assert result.stderr.splitlines()[-1] == (
        "deploycheck: internal error: a lint rule failed (see above); the other rules ran"
    )


def test_a_bug_is_one_line_and_exit_3_and_deploycheck_debug_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pytest_deploycheck.phase1.lint as lint

    def check_openapi(*args: Any) -> Any:
        raise KeyError("paths")

    monkeypatch.setattr(lint, "check_openapi", check_openapi)
    monkeypatch.chdir(tmp_path)
    result = deploycheck("lint", str(REFERENCE_SPEC), env={"DEPLOYCHECK_DEBUG": None})
    assert result.exit_code == 3
    assert result.stderr == (
        "deploycheck: internal error: KeyError: 'paths' (a bug in deploycheck: please report "
        "it; DEPLOYCHECK_DEBUG=1 shows the traceback)\n"
    )
    debug = CliRunner().invoke(main, ["lint", str(REFERENCE_SPEC)], env={"DEPLOYCHECK_DEBUG": "1"})
    assert isinstance(debug.exception, KeyError)


# -- pre-deploy ------------------------------------------------------------------------------


def test_pre_deploy_passes_every_round_of_a_healthy_project(project: Path) -> None:
    result = deploycheck("pre-deploy")
    assert result.exit_code == 0, result.output
    for round_ in ("round1", "round2", "round3"):
        assert re.search(rf"│ {round_}: .*│ pass +│", result.stdout), round_
    assert "  pass round3 contract[GET /items/{item_id}]" in result.stdout
    assert "FAIL" not in result.stdout
    assert "not run" not in result.stdout


def test_pre_deploy_stops_at_the_first_failing_round(project: Path) -> None:
    line = break_spec(project)
    result = deploycheck("pre-deploy")
    assert result.exit_code == 1
    assert re.search(r"│ round2: .*│ FAIL +│", result.stdout)
    assert f"openapi.yaml:{line} (#/paths/~1items/get/responses/200): error [oas3-schema]" in (
        result.stdout
    )
    assert "stopped after the first failing round; not run: round3" in result.stdout
    # round3 would start the service: nothing of it ran
    assert not re.search(r"(pass|FAIL) round3", result.stdout)
    assert "│ round3" not in result.stdout


def test_pre_deploy_names_each_check_with_its_parameter(project: Path) -> None:
    break_spec(project)
    result = deploycheck("pre-deploy")
    assert result.exit_code == 1
    # brackets are rich markup: "openapi[validity]" must not print as "openapi"
    assert "  FAIL round2 openapi[validity]" in result.stdout
    assert "  pass round2 openapi[lint]" in result.stdout


# -- migrations lock -------------------------------------------------------------------------


def test_migrations_lock_records_checksums_and_refuses_edited_migrations(project: Path) -> None:
    result = deploycheck("migrations", "lock")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote ")
    assert result.stdout.rstrip().endswith("migrations.lock")
    lock = json.loads((project / "migrations.lock").read_text())
    assert list(lock["migrations"]) == ["0001_init.sql"]
    checksum = lock["migrations"]["0001_init.sql"]
    assert re.fullmatch(r"[0-9a-f]{64}", checksum)

    (project / "migrations" / "0002_add_price.sql").write_text(
        "ALTER TABLE items ADD COLUMN price INTEGER;\n", encoding="utf-8"
    )
    assert deploycheck("migrations", "lock").exit_code == 0
    lock = json.loads((project / "migrations.lock").read_text())
    assert list(lock["migrations"]) == ["0001_init.sql", "0002_add_price.sql"]
    assert lock["migrations"]["0001_init.sql"] == checksum

    edited = project / "migrations" / "0001_init.sql"
    edited.write_text(MIGRATION.replace("name TEXT", "title TEXT"), encoding="utf-8")
    refused = deploycheck("migrations", "lock")
    assert refused.exit_code == 2
    assert "0001_init.sql was edited after it was locked" in refused.stderr
    assert "--force" in refused.stderr
    assert json.loads((project / "migrations.lock").read_text())["migrations"]["0001_init.sql"] == (
        checksum
    )
    assert deploycheck("migrations", "lock", "--force").exit_code == 0
    relocked = json.loads((project / "migrations.lock").read_text())["migrations"]
    assert relocked["0001_init.sql"] != checksum


# -- collect, then report and history ----------------------------------------------------------


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's config after two deployments were collected, release-1 then release-2."""
    root = write_project(tmp_path_factory.mktemp("stored") / "tiny")
    config = root / "deployment-config.json"
    for deploy_id in ("release-1", "release-2"):
        result = deploycheck(
            "collect", "--quick", "--config", str(config), "--deploy-id", deploy_id
        )
        assert result.exit_code == 0, result.output
        assert f"collected 1 round(s) for deployment {deploy_id}" in result.stdout
    return config


def report_json(config: Path, *args: str) -> dict[str, Any]:
    result = deploycheck("report", "--config", str(config), "--json", "-", *args)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_report_json_covers_this_deployment_the_previous_one_and_the_trend(stored: Path) -> None:
    document = report_json(stored)
    assert document["deployment"]["id"] == "release-2"
    assert document["score"]["verdict"] == "pass"
    assert document["comparison"]["previous_id"] == "release-1"
    assert [point["deploy_id"] for point in document["trend"]["points"]] == [
        "release-1",
        "release-2",
    ]
    assert {op["label"] for op in document["operations"]} == {"GET /items", "GET /items/{item_id}"}
    earlier = report_json(stored, "--deploy-id", "release-1")
    assert earlier["deployment"]["id"] == "release-1"
    assert earlier["comparison"] is None


def test_report_and_history_run_without_the_targets_secrets(
    stored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report job need not hold the API token: only history, service and scoring need
    their ${VAR}; the commands that reach the target still insist."""
    config = json.loads(stored.read_text())
    config["target"]["headers"] = {"Authorization": "Bearer ${REPORT_TEST_TOKEN}"}
    config["target"]["timeout"] = "${REPORT_TEST_TIMEOUT}"
    offline = stored.with_name("offline-config.json")
    offline.write_text(json.dumps(config))
    monkeypatch.delenv("REPORT_TEST_TOKEN", raising=False)
    monkeypatch.delenv("REPORT_TEST_TIMEOUT", raising=False)
    assert report_json(offline)["deployment"]["id"] == "release-2"
    listed = deploycheck("history", "--config", str(offline))
    assert listed.exit_code == 0, listed.output
    assert "release-1" in listed.stdout
    shown = deploycheck("history", "--config", str(offline), "show", "release-1")
    assert shown.exit_code == 0, shown.output
    refused = deploycheck("collect", "--quick", "--config", str(offline))
    assert refused.exit_code == 2
    assert "environment variable REPORT_TEST_TOKEN is not set" in refused.stderr


def test_report_markdown_is_appended_to_the_github_step_summary(
    stored: Path, tmp_path: Path
) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("# Deploy\n", encoding="utf-8")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    first = deploycheck("report", "--config", str(stored), "--markdown", env=env)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("## ")
    # Markdown escapes may sit inside the id ("release\\-2")
    assert "Deployment release-2" in first.stdout.splitlines()[0].replace("\\", "")
    assert summary.read_text(encoding="utf-8") == "# Deploy\n" + first.stdout
    second = deploycheck("report", "--config", str(stored), "--markdown", env=env)
    assert summary.read_text(encoding="utf-8") == "# Deploy\n" + first.stdout + second.stdout


class ResourceLinks(HTMLParser):
    """Every URL an HTML page would fetch: src, link href, CSS url() and @import."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "srcset", "data", "poster"):
            if values.get(name):
                self.urls.append(str(values[name]))
        if tag == "link" and values.get("href"):
            self.urls.append(str(values["href"]))
        if values.get("style"):
            self.styles.append(str(values["style"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def test_report_html_is_one_self_contained_file(stored: Path, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    result = deploycheck("report", "--config", str(stored), "--html", str(path))
    assert result.exit_code == 0, result.output
    assert f"wrote {path}" in result.stderr
    html = path.read_text(encoding="utf-8")
    assert "release-2" in html
    assert "release-1" in html
    parser = ResourceLinks()
    parser.feed(html)
    external = [url for url in parser.urls if not url.startswith(("data:", "#"))]
    assert external == []
    css = "\n".join(parser.styles)
    assert "@import" not in css
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css)


def test_report_fail_on_verdict_exits_1_only_when_the_verdict_fails(stored: Path) -> None:
    passing = deploycheck("report", "--config", str(stored), "--json", "-", "--fail-on-verdict")
    assert passing.exit_code == 0, passing.output
    assert json.loads(passing.stdout)["score"]["verdict"] == "pass"
    # the same history judged by a stricter config: no operation is fast enough
    strict = stored.with_name("strict.json")
    scoring = {"thresholds": {"target": "0.001ms", "max": "0.002ms"}, "fail_below": 70}
    write_config(strict, {**CONFIG, "scoring": scoring})
    failing = deploycheck("report", "--config", str(strict), "--json", "-", "--fail-on-verdict")
    assert failing.exit_code == 1
    assert json.loads(failing.stdout)["score"]["verdict"] == "fail"
    without_flag = deploycheck("report", "--config", str(strict), "--json", "-")
    assert without_flag.exit_code == 0


def test_report_fail_on_verdict_warn_exits_1_on_a_warning_too(stored: Path, tmp_path: Path) -> None:
    project = tmp_path / stored.parent.name  # the folder names the service
    shutil.copytree(stored.parent, project)
    config = project / stored.name
    # the latest run had a failed contract item: the history keeps it, the verdict warns
    failed = [
        {
            "node_id": "deployment-config.json::phase3::contract[GET /items]",
            "family": "contract",
            "rule": "contract-status",
            "message": "GET /items answered 418, which the spec does not document",
        }
    ]
    with sqlite3.connect(project / "history.db") as conn:
        conn.execute(
            "UPDATE deploycheck_runs SET failed_items = ? WHERE id = (SELECT max(id) FROM "
            "deploycheck_runs)",
            (json.dumps(failed),),
        )
    on_fail = deploycheck("report", "--config", str(config), "--json", "-", "--fail-on-verdict")
    assert on_fail.exit_code == 0, on_fail.output
    document = json.loads(on_fail.stdout)
    assert document["score"]["verdict"] == "warn"
    assert document["failed_items"] == failed
    on_warn = deploycheck(
        "report", "--config", str(config), "--json", "-", "--fail-on-verdict=warn"
    )
    assert on_warn.exit_code == 1
    markdown = deploycheck("report", "--config", str(config), "--markdown")
    assert markdown.stdout.startswith("## \u26a0\ufe0f Deployment release\\-2: ")
    assert "contract\\[GET /items\\]" in markdown.stdout
    bad = deploycheck("report", "--config", str(config), "--fail-on-verdict=maybe")
    assert bad.exit_code == 2
    assert "'maybe' is not one of 'fail', 'warn'" in bad.output


def history_rows(output: str) -> list[list[str]]:
    """The body rows of a rich table printed without a terminal."""
    return [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def test_history_lists_the_deployments_newest_first(stored: Path) -> None:
    result = deploycheck("history", "--config", str(stored))
    assert result.exit_code == 0, result.output
    rows = history_rows(result.stdout)
    assert [row[0] for row in rows] == ["release-2", "release-1"]
    assert [row[3] for row in rows] == ["1", "1"]  # one collect round each


def test_history_shows_the_score_each_deployment_was_given(stored: Path) -> None:
    # `deploycheck collect` printed a deployment score; the list must not say "-"
    scores = {
        deploy_id: f"{report_json(stored, '--deploy-id', deploy_id)['score']['score']:.1f}"
        for deploy_id in ("release-1", "release-2")
    }
    result = deploycheck("history", "--config", str(stored))
    rows = {row[0]: row for row in history_rows(result.stdout)}
    assert {deploy_id: rows[deploy_id][4] for deploy_id in scores} == scores
    assert {rows[deploy_id][5] for deploy_id in scores} == {"pass"}


def test_history_show_lists_the_runs_of_one_deployment(stored: Path) -> None:
    result = deploycheck("history", "--config", str(stored), "show", "release-1")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("deployment release-1\n")
    [run] = history_rows(result.stdout)
    assert run[1:4] == ["collect", "1", "2"]  # phase, round, operations

    unknown = deploycheck("history", "--config", str(stored), "show", "release-9")
    assert unknown.exit_code == 2
    assert "no deployment 'release-9'" in unknown.stderr


# -- one store, several services: --service ---------------------------------------------------


@pytest.fixture(scope="module")
def two_services(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One history store written by two services: "tiny" (the config's service.name) and
    "worker" (the same config with --service), two deployments each, interleaved."""
    root = write_project(tmp_path_factory.mktemp("shared") / "tiny")
    config = str(root / "deployment-config.json")
    for deploy_id, service in [("t-1", None), ("w-1", "worker"), ("t-2", None), ("w-2", "worker")]:
        named = ["--service", service] if service else []
        result = deploycheck(
            "collect", "--quick", "--config", config, "--deploy-id", deploy_id, *named
        )
        assert result.exit_code == 0, result.output
    return root / "deployment-config.json"


def test_history_and_report_keep_to_one_service(two_services: Path) -> None:
    config = str(two_services)
    mine = deploycheck("history", "--config", config)
    assert mine.exit_code == 0, mine.output
    assert "deployments of tiny (2 shown)" in mine.stdout
    assert "the history holds tiny, worker: --service NAME picks one" in mine.stdout
    # (the first cells of each row: a narrow terminal wraps the dates onto a second line)
    assert [row[:2] for row in history_rows(mine.stdout) if row[0]] == [
        ["t-2", "tiny"],
        ["t-1", "tiny"],
    ]
    theirs = deploycheck("history", "--config", config, "--service", "worker")
    assert [row[:2] for row in history_rows(theirs.stdout) if row[0]] == [
        ["w-2", "worker"],
        ["w-1", "worker"],
    ]
    report = report_json(two_services)
    assert report["deployment"]["id"] == "t-2"
    assert report["comparison"]["previous_id"] == "t-1"
    worker = report_json(two_services, "--service", "worker")
    assert worker["deployment"]["id"] == "w-2"
    assert worker["comparison"]["previous_id"] == "w-1"
    assert [point["deploy_id"] for point in worker["trend"]["points"]] == ["w-1", "w-2"]


def test_a_service_the_store_does_not_hold_is_named_with_the_ones_it_does(
    two_services: Path,
) -> None:
    for command in ("report", "history"):
        result = deploycheck(command, "--config", str(two_services), "--service", "wroker")
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            "deploycheck: error: --service 'wroker': the history holds no deployment of it "
            "(did you mean 'worker'?); its services: tiny, worker"
        )


def test_the_monitor_keeps_its_alerts_under_the_service_it_is_given(
    two_services: Path, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = deploycheck(
        "monitor",
        "--config",
        str(two_services),
        "--service",
        "worker",
        "--base-url",
        dead,
        "--deploy-id",
        "w-2",
        "--interval",
        "1s",
        "--duration",
        "1s",
    )
    assert result.exit_code == 1, result.output  # one failed round: alert level 1
    with HistoryStore.open(f"sqlite:///{two_services.parent / 'history.db'}") as store:
        keys = {state.key for state in store.alert_states()}
    assert keys
    assert all(key.startswith("worker/") for key in keys), keys


# -- init and self-test ----------------------------------------------------------------------


def test_init_writes_a_config_that_check_config_accepts(tmp_path: Path) -> None:
    root = write_project(tmp_path / "fresh", config=False)
    result = deploycheck("init", str(root))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Wrote deployment-config.json:")
    assert re.search(r"spec +openapi\.yaml: OpenAPI 3\.1\.0, 2 operations", result.stdout)
    assert re.search(r"migrations +migrations: 1 numbered SQL migrations", result.stdout)
    config = json.loads((root / "deployment-config.json").read_text())
    assert config["spec"] == "openapi.yaml"
    assert (root / "migrations.lock").is_file()

    check = deploycheck("check-config", "--config", str(root / "deployment-config.json"))
    assert check.exit_code == 0, check.output
    assert "valid; spec openapi.yaml: 2 operations" in check.stdout

    again = deploycheck("init", str(root))
    assert again.exit_code == 2
    assert "--force" in again.stderr
    assert json.loads((root / "deployment-config.json").read_text()) == config


def test_self_test_of_one_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = deploycheck("self-test", "--family", "openapi")
    assert result.exit_code == 0, result.output
    assert "self-test passed: 3 cases over 1 family" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.lstrip().startswith("openapi")]
    assert len(rows) == 3
    assert all("pass" in row.split("│")[4] for row in rows)

    unknown = deploycheck("self-test", "--family", "opnapi")
    assert unknown.exit_code == 2
    assert "'opnapi' is not a check family" in unknown.stderr
