"""Requests checked the way Stripe checks them, against the parameters the
official SDK declares for each method (`data/sdk_schema.json`, written by
`sdk_schema.py`): unknown parameters, top-level or nested (400
`parameter_unknown`), wrong types (`parameter_invalid_integer`, invalid
booleans, hashes where a string belongs...), values outside an enum, empty
strings where a value cannot be unset (`parameter_invalid_empty`), missing
required parameters, and `expand[]` paths that name nothing expandable or go
deeper than four levels.

On by default (`Config.strict_params`); `--lenient-params` turns it off as an
escape hatch."""

import json
import re
from functools import lru_cache
from pathlib import Path

from .wire import StripeError

SCHEMA_PATH = Path(__file__).parent / "data" / "sdk_schema.json"
MAX_EXPAND_DEPTH = 4
_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_KINDS = {"s": "string", "i": "integer", "n": "decimal", "b": "boolean"}


@lru_cache(maxsize=1)
def schema():
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


def route_key(method, pattern):
    return f"{method} {re.sub(r'{[^}]*}', '{}', pattern)}"


def check(method, pattern, params):
    """Raise Stripe's 400 error for the first thing wrong with `params` (a
    parsed form) for the route `method pattern`; routes the SDK does not
    declare are not checked."""
    entry = schema()["routes"].get(route_key(method, pattern))
    if entry is None:
        return
    _object(entry["params"], params, None)
    if "returns" in entry and params.get("expand"):
        check_expand(entry["returns"], params["expand"])


def _error(message, param, code=None):
    return StripeError(400, "invalid_request_error", message, code=code, param=param)


def _name(prefix, key):
    return f"{prefix}[{key}]" if prefix else key


def _object(node, value, path):
    if not isinstance(value, dict):
        raise _error(f"Invalid object{'' if path is None else f': {path}'}", path)
    fields = node["o"]
    for key in value:
        if key not in fields:
            raise _error(f"Received unknown parameter: {_name(path, key)}", _name(path, key), "parameter_unknown")
    for key, item in value.items():
        _value(fields[key], item, _name(path, key))
    for key in node["r"]:
        if key not in value:
            raise _error(f"Missing required param: {_name(path, key)}.", _name(path, key), "parameter_missing")


def _accepts_empty(node):
    return isinstance(node, dict) and ("u" in node and any(_accepts_empty(n) for n in node["u"])
                                      or node.get("e") == [""])


def _value(node, value, path):
    if value == "" and not _accepts_empty(node) and node != "*":
        raise _error(f"You passed an empty string for '{path}'. We assume empty values are an attempt to unset a "
                     f"parameter; however '{path}' cannot be unset. You should remove '{path}' from your request or "
                     "supply a non-empty value.", path, "parameter_invalid_empty")
    if isinstance(node, dict) and "u" in node:
        _union(node["u"], value, path)
    else:
        _single(node, value, path)


def _union(alternatives, value, path):
    if value == "" and any(_accepts_empty(a) for a in alternatives):
        return
    errors = []
    for alternative in sorted(alternatives, key=lambda a: not _shaped_like(a, value)):
        try:
            _single(alternative, value, path)
            return
        except StripeError as err:
            errors.append(err)
    raise errors[0]


def _shaped_like(node, value):
    """Whether `value` has the shape `node` wants, to report the most
    telling error of a union (a hash for a hash, a list for a list)."""
    if isinstance(value, dict):
        return isinstance(node, dict) and ("o" in node or "m" in node)
    if isinstance(value, list):
        return isinstance(node, dict) and "a" in node
    return not isinstance(node, dict) or "e" in node


def _single(node, value, path):
    if node == "*":
        return
    if isinstance(node, str):
        _scalar(node, value, path)
    elif "e" in node:
        if not isinstance(value, str) or value not in node["e"]:
            allowed = [v for v in node["e"] if v != ""]
            choices = ", ".join(allowed[:-1]) + (", or " if len(allowed) > 2 else " or ") + allowed[-1] \
                if len(allowed) > 1 else allowed[0]
            raise _error(f"Invalid {path}: must be {'one of ' if len(allowed) > 1 else ''}{choices}", path)
    elif "o" in node:
        _object(node, value, path)
    elif "a" in node:
        if isinstance(value, dict) and all(k.isdigit() for k in value):
            value = [value[k] for k in sorted(value, key=int)]
        if not isinstance(value, list):
            raise _error("Invalid array", path)
        for i, item in enumerate(value):
            _value(node["a"], item, f"{path}[{i}]")
    elif "m" in node:
        if not isinstance(value, dict):
            raise _error(f"Invalid object: {path}" if value != "" else "Invalid hash", path)
        for key, item in value.items():
            if item != "":  # an empty value unsets a key
                _value(node["m"], item, _name(path, key))


def _scalar(kind, value, path):
    if isinstance(value, (dict, list)):
        raise _error(f"Invalid {_KINDS[kind]}: {_shown(value)}", path)
    if kind == "i" and not _INTEGER.match(value):
        raise _error(f"Invalid integer: {value}", path, "parameter_invalid_integer")
    if kind == "n" and not _NUMBER.match(value):
        raise _error(f"Invalid decimal: {value}", path)
    if kind == "b" and value not in ("true", "false"):
        raise _error(f"Invalid boolean: {value}", path)


def _shown(value):
    return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}" if isinstance(value, dict) \
        else "[" + ", ".join(_shown(v) for v in value) + "]" if isinstance(value, list) else str(value)


# --- expand[] -------------------------------------------------------------------------

def check_expand(returns, paths):
    """Each `expand[]` path must name, step by step, a field that expands (an
    id into its object, or a field only sent when expanded), through lists
    (`data`) and sub-objects; at most four levels."""
    if isinstance(paths, dict):
        paths = list(paths.values())
    if not isinstance(paths, list):
        paths = [paths]
    classes = schema()["classes"]
    kind, root = returns
    for path in paths:
        if not isinstance(path, str):
            continue
        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise StripeError(400, "invalid_request_error", "You cannot expand more than 4 levels of a property. "
                              f"Property: {path}", code="property_expansion_max_depth")
        current = ["l", root] if kind == "list" else ["o", root]
        for i, part in enumerate(parts):
            current = _step(classes, current, part, last=i == len(parts) - 1, top=i == 0 and kind == "list")
            if current is None:  # past a polymorphic field: Stripe decides per object
                break


def _step(classes, current, part, last, top):
    if current[0] == "l":
        if part != "data":
            hint = f" You may want to try expanding 'data.{part}' instead." if top else ""
            raise _error(f"This property cannot be expanded ({part}).{hint}", None)
        return ["o", current[1]] if not last else _cannot(part)
    target = current[1]
    if target == "*":
        return None
    field = classes.get(target, {}).get(part)
    if field is None:
        return _cannot(part)
    if field[0] == "x":
        return ["o", field[1][0]] if len(field[1]) == 1 else ["o", "*"]
    if field[0] == "i":
        return [field[2], field[1]]
    if field[0] == "l":
        return ["l", field[1]] if not last else _cannot(part)
    if last:  # a plain sub-object is always there: nothing to expand
        return _cannot(part)
    return ["o", field[1]]


def _cannot(part):
    raise _error(f"This property cannot be expanded ({part}).", None)
