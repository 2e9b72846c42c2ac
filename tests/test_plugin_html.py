"""pytest-html reports of a gate run, opened in a real (headless) browser: node ids that carry
markup, from an operation path or any test's parameters, are shown as text, never run."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from tests.browser import browser_context  # noqa: F401 (a fixture)
from tests.test_plugin import write_project as write_tiny_project

pytest_plugins = ["pytester"]

# Sets a mark on the page if the browser ever treats it as markup.
PAYLOAD = "<img src=x onerror=document.body.dataset.xss=1>"
HOSTILE_PATH = f"/hostile/{PAYLOAD}"

SPEC = textwrap.dedent(
    f"""
    openapi: 3.1.0
    info: {{title: Hostile, version: "1.0"}}
    paths:
      "{HOSTILE_PATH}":
        get:
          operationId: hostile
          responses:
            "200": {{description: Never served.}}
            "404": {{description: Not found.}}
    """
)
TEST_MODULE = textwrap.dedent(
    f"""
    import pytest

    @pytest.mark.parametrize("value", [1], ids=[{PAYLOAD!r}])
    def test_hostile_parameter(value):
        assert value
    """
)


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Any:
    """The headless Chromium of this module (a browser context)."""
    return request.getfixturevalue("browser_context")


def write_project(pytester: pytest.Pytester) -> None:
    """The plugin tests' tiny project, its spec given a hostile path, and a hostile test."""
    write_tiny_project(pytester)
    pytester.makefile(".yaml", openapi=SPEC)
    pytester.makepyfile(test_hostile=TEST_MODULE)


def open_report(context: Any, path: str) -> tuple[Any, list[str]]:
    """The report's page once its table is drawn, and the dialogs it opened."""
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(f"file://{path}")
    page.wait_for_selector("#results-table td.col-testId")
    # onerror fires once the broken image has failed to load; give it every chance to
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    return page, dialogs


def test_hostile_node_ids_show_as_text_in_the_pytest_html_report(
    pytester: pytest.Pytester, browser: Any
) -> None:
    write_project(pytester)
    result = pytester.runpytest_subprocess(
        "--html=report.html", "-m", "not phase1 and not phase3", "-p", "no:cacheprovider"
    )
    assert (pytester.path / "report.html").is_file(), result.stdout.str()

    page, dialogs = open_report(browser, str(pytester.path / "report.html"))
    try:
        test_ids = page.locator("#results-table td.col-testId").all_inner_texts()
        assert "test_hostile.py::test_hostile_parameter[" + PAYLOAD + "]" in test_ids
        hostile = f"deployment-config.json::phase2::availability[GET {HOSTILE_PATH}]"
        assert hostile in test_ids, test_ids
        assert page.locator("#results-table img[onerror]").count() == 0
        assert page.evaluate("document.body.dataset.xss") is None
        assert dialogs == []
    finally:
        page.close()


def test_the_browser_check_sees_a_payload_that_runs(
    pytester: pytest.Pytester, browser: Any
) -> None:
    # Without the plugin, pytest-html 4 inserts the id as markup: the check above would see it.
    pytester.makepyfile(test_hostile=TEST_MODULE)
    pytester.runpytest_subprocess("--html=report.html", "-p", "no:deploycheck")

    page, _ = open_report(browser, str(pytester.path / "report.html"))
    try:
        page.wait_for_function("document.body.dataset.xss === '1'", timeout=5000)
        assert page.locator("#results-table img[onerror]").count() == 1
    finally:
        page.close()
