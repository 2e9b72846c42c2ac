"""Validity and lint rules: every rule fires on a broken document, at the right line."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, Severity, failures
from pytest_deploycheck.core.spec import Spec, load_spec, parse_pointer
from pytest_deploycheck.phase1.lint import (
    EXTENDS,
    RULES,
    check_openapi,
    lint_spec,
    validate_document,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "specs"
REPOSITORY = Path(__file__).parents[2]
SECTION_SCHEMA = REPOSITORY / "pytest_deploycheck" / "schemas" / "sections" / "openapi.json"

# A 3.0 document that no rule objects to. Each case below breaks it in one place and marks
# the line the finding must point at with "# <-".
BASE = """\
openapi: 3.0.3
info:
  title: Pets
  version: "1.0"
  description: A small API.
  contact: {name: Team, url: https://pets.test/team, email: team@pets.test}
  license: {name: MIT, url: https://opensource.org/licenses/MIT}
servers:
  - url: https://pets.test/v1
tags:
  - name: pets
    description: Pets.
security: []
paths:
  /pets/{pet_id}:
    get:
      operationId: getPet
      summary: Get a pet
      description: Returns one pet.
      tags: [pets]
      parameters:
        - name: pet_id
          in: path
          required: true
          description: The pet.
          schema: {type: integer}
      responses:
        "200":
          description: The pet.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
        "404":
          description: No such pet.
components:
  schemas:
    Pet:
      type: object
      properties:
        id: {type: integer}
"""
BASE_31 = BASE.replace("openapi: 3.0.3", "openapi: 3.1.0")
GET = "    get:\n"
MEDIA_SCHEMA = "              schema: {$ref: '#/components/schemas/Pet'}\n"
RESPONSES = "      responses:\n"
PET = "    Pet:\n      type: object\n      properties:\n        id: {type: integer}\n"
WEBHOOKS = (
    "webhooks:\n  petAdded:\n    post:\n      operationId: petAdded\n      summary: Pet added\n"
    "      description: Sent when a pet is added.\n      tags: [pets]\n"
    '      responses:\n        "200": {description: Received.}\n'
)

# (rule id, base document, [(text, replacement), ...], settings)
CASES: list[tuple[str, str, list[tuple[str, str]], dict[str, str]]] = [
    ("oas3-schema", BASE, [(GET, GET + "      operationID: x  # <-\n")], {}),
    (
        "no-unresolved-refs",
        BASE,
        [("schema: {$ref: '#/components/schemas/Pet'}", "schema: {$ref: '#/Pett'}  # <-")],
        {},
    ),
    (
        "no-duplicate-keys",
        BASE,
        [("      summary: Get a pet\n", "      summary: Get a pet\n      summary: Again  # <-\n")],
        {},
    ),
    (
        "info-contact",
        BASE,
        [
            ("info:\n", "info:  # <-\n"),
            ("  contact: {name: Team, url: https://pets.test/team, email: team@pets.test}\n", ""),
        ],
        {},
    ),
    (
        "contact-properties",
        BASE,
        [
            (
                "{name: Team, url: https://pets.test/team, email: team@pets.test}",
                "{name: Team}  # <-",
            )
        ],
        {"contact-properties": "warning"},
    ),
    (
        "info-description",
        BASE,
        [("info:\n", "info:  # <-\n"), ("  description: A small API.\n", "")],
        {},
    ),
    (
        "info-license",
        BASE,
        [
            ("info:\n", "info:  # <-\n"),
            ("  license: {name: MIT, url: https://opensource.org/licenses/MIT}\n", ""),
        ],
        {},
    ),
    (
        "license-url",
        BASE,
        [
            (
                "license: {name: MIT, url: https://opensource.org/licenses/MIT}",
                "license: {name: MIT}  # <-",
            )
        ],
        {},
    ),
    (
        "openapi-tags",
        BASE,
        [
            ("openapi: 3.0.3\n", "openapi: 3.0.3  # <-\n"),
            ("tags:\n  - name: pets\n    description: Pets.\n", ""),
        ],
        {"openapi-tags": "warning"},
    ),
    (
        "openapi-tags-uniqueness",
        BASE,
        [
            (
                "    description: Pets.\n",
                "    description: Pets.\n  - name: pets  # <-\n    description: Again.\n",
            )
        ],
        {},
    ),
    (
        "openapi-tags-alphabetical",
        BASE,
        [
            (
                "    description: Pets.\n",
                "    description: Pets.\n  - name: animals  # <-\n    description: All.\n",
            )
        ],
        {"openapi-tags-alphabetical": "warning"},
    ),
    (
        "tag-description",
        BASE,
        [("  - name: pets\n    description: Pets.\n", "  - name: pets  # <-\n")],
        {},
    ),
    (
        "oas3-api-servers",
        BASE,
        [
            ("openapi: 3.0.3\n", "openapi: 3.0.3  # <-\n"),
            ("servers:\n  - url: https://pets.test/v1\n", ""),
        ],
        {},
    ),
    (
        "no-server-example.com",
        BASE,
        [("  - url: https://pets.test/v1\n", "  - url: https://api.example.com/v1  # <-\n")],
        {},
    ),
    (
        "no-server-trailing-slash",
        BASE,
        [("  - url: https://pets.test/v1\n", "  - url: https://pets.test/v1/  # <-\n")],
        {},
    ),
    (
        "oas3-server-variables",
        BASE,
        [("  - url: https://pets.test/v1\n", "  - url: https://{region}.pets.test  # <-\n")],
        {},
    ),
    (
        "oas3_1-servers-in-webhook",
        BASE_31,
        [
            (
                "components:\n",
                WEBHOOKS.replace(
                    "      tags:",
                    "      servers:  # <-\n        - url: https://pets.test\n      tags:",
                )
                + "components:\n",
            )
        ],
        {},
    ),
    (
        "oas3_1-callbacks-in-webhook",
        BASE_31,
        [
            (
                "components:\n",
                WEBHOOKS.replace(
                    "      tags:",
                    "      callbacks:  # <-\n        done:\n          '{$request.body#/url}':\n"
                    "            post:\n              responses:\n"
                    '                "200": {description: Ok.}\n      tags:',
                )
                + "components:\n",
            )
        ],
        {},
    ),
    (
        "oas3-callbacks-in-callbacks",
        BASE,
        [
            (
                RESPONSES,
                "      callbacks:\n        outer:\n          '{$request.query.url}':\n"
                "            post:\n              callbacks:  # <-\n                inner:\n"
                "                  '{$request.query.url}':\n"
                "                    post:\n                      responses:\n"
                '                        "200": {description: Ok.}\n'
                '              responses:\n                "200": {description: Ok.}\n' + RESPONSES,
            )
        ],
        {},
    ),
    (
        "path-keys-no-trailing-slash",
        BASE,
        [("paths:\n", "paths:\n  /pets/:  # <-\n    description: Trailing.\n")],
        {},
    ),
    ("path-not-include-query", BASE, [("paths:\n", "paths:\n  /search?q=x: {}  # <-\n")], {}),
    ("path-declarations-must-exist", BASE, [("paths:\n", "paths:\n  /things/{}: {}  # <-\n")], {}),
    ("no-identical-paths", BASE, [("components:\n", "  /pets/{id}: {}  # <-\ncomponents:\n")], {}),
    (
        "no-ambiguous-paths",
        BASE,
        [("components:\n", "  /{kind}/mine: {}  # <-\ncomponents:\n")],
        {},
    ),
    (
        "path-params",
        BASE,
        [("  /pets/{pet_id}:\n    get:\n", "  /pets/{pet_id}/toys/{toy_id}:\n    get:  # <-\n")],
        {},
    ),
    (
        "operation-parameters",
        BASE,
        [
            (
                "          schema: {type: integer}\n",
                "          schema: {type: integer}\n"
                "        - {name: q, in: query, schema: {type: string}}\n"
                "        - {name: q, in: query, schema: {type: string}}  # <-\n",
            )
        ],
        {},
    ),
    (
        "operation-operationId",
        BASE,
        [(GET, "    get:  # <-\n"), ("      operationId: getPet\n", "")],
        {},
    ),
    (
        "operation-operationId-unique",
        BASE,
        [
            (
                '        "404":\n          description: No such pet.\n',
                '        "404":\n          description: No such pet.\n'
                "    delete:\n      operationId: getPet  # <-\n"
                "      summary: Delete\n      description: Deletes.\n      tags: [pets]\n"
                '      responses:\n        "204": {description: Gone.}\n'
                '        "404": {description: None.}\n',
            )
        ],
        {},
    ),
    (
        "operation-operationId-valid-in-url",
        BASE,
        [("      operationId: getPet\n", "      operationId: get pet  # <-\n")],
        {},
    ),
    (
        "operation-description",
        BASE,
        [(GET, "    get:  # <-\n"), ("      description: Returns one pet.\n", "")],
        {},
    ),
    (
        "operation-summary",
        BASE,
        [(GET, "    get:  # <-\n"), ("      summary: Get a pet\n", "")],
        {},
    ),
    ("operation-tags", BASE, [(GET, "    get:  # <-\n"), ("      tags: [pets]\n", "")], {}),
    (
        "operation-singular-tag",
        BASE,
        [("      tags: [pets]\n", "      tags: [pets, pets]  # <-\n")],
        {"operation-singular-tag": "warning"},
    ),
    ("operation-tag-defined", BASE, [("      tags: [pets]\n", "      tags: [cats]  # <-\n")], {}),
    (
        "operation-success-response",
        BASE,
        [
            (RESPONSES, "      responses:  # <-\n"),
            (
                '        "200":\n          description: The pet.\n',
                '        "400":\n          description: Bad.\n',
            ),
        ],
        {},
    ),
    (
        "operation-4xx-response",
        BASE,
        [
            (RESPONSES, "      responses:  # <-\n"),
            ('        "404":\n          description: No such pet.\n', ""),
        ],
        {},
    ),
    (
        "oas3-operation-security-defined",
        BASE,
        [
            (
                "      tags: [pets]\n",
                "      tags: [pets]\n      security:\n        - api_key: []  # <-\n",
            )
        ],
        {},
    ),
    ("security-defined", BASE, [(GET, "    get:  # <-\n"), ("security: []\n", "")], {}),
    (
        "oas3-parameter-description",
        BASE,
        [
            ("        - name: pet_id\n", "        - name: pet_id  # <-\n"),
            ("          description: The pet.\n", ""),
        ],
        {"oas3-parameter-description": "warning"},
    ),
    (
        "oas3-links-parameters-expression",
        BASE,
        [
            (
                "              schema: {$ref: '#/components/schemas/Pet'}\n",
                MEDIA_SCHEMA + "          links:\n            Self:\n"
                "              operationId: getPet\n              parameters:\n"
                "                pet_id: $response.bodyy#/id  # <-\n",
            )
        ],
        {},
    ),
    (
        "link-operation-defined",
        BASE,
        [
            (
                "              schema: {$ref: '#/components/schemas/Pet'}\n",
                MEDIA_SCHEMA + "          links:\n            Self:\n"
                "              operationId: getPett  # <-\n",
            )
        ],
        {},
    ),
    (
        "no-$ref-siblings",
        BASE,
        [
            (
                "schema: {$ref: '#/components/schemas/Pet'}",
                "schema: {$ref: '#/components/schemas/Pet', description: A pet.}  # <-",
            )
        ],
        {},
    ),
    ("oas3-unused-component", BASE, [(PET, PET + "    Unused:  # <-\n      type: string\n")], {}),
    (
        "oas3-examples-value-or-externalValue",
        BASE,
        [
            (
                "              schema: {$ref: '#/components/schemas/Pet'}\n",
                MEDIA_SCHEMA + "              examples:\n"
                "                empty:  # <-\n                  summary: Nothing.\n",
            )
        ],
        {},
    ),
    (
        "duplicated-entry-in-enum",
        BASE,
        [(PET, PET + "        kind: {type: string, enum: [cat, cat]}  # <-\n")],
        {},
    ),
    (
        "typed-enum",
        BASE,
        [(PET, PET + "        size: {type: integer, enum: [1, two]}  # <-\n")],
        {},
    ),
    ("array-items", BASE, [(PET, PET + "        toys: {type: array}  # <-\n")], {}),
    (
        "nullable-type-sibling",
        BASE,
        [
            (
                PET,
                PET + "        owner:\n"
                "          nullable: true  # <-\n"
                "          allOf: [{$ref: '#/components/schemas/Pet'}]\n",
            )
        ],
        {},
    ),
    (
        "no-required-schema-properties-undefined",
        BASE,
        [
            (
                "    Pet:\n      type: object\n",
                "    Pet:\n      type: object\n      required: [name]  # <-\n",
            )
        ],
        {},
    ),
    (
        "no-eval-in-markdown",
        BASE,
        [("  description: A small API.\n", "  description: Try eval(1).  # <-\n")],
        {},
    ),
    (
        "no-script-tags-in-markdown",
        BASE,
        [("  description: A small API.\n", "  description: <SCRIPT>alert(1)</SCRIPT>  # <-\n")],
        {},
    ),
    (
        "oas3-valid-media-example",
        BASE,
        [
            (
                "              schema: {$ref: '#/components/schemas/Pet'}\n",
                MEDIA_SCHEMA + "              example: {id: seven}  # <-\n",
            )
        ],
        {},
    ),
    (
        "oas3-valid-schema-example",
        BASE,
        [("        id: {type: integer}\n", "        id: {type: integer, example: 1.5}  # <-\n")],
        {},
    ),
]


def write(tmp_path: Path, text: str, name: str = "api.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def findings_of(path: Path, settings: dict[str, str] | None = None) -> list[Finding]:
    spec = load_spec(path)
    return [*validate_document(spec, settings), *lint_spec(spec, settings)]


def test_every_rule_has_a_case() -> None:
    assert sorted(RULES) == sorted({case[0] for case in CASES})


@pytest.mark.parametrize(("base", "version"), [(BASE, "3.0"), (BASE_31, "3.1")])
def test_the_base_documents_are_clean(tmp_path: Path, base: str, version: str) -> None:
    spec = load_spec(write(tmp_path, base))
    assert spec.version.startswith(version)
    assert findings_of(tmp_path / "api.yaml") == []


@pytest.mark.parametrize(
    ("rule", "base", "edits", "settings"), CASES, ids=[case[0] for case in CASES]
)
def test_a_broken_document_trips_the_rule_at_the_marked_line(
    tmp_path: Path,
    rule: str,
    base: str,
    edits: list[tuple[str, str]],
    settings: dict[str, str],
) -> None:
    text = base
    for old, new in edits:
        assert old in text, f"the case for {rule} does not apply: {old!r}"
        text = text.replace(old, new, 1)
    line = next(n for n, content in enumerate(text.splitlines(), 1) if "# <-" in content)
    path = write(tmp_path, text)
    found = [f for f in findings_of(path, settings) if f.rule == rule]
    assert found, f"{rule} did not fire"
    # "file:line (#/pointer)", or just "file:line" where no pointer exists (a duplicate key)
    at = [f.location for f in found]
    assert any(a == f"{path}:{line}" or (a or "").startswith(f"{path}:{line} (") for a in at), at
    expected = settings.get(rule, RULES[rule].severity)
    assert {f.severity.value for f in found} == {expected}
    assert all(f.message for f in found)


@pytest.mark.parametrize("name", ["valid-3.0.yaml", "valid-3.1.json", "split/openapi.yaml"])
def test_valid_fixture_documents_pass_every_default_rule(name: str) -> None:
    spec = load_spec(FIXTURES / name)
    assert validate_document(spec) == []
    assert lint_spec(spec) == []


def test_the_reference_spec_is_valid_and_passes_the_gate() -> None:
    spec = load_spec(REPOSITORY / "specs" / "booking.openapi.yaml")
    assert validate_document(spec) == []
    assert failures(lint_spec(spec)) == []


# --- no-ambiguous-paths: the same findings as comparing every pair ------------------------

AMBIGUOUS = "no-ambiguous-paths"


def segments_of(path: str) -> list[str | None]:
    return [None if re.fullmatch(r"{[^{}]*}", s) else s for s in path.strip("/").split("/")]


def ambiguous(a: str, b: str) -> bool:
    """The rule's definition: a URL can match both paths, and neither is more specific."""
    x, y = segments_of(a), segments_of(b)
    if len(x) != len(y):
        return False
    pairs = list(zip(x, y, strict=True))
    if any(s is not None and t is not None and s != t for s, t in pairs):
        return False
    x_literal = any(s is not None and t is None for s, t in pairs)
    y_literal = any(s is None and t is not None for s, t in pairs)
    return x_literal and y_literal


def every_pair(paths: list[str]) -> list[tuple[str, str]]:
    """(path, the first earlier path it is ambiguous with), comparing every pair."""
    found = []
    for index, path in enumerate(paths):
        other = next((o for o in paths[:index] if ambiguous(path, o)), None)
        if other is not None:
            found.append((path, other))
    return found


def reported(spec: Spec) -> list[tuple[str, str]]:
    """(path, other path) of each no-ambiguous-paths finding."""
    found = []
    for finding in lint_spec(spec, {AMBIGUOUS: "warning"}, extends="none"):
        pointer = finding.location.rpartition(" (")[2].rstrip(")")
        match = re.fullmatch(r"path (.+) and (.+) can both match the same URL; .+", finding.message)
        assert match, finding.message
        assert ast.literal_eval(match[1]) == parse_pointer(pointer)[1]
        found.append((ast.literal_eval(match[1]), ast.literal_eval(match[2])))
    return sorted(found)


def spec_of(paths: list[str]) -> Spec:
    document = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}}
    return Spec(document={**document, "paths": {path: {} for path in paths}})


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["/pets/{pet_id}", "/{kind}/mine"], [("/{kind}/mine", "/pets/{pet_id}")]),
        (["/pets/{pet_id}", "/pets/mine", "/{kind}/{id}"], []),  # one more specific than the other
        (["/a/{x}", "/{y}/b/c", "/{y}/b"], [("/{y}/b", "/a/{x}")]),  # only the same length
        (["/a/{x}", "/a/{y}/"], []),  # identical: the rule no-identical-paths reports those
        (["/a/{x}/c", "/{y}/b/d"], []),  # literals disagree
        (["/{a}/b/{c}/d", "/x/{b}/y/{d}"], [("/x/{b}/y/{d}", "/{a}/b/{c}/d")]),
        (["/", "/{x}", "//"], []),
        # each path once, against the first earlier one it is ambiguous with
        (
            ["/r1/{id}", "/r2/{id}", "/{t}/r5", "/{t}/r6", "/r3/{id}"],
            [("/{t}/r5", "/r1/{id}"), ("/{t}/r6", "/r1/{id}"), ("/r3/{id}", "/{t}/r5")],
        ),
        (["/{t}/x", "/y/{id}", "/z/{id}"], [("/y/{id}", "/{t}/x"), ("/z/{id}", "/{t}/x")]),
        (
            ["/a/{p}/{q}", "/{o}/b/{q}", "/{o}/{p}/c", "/a/b/{q}", "/{o}/b/c"],
            [
                ("/{o}/b/{q}", "/a/{p}/{q}"),
                ("/{o}/{p}/c", "/a/{p}/{q}"),
                ("/a/b/{q}", "/{o}/{p}/c"),
                ("/{o}/b/c", "/a/{p}/{q}"),
            ],
        ),
    ],
)
def test_ambiguous_paths_are_found_as_by_comparing_every_pair(
    paths: list[str], expected: list[tuple[str, str]]
) -> None:
    assert every_pair(paths) == expected
    assert reported(spec_of(paths)) == sorted(expected)


