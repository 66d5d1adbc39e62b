"""Generate `data/sdk_schema.json` from the official stripe-python SDK.

    python -m stripe_emulator.sdk_schema            # rewrite the data file
    python -m stripe_emulator.sdk_schema --check    # exit 1 if it is out of date

The emulator itself imports nothing but the standard library, so it never
imports the SDK: this script does, once, and writes what the emulator needs
for every API route it serves (`app.API_ROUTES`):

- `params`: the parameters the SDK declares for that method (its typed
  `stripe.params.*` classes): names, nesting, lists, hashes, scalar types,
  enums (`Literal`), required keys, and where an empty string may unset a
  value. `params.py` refuses anything else, as Stripe does.
- `returns`: the class of the object the method answers (a list of it for
  list methods), and `classes`: for each class reachable from those, the
  fields an `expand[]` path may traverse or expand (ids that expand into
  objects, lists, sub-objects, fields only sent when expanded).

The data is pinned to the SDK version recorded in the file (the shop pins
the same API generation, dahlia); a test regenerates it and fails when the
installed SDK or the route table no longer matches, so an SDK upgrade is a
reviewed change of this file rather than a silent change of behaviour.

`describe()` is also the yardstick of the emulator's shape tests: it reads
the SDK's resource classes (fields, types, enums) the same way.
"""

import argparse
import ast
import decimal
import functools
import importlib
import json
import re
import sys
import typing
from pathlib import Path

DATA_PATH = Path(__file__).parent / "data" / "sdk_schema.json"
FIXTURES_PATH = Path(__file__).parent / "data" / "fixtures3.json"

# Routes of the emulator that are not part of the SDK's API surface.
# The SDK reads file contents from files.stripe.com; it no longer declares the
# old list of a charge's refunds (`refunds` on the charge, or /v1/refunds?charge=).
NOT_IN_SDK = {"GET /v1/files/{}/contents", "GET /v1/charges/{}/refunds"}


# --- resolving the SDK's type annotations -------------------------------------------

