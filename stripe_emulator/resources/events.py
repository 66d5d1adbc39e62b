"""Events (read-only) and webhook endpoints."""

import fnmatch
import secrets
from urllib.parse import urlsplit

from .. import fixtures
from ..wire import as_bool, as_list, as_str, invalid, metadata, missing
from .common import deleted, render, render_list


def retrieve_event(req):
    return render(req, req.store.require(req.args["id"], "event"))


def list_events(req):
    filters = []
    type_ = as_str(req.params, "type")
    if type_:
        # Stripe allows one `*` wildcard, e.g. `type=charge.*`.
        filters.append(lambda e: fnmatch.fnmatchcase(e["type"], type_))
    types = as_list(req.params, "types")
    if types:
        filters.append(lambda e: e["type"] in types)
    return render_list(req, "event", "/v1/events", filters)


def _url(params, required):
    url = as_str(params, "url", required=required)
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        raise invalid("Invalid URL: URL must be publicly accessible and use http or https.", param="url",
                      code="url_invalid")
    return url


def _enabled_events(params, required):
    if "enabled_events" not in params:
        if required:
            raise missing("enabled_events")
        return None
    events = [str(e) for e in as_list(params, "enabled_events")]
    if not events:
        raise missing("enabled_events")
    for name in events:
        if name != "*" and ("." not in name or " " in name):
            raise invalid(f"Invalid enabled_events: {name} is not a valid event type.", param="enabled_events")
    return events


def create_endpoint(req):
    params, store = req.params, req.store
    endpoint = fixtures.make(
        "webhook_endpoint",
        id=store.new_id("we_"),
        api_version=as_str(params, "api_version"),
        created=store.now(),
        description=as_str(params, "description"),
        enabled_events=_enabled_events(params, True),
        metadata=metadata(params),
        status="enabled",
        url=_url(params, True),
    )
    secret = "whsec_" + secrets.token_hex(16)
    store.add(endpoint, {"secret": secret})
    # Only the create response carries the signing secret, as at Stripe.
    return dict(render(req, endpoint), secret=secret)


def retrieve_endpoint(req):
    return deleted(req, "webhook_endpoint") or render(
        req, req.store.require(req.args["id"], "webhook_endpoint", kind="webhook endpoint"))


def update_endpoint(req):
    endpoint = req.store.require(req.args["id"], "webhook_endpoint", kind="webhook endpoint")
    params = req.params
    if "url" in params:
        endpoint["url"] = _url(params, True)
    events = _enabled_events(params, False)
    if events is not None:
        endpoint["enabled_events"] = events
    if "description" in params:
        endpoint["description"] = as_str(params, "description")
    if "disabled" in params:
        endpoint["status"] = "disabled" if as_bool(params, "disabled") else "enabled"
    endpoint["metadata"] = metadata(params, endpoint["metadata"])
    return render(req, endpoint)


def delete_endpoint(req):
    endpoint = req.store.require(req.args["id"], "webhook_endpoint", kind="webhook endpoint")
    req.store.remove(endpoint["id"])
    return {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}


def list_endpoints(req):
    return render_list(req, "webhook_endpoint", "/v1/webhook_endpoints")


ROUTES = [
    ("GET", "/v1/events", list_events),
    ("GET", "/v1/events/{id}", retrieve_event),
    ("POST", "/v1/webhook_endpoints", create_endpoint),
    ("GET", "/v1/webhook_endpoints", list_endpoints),
    ("GET", "/v1/webhook_endpoints/{id}", retrieve_endpoint),
    ("POST", "/v1/webhook_endpoints/{id}", update_endpoint),
    ("DELETE", "/v1/webhook_endpoints/{id}", delete_endpoint),
]