segment = st.sampled_from(["a", "b", "c", "{x}", "{y}"])
path_lists = st.lists(
    st.lists(segment, min_size=1, max_size=4).map(lambda s: "/" + "/".join(s)),
    max_size=40,
    unique=True,
)


@settings(max_examples=200, deadline=None)
@given(path_lists)
def test_ambiguous_paths_match_every_pair_on_any_paths(paths: list[str]) -> None:
    assert reported(spec_of(paths)) == sorted(every_pair(paths))


@pytest.mark.parametrize(
    "path",
    [
        REPOSITORY / "specs" / "booking.openapi.yaml",
        FIXTURES / "valid-3.0.yaml",
        FIXTURES / "valid-3.1.json",
        FIXTURES / "split" / "openapi.yaml",
    ],
    ids=lambda path: path.name,
)
def test_ambiguous_paths_in_the_repository_specs_match_every_pair(path: Path) -> None:
    spec = load_spec(path)
    assert reported(spec) == sorted(every_pair(list(spec.document["paths"])))


def test_ambiguous_paths_in_a_spec_of_8000_paths() -> None:
    """A spec the size of Microsoft Graph's, where '/{tenant}/...' could match 1,000 paths."""
    paths = []
    for i in range(1000):
        paths += [
            f"/r{i}",
            f"/r{i}/{{id}}",
            f"/r{i}/search",  # more specific than /r{i}/{id}
            f"/r{i}/{{id}}/items",
            f"/r{i}/{{id}}/items/{{item_id}}",
            f"/r{i}/{{id}}/items/count",
            f"/r{i}/mine/{{item_id}}",  # ambiguous with /r{i}/{id}/items
            f"/{{tenant}}/r{i}/items",  # ambiguous with /r{j}/{id}/items for every j
        ]
    expected = [(f"/r{i}/mine/{{item_id}}", f"/r{i}/{{id}}/items") for i in range(1000)]
    expected += [(f"/{{tenant}}/r{i}/items", "/r0/{id}/items") for i in range(1000)]
    expected += [(f"/r{i}/{{id}}/items", "/{tenant}/r0/items") for i in range(1, 1000)]
    assert reported(spec_of(paths)) == sorted(expected)


