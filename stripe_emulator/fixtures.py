"""Object templates taken from Stripe's own fixture file (data/fixtures3.json).

Every object the emulator returns starts as a *blank* copy of the fixture of its
type: same keys and nesting, example values replaced by null / [] / {}.  The
resource modules then fill in real values through `make`/`shape`, which refuse
keys the fixture does not have, so a typo can never add a key Stripe lacks.
"""

import json
from functools import lru_cache
from pathlib import Path

FIXTURES_PATH = Path(__file__).parent / "data" / "fixtures3.json"
# Keys the fixture file still has that the pinned API version no longer sends:
# basil moved an invoice's subscription to `parent.subscription_details`.
STALE = {"invoice": {"subscription"}}


@lru_cache(maxsize=1)
def _resources():
    with open(FIXTURES_PATH, encoding="utf-8") as f:
        return json.load(f)["resources"]


def template(type_, path=None):
    """The raw fixture of `type_` (or of the sub-object at dotted `path`)."""
    node = _resources()[type_]
    for part in path.split(".") if path else ():
        node = node[part]
    return node


def _blank(node):
    # Nested objects become null: a resource fills in the sub-objects it really
    # has with `shape`, the rest stay null as Stripe sends them.
    if isinstance(node, list):
        return []
    return None


def _fill(type_, path, values, extra_ok=()):
    tpl = template(type_, path)
    stale = STALE.get(type_, ()) if path is None else ()
    obj = {key: _blank(value) for key, value in tpl.items() if key not in stale}
    for key, value in values.items():
        if key not in obj and key not in extra_ok:
            where = f"{type_}.{path}" if path else type_
            raise KeyError(f"{where} has no key {key!r} in the fixture")
        obj[key] = value
    return obj


def make(type_, extra_ok=(), **values):
    """A top-level object of `type_` with the given values, the rest blank.

    `extra_ok` names keys Stripe adds only in some states (e.g. a failed
    refund's `failure_reason`) and the fixture therefore lacks."""
    obj = _fill(type_, None, values, extra_ok)
    if "object" in obj:
        obj["object"] = type_
    if "livemode" in obj:
        obj["livemode"] = values.get("livemode", False)
    if "metadata" in obj and obj["metadata"] is None and "metadata" not in values:
        obj["metadata"] = {}
    return obj


def shape(type_, path, **values):
    """A sub-object (e.g. shape("charge", "payment_method_details.card", ...))."""
    return _fill(type_, path, values)


def address(**values):
    return {key: values.get(key) for key in ("city", "country", "line1", "line2", "postal_code", "state")}
