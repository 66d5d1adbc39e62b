"""The emulator core: configuration, routing, authentication, idempotency and
fault injection around the resource handlers. Transport-free: `server.py`
feeds it HTTP requests."""

import base64
import fnmatch
import hashlib
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import checkout_page, control, validation, webhooks
from .engine import settings as billing_settings
from .engine.clock import sweep as sweep_billing
from .resources import (
    account,
    catalog,
    charges,
    checkout,
    coupons,
    customers,
    disputes,
    events,
    files,
    invoice_items,
    invoice_payments,
    invoice_previews,
    invoices,
    payment_intents,
    payment_methods,
    promotion_codes,
    refunds,
    setup_intents,
    subscription_items,
    subscriptions,
    tax_ids,
    test_clocks,
)
from .responses import Response
from .scheduler import Scheduler
from .store import Store
from .wire import StripeError, parse_form

log = logging.getLogger("stripe_emulator")

API_ROUTES = [
    route
    # invoice_previews before invoices: /v1/invoices/create_preview is not an invoice id.
    for module in (account, customers, tax_ids, catalog, checkout, payment_intents, payment_methods, charges, refunds,
                   disputes, events, setup_intents, coupons, promotion_codes, subscriptions, subscription_items,
                   invoice_previews, invoices, invoice_payments, invoice_items, test_clocks, files)
    for route in module.ROUTES
]


@dataclass
class Config:
    api_key: str = "sk_test_emulator"
    state_path: str | None = None
    public_url: str | None = None  # base of hosted pages; defaults to the server's URL
    webhook_retry_base: float = 1.0  # seconds before the first retry, doubled each time
    webhook_timeout: float = 10.0
    webhook_max_attempts: int = 8
    # Deliveries in flight at once per endpoint (Stripe's are concurrent and
    # unordered; 1 gives one at a time, in order).
    webhook_concurrency: int = 8
    refund_delay: float = 1.0  # pending -> succeeded/failed
    dispute_delay: float = 1.0  # payment with the 0259 card -> dispute opened
    sweep_interval: float = 1.0  # how often expired checkout sessions are looked for
    reorder_window: float = 5.0  # a reorder fault flushes after this even if short of `count`
    # The Dashboard's billing settings for failed subscription payments: days
    # between retries and what happens after the last (engine/settings.py).
    # None keeps what the state file has (default [3, 5, 7], cancel).
    retry_days: list | str | None = None
    retry_final_action: str | None = None
    # Refuse what Stripe refuses: parameters the SDK does not declare for the
    # method, wrong types, unknown enum values, bad expand[] (validation.py).
    # False only as an escape hatch (--lenient-params).
    strict_params: bool = True
    # State file writes are coalesced to at most one per `save_delay` seconds
    # (0: write on every change), and spaced by at least ten times the last
    # write's duration; the server flushes on stop.
    save_delay: float = 1.0


@dataclass
class Request:
    app: "Emulator"
    method: str
    path: str
    params: dict
    headers: dict  # lower-cased names
    request_id: str
    idempotency_key: str | None = None
    args: dict = field(default_factory=dict)
    json_body: object = None  # control routes take JSON

    @property
    def store(self):
        return self.app.store

    def emit(self, type_, obj, previous_attributes=None):
        return self.app.webhooks.emit(type_, obj, previous_attributes, request=self)


@dataclass
class Route:
    method: str
    regex: re.Pattern
    handler: object
    kind: str  # "api" (auth, idempotency, faults), "control" or "page"
    pattern: str = ""


def _compile(method, pattern, handler, kind):
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
    return Route(method, regex, handler, kind, pattern)