def test_validity_errors_are_all_reported_with_locations(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "openapi: 3.0.3\ninfo:\n  title: t\npaths:\n  /a:\n    get:\n      operationID: x\n"
        "      parameters:\n        - name: q\n          in: qwery\n"
        "          schema: {type: string}\n"
        "        - name: r\n          in: query\n"
        '      responses:\n        "600": {description: x}\n  b: {}\n',
    )
    messages = {f.location: f.message for f in validate_document(load_spec(path))}
    assert messages == {
        f"{path}:2 (#/info)": "'version' is required here; add it",
        f"{path}:7 (#/paths/~1a/get/operationID)": (
            "'operationID' is not an allowed field here; did you mean 'operationId'?"
        ),
        f"{path}:10 (#/paths/~1a/get/parameters/0/in)": (
            '"qwery" is not one of "path", "query", "header", "cookie"'
        ),
        f"{path}:12 (#/paths/~1a/get/parameters/1)": "needs one of 'schema' or 'content'",
        f"{path}:15 (#/paths/~1a/get/responses/600)": (
            "'600' is not a status code: use 100 to 599, 1XX to 5XX, or 'default'"
        ),
        f"{path}:16 (#/paths/b)": "'b' is not a path: path keys start with '/'",
    }


def test_validity_of_a_31_document_explains_the_failure(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE_31.replace("          in: path\n", "          in: body\n").replace(
            "      summary: Get a pet\n", "      summery: Get a pet\n"
        ),
    )
    found = {f.location: f.message for f in validate_document(load_spec(path))}
    assert found[f"{path}:23 (#/paths/~1pets~1{{pet_id}}/get/parameters/0/in)"].startswith(
        '"body" is not one of "query", "header", "path", "cookie"'
    )
    assert found[f"{path}:18 (#/paths/~1pets~1{{pet_id}}/get/summery)"] == (
        "'summery' is not an allowed field here; did you mean 'summary'?"
    )


