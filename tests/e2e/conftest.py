"""Browser tests: Playwright drives Debian's Chromium against the whole stack
(emulator, gunicorn, Celery worker). Screenshots of every page are saved
under test-artifacts/e2e/ as test artefacts.

One stack serves every browser test of the session (starting one costs about
a minute: migrations, seed, plans at the emulator, processes). The journeys
share its database as customers share a shop: each test finds its own order,
invoice or subscription by what it created, never by position or count."""

import re
from pathlib import Path

import pytest

from .stack import ROOT, Stack

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"


def pytest_collection_modifyitems(items):
    # Under pytest-xdist they all run in one worker (SERIAL_FOLDERS in tests/conftest.py).
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def stack(tmp_path_factory, django_db_blocker):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)")
    from tests.db_template import copy_template

    def create_database(name: str) -> None:
        with django_db_blocker.unblock():
            copy_template(name)

    stack = Stack(tmp_path_factory.mktemp("stack"), create_database=create_database)
    try:
        stack.start()
        yield stack
    finally:
        stack.copy_logs(ARTIFACTS / "logs")
        stack.stop()


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests, closed after the last of them:
    Playwright's sync API keeps an event loop running in this thread while it
    is open, and Django refuses database work from a thread with a running
    loop (the tests that follow in the same process would fail)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                  "--no-first-run", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    shots = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shots.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1000))

    def snap(name: str) -> None:
        page.screenshot(path=str(shots / f"{next(counter):02d}-{name}.png"), full_page=True)

    page.snap = snap
    page.artifacts = shots
    yield page
    context.close()
