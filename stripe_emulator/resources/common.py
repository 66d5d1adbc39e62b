"""Helpers shared by the resource modules: rendering with `expand[]`, lists."""

import json

from ..wire import as_list, created_filter, expand, expand_paths, paginate

# (object type, field) -> fn(app, obj) for fields Stripe sends only when
# expanded, e.g. a checkout session's `line_items`. Filled by the modules.
INCLUDES = {}


def snapshot(obj):
    """A deep copy of a stored object (what the API would return right now)."""
    return json.loads(json.dumps(obj))


def previous_attributes(before, after):
    """Stripe's `previous_attributes`: old values of the top-level keys that changed."""
    return {key: before.get(key) for key in after if before.get(key) != after[key]}


def deleted(req, type_):
    """The `{"id", "object", "deleted": true}` answer for a deleted object, or None."""
    id_ = req.args["id"]
    if req.store.deleted.get(id_) == type_:
        return {"id": id_, "object": type_, "deleted": True}
    return None


def _expand(req, obj):
    store = req.store

    def resolve(id_):
        found = store.get(id_)
        return snapshot(found) if found is not None else None

    def include(node, field):
        fn = INCLUDES.get((node.get("object"), field))
        return fn(req.app, node) if fn else None

    return expand(obj, expand_paths(req.params), resolve, include)


def render(req, obj):
    """A response copy of stored `obj`, with the request's expansions."""
    return _expand(req, snapshot(obj))


def render_list(req, type_, url, filters=()):
    """List `type_` newest first, filtered by `filters` (predicates) and the
    standard `created` range, paginated and expanded."""
    created = created_filter(req.params)
    items = req.store.all(type_, lambda o: created(o) and all(f(o) for f in filters))
    return _expand(req, snapshot(paginate(items, req.params, url)))


def eq_filter(req, param, field=None):
    """A predicate keeping objects whose `field` equals the `param` given, if any."""
    value = req.params.get(param)
    if value in (None, ""):
        return lambda obj: True
    return lambda obj: obj.get(field or param) == value


def in_filter(req, param, field):
    values = as_list(req.params, param)
    if not values:
        return lambda obj: True
    return lambda obj: obj.get(field) in values


class Background:
    """Stands in for a request in background jobs (refund settlement, disputes,
    session expiry): same `app`/`store`/`emit`, no request id on the events."""

    request_id = None
    idempotency_key = None
    params = {}

    def __init__(self, app):
        self.app = app
        self.store = app.store

    def emit(self, type_, obj, previous_attributes=None):
        return self.app.webhooks.emit(type_, obj, previous_attributes)
