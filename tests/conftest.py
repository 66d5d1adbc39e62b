"""Shared fixtures: a real Stripe emulator over HTTP, the SDK pointed at it,
and (for webhook tests) a live Django server registered as its webhook endpoint."""

import json
import time
import urllib.request

import pytest
import stripe
from django.conf import settings

EMULATOR_KEY = "sk_test_emulatorOfflineShopKey000000000"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Documents rendered by a test go to its own directory, never into var/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


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
    yield emulator_server
    settings.STRIPE_API_BASE = saved[0]
    stripe.api_base, stripe.upload_api_base = saved[1], saved[2]


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
