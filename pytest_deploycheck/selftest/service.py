"""The stock-keeping service the live families are checked against, and its HTTP server.

It serves ``service.openapi.yaml`` from a thread on 127.0.0.1. Its first path segment picks
a mode: ``/good/...`` behaves, and each other mode breaks one thing (a wrong health body, a
500, a body that breaks its schema, invalid input accepted, a created item that cannot be
read, a slow answer, a served spec that drifted), so one server covers every family and
every case is independent of the others.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .model import _TIMEOUT

_MODES = (
    "good",
    "unhealthy",  # /health answers 200 with status "degraded"
    "server-error",  # GET /items/{item_id} answers 500
    "bad-schema",  # GET /items answers items whose quantity is a string
    "accepts-invalid",  # POST /items creates an item from any body
    "forgetful",  # POST /items answers 201 but keeps nothing
    "slow",  # GET /items takes _SLOW_SECONDS
    "drifted",  # /openapi.json serves a spec whose Item.quantity is a string
    "restocks-anything",  # POST /restocks takes any body that names an item it has
)
_SLOW_SECONDS = 0.5
_ASCII_INTEGER = re.compile(r"-?[0-9]+")
_NEW_ITEM_KEYS = frozenset({"name", "quantity", "note"})

Answer = tuple[int, Any]


def _problem(status: int, title: str, detail: str | None = None) -> Answer:
    body = {"title": title} if detail is None else {"title": title, "detail": detail}
    return status, body


class _StockService:
    """The fixture service's behaviour, per mode, apart from HTTP: (method, path) -> answer."""

    def __init__(self, document: Mapping[str, Any], sleep: Callable[[float], None]) -> None:
        self.document = document
        self.sleep = sleep
        self.lock = threading.Lock()
        # every mode starts with one item, so reads and listings have something to show
        self.items: dict[str, dict[int, dict[str, Any]]] = {
            mode: {1: {"id": 1, "name": "bolt", "quantity": 3, "note": None}} for mode in _MODES
        }
        self.next_id = 2

    def answer(
        self, method: str, target: str, content_type: str | None, body: bytes | None
    ) -> Answer:
        """The status and JSON body for ``method`` on ``target`` (``/mode/path?query``)."""
        parts = urlsplit(target)
        _, _, rest = parts.path.partition("/")
        mode, _, path = rest.partition("/")
        path = "/" + path
        if mode not in _MODES:
            return _problem(404, "Not Found", f"no mode {mode!r}; modes: {', '.join(_MODES)}")
        if path == "/openapi.json":
            return self._only(method, "GET") or (200, self._served_spec(mode))
        if path == "/health":
            return self._only(method, "GET") or (
                200,
                {"status": "degraded" if mode == "unhealthy" else "ok"},
            )
        if path == "/items":
            if method == "GET":
                return self._list(mode, parts.query)
            if method == "POST":
                return self._create(mode, content_type, body)
            return _problem(405, "Method Not Allowed")
        match = re.fullmatch(r"/items/([^/]+)", path)
        if match and method == "DELETE":
            return self._delete(mode, unquote(match.group(1)))
        if match:
            return self._only(method, "GET") or self._read(mode, unquote(match.group(1)))
        if path == "/restocks":
            return self._only(method, "POST") or self._restock(mode, content_type, body)
        return _problem(404, "Not Found", f"no route {path}")

    @staticmethod
    def _only(method: str, allowed: str) -> Answer | None:
        return None if method == allowed else _problem(405, "Method Not Allowed")

    def _served_spec(self, mode: str) -> Any:
        if mode != "drifted":
            return self.document
        drifted = copy.deepcopy(dict(self.document))
        drifted["components"]["schemas"]["Item"]["properties"]["quantity"]["type"] = "string"
        return drifted

    def _list(self, mode: str, query: str) -> Answer:
        values = parse_qs(query, keep_blank_values=True).get("limit", ["20"])
        limit = _integer(values[0]) if len(values) == 1 else None
        if limit is None or not 1 <= limit <= 100:
            return _problem(400, "Bad Request", "limit must be one integer from 1 to 100")
        if mode == "slow":
            self.sleep(_SLOW_SECONDS)
        if mode == "bad-schema":
            return 200, [{"id": 1, "name": "bolt", "quantity": "three", "note": None}]
        with self.lock:
            listed = list(self.items[mode].values())[:limit]
        return 200, listed

    def _create(self, mode: str, content_type: str | None, body: bytes | None) -> Answer:
        new = _new_item(content_type, body)
        if isinstance(new, str):
            if mode != "accepts-invalid":
                return _problem(400, "Bad Request", new)
            new = {"name": "accepted", "quantity": 0}
        with self.lock:
            item = {"id": self.next_id, "note": None, **new}
            self.next_id += 1
            if mode != "forgetful":
                self.items[mode][item["id"]] = item
        return 201, item

    def _read(self, mode: str, raw_id: str) -> Answer:
        item_id = _integer(raw_id)
        if item_id is None or item_id < 1:
            return _problem(400, "Bad Request", "item_id must be an integer from 1")
        if mode == "server-error":
            return _problem(500, "Internal Server Error")
        with self.lock:
            item = self.items[mode].get(item_id)
        if item is None:
            return _problem(404, "Not Found", f"no item {item_id}")
        return 200, item

    def _delete(self, mode: str, raw_id: str) -> Answer:
        item_id = _integer(raw_id)
        if item_id is None or item_id < 1:
            return _problem(400, "Bad Request", "item_id must be an integer from 1")
        with self.lock:
            if self.items[mode].pop(item_id, None) is None:
                return _problem(404, "Not Found", f"no item {item_id}")
        return 204, None

    def _restock(self, mode: str, content_type: str | None, body: bytes | None) -> Answer:
        """Like many services, it looks the item up first; only then is the rest of the body
        checked (in ``restocks-anything`` mode, not at all)."""
        try:
            data = json.loads(body or b"")
        except ValueError:
            data = None
        fields = data if isinstance(data, dict) else {}
        item_id = fields.get("item_id")
        if isinstance(item_id, bool) or not isinstance(item_id, int):
            return _problem(400, "Bad Request", "item_id must be an integer from 1")
        with self.lock:
            item = self.items[mode].get(item_id)
        if item is None:
            return _problem(404, "Not Found", f"no item {item_id}")
        if mode == "restocks-anything":
            return 200, item
        json_body = (content_type or "").split(";")[0].strip().lower() == "application/json"
        quantity = fields.get("quantity")
        if (
            not json_body
            or set(fields) != {"item_id", "quantity"}
            or isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or quantity < 1
        ):
            return _problem(400, "Bad Request", "the body is item_id and a quantity from 1")
        with self.lock:
            item["quantity"] += quantity
        return 200, item


