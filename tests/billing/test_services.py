from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.exceptions import DocumentImmutable, DocumentNotIssuable
from billing.models import Document
from billing.services import credit_note_issue
from orders.documents import order_documents_issue
from orders.models import Order
from tests.billing.factories import PaidOrderFactory, issued_pair, product, subscription_invoice
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_issue_for_order_gives_an_invoice_and_a_receipt():
    mug = product(name="Blue mug", unit_amount=1250, rate="20")
    book = product(name="Django book", unit_amount=2110, rate="5.5")
    user = UserFactory()
    order = PaidOrderFactory(lines=[(mug, 2), (book, 1)], customer=user, vat_id="DE123456789",
                             billing_company="ACME GmbH")
    invoice, receipt = order_documents_issue(order_id=order.pk)

    assert invoice.kind == Document.Kind.INVOICE and receipt.kind == Document.Kind.RECEIPT
    assert receipt.related_document == invoice
    assert invoice.order == order and receipt.order == order
    assert invoice.customer == user and invoice.customer_email == order.email
    assert (invoice.total_gross, invoice.total_tax, invoice.total_net) == (4610, 527, 4083)
    assert (receipt.total_gross, receipt.total_tax) == (invoice.total_gross, invoice.total_tax)
    assert invoice.currency == "eur"
    assert invoice.payment_reference == f"Card Visa •••• 4242, Stripe {order.stripe_payment_intent_id}"

    snap = invoice.snapshot
    assert snap["number"] == invoice.number
    assert snap["seller"]["name"] == "Example Shop SAS"
    assert snap["seller"]["vat_id"] == "FR40123456824"
    assert snap["buyer"]["name"] == "Ada Lovelace"
    assert snap["buyer"]["vat_id"] == "DE123456789"
    assert "ACME GmbH" in snap["buyer"]["address_lines"]
    assert snap["order"]["number"] == order.number
    assert [(line["name"], line["quantity"], line["unit_gross"], line["vat_rate"]) for line in snap["lines"]] == [
        ("Blue mug", 2, 1250, "20.00"),
        ("Django book", 1, 2110, "5.50"),
    ]
    assert snap["vat_breakdown"] == [
        {"rate": "20.00", "net": 2083, "tax": 417, "gross": 2500, "category": "S"},
        {"rate": "5.50", "net": 2000, "tax": 110, "gross": 2110, "category": "S"},
    ]
    assert snap["totals"] == {"net": 4083, "tax": 527, "gross": 4610}
    assert any("FR40123456824" in mention for mention in snap["legal_mentions"])
    assert receipt.snapshot["related_document"]["number"] == invoice.number


def test_issuing_twice_returns_the_same_pair():
    order, invoice, receipt = issued_pair()
    again = order_documents_issue(order_id=order.pk)
    assert again == (invoice, receipt)
    assert Document.objects.filter(order=order).count() == 2


@pytest.mark.parametrize("status", [Order.Status.AWAITING_PAYMENT, Order.Status.CANCELLED, Order.Status.EXPIRED])
def test_unpaid_orders_get_no_documents(status):
    order = OrderFactory(status=status)
    with pytest.raises(DocumentNotIssuable):
        order_documents_issue(order_id=order.pk)
    assert not Document.objects.exists()


@pytest.mark.parametrize("status", [Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED])
def test_refunded_orders_were_paid(status):
    order = PaidOrderFactory(status=status)
    invoice, receipt = order_documents_issue(order_id=order.pk)
    assert invoice.pk and receipt.pk


def test_one_invoice_per_order_in_the_database():
    order, invoice, _ = issued_pair()
    fields = {f.attname: getattr(invoice, f.attname) for f in Document._meta.concrete_fields if not f.primary_key}
    fields.update(number="INV-2026-999999", sequence=999999, pdf="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Document.objects.create(**fields)


def test_later_changes_never_change_an_issued_document():
    mug = product(name="Blue mug", unit_amount=1250)
    order, invoice, _ = issued_pair(lines=[(mug, 1)])
    before = dict(invoice.snapshot)

    mug.name, mug.unit_amount = "Red mug", 9999
    mug.save()
    mug.tax_rate.rate = Decimal("10")
    mug.tax_rate.save()
    order.billing_name = "Someone Else"
    order.save()
    order.lines.update(name="Renamed")

    invoice.refresh_from_db()
    assert invoice.snapshot == before
    assert invoice.snapshot["lines"][0]["name"] == "Blue mug"
    assert invoice.snapshot["buyer"]["name"] == "Ada Lovelace"
    assert invoice.total_gross == 1250


def test_an_issued_document_refuses_changes():
    _, invoice, _ = issued_pair()
    invoice.snapshot["totals"]["gross"] = 1
    with pytest.raises(DocumentImmutable):
        invoice.save()
    invoice.refresh_from_db()
    invoice.number = "INV-HACKED"
    with pytest.raises(DocumentImmutable):
        invoice.save()
    with pytest.raises(DocumentImmutable):
        invoice.save(update_fields=["number"])
    with pytest.raises(DocumentImmutable):
        Document.objects.filter(pk=invoice.pk).update(total_gross=0)
    with pytest.raises(DocumentImmutable):
        invoice.delete()
    with pytest.raises(DocumentImmutable):
        Document.objects.all().delete()
    invoice.refresh_from_db()
    assert invoice.number.startswith("INV-")


def test_bookkeeping_fields_may_change():
    _, invoice, _ = issued_pair()
    from django.utils import timezone

    invoice.emailed_at = timezone.now()
    invoice.save(update_fields=["emailed_at"])
    invoice.save()  # a full save with nothing issued changed is fine
    Document.objects.filter(pk=invoice.pk).update(pdf_rendered_at=None)


def test_subscription_invoice_is_idempotent_per_stripe_invoice():
    first = subscription_invoice(stripe_invoice_id="in_abc")
    again = subscription_invoice(stripe_invoice_id="in_abc")
    assert first == again
    assert first.order is None
    assert Document.objects.count() == 1


def test_credit_note_for_part_of_an_invoice():
    mug = product(name="Blue mug", unit_amount=1200, rate="20")
    book = product(name="Django book", unit_amount=1055, rate="5.5")
    order, invoice, _ = issued_pair(lines=[(mug, 1), (book, 1)])

    note = credit_note_issue(invoice_id=invoice.pk, amount=1000, reason="Damaged mug", refund_reference="re_1")
    assert note.kind == Document.Kind.CREDIT_NOTE
    assert note.number.startswith("CN-")
    assert note.related_document == invoice and note.order == order
    assert note.total_gross == 1000
    # Spread over the two rates in proportion to their gross (1200 : 1055).
    assert [row["gross"] for row in note.snapshot["vat_breakdown"]] == [532, 468]
    assert note.snapshot["reason"] == "Damaged mug"

    with pytest.raises(DocumentNotIssuable):
        credit_note_issue(invoice_id=invoice.pk, amount=invoice.total_gross)  # more than what remains
    rest = credit_note_issue(invoice_id=invoice.pk, amount=invoice.total_gross - 1000)
    assert rest.sequence == note.sequence + 1


def test_full_credit_note_copies_the_lines():
    mug = product(name="Blue mug", unit_amount=1200, rate="20")
    _, invoice, _ = issued_pair(lines=[(mug, 2)])
    note = credit_note_issue(invoice_id=invoice.pk, amount=invoice.total_gross)
    assert note.snapshot["lines"][0]["name"] == "Blue mug"
    assert (note.total_gross, note.total_tax) == (invoice.total_gross, invoice.total_tax)
