"""Products and prices."""

from .. import fixtures
from ..wire import as_bool, as_dict, as_int, as_list, as_str, invalid, list_object, metadata, missing
from .common import deleted, eq_filter, in_filter, previous_attributes, render, render_list, snapshot

INTERVALS = ("day", "week", "month", "year")
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")


def _label(prefix, name):
    return f"{prefix}[{name}]" if prefix else name


# --- products --------------------------------------------------------------------

def _apply_product(params, product, prefix=""):
    for name in ("name", "description", "statement_descriptor", "tax_code", "unit_label", "url"):
        if name in params:
            product[name] = as_str(params, name, label=_label(prefix, name))
    if "active" in params:
        product["active"] = as_bool(params, "active")
    if "shippable" in params:
        product["shippable"] = as_bool(params, "shippable")
    if "images" in params:
        product["images"] = [str(u) for u in as_list(params, "images")]
    if "marketing_features" in params:
        product["marketing_features"] = [{"name": f.get("name")} for f in as_list(params, "marketing_features")]
    if "package_dimensions" in params:
        dims = as_dict(params, "package_dimensions")
        product["package_dimensions"] = {k: float(dims[k]) for k in ("height", "length", "weight", "width") if k in dims} or None
    product["metadata"] = metadata(params, product["metadata"])
    if not product["name"]:
        raise missing(_label(prefix, "name"))


def new_product(req, params, prefix="", inline=False):
    """Create and store a product from `params` (a create request or a checkout
    `product_data`); emits `product.created` unless it is inline."""
    store = req.store
    now = store.now()
    id_ = None if inline else as_str(params, "id")
    if id_ and store.get(id_):
        raise invalid(f"Product already exists: {id_}.", param="id", code="resource_already_exists")
    product = fixtures.make(
        "product", id=id_ or store.new_id("prod_", 14), active=True, created=now, updated=now,
        images=[], marketing_features=[], type="service")
    _apply_product(params, product, prefix)
    store.add(product, {"inline": True} if inline else None)
    if not inline:
        req.emit("product.created", product)
        default_price = as_dict(params, "default_price_data")
        if default_price:
            price = new_price(req, dict(default_price, product=product["id"]), "default_price_data")
            before = snapshot(product)
            product["default_price"] = price["id"]
            req.emit("product.updated", product, previous_attributes(before, product))
    return product


def create_product(req):
    return render(req, new_product(req, req.params))


def retrieve_product(req):
    return deleted(req, "product") or render(req, req.store.require(req.args["id"], "product"))


def update_product(req):
    product = req.store.require(req.args["id"], "product")
    before = snapshot(product)
    _apply_product(req.params, product)
    if "default_price" in req.params:
        price_id = as_str(req.params, "default_price")
        if price_id:
            req.store.require(price_id, "price", param="default_price")
        product["default_price"] = price_id
    previous = previous_attributes(before, product)
    if previous:
        product["updated"] = req.store.now()
        req.emit("product.updated", product, previous)
    return render(req, product)


def delete_product(req):
    product = req.store.require(req.args["id"], "product")
    if req.store.all("price", lambda p: p["product"] == product["id"]):
        raise invalid("This product cannot be deleted because it has one or more user-created prices.",
                      param="id", code="product_has_prices")
    req.store.remove(product["id"])
    req.emit("product.deleted", product)
    return {"id": product["id"], "object": "product", "deleted": True}


def list_products(req):
    filters = [in_filter(req, "ids", "id"), eq_filter(req, "url"), _not_inline(req)]
    for name in ("active", "shippable"):
        if name in req.params:
            value = as_bool(req.params, name)
            filters.append(lambda o, name=name, value=value: o[name] == value)
    return render_list(req, "product", "/v1/products", filters)


def list_product_features(req):
    # Entitlement features are not emulated; dj-stripe lists them on every product sync.
    product = req.store.require(req.args["id"], "product")
    return list_object([], f"/v1/products/{product['id']}/features")


def _not_inline(req):
    return lambda obj: not req.store.private.get(obj["id"], {}).get("inline")


# --- prices ----------------------------------------------------------------------

def _recurring(params, prefix):
    raw = as_dict(params, "recurring")
    if not raw:
        return None
    label = _label(prefix, "recurring")
    interval = as_str(raw, "interval", required=True, choices=INTERVALS, label=f"{label}[interval]")
    count = as_int(raw, "interval_count", minimum=1, label=f"{label}[interval_count]") or 1
    usage = as_str(raw, "usage_type", choices=("licensed", "metered"), label=f"{label}[usage_type]") or "licensed"
    trial = as_int(raw, "trial_period_days", minimum=0, label=f"{label}[trial_period_days]")
    return fixtures.shape("price", "recurring", interval=interval, interval_count=count,
                          usage_type=usage, trial_period_days=trial)


