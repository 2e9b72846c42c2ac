"""``deploycheck init``: what it finds in a repository, the config it writes, and the promise
that a newcomer gets a green ``pytest -m phase1`` from it with nothing else to do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_deploycheck.core.config import load_config
from pytest_deploycheck.core.errors import ConfigError, SpecError
from pytest_deploycheck.init import (
    LOCAL_SCHEMA,
    PUBLISHED_SCHEMA_URL,
    discover,
    find_health_path,
    init_project,
    schema_reference,
)

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "init"


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def copy_reference_service(tmp_path: Path) -> Path:
    """The booking API and its spec, as a repository of their own, without any config."""
    project = tmp_path / "booking"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(
        REPO / "examples" / "booking_api", project / "examples" / "booking_api", ignore=ignore
    )
    shutil.copy(REPO / "examples" / "__init__.py", project / "examples" / "__init__.py")
    (project / "specs").mkdir()
    shutil.copy(REPO / "specs" / "booking.openapi.yaml", project / "specs")
    return project


# -- the newcomer's first run ---------------------------------------------------------------


def test_init_then_one_pytest_command_gives_a_green_phase1(tmp_path: Path) -> None:
    project = copy_reference_service(tmp_path)

    result = init_project(project)

    assert result.path == project / "deployment-config.json"
    config = load_config(result.path, environ={})
    assert config.spec_path == project / "specs" / "booking.openapi.yaml"
    assert config.section("migrations")["folder"] == "examples/booking_api/migrations"
    assert config.section("health")["path"] == "/health"
    assert config.local_command is not None
    assert "examples.booking_api.app:create_app" in config.local_command
    pydantic = config.section("models")["pydantic"]
    assert pydantic["Appointment"] == "examples.booking_api.models:Appointment"
    assert pydantic["ProviderCreate"] == "examples.booking_api.models:ProviderCreate"
    assert result.lock_path == project / "migrations.lock"
    locked = json.loads(result.lock_path.read_text())["migrations"]
    assert sorted(locked) == sorted(
        p.name for p in (project / "examples/booking_api/migrations").glob("*.sql")
    )

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEPLOYCHECK_", "BOOKING_"))}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "phase1", "-p", "no:cacheprovider", "-rA"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    summary = run.stdout.strip().splitlines()[-1]
    assert "passed" in summary, output
    assert "failed" not in summary, output
    assert "error" not in summary, output
    # the checks init configured ran, against the service it told pytest how to start
    assert "PASSED deployment-config.json::phase1::openapi[validity]" in output
    assert "PASSED deployment-config.json::phase1::models[pydantic:Appointment]" in output
    assert "PASSED deployment-config.json::phase1::health" in output
    assert "PASSED deployment-config.json::phase1::availability[POST /appointments]" in output


def test_the_explanation_names_each_section_and_the_next_command(tmp_path: Path) -> None:
    result = init_project(copy_reference_service(tmp_path))

    text = result.explanation
    for section in ("$schema", "service", "spec", "target", "health", "migrations", "models"):
        assert f"  {section} " in text
    assert "served at /openapi.json" in text
    assert "Appointment <- examples.booking_api.models:Appointment" in text
    assert "migrations.lock: the 3 existing migrations are recorded as deployed" in text
    # sections left out are listed with what they would add, so the reader knows they exist
    assert "static_analysis" in text
    assert "rollback " in text
    assert text.rstrip().endswith("pytest deployment-config.json -m phase1")
    # the file itself is plain JSON: no comment keys
    assert not any(key.startswith(("//", "_comment")) for key in json.loads(result.text))


# -- what discover finds --------------------------------------------------------------------


def test_a_cloudflare_worker_with_d1(tmp_path: Path) -> None:
    project = copy_fixture("workers", tmp_path)

    result = init_project(project)

    found = result.found
    assert found.spec.path == "openapi.json"
    assert found.spec.version == "3.0.3"
    assert found.spec.health_path == "/healthz"
    assert found.migrations is not None
    assert (found.migrations.folder, found.migrations.start) == ("db/d1", 0)
    assert "wrangler.toml" in found.migrations.source
    assert found.start is not None
    assert found.start.argv == (
        "pnpm",
        "exec",
        "wrangler",
        "dev",
        "--ip",
        "{host}",
        "--port",
        "{port}",
    )
    assert found.service_name == "clinic-api"
    assert any("docs/swagger.yaml" in note and "Swagger 2.0" in note for note in found.notes)
    config = load_config(result.path, environ={})
    assert config.section("migrations") == {"folder": "db/d1", "start": 0}
    assert config.section("target")["local"]["ready_timeout"] == "60s"
    assert config.section("target")["local"]["ready_path"] == "/healthz"


def test_a_src_layout_fastapi_service(tmp_path: Path) -> None:
    project = copy_fixture("python", tmp_path)

    found = discover(project)

    # the documented spec wins over a smaller internal one and a bigger test double
    assert found.spec.path == "docs/openapi.yaml"
    assert set(found.other_specs) == {"api/openapi-internal.yaml", "tests/data/openapi.yaml"}
    assert found.spec.health_path == "/status"
    # the app in tests/ is a test double, not the service
    assert found.start is not None
    assert found.start.argv == (
        "{python}", "-m", "uvicorn", "clinic.api:app", "--app-dir", "src",
        "--host", "{host}", "--port", "{port}",
    )  # fmt: skip
    # models through a project base class and through pydantic.BaseModel; a class that merely
    # shares a component's name is not one; models/schemas modules win over others
    assert {m.component: m.target for m in found.models} == {
        "Patient": "clinic.schemas:Patient",
        "PatientCreate": "clinic.schemas:PatientCreate",
        "Visit": "clinic.schemas:Visit",
    }
    assert any("Patient also defined in clinic.legacy:Patient" in note for note in found.notes)
    # Alembic migrations are Python: left out, and said so
    assert found.migrations is None
    assert any("Alembic" in note for note in found.notes)
    assert found.service_name == "clinic"


def test_a_node_service_with_sql_migrations(tmp_path: Path) -> None:
    project = copy_fixture("node", tmp_path)

    result = init_project(project)

    found = result.found
    assert found.spec.path == "specs/notes.openapi.yml"
    assert found.spec.health_path == "/api/health"
    assert found.start is not None
    assert found.start.argv == ("yarn", "run", "start")
    assert "$PORT" in found.start.source
    config = load_config(result.path, environ={})
    assert config.section("spec") == {
        "path": "specs/notes.openapi.yml",
        "served_path": "/openapi.json",
    }
    assert config.section("migrations") == {"folder": "db/migrations"}
    assert "models" not in config.raw


def test_no_openapi_3_document_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    project = copy_fixture("empty", tmp_path)

    with pytest.raises(SpecError) as caught:
        init_project(project)

    message = str(caught.value)
    assert "no OpenAPI 3.x document found" in message
    assert "docs/swagger.json: a Swagger 2.0 document" in message
    assert "swagger2openapi" in message
    assert not (project / "deployment-config.json").exists()


BARE_SPEC = (
    "openapi: 3.0.3\ninfo: {title: Bare, version: '1'}\n"
    "paths:\n  /items:\n    get:\n      responses: {'200': {description: Items.}}\n"
)


def test_only_fastapi_s_own_fastapi_class_makes_an_app(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text(BARE_SPEC)
    package = tmp_path / "store"
    (package / "server").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    # the project's own wrapper class, named FastAPI too, builds the real app in a method
    (package / "server" / "__init__.py").write_text(
        "import fastapi\n\n\nclass FastAPI:\n    def __init__(self, settings=None):\n"
        "        self._app = fastapi.FastAPI(title='store')\n\n"
        "    def app(self):\n        return self._app\n"
    )
    (package / "main.py").write_text(
        "from store.server import FastAPI\n\nserver = FastAPI()\napp = server.app()\n"
    )
    assert discover(tmp_path).start is None
    # fastapi imported under another name still counts
    (package / "api.py").write_text("import fastapi as fa\n\napi = fa.FastAPI()\n")
    start = discover(tmp_path).start
    assert start is not None
    assert "store.api:api" in start.argv


def test_sql_below_a_migrations_folder_that_is_not_configured_is_named(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text(BARE_SPEC)
    for name in (
        "pkg/migrations/sysdb/00001-collections.sqlite.sql",
        "db/migrations/pg/0001_a.sql",
    ):
        (tmp_path / name).parent.mkdir(parents=True)
        (tmp_path / name).write_text("CREATE TABLE t (id INTEGER);")
    found = discover(tmp_path)
    assert found.migrations is None
    assert [note for note in found.notes if "migrations/" in note] == [
        "db/migrations/pg: SQL migrations (0001_a.sql, ...) not configured; set "
        "migrations.folder to check them",
        "pkg/migrations/sysdb: SQL files not named NNNN_name.sql (such as "
        "00001-collections.sqlite.sql); to check them, set migrations.folder and a "
        "migrations.pattern whose first group is the number",
    ]


def test_a_big_spec_named_like_one_is_read_and_a_giant_one_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = {"/p": {"get": {"responses": {"200": {"description": "ok"}}}}}
    document = {"openapi": "3.0.3", "info": {"title": "Big", "version": "1"}, "paths": paths}
    text = json.dumps(document)
    # 11 MB: over the limit for any JSON file, under the one for a file named like a spec
    (tmp_path / "openapi.json").write_text(text[:-1] + ', "x-pad": "' + "x" * 11_000_000 + '"}')
    assert discover(tmp_path).spec.path == "openapi.json"
    monkeypatch.setattr("pytest_deploycheck.init.spec._MAX_NAMED_SPEC_BYTES", 10_000_000)
    with pytest.raises(SpecError, match=r"openapi\.json: 10\.5 MiB, over the 9\.5 MiB init reads"):
        discover(tmp_path)


def test_operations_that_may_delete_data_are_left_out_of_probes(tmp_path: Path) -> None:
    ok = {"responses": {"200": {"description": "ok"}}}
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "Flows", "version": "1"},
        "paths": {
            "/flows": {"get": ok},
            "/flows/{id}": {"delete": ok},
            "/flows/bulk_delete": {"post": ok},
            "/admin/reset": {"post": {**ok, "operationId": "resetDatabase"}},
            "/flows/filter": {"post": {**ok, "operationId": "readFlows"}},
        },
    }
    (tmp_path / "openapi.json").write_text(json.dumps(spec))
    result = init_project(tmp_path)
    left_out = ["DELETE /flows/{id}", "POST /flows/bulk_delete", "POST /admin/reset"]
    config = load_config(result.path, environ={})
    assert config.section("availability") == {"exclude": left_out}
    assert config.section("contract") == {"exclude": left_out}
    assert "3 operation(s) that may delete or reset data left out" in result.explanation


def test_a_fastapi_app_without_a_spec_file_is_told_how_to_save_its_spec(tmp_path: Path) -> None:
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "__init__.py").write_text("")
    (tmp_path / "service" / "app.py").write_text(
        "from fastapi import FastAPI\n\n\ndef create_app():\n    return FastAPI()\n"
    )
    with pytest.raises(SpecError) as caught:
        init_project(tmp_path)
    message = str(caught.value)
    assert "no OpenAPI 3.x document found" in message
    assert (
        "PYTHONPATH=. python -c 'import json; from service.app import create_app; "
        "print(json.dumps(create_app().openapi()))' > openapi.json"
    ) in message


def test_without_a_start_command_or_health_path_phase1_round3_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: Bare, version: '1'}\n"
        "paths:\n  /items:\n    get:\n      responses: {'200': {description: Items.}}\n"
    )

    result = init_project(tmp_path)

    config = load_config(result.path, environ={})
    assert "local" not in config.section("target")
    assert config.section("health") == {"enabled": False}
    assert "set target.local.command" in result.explanation
    assert 'pytest deployment-config.json -m "phase1 and not round3"' in result.explanation


def test_wrangler_jsonc_with_comments_and_trailing_commas(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "workers" / "openapi.json", tmp_path)
    (tmp_path / "wrangler.jsonc").write_text(
        """{
          // the Worker
          "name": "jsonc-worker", /* a block comment */
          "main": "https://example.com/not-a-comment",
          "d1_databases": [
            {"binding": "DB", "migrations_dir": "sql/d1",},
          ],
        }"""
    )
    (tmp_path / "sql" / "d1").mkdir(parents=True)
    (tmp_path / "sql" / "d1" / "0001_init.sql").write_text("CREATE TABLE t (id INTEGER);\n")

    found = discover(tmp_path)

    assert found.migrations is not None
    assert found.migrations.folder == "sql/d1"
    assert found.service_name == "jsonc-worker"
    assert found.start is not None
    assert found.start.argv[:3] == ("npx", "wrangler", "dev")


def test_the_repository_itself() -> None:
    found = discover(REPO)

    assert found.spec.path == "specs/booking.openapi.yaml"
    assert found.start is not None
    assert "examples.booking_api.app:create_app" in found.start.argv


# -- writing --------------------------------------------------------------------------------


def test_an_existing_config_is_never_overwritten_without_force(tmp_path: Path) -> None:
    project = copy_fixture("node", tmp_path)
    existing = project / "deployment-config.json"
    existing.write_text('{"spec": "mine.yaml"}\n')

    with pytest.raises(ConfigError) as caught:
        init_project(project)

    assert str(existing) in str(caught.value)
    assert "already exists" in str(caught.value)
    assert "--force" in str(caught.value)
    assert existing.read_text() == '{"spec": "mine.yaml"}\n'

    init_project(project, force=True)
    assert load_config(existing, environ={}).section("spec")["path"] == "specs/notes.openapi.yml"


def test_an_existing_lock_file_is_left_alone(tmp_path: Path) -> None:
    project = copy_fixture("node", tmp_path)
    (project / "migrations.lock").write_text("kept\n")

    result = init_project(project)

    assert result.lock_path is None
    assert (project / "migrations.lock").read_text() == "kept\n"


def test_locking_can_be_switched_off(tmp_path: Path) -> None:
    project = copy_fixture("node", tmp_path)

    result = init_project(project, lock_migrations=False)

    assert result.lock_path is None
    assert not (project / "migrations.lock").exists()


def test_schema_reference(tmp_path: Path) -> None:
    inside = tmp_path / "repo" / ".venv" / "site-packages" / "pytest_deploycheck" / "schema.json"
    outside = tmp_path / "elsewhere" / "schema.json"
    for path in (inside, outside):
        path.parent.mkdir(parents=True)
        path.write_text("{}")
    root = tmp_path / "repo"

    # a schema inside the repository: a relative path works for everyone who clones it
    assert (
        schema_reference(root, "auto", inside)
        == "./.venv/site-packages/pytest_deploycheck/schema.json"
    )
    # one machine's site-packages means nothing to others: a copy in the repository, which
    # editors read offline (init writes it, as `deploycheck schema --write` does)
    assert schema_reference(root, "auto", outside) == f"./{LOCAL_SCHEMA}"
    assert schema_reference(root, "url", inside) == PUBLISHED_SCHEMA_URL
    assert schema_reference(root, "path", outside) == "../elsewhere/schema.json"
    # this repository has the package inside it
    expected = "./pytest_deploycheck/schemas/deployment-config.schema.json"
    assert schema_reference(REPO) == expected
    assert (REPO / expected).is_file()


def test_the_written_schema_reference_follows_the_choice(tmp_path: Path) -> None:
    project = copy_fixture("node", tmp_path)

    text = init_project(project, schema="url").text

    assert json.loads(text)["$schema"] == PUBLISHED_SCHEMA_URL


# -- the health path --------------------------------------------------------------------------

HEALTH_NAMES = {"health", "healthz", "live", "ready", "livez", "readyz", "status", "ping"}
HEALTH_NAMES |= {"heartbeat", "_health"}  # the last segment of every known health path
_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-", min_size=1, max_size=8)
_paths = st.lists(
    st.lists(_segment | _segment.map(lambda s: "{" + s + "}"), min_size=1, max_size=3).map(
        lambda parts: "/" + "/".join(parts)
    ),
    max_size=8,
)


@given(_paths)
def test_the_health_path_is_a_fixed_path_of_the_spec(paths: list[str]) -> None:
    chosen = find_health_path(paths)

    if chosen is not None:
        assert chosen in paths
        assert "{" not in chosen
        assert chosen.rsplit("/", 1)[1] in HEALTH_NAMES
    if "/health" in paths:
        assert chosen == "/health"


def test_health_path_preferences() -> None:
    assert find_health_path(["/status", "/healthz"]) == "/healthz"
    assert find_health_path(["/v1/items", "/v1/health", "/internal/admin/health"]) == "/v1/health"
    assert find_health_path(["/users/{id}/status", "/users"]) is None


# -- how the service starts: any ASGI or WSGI app, Django, a package.json script ----------------

APPS = {
    "starlette": (
        "from starlette.applications import Starlette\n\napp = Starlette()\n",
        "",
        "{python} -m uvicorn shop.main:app --host {host} --port {port}",
    ),
    "litestar factory": (
        "import litestar\n\n\ndef create_app():\n    return litestar.Litestar(route_handlers=[])\n",
        "",
        "{python} -m uvicorn --factory shop.main:create_app --host {host} --port {port}",
    ),
    "quart on hypercorn": (
        "from quart import Quart\n\napp = Quart(__name__)\n",
        "quart\nhypercorn>=0.16\n",
        "{python} -m hypercorn --bind {host}:{port} shop.main:app",
    ),
    "flask on gunicorn": (
        "from flask import Flask\n\napp = Flask(__name__)\n",
        "flask==3.1\ngunicorn\n",
        "{python} -m gunicorn --bind {host}:{port} shop.main:app",
    ),
    "flask factory on waitress": (
        "import flask\n\n\ndef create_app():\n    return flask.Flask(__name__)\n",
        "flask\nwaitress\n",
        "{python} -m waitress --host={host} --port={port} --call shop.main:create_app",
    ),
    "flask alone": (
        "from flask import Flask as F\n\nserver = F(__name__)\n",
        "flask\n",
        "{python} -m flask --app shop.main:server run --host {host} --port {port} --no-reload",
    ),
}


@pytest.mark.parametrize("case", APPS)
def test_asgi_and_wsgi_apps_are_served_by_the_project_s_server(tmp_path: Path, case: str) -> None:
    source, requirements, expected = APPS[case]
    (tmp_path / "openapi.yaml").write_text(BARE_SPEC)
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "main.py").write_text(source)
    (tmp_path / "requirements.txt").write_text(requirements)

    start = discover(tmp_path).start

    assert start is not None
    assert " ".join(start.argv) == expected


@pytest.mark.parametrize(
    ("dependencies", "expected"),
    [
        (
            '["django", "gunicorn"]',
            "{python} -m gunicorn --bind {host}:{port} site_.wsgi:application",
        ),
        ('["django"]', "{python} manage.py runserver {host}:{port} --noreload"),
    ],
)
def test_a_django_project(tmp_path: Path, dependencies: str, expected: str) -> None:
    (tmp_path / "openapi.yaml").write_text(BARE_SPEC)
    (tmp_path / "manage.py").write_text("import django\n")
    (tmp_path / "site_").mkdir()
    (tmp_path / "site_" / "__init__.py").write_text("")
    (tmp_path / "site_" / "wsgi.py").write_text(
        "from django.core.wsgi import get_wsgi_application\n\n"
        "application = get_wsgi_application()\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "site"\ndependencies = {dependencies}\n'
    )

    start = discover(tmp_path).start

    assert start is not None
    assert " ".join(start.argv) == expected


def test_a_package_json_script_gets_the_gate_s_host_and_port(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text(BARE_SPEC)
    (tmp_path / "package.json").write_text('{"scripts": {"start": "node server.js"}}')

    config = load_config(init_project(tmp_path).path, environ={})

    local = config.section("target")["local"]
    assert local["command"] == ["npm", "run", "start"]
    assert local["env"] == {"PORT": "{port}", "HOST": "{host}"}


# -- env, breaking, database, bundle ---------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_breaking_compares_with_the_default_branch_s_spec(tmp_path: Path) -> None:
    project = tmp_path / "api"
    project.mkdir()
    (project / "openapi.yaml").write_text(BARE_SPEC)
    # not committed yet: nothing to compare with, and init says what to do
    git(project, "init", "-q", "-b", "main")
    found = discover(project)
    assert found.breaking_base is None
    assert any("openapi.yaml is not committed yet" in note for note in found.notes)
    # on the default branch: the last commit
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "spec")
    assert discover(project).breaking_base == "HEAD:openapi.yaml"
    # on a feature branch: the default branch
    git(project, "switch", "-q", "-c", "feature")
    assert discover(project).breaking_base == "main:openapi.yaml"
    # in a clone: the remote's default branch, what a pull request merges into
    git(project, "switch", "-q", "main")
    git(tmp_path, "clone", "-q", str(project), "clone")
    config = load_config(init_project(tmp_path / "clone").path, environ={})
    assert config.section("breaking") == {"base": "origin/main:openapi.yaml"}


def test_env_comes_from_the_example_files(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text(BARE_SPEC)
    (tmp_path / ".env.example").write_text("DATABASE_URL=\nSENTRY_DSN=  # optional\n")
    (tmp_path / ".dev.vars.example").write_text("STRIPE_SECRET_KEY=\n")

    result = init_project(tmp_path)

    config = load_config(result.path, environ={})
    assert config.section("env") == {
        "example": [".env.example", ".dev.vars.example"],
        "files": [".env", ".dev.vars"],
    }
    assert "3 variables declared by .env.example, .dev.vars.example: 2 required" in (
        result.explanation
    )
    assert "secret, never shown: STRIPE_SECRET_KEY" in result.explanation


def test_database_is_configured_with_migrations_and_component_schemas(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text(
        BARE_SPEC + "components:\n  schemas:\n    Item: {type: object}\n"
    )
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_items.sql").write_text("CREATE TABLE items (id INTEGER);\n")

    result = init_project(tmp_path)

    assert load_config(result.path, environ={}).section("database") == {}
    assert "database    the migrated tables against the component schemas" in result.explanation


def test_bundle_only_for_a_build_output_that_exists(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text(BARE_SPEC)
    (tmp_path / "package.json").write_text('{"scripts": {"build": "esbuild src/index.ts"}}')
    (tmp_path / "yarn.lock").write_text("")

    found = discover(tmp_path)
    assert found.bundle == ()
    assert any("run `yarn run build`, then `deploycheck init --force`" in n for n in found.notes)

    (tmp_path / "dist" / "chunks").mkdir(parents=True)
    (tmp_path / "dist" / "chunks" / "index.js").write_text("export {}\n")
    (tmp_path / "dist" / "styles.css").write_text("a{}\n")
    config = load_config(init_project(tmp_path).path, environ={})
    assert config.section("bundle") == {
        "artifacts": [{"path": "dist/**/*.css"}, {"path": "dist/**/*.js"}],
        "max_growth": "10%",
    }


def test_a_delete_with_a_create_is_tested_on_its_own_resources(tmp_path: Path) -> None:
    ok = {"responses": {"200": {"description": "ok"}}}
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "Flows", "version": "1"},
        "paths": {
            "/flows": {"post": ok, "delete": {**ok, "operationId": "deleteAllFlows"}},
            "/flows/{id}": {"delete": ok},
        },
    }
    (tmp_path / "openapi.json").write_text(json.dumps(spec))

    result = init_project(tmp_path)

    # the collection's DELETE wipes data it cannot recreate: left out; the item's is tested
    config = load_config(result.path, environ={})
    assert config.section("contract") == {"exclude": ["DELETE /flows"]}
    assert "DELETE /flows/{id}: each check creates the resource it deletes" in result.explanation


def test_schema_write_makes_the_offline_copy_init_points_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from pytest_deploycheck.cli import main

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["schema", "--write"])

    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / LOCAL_SCHEMA).read_text())
    assert written["$defs"]["env"]["properties"]["example"]
