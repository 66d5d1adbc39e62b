"""The billing clock. A subscription of a customer created with a `test_clock`
lives on that clock's `frozen_time` (`at_clock`); the others on the emulator's
clock. Work falls due at fixed times per subscription (`next_due`); `run_due`
processes everything due up to a target time in time order (a heap, so a
clock with thousands of subscriptions advances in one pass); the scheduler's
`sweep` does it for the emulator's own clock as real time passes."""

import heapq
import itertools
from contextlib import nullcontext

from ..resources.common import Background
from .collection import attempt, end_subscription
from .lifecycle import expire_incomplete, renew, send_upcoming
from .periods import DAY, facts_of, period
from .settings import settings

INCOMPLETE_LIFETIME = 23 * 3600


def clock_time(store, clock_id):
    clock = store.get(clock_id, "test_helpers.test_clock") if clock_id else None
    return clock["frozen_time"] if clock else None


def at_clock(store, clock_id):
    """Run the block at the test clock's time (no-op without a clock, or when
    already inside a clock's run)."""
    t = clock_time(store, clock_id)
    if t is None or store.time_override is not None:
        return nullcontext()
    return store.at(t)


def next_due(store, sub):
    """When this subscription next needs work, or None."""
    status = sub["status"]
    if status in ("canceled", "incomplete_expired"):
        return None
    if status == "incomplete":
        return sub["created"] + INCOMPLETE_LIFETIME
    p = store.private.get(sub["id"], {})
    conf = settings(store)
    start, end = period(store, sub)
    due = [end]
    if sub["cancel_at"]:
        due.append(sub["cancel_at"])
    if status == "trialing" and not p.get("trial_notice"):
        notice = sub["trial_end"] - conf["trial_notice_days"] * DAY
        if notice > sub["trial_start"]:
            due.append(notice)
    if not sub["cancel_at_period_end"] and not sub["cancel_at"] and p.get("upcoming_for") != end:
        notice = end - conf["upcoming_days"] * DAY
        if notice > start:
            due.append(notice)
    if p.get("retry_at"):
        due.append(p["retry_at"])
    return min(due)


def process(ctx, sub, t):
    """Do what is due for `sub` at time `t` (store time is `t`)."""
    store = ctx.store
    status = sub["status"]
    if status == "incomplete":
        if sub["created"] + INCOMPLETE_LIFETIME <= t:
            expire_incomplete(ctx, sub)
        return
    p = facts_of(store, sub)
    conf = settings(store)
    start, end = period(store, sub)
    notice = sub["trial_end"] - conf["trial_notice_days"] * DAY if sub["trial_end"] else None
    if status == "trialing" and not p.get("trial_notice") and sub["trial_start"] < notice <= t:
        p["trial_notice"] = True
        ctx.emit("customer.subscription.trial_will_end", sub)
    if (not sub["cancel_at_period_end"] and not sub["cancel_at"] and p.get("upcoming_for") != end
            and end - conf["upcoming_days"] * DAY <= t and end - conf["upcoming_days"] * DAY > start):
        p["upcoming_for"] = end
        send_upcoming(ctx, sub)
    if p.get("retry_at") and p["retry_at"] <= t:
        invoice = store.get(p["retry_invoice"], "invoice")
        p["retry_at"] = None
        if invoice is not None and invoice["status"] == "open":
            attempt(ctx, invoice)
    if sub["status"] in ("canceled",):
        return
    if sub["cancel_at"] and sub["cancel_at"] <= t and sub["cancel_at"] < end:
        end_subscription(ctx, sub, "cancellation_requested")
        return
    if end <= t:
        renew(ctx, sub)


_tiebreak = itertools.count()


def run_due(app, until, clock_id=None, subs=None):
    """Process, in time order, everything due up to `until` for the
    subscriptions on `clock_id` (None: those on the emulator's own clock).
    Call with the state lock held. Returns the number of steps run."""
    store = app.store
    ctx = Background(app)
    if subs is None:
        subs = store.all("subscription", lambda s: s["test_clock"] == clock_id)
    heap = []
    for sub in reversed(subs):  # oldest first on ties
        due = next_due(store, sub)
        if due is not None and due <= until:
            heap.append((due, next(_tiebreak), sub["id"]))
    heapq.heapify(heap)
    steps = 0
    while heap:
        due, _, sub_id = heapq.heappop(heap)
        sub = store.get(sub_id, "subscription")
        if sub is None:
            continue
        current = next_due(store, sub)
        if current is None or current > until:
            continue
        if current != due:
            heapq.heappush(heap, (current, next(_tiebreak), sub_id))
            continue
        with store.at(due):
            process(ctx, sub, due)
        steps += 1
        following = next_due(store, sub)
        # (`following <= due` would mean no progress: never loop at one instant.)
        if following is not None and due < following <= until:
            heapq.heappush(heap, (following, next(_tiebreak), sub_id))
    return steps


def sweep(app):
    """Scheduler tick: subscriptions on the emulator's own clock."""
    store = app.store
    if not store.by_type.get("subscription"):
        return
    run_due(app, store.now())
