"""An accountant's tool pulls a month of documents with its key; filters and
errors as documented."""

import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.billing.factories import issued_pair, subscription_invoice

from .conftest import client_with_key, error_of, key_for

pytestmark = pytest.mark.django_db


def test_an_accountants_key_downloads_a_months_documents(accountant, customer, other_customer):
    this_month = []
    for buyer in (customer, other_customer, customer):
        _, invoice, receipt = issued_pair(customer=buyer, email=buyer.email)
        this_month += [invoice, receipt]
    # Issued last month: left out of this month's pull.
    last_month = timezone.now().replace(day=1) - timedelta(days=3)
    subscription_invoice(stripe_invoice_id="in_last_month", customer=customer, issued_at=last_month)

    api = client_with_key(key_for(accountant))
    period = timezone.localdate().strftime("%Y-%m")
    url, pulled = f"/api/v1/documents/?period={period}&page_size=4", []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        page = response.json()
        assert page["count"] == 6
        pulled += page["results"]
        url = page["next"]
    assert sorted(d["number"] for d in pulled) == sorted(d.number for d in this_month)
    for row in pulled:
        response = api.get(row["pdf_url"].replace("https://shop.example.com", "").replace("http://testserver", ""))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert f'filename="{row["number"]}.pdf"' in response["Content-Disposition"]
        pdf = b"".join(response.streaming_content)
        assert row["number"] in " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    # The invoice says what it was issued with.
    invoice = next(d for d in pulled if d["kind"] == "invoice")
    assert invoice["total_gross"] == invoice["total_net"] + invoice["total_tax"]
    assert invoice["vat_breakdown"] and invoice["lines"] and invoice["order"]["number"].startswith("ORD-")


def test_filters_by_kind_number_and_currency(as_user, accountant, customer):
    _, invoice, receipt = issued_pair(customer=customer, email=customer.email)
    api = as_user(accountant)
    assert [d["number"] for d in api.get("/api/v1/documents/?kind=receipt").json()["results"]] == [receipt.number]
    assert [d["number"] for d in api.get(f"/api/v1/documents/?number={invoice.number}").json()["results"]] == [
        invoice.number]
    assert api.get("/api/v1/documents/?currency=USD").json()["count"] == 0
    assert api.get("/api/v1/documents/?currency=EUR").json()["count"] == 2


@pytest.mark.parametrize("query, field", [
    ("period=March", "period"), ("period=2026-13", "period"), ("issued_from=yesterday", "issued_from"),
    ("kind=bill", "kind"), ("page_size=0", "page_size"), ("page_size=500", "page_size"), ("currency=", "currency"),
])
def test_a_parameter_that_cannot_be_used_is_a_400_naming_it(as_user, accountant, query, field):
    response = as_user(accountant).get(f"/api/v1/documents/?{query}")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid" and list(error["fields"]) == [field], error
    assert error["message"].startswith(f"{field}: ")


def test_unknown_addresses_and_pages_answer_the_same_json_404(as_user, accountant):
    api = as_user(accountant)
    for url in ("/api/v1/nothing-here/", "/api/v2/orders/", "/api/v1/documents/abc/", "/api/v1/documents/?page=9"):
        response = api.get(url)
        assert response.status_code == 404, url
        assert error_of(response)["code"] == "not_found"


def test_too_many_requests_answer_429_with_retry_after(settings, customer):
    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "3/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    saved = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        api = client_with_key(key_for(customer))
        statuses = [api.get("/api/v1/orders/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = api.get("/api/v1/orders/")
        assert int(response["Retry-After"]) > 0
        assert error_of(response)["code"] == "throttled"
        # Another user has their own budget.
        assert APIClient().get("/api/v1/products/").status_code == 200
    finally:
        SimpleRateThrottle.THROTTLE_RATES = saved
        cache.clear()