@functools.cache
def _imports(module_name):
    """Names a module imports (TYPE_CHECKING-only imports included): name -> (module, attribute)."""
    module = importlib.import_module(module_name)
    found = {}
    for node in ast.walk(ast.parse(Path(module.__file__).read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found[alias.asname or alias.name] = (node.module, alias.name)
    return found


def _resolve(name, module_name):
    module = importlib.import_module(module_name)
    if hasattr(module, name):
        return getattr(module, name)
    source = _imports(module_name).get(name)
    if source is None:
        raise LookupError(f"cannot resolve {name!r} in {module_name}")
    return getattr(importlib.import_module(source[0]), source[1])


def _evaluate(ref, module_name):
    arg = ref.__forward_arg__
    if arg.isidentifier():
        return _resolve(arg, module_name)
    namespace = dict(vars(importlib.import_module(module_name)))
    for name in re.findall(r"[A-Za-z_]\w*", arg):
        if name not in namespace and name in _imports(module_name):
            namespace[name] = _resolve(name, module_name)
    return eval(arg, namespace)  # the SDK's own annotation text


def _stripe_object():
    from stripe._stripe_object import StripeObject
    return StripeObject


def _is_typeddict(tp):
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def _is_resource(tp):
    return isinstance(tp, type) and issubclass(tp, _stripe_object())


def describe(tp, module_name):
    """A plain description of one annotation of the SDK:
    ("str"|"int"|"num"|"decimal"|"bool"|"any",), ("enum", values), ("class", cls),
    ("expandable", [classes]), ("array", item), ("listobject", item),
    ("map", value), ("union", [alternatives]); each wrapped in
    ("nullable", inner) when None is allowed."""
    from stripe._list_object import ListObject
    from stripe._stripe_object import UntypedStripeObject

    if isinstance(tp, typing.ForwardRef):
        return describe(_evaluate(tp, module_name), module_name)
    if isinstance(tp, str):
        return describe(typing.ForwardRef(tp), module_name)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.NotRequired, typing.Required):
        return describe(args[0], module_name)
    if tp is type(None):
        return ("none",)
    if tp is str:
        return ("str",)
    if tp is bool:
        return ("bool",)
    if tp is int:
        return ("int",)
    if tp is float:
        return ("num",)
    if tp is decimal.Decimal:
        return ("decimal",)  # a string on the wire: "12.5"
    if tp is typing.Any or tp is object:
        return ("any",)
    if origin is typing.Literal:
        return ("enum", list(args))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", ())):
        return _union([describe(arg, module_name) for arg in args])
    if origin is list:
        return ("array", describe(args[0], module_name))
    if origin is dict:
        return ("map", describe(args[1], module_name))
    if origin is UntypedStripeObject or tp is UntypedStripeObject:
        return ("map", describe(args[0], module_name) if args else ("any",))
    if origin is ListObject:
        return ("listobject", describe(args[0], module_name))
    if _is_typeddict(tp) or _is_resource(tp):
        return ("class", tp)
    raise TypeError(f"unexpected annotation {tp!r} in {module_name}")


def _union(alternatives):
    nullable = any(a == ("none",) for a in alternatives)
    alternatives = [a for a in alternatives if a != ("none",)]
    literals = [v for a in alternatives if a[0] == "enum" for v in a[1]]
    rest = [a for a in alternatives if a[0] != "enum"]
    classes = [a[1] for a in rest if a[0] == "class" and _is_resource(a[1])]
    if ("str",) in rest and classes and all(a in (("str",),) or a[0] == "class" for a in rest):
        # ExpandableField[T] = Union[str, T]: an id, or the object when expanded.
        result = ("expandable", classes)
    else:
        nonempty = [v for v in literals if v != ""]
        if nonempty and ("str",) in rest:
            rest.remove(("str",))  # `Literal[...] | str`: the SDK's escape hatch for future values
        parts = ([("enum", nonempty)] if nonempty else []) + _dedupe(rest) + ([("enum", [""])] if "" in literals
                                                                               else [])
        result = parts[0] if len(parts) == 1 else ("union", parts)
    return ("nullable", result) if nullable else result


def _dedupe(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def fields(cls):
    """A resource (or sub-object) class's declared fields: name -> description."""
    hints = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("stripe._stripe_object") or klass in (object, dict):
            continue
        for name, tp in vars(klass).get("__annotations__", {}).items():
            if name.startswith("_") or name.isupper():
                continue
            hints[name] = describe(tp, klass.__module__)
    return hints


def class_key(cls):
    return f"{cls.__module__.removeprefix('stripe.')}:{cls.__qualname__}"


# --- the SDK's endpoints -----------------------------------------------------------

def _services():
    import stripe

    root = Path(stripe.__file__).parent
    for path in sorted(root.rglob("_*_service.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == "v2":
            continue
        yield "stripe." + ".".join(relative.with_suffix("").parts)


def _constant(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Subscript):  # Optional["XParams"]
        return _constant(node.slice)
    return None


def sdk_endpoints():
    """(METHOD, normalized path) -> (params class, return annotation, module) for
    every v1 method of the SDK's services."""
    found = {}
    for module_name in _services():
        module = importlib.import_module(module_name)
        tree = ast.parse(Path(module.__file__).read_text())
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            params = next((_constant(a.annotation) for a in func.args.args if a.arg == "params"), None)
            call = next((n for n in ast.walk(func) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                         and n.func.attr == "_request"), None)
            if params is None or call is None or len(call.args) < 2:
                continue
            method = _constant(call.args[0])
            target = call.args[1]
            if isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute):
                target = target.func.value
            path = _constant(target)
            if not method or not path or not path.startswith("/v1/"):
                continue
            key = f"{method.upper()} {normalize(path)}"
            found.setdefault(key, (_resolve(params, module_name), _constant(func.returns), module_name))
    return found


def normalize(path):
    return re.sub(r"\{[^}]*\}", "{}", path)


# --- parameters -----------------------------------------------------------------------

def _request_options():
    from stripe._request_options import RequestOptions
    return set(RequestOptions.__annotations__)


def param_node(description):
    """The compact JSON form `params.py` reads: "s" "i" "n" "b" "*",
    {"e": [...]}, {"o": {...}, "r": [...]}, {"a": ...}, {"m": ...}, {"u": [...]}."""
    kind = description[0]
    if kind == "nullable":
        return param_node(description[1])
    if kind in ("str", "int", "num", "decimal", "bool", "any"):
        return {"str": "s", "int": "i", "num": "n", "decimal": "n", "bool": "b", "any": "*"}[kind]
    if kind == "enum":
        values = description[1]
        if all(isinstance(v, bool) for v in values):
            return "b"
        return {"e": [str(v) for v in values]}
    if kind == "array":
        return {"a": param_node(description[1])}
    if kind == "map":
        return {"m": param_node(description[1])}
    if kind == "union":
        return {"u": _dedupe([param_node(a) for a in description[1]])}
    if kind == "class":
        return typeddict_node(description[1])
    raise TypeError(f"unexpected parameter type {description!r}")


def typeddict_node(cls, top=False):
    names = set(cls.__annotations__)
    if top:
        names -= _request_options()  # api_key, idempotency_key...: options, not parameters
    return {
        "o": {name: param_node(describe(cls.__annotations__[name], cls.__module__)) for name in sorted(names)},
        "r": sorted(name for name in cls.__required_keys__ if name in names),
    }


# --- objects and what expand[] may reach -------------------------------------------------

def _fixtures():
    return json.loads(FIXTURES_PATH.read_text())["resources"]


def _object_names():
    from stripe._object_classes import OBJECT_CLASSES
    names = {}
    for name, (module, attr) in OBJECT_CLASSES.items():
        names.setdefault(f"{module.removeprefix('stripe.')}:{attr}", name)
    return names


def _return_class(annotation, module_name):
    """("one"|"list", class) for a service method's return annotation."""
    description = describe(annotation, module_name)
    if description[0] == "listobject":
        return "list", description[1][1]
    if description[0] == "class":
        return "one", description[1]
    return None


class _Graph:
    """What expand[] may traverse, per class: field -> ["x", targets]
    (an id that expands), ["l", item] (a list object: `data`), ["o", class]
    (a sub-object, or a list of them), ["i", target] (a field only sent when
    expanded: the SDK declares it, Stripe's fixture of the object lacks it)."""

    def __init__(self):
        self.classes = {}
        self.fixtures = _fixtures()
        self.names = _object_names()

    def add(self, cls, fixture=None):
        key = class_key(cls)
        if key in self.classes:
            return key
        if fixture is None and key in self.names:
            fixture = self.fixtures.get(self.names[key])
        self.classes[key] = entry = {}
        for name, description in fields(cls).items():
            sent = fixture is None or not isinstance(fixture, dict) or name in fixture
            sub = fixture.get(name) if isinstance(fixture, dict) else None
            kind = self._kind(description, sub)
            if kind is None:
                continue
            if not sent and kind[0] in ("o", "l"):
                kind = ["i", kind[1], kind[0]]
            entry[name] = kind
        return key

    def _kind(self, description, fixture):
        if description[0] == "nullable":
            description = description[1]
        if description[0] == "array":
            description = description[1]
            fixture = fixture[0] if isinstance(fixture, list) and fixture else None
        if description[0] == "map" and description[1][0] == "class":  # e.g. a price's currency_options
            description, fixture = description[1], None
        if description[0] == "expandable":
            return ["x", [self.add(cls) for cls in description[1]]]
        if description[0] == "listobject":
            item = description[1]
            if item[0] == "class":
                return ["l", self.add(item[1])]
            if item[0] == "union":  # a list of several kinds of object (customer sources)
                return ["l", "*"]
            return None
        if description[0] == "class":
            return ["o", self.add(description[1], fixture)]
        return None


def build():
    import stripe

    from .app import API_ROUTES

    endpoints = sdk_endpoints()
    graph = _Graph()
    routes, missing = {}, []
    for method, pattern, _ in API_ROUTES:
        key = f"{method} {normalize(pattern)}"
        if key in NOT_IN_SDK:
            continue
        if key not in endpoints:
            missing.append(key)
            continue
        params_cls, returns, module_name = endpoints[key]
        entry = {"params": typeddict_node(params_cls, top=True), "sdk": f"{params_cls.__module__}:"
                 f"{params_cls.__qualname__}".removeprefix("stripe.")}
        found = _return_class(returns, module_name) if returns else None
        if found:
            entry["returns"] = [found[0], graph.add(found[1])]
        routes[key] = entry
    if missing:
        raise SystemExit(f"routes the SDK does not declare (add them to NOT_IN_SDK if that is right): {missing}")
    return {"sdk_version": stripe.VERSION, "api_version": stripe.api_version, "routes": routes,
            "classes": _prune(graph.classes, [r["returns"][1] for r in routes.values() if "returns" in r])}


def _prune(classes, roots):
    """Keep only what an expand[] path can use: sub-objects that lead to
    nothing expandable are dropped, and so are classes no route reaches."""
    @functools.cache
    def useful(key):
        return any(kind[0] != "o" or useful(kind[1]) for kind in classes.get(key, {}).values())

    for key in list(classes):
        classes[key] = {name: kind for name, kind in classes[key].items() if kind[0] != "o" or useful(kind[1])}
    kept, todo = set(), list(roots)
    while todo:
        key = todo.pop()
        if key in kept or key not in classes:
            continue
        kept.add(key)
        for kind in classes[key].values():
            todo += kind[1] if kind[0] == "x" else [kind[1]]
    return {key: value for key, value in classes.items() if key in kept}


def render(schema):
    """JSON with one route and one class per line, so a regeneration reads as a diff."""
    def compact(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    lines = ["{"]
    keys = sorted(schema)
    for i, key in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        value = schema[key]
        if isinstance(value, dict):
            lines.append(f"{json.dumps(key)}: {{")
            names = sorted(value)
            lines += [f"{json.dumps(name)}: {compact(value[name])}{',' if j < len(names) - 1 else ''}"
                      for j, name in enumerate(names)]
            lines.append("}" + comma)
        else:
            lines.append(f"{json.dumps(key)}: {compact(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator.sdk_schema", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the data file is out of date")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        if DATA_PATH.read_text() != text:
            print(f"{DATA_PATH} is out of date: run python -m stripe_emulator.sdk_schema", file=sys.stderr)
            return 1
        return 0
    DATA_PATH.write_text(text)
    print(f"wrote {DATA_PATH} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
