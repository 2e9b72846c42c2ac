"""Loading OpenAPI documents: YAML and JSON, split files, errors with file:line, locating."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_deploycheck.core.errors import SpecError
from pytest_deploycheck.core.spec import (
    format_pointer,
    load_spec,
    parse_pointer,
    resolve_pointer,
)
from pytest_deploycheck.core.spec_text import JsonLines, YamlLines
from pytest_deploycheck.phase1.lint import lint_spec, validate_document

FIXTURES = Path(__file__).parents[1] / "fixtures" / "specs"
SPLIT = FIXTURES / "split"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in refs_in(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in refs_in(item)]
    return []


# --- reading -------------------------------------------------------------------------------


def test_yaml_and_json_load_to_the_same_document(tmp_path: Path) -> None:
    yaml_spec = load_spec(FIXTURES / "valid-3.0.yaml")
    as_json = write(tmp_path, "api.json", json.dumps(yaml_spec.document))
    assert load_spec(as_json).document == yaml_spec.document
    labels = [operation.label for operation in yaml_spec.operations]
    assert labels == ["GET /pets", "POST /pets", "GET /pets/{pet_id}", "DELETE /pets/{pet_id}"]
    get_pet = yaml_spec.operations[2]
    assert [p["name"] for p in get_pet.parameters] == ["pet_id"]
    assert get_pet.operation_id == "getPet"
    assert yaml_spec.version == "3.0.3"


def test_yaml_reads_as_json_data(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "api.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\nx-data:\n"
        "  born: 2024-01-31\n  on: off\n  answers: [yes, no, true, False]\n"
        "  200: ok\n  1.5: half\n  logo: !!binary aGVsbG8=\n",
    )
    data = load_spec(path).document["x-data"]
    assert data == {
        "born": "2024-01-31",
        "on": "off",
        "answers": ["yes", "no", True, False],
        "200": "ok",
        "1.5": "half",
        "logo": "aGVsbG8=",
    }


def test_duplicate_yaml_keys_are_recorded_and_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path, "api.yaml", "openapi: 3.1.0\ninfo:\n  title: a\n  title: b\n  version: '1'\n"
    )
    spec = load_spec(path)
    assert spec.document["info"]["title"] == "b"
    assert spec.duplicate_keys == [(f"{path}:4", "title")]
    found = [f for f in validate_document(spec) if f.rule == "no-duplicate-keys"]
    assert [f.location for f in found] == [f"{path}:4"]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("api.yaml", "openapi: 3.1.0\ninfo: [a\n", r"api.yaml:3:1: invalid YAML: .*fix the syntax"),
        ("api.yaml", "openapi: 3.1.0\n  bad: indent\n", r"api.yaml:2:6: invalid YAML"),
        ("api.json", '{"openapi": "3.1.0",\n "info": }', r"api.json:2:10: invalid JSON"),
        ("api.yaml", "- openapi\n", r"api.yaml:1: .*must be a mapping .*\(got a list\)"),
        ("api.yaml", "", r"api.yaml: the file is empty"),
        ("api.yaml", "info: {}\n", r"api.yaml:1: no 'openapi' field.*add 'openapi: 3.1.0'"),
        ("api.yaml", "swagger: '2.0'\n", r"Swagger 2.0 document; convert it to OpenAPI 3"),
    ],
)
def test_unreadable_documents_raise_spec_errors(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    with pytest.raises(SpecError, match=expected):
        load_spec(write(tmp_path, name, text))


def test_a_missing_file_names_the_config_key(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"spec file '.*nope.yaml' does not exist; set 'spec'"):
        load_spec(tmp_path / "nope.yaml")


def test_a_file_that_is_not_utf8_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_bytes(b"openapi: 3.1.0\ninfo: {title: \xff}\n")
    with pytest.raises(SpecError, match="not UTF-8"):
        load_spec(path)


BOM = "\ufeff".encode()  # what .NET tools and some editors write first


@pytest.mark.parametrize(
    ("name", "pointer", "line"),
    [
        ("valid-3.1.json", "#/paths/~1time/get/parameters/0/schema", 26),
        ("valid-3.1.json", "#/openapi", 2),
        ("valid-3.0.yaml", "#/paths/~1pets~1{pet_id}/get", 84),
        ("valid-3.0.yaml", "#/openapi", 1),
    ],
)
def test_a_byte_order_mark_is_ignored(tmp_path: Path, name: str, pointer: str, line: int) -> None:
    """Spectral, Redocly and swagger-parser accept a BOM; a line must not move because of it."""
    original = load_spec(FIXTURES / name)
    assert original.locate(pointer) == f"{FIXTURES / name}:{line}"
    path = tmp_path / name
    path.write_bytes(BOM + (FIXTURES / name).read_bytes())
    spec = load_spec(path)
    assert spec.document == original.document
    assert spec.locate(pointer) == f"{path}:{line}"


def test_a_byte_order_mark_in_minified_json_keeps_findings_on_line_one(tmp_path: Path) -> None:
    document = json.loads((FIXTURES / "valid-3.1.json").read_text())
    del document["servers"]
    path = tmp_path / "api.json"
    path.write_bytes(BOM + json.dumps(document).encode())
    found = [f for f in lint_spec(load_spec(path)) if f.rule == "oas3-api-servers"]
    assert [f.location for f in found] == [f"{path}:1 (#)"]


def test_a_byte_order_mark_in_a_referenced_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "schemas.json").write_bytes(
        BOM + b'{\n  "Pet": {\n    "type": "object",\n    "properties": {\n'
        b'      "toys": {"type": "array"}\n    }\n  }\n}\n'
    )
    root = write(
        tmp_path,
        "api.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n"
        "  schemas:\n    Pet: {$ref: 'schemas.json#/Pet'}\n",
    )
    spec = load_spec(root)
    assert spec.document["components"]["schemas"]["Pet"]["type"] == "object"
    found = [f for f in lint_spec(spec) if f.rule == "array-items"]
    assert [f.location for f in found] == [
        f"{tmp_path / 'schemas.json'}:5 (#/components/schemas/Pet/properties/toys)"
    ]


def test_invalid_json_after_a_byte_order_mark_names_the_right_line(tmp_path: Path) -> None:
    path = tmp_path / "api.json"
    path.write_bytes(BOM + b'{\n  "openapi": "3.1.0",\n  "info": {,}\n}\n')
    with pytest.raises(SpecError, match=r"api.json:3:\d+: invalid JSON: Expecting"):
        load_spec(path)


# --- split documents -----------------------------------------------------------------------


def test_a_split_document_is_bundled_into_local_references() -> None:
    spec = load_spec(SPLIT / "openapi.yaml")
    assert all(ref.startswith("#/") for ref in refs_in(spec.document))
    book = spec.component_schema("Book")
    assert book is not None
    assert book["properties"]["cites"]["items"] == {"$ref": "#/components/schemas/Book"}
    assert book["properties"]["author"] == {"$ref": "#/components/schemas/Author"}
    author = spec.resolve(book["properties"]["author"])
    assert author["properties"]["name"]["example"] == "Frank Herbert"
    [operation] = spec.operations
    assert operation.label == "GET /books/{book_id}"
    assert [p["name"] for p in operation.parameters] == ["book_id"]
    response = operation.definition["responses"]["404"]
    assert response == {"$ref": "#/components/responses/NotFound"}
    assert spec.files == [
        str(SPLIT / "openapi.yaml"),
        str(SPLIT / "schemas" / "book.yaml"),
        str(SPLIT / "schemas" / "common.yaml"),
        str(SPLIT / "paths" / "book.yaml"),
    ]


def test_nodes_from_other_files_locate_into_their_file() -> None:
    spec = load_spec(SPLIT / "openapi.yaml")
    assert spec.locate("#/paths/~1books~1{book_id}/get/responses/200") == (
        f"{SPLIT / 'paths' / 'book.yaml'}:12"
    )
    assert spec.locate("#/components/schemas/Author/properties/name/example") == (
        f"{SPLIT / 'schemas' / 'common.yaml'}:4"
    )
    assert spec.locate("#/components/schemas/Book/properties/cites") == (
        f"{SPLIT / 'schemas' / 'book.yaml'}:8"
    )
    assert spec.locate("#/tags/0") == f"{SPLIT / 'openapi.yaml'}:11"


def test_findings_in_another_file_point_into_it(tmp_path: Path) -> None:
    write(
        tmp_path, "schemas.yaml", "Pet:\n  type: object\n  properties:\n    toys: {type: array}\n"
    )
    root = write(
        tmp_path,
        "api.yaml",
        (FIXTURES / "split" / "openapi.yaml")
        .read_text()
        .replace(
            "    Book:\n      $ref: schemas/book.yaml#/Book\n",
            "    Pet:\n      $ref: schemas.yaml#/Pet\n",
        )
        .replace("    Author:\n      $ref: schemas/book.yaml#/Author\n", "")
        .replace("  /books/{book_id}:\n    $ref: paths/book.yaml\n", "  {}\n"),
    )
    found = [f for f in lint_spec(load_spec(root)) if f.rule == "array-items"]
    assert [f.location for f in found] == [
        f"{tmp_path / 'schemas.yaml'}:4 (#/components/schemas/Pet/properties/toys)"
    ]


def test_a_reference_to_a_missing_file_names_where_it_is(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "api.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n"
        "    Pet:\n      $ref: pets.yaml#/Pet\n",
    )
    with pytest.raises(SpecError, match=r"api.yaml:7: \$ref points to .*pets.yaml.*does not exist"):
        load_spec(path)


def test_a_dangling_pointer_into_another_file_names_both(tmp_path: Path) -> None:
    write(tmp_path, "pets.yaml", "Pet: {type: object}\n")
    path = write(
        tmp_path,
        "api.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n"
        "    Pet:\n      $ref: pets.yaml#/Pets\n",
    )
    with pytest.raises(
        SpecError,
        match=r"api.yaml:7: \$ref 'pets.yaml#/Pets' does not resolve: .*pets.yaml has no 'Pets'",
    ):
        load_spec(path)


def test_a_reference_cycle_between_files_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "A:\n  $ref: b.yaml#/B\n")
    write(tmp_path, "b.yaml", "B:\n  $ref: a.yaml#/A\n")
    path = write(
        tmp_path,
        "api.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n"
        "    A:\n      $ref: a.yaml#/A\n",
    )
    with pytest.raises(
        SpecError, match=r"circular \$ref: .*a.yaml#/A -> .*b.yaml#/B -> .*a.yaml#/A"
    ):
        load_spec(path)


def test_recursion_across_files_is_not_a_cycle(tmp_path: Path) -> None:
    write(
        tmp_path,
        "tree.yaml",
        "Node:\n  type: object\n  properties:\n    children:\n"
        "      type: array\n      items: {$ref: '#/Node'}\n    leaf: {$ref: leaf.yaml}\n",
    )
    write(tmp_path, "leaf.yaml", "type: object\nproperties:\n  parent: {$ref: 'tree.yaml#/Node'}\n")
    path = write(
        tmp_path,
        "api.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /tree:\n    get:\n"
        "      responses:\n        '200':\n          description: ok\n          content:\n"
        "            application/json:\n              schema: {$ref: 'tree.yaml#/Node'}\n",
    )
    spec = load_spec(path)
    schema = spec.document["paths"]["/tree"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    here = "#/paths/~1tree/get/responses/200/content/application~1json/schema"
    assert schema["properties"]["children"]["items"] == {"$ref": here}
    assert schema["properties"]["leaf"]["properties"]["parent"] == {"$ref": here}
    assert validate_document(spec) == []


def test_remote_references_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "api.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n"
        "    Pet: {$ref: 'https://schemas.test/pet.json'}\n",
    )
    with pytest.raises(SpecError, match=r"api.yaml:6: remote \$ref .* is not supported; download"):
        load_spec(path)


def test_reference_siblings_override_the_inlined_content(tmp_path: Path) -> None:
    write(tmp_path, "pet.yaml", "type: object\ndescription: A pet.\n")
    path = write(
        tmp_path,
        "api.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n"
        "    Pet: {$ref: pet.yaml, description: Our pet.}\n    Same: {$ref: pet.yaml}\n",
    )
    schemas = load_spec(path).document["components"]["schemas"]
    assert schemas["Pet"] == {"type": "object", "description": "Our pet."}
    assert schemas["Same"] == {"$ref": "#/components/schemas/Pet"}


# --- locating ------------------------------------------------------------------------------


def test_locate_yaml_keys_list_items_and_missing_nodes() -> None:
    spec = load_spec(FIXTURES / "valid-3.0.yaml")
    name = str(FIXTURES / "valid-3.0.yaml")
    assert spec.locate("#") == f"{name}:1"
    assert spec.locate("#/paths/~1pets/post") == f"{name}:51"
    assert spec.locate("#/paths/~1pets/post/security/0") == f"{name}:57"
    assert spec.locate("#/servers/0/variables/region/enum/1") == f"{name}:18"
    # A node that does not exist: the line of its deepest existing parent.
    assert spec.locate("#/paths/~1pets/post/nothing/here") == f"{name}:51"


def test_locate_follows_yaml_merge_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "api.yaml",
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\nx-base: &base\n"
        "  color: red\nx-thing:\n  <<: *base\n  size: 3\n",
    )
    spec = load_spec(path)
    assert spec.document["x-thing"] == {"color": "red", "size": 3}
    assert spec.locate("#/x-thing/size") == f"{path}:8"
    assert spec.locate("#/x-thing/color") == f"{path}:5"


def test_locate_json() -> None:
    spec = load_spec(FIXTURES / "valid-3.1.json")
    name = str(FIXTURES / "valid-3.1.json")
    assert spec.locate("#/paths/~1time/get/parameters/0/schema") == f"{name}:26"
    assert spec.locate("#/webhooks/tick") == f"{name}:45"
    assert spec.locate("#/components/schemas/Time/required/0") == f"{name}:62"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_locate_json_with_non_ascii_text_keeps_no_text_in_memory(
    tmp_path: Path, newline: str
) -> None:
    """Large JSON documents are not kept as text; lines are found in the file read again,
    one byte a character, with keys and values outside ASCII on the way."""
    lines = [
        "{",
        '  "openapi": "3.1.0",',
        '  "info": {"title": "Café ☕ 日本", "version": "1"},',
        '  "paths": {',
        '    "/réservations/{id}": {',
        '      "get": {"summary": "Réserver: ünïcödé 🎉", "responses": {',
        '        "200": {"description": "ok é"}}}},',
        '    "/ascii": {"get": {"responses": {"200": {"description": "plain"}}}}',
        "  }",
        "}",
    ]
    path = tmp_path / "api.json"
    path.write_bytes(BOM + newline.join(lines).encode("utf-8"))
    spec = load_spec(path)
    assert all(source.text is None for source in spec._sources.values())
    assert spec.document["info"]["title"] == "Café ☕ 日本"
    assert spec.locate("#/paths/~1réservations~1{id}/get/responses/200") == f"{path}:7"
    assert spec.locate("#/paths/~1réservations~1{id}") == f"{path}:5"
    assert spec.locate("#/paths/~1ascii/get") == f"{path}:8"
    assert spec.locate("#/paths/~1réservations~1{id}/nothing") == f"{path}:5"


def test_a_key_ending_in_ref_is_no_reference_to_another_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OData paths such as ``/users/{id}/manager/$ref`` hold a mapping: no bundling walk."""
    from pytest_deploycheck.core import spec as spec_module

    def no_walk(*args: object) -> None:
        raise AssertionError("the document has no reference to another file")

    monkeypatch.setattr(spec_module._Bundler, "bundle", no_walk)
    document = {
        "openapi": "3.0.1",
        "info": {"title": "t", "version": "1"},
        "paths": {"/users/{id}/manager/$ref": {"delete": {"responses": {"204": {}}}}},
    }
    path = write(tmp_path, "api.json", json.dumps(document, indent=1))
    assert [op.label for op in load_spec(path).operations] == ["DELETE /users/{id}/manager/$ref"]
    flow = write(tmp_path, "api.yaml", "openapi: 3.0.1\npaths: {/a/$ref: {get: {}}}\n")
    assert [op.label for op in load_spec(flow).operations] == ["GET /a/$ref"]