def test_json_findings_point_at_json_lines(tmp_path: Path) -> None:
    document = json.loads((FIXTURES / "valid-3.1.json").read_text())
    del document["paths"]["/time"]["get"]["operationId"]
    text = json.dumps(document, indent=2)
    path = write(tmp_path, text, "api.json")
    found = [f for f in lint_spec(load_spec(path)) if f.rule == "operation-operationId"]
    expected = next(n for n, t in enumerate(text.splitlines(), 1) if t.strip() == '"get": {')
    assert [f.location for f in found] == [f"{path}:{expected} (#/paths/~1time/get)"]


@pytest.mark.parametrize("version", ["2.0", "3.2.0", "4.0.0"])
def test_unsupported_versions_are_rejected(tmp_path: Path, version: str) -> None:
    path = write(tmp_path, BASE.replace("openapi: 3.0.3", f"openapi: '{version}'"))
    found = validate_document(load_spec(path))
    assert [(f.rule, f.location) for f in found] == [("oas3-schema", f"{path}:1 (#/openapi)")]
    assert f"OpenAPI {version} is not supported" in found[0].message


def test_an_unquoted_version_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("openapi: 3.0.3", "openapi: 3.0"))
    [finding] = validate_document(load_spec(path))
    assert "must be a version string" in finding.message
    assert "quote it" in finding.message


