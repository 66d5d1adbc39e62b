"""Shared fixtures: a real Stripe emulator over HTTP, the SDK pointed at it,
and (for webhook tests) a live Django server registered as its webhook endpoint."""

import contextlib
import json
import threading
import time
import traceback
import urllib.request

import pytest
import stripe
from django.conf import settings

EMULATOR_KEY = "sk_test_emulatorOfflineShopKey000000000"


def _thread_local_join_guard() -> None:
    """Celery keeps "a task is running here, do not wait on a result" in one
    process-wide flag, set and restored around each eager task. In tests the
    live server's threads run eager tasks (webhooks) while the test's thread
    runs its own: two overlapping runs restore it out of order and leave it
    set, and a later `result.get()` in the test raises "Never call
    result.get() within a task!" (the sweep test's old flake, reproduced). A
    worker runs one task at a time per process; here, per thread."""
    import celery.result

    flag = threading.local()
    celery.result.task_join_will_block = lambda: getattr(flag, "blocks", False)
    celery.result._set_task_join_will_block = lambda blocks: setattr(flag, "blocks", blocks)


_thread_local_join_guard()
# Fixtures kept beside the fake servers they start (`vies`: a local VIES).
pytest_plugins = ["tests.vies_server"]

# Under pytest-xdist (`make test`), the tests under each of these folders run in
# one worker, one after the other: they share a session-wide server that costs
# a minute to start (the browser tests' stack). Every other test goes wherever
# a worker is free. (pytest-xdist's own `xdist_group` marker is lost on
# pytest 9, whose node ids can no longer be renamed.)
SERIAL_FOLDERS = ("tests/e2e/",)


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        """One work unit per test, but one for all the tests of a serial folder;
        the biggest units first (xdist's default order), so the browser tests
        start at once, next to everything else."""

        def _split_scope(self, nodeid: str) -> str:
            return next((folder for folder in SERIAL_FOLDERS if nodeid.startswith(folder)), nodeid)

    if config.getoption("dist") in ("load", "loadgroup"):
        return Scheduling(config, log)
    return None


def pytest_collection_modifyitems(session, config, items):
    """Every test has a node id of its own: pytest-xdist hands tests out by
    node id, so tests sharing one would silently run once (it happened to
    schemathesis's generated tests on pytest 9)."""
    seen, shared = set(), set()
    for item in items:
        (shared if item.nodeid in seen else seen).add(item.nodeid)
    if shared:
        raise pytest.UsageError(f"tests sharing a node id (only one of each would run under xdist): {sorted(shared)}")


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_use_migrations, django_db_keepdb,
                    django_db_createdb, django_db_modify_db_settings):
    """pytest-django's test databases, each a copy of one migrated template
    (tests/db_template.py) instead of migrated from nothing in every process."""
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _get_databases_for_setup

    from tests.db_template import copy_template

    if not django_db_use_migrations or (django_db_keepdb and not django_db_createdb):
        # --nomigrations / --reuse-db: pytest-django's own way.
        keepdb = django_db_keepdb and not django_db_createdb
    else:
        keepdb = True  # the copy exists: Django keeps it (its `migrate` finds nothing to do)
        with django_db_blocker.unblock():
            for alias in connections:
                copy_template(connections[alias].creation._get_test_db_name(), alias)
    if not django_db_use_migrations:
        from pytest_django.fixtures import _disable_migrations

        _disable_migrations()
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    with django_db_blocker.unblock():
        db_cfg = setup_databases(verbosity=request.config.option.verbose, interactive=False, aliases=aliases,
                                 serialized_aliases=serialized_aliases, keepdb=keepdb)
    yield
    if not (django_db_keepdb and not django_db_createdb):
        with django_db_blocker.unblock():
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Documents rendered by a test go to its own directory, never into var/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _call_site(what: str, skip: str, depth: int) -> str:
    """`what`, and the `depth` innermost frames that led to it (without the
    frames of files under `skip`): where a test guard caught something."""
    stack = [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_stack()[:-2] if skip not in f.filename]
    return f"{what}\n  " + "\n  ".join(stack[-depth:])


