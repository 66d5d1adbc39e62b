"""The mirror: dj-stripe's copy of Stripe's objects, kept from the events,
with no call to Stripe inside a database transaction.

dj-stripe's own way (djstripe Event.process) writes its Event row, then, in
the same transaction, fetches the event's object again from Stripe and syncs
it, fetching on the way every related object it has not mirrored yet. On
SQLite that transaction holds the database's write lock for as long as Stripe
takes to answer: every other writer (a checkout, another event) waits. So the
mirror does what dj-stripe's event handlers do, type by type, but:

- an object is synced with `object_sync`: dj-stripe's sync_from_stripe_data,
  run so that a call to Stripe it would make inside one of its transactions
  (a related object it has not mirrored yet, the account that owns the key)
  is refused before it is sent; that read is then made outside any
  transaction and the sync runs again, served its answer
  (gateway.calls_outside_transactions). A sync needs a few rounds the first
  time it meets an object's relations, none after;
- invoices and subscriptions are mirrored from the stored payload, with no
  call back, while it is the newest state known of that object (no other
  event about it made later, or in the same second and stored later);
- an event older than another one known about the same object is not
  mirrored at all: the newer one writes (or has written) a newer state;
- otherwise (two events of one second, whose order cannot be told; a payload
  without what dj-stripe expands, e.g. an invoice's discounts, which a payload
  names by id only; every other type) the object as it is now, fetched once,
  outside any transaction;
- after writing a payload, it looks again: an event about the same object
  stored meanwhile may have been mirrored before this older payload was
  written (two deliveries processed at once, as Stripe promises no order), so
  then the object is fetched as it is now, which settles it.

The mirror serves pages and staff; documents and orders read Stripe's current
state through the gateway, never the mirror.
"""

import logging

from djstripe import models as dj
from djstripe.event_handlers import update_customer_helper
from djstripe.settings import djstripe_settings

from . import gateway
from .gateway.client import CallInsideTransaction, call
from .models import WebhookEvent

logger = logging.getLogger(__name__)

# Event type without its verb -> (dj-stripe's model of its object, the
# object's name in the payload), for the types dj-stripe's handlers mirror.
# Others (refund.*) are kept as dj-stripe keeps them: the Event row only.
MIRRORED = {
    "charge": (dj.Charge, "charge"),
    "charge.dispute": (dj.Dispute, "dispute"),
    "checkout.session": (dj.Session, "checkout.session"),
    "coupon": (dj.Coupon, "coupon"),
    "customer": (dj.Customer, "customer"),
    "customer.subscription": (dj.Subscription, "subscription"),
    "invoice": (dj.Invoice, "invoice"),
    "payment_intent": (dj.PaymentIntent, "payment_intent"),
    "payment_method": (dj.PaymentMethod, "payment_method"),
    "promotion_code": (dj.PromotionCode, "promotion_code"),
    "setup_intent": (dj.SetupIntent, "setup_intent"),
}
FROM_PAYLOAD = (dj.Invoice, dj.Subscription)
# Calls to Stripe made before a sync, at most, however deep (a guard against
# a loop; a renewal needs none, a first purchase a few).
MAX_FETCHES = 25


class MirrorError(Exception):
    """A sync that needed more than MAX_FETCHES reads made first (a loop)."""


# -- syncing one object --------------------------------------------------------