def test_a_circular_reference_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE.replace(
            PET,
            "    Pet: {$ref: '#/components/schemas/Animal'}\n"
            "    Animal: {$ref: '#/components/schemas/Pet'}  # loop\n",
        ),
    )
    found = [f for f in validate_document(load_spec(path)) if f.rule == "no-unresolved-refs"]
    assert found
    assert all("circular" in f.message for f in found)


def test_an_unresolved_ref_suggests_the_close_name(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("schemas/Pet'}", "schemas/Pets'}"))
    [finding] = [f for f in validate_document(load_spec(path)) if f.rule == "no-unresolved-refs"]
    assert "did you mean '#/components/schemas/Pet'?" in finding.message


def test_severities_and_off_settings_apply(tmp_path: Path) -> None:
    text = BASE.replace("      summary: Get a pet\n", "").replace("      tags: [pets]\n", "")
    spec = load_spec(write(tmp_path, text))
    default = {f.rule: f.severity for f in lint_spec(spec)}
    assert default == {"operation-summary": Severity.WARNING, "operation-tags": Severity.WARNING}
    changed = lint_spec(spec, {"operation-summary": "error", "operation-tags": "off"})
    assert [(f.rule, f.severity) for f in changed] == [("operation-summary", Severity.ERROR)]
    info = lint_spec(spec, {"operation-summary": "info", "operation-tags": "off"})
    assert [f.severity for f in info] == [Severity.INFO]


