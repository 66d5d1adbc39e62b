import uuid

import pytest
from django.conf import settings
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


def _later(monkeypatch, seconds: int) -> None:
    import time

    from django.core import signing

    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now + seconds)


def test_signed_link_downloads_without_a_session(client, customer_pair):
    """The link an e-mail carries (billing.emails): no session needed, for a
    signed-in customer's document as for a guest's."""
    from billing.emails import document_download_url

    _, _, invoice, receipt = customer_pair
    link = document_download_url(invoice).removeprefix(settings.SITE_URL)
    assert link.startswith(f"/documents/{invoice.pk}/pdf/?link=")
    assert_pdf(client.get(link), invoice)
    # It opens that document only.
    token = link.split("?link=", 1)[1]
    other = client.get(f"/documents/{receipt.pk}/pdf/?link={token}")
    assert other.status_code == 403
    assert "This link does not work" in other.content.decode()
    # And signs nobody in.
    assert client.get(pdf_url(invoice)).status_code == 404


def test_altered_or_expired_signed_link_is_a_clear_page(client, customer_pair, monkeypatch):
    from billing.emails import document_download_url

    _, _, invoice, _ = customer_pair
    link = document_download_url(invoice).removeprefix(settings.SITE_URL)
    altered = client.get(link[:-3] + "xyz")
    assert altered.status_code == 403
    assert "This link does not work" in altered.content.decode()
    assert invoice.number not in altered.content.decode()

    _later(monkeypatch, settings.SIGNED_LINK_MAX_AGE + 1)
    expired = client.get(link)
    assert expired.status_code == 410
    assert "This link has expired" in expired.content.decode()
    assert 'href="/orders/find/"' in expired.content.decode()


def test_order_page_links_its_documents_for_whoever_sees_it(client):
    """A guest on the order page downloads its documents through the links the page gives."""
    import re

    order, invoice, receipt = issued_pair()
    html = client.get(order.get_absolute_url()).content.decode()
    links = [href.replace("&amp;", "&") for href in re.findall(r'href="(/documents/\d+/pdf/[^"]*)"', html)]
    assert len(links) == 2
    assert_pdf(client.get(links[0]), invoice)
