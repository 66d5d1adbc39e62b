"""The mirror: dj-stripe's copy of Stripe's objects, kept from the events.

dj-stripe's own way (djstripe Event.process) fetches each event's object again
from Stripe and syncs that: always the current state, at the cost of a call
back to Stripe per event (two per renewal: the subscription and the invoice).
An event's payload already holds its whole object as Stripe had it when the
event was made, so here:

- invoices and subscriptions are mirrored from the stored payload, with no
  call back, while it is the newest state known of that object: no other
  event about it made later (or in the same second, when the order cannot be
  told) has arrived;
- otherwise (an older event delivered late or retried, as Stripe promises no
  order; a payload without what dj-stripe expands, e.g. an invoice's
  discounts, which a payload names by id only) and for every other type,
  dj-stripe's way: the object as it is now.

- after writing a payload, it looks again: an event about the same object
  stored meanwhile may have been mirrored before this older payload was
  written (two deliveries processed at once, as Stripe promises no order), so
  then the object is fetched as it is now, which settles it. (An event stored
  after that second look is processed after this write, and writes last.)

dj-stripe still fetches what a payload lacks: a related object it has not
mirrored yet (e.g. an invoice's charge), once. The mirror serves pages and
staff; documents and orders read Stripe's current state through the gateway,
never the mirror.
"""

from djstripe.models import Event as MirroredEvent
from djstripe.models import Invoice, Subscription

from . import gateway
from .models import WebhookEvent

# Event type prefix -> the dj-stripe model of the object its payload carries.
FROM_PAYLOAD = {
    "invoice": Invoice,
    "customer.subscription": Subscription,  # .deleted too: the object, canceled
}


def _model_of(event_type: str):
    prefix, _, verb = event_type.rpartition(".")
    if prefix == "invoice" and verb == "deleted":  # a draft deleted: dj-stripe deletes the row
        return None
    return FROM_PAYLOAD.get(prefix)


def newer_event_known(event: WebhookEvent) -> bool:
    """Whether another stored event about the same object was made after this
    one, or in the same second (then which is newer cannot be told)."""
    if not event.object_id or event.stripe_created is None:
        return True  # nothing to compare with: assume the payload may be stale
    return (
        WebhookEvent.objects.filter(object_id=event.object_id, stripe_created__gte=event.stripe_created)
        .exclude(pk=event.pk)
        .exists()
    )


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


def event_mirror(*, event: WebhookEvent, data: dict) -> None:
    """Mirror the event's object into dj-stripe's models, and dj-stripe's Event
    row once per event id (written last: an event whose object failed to
    mirror is mirrored again when it is retried)."""
    if MirroredEvent.objects.filter(id=data["id"]).exists():
        return  # mirrored by an earlier run of this event
    model = _model_of(data["type"])
    obj = (data.get("data") or {}).get("object") or {}
    if model is None or not obj.get("id") or not payload_complete(model, obj) or newer_event_known(event):
        # dj-stripe's way: its Event row and the object fetched as it is now,
        # in dj-stripe's own transaction.
        MirroredEvent.process(data)
        return
    model.sync_from_stripe_data(gateway.sdk_object(obj))
    if newer_event_known(event):
        # A newer event arrived while this payload was written, and may have
        # been mirrored first: the object as it is now (and the Event row).
        MirroredEvent.process(data)
        return
    # The event as dj-stripe's process() stores it: the plain payload (its
    # `request` read as a dict).
    MirroredEvent.sync_from_stripe_data(data)