@pytest.fixture(autouse=True)
def _no_mail_or_render_inside_a_transaction(monkeypatch):
    """No test may send an e-mail (the SMTP conversation) or render a PDF
    inside a transaction of the code's own: nothing slow or remote while
    locks are held (ARCHITECTURE). A test case's wrapping transaction does
    not count."""
    from django.core.mail.backends import locmem

    from billing import pdf_engine
    from payments.gateway import inside_a_transaction

    inside: list[str] = []

    def guard(what, fn):
        def guarded(*args, **kwargs):
            if inside_a_transaction():
                inside.append(_call_site(what, "/site-packages/", 10))
            return fn(*args, **kwargs)
        return guarded

    monkeypatch.setattr(locmem.EmailBackend, "send_messages",
                        guard("an e-mail sent", locmem.EmailBackend.send_messages))
    monkeypatch.setattr(pdf_engine, "html_to_pdf", guard("a PDF rendered", pdf_engine.html_to_pdf))
    yield
    if inside:
        pytest.fail("inside a database transaction (ARCHITECTURE: nothing slow or remote inside a lock):\n"
                    + "\n\n".join(inside), pytrace=False)


@pytest.fixture(scope="session")
def emulator_server():
    from stripe_emulator import EmulatorServer

    server = EmulatorServer(host="127.0.0.1", port=0, api_key=EMULATOR_KEY, webhook_retry_base=0.2).start()
    yield server
    server.stop()


def emulator_control(base_url: str, path: str, payload: dict | None = None, method: str = "POST") -> dict:
    """Call one of the emulator's control routes (not part of Stripe's API)."""
    data = json.dumps(payload or {}).encode() if method != "GET" else None
    request = urllib.request.Request(
        f"{base_url}/_emulator/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


@pytest.fixture
def stripe_emulator(emulator_server):
    """The emulator, empty, with the shop's settings and the SDK pointed at it."""
    from payments import gateway

    emulator_control(emulator_server.url, "reset")
    saved = (settings.STRIPE_API_BASE, stripe.api_base, stripe.upload_api_base)
    settings.STRIPE_API_BASE = emulator_server.url
    gateway.configure()
    with no_stripe_call_inside_a_transaction() as calls_inside:
        yield emulator_server
    settings.STRIPE_API_BASE = saved[0]
    stripe.api_base, stripe.upload_api_base = saved[1], saved[2]
    if calls_inside:
        pytest.fail("Stripe called inside a database transaction (ARCHITECTURE: no network inside a "
                    "transaction):\n" + "\n\n".join(calls_inside), pytrace=False)


@contextlib.contextmanager
def no_stripe_call_inside_a_transaction():
    """Every HTTP request to Stripe (the shop's client and dj-stripe's, in any
    thread: the live server's too) made while the calling thread's database
    connection is inside a transaction of the code's own (not the test case's
    wrapping one) is recorded, with where it was made from."""
    from payments.gateway import inside_a_transaction

    calls_inside: list[str] = []
    request = stripe.RequestsClient.request

    def guarded(self, method, url, headers, post_data=None):
        if inside_a_transaction():
            calls_inside.append(_call_site(f"{method.upper()} {url}", "/site-packages/stripe/", 14))
        return request(self, method, url, headers, post_data)

    guarded.unguarded = request  # for a test that records the calls itself
    stripe.RequestsClient.request = guarded
    try:
        yield calls_inside
    finally:
        stripe.RequestsClient.request = request


@pytest.fixture
def stripe_webhooks(stripe_emulator, live_server, settings):
    """A live server registered at the emulator as the shop's webhook endpoint.
    Returns a function that waits until every queued delivery was made."""
    from django.core.management import call_command

    settings.SITE_URL = live_server.url
    call_command("stripe_webhook_register", base_url=live_server.url, verbosity=0)

    def wait(timeout: float = 15) -> None:
        emulator_control(stripe_emulator.url, "webhooks/wait", {"timeout": timeout})
        # Each delivery is processed (eagerly, in the live server's request
        # thread) after the inbox commits; a slow one (the first PDF render) may
        # outlast the emulator's delivery timeout: wait for the inbox to settle.
        from payments.models import WebhookEvent

        deadline = time.monotonic() + 60
        busy = (WebhookEvent.Status.RECEIVED, WebhookEvent.Status.PROCESSING, WebhookEvent.Status.FAILED)
        while WebhookEvent.objects.filter(status__in=busy).exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    yield wait
    # No delivery may reach the live server while the test database is flushed.
    emulator_control(stripe_emulator.url, "webhooks/faults", method="DELETE")
    wait()
    emulator_control(stripe_emulator.url, "reset")
