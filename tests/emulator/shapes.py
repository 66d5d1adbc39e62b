"""The yardstick of every object the emulator returns: the fields the official
SDK's resource classes declare for the API version it targets (the dahlia
generation the shop pins), with their types and enum values, and the keys
Stripe always sends (those its fixture of the object has, fixtures3.json).

`problems(obj)` lists, as strings, every key the pinned version lacks, every
key Stripe always sends that is missing, every value of the wrong type or
outside its enum, every null where the SDK declares no null, in the object
and (recursively) in its sub-objects, lists and expanded objects."""

import decimal
import importlib
import json
import re
from pathlib import Path

from stripe._object_classes import OBJECT_CLASSES

from stripe_emulator.sdk_schema import fields

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "stripe" / "fixtures3.json"
VENDORED = Path(__file__).resolve().parents[2] / "stripe_emulator" / "data" / "fixtures3.json"
FIXTURES = json.loads((SHARED if SHARED.exists() else VENDORED).read_text())["resources"]
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


def class_of(object_name):
    module, name = OBJECT_CLASSES[object_name]
    return getattr(importlib.import_module(module), name)


def problems(obj, path=None, absent_ok=()):
    kind = obj.get("object")
    path = path or kind
    if kind == "list":
        return _list(obj, None, path)
    if kind not in OBJECT_CLASSES:
        return [f"{path}: unknown object type {kind!r}"]
    fixture = FIXTURES.get(("deleted_" if obj.get("deleted") else "") + kind)
    if absent_ok and isinstance(fixture, dict):
        fixture = {k: v for k, v in fixture.items() if k not in absent_ok}
    found = _object(obj, class_of(kind), fixture, path)
    if kind == "event" and isinstance((obj.get("data") or {}).get("object"), dict):
        # An upcoming invoice has no id yet: Stripe leaves the key out.
        absent = ("id",) if obj.get("type") == "invoice.upcoming" else ()
        found += problems(obj["data"]["object"], f"{path}({obj.get('type')}).data.object", absent)
    return found


def _object(obj, cls, fixture, path):
    declared = fields(cls)
    found = [f"{path}: unknown key {key}" for key in obj if key not in declared]
    if isinstance(fixture, dict):
        found += [f"{path}: missing {key}" for key in fixture if key in declared and key not in obj]
    for key, value in obj.items():
        if key in declared:
            sub = fixture.get(key) if isinstance(fixture, dict) else None
            found += _value(value, declared[key], sub, f"{path}.{key}")
    return found


def _value(value, description, fixture, path):
    kind = description[0]
    if kind == "nullable":
        return [] if value is None else _value(value, description[1], fixture, path)
    if value is None:
        return [f"{path}: null, the SDK declares no null here"]
    if kind == "any" or kind == "map":
        return [] if kind == "any" or isinstance(value, dict) else [f"{path}: not a hash"]
    if kind == "str":
        return [] if isinstance(value, str) else [f"{path}: {value!r} is not a string"]
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not an integer"]
    if kind == "num":
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else [f"{path}: not a number"]
    if kind == "decimal":  # Stripe sends decimals as strings (the SDK's to_dict() gives Decimals)
        ok = isinstance(value, decimal.Decimal) or isinstance(value, str) and _DECIMAL.match(value)
        return [] if ok else [f"{path}: {value!r} is not a decimal string"]
    if kind == "bool":
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    if kind == "enum":
        return [] if value in description[1] else [f"{path}: {value!r} is not one of {description[1]}"]
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: not an array"]
        item_fixture = fixture[0] if isinstance(fixture, list) and fixture else None
        return [p for i, item in enumerate(value) for p in _value(item, description[1], item_fixture, f"{path}[{i}]")]
    if kind == "listobject":
        return _list(value, description[1], path)
    if kind == "class":
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        if isinstance(value.get("object"), str) and value["object"] in OBJECT_CLASSES:
            return problems(value, path)  # a nested resource (e.g. a payment method in an error)
        return _object(value, description[1], fixture, path)
    if kind == "expandable":
        if isinstance(value, str):
            return []
        if isinstance(value, dict) and value.get("object") in OBJECT_CLASSES:
            return problems(value, path)
        return [f"{path}: neither an id nor an object"]
    if kind == "union":
        attempts = [_value(value, alternative, fixture, path) for alternative in description[1]]
        return [] if any(not a for a in attempts) else min(attempts, key=len)
    return [f"{path}: cannot check {description!r}"]


def _list(value, item, path):
    if not isinstance(value, dict) or value.get("object") != "list":
        return [f"{path}: not a list object"]
    found = [f"{path}: list key {key}" for key in value if key not in ("object", "data", "has_more", "url")]
    found += [f"{path}: list lacks {key}" for key in ("data", "has_more", "url") if key not in value]
    for i, entry in enumerate(value.get("data", [])):
        where = f"{path}.data[{i}]"
        found += problems(entry, where) if item is None else _value(entry, item, None, where)
    return found


def collect(value, seen):
    """Every object type inside `value` (one example each)."""
    if isinstance(value, dict):
        if isinstance(value.get("object"), str) and value["object"] != "list":
            seen.setdefault(value["object"], value)
        for item in value.values():
            collect(item, seen)
    elif isinstance(value, list):
        for item in value:
            collect(item, seen)
    return seen
