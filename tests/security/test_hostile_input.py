"""The hostile-input sweep: every URL pattern of the project, GET and POST,
with NUL bytes, very long, non-UTF-8, SQL-ish, markup and out-of-range values
in the query string, the form and the path's own parameters, as an anonymous
visitor, a customer, staff and an accountant. Nothing may answer 5xx.
(CI runs it on PostgreSQL, which refuses NUL in text where SQLite takes it.)"""

import re
import uuid
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from tests.factories import CategoryFactory, OrderFactory, ProductFactory, UserFactory

# Parameters the views, forms and admin read (a view ignores the ones it does not know).
PARAMETERS = [
    "category", "page", "page_size", "q", "o", "p", "e", "next", "ref", "session_id", "product_id", "quantity",
    "email", "period", "month", "kind", "currency", "customer", "number", "status", "date_from", "date_to",
    "issued_from", "issued_to", "paid_from", "paid_to", "price", "plan", "proration_date", "confirm", "_confirm",
    "_preview", "request_token", "card_session", "state", "reason", "amount", "username", "password", "password1",
    "password2", "old_password", "new_password1", "new_password2", "billing_name", "billing_company",
    "billing_line1", "billing_postal_code", "billing_city", "billing_country", "vat_id", "pdf", "format",
    "action", "_selected_action", "index", "id", "author", "lines", "return_to_stock",
]
# Each kind of hostile value, as it appears in a URL-encoded query string or body.
HOSTILE = {
    "nul": quote("a\x00b"),
    "long": "9" * 5000,
    "non_utf8": "%FF%FE%C3%28",
    "sql": quote("1' OR '1'='1'; DROP TABLE shop_product; --"),
    "markup": quote('<script>alert(1)</script>{{7*7}}"><img src=x onerror=alert(1)>'),
    "range": "-99999999999999999999999999",
}
PATH_VALUES = {"nul": "%00", "long": "x" * 2000, "non_utf8": "%FF%FE", "sql": "1'%20OR%201=1", "markup": "%3Cscript%3E"}


def _patterns(resolver=None, prefix="", params=()):
    """(name, its parameters' names) of every named URL pattern, includes followed."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        own = tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _patterns(entry, namespace, params + own)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{prefix}{entry.name}", params + own


def every_url(objects) -> list[str]:
    """An address for each named URL pattern: real objects where the pattern names some."""
    samples = {
        "reference": str(objects["order"].reference), "slug": objects["product"].slug, "uuid": str(uuid.uuid4()),
        "pk": str(objects["order"].pk), "object_id": "1", "app_label": "orders",
    }
    urls, missed = set(), []
    for name, params in _patterns():
        attempts = [{key: samples.get(key, "1") for key in params}] + [
            {key: "json" if key == "format" else value for key in params} for value in ("1", "x", "auth", "sub_x1")
        ]
        for kwargs in attempts:
            try:
                urls.add(reverse(name, kwargs=kwargs))
                break
            except NoReverseMatch:
                continue
        else:
            missed.append(name)
    assert missed == [], f"no address for {missed}"
    return sorted(urls)


def _query(kind: str) -> str:
    return "&".join(f"{name}={HOSTILE[kind]}" for name in PARAMETERS)


@pytest.fixture
def world(db, stripe_emulator):
    category = CategoryFactory(slug="mugs")
    product = ProductFactory(slug="mug", category=category)
    customer = UserFactory(username="customer@example.com")
    order = OrderFactory(customer=customer, email=customer.username, lines=[(product, 1)])
    staff = UserFactory(username="admin", is_staff=True, is_superuser=True)
    accountant = UserFactory(username="accountant")
    accountant.groups.add(Group.objects.get_or_create(name="Accountants")[0])
    from django.contrib.auth.models import Permission

    accountant.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounting"))
    return {"product": product, "order": order, "users": {
        "anonymous": None, "customer": customer, "staff": staff, "accountant": accountant}}


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def _hostile_paths(url: str) -> list[str]:
    """The address with each of its own parameters (the parts after a fixed prefix) made hostile."""
    parts = url.strip("/").split("/")
    paths = []
    for index, part in enumerate(parts):
        if re.fullmatch(r"[0-9a-f-]{36}|\d+|mug|mugs|shop|orders|auth|sub_x1|x", part):
            for value in PATH_VALUES.values():
                paths.append("/" + "/".join(parts[:index] + [value] + parts[index + 1:]) + "/")
    return paths


# One test per visitor: four parts of similar size that parallel workers share.
@pytest.mark.parametrize("who", ["anonymous", "customer", "staff", "accountant"])
@pytest.mark.django_db(transaction=False)
def test_no_url_answers_5xx_to_hostile_input(world, who):
    urls = every_url(world)
    assert len(urls) > 100 and "/" in urls and "/checkout/" in urls and "/admin/" in urls
    assert set(world["users"]) == {"anonymous", "customer", "staff", "accountant"}
    failures = []
    client = _client(world["users"][who])
    for url in urls:
        is_admin = url.startswith("/admin/") and not url.startswith("/admin/dashboard/")
        if is_admin and who != "staff":
            kinds = ["nul"]  # everyone else is sent to the login page at once
        else:
            kinds = list(HOSTILE)
        for kind in kinds:
            query = _query(kind)
            for method in ("GET", "POST"):
                if method == "GET":
                    status = client.get(f"{url}?{query}").status_code
                else:
                    status = client.post(f"{url}?{query}", data=query,
                                         content_type="application/x-www-form-urlencoded").status_code
                if status >= 500:
                    failures.append(f"{who} {method} {url} ({kind}): {status}")
        if not is_admin or who == "staff":
            for path in _hostile_paths(url):
                status = client.get(path).status_code
                if status >= 500:
                    failures.append(f"{who} GET {path[:120]}: {status}")
    assert failures == []


@pytest.mark.django_db
def test_a_nul_byte_gets_the_bad_request_page(client):
    for response in (client.get("/?category=%00"), client.post("/cart/add/", {"product_id": "1\x00"})):
        assert response.status_code == 400
        assert "We could not understand this request" in response.content.decode()


@pytest.mark.django_db
def test_a_very_long_username_is_refused_like_any_wrong_password(client):
    response = client.post(reverse("login"), {"username": "9" * 5000, "password": "x" * 5000})
    assert response.status_code == 200 and "did not match" in response.content.decode()