def test_structural_rules_can_be_downgraded(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, BASE.replace("  title: Pets\n", "")))
    assert [f.severity for f in validate_document(spec)] == [Severity.ERROR]
    assert [f.severity for f in validate_document(spec, {"oas3-schema": "warning"})] == [
        Severity.WARNING
    ]
    assert validate_document(spec, {"oas3-schema": "off"}) == []


def test_unknown_rule_ids_get_a_did_you_mean(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, BASE))
    with pytest.raises(ConfigError) as caught:
        lint_spec(spec, {"operation-operationid": "off", "operation-tags": "loud"})
    message = str(caught.value)
    assert (
        "unknown rule 'operation-operationid' -> did you mean 'operation-operationId'?" in message
    )
    assert "Valid rules: " in message
    assert "typed-enum" in message
    assert "openapi.rules.operation-tags: 'loud' is not a severity" in message


def test_extends_picks_the_base_ruleset(tmp_path: Path) -> None:
    text = BASE.replace("      summary: Get a pet\n", "").replace(
        "      tags: [pets]\n", "      tags: [pets, pets]\n"
    )
    spec = load_spec(write(tmp_path, text))
    assert {f.rule for f in lint_spec(spec)} == {"operation-summary"}
    assert lint_spec(spec, extends="minimal") == []
    assert {f.rule for f in lint_spec(spec, extends="all")} == {
        "operation-summary",
        "operation-singular-tag",
    }
    assert lint_spec(spec, extends="none") == []
    assert [f.rule for f in lint_spec(spec, {"operation-summary": "error"}, extends="none")] == [
        "operation-summary"
    ]
    with pytest.raises(ConfigError, match="'strict' is not a ruleset"):
        lint_spec(spec, extends="strict")


