from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from pytest_deploycheck.core.config import substitute
from pytest_deploycheck.core.errors import TargetError
from pytest_deploycheck.live.target import LocalService

SERVER = textwrap.dedent(
    """
    import http.server, sys
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
        def log_message(self, *a): pass
    print("listening", flush=True)
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """
)


def test_substitute_replaces_placeholders() -> None:
    argv = substitute(
        ["{python}", "-m", "app", "--port={port}", "{host}"],
        {"python": "py", "port": "1", "host": "h"},
    )
    assert argv == ["py", "-m", "app", "--port=1", "h"]


def test_starts_waits_and_stops_a_real_process(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    service = LocalService(["{python}", str(script), "{port}"], cwd=tmp_path, ready_path="/")
    with service:
        assert httpx.get(service.base_url + "/").text == "ok"
        pid_alive = service._process is not None and service._process.poll() is None
        assert pid_alive
        assert "listening" in service.output()
    with pytest.raises(httpx.ConnectError):
        httpx.get(service.base_url + "/", timeout=1)


def test_command_that_exits_at_once_shows_its_output(tmp_path: Path) -> None:
    service = LocalService(
        [sys.executable, "-c", "import sys; print('no database configured'); sys.exit(3)"],
        cwd=tmp_path,
    )
    with pytest.raises(TargetError) as info:
        service.start()
    message = str(info.value)
    assert "exited with code 3" in message
    assert "no database configured" in message


def test_never_ready_is_bounded_with_an_injected_clock(tmp_path: Path) -> None:
    ticks = iter(range(1000))
    service = LocalService(
        [sys.executable, "-c", "import time; print('booting'); time.sleep(60)"],
        cwd=tmp_path,
        ready_timeout=5,
    )
    with pytest.raises(TargetError) as info:
        service.start(clock=lambda: float(next(ticks)), sleep=lambda _: None)
    assert "did not answer" in str(info.value)
    assert "5s" in str(info.value)
    assert service._process is None


def test_missing_executable_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="cannot start the local service 'no-such-binary-x'"):
        LocalService(["no-such-binary-x"], cwd=tmp_path).start()