class Emulator:
    def __init__(self, config):
        self.config = config
        self.store = Store(config.state_path, save_delay=config.save_delay)
        self.webhooks = webhooks.Webhooks(self)
        self.scheduler = Scheduler(self.run_job, self._sweep, config.sweep_interval)
        self.api_faults = []
        self._faults_lock = threading.Lock()
        self._in_flight = set()  # idempotency keys being executed now
        self.refund_failures = 0  # refunds still to fail (/_emulator/refunds/fail_next)
        self.public_url = config.public_url  # set by the server once bound, if not configured
        self.routes = (
            [_compile(m, p, h, "api") for m, p, h in API_ROUTES]
            + [_compile(m, p, h, "control") for m, p, h in control.ROUTES]
            + [_compile(m, p, h, "page") for m, p, h in checkout_page.ROUTES]
        )
        with self.store.lock:
            account.ensure(self)
            try:
                self._configure_billing()
            except StripeError as err:
                raise ValueError(err.message) from None

    def _configure_billing(self):
        billing_settings.configure(self.store, self.config.retry_days, self.config.retry_final_action)

    def _sweep(self):
        """Periodic housekeeping: expire checkout sessions, and bill
        subscriptions on the emulator's own clock as real time passes."""
        checkout.sweep_expired(self)
        sweep_billing(self)

    def start(self):
        self.scheduler.start()

    def stop(self):
        self.scheduler.stop()
        self.webhooks.stop()
        self.store.close()

    def reset(self):
        with self.store.lock:
            self.scheduler.clear()
            self.webhooks.clear()
            self.clear_faults()
            self.refund_failures = 0
            self.store.clear()
            account.ensure(self)
            self._configure_billing()
            self.store.save()

    def run_job(self, fn):
        """Run background work under the state lock, then persist."""
        try:
            with self.store.lock:
                fn()
                self.store.save()
        except Exception:
            log.exception("background job failed")

    # --- request handling ---------------------------------------------------------

    def handle(self, method, target, headers, body):
        """Answer one HTTP request. `headers` has lower-cased names."""
        request_id = "req_" + secrets.token_hex(7)
        url = urlsplit(target)
        path = url.path.rstrip("/") or "/"
        route, args = self._route(method, path)
        version = headers.get("stripe-version") or webhooks.DEFAULT_API_VERSION
        if route is None:
            resp = self._error(StripeError(
                404, "invalid_request_error",
                f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
                "or we can help at https://support.stripe.com/."), request_id)
        else:
            try:
                params = parse_form(url.query)
                json_body = None
                if body and "json" in headers.get("content-type", ""):
                    json_body = json.loads(body)
                elif body and headers.get("content-type", "").startswith("multipart/form-data"):
                    params.update(files.parse_multipart(body, headers["content-type"]))  # file uploads
                elif body:
                    params.update(parse_form(body.decode("utf-8")))
                req = Request(self, method, path, params, headers, request_id,
                              headers.get("idempotency-key"), args, json_body)
                if route.kind == "api":
                    resp = self._api(route, req)
                else:
                    resp = self._run(route, req)
            except StripeError as err:
                resp = self._error(err, request_id)
            except ValueError:
                resp = self._error(StripeError(400, "invalid_request_error", "Invalid request body."), request_id)
        resp.headers.setdefault("Request-Id", request_id)
        if path.startswith("/v1/"):
            resp.headers["Stripe-Version"] = version
        return resp

    def _route(self, method, path):
        for route in self.routes:
            if route.method == method:
                found = route.regex.match(path)
                if found:
                    return route, found.groupdict()
        return None, None

    def _run(self, route, req):
        if getattr(route.handler, "unlocked", False):
            result = route.handler(req)
            return result if isinstance(result, Response) else Response(200, result)
        try:
            with self.store.lock:
                result = route.handler(req)
                if req.method != "GET":
                    self.store.save()
        except StripeError as err:
            if req.method != "GET":
                self.store.save()  # a card error still changed state
            return self._error(err, req.request_id)
        return result if isinstance(result, Response) else Response(200, result)

    def _api(self, route, req):
        self._authenticate(req.headers)
        fault = self._take_fault(req.method, req.path)
        if fault and fault.get("status"):
            return self._fault_response(fault["status"], req.request_id)
        if self.config.strict_params:
            validation.check(req.method, route.pattern, req.params)
        key = req.idempotency_key if req.method == "POST" else None
        if key:
            resp = self._idempotent(route, req, key)
        else:
            resp = self._run(route, req)
        if fault and fault.get("delay_ms"):
            # After the work is done and cached: a client that times out and
            # retries with the same key gets the replay, not a second object.
            time.sleep(fault["delay_ms"] / 1000)
        return resp

    def _idempotent(self, route, req, key):
        fingerprint = hashlib.sha256(
            json.dumps([req.method, req.path, req.params], sort_keys=True).encode()).hexdigest()
        with self.store.lock:
            cached = self.store.idempotency.get(key)
            if cached is None and key in self._in_flight:
                raise StripeError(
                    409, "idempotency_error",
                    "There is currently another in-progress request using this Idempotent Key "
                    "(that probably means you submitted twice, and the other request is still "
                    f"going through): {key}. Please try again later.")
            if cached is None:
                self._in_flight.add(key)
        if cached is not None:
            if cached["fingerprint"] != fingerprint:
                raise StripeError(
                    400, "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they "
                    f"were first used with. Try using a key other than '{key}' if you meant to "
                    "execute a different request.")
            return Response(cached["status"], cached["body"],
                            {"Idempotent-Replayed": "true", "Idempotency-Key": key,
                             "Original-Request": cached["request_id"]})
        try:
            resp = self._run(route, req)
            # Stripe saves the result once the endpoint ran (successes and card
            # errors), not requests that failed validation.
            if resp.status < 400 or resp.status == 402:
                with self.store.lock:
                    self.store.idempotency[key] = {
                        "fingerprint": fingerprint, "status": resp.status, "body": resp.body,
                        "request_id": req.request_id}
                    self.store.save()
        finally:
            with self.store.lock:
                self._in_flight.discard(key)
        resp.headers["Idempotency-Key"] = key
        return resp

    def _authenticate(self, headers):
        auth = headers.get("authorization", "")
        key = ""
        if auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        elif auth.lower().startswith("basic "):
            try:
                key = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            raise StripeError(
                401, "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.")
        if not self._key_ok(key):
            masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else key[:3] + "****"
            raise StripeError(401, "invalid_request_error", f"Invalid API Key provided: {masked}",
                              code="api_key_invalid")

    def _key_ok(self, key):
        """The configured key, or a test key that extends it: dj-stripe only
        accepts keys of 24+ characters after `sk_test_`, so a short configured
        key like `sk_test_emulator` may be padded (`sk_test_emulator0000...`)."""
        configured = self.config.api_key
        if secrets.compare_digest(key, configured):
            return True
        return configured.startswith("sk_test_") and key.startswith(configured)

    # --- API fault injection -------------------------------------------------------

    def add_fault(self, fault):
        with self._faults_lock:
            self.api_faults.append(fault)

    def faults(self):
        with self._faults_lock:
            return [dict(f) for f in self.api_faults if f["remaining"] > 0]

    def clear_faults(self):
        with self._faults_lock:
            self.api_faults.clear()

    def _take_fault(self, method, path):
        with self._faults_lock:
            for fault in self.api_faults:
                if fault["remaining"] <= 0:
                    continue
                if fault.get("method") and fault["method"].upper() != method:
                    continue
                if fault.get("path") and not fnmatch.fnmatchcase(path, fault["path"]):
                    continue
                fault["remaining"] -= 1
                return dict(fault)
        return None

    def _fault_response(self, status, request_id):
        if status == 429:
            err = StripeError(429, "invalid_request_error",
                              "Too many requests hit the API too quickly. We recommend an "
                              "exponential backoff of your requests.", code="rate_limit")
        else:
            err = StripeError(status, "api_error",
                              "An unknown error occurred while processing your request "
                              "(injected by the emulator).")
        return self._error(err, request_id)

    @staticmethod
    def _error(err, request_id):
        return Response(err.status, err.body(request_id))
