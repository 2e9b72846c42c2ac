"""Validity and lint on what public specs hold: 3.1 Schema Objects, ECMA-262 patterns,
structurally damaged documents, x-webhooks, defaults and long values.

Each case is a minimal document shaped like what was found in APIs.guru's collection and
GitHub's REST description.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_deploycheck.core.findings import Finding
from pytest_deploycheck.core.spec import Spec, load_spec
from pytest_deploycheck.phase1.lint import RULE_CRASHED, RULES, Rule, lint_spec, validate_document

REPOSITORY = Path(__file__).parents[2]
FIXTURES = REPOSITORY / "tests" / "fixtures"


def write(tmp_path: Path, text: str, name: str = "api.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def marked_lines(text: str) -> dict[str, int]:
    """The line of each ``# <- name`` marker."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if "# <- " in line:
            lines[line.split("# <- ")[1].strip()] = number
    return lines


def by_location(findings: list[Finding]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in findings:
        found.setdefault(finding.location or "", []).append(finding.message)
    return found


def document(version: str, schema: str, extra: str = "") -> str:
    """A document whose one component schema, ``Pet``, is ``schema`` (YAML, indented 6)."""
    return (
        f"openapi: {version}\n"
        "info: {title: Pets, version: '1'}\n"
        f"{extra}"
        "paths:\n"
        "  /pets:\n"
        "    get:\n"
        "      responses:\n"
        "        '200':\n"
        "          description: The pets.\n"
        "          content:\n"
        "            application/json:\n"
        "              schema: {$ref: '#/components/schemas/Pet'}\n"
        "components:\n"
        "  schemas:\n"
        "    Pet:\n"
        f"{schema}"
    )


# --- 3.1 Schema Objects are validated against their dialect ------------------------------

BROKEN_SCHEMA = (
    "      type: 5  # <- type\n"
    "      minLength: x  # <- minLength\n"
    "      required: name  # <- required\n"
    "      properties:\n"
    "        id: {type: integer}\n"
)


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_a_broken_schema_object_gets_an_error_per_keyword_at_its_line(
    tmp_path: Path, version: str
) -> None:
    # 2 of the collection's 46 3.1 specs had such schemas; the 3.1 meta-schema shipped was
    # the variant without schema validation, so they passed.
    text = document(version, BROKEN_SCHEMA)
    path = write(tmp_path, text)
    found = by_location(validate_document(load_spec(path)))
    lines = marked_lines(text)
    schema = "#/components/schemas/Pet"
    assert found[f"{path}:{lines['minLength']} ({schema}/minLength)"] == [
        'must be integer (got a string: "x")'
    ]
    assert found[f"{path}:{lines['required']} ({schema}/required)"] == [
        'must be array (got a string: "name")'
    ]
    assert any(
        "is not one of" in message and '"string"' in message
        for message in found[f"{path}:{lines['type']} ({schema}/type)"]
    )


def test_the_openapi_vocabulary_is_part_of_the_default_dialect(tmp_path: Path) -> None:
    schema = (
        "      type: object\n"
        "      discriminator: {mapping: {a: '#/x'}}  # <- discriminator\n"
        "      xml: {nme: pet}  # <- xml\n"
    )
    text = document("3.1.0", schema)
    path = write(tmp_path, text)
    found = by_location(validate_document(load_spec(path)))
    lines = marked_lines(text)
    pet = "#/components/schemas/Pet"
    assert found == {
        f"{path}:{lines['discriminator']} ({pet}/discriminator)": [
            "'propertyName' is required here; add it"
        ],
        f"{path}:{lines['xml']} ({pet}/xml/nme)": [
            "'nme' is not an allowed field here; did you mean 'name'?"
        ],
    }


def test_json_schema_dialect_chooses_how_schema_objects_are_validated(tmp_path: Path) -> None:
    schema = "      discriminator: {mapping: {a: '#/x'}}\n      minLength: x\n"
    plain = document(
        "3.1.0", schema, "jsonSchemaDialect: https://json-schema.org/draft/2020-12/schema\n"
    )
    # plain JSON Schema 2020-12: discriminator is an unknown keyword, minLength still counts
    found = validate_document(load_spec(write(tmp_path, plain)))
    assert [f.location.split(" ")[1] for f in found if f.location] == [
        "(#/components/schemas/Pet/minLength)"
    ]
    # a dialect this gate does not know: the document's structure only
    other = document("3.1.0", schema, "jsonSchemaDialect: https://example.test/dialect\n")
    assert validate_document(load_spec(write(tmp_path, other))) == []


# --- patterns are ECMA-262 with the u flag -----------------------------------------------

VALID_PATTERNS = [
    "^\\p{Lu}[\\p{L}\\s'-]*$",  # unicode properties: invalid in Python's re
    "^(?<year>\\d{4})-\\k<year>$",  # ECMA's named groups and backreferences
    "^[a-z0-9\\-]+$",  # \- inside a class is fine
    "^\\u{1F600}+$",
]
INVALID_PATTERNS = {
    "^[\\w-.]+$": "Invalid character range",  # a class escape as a range bound
    "^\\-?\\d+$": "Invalid character escape",  # \- outside a class
    "(?i)^abc$": "Invalid group modifier",  # Python's inline flags
    "^abc\\Z": "Invalid character escape",  # Python's end of string
}


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_patterns_are_checked_as_ecma_262_with_the_u_flag(tmp_path: Path, version: str) -> None:
    properties = "".join(
        f"        valid{index}: {{type: string, pattern: {json.dumps(pattern)}}}\n"
        for index, pattern in enumerate(VALID_PATTERNS)
    ) + "".join(
        f"        invalid{index}: {{type: string, pattern: {json.dumps(pattern)}}}  # <- {index}\n"
        for index, pattern in enumerate(INVALID_PATTERNS)
    )
    text = document(version, f"      type: object\n      properties:\n{properties}")
    path = write(tmp_path, text)
    found = validate_document(load_spec(path))
    lines = marked_lines(text)
    assert [(f.rule, f.location) for f in found] == [
        (
            "oas3-schema",
            f"{path}:{lines[str(index)]} (#/components/schemas/Pet/properties/invalid{index}"
            "/pattern)",
        )
        for index in range(len(INVALID_PATTERNS))
    ]
    for finding, (pattern, reason) in zip(found, INVALID_PATTERNS.items(), strict=True):
        assert finding.message == (
            f"pattern {json.dumps(pattern)} is not a valid regular expression "
            f"(ECMA-262, u flag): {reason}"
        )


def test_pattern_property_keys_are_patterns_too(tmp_path: Path) -> None:
    schema = "      type: object\n      patternProperties:\n        '^x-\\Z': {}  # <- key\n"
    text = document("3.1.0", schema)
    path = write(tmp_path, text)
    [finding] = validate_document(load_spec(path))
    assert finding.location == (
        f"{path}:{marked_lines(text)['key']} (#/components/schemas/Pet/patternProperties/^x-\\Z)"
    )
    assert "(ECMA-262, u flag): Invalid character escape" in finding.message


def test_examples_match_patterns_as_ecma_262_does(tmp_path: Path) -> None:
    schema = (
        "      type: object\n"
        "      properties:\n"
        "        code: {type: string, pattern: '^\\p{Lu}{2}$', example: ÉA}\n"
        # ECMA's \d is ASCII: Arabic-Indic digits do not match it (Python's \d would)
        "        digits: {type: string, pattern: '^\\d+$', example: '١٢٣'}  # <- digits\n"
        # an invalid pattern is validity's to report: the example is checked on the rest
        "        bad: {type: string, pattern: '^\\Z', maxLength: 1, example: xyz}  # <- bad\n"
        "        regex: {type: string, format: regex, example: '(?i)a'}  # <- regex\n"
    )
    text = document("3.0.3", schema)
    path = write(tmp_path, text)
    found = {
        f.location: f.message
        for f in lint_spec(load_spec(path))
        if f.rule == "oas3-valid-schema-example"
    }
    lines = marked_lines(text)
    pet = "#/components/schemas/Pet/properties"
    assert found == {
        f"{path}:{lines['digits']} ({pet}/digits/example)": (
            'example does not match its schema: "١٢٣" does not match the pattern "^\\\\d+$"'
        ),
        f"{path}:{lines['bad']} ({pet}/bad/example)": (
            'example does not match its schema: "xyz" is longer than 1 character'
        ),
        f"{path}:{lines['regex']} ({pet}/regex/example)": (
            'example does not match its schema: "(?i)a" is not a valid regular expression '
            "(ECMA-262, u flag): Invalid group modifier"
        ),
    }


# --- defaults and long values ------------------------------------------------------------


def test_a_default_that_breaks_its_schema_is_named_a_default(tmp_path: Path) -> None:
    schema = "      type: string\n      enum: [cat, dog]\n      default: cow  # <- default\n"
    text = document("3.1.0", schema)
    path = write(tmp_path, text)
    [finding] = [f for f in lint_spec(load_spec(path)) if f.rule == "oas3-valid-schema-example"]
    line = marked_lines(text)["default"]
    assert finding.location == f"{path}:{line} (#/components/schemas/Pet/default)"
    assert finding.message == (
        'default does not match its schema: "cow" is not one of "cat", "dog"'
    )


def test_a_long_value_is_cut_and_the_reason_kept(tmp_path: Path) -> None:
    long_value = "x" * 5000
    schema = (
        "      type: object\n"
        "      properties:\n"
        f"        a: {{type: string, maxLength: 3, example: {long_value}}}\n"
        f"        b: {{type: string, format: regex, example: '{long_value}['}}\n"
        f"        c: {{type: string, enum: [{', '.join(f'v{i}' for i in range(400))}],"
        " example: nope}\n"
        f"        d: {{type: object, properties: [{long_value}], example: {{}}}}\n"
    )
    findings = lint_spec(load_spec(write(tmp_path, document("3.1.0", schema))))
    messages = {f.location.rsplit("/", 2)[-2]: f.message for f in findings if f.location}
    assert all(len(message) < 300 for message in messages.values()), messages
    assert messages["a"].endswith(" is longer than 3 characters")
    assert messages["b"].endswith("(ECMA-262, u flag): Unbalanced bracket")
    assert messages["c"].endswith('"v11", ... (388 more)')
    assert messages["d"].startswith(
        "cannot check this example: its schema is invalid: must be object (got an array: "
    )


# --- oas3-unused-component counts x-webhooks ---------------------------------------------


def test_components_referenced_only_from_webhooks_are_used(tmp_path: Path) -> None:
    # GitHub's description: 288 of 297 unused-component warnings were schemas referenced
    # only from x-webhooks (a 3.0 document has no webhooks of its own).
    webhooks = (
        "x-webhooks:\n"
        "  push:\n"
        "    post:\n"
        "      requestBody:\n"
        "        content:\n"
        "          application/json:\n"
        "            schema: {$ref: '#/components/schemas/PushEvent'}\n"
        "      responses: {'200': {description: ok}}\n"
    )
    schema = (
        "      type: object\n"
        "    PushEvent:\n"
        "      type: object\n"
        "      properties:\n"
        "        commit: {$ref: '#/components/schemas/Commit'}\n"
        "    Commit: {type: object}\n"
        "    Unused: {type: object}  # <- unused\n"
    )
    for version, extra in (
        ("3.0.3", webhooks),
        ("3.1.0", webhooks.replace("x-webhooks", "webhooks")),
    ):
        text = document(version, schema, extra)
        path = write(tmp_path, text)
        found = [f for f in lint_spec(load_spec(path)) if f.rule == "oas3-unused-component"]
        line = marked_lines(text)["unused"]
        assert [f.location for f in found] == [f"{path}:{line} (#/components/schemas/Unused)"], (
            version
        )


# --- structurally damaged documents: findings, never a crash -----------------------------


def test_tags_and_scopes_that_are_not_strings_are_reported_not_crashed_on(
    tmp_path: Path,
) -> None:
    extra = "security: [{oauth: [{}]}]  # <- scope\ntags: [{name: [pets]}]\n"
    text = document("3.0.3", "      type: object\n", extra).replace(
        "    get:\n", "    get:\n      tags: [[x]]  # <- tag\n"
    ) + (
        "  securitySchemes:\n"
        "    oauth:\n"
        "      type: oauth2\n"
        "      flows: {implicit: {authorizationUrl: 'https://a.test', scopes: [read]}}\n"
    )
    path = write(tmp_path, text)
    spec = load_spec(path)
    lint = lint_spec(spec, extends="all")
    assert all(f.rule != RULE_CRASHED for f in lint), lint
    lines = marked_lines(text)
    validity = {f.location for f in validate_document(spec)}
    assert f"{path}:{lines['tag']} (#/paths/~1pets/get/tags/0)" in validity
    assert f"{path}:{lines['scope']} (#/security/0/oauth/0)" in validity


def test_a_rule_that_raises_is_one_error_and_the_other_rules_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Any) -> Any:
        raise TypeError("unhashable type: 'list'")

    monkeypatch.setitem(RULES, "broken-rule", Rule("broken-rule", "warning", "Breaks.", broken))
    path = write(tmp_path, document("3.1.0", "      type: object\n"))
    findings = lint_spec(load_spec(path))
    crashed = [f for f in findings if f.rule == RULE_CRASHED]
    assert [f.message for f in crashed] == [
        "rule broken-rule failed on this document (TypeError: unhashable type: 'list'), so "
        "its findings are missing; this is a bug in deploycheck, please report it"
    ]
    assert crashed[0].severity.value == "error"
    assert any(f.rule == "operation-operationId" for f in findings)


