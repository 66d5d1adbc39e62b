import pytest
from django.urls import reverse

from tests.billing.factories import issued_pair
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_changelist_and_search(admin_client_):
    order, invoice, _ = issued_pair()
    issued_pair()
    url = reverse("admin:billing_document_changelist")
    response = admin_client_.get(url)
    assert response.status_code == 200
    assert invoice.number in response.content.decode()

    for term, count in [(invoice.number, 1), (order.number, 2), (order.email, 2)]:
        response = admin_client_.get(url, {"q": term})
        assert response.status_code == 200
        assert response.context["cl"].result_count == count, term
    # A bare order id also matches (among numbers containing those digits).
    found = admin_client_.get(url, {"q": str(order.pk)}).context["cl"].queryset
    assert set(found.filter(order=order)) == set(order.documents.all())

    response = admin_client_.get(url, {"kind__exact": "invoice"})
    assert response.context["cl"].result_count == 2


def test_read_only(admin_client_):
    _, invoice, _ = issued_pair()
    change = reverse("admin:billing_document_change", args=[invoice.pk])
    response = admin_client_.get(change)
    assert response.status_code == 200
    content = response.content.decode()
    assert reverse("billing:document_pdf", args=[invoice.pk]) in content
    assert 'name="_save"' not in content
    assert admin_client_.post(change, {"number": "X"}).status_code == 403
    assert admin_client_.get(reverse("admin:billing_document_add")).status_code == 403
    assert admin_client_.get(reverse("admin:billing_document_delete", args=[invoice.pk])).status_code == 403


def test_staff_see_the_exchange_rate_a_foreign_currency_document_used(admin_client_):
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from billing.models import ExchangeRate
    from billing.services import invoice_issue
    from billing.tax import LineInput
    from core.types import Buyer

    ExchangeRate.objects.create(currency="usd", date=timezone.localdate() - timedelta(days=1), rate=Decimal("1.0812"))
    invoice = invoice_issue(
        buyer=Buyer(name="Grace Hopper", email="grace@example.com", address_line1="1 Navy Way", postal_code="10001",
                    city="New York", country="US"),
        lines=[LineInput(name="Pro plan", quantity=1, unit_amount=4999, vat_rate=Decimal("20"))], currency="usd",
    )
    page = admin_client_.get(reverse("admin:billing_document_change", args=[invoice.pk])).content.decode()
    assert "€7.70 at the ECB rate of" in page and "1 EUR = 1.0812 USD" in page
    rates = admin_client_.get(reverse("admin:billing_exchangerate_changelist")).content.decode()
    assert "1.081200" in rates
