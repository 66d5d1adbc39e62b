"""Test clocks (`/v1/test_helpers/test_clocks`): simulated time for the
customers created on them and everything they subscribe to.

Advancing answers at once with `status: advancing`; a background job then
runs, in time order, everything due up to the new time (renewals, invoices,
payment retries, trial ends, cancellations: see engine/clock.py) and sets the
clock `ready` (`test_helpers.test_clock.advancing` / `.ready` events)."""

import logging

from .. import fixtures
from ..engine.clock import run_due
from ..wire import as_int, as_str, invalid
from .common import Background, deleted, render, render_list

log = logging.getLogger("stripe_emulator.billing")

LIFETIME = 30 * 86400


def _require(req):
    return req.store.require(req.args["id"], "test_helpers.test_clock", kind="test_helpers.test_clock")


def create(req):
    store, params = req.store, req.params
    frozen = as_int(params, "frozen_time", required=True, minimum=0)
    now = store.now()
    clock = fixtures.make(
        "test_helpers.test_clock", id=store.new_id("clock_"), created=now, deletes_after=now + LIFETIME,
        frozen_time=frozen, name=as_str(params, "name"), status="ready", status_details={})
    store.add(clock)
    req.emit("test_helpers.test_clock.created", clock)
    return render(req, clock)


def retrieve(req):
    return deleted(req, "test_helpers.test_clock") or render(req, _require(req))


def list_(req):
    return render_list(req, "test_helpers.test_clock", "/v1/test_helpers/test_clocks")


def delete(req):
    store = req.store
    clock = _require(req)
    # Deleting a clock deletes the customers on it and what they own.
    customers = {c["id"] for c in store.all("customer", lambda c: c["test_clock"] == clock["id"])}
    for type_ in ("subscription_item", "subscription", "invoiceitem", "invoice", "customer"):
        for obj in store.all(type_, lambda o, type_=type_: o.get("test_clock") == clock["id"]
                             or o.get("customer") in customers
                             or (type_ == "subscription_item" and _sub_on(store, o, clock["id"]))):
            store.remove(obj["id"])
    store.remove(clock["id"])
    req.emit("test_helpers.test_clock.deleted", clock)
    return {"id": clock["id"], "object": "test_helpers.test_clock", "deleted": True}


def _sub_on(store, item, clock_id):
    sub = store.get(item["subscription"], "subscription")
    return sub is not None and sub["test_clock"] == clock_id


def advance(req):
    clock = _require(req)
    target = as_int(req.params, "frozen_time", required=True, minimum=0)
    if clock["status"] == "advancing":
        raise invalid("The test clock is currently advancing; wait until it is ready.", code=None)
    if target <= clock["frozen_time"]:
        raise invalid("The frozen_time must be later than the test clock's current frozen_time.",
                      param="frozen_time")
    clock.update(status="advancing", status_details={"advancing": {"target_frozen_time": target}})
    req.emit("test_helpers.test_clock.advancing", clock)
    app, clock_id = req.app, clock["id"]
    app.scheduler.later(0, lambda: run_advance(app, clock_id, target))
    return render(req, clock)


def run_advance(app, clock_id, target):
    """The background half of `advance` (runs under the state lock)."""
    store = app.store
    clock = store.get(clock_id, "test_helpers.test_clock")
    if clock is None:
        return
    try:
        steps = run_due(app, target, clock_id=clock_id)
        log.info("test clock %s advanced to %s (%d billing steps)", clock_id, target, steps)
    except Exception:
        log.exception("test clock %s failed to advance", clock_id)
        clock.update(status="internal_failure", status_details={})
        Background(app).emit("test_helpers.test_clock.internal_failure", clock)
        return
    clock.update(frozen_time=target, status="ready", status_details={})
    Background(app).emit("test_helpers.test_clock.ready", clock)


ROUTES = [
    ("POST", "/v1/test_helpers/test_clocks", create),
    ("GET", "/v1/test_helpers/test_clocks", list_),
    ("GET", "/v1/test_helpers/test_clocks/{id}", retrieve),
    ("DELETE", "/v1/test_helpers/test_clocks/{id}", delete),
    ("POST", "/v1/test_helpers/test_clocks/{id}/advance", advance),
]