def test_ignore_drops_findings_below_a_pointer(tmp_path: Path) -> None:
    text = BASE.replace("      summary: Get a pet\n", "").replace(PET, PET + "    Unused: {}\n")
    spec = load_spec(write(tmp_path, text))
    assert {f.rule for f in lint_spec(spec)} == {"operation-summary", "oas3-unused-component"}
    kept = lint_spec(spec, ignore=["#/paths/~1pets~1{pet_id}"])
    assert [f.rule for f in kept] == ["oas3-unused-component"]
    # Without the '#', and a prefix that is not a whole token, which must not match.
    kept = lint_spec(spec, ignore=["/components/schemas/Unused", "#/paths/~1pe"])
    assert [f.rule for f in kept] == ["operation-summary"]


def test_check_openapi_reads_its_config_section(tmp_path: Path) -> None:
    text = BASE.replace("      summary: Get a pet\n", "").replace("  title: Pets\n", "")
    spec = load_spec(write(tmp_path, text))
    assert [f.rule for f in check_openapi(spec)] == ["oas3-schema", "operation-summary"]
    section = {"rules": {"oas3-schema": "warning", "operation-summary": "error"}}
    found = check_openapi(spec, section)
    assert [(f.rule, f.severity) for f in found] == [
        ("oas3-schema", Severity.WARNING),
        ("operation-summary", Severity.ERROR),
    ]
    assert check_openapi(spec, {"ignore": ["#"]}) == []
    assert check_openapi(spec, {"enabled": False}) == []
    # The section itself is accepted where a rule map is expected.
    assert lint_spec(spec, section) == [f for f in found if f.rule == "operation-summary"]
    assert validate_document(spec, section) == [f for f in found if f.rule == "oas3-schema"]
    assert validate_document(spec, {"ignore": ["#/info"]}) == []
    assert lint_spec(spec, {"extends": "none"}) == []
    with pytest.raises(ConfigError, match="did you mean 'operation-summary'"):
        check_openapi(spec, {"rules": {"operation-sumary": "off"}})


