"""A hostile HTTP target: one process, its misbehaviour chosen by the first path segment.

``python -m tests.fault_server`` listens on a free port of 127.0.0.1 and prints it. A gate
whose base URL is ``http://127.0.0.1:PORT/<fault>`` sees that fault on every request:

- ``drip``: a valid answer, sent one byte every ``DRIP_INTERVAL`` seconds (so no single read
  ever waits long, and the whole answer takes minutes);
- ``huge``: 200 with a JSON body of ``HUGE_BYTES``, chunked, with no Content-Length;
- ``huge-declared``: the same with its Content-Length;
- ``loop``: 302 to the URL asked for, forever;
- ``deep``: 200 with a JSON body nested ``DEEP_LEVELS`` levels deep;
- ``reset``: reads the request, then resets the connection (RST);
- ``badstatus``: answers a line that is not an HTTP status line;
- ``short``: declares a Content-Length of 1000 and closes after 10 bytes;
- ``ok``: a plain 200 ``{"status": "ok"}``, for the tests' own sanity checks.

A TLS handshake gets a plain-text answer, so ``https://`` to the server is a TLS error.

Anything else is a 404. The server is bytes on a socket (asyncio streams), not a framework:
frameworks refuse to misbehave this way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "DEEP_LEVELS",
    "DRIP_INTERVAL",
    "FAULTS",
    "HUGE_BYTES",
    "running",
    "serve",
    "tls_drip",
]

DRIP_INTERVAL = 0.2
HUGE_BYTES = 50 * 1024 * 1024
DEEP_LEVELS = 100_000
FAULTS = ("drip", "huge", "huge-declared", "loop", "deep", "reset", "badstatus", "short", "ok")
_CHUNK = 64 * 1024


async def _read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str | None:
    """The request's target (path and query), after reading its headers and body; None at
    the end of the connection."""
    try:
        first = await reader.readexactly(1)
        if first == b"\x16":
            # a TLS ClientHello: answer in plain text, which the client's TLS cannot read
            writer.write(_head("400 Bad Request", {"Content-Length": "0"}))
            await writer.drain()
            return None
        head = first + await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            length = int(value.strip())
    if length:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readexactly(length)
    return parts[1] if len(parts) > 1 else "/"


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _json_answer(body: bytes) -> bytes:
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    return _head("200 OK", headers) + body


async def _huge(writer: asyncio.StreamWriter, *, declared: bool) -> None:
    headers = {"Content-Type": "application/json"}
    # a JSON array of strings, so a client that buffers it all holds every byte
    item = b'"' + b"x" * (_CHUNK - 3) + b'",'
    count = HUGE_BYTES // len(item)
    body_size = 1 + count * len(item) + len(b'"end"]')
    if declared:
        headers["Content-Length"] = str(body_size)
    else:
        headers["Transfer-Encoding"] = "chunked"
    writer.write(_head("200 OK", headers))

    def frame(data: bytes) -> bytes:
        return data if declared else b"%x\r\n%s\r\n" % (len(data), data)

    writer.write(frame(b"["))
    for _ in range(count):
        writer.write(frame(item))
        await writer.drain()
    writer.write(frame(b'"end"]'))
    if not declared:
        writer.write(b"0\r\n\r\n")
    await writer.drain()


async def _drip(writer: asyncio.StreamWriter) -> None:
    answer = _json_answer(b'{"status": "ok", "padding": "' + b"." * 200 + b'"}')
    for index in range(len(answer)):
        writer.write(answer[index : index + 1])
        await writer.drain()
        await asyncio.sleep(DRIP_INTERVAL)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _answer(fault: str, target: str, writer: asyncio.StreamWriter) -> bool:
    """Answer one request; False when the connection must not be used again."""
    if fault == "drip":
        await _drip(writer)
    elif fault in ("huge", "huge-declared"):
        await _huge(writer, declared=fault == "huge-declared")
    elif fault == "loop":
        headers = {"Location": target, "Content-Length": "0"}
        writer.write(_head("302 Found", headers))
    elif fault == "deep":
        writer.write(_json_answer(b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS))
    elif fault == "reset":
        _reset(writer)
        return False
    elif fault == "badstatus":
        writer.write(b"HTTP/1.1 OK-ish, more or less\r\nX: y\r\n\r\n")
        await writer.drain()
        return False
    elif fault == "short":
        headers = {"Content-Type": "application/json", "Content-Length": "1000"}
        writer.write(_head("200 OK", headers) + b'{"status":')
        await writer.drain()
        return False
    elif fault == "ok":
        writer.write(_json_answer(json.dumps({"status": "ok"}).encode()))
    else:
        writer.write(_head("404 Not Found", {"Content-Length": "0"}))
    await writer.drain()
    return True


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            target = await _read_request(reader, writer)
            if target is None:
                break
            fault = target.lstrip("/").split("/", 1)[0].split("?", 1)[0]
            if not await _answer(fault, target, writer):
                break
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(port: int) -> None:
    """Serve until killed, printing the port once listening."""
    server = await asyncio.start_server(_handle, "127.0.0.1", port)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def running() -> Iterator[str]:
    """Run the server in its own process (so a busy test process cannot slow its drip);
    yield its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fault_server"],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def tls_drip() -> Iterator[int]:
    """A server (in a thread) whose TLS handshake never ends: it announces a 16 KiB record,
    then sends a byte of it every 100 ms; yields its port on 127.0.0.1."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(4096)  # the ClientHello
                connection.sendall(b"\x16\x03\x03\x40\x00")
                while not stop.wait(0.1):
                    try:
                        connection.sendall(b"\x02")
                    except OSError:
                        break

    threading.Thread(target=drip, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    sys.exit(main())