class RefusedReadsNotLogged(logging.Filter):
    """dj-stripe logs, with its traceback, a read it catches and goes on
    without (a product's features). A read refused inside a transaction is no
    failure: the mirror makes it outside and runs the sync again. Attached to
    dj-stripe's logger by PaymentsConfig.ready()."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, CallInsideTransaction)



def _outside_transactions(what: str, fn):
    """Run `fn` (dj-stripe code) so that every call to Stripe it makes inside
    one of its transactions is made before, outside any: refused, fetched
    outside, then `fn` runs again and is served that answer."""
    with gateway.calls_outside_transactions() as outside:
        fetched = 0
        while fetched <= MAX_FETCHES:
            try:
                result = fn()
            except CallInsideTransaction as refused:
                outside.fetch(refused)
                fetched += 1
                continue
            # A refusal dj-stripe caught and went on without (it does for a
            # product's features): fetched, and the sync run again.
            unanswered = outside.unanswered()
            if not unanswered:
                return result
            for refused in unanswered:
                outside.fetch(refused)
                fetched += 1
    raise MirrorError(f"{what}: more than {MAX_FETCHES} objects to fetch from Stripe")


def object_sync(model, data: dict):
    """dj-stripe's `model.sync_from_stripe_data(data)` (returns the row), with
    every call to Stripe it needs made outside any transaction."""
    # As the SDK object dj-stripe expects (its lists page on by themselves),
    # but an event as dj-stripe's process() stores it: the plain payload.
    data = data if model is dj.Event else gateway.sdk_object(data)
    return _outside_transactions(f"{model.__name__} {data.get('id')}", lambda: model.sync_from_stripe_data(data))


def current_sync(model, object_id: str):
    """Mirror an object as Stripe has it now (dj-stripe's retrieve, with what
    it expands); returns the row, or None when Stripe no longer has it."""
    data = _outside_transactions(
        f"{model.__name__} {object_id}",
        lambda: call(f"{model.__name__} retrieve", lambda: model(id=object_id).api_retrieve(), missing_ok=True),
    )
    if data is None:  # gone at Stripe meanwhile; its deletion event removes it
        logger.info("mirror: %s %s no longer exists at Stripe", model.__name__, object_id)
        return None
    return object_sync(model, data)


# -- mirroring an event --------------------------------------------------------


def _events_as_new(event: WebhookEvent) -> list[tuple[int, int]] | None:
    """The other stored events about the same object made in the same second
    or later, as (pk, Stripe's time); None when the event cannot be placed."""
    if not event.object_id or event.stripe_created is None:
        return None
    return list(
        WebhookEvent.objects.filter(object_id=event.object_id, stripe_created__gte=event.stripe_created)
        .exclude(pk=event.pk)
        .values_list("pk", "stripe_created")
    )


def newer_event_known(event: WebhookEvent) -> bool:
    """Whether another stored event about the same object was made after this
    one, or in the same second (then which is newer cannot be told)."""
    others = _events_as_new(event)
    return others is None or bool(others)


def superseded(event: WebhookEvent, others: list[tuple[int, int]] | None) -> bool:
    """Whether another stored event about the same object will write, or has
    written, a state at least as new: one made later, or one of the same
    second stored after this one (that one fetches the object as it is now)."""
    return any(created > event.stripe_created or pk > event.pk for pk, created in others or ())


def _values_at(value, path: list[str]):
    """The values at a dotted path ("lines.data.discounts"), through lists."""
    if not path:
        yield value
        return
    if isinstance(value, list):
        for item in value:
            yield from _values_at(item, path)
    elif isinstance(value, dict) and path[0] in value:
        yield from _values_at(value[path[0]], path[1:])


def payload_complete(model, obj: dict) -> bool:
    """Whether the payload holds what dj-stripe's sync expands (e.g. an
    invoice's discounts): a webhook payload gives those as ids only."""
    for field in getattr(model, "expand_fields", ()):
        for value in _values_at(obj, field.split(".")):
            items = value if isinstance(value, list) else [value]
            if any(isinstance(item, str) for item in items):
                return False
    return True


def _object_mirror(event: WebhookEvent, data: dict) -> None:
    prefix, _, verb = data["type"].rpartition(".")
    obj = (data.get("data") or {}).get("object") or {}
    model, name = MIRRORED.get(prefix, (None, None))
    object_id = obj.get("id")
    if model is None or obj.get("object") != name or not object_id:
        return
    if model is dj.Customer:  # links the customer to its user, as dj-stripe does
        update_customer_helper(obj.get("metadata") or {}, object_id, djstripe_settings.SUBSCRIBER_CUSTOMER_KEY)
    deleted = verb == "deleted" and model is not dj.Subscription  # a deleted subscription is a canceled one
    if model is dj.PaymentMethod and verb == "detached":
        if object_id.startswith("card_"):
            deleted = True  # a legacy card is deleted when detached
        else:  # its one change, customer=null, is in the payload (dj-stripe's way)
            object_sync(model, obj)
            return
    if deleted:
        row = model.objects.filter(id=object_id).first()
        if model is dj.Customer and row is not None:
            # dj-stripe's purge asks Stripe to delete it (already done), then clears it here.
            row.purge()
        elif row is not None:
            row.delete()
        return
    others = _events_as_new(event)
    if superseded(event, others):
        return
    if model in FROM_PAYLOAD and payload_complete(model, obj) and others == []:
        object_sync(model, obj)
        if not newer_event_known(event):
            return
        # A newer event arrived while this payload was written, and may have
        # been mirrored first: the object as it is now.
    current_sync(model, object_id)


def event_mirror(*, event: WebhookEvent, data: dict) -> None:
    """Mirror the event's object into dj-stripe's models, and dj-stripe's Event
    row once per event id (written last: an event whose object failed to
    mirror is mirrored again when it is retried)."""
    if dj.Event.objects.filter(id=data["id"]).exists():
        return  # mirrored by an earlier run of this event
    _object_mirror(event, data)
    # The event as dj-stripe's process() stores it: the plain payload.
    object_sync(dj.Event, data)
