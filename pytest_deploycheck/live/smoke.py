"""Smoke flows: request sequences declared in the config, with captures and expectations.

A flow is a list of steps. Each step sends one request, checks the status, body fields,
headers and latency it expects, then captures values from its JSON body with a small
JSONPath subset (``$.id``, ``$.items[0].id``, ``$['a b']``). ``{name}`` placeholders in a
request (path, params, headers, JSON body) and in expected body fields and headers take the
values captured by earlier steps. The first step that fails ends the flow: the steps after
it depend on what it should have produced.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from pytest_deploycheck.core.bounds import BodyTooDeep, describe_error, load_json
from pytest_deploycheck.core.errors import ConfigError
from pytest_deploycheck.core.findings import Finding, failures
from pytest_deploycheck.core.redaction import Redactor
from pytest_deploycheck.core.units import format_duration, parse_duration

__all__ = [
    "FlowResult",
    "StepResult",
    "check_flows",
    "evaluate_path",
    "match_body",
    "parse_path",
    "run_flow",
    "substitute",
]

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE_PLACEHOLDER = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_PATH_TOKEN = re.compile(
    r"""\.(?P<name>[A-Za-z_$][A-Za-z0-9_$-]*)   # .name
      | \[(?P<index>-?\d+)\]                       # [0], [-1]
      | \['(?P<quoted>(?:[^'\\]|\\.)*)'\]           # ['a b']
      | \["(?P<dquoted>(?:[^"\\]|\\.)*)"\]           # ["a b"]
    """,
    re.VERBOSE,
)
_BODY_PREVIEW = 300
_NO_SECRETS = Redactor(())
_MISSING = object()


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step as it ran: the request, the answer, its latency and what did not match."""

    name: str
    method: str
    url: str
    status: int | None
    latency_ms: float | None
    findings: list[Finding]
    captured: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not failures(self.findings)


@dataclass(frozen=True, slots=True)
class FlowResult:
    """A flow as it ran: its steps (up to the first failing one) and every finding."""

    name: str
    steps: list[StepResult]
    findings: list[Finding]
    skipped_steps: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not failures(self.findings)

    @property
    def latencies_ms(self) -> list[float]:
        """The latency of every step that got an answer, in order."""
        return [step.latency_ms for step in self.steps if step.latency_ms is not None]


# -- JSONPath subset -------------------------------------------------------------------------


def parse_path(expression: str) -> list[str | int]:
    """``$.items[0]['a b']`` -> ``["items", 0, "a b"]``; raises ValueError on other syntax."""
    if not expression.startswith("$"):
        raise ValueError(f"a JSONPath starts with '$', such as '$.id' (got {expression!r})")
    tokens: list[str | int] = []
    position = 1
    while position < len(expression):
        match = _PATH_TOKEN.match(expression, position)
        if match is None:
            raise ValueError(
                f"unsupported JSONPath {expression!r} at {expression[position:]!r}; "
                "use .name, [index] or ['name'] steps, such as '$.items[0].id'"
            )
        if match.group("index") is not None:
            tokens.append(int(match.group("index")))
        else:
            raw = next(g for g in match.group("name", "quoted", "dquoted") if g is not None)
            tokens.append(re.sub(r"\\(.)", r"\1", raw))
        position = match.end()
    return tokens


def evaluate_path(document: Any, expression: str) -> Any:
    """The value at ``expression`` in ``document``; KeyError when it is not there."""
    node = document
    for token in parse_path(expression):
        in_list = (
            isinstance(token, int) and isinstance(node, list) and -len(node) <= token < len(node)
        )
        in_mapping = isinstance(token, str) and isinstance(node, Mapping) and token in node
        if not (in_list or in_mapping):
            raise KeyError(expression)
        node = node[token]
    return node


# -- placeholders ------------------------------------------------------------------------------


