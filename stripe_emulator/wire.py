"""Stripe's wire format: nested form parameters, errors, pagination, expansion."""

import re
from urllib.parse import parse_qsl

_KEY_PART = re.compile(r"\[([^\]]*)\]")


class StripeError(Exception):
    """An error answered with Stripe's error object and HTTP status."""

    def __init__(self, status, type_, message, code=None, param=None, decline_code=None, **extra):
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra  # e.g. charge / payment_intent on card errors

    def body(self, request_id):
        # Stripe leaves out what does not apply (no `param`, `decline_code`...).
        err = {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "decline_code": self.decline_code,
            "doc_url": f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}" if self.code else None,
            "request_log_url": f"https://dashboard.stripe.com/test/logs/{request_id}",
        }
        err.update(self.extra)
        return {"error": {key: value for key, value in err.items() if value is not None}}


def invalid(message, param=None, code="parameter_invalid"):
    return StripeError(400, "invalid_request_error", message, code=code, param=param)


def missing(param):
    return StripeError(400, "invalid_request_error", f"Missing required param: {param}.",
                       code="parameter_missing", param=param)


def not_found(kind, id_, param="id", status=404):
    """`resource_missing`: 404 for the object a URL names, 400 (with `param`)
    for one a request parameter names."""
    return StripeError(status, "invalid_request_error", f"No such {kind}: '{id_}'",
                       code="resource_missing", param=param)


def parse_form(text):
    """Decode `a[b][0][c]=1&expand[]=x` into nested dicts and lists."""
    root = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        head = key.split("[", 1)[0]
        parts = [head] + _KEY_PART.findall(key[len(head):])
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":  # `x[]` appends
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise invalid(f"Invalid value for {key}.", param=key)
    return _listify(root)


def _listify(node):
    # Dicts keyed 0..n (from `x[0]=..` or `x[]=..`) are arrays on the wire.
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


# --- parameter coercion -------------------------------------------------------

def as_int(params, name, required=False, minimum=None, maximum=None, label=None):
    label = label or name
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing(label)
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid integer: {value}", param=label, code="parameter_invalid_integer") from None
    if minimum is not None and number < minimum:
        raise invalid(f"This value must be greater than or equal to {minimum}.", param=label)
    if maximum is not None and number > maximum:
        raise invalid(f"This value must be less than or equal to {maximum}.", param=label)
    return number


def as_bool(params, name, default=None):
    value = params.get(name)
    if value is None or value == "":
        return default
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise invalid(f"Invalid boolean: {value}", param=name)


def as_str(params, name, required=False, choices=None, label=None):
    label = label or name
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing(label)
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid string: {value!r}", param=label)
    if choices and value not in choices:
        raise invalid(f"Invalid {label}: must be one of {', '.join(choices)}", param=label)
    return value


def as_dict(params, name):
    value = params.get(name)
    if value in (None, ""):
        return {}
    if isinstance(value, list):  # `x[0]=..` style where a hash was expected
        value = {str(i): v for i, v in enumerate(value)}
    if not isinstance(value, dict):
        raise invalid(f"Invalid hash: {name}", param=name)
    return value


def as_list(params, name):
    value = params.get(name)
    if value in (None, ""):
        return []
    if isinstance(value, dict):
        return list(value.values())
    if not isinstance(value, list):
        return [value]
    return value


def metadata(params, current=None):
    """Apply Stripe's metadata semantics: merge; empty value deletes a key;
    `metadata=` (empty) clears all."""
    if "metadata" not in params:
        return dict(current or {})
    raw = params["metadata"]
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid("Invalid metadata: must be a hash.", param="metadata")
    result = dict(current or {})
    for key, value in raw.items():
        if value == "":
            result.pop(key, None)
        else:
            result[key] = str(value)
    if len(result) > 50:
        raise invalid("Metadata can have at most 50 keys.", param="metadata")
    return result


def created_filter(params, name="created"):
    """A predicate for Stripe's `created` range filter (int or gt/gte/lt/lte)."""
    spec = params.get(name)
    if spec in (None, ""):
        return lambda obj: True
    if not isinstance(spec, dict):
        exact = as_int(params, name)
        return lambda obj: obj.get(name) == exact
    bounds = {op: as_int(spec, op, label=f"{name}[{op}]") for op in ("gt", "gte", "lt", "lte")}
    checks = {
        "gt": lambda v, b: v > b, "gte": lambda v, b: v >= b,
        "lt": lambda v, b: v < b, "lte": lambda v, b: v <= b,
    }
    return lambda obj: all(b is None or checks[op](obj.get(name), b) for op, b in bounds.items())


# --- lists ---------------------------------------------------------------------

def paginate(items, params, url):
    """Slice `items` (newest first) the way Stripe's list endpoints do."""
    limit = as_int(params, "limit", minimum=1, maximum=100)
    limit = 10 if limit is None else limit
    after, before = params.get("starting_after"), params.get("ending_before")
    ids = [item["id"] for item in items]
    if after:
        if after not in ids:
            raise not_found("object", after, param="starting_after", status=400)
        start = ids.index(after) + 1
        page = items[start:start + limit]
        has_more = start + limit < len(items)
    elif before:
        if before not in ids:
            raise not_found("object", before, param="ending_before", status=400)
        end = ids.index(before)
        page = items[max(0, end - limit):end]
        has_more = end - limit > 0
    else:
        page = items[:limit]
        has_more = len(items) > limit
    return list_object(page, url, has_more)


def list_object(data, url, has_more=False):
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


# --- expansion -------------------------------------------------------------------

def expand_paths(params):
    return [p for p in as_list(params, "expand") if isinstance(p, str) and p]


def expand(obj, paths, resolve, include):
    """Replace ids at dotted `paths` by the objects they name.

    `resolve(id)` returns a fresh copy of a stored object or None; `include(obj,
    field)` returns the value of a field Stripe only sends when expanded (e.g. a
    checkout session's `line_items`), or None.  Unknown paths are ignored, so the
    many `expand` lists dj-stripe sends all work."""
    for path in paths:
        _expand_one(obj, path.split("."), resolve, include)
    return obj


def _expand_one(node, parts, resolve, include):
    if isinstance(node, list):
        for item in node:
            _expand_one(item, parts, resolve, include)
        return
    if not isinstance(node, dict) or not parts:
        return
    field, rest = parts[0], parts[1:]
    if field not in node:
        value = include(node, field)
        if value is None:
            return
        node[field] = value
    value = node[field]
    if isinstance(value, str):
        found = resolve(value)
        if found is None:
            return
        node[field] = value = found
    elif isinstance(value, list):  # a list of ids (e.g. `discounts`): each expands
        node[field] = value = [(resolve(v) or v) if isinstance(v, str) else v for v in value]
    _expand_one(value, rest, resolve, include)
