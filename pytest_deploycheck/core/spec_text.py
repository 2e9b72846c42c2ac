"""Reading a spec's text: the YAML loader with JSON's data model, and the line of a node.

``Loader`` reads YAML as OpenAPI tools do (string keys, no dates, only true/false booleans)
and records duplicate keys. ``JsonLines`` and ``YamlLines`` find the 1-based line of the node
at a JSON pointer, on demand, so a finding can say ``file:line`` without a parse that keeps
positions for every node.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

__all__ = ["ENCODING", "JsonLines", "LineIndex", "Loader", "YamlLines", "shared_strings"]

if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:  # the C parser when PyYAML was built with libyaml: several times faster
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_JSON_WS = re.compile(r"[ \t\n\r]*")
_WS_CHARS = frozenset(" \t\n\r")
# UTF-8, without the byte order mark that some editors and .NET tools write first: JSON parsers
# may ignore it (RFC 8259), and Spectral, Redocly and swagger-parser do. It holds no newline,
# so the lines of findings are the same with or without it.
ENCODING = "utf-8-sig"


class Loader(_BaseLoader):
    """Safe YAML with the JSON data model: string keys, no dates, only true/false booleans.

    OpenAPI is JSON: ``200:`` is the key ``"200"``, ``2024-01-31`` an example string, and ``on``
    a string, as YAML 1.2 and the JavaScript tools read them.
    """

    duplicates: list[tuple[int, str]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                if key_node.value in seen:
                    self.duplicates.append((key_node.start_mark.line + 1, key_node.value))
                seen.add(key_node.value)
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _binary_as_text(loader: Loader, node: yaml.ScalarNode) -> str:
    """!!binary stays the base64 text it is written as: a document is JSON data."""
    return str(loader.construct_scalar(node))


Loader.add_constructor("tag:yaml.org,2002:binary", _binary_as_text)
Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def shared_strings() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """An ``object_hook`` for ``json.loads`` that makes equal string values one object.

    The decoder shares equal keys but makes every value anew: Microsoft Graph's document
    holds 930,000 strings, 106,000 of them different (``"string"`` 65,000 times), so sharing
    them takes a third off the parsed document for a tenth more parsing time.
    """
    seen: dict[str, str] = {}
    share = seen.setdefault

    def hook(node: dict[str, Any]) -> dict[str, Any]:
        for key, value in node.items():
            if type(value) is str:  # exactly str: the fastest test here
                node[key] = share(value, value)
            elif type(value) is list:
                for index, item in enumerate(value):
                    if type(item) is str:
                        value[index] = share(item, item)
        return node

    return hook


class LineIndex:
    def line_of(self, tokens: list[str]) -> int:
        """1-based line of the node at ``tokens`` (its key, when it has one)."""
        raise NotImplementedError

    def lines_of(self, paths: list[list[str]]) -> list[int]:
        """``line_of`` for many pointers at once."""
        return [self.line_of(tokens) for tokens in paths]


class YamlLines(LineIndex):
    """Lines from the YAML node graph, with a key index built per mapping when first used."""

    def __init__(self, text: str) -> None:
        self.root = yaml.compose(text, Loader=Loader)
        self._maps: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def _members(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        members = self._maps.get(id(node))
        if members is None:
            members = {}
            merged: list[yaml.Node] = []
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    merged.append(value_node)
                elif isinstance(key_node, yaml.ScalarNode):
                    members[key_node.value] = (key_node, value_node)
            for source in merged:
                nodes = source.value if isinstance(source, yaml.SequenceNode) else [source]
                for other in nodes:
                    if isinstance(other, yaml.MappingNode):
                        for key, pair in self._members(other).items():
                            members.setdefault(key, pair)
            self._maps[id(node)] = members
        return members

    def line_of(self, tokens: list[str]) -> int:
        node: yaml.Node | None = self.root
        if node is None:
            return 1
        line = node.start_mark.line
        for token in tokens:
            if isinstance(node, yaml.MappingNode):
                pair = self._members(node).get(token)
                if pair is None:
                    break
                line, node = pair[0].start_mark.line, pair[1]
            elif isinstance(node, yaml.SequenceNode) and token.isdigit():
                if int(token) >= len(node.value):
                    break
                node = node.value[int(token)]
                line = node.start_mark.line
            else:
                break
        return line + 1


_Trie = dict[str, "_Trie"]


def _as_latin1(token: str) -> str:
    """``token`` as it reads in UTF-8 text decoded as Latin-1."""
    return token if token.isascii() else token.encode("utf-8", "replace").decode("latin-1")


def _trie(paths: Iterable[list[str]]) -> _Trie:
    root: _Trie = {}
    for tokens in paths:
        node = root
        for token in tokens:
            node = node.setdefault(token, {})
    return root


class JsonLines(LineIndex):
    """Lines from the JSON text, scanned along the pointers asked for.

    A container on the way to a wanted node is scanned member by member and its wanted
    members are descended into; every other value is skipped with the C decoder. So each
    byte is decoded at most once, however many pointers are asked for, and what was scanned
    (member offsets, where each value ends) is kept for the next question.
    """

    def __init__(self, text: str, *, utf8_as_latin1: bool = False) -> None:
        self.text = text
        # the text is UTF-8 read as Latin-1: keys are matched in that spelling too
        self._utf8_as_latin1 = utf8_as_latin1
        # Only the end of a skipped value matters: len() as the object hook spares building
        # dicts, which nearly halves the cost of skipping.
        self._decoder = json.JSONDecoder(object_pairs_hook=len)
        self._children: dict[int, dict[str, tuple[int, int]]] = {}
        self._ends: dict[int, int] = {}

    @classmethod
    def of_file(cls, path: Path) -> JsonLines:
        """The index of the JSON file at ``path``, read one byte a character (Latin-1).

        JSON's structure is ASCII and UTF-8 never uses ASCII bytes inside a multi-byte
        character, so offsets, newlines and the scan are the same as on the decoded text,
        at half the memory when the text is not all ASCII.
        """
        text = path.read_text(encoding="latin-1")
        return cls(text[3:] if text.startswith("\xef\xbb\xbf") else text, utf8_as_latin1=True)

    def _skip_ws(self, pos: int) -> int:
        if self.text[pos : pos + 1] not in _WS_CHARS:  # most calls: no whitespace here
            return pos
        match = _JSON_WS.match(self.text, pos)
        return match.end() if match else pos

    def _end_of(self, pos: int, wanted: _Trie | None) -> int:
        """Where the value at ``pos`` ends, scanning into it when members of it are wanted."""
        if wanted and self.text.startswith(("{", "["), pos):
            return self._scan(pos, wanted)
        end = self._ends.get(pos)
        if end is None:
            end = self._decoder.raw_decode(self.text, pos)[1]
        return end

    def _scan(self, pos: int, wanted: _Trie) -> int:
        """Index the members of the container at ``pos`` (key -> key and value offsets)."""
        members = self._children.get(pos)
        if members is not None:
            for token, below in wanted.items():
                if below and token in members:
                    self._end_of(members[token][1], below)
            return self._ends[pos]
        text, skip = self.text, self._skip_ws
        members = {}
        i = skip(pos + 1)
        if text.startswith("{", pos):
            while text.startswith('"', i):
                key, after = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
                value_at = skip(skip(after) + 1)  # past the ':'
                members.setdefault(key, (i, value_at))
                i = skip(self._end_of(value_at, wanted.get(key)))
                i = skip(i + 1) if text.startswith(",", i) else i
        else:
            index = 0
            while i < len(text) and not text.startswith("]", i):
                members[str(index)] = (i, i)
                i = skip(self._end_of(i, wanted.get(str(index))))
                i = skip(i + 1) if text.startswith(",", i) else i
                index += 1
        self._children[pos] = members
        self._ends[pos] = i + 1
        return i + 1

    def lines_of(self, paths: list[list[str]]) -> list[int]:
        if self._utf8_as_latin1:
            paths = [[_as_latin1(token) for token in tokens] for tokens in paths]
        root = self._skip_ws(0)
        with contextlib.suppress(ValueError, IndexError):  # not JSON after all: use what we have
            self._end_of(root, _trie(paths))
        anchors = []
        for tokens in paths:
            pos = anchor = root
            for token in tokens:
                members = self._children.get(pos)
                if members is None or token not in members:
                    break
                anchor, pos = members[token]
            anchors.append(anchor)
        # Count newlines between the sorted offsets: one pass over the text, in C.
        line_at: dict[int, int] = {}
        line, previous = 1, 0
        for anchor in sorted(set(anchors)):
            line += self.text.count("\n", previous, anchor)
            previous = anchor
            line_at[anchor] = line
        return [line_at[anchor] for anchor in anchors]

    def line_of(self, tokens: list[str]) -> int:
        return self.lines_of([tokens])[0]