def substitute(value: Any, variables: Mapping[str, Any], *, quote_values: bool = False) -> Any:
    """``value`` with ``{name}`` replaced by captured values, recursively.

    A string that is exactly one placeholder takes the captured value with its JSON type;
    ``{{`` and ``}}`` stand for literal braces. Raises KeyError naming an unknown variable.
    """
    if isinstance(value, str):
        whole = _WHOLE_PLACEHOLDER.match(value)
        if whole and not quote_values:
            return variables[whole.group(1)]

        def replace(match: re.Match[str]) -> str:
            if match.group(0) in ("{{", "}}"):
                return match.group(0)[0]
            captured = _text(variables[match.group(1)])
            return quote(captured, safe="") if quote_values else captured

        return _PLACEHOLDER.sub(replace, value)
    if isinstance(value, Mapping):
        return {key: substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    return value


def _placeholders(value: Any) -> set[str]:
    if isinstance(value, str):
        return {m.group(1) for m in _PLACEHOLDER.finditer(value) if m.group(1)}
    if isinstance(value, Mapping):
        return set().union(*(_placeholders(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_placeholders(item) for item in value))
    return set()


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


# -- expectations ------------------------------------------------------------------------------


def match_body(
    expected: Mapping[str, Any],
    actual: Any,
    where: str = "$",
    redactor: Redactor | None = None,
) -> list[str]:
    """What in ``actual`` differs from ``expected``, one line per mismatch.

    Keys are field names or JSONPath expressions (``$.a.b``); a nested mapping matches as a
    subset; a string starting with ``~`` is a regular expression searched in the value (``~~``
    stands for a literal ``~``); anything else must be equal, with the same JSON type.
    Values quoted in a problem are masked by ``redactor`` before they are shortened.
    """
    masker = redactor or _NO_SECRETS
    problems: list[str] = []
    for key, want in expected.items():
        if key.startswith("$"):
            label = key
            try:
                got = evaluate_path(actual, key) if where == "$" else _MISSING
            except KeyError:
                got = _MISSING
        else:
            label = f"{where}.{key}"
            got = actual.get(key, _MISSING) if isinstance(actual, Mapping) else _MISSING
        if got is _MISSING:
            problems.append(f"{label} is missing (expected {_show(want, masker)})")
        elif isinstance(want, Mapping) and isinstance(got, Mapping):
            problems.extend(match_body(want, got, label, masker))
        elif isinstance(want, str) and want.startswith("~") and not want.startswith("~~"):
            if re.search(want[1:], _text(got)) is None:
                shown = _show(got, masker)
                problems.append(f"{label} is {shown}, which does not match /{want[1:]}/")
        elif not _equal(_unescape(want), got):
            shown, wanted = _show(got, masker), _show(_unescape(want), masker)
            problems.append(f"{label} is {shown}, expected {wanted}")
    return problems


def _unescape(value: Any) -> Any:
    return value[1:] if isinstance(value, str) and value.startswith("~~") else value


def _equal(want: Any, got: Any) -> bool:
    # JSON keeps true and 1 apart even though Python does not.
    if isinstance(want, bool) or isinstance(got, bool):
        return type(want) is type(got) and want == got
    return bool(want == got)


def _show(value: Any, redactor: Redactor) -> str:
    # masked before the cut: a cut through a secret would leave its start unrecognisable
    return redactor.preview(json.dumps(value, ensure_ascii=False), 80)


def _statuses(expect: Mapping[str, Any]) -> list[int] | None:
    status = expect.get("status")
    if status is None:
        return None
    return [int(s) for s in status] if isinstance(status, list) else [int(status)]


# -- validation --------------------------------------------------------------------------------


def check_flows(section: Mapping[str, Any]) -> None:
    """Raise ConfigError listing what the JSON Schema cannot catch in ``smoke.flows``.

    Duplicate flow names (each flow is one pytest item), placeholders no earlier step
    captures, JSONPath expressions outside the supported subset and invalid regexes.
    """
    problems: list[str] = []
    seen: set[str] = set()
    for index, flow in enumerate(section.get("flows") or ()):
        name = str(flow.get("name", f"#{index + 1}"))
        if name in seen:
            problems.append(f"smoke.flows[{index}].name: {name!r} is used by two flows")
        seen.add(name)
        problems.extend(_flow_problems(flow, f"smoke.flows[{index}]"))
    if problems:
        raise ConfigError(problems)


def _flow_problems(flow: Mapping[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    known: set[str] = set()
    for index, step in enumerate(flow.get("steps") or ()):
        here = f"{where}.steps[{index}]"
        request = step.get("request") or {}
        for key in ("path", "params", "headers", "json"):
            for name in sorted(_placeholders(request.get(key)) - known):
                problems.append(
                    f"{here}.request.{key}: {{{name}}} is not captured by an earlier step; "
                    f'add "capture": {{"{name}": "$.{name}"}} to one, or write {{{{ '
                    "for a literal brace"
                )
        expect = step.get("expect") or {}
        for key in ("json", "headers"):
            for name in sorted(_placeholders(expect.get(key)) - known):
                problems.append(
                    f"{here}.expect.{key}: {{{name}}} is not captured by an earlier step"
                )
        for key, value in _regexes(expect):
            try:
                re.compile(value)
            except re.error as exc:
                problems.append(f"{here}.expect.{key}: invalid regular expression: {exc}")
        for key in (k for k in (expect.get("json") or {}) if k.startswith("$")):
            try:
                parse_path(key)
            except ValueError as exc:
                problems.append(f"{here}.expect.json: {exc}")
        for name, expression in (step.get("capture") or {}).items():
            try:
                parse_path(str(expression))
            except ValueError as exc:
                problems.append(f"{here}.capture.{name}: {exc}")
            known.add(name)
    return problems


def _regexes(expect: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for name, pattern in (expect.get("headers") or {}).items():
        yield f"headers.{name}", str(pattern)

    def walk(node: Any, path: str) -> Iterable[tuple[str, str]]:
        if isinstance(node, Mapping):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}")
        elif isinstance(node, str) and node.startswith("~") and not node.startswith("~~"):
            yield path, node[1:]

    yield from walk(expect.get("json") or {}, "json")


# -- running -----------------------------------------------------------------------------------


def run_flow(
    client: httpx.Client,
    flow: Mapping[str, Any],
    *,
    redactor: Redactor | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> FlowResult:
    """Run the steps of ``flow`` in order with ``client``; stop at the first failing one.

    ``client`` carries the base URL, the auth headers and the per-request timeout. Findings
    name the flow, the step and the mismatch; secret header values never appear in them.
    """
    name = str(flow.get("name", "flow"))
    problems = _flow_problems(flow, f"smoke flow {name!r}")
    if problems:
        raise ConfigError(problems)
    redactor = redactor or _redactor_for(client, flow)
    variables: dict[str, Any] = {}
    steps: list[StepResult] = []
    all_findings: list[Finding] = []
    raw_steps = list(flow.get("steps") or ())
    for index, step in enumerate(raw_steps):
        result = _run_step(client, name, index, step, variables, redactor, clock)
        steps.append(result)
        all_findings.extend(result.findings)
        variables.update(result.captured)
        if not result.passed:
            skipped = [_step_name(i, s) for i, s in enumerate(raw_steps) if i > index]
            return FlowResult(name, steps, all_findings, skipped)
    return FlowResult(name, steps, all_findings)


def _redactor_for(client: httpx.Client, flow: Mapping[str, Any]) -> Redactor:
    headers = list(client.headers.items())
    for step in flow.get("steps") or ():
        step_headers = (step.get("request") or {}).get("headers") or {}
        headers.extend((str(key), str(value)) for key, value in step_headers.items())
    return Redactor.for_headers(headers)


def _step_name(index: int, step: Mapping[str, Any]) -> str:
    if step.get("name"):
        return str(step["name"])
    request = step.get("request") or {}
    return f"step {index + 1} ({str(request.get('method', 'GET')).upper()} {request.get('path')})"


def _run_step(
    client: httpx.Client,
    flow: str,
    index: int,
    step: Mapping[str, Any],
    variables: Mapping[str, Any],
    redactor: Redactor,
    clock: Callable[[], float],
) -> StepResult:
    label = _step_name(index, step)
    request = step.get("request") or {}
    expect = substitute(step.get("expect") or {}, variables)
    method = str(request.get("method", "GET")).upper()
    path = substitute(str(request["path"]), variables, quote_values=True)
    kwargs: dict[str, Any] = {}
    for key in ("params", "headers"):
        if request.get(key):
            kwargs[key] = {k: _text(v) for k, v in substitute(request[key], variables).items()}
    if "json" in request:
        kwargs["json"] = substitute(request["json"], variables)
    where = f"flow {flow!r}, step {label!r} ({method} {path})"

    def finding(rule: str, message: str) -> Finding:
        return Finding(f"smoke-{rule}", redactor.redact(f"{where}: {message}"), location=flow)

    url = path
    started = clock()
    try:
        built = client.build_request(method, path, **kwargs)
        url = redactor.redact_url(str(built.url))
        response = client.send(built)
    except httpx.TimeoutException:
        timeout = client.timeout.read
        limit = f" within {format_duration(timeout)}" if timeout is not None else ""
        message = f"no complete answer{limit} (timeout)"
        return StepResult(label, method, url, None, None, [finding("timeout", message)])
    except httpx.HTTPError as exc:
        message = f"request failed: {describe_error(exc)}"
        return StepResult(label, method, url, None, None, [finding("error", message)])
    latency_ms = (clock() - started) * 1000
    mismatches = _mismatches(expect, response, latency_ms, redactor)
    findings = [finding(rule, text) for rule, text in mismatches]
    captured: dict[str, Any] = {}
    if not findings:
        captured, problems = _capture(step.get("capture") or {}, response, redactor)
        findings.extend(finding("capture", text) for text in problems)
    return StepResult(label, method, url, response.status_code, latency_ms, findings, captured)


def _mismatches(
    expect: Mapping[str, Any], response: httpx.Response, latency_ms: float, redactor: Redactor
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    wanted = _statuses(expect)
    status = response.status_code
    unexpected = status not in wanted if wanted is not None else not 200 <= status < 300
    if unexpected:
        expected = "a 2xx status" if wanted is None else " or ".join(map(str, wanted))
        if 300 <= status < 400:
            # redirects are followed only up to target.max_redirects: a 3xx is the answer
            location = response.headers.get("location", "nowhere")
            return [
                (
                    "status",
                    f"expected {expected}, got {status}, a redirect to {location} (redirects "
                    "are followed only up to target.max_redirects, none by default)",
                )
            ]
        # The body of an unexpected status (an error page) would only add noise.
        return [("status", f"expected {expected}, got {status}{_preview(response, redactor)}")]
    if expect.get("json") is not None:
        try:
            body = load_json(response.content)
        except BodyTooDeep as exc:
            found.append(("body", str(exc)))
        except ValueError:
            found.append(("body", f"expected a JSON body, got{_preview(response, redactor)}"))
        else:
            problems = match_body(expect["json"], body, redactor=redactor)
            found.extend(("body", problem) for problem in problems)
    for name, pattern in (expect.get("headers") or {}).items():
        value = response.headers.get(name)
        if value is None:
            found.append(("header", f"header {name!r} is missing"))
        elif re.search(str(pattern), value) is None:
            shown = redactor.preview(repr(value), _BODY_PREVIEW)
            found.append(
                ("header", f"header {name!r} is {shown}, which does not match /{pattern}/")
            )
    if expect.get("max_latency") is not None:
        limit = parse_duration(expect["max_latency"])
        if latency_ms > limit * 1000:
            found.append(
                (
                    "latency",
                    f"took {latency_ms:.0f}ms, more than max_latency {format_duration(limit)}",
                )
            )
    return found


def _capture(
    captures: Mapping[str, str], response: httpx.Response, redactor: Redactor
) -> tuple[dict[str, Any], list[str]]:
    if not captures:
        return {}, []
    try:
        body = load_json(response.content)
    except BodyTooDeep as exc:
        return {}, [f"cannot capture {', '.join(captures)}: {exc}"]
    except ValueError:
        preview = _preview(response, redactor)
        return {}, [f"cannot capture {', '.join(captures)}: the body is not JSON{preview}"]
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, expression in captures.items():
        try:
            values[name] = evaluate_path(body, expression)
        except KeyError:
            preview = _preview(response, redactor)
            problems.append(f"cannot capture {name!r}: {expression} is not in the body{preview}")
    return values, problems


def _preview(response: httpx.Response, redactor: Redactor) -> str:
    text = response.text
    if not text:
        return ""
    # masked before the cut: a cut through a secret would leave its start unrecognisable
    return f"; body: {redactor.preview(text, _BODY_PREVIEW)}"
