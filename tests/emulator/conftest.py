"""Fixtures for the emulator's own tests: a fresh emulator per test module
(short delays so the suite stays fast), the official SDK pointed at it, a
local webhook receiver, and helpers for the hosted checkout page."""

import http.client
import json
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from stripe_emulator import EmulatorServer

API_KEY = "sk_test_emulator"
# dj-stripe insists on 24+ characters after `sk_test_`; the emulator accepts
# its key padded like this.
DJSTRIPE_KEY = API_KEY + "0" * 16
FAST = dict(webhook_retry_base=0.05, webhook_timeout=1.0, refund_delay=0.1, dispute_delay=0.1,
            sweep_interval=0.1, reorder_window=1.0)


@pytest.fixture(scope="module")
def emulator():
    server = EmulatorServer(host="127.0.0.1", port=0, api_key=API_KEY, **FAST).start()
    yield server
    server.stop()


@pytest.fixture
def client(emulator):
    """An SDK client for the emulator (no retries unless a test asks)."""
    control(emulator, "reset")
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})


@pytest.fixture
def global_stripe(emulator):
    """The module-level SDK configuration dj-stripe uses, restored afterwards."""
    control(emulator, "reset")
    saved = (stripe.api_base, stripe.api_key, stripe.max_network_retries)
    stripe.api_base, stripe.api_key = emulator.url, API_KEY
    yield stripe
    stripe.api_base, stripe.api_key, stripe.max_network_retries = saved


def control(emulator, path, body=None, method="POST"):
    """Call a control route; returns (decoded JSON) or raises HTTPError."""
    data = json.dumps(body or {}).encode() if method != "GET" else None
    req = urllib.request.Request(f"{emulator.url}/_emulator/{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def wait_for_webhooks(emulator, timeout=10):
    assert control(emulator, "webhooks/wait", {"timeout": timeout})["ok"]


def raw(emulator, method, path, body=None, headers=None):
    """One plain HTTP request; returns (status, headers, text). No redirects followed."""
    url = urllib.parse.urlsplit(emulator.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    hdrs = dict(headers or {})
    if isinstance(body, dict):
        body = urllib.parse.urlencode(body)
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    conn.request(method, path, body, hdrs)
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, text


def pay_on_page(emulator, session, card, email="buyer@example.com", exp="12 / 34", cvc="123", name="Ada Buyer"):
    """Submit the hosted checkout form like a browser (POST to session.url)."""
    path = urllib.parse.urlsplit(session.url).path
    return raw(emulator, "POST", path, {"email": email, "number": card, "exp": exp, "cvc": cvc, "name": name})


def new_session(client, **extra):
    params = {
        "mode": "payment",
        "success_url": "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/cart",
        "line_items": [
            {"price_data": {"currency": "usd", "unit_amount": 1250, "product_data": {"name": "Blue mug"}},
             "quantity": 2},
        ],
        "metadata": {"order_id": "42"},
    }
    params.update(extra)
    return client.v1.checkout.sessions.create(params=params)


class Receiver:
    """A local webhook endpoint recording what it receives. `statuses` is a
    list of statuses to answer in turn (then 200); `failures` maps a text to
    how many times a body containing it is answered 500; `delay` (seconds)
    makes each answer slow; `peak` is the most requests it had at once."""

    def __init__(self):
        self.requests = []
        self.statuses = []
        self.failures = {}
        self.delay = 0.0
        self.in_flight = self.peak = 0
        self.emulator = None  # set by the `endpoint` fixture: events() then sorts by creation
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                with receiver.cond:
                    receiver.in_flight += 1
                    receiver.peak = max(receiver.peak, receiver.in_flight)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.cond:
                    receiver.in_flight -= 1
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    for text, count in receiver.failures.items():
                        if count and text in body:
                            receiver.failures[text] -= 1
                            status = 500
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "status": status})
                    receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhook"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def arrived(self, ok_only=True):
        """The events received (decoded), in arrival order."""
        return [json.loads(r["body"]) for r in self.requests if not ok_only or r["status"] < 300]

    def events(self, ok_only=True):
        """The events received, in the order they were created (the Events API's
        order) when `emulator` is known: deliveries are concurrent and
        unordered, as at Stripe; otherwise in arrival order."""
        events = self.arrived(ok_only)
        if self.emulator is not None:
            order = {event_id: i for i, event_id in enumerate(_event_ids_oldest_first(self.emulator))}
            events.sort(key=lambda e: order.get(e["id"], len(order)))
        return events

    def types(self):
        return [e["type"] for e in self.events()]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


@pytest.fixture
def endpoint(client, receiver, emulator):
    """A webhook endpoint for every event, pointing at `receiver`."""
    receiver.emulator = emulator
    return client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})


def _event_ids_oldest_first(emulator):
    ids, after = [], None
    while True:
        query = "limit=100" + (f"&starting_after={after}" if after else "")
        status, _, text = raw(emulator, "GET", f"/v1/events?{query}", headers={"Authorization": f"Bearer {API_KEY}"})
        assert status == 200, text
        page = json.loads(text)
        ids += [event["id"] for event in page["data"]]
        if not page["has_more"]:
            return list(reversed(ids))
        after = ids[-1]
