"""Who reads what, per role, exactly as the pages decide: a customer their own
orders, documents and subscriptions (any other id: 404, as if it did not
exist); support staff every order; accountants every document and nothing of
anyone's orders; nobody writes."""

import uuid

import pytest
from djstripe.models import Customer, Invoice, Subscription
from rest_framework.test import APIClient

from tests.billing.factories import issued_pair, subscription_invoice
from tests.factories import OrderFactory, ProductFactory

from .conftest import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(customer, other_customer):
    mine, my_invoice, my_receipt = issued_pair(customer=customer, email=customer.email)
    theirs, their_invoice, their_receipt = issued_pair(customer=other_customer, email=other_customer.email)
    guest = OrderFactory()  # a guest's, awaiting payment
    return {"mine": mine, "my_documents": [my_invoice, my_receipt], "theirs": theirs,
            "their_documents": [their_invoice, their_receipt], "guest": guest}


def numbers(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["number"] for row in response.json()["results"]}


def test_a_customer_sees_only_their_own_orders_and_documents(as_user, customer, world):
    api = as_user(customer)
    assert numbers(api.get("/api/v1/orders/")) == {world["mine"].number}
    assert numbers(api.get("/api/v1/documents/")) == {d.number for d in world["my_documents"]}
    assert api.get(f"/api/v1/orders/{world['mine'].reference}/").json()["number"] == world["mine"].number
    assert api.get(f"/api/v1/documents/{world['my_documents'][0].pk}/").status_code == 200
    assert api.get(f"/api/v1/documents/{world['my_documents'][0].pk}/pdf/").status_code == 200


@pytest.mark.parametrize("path", [
    "/api/v1/orders/{theirs.reference}/",
    "/api/v1/orders/{guest.reference}/",
    "/api/v1/orders/{random}/",
    "/api/v1/orders/{theirs.reference}/status/",
    "/api/v1/documents/{their_document}/",
    "/api/v1/documents/{their_document}/pdf/",
    "/api/v1/documents/999999/",
])
def test_any_other_id_is_404_for_a_customer(as_user, customer, world, path):
    url = path.format(theirs=world["theirs"], guest=world["guest"], random=uuid.uuid4(),
                      their_document=world["their_documents"][0].pk)
    response = as_user(customer).get(url)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_support_staff_see_every_order_and_document(as_user, support, world):
    api = as_user(support)
    assert numbers(api.get("/api/v1/orders/")) == {world["mine"].number, world["theirs"].number, world["guest"].number}
    assert api.get(f"/api/v1/orders/{world['theirs'].reference}/").status_code == 200
    assert len(numbers(api.get("/api/v1/documents/"))) == 4


def test_an_accountant_sees_every_document_and_no_ones_orders(as_user, accountant, world):
    api = as_user(accountant)
    every = {d.number for d in world["my_documents"] + world["their_documents"]}
    assert numbers(api.get("/api/v1/documents/")) == every
    assert api.get(f"/api/v1/documents/{world['their_documents'][0].pk}/pdf/").status_code == 200
    # Orders are support's: the accountant has none of their own.
    assert numbers(api.get("/api/v1/orders/")) == set()
    assert api.get(f"/api/v1/orders/{world['mine'].reference}/").status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_nobody_changes_anything(as_user, accountant, admin_user, world, method):
    document = world["my_documents"][0]
    for user in (accountant, admin_user):
        api = as_user(user)
        response = getattr(api, method)(f"/api/v1/documents/{document.pk}/", {}, format="json")
        assert response.status_code == 405, (user, method)
        assert error_of(response)["code"] == "method_not_allowed"
        response = getattr(api, method)("/api/v1/orders/", {}, format="json")
        assert response.status_code == 405
    document.refresh_from_db()
    assert document.number == world["my_documents"][0].number


def test_the_order_status_opens_like_the_order_page(world, customer, other_customer):
    anonymous = APIClient()
    # A guest's order: its reference is the secret, as on the page.
    response = anonymous.get(f"/api/v1/orders/{world['guest'].reference}/status/")
    assert response.status_code == 200 and response.json()["status"] == "awaiting_payment"
    assert response["Cache-Control"] == "no-store"
    # A signed-in customer's order: only them (and staff).
    assert anonymous.get(f"/api/v1/orders/{world['mine'].reference}/status/").status_code == 404
    session = APIClient()
    session.force_login(other_customer)
    assert session.get(f"/api/v1/orders/{world['mine'].reference}/status/").status_code == 404
    session.force_login(customer)
    body = session.get(f"/api/v1/orders/{world['mine'].reference}/status/").json()
    assert body == {"number": world["mine"].number, "status": "paid", "status_display": "Paid", "final": True,
                    "documents_ready": True, "done": True, "payment_error": ""}


def _subscription(user, sub_id, invoice_id, status="active"):
    customer = Customer.objects.create(id=f"cus_{sub_id}", email=user.email, subscriber=user, livemode=False,
                                       stripe_data={"id": f"cus_{sub_id}"})
    return Subscription.objects.create(
        id=sub_id, customer=customer, livemode=False,
        stripe_data={"id": sub_id, "status": status, "items": {"data": [
            {"quantity": 1, "current_period_end": 1893456000,
             "price": {"id": "price_club_month", "currency": "eur", "unit_amount": 1900, "product": "shop_plan_club",
                       "recurring": {"interval": "month", "interval_count": 1}}}]}},
    )


def test_subscriptions_per_role(as_user, customer, other_customer, support, accountant):
    mine = _subscription(customer, "sub_mine", "in_mine")
    theirs = _subscription(other_customer, "sub_theirs", "in_theirs")
    Invoice.objects.create(id="in_mine", customer=mine.customer, livemode=False, subscription=mine,
                           stripe_data={"id": "in_mine", "parent": {"subscription_details": {"subscription": "sub_mine"}}})
    invoice = subscription_invoice(stripe_invoice_id="in_mine", amount=1900, customer=customer)
    api = as_user(customer)
    rows = api.get("/api/v1/subscriptions/").json()["results"]
    assert [row["id"] for row in rows] == ["sub_mine"]
    assert rows[0]["status"] == "active" and rows[0]["plan"]["product_id"] == "shop_plan_club"
    assert [d["number"] for d in rows[0]["documents"]] == [invoice.number]
    assert api.get(f"/api/v1/subscriptions/{theirs.id}/").status_code == 404
    assert {r["id"] for r in as_user(support).get("/api/v1/subscriptions/").json()["results"]} == {
        "sub_mine", "sub_theirs"}
    assert as_user(accountant).get("/api/v1/subscriptions/").json()["results"] == []


def test_products_and_plans_are_public(db):
    product = ProductFactory(name="Stoneware mug")
    ProductFactory(name="Retired", active=False)
    anonymous = APIClient()
    rows = anonymous.get("/api/v1/products/").json()["results"]
    assert [row["name"] for row in rows] == ["Stoneware mug"]
    assert rows[0]["unit_amount"] == product.unit_amount and rows[0]["vat_rate"] == "20.00"
    assert anonymous.get("/api/v1/plans/").status_code == 200