def _integer(text: str) -> int | None:
    # ASCII digits only: int() would also take "\u0661", which the spec does not allow
    return int(text) if _ASCII_INTEGER.fullmatch(text) else None


def _new_item(content_type: str | None, body: bytes | None) -> dict[str, Any] | str:
    """The NewItem in ``body``, or why it is not one."""
    if (content_type or "").split(";")[0].strip().lower() != "application/json":
        return "the body must be application/json"
    try:
        data = json.loads(body or b"")
    except ValueError:
        return "the body is not JSON"
    if not isinstance(data, dict):
        return "the body must be an object"
    if set(data) - _NEW_ITEM_KEYS or not {"name", "quantity"} <= set(data):
        return "the body holds name, quantity and an optional note, and nothing else"
    name, quantity, note = data["name"], data["quantity"], data.get("note")
    if not isinstance(name, str) or not 1 <= len(name) <= 50:
        return "name must be a string of 1 to 50 characters"
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        return "quantity must be an integer from 0"
    if note is not None and (not isinstance(note, str) or len(note) > 200):
        return "note must be null or a string of at most 200 characters"
    return {"name": name, "quantity": quantity, "note": note}


_HOST = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    """HTTP plumbing around :class:`_StockService`."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as the performance check expects
    timeout = _TIMEOUT  # an idle keep-alive connection must not hold its thread forever
    # headers and body go out in two writes; with Nagle on, each answer waits for a delayed ACK
    disable_nagle_algorithm = True

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Every method gets an answer (do_GET, do_TRACE, do_QUERY...): schemathesis tries
        # undeclared methods, and the stdlib's answer to those is a 501 server error.
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return lambda: self._dispatch(name[3:])
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing: the self-test's only output is its table."""

    def _dispatch(self, method: str) -> None:
        length = _integer(self.headers.get("content-length") or "0")
        if length is None or length < 0 or "transfer-encoding" in self.headers:
            # no client of the self-test sends chunks; refuse what cannot be framed
            self.close_connection = True
            self._send(*_problem(400, "Bad Request", "send a body with a Content-Length"))
            return
        body = self.rfile.read(length) if length else None
        try:
            status, payload = self.server.service.answer(
                "GET" if method == "HEAD" else method,
                self.path,
                self.headers.get("content-type"),
                body,
            )
        # a bug in the fixture service shows up as a 500 in a check's finding, not a traceback
        except Exception as exc:  # noqa: BLE001
            status, payload = _problem(500, "Internal Server Error", f"{type(exc).__name__}: {exc}")
        self._send(status, payload, with_body=method != "HEAD")

    def _send(self, status: int, payload: Any, *, with_body: bool = True) -> None:
        if status == 204:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if with_body:
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, service: _StockService) -> None:
        self.service = service
        super().__init__((_HOST, 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a client hanging up mid-answer is no news, and the table is the output."""


@contextlib.contextmanager
def _serve(service: _StockService) -> Iterator[str]:
    """Serve ``service`` from a thread on a free port of 127.0.0.1; yield its base URL."""
    server = _Server(service)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://{_HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