def test_a_valid_document_never_builds_a_line_index() -> None:
    spec = load_spec(FIXTURES / "valid-3.1.json")
    assert validate_document(spec) == []
    assert lint_spec(spec) == []
    assert all(source.lines is None for source in spec._sources.values())
    spec.locate("#/paths")
    assert any(source.lines is not None for source in spec._sources.values())


def test_resolve_pointer_reports_what_is_missing() -> None:
    document = {"a": {"b/c": [1, {"d": 2}]}}
    assert resolve_pointer(document, "#/a/b~1c/1/d") == 2
    assert resolve_pointer(document, "#/a/b%7E1c/0") == 1
    with pytest.raises(SpecError, match=r"does not resolve \(no 'x'\)"):
        resolve_pointer(document, "#/a/x")
    with pytest.raises(SpecError, match="points outside the document"):
        resolve_pointer(document, "other.yaml#/a")


# --- properties ----------------------------------------------------------------------------

tokens = st.lists(st.text(max_size=8), max_size=6)


@given(tokens)
def test_pointers_round_trip(path: list[str]) -> None:
    pointer = format_pointer(path)
    assert pointer.startswith("#")
    assert parse_pointer(pointer) == path


# YAML refuses control characters even in JSON text, and so would a real spec.
printable = st.characters(whitelist_categories=("L", "N", "P", "S", "Zs"))
keys = st.text(alphabet=printable, min_size=1, max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=printable, max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


def pointers_of(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += pointers_of(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += pointers_of(value, (*path, str(index)))
    return found


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(keys, json_values, min_size=1, max_size=4), st.sampled_from([None, 1, 2]))
def test_json_and_yaml_line_indexes_agree(document: dict[str, Any], indent: int | None) -> None:
    """JSON text is YAML: two independent indexes must give every node the same line."""
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    as_json, as_yaml = JsonLines(text), YamlLines(text)
    lines = text.splitlines()
    for path in pointers_of(document):
        line = as_json.line_of(list(path))
        assert line == as_yaml.line_of(list(path))
        if indent is not None and path and isinstance(_at(document, path[:-1]), dict):
            # pretty-printed: the key itself is on that line
            assert json.dumps(path[-1], ensure_ascii=False) in lines[line - 1]


def _at(document: Any, path: tuple[str, ...]) -> Any:
    node = document
    for token in path:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def test_equal_json_string_values_are_one_object(tmp_path: Path) -> None:
    """Shared at parse time, for memory: equal values, whatever their place."""
    path = tmp_path / "api.json"
    document = {"openapi": "3.1.0", "a": {"t": "string", "l": ["string", "x"]}, "b": "string"}
    path.write_text(json.dumps(document))
    loaded = load_spec(path).document
    assert loaded == document
    assert loaded["a"]["t"] is loaded["b"] is loaded["a"]["l"][0]