def new_price(req, params, prefix="", inline=False):
    """Create and store a price from `params` (a create request, a checkout
    `price_data` or a product's `default_price_data`)."""
    store = req.store
    currency = as_str(params, "currency", required=True, label=_label(prefix, "currency")).lower()
    product_id = as_str(params, "product")
    product_data = as_dict(params, "product_data")
    if product_id and product_data:
        raise invalid("You may only specify one of these parameters: product, product_data.",
                      param=_label(prefix, "product_data"))
    if product_data:
        product_id = new_product(req, product_data, _label(prefix, "product_data"), inline=inline)["id"]
    elif product_id:
        store.require(product_id, "product", param=_label(prefix, "product"))
    else:
        raise missing(_label(prefix, "product"))
    amount = as_int(params, "unit_amount", minimum=0, label=_label(prefix, "unit_amount"))
    if amount is None and params.get("unit_amount_decimal") not in (None, ""):
        decimal = str(params["unit_amount_decimal"])
        if not decimal.isdigit():
            # Sub-minor-unit prices would need decimal money; not emulated.
            raise invalid("The emulator only supports whole minor units in unit_amount_decimal.",
                          param=_label(prefix, "unit_amount_decimal"))
        amount = int(decimal)
    if amount is None:
        raise missing(_label(prefix, "unit_amount"))
    lookup_key = as_str(params, "lookup_key")
    if lookup_key:
        holders = store.all("price", lambda p: p["lookup_key"] == lookup_key)
        if holders and not as_bool(params, "transfer_lookup_key", False):
            raise invalid(f"A price (`{holders[0]['id']}`) already uses that lookup key.",
                          param="lookup_key")
        for holder in holders:
            before = snapshot(holder)
            holder["lookup_key"] = None
            req.emit("price.updated", holder, previous_attributes(before, holder))
    recurring = _recurring(params, prefix)
    price = fixtures.make(
        "price",
        id=store.new_id("price_"),
        active=as_bool(params, "active", True),
        billing_scheme="per_unit",
        created=store.now(),
        currency=currency,
        lookup_key=lookup_key,
        metadata=metadata(params),
        nickname=as_str(params, "nickname"),
        product=product_id,
        recurring=recurring,
        tax_behavior=as_str(params, "tax_behavior", choices=TAX_BEHAVIORS) or "unspecified",
        type="recurring" if recurring else "one_time",
        unit_amount=amount,
        unit_amount_decimal=str(amount),
    )
    store.add(price, {"inline": True} if inline else None)
    if not inline:
        req.emit("price.created", price)
    return price


def create_price(req):
    return render(req, new_price(req, req.params))


def retrieve_price(req):
    return render(req, req.store.require(req.args["id"], "price"))


def update_price(req):
    price = req.store.require(req.args["id"], "price")
    before = snapshot(price)
    params = req.params
    if "active" in params:
        price["active"] = as_bool(params, "active")
    if "nickname" in params:
        price["nickname"] = as_str(params, "nickname")
    if "tax_behavior" in params:
        price["tax_behavior"] = as_str(params, "tax_behavior", choices=TAX_BEHAVIORS)
    if "lookup_key" in params:
        key = as_str(params, "lookup_key")
        if key and req.store.all("price", lambda p: p["lookup_key"] == key and p is not price):
            raise invalid("A price already uses that lookup key.", param="lookup_key")
        price["lookup_key"] = key
    price["metadata"] = metadata(params, price["metadata"])
    previous = previous_attributes(before, price)
    if previous:
        req.emit("price.updated", price, previous)
    return render(req, price)


def list_prices(req):
    filters = [eq_filter(req, "product"), eq_filter(req, "type"), in_filter(req, "lookup_keys", "lookup_key"),
               _not_inline(req)]
    if "currency" in req.params:
        currency = str(req.params["currency"]).lower()
        filters.append(lambda p: p["currency"] == currency)
    if "active" in req.params:
        active = as_bool(req.params, "active")
        filters.append(lambda p: p["active"] == active)
    interval = as_dict(req.params, "recurring").get("interval")
    if interval:
        filters.append(lambda p: (p["recurring"] or {}).get("interval") == interval)
    return render_list(req, "price", "/v1/prices", filters)


ROUTES = [
    ("POST", "/v1/products", create_product),
    ("GET", "/v1/products", list_products),
    ("GET", "/v1/products/{id}", retrieve_product),
    ("POST", "/v1/products/{id}", update_product),
    ("DELETE", "/v1/products/{id}", delete_product),
    ("GET", "/v1/products/{id}/features", list_product_features),
    ("POST", "/v1/prices", create_price),
    ("GET", "/v1/prices", list_prices),
    ("GET", "/v1/prices/{id}", retrieve_price),
    ("POST", "/v1/prices/{id}", update_price),
]