def test_an_in_memory_spec_is_located_by_pointer() -> None:
    spec = Spec(document={"openapi": "3.1.0", "info": {"title": "t"}, "paths": {}})
    [finding] = validate_document(spec)
    assert finding.location == "#/info"


def test_a_hand_built_spec_with_non_json_values_gets_findings_not_tracebacks() -> None:
    info = {"title": b"t", "version": "1"}
    spec = Spec(document={"openapi": "3.1.0", "info": info, "paths": {}})
    [finding] = validate_document(spec)
    assert "not JSON data" in finding.message
    schemas = {"A": {"type": "string", "example": b"x"}}
    spec = Spec(
        document={**spec.document, "info": {"title": "t"}, "components": {"schemas": schemas}}
    )
    [finding] = [f for f in lint_spec(spec) if f.rule == "oas3-valid-schema-example"]
    assert finding.location == "#/components/schemas/A/example"
    assert "not JSON data" in finding.message


def test_the_config_section_schema_matches_the_code() -> None:
    schema = json.loads(SECTION_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    properties = schema["properties"]
    assert schema["additionalProperties"] is False
    assert all("description" in spec for spec in properties.values())
    assert properties["extends"]["enum"] == list(EXTENDS)
    assert properties["extends"]["default"] == "recommended"
    assert properties["rules"]["additionalProperties"]["enum"] == [
        "error",
        "warning",
        "info",
        "off",
    ]
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"rules": dict.fromkeys(RULES, "off"), "ignore": ["#/paths"]})
    assert not validator.is_valid({"rules": {"typed-enum": "loud"}})
    assert not validator.is_valid({"extend": "all"})


def test_rules_are_documented() -> None:
    for rule in RULES.values():
        assert rule.severity in ("error", "warning", "info", "off"), rule.id
        assert rule.description.endswith("."), rule.id


def test_findings_deep_in_schemas_name_their_pointers(tmp_path: Path) -> None:
    """Schemas that no list of the index holds are walked by (parent, key): the pointers
    of their texts and patterns are still exact, escapes and list indexes included."""
    leaf = {"type": "string", "description": "a <script> here", "pattern": "("}
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1", "license": {"name": "MIT"}},
        "paths": {},
        "components": {
            "schemas": {
                "A": {
                    "type": "object",
                    "properties": {
                        "a/b~c": {
                            "type": "object",
                            "description": "eval(1)",
                            "properties": {"c": {"allOf": [{"type": "string"}, leaf]}},
                        }
                    },
                }
            }
        },
    }
    path = write(tmp_path, json.dumps(document, indent=2), "api.json")
    found = {
        (f.rule, (f.location or "").rpartition(" ")[2])
        for f in findings_of(path)
        if f.rule in ("no-eval-in-markdown", "no-script-tags-in-markdown", "oas3-schema")
    }
    prop = "#/components/schemas/A/properties/a~1b~0c"
    assert found == {
        ("no-eval-in-markdown", f"({prop}/description)"),
        ("no-script-tags-in-markdown", f"({prop}/properties/c/allOf/1/description)"),
        ("oas3-schema", f"({prop}/properties/c/allOf/1/pattern)"),
    }


def test_the_lint_index_is_kept_for_lint_and_dropped_after_it(tmp_path: Path) -> None:
    spec = load_spec(FIXTURES / "valid-3.1.json")
    validate_document(spec)
    index = spec.derived["lint"]
    assert lint_spec(spec) == []  # the same index, then dropped: lint is its last reader
    assert "lint" not in spec.derived
    assert lint_spec(spec) == []  # made again when asked
    assert validate_document(spec) == []
    assert spec.derived["lint"] is not index
