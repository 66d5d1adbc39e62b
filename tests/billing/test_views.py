import uuid

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from billing.services import document_render_pdf
from tests.billing.factories import issued_pair
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def pdf_url(document, ref=None):
    url = reverse("billing:document_pdf", args=[document.pk])
    return f"{url}?ref={ref}" if ref else url


def assert_pdf(response, document):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{document.number}.pdf"'
    assert b"".join(response.streaming_content).startswith(b"%PDF")


@pytest.fixture
def customer_pair():
    user = UserFactory()
    order, invoice, receipt = issued_pair(customer=user)
    document_render_pdf(document_id=invoice.pk)
    return user, order, invoice, receipt


def test_url():
    assert reverse("billing:document_pdf", args=[7]) == "/documents/7/pdf/"


def test_owner_downloads(client, customer_pair):
    user, _, invoice, receipt = customer_pair
    client.force_login(user)
    assert_pdf(client.get(pdf_url(invoice)), invoice)
    # The receipt is not rendered yet: the view renders it on the spot.
    assert_pdf(client.get(pdf_url(receipt)), receipt)
    receipt.refresh_from_db()
    assert receipt.has_pdf


def test_another_customer_gets_404(client, customer_pair):
    _, order, invoice, _ = customer_pair
    client.force_login(UserFactory())
    assert client.get(pdf_url(invoice)).status_code == 404
    # Even with the order's reference: a signed-in customer's order is theirs only.
    assert client.get(pdf_url(invoice, order.reference)).status_code == 404


def test_anonymous_gets_404(client, customer_pair):
    _, _, invoice, _ = customer_pair
    assert client.get(pdf_url(invoice)).status_code == 404


def test_missing_document_is_the_same_404(client, customer_pair):
    user, _, invoice, _ = customer_pair
    client.force_login(user)
    assert client.get(reverse("billing:document_pdf", args=[invoice.pk + 1000])).status_code == 404


def test_guest_with_the_order_reference(client):
    order, invoice, _ = issued_pair()  # a guest order: no customer
    assert_pdf(client.get(pdf_url(invoice, order.reference)), invoice)
    assert client.get(pdf_url(invoice)).status_code == 404
    assert client.get(pdf_url(invoice, uuid.uuid4())).status_code == 404
    assert client.get(pdf_url(invoice, "not-a-uuid")).status_code == 404


def test_staff_downloads(client, customer_pair):
    _, _, invoice, _ = customer_pair
    client.force_login(UserFactory(is_staff=True))
    assert_pdf(client.get(pdf_url(invoice)), invoice)


def test_accountants_download(client, customer_pair):
    _, _, invoice, _ = customer_pair
    accountant = UserFactory()
    accountant.groups.add(Group.objects.get_or_create(name="Accountants")[0])
    client.force_login(accountant)
    assert_pdf(client.get(pdf_url(invoice)), invoice)


def test_only_get(client, customer_pair):
    user, _, invoice, _ = customer_pair
    client.force_login(user)
    assert client.post(pdf_url(invoice)).status_code == 405
