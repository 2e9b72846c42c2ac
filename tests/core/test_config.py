"""Loading deployment-config.json: interpolation, validation messages, secrets and the schema."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from pytest_deploycheck.core.config import (
    SECTIONS,
    Config,
    escape_literal,
    find_config,
    format_path,
    interpolate,
    load_config,
    schema_document,
    schema_registry,
)
from pytest_deploycheck.core.config.schema import _read_schema_files
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.units import parse_duration, parse_percent, parse_size

REPOSITORY = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"
SCHEMAS = REPOSITORY / "pytest_deploycheck" / "schemas"
OWN_SECTIONS = (
    *("service", "spec", "target", "health", "availability"),
    *("collect", "monitor", "notify", "rollback", "common"),
)

FULL_ENV = {
    "API_TOKEN": "tok-3f9a1c77e2",
    "DB_PASSWORD": "hunter22-pw",
    "DEPLOYCHECK_BASE_URL": "https://api.example.com",
}


def problems_of(data: Any, tmp_path: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """The problem lines ``data`` yields when loaded as a config file."""
    path = tmp_path / "deployment-config.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value.problems


# -- valid configs -------------------------------------------------------------------------------


def test_repository_config_validates() -> None:
    config = load_config(REPOSITORY / "deployment-config.json", {})
    assert config.root == REPOSITORY
    assert config.spec_path == REPOSITORY / "specs" / "booking.openapi.yaml"
    assert config.base_url is None  # "${DEPLOYCHECK_BASE_URL:-}" with the variable unset
    assert config.local is not None


def test_full_config_loads_with_every_value_applied() -> None:
    config = load_config(FIXTURES / "full.json", FULL_ENV)
    assert config.path == FIXTURES / "full.json"
    assert config.root == FIXTURES
    assert config.service_name == "booking-api"
    assert config.environment == "staging"
    assert config.spec_path == FIXTURES / "specs" / "booking.openapi.yaml"
    assert config.spec_served_path == "/openapi.json"
    assert config.base_url == "https://api.example.com"
    assert config.headers == {"Authorization": "Bearer tok-3f9a1c77e2", "X-Tenant": "acme"}
    assert config.timeout == 5.0
    assert config.verify_tls is False
    local = config.local
    assert local is not None
    assert local.cwd == FIXTURES / "service"
    assert local.env == {"BOOKING_DB": ":memory:", "DB_PASSWORD": "hunter22-pw"}
    assert local.ready_path == "/ready"
    assert local.ready_timeout == 45.0
    assert local.argv("127.0.0.1", 8123, python="/usr/bin/python3") == [
        "/usr/bin/python3", "-m", "examples.booking_api", "--host", "127.0.0.1", "--port", "8123",
    ]  # fmt: skip
    assert config.local_command == local.command
    assert config.section("monitor")["probes"] == ["health", "GET /providers"]
    assert config.section("notify")["channels"][0]["url"] == "slack://T000/B000/XXXXXXXX"


def test_minimal_config_gets_the_schema_defaults(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "minimal.json", tmp_path / "deployment-config.json")
    config = load_config(tmp_path / "deployment-config.json", {})
    target = section_schema("target")["properties"]
    local = target["local"]["properties"]
    service = section_schema("service")["properties"]
    assert config.timeout == parse_duration(target["timeout"]["default"])
    assert config.verify_tls is target["verify_tls"]["default"]
    assert config.headers == target["headers"]["default"]
    assert config.environment == service["environment"]["default"]
    assert config.service_name == tmp_path.name
    assert config.base_url is None
    assert config.local is None
    assert config.local_command is None
    assert config.spec_served_path is None
    assert config.section("health") == {}

    with_local = Config(
        raw={"target": {"local": {"command": ["serve"]}}}, root=tmp_path, path=tmp_path / "c"
    )
    assert with_local.local is not None
    assert with_local.local.cwd == tmp_path / local["cwd"]["default"]
    assert with_local.local.env == local["env"]["default"]
    assert with_local.local.ready_path == local["ready_path"]["default"]
    assert with_local.local.ready_timeout == parse_duration(local["ready_timeout"]["default"])


def test_spec_path_without_spec_names_the_key(tmp_path: Path) -> None:
    config = Config(raw={}, root=tmp_path, path=tmp_path / "deployment-config.json")
    with pytest.raises(ConfigError, match=r"spec: not set"):
        _ = config.spec_path


# -- reading the file ----------------------------------------------------------------------------


def test_missing_file_names_the_path_and_deploycheck_init(tmp_path: Path) -> None:
    missing = tmp_path / "deployment-config.json"
    with pytest.raises(ConfigError) as caught:
        load_config(missing, {})
    assert str(missing) in str(caught.value)
    assert "deploycheck init" in str(caught.value)


def test_malformed_json_gives_line_and_column() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(FIXTURES / "trailing-comma.json", {})
    (problem,) = caught.value.problems
    assert re.match(r"trailing-comma\.json:2:37: invalid JSON: Expecting property name", problem)
    assert "no comma after the last item" in problem


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"spec": "caf\xe9.yaml"}', "not UTF-8 text"),
        (b"", "invalid JSON: Expecting value"),
    ],
)
def test_unreadable_content(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "deployment-config.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=expected):
        load_config(path, {})


def test_a_folder_is_not_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path, {})


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "deployment-config.json"
    path.write_text('{"spec": "a.yaml", "target": {"timeout": "1s", "timeout": "2s"}}')
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.problems == [
        "target.timeout: written twice in one object; JSON keeps only the last"
    ]


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    assert problems_of([], tmp_path) == ["(top level): must be an object (got [], a list)"]


# -- validation messages -------------------------------------------------------------------------


def test_a_retired_key_says_what_replaced_it(tmp_path: Path) -> None:
    config = {"spec": "openapi.yaml", "scoring": {"cv_max": 1.0, "stabilty_floor": "9ms"}}
    assert problems_of(config, tmp_path) == [
        "scoring.cv_max: is no longer used: stability is now the spread of the median latency "
        "between time windows; remove it (and tune scoring.stability_floor or "
        "scoring.stability_windows)",
        "scoring.stabilty_floor: unknown key 'stabilty_floor' -> did you mean 'stability_floor'?",
    ]


def test_every_problem_is_reported_at_once_in_document_order() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(FIXTURES / "several-errors.json", {})
    duration = 'a duration: a number and a unit, such as "500ms", "5s", "5m" or "1h"'
    assert caught.value.problems == [
        "servise: unknown key 'servise' -> did you mean 'service'?",
        "spec: must be a non-empty string or an object (got 42, an integer)",
        f'target.timeout: must be {duration} (got "ten seconds")',
        f"target.local.ready_timeout: must be {duration} (got 30, an integer)",
        "target.local.command: is required; must be a non-empty list of strings",
        'health.method: must be one of "GET", "HEAD", "POST" (got "FETCH")',
        "health.retries: must be an integer from 0 to 20 (got -1)",
        "collect.rounds: must not be an empty list (got [])",
        "notify.channels[0].levels[0]: must be an integer from 1 to 3 (got 4)",
    ]
    assert str(caught.value).startswith(f"{FIXTURES / 'several-errors.json'}: 9 problems:\n  - ")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"service": {"nmae": "x"}},
            "service.nmae: unknown key 'nmae' -> did you mean 'name'?",
        ),
        (
            {"monitor": {"watch": {"Interval": "5s"}}},
            "monitor.watch.Interval: unknown key 'Interval' -> did you mean 'interval'?",
        ),
        (
            {"collect": {"zzz": 1}},
            "collect.zzz: unknown key 'zzz'; valid keys: rounds, samples, include, exclude, "
            "measure, concurrency, timeout",
        ),
        (
            {"notify": {"channels": [{"url": "json://h/x", "lvls": [1]}]}},
            "notify.channels[0].lvls: unknown key 'lvls' -> did you mean 'levels'?",
        ),
    ],
)
def test_unknown_keys_get_a_suggestion(tmp_path: Path, data: Any, expected: str) -> None:
    assert problems_of(data, tmp_path) == [expected]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"health": {"method": "get"}},
            'health.method: must be one of "GET", "HEAD", "POST" (got "get") '
            '-> did you mean "GET"?',
        ),
        (
            {"health": {"expect_status": "200"}},
            "health.expect_status: must be an integer from 100 to 599 or a non-empty list of "
            'integers (got "200", a string)',
        ),
        (
            {"health": {"expect_status": [200, 200]}},
            "health.expect_status: must not list the same item twice (got [200, 200])",
        ),
        (
            {"spec": {"path": "x.yaml", "served_path": "openapi.json"}},
            'spec.served_path: must be a URL path starting with "/", such as "/openapi.json" '
            '(got "openapi.json")',
        ),
        (
            {"spec": {"path": 3}},
            "spec.path: must be a non-empty string (got 3, an integer)",
        ),
        (
            {"target": {"base_url": "api.example.com"}},
            "target.base_url: must be an http:// or https:// URL, a ${VAR} reference, or an "
            'empty string for none (got "api.example.com")',
        ),
        (
            {"target": {"local": {"command": []}}},
            "target.local.command: must not be an empty list (got [])",
        ),
        (
            {"target": {"local": {"command": ["", "x"]}}},
            'target.local.command[0]: must not be empty (got "")',
        ),
        (
            {"target": {"headers": {"Bad Header": "1"}}},
            "target.headers: must be an HTTP header name: letters, digits and - (no spaces or "
            'colons) (got "Bad Header")',
        ),
        (
            {"availability": {"allow_status": {"GET /x": [99]}}},
            'availability.allow_status["GET /x"][0]: must be an integer from 100 to 599 (got 99)',
        ),
        (
            {"monitor": {"probes": ["GET/providers"]}},
            'monitor.probes[0]: must be "health" or an operation label such as "GET /providers" '
            '(got "GET/providers")',
        ),
        (
            {"rollback": {"command": ["wrangler", "rollback"], "auto": "yes"}},
            'rollback.auto: must be true or false (got "yes", a string)',
        ),
        (
            {"monitor": {"interval": "1 minute"}},
            'monitor.interval: must be a duration: a number and a unit, such as "500ms", "5s", '
            '"5m" or "1h" (got "1 minute")',
        ),
    ],
)
def test_what_is_valid_is_said_in_words(tmp_path: Path, data: Any, expected: str) -> None:
    assert problems_of(data, tmp_path) == [expected]


def test_long_values_are_cut(tmp_path: Path) -> None:
    (problem,) = problems_of({"health": {"path": "x" * 200}}, tmp_path)
    assert problem.endswith('(got "' + "x" * 56 + "...)")


# -- interpolation in configs --------------------------------------------------------------------


def test_unset_variable_names_the_key_and_the_variable(tmp_path: Path) -> None:
    data = {
        "target": {
            "headers": {"Authorization": "Bearer ${API_TOKEN}"},
            "timeout": "${TIMEOUT}",
            "local": {"command": ["serve", "--db", "${DB_URL}"]},
        }
    }
    assert problems_of(data, tmp_path) == [
        "target.headers.Authorization: environment variable API_TOKEN is not set: set it, "
        "or give a default with ${API_TOKEN:-value}",
        # only the interpolation problem: the duration check would just repeat it
        "target.timeout: environment variable TIMEOUT is not set: set it, or give a default "
        "with ${TIMEOUT:-value}",
        "target.local.command[2]: environment variable DB_URL is not set: set it, or give a "
        "default with ${DB_URL:-value}",
    ]


def test_interpolated_values_are_validated(tmp_path: Path) -> None:
    assert problems_of({"target": {"timeout": "${TIMEOUT:-soon}"}}, tmp_path) == [
        'target.timeout: must be a duration: a number and a unit, such as "500ms", "5s", "5m" '
        'or "1h" (got "soon")'
    ]


def test_invalid_reference_is_reported(tmp_path: Path) -> None:
    data = {"service": {"name": "svc-${1ST}", "environment": "${DEPLOY_ENVIRONMENT_NAME"}}
    bad_name, unclosed = problems_of(data, tmp_path)
    assert bad_name.startswith("service.name: '${1ST}' is not a valid reference: write ${NAME}")
    assert "$${ for a literal '${'" in bad_name
    assert unclosed.startswith("service.environment: '${DEPLOY_ENV...' is not a valid reference")


def test_interpolation_set_default_empty_and_escape() -> None:
    environ = {"HOST": "api.example.com", "EMPTY": ""}
    data = {
        "a": "https://${HOST}/v1",
        "b": "${MISSING:-fallback}",
        "c": "${EMPTY:-fallback}",
        "d": "${EMPTY}",
        "e": "cost: $${PRICE} and $5",
        "f": ["x", {"g": "${HOST:-unused}"}, 3, None, True],
        "${HOST}": "keys stay as written",
    }
    result = interpolate(data, environ)
    assert result.problems == ()
    assert result.value == {
        "a": "https://api.example.com/v1",
        "b": "fallback",
        "c": "fallback",
        "d": "",
        "e": "cost: ${PRICE} and $5",
        "f": ["x", {"g": "api.example.com"}, 3, None, True],
        "${HOST}": "keys stay as written",
    }
    assert [(format_path(s.path), s.variable) for s in result.substitutions] == [
        ("a", "HOST"),
        ("d", "EMPTY"),
        ("f[1].g", "HOST"),
    ]


def test_format_path() -> None:
    assert format_path(()) == "(top level)"
    assert format_path(("a", 0, "b-c", "GET /x", 2)) == 'a[0].b-c["GET /x"][2]'


# -- secrets -------------------------------------------------------------------------------------


def test_secrets_are_collected() -> None:
    environ = {**FULL_ENV, "TENANT": "globex-corp", "DEPLOY_ENV": "prod-eu"}
    config = load_config(FIXTURES / "full.json", environ)
    assert {
        "tok-3f9a1c77e2",  # from a secret-looking variable
        "Bearer tok-3f9a1c77e2",  # a credential header, whole
        "globex-corp",  # interpolated into target.headers
        "hunter22-pw",  # DB_PASSWORD
        "slack://T000/B000/XXXXXXXX",  # a notification URL carries a token
        "jsons://hooks.example.com/deploy",
    } <= config.secrets
    assert "prod-eu" not in config.secrets  # DEPLOY_ENV is not secret
    assert "https://api.example.com" not in config.secrets
    assert config.redactor.redact("tenant globex-corp") == "tenant ***"


def test_env_variables_marked_secret_are_secrets(tmp_path: Path) -> None:
    path = tmp_path / "deployment-config.json"
    data = {
        "spec": "x.yaml",
        "env": {
            "variables": {
                "SIGNING_SALT": {"secret": True},
                "API_TOKEN": {},
                "PUBLIC_TOKEN": {"secret": False},
                "REGION": {},
            }
        },
        "service": {"name": "${SIGNING_SALT}"},
    }
    path.write_text(json.dumps(data))
    environ = {
        "SIGNING_SALT": "salty-value",
        "API_TOKEN": "tok-1234",
        "PUBLIC_TOKEN": "pub-5678",
        "REGION": "eu-west-1",
    }
    try:
        config = load_config(path, environ)
    except ConfigError as exc:  # the env section's schema may not accept this shape
        pytest.fail(f"config did not load: {exc}")
    assert {"salty-value", "tok-1234"} <= config.secrets
    assert not {"pub-5678", "eu-west-1"} & config.secrets


def test_url_passwords_are_secrets(tmp_path: Path) -> None:
    path = tmp_path / "deployment-config.json"
    path.write_text(json.dumps({"target": {"base_url": "https://ci:pa55word@api.example.com"}}))
    assert "pa55word" in load_config(path, {}).secrets


def test_secrets_never_appear_in_error_messages(tmp_path: Path) -> None:
    secret = "tok-3f9a1c77e2"
    data = {
        "target": {"timeout": "${API_TOKEN}", "headers": {"Authorization": 12345678}},
        "health": {"method": "${API_TOKEN}", "expect_status": "${API_TOKEN}"},
        "collect": {"samples": "${API_TOKEN}"},
        "monitor": {"probes": ["x ${API_TOKEN} " + "y" * 80]},
    }
    problems = problems_of(data, tmp_path, {"API_TOKEN": secret})
    assert len(problems) == 6
    text = "\n".join(problems)
    assert secret not in text
    assert secret[:8] not in text  # not even the start of a cut value
    assert "12345678" not in text  # a credential header written in the file
    assert text.count("***") == 6


# -- the schema ----------------------------------------------------------------------------------


def section_schema(name: str) -> dict[str, Any]:
    path = SCHEMAS / "sections" / f"{name}.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def test_bundled_schema_is_self_contained_and_valid() -> None:
    bundled = schema_document()
    Draft202012Validator.check_schema(bundled)
    assert bundled["$id"].startswith("https://")
    assert set(SECTIONS) | {"common"} <= set(bundled["$defs"])
    refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(bundled))
    assert refs
    assert all(ref.startswith("#/$defs/") for ref in refs)
    # No registry: every reference must resolve inside the document.
    validator = Draft202012Validator(bundled)
    assert list(validator.iter_errors(read_json(REPOSITORY / "deployment-config.json"))) == []
    # Editors see the file before interpolation; references must not look like mistakes.
    assert list(validator.iter_errors(read_json(FIXTURES / "full.json"))) == []
    full = interpolate(read_json(FIXTURES / "full.json"), FULL_ENV).value
    assert list(validator.iter_errors(full)) == []
    invalid = read_json(FIXTURES / "several-errors.json")
    assert len(list(validator.iter_errors(invalid))) >= 8


def test_every_reference_resolves_in_the_bundle_and_in_the_registry() -> None:
    bundled = schema_document()
    in_bundle = DRAFT202012.create_resource(bundled)
    bundle_resolver = Registry().with_resource(bundled["$id"], in_bundle).resolver(bundled["$id"])
    refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(bundled))
    for ref in refs:
        assert isinstance(bundle_resolver.lookup(ref).contents, dict), ref
    resolver = schema_registry().resolver()
    for path in (SCHEMAS / "sections").glob("*.json"):
        base = f"https://pytest-deploycheck.dev/schemas/sections/{path.name}"
        for ref in re.findall(r'"\$ref": "([^"]*)"', path.read_text(encoding="utf-8")):
            assert isinstance(resolver.lookup(urljoin(base, ref)).contents, dict), (path, ref)


def test_shipped_files_resolve_relative_to_their_location_like_an_editor() -> None:
    top_file = SCHEMAS / "deployment-config.schema.json"
    top = read_json(top_file)
    assert "$id" not in top  # an editor would resolve the sections against a host
    assert schema_document(bundled=False) == top

    def retrieve(uri: str) -> Resource[Any]:
        assert uri.startswith("file://")
        return Resource.from_contents(read_json(Path(uri.removeprefix("file://"))))

    registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
    validator = Draft202012Validator({**top, "$id": top_file.as_uri()}, registry=registry)
    full = interpolate(read_json(FIXTURES / "full.json"), FULL_ENV).value
    assert list(validator.iter_errors(full)) == []
    assert not validator.is_valid({"target": {"timeout": "soon"}})


def test_each_section_file_exists_and_is_valid() -> None:
    for name in (*SECTIONS, "common"):
        path = SCHEMAS / "sections" / f"{name}.json"
        if path.exists():
            Draft202012Validator.check_schema(read_json(path))


@pytest.mark.parametrize("name", OWN_SECTIONS)
def test_owned_sections_are_strict_documented_and_defaults_valid(name: str) -> None:
    schema = section_schema(name)
    registry = schema_registry()
    # a URI of its own next to the section's, so "common.json#/..." resolves from the
    # registry (common.json itself holds definitions with defaults)
    uri = f"https://pytest-deploycheck.dev/schemas/sections/{name}.property.json"
    checked = 0
    for path, node in walk_schemas(schema):
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, f"{name}{path}"
        for key, prop in node.get("properties", {}).items():
            assert prop.get("description"), f"{name}{path}.{key} has no description"
            if "default" in prop:
                validator = Draft202012Validator({**prop, "$id": uri}, registry=registry)
                assert validator.is_valid(prop["default"]), f"{name}{path}.{key} default"
                checked += 1
    assert name in ("spec", "common") or checked


def test_a_missing_section_file_accepts_any_object(tmp_path: Path) -> None:
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    (tmp_path / "schemas" / "sections" / "rollback.json").unlink()
    documents = _read_schema_files(tmp_path / "schemas")
    stub = documents["sections/rollback.json"]
    assert stub["type"] == "object"
    assert "No schema ships for the 'rollback' section yet" in stub["description"]
    registry = schema_registry(documents)
    top = {**documents["deployment-config.schema.json"], "$id": "https://x.dev/schemas/t.json"}
    top_uri = "https://pytest-deploycheck.dev/schemas/deployment-config.schema.json"
    validator = Draft202012Validator({**top, "$id": top_uri}, registry=registry)
    assert validator.is_valid({"rollback": {"anything": 1}})
    assert not validator.is_valid({"rollback": 3})
    assert not validator.is_valid({"target": {"timeout": "soon"}})


@pytest.mark.parametrize(
    ("definition", "parse"),
    [("duration", parse_duration), ("size", parse_size), ("percent", parse_percent)],
)
@given(text=st.text(alphabet="0123456789.%smhdkKMGTiB \t", max_size=12))
def test_schema_patterns_agree_with_the_unit_parsers(
    definition: str, parse: Any, text: str
) -> None:
    pattern = section_schema("common")["$defs"][definition]["pattern"]
    try:
        parse(text)
        parses = True
    except ValueError as error:
        # the pattern checks the spelling; the bound is a keyword of its own (maxDuration...)
        parses = "can be at most" in str(error)
    assert bool(re.search(pattern, text)) == parses


# -- finding the config --------------------------------------------------------------------------


def test_find_config_walks_up_to_the_nearest(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (tmp_path / "deployment-config.json").write_text("{}")
    (tmp_path / "a" / "deployment-config.json").write_text("{}")
    (deep / "test_x.py").write_text("")
    assert find_config(deep) == tmp_path / "a" / "deployment-config.json"
    assert find_config(deep / "test_x.py") == tmp_path / "a" / "deployment-config.json"
    assert find_config(tmp_path) == tmp_path / "deployment-config.json"


def test_find_config_returns_none_without_one(tmp_path: Path) -> None:
    if any((folder / "deployment-config.json").is_file() for folder in tmp_path.parents):
        pytest.fail("a deployment-config.json above the temporary folder spoils this test")
    assert find_config(tmp_path) is None


# -- interpolation properties --------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,11}", fullmatch=True)


@given(st.text())
def test_escaped_text_comes_back_unchanged(text: str) -> None:
    result = interpolate(escape_literal(text), {})
    assert result.problems == ()
    assert result.value == text


@given(before=st.text(), after=st.text(), name=names, value=st.text(min_size=1))
def test_a_reference_is_replaced_by_the_value_and_only_it(
    before: str, after: str, name: str, value: str
) -> None:
    # A "$" right before a reference would read as the escape "$${" (documented).
    assume(not before.endswith("$"))
    text = escape_literal(before) + "${" + name + "}" + escape_literal(after)
    result = interpolate(text, {name: value})
    assert result.problems == ()
    # The value is not interpolated again, whatever it holds ("${X}" included).
    assert result.value == before + value + after
    assert [(s.variable, s.value) for s in result.substitutions] == [(name, value)]


@given(name=names, default=st.text().filter(lambda t: "}" not in t), nested=st.integers(0, 3))
def test_default_applies_when_unset_at_any_depth(name: str, default: str, nested: int) -> None:
    # a default is interpolated too (defaults nest): a literal "${" in it is written "$${"
    data: Any = "${" + name + ":-" + escape_literal(default) + "}"
    expected: Any = default
    for _ in range(nested):
        data, expected = {"k": [data]}, {"k": [expected]}
    result = interpolate(data, {})
    assert result.problems == ()
    assert result.value == expected


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def walk_schemas(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every subschema (dict) in ``node`` with a readable location."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, item in node.items():
            if key not in ("default", "examples", "const", "enum"):
                found.extend(walk_schemas(item, f"{path}.{key}"))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.extend(walk_schemas(item, f"{path}[{index}]"))
    return found


def test_registry_serves_every_section() -> None:
    registry = schema_registry()
    resolver = registry.resolver()
    for name in SECTIONS:
        uri = f"https://pytest-deploycheck.dev/schemas/sections/{name}.json"
        contents = resolver.lookup(uri).contents
        assert isinstance(contents, dict)
        assert DRAFT202012.create_resource(contents).contents == contents
