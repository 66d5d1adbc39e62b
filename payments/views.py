"""The Stripe webhook endpoint: verify, store once, enqueue, answer.

Nothing else happens in the request (no Stripe call, no mirror, no document):
that is the worker's (payments.tasks.process_webhook_event). The signature is
always checked against the endpoint's own secret; unlike dj-stripe's view, no
secret is ever taken from a request header, whatever DEBUG says.
"""

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from djstripe.models import WebhookEndpoint

from . import gateway, inbox, tasks

logger = logging.getLogger(__name__)

# uuid -> (secret, tolerance, read at): the endpoint's secret without a query
# per delivery. Short-lived, so a rotated secret is followed within a minute.
_ENDPOINTS: dict = {}
_ENDPOINT_TTL = 60.0


def _endpoint(uuid) -> tuple[str, int] | None:
    cached = _ENDPOINTS.get(uuid)
    if cached and time.monotonic() - cached[2] < _ENDPOINT_TTL:
        return cached[0], cached[1]
    row = WebhookEndpoint.objects.filter(djstripe_uuid=uuid).values_list("secret", "djstripe_tolerance").first()
    if row is None or not row[0]:
        return None
    _ENDPOINTS[uuid] = (row[0], row[1], time.monotonic())
    return row[0], row[1]


_publisher: ThreadPoolExecutor | None = None
_publisher_lock = threading.Lock()


def _enqueue(event_id: int) -> None:
    """Hand the stored event to the worker. The message is published by a
    thread of this process, not the request's: the answer to Stripe does not
    wait for the broker. A message lost with the process is sent again by the
    sweeper (payments.tasks.sweep_webhook_events). Eager (tests, no broker):
    run here and now."""
    global _publisher
    if tasks.process_webhook_event.app.conf.task_always_eager:
        tasks.process_webhook_event.delay(event_id)
        return
    if _publisher is None:
        with _publisher_lock:
            if _publisher is None:  # one per process, made after gunicorn's fork
                _publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-enqueue")
    _publisher.submit(_publish, event_id)


def _publish(event_id: int) -> None:
    try:
        tasks.process_webhook_event.delay(event_id)
    except Exception:  # noqa: BLE001  the sweeper sends it later
        logger.exception("webhook event #%s not enqueued; the sweeper will", event_id)


def _object_and_time(data: dict) -> tuple[str, int | None]:
    """The event's object id and Stripe's time of the event, when they are
    what Stripe sends ("" and None otherwise: the mirror then fetches)."""
    obj = data["data"].get("object") if isinstance(data.get("data"), dict) else None
    object_id = obj.get("id") if isinstance(obj, dict) else None
    created = data.get("created")
    return (
        object_id if isinstance(object_id, str) and len(object_id) <= 255 else "",
        created if type(created) is int and 0 < created < 2**62 else None,
    )


def _too_large() -> HttpResponse:
    return HttpResponse("Payload too large.", status=413, content_type="text/plain")


@csrf_exempt
@require_POST
def stripe_webhook(request, uuid):
    limit = settings.STRIPE_WEBHOOK_MAX_BYTES
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return HttpResponseBadRequest("Bad Content-Length.")
    if announced > limit:
        return _too_large()
    body = request.read(limit + 1)
    if len(body) > limit:
        return _too_large()

    endpoint = _endpoint(uuid)
    if endpoint is None:
        return HttpResponseNotFound("No such webhook endpoint.")
    secret, tolerance = endpoint
    if not gateway.signature_valid(body, request.headers.get("Stripe-Signature", ""), secret, tolerance):
        logger.warning("webhook with a bad or missing signature refused (%s bytes)", len(body))
        return HttpResponseBadRequest("Bad signature.")
    try:
        data = json.loads(body)
        stripe_id, event_type = data["id"], data["type"]
        if not (isinstance(stripe_id, str) and isinstance(event_type, str) and stripe_id):
            raise TypeError("id and type must be strings")
    except (ValueError, KeyError, TypeError):
        return HttpResponseBadRequest("Not a Stripe event.")

    object_id, created = _object_and_time(data)
    stored = inbox.event_store(
        stripe_id=stripe_id, event_type=event_type, body=body.decode("utf-8"), object_id=object_id, created=created
    )
    if stored.enqueue:
        transaction.on_commit(lambda: _enqueue(stored.event_id))
    return HttpResponse("ok" if stored.created else "duplicate", content_type="text/plain")
