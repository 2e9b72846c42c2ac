"""A headless Chromium page for tests that open a report the way a reader would.

``browser_context`` is a module-scoped Playwright browser context on Debian's ``chromium``
(``.ci/chromium.sh`` installs it when missing; Playwright's own browser download is never
used). The browser runs offline, in a fresh profile. The tests using it skip, with the
reason, only where no browser can be installed. Module-scoped, not session-scoped: while
Playwright's sync API runs, its event loop counts as running in the main thread, and the
``asyncio.run`` of later tests in the same process would fail.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMIUM_FLAGS", "browser_context"]

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "chromium.sh"
# No network on this machine, and nothing a test needs from one: every background service
# Chromium would reach out to is off.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    """A Playwright browser context of headless Chromium with a fresh user-data-dir."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    found = subprocess.run(
        ["bash", str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=900,  # a fresh machine apt-get installs chromium first
        check=False,
    )
    if found.returncode != 0:
        pytest.skip(f"no browser could be installed: {found.stderr.strip()[-500:]}")
    executable = found.stdout.strip().splitlines()[-1]
    with tempfile.TemporaryDirectory(prefix="deploycheck-chromium-") as profile:
        playwright = sync_playwright().start()
        try:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                headless=True,
                args=CHROMIUM_FLAGS,
                offline=True,
            )
        except Error as error:
            playwright.stop()
            pytest.fail(f"Chromium ({executable}) did not start: {error}")
        try:
            yield context
        finally:
            context.close()
            playwright.stop()