def _json_nodes(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every node below the root."""
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_json_nodes(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_json_nodes(value, (*path, index)))
    return found


SPECS = [
    load_spec(REPOSITORY / "specs" / "booking.openapi.yaml").document,
    load_spec(FIXTURES / "specs" / "valid-3.0.yaml").document,
    load_spec(FIXTURES / "specs" / "valid-3.1.json").document,
    yaml.safe_load((FIXTURES / "breaking" / "booking-v1.yaml").read_text(encoding="utf-8")),
]
# Keys the rules read, so that a replacement lands where a rule looks
KEYS = st.sampled_from(
    [
        "$ref", "name", "in", "tags", "security", "scopes", "flows", "type", "enum",
        "required", "properties", "items", "example", "examples", "default", "parameters",
        "responses", "links", "operationId", "operationRef", "servers", "variables", "url",
        "callbacks", "content", "schema", "discriminator", "mapping", "oneOf", "nullable",
        "pattern", "patternProperties", "webhooks", "x-webhooks", "value", "license",
    ]
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "x", "#/components/schemas/Nope", "[a-", "{x}", "oauth2", "array"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(KEYS | st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_no_rule_raises_on_a_damaged_real_spec(data: st.DataObject) -> None:
    document = copy.deepcopy(data.draw(st.sampled_from(SPECS), label="spec"))
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        nodes = _json_nodes(document)
        *parents, last = data.draw(st.sampled_from(nodes), label="node")
        holder = document
        for token in parents:
            holder = holder[token]
        replacement = data.draw(JSON_VALUES, label="value")
        if isinstance(holder[last], dict) and data.draw(st.booleans(), label="insert"):
            holder[last][data.draw(KEYS, label="key")] = replacement
        else:
            holder[last] = replacement
    spec = Spec(document)
    # every rule, those off by default too; a rule that raised would be a lint-rule-crashed
    findings = [*validate_document(spec), *lint_spec(spec, extends="all")]
    assert [f.message for f in findings if f.rule == RULE_CRASHED] == []
