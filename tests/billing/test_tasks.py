import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing import tasks
from billing.models import Document
from billing.rendering import snapshot_to_pdf
from billing.services import document_pdf_bytes
from orders import tasks as order_tasks
from orders.documents import order_documents_issue
from orders.models import Order
from orders.services import order_mark_paid
from tests.billing.factories import PaidOrderFactory, subscription_invoice
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_paying_an_order_issues_renders_and_emails(client, django_capture_on_commit_callbacks):
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=True):
        order_mark_paid(order_id=order.pk, amount_paid=order.total, currency=order.currency,
                        payment_intent_id="pi_test_flow")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID

    invoice = Document.objects.get(order=order, kind=Document.Kind.INVOICE)
    receipt = Document.objects.get(order=order, kind=Document.Kind.RECEIPT)
    # The invoice is rendered and e-mailed at once; the receipt's PDF waits
    # for its first download (linked from the e-mail).
    assert invoice.has_pdf and not receipt.has_pdf
    assert invoice.emailed_at is not None and receipt.emailed_at is not None

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [order.email]
    assert invoice.number in message.subject and order.number in message.subject
    assert f"https://shop.example.com/orders/{order.reference}/" in message.body
    assert [name for name, _, _ in message.attachments] == [f"{invoice.number}.pdf"]
    assert message.attachments[0][2] == "application/pdf"
    assert message.attachments[0][1] == document_pdf_bytes(document=invoice)
    receipt_link = next(link for link in _links(message.body) if link.startswith(f"/documents/{receipt.pk}/pdf/"))
    assert f"Your receipt {receipt.number}" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and invoice.number in html and receipt.number in html

    response = client.get(receipt_link)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == snapshot_to_pdf(snapshot=receipt.snapshot)


def test_running_the_task_twice_gives_one_result(django_capture_on_commit_callbacks):
    order = PaidOrderFactory()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            order_tasks.issue_order_documents.delay(order.pk)
    assert Document.objects.filter(order=order, kind=Document.Kind.INVOICE).count() == 1
    assert Document.objects.filter(order=order, kind=Document.Kind.RECEIPT).count() == 1
    assert len(mail.outbox) == 1

    invoice = Document.objects.get(order=order, kind=Document.Kind.INVOICE)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.render_document_pdf.delay(invoice.pk)
        tasks.send_document_email.delay(invoice.pk)
    assert len(mail.outbox) == 1


def test_unpaid_order_task_does_nothing(django_capture_on_commit_callbacks):
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=True):
        order_tasks.issue_order_documents.delay(order.pk)
    assert not Document.objects.exists()
    assert mail.outbox == []


def test_sweep_renders_documents_left_without_pdf(settings, django_capture_on_commit_callbacks):
    order = PaidOrderFactory()
    invoice, receipt = order_documents_issue(order_id=order.pk)  # as if the worker died here
    assert not invoice.has_pdf

    # Issued just now: within the grace period the normal chain may still run.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.render_missing_pdfs.delay().get() == 0

    settings.BILLING_RENDER_SWEEP_AFTER_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.render_missing_pdfs.delay().get() == 1
    invoice.refresh_from_db()
    receipt.refresh_from_db()
    # The invoice; not the receipt, whose PDF is made on its first download.
    assert invoice.has_pdf and not receipt.has_pdf
    assert len(mail.outbox) == 1  # the invoice's rendering goes on to e-mail it

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.render_missing_pdfs.delay().get() == 0


def test_sweep_picks_old_documents():
    old = subscription_invoice(stripe_invoice_id="in_old", issued_at=timezone.now() - timedelta(minutes=5))
    subscription_invoice(stripe_invoice_id="in_new")
    assert tasks.render_missing_pdfs.delay().get() == 1
    old.refresh_from_db()
    # delay_on_commit inside the test transaction: enqueued at commit, so the
    # render itself is checked in the test above.
    assert not old.has_pdf


def _links(body: str) -> list[str]:
    return re.findall(r"https://shop\.example\.com(/\S+)", body)


@pytest.mark.parametrize("signed_in", [False, True], ids=["guest", "customer"])
def test_email_links_are_signed_and_open_without_a_session(client, signed_in, django_capture_on_commit_callbacks):
    """The e-mail that confirms the order (the invoice's) carries signed links:
    the order page, the invoice and the receipt open for whoever has the
    e-mail, signed in or not, guest order or not."""
    from tests.factories import UserFactory

    order = PaidOrderFactory(customer=UserFactory() if signed_in else None)
    with django_capture_on_commit_callbacks(execute=True):
        order_tasks.issue_order_documents.delay(order.pk)
    invoice = Document.objects.get(order=order, kind=Document.Kind.INVOICE)
    receipt = Document.objects.get(order=order, kind=Document.Kind.RECEIPT)
    body = mail.outbox[0].body
    links = _links(body)
    order_link = next(link for link in links if link.startswith(f"/orders/{order.reference}/?link="))
    invoice_link = next(link for link in links if link.startswith(f"/documents/{invoice.pk}/pdf/?link="))
    receipt_link = next(link for link in links if link.startswith(f"/documents/{receipt.pk}/pdf/?link="))
    assert "?ref=" not in body

    page = client.get(order_link)
    assert page.status_code == 200
    assert f"Order {order.number}" in page.content.decode()
    for link, document in ((invoice_link, invoice), (receipt_link, receipt)):
        response = client.get(link)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == f'attachment; filename="{document.number}.pdf"'
    # The HTML part links the same signed addresses.
    html, _ = mail.outbox[0].alternatives[0]
    assert order_link.replace("&", "&amp;") in html or order_link in html


def test_only_invoices_are_emailed():
    from billing.emails import document_send_email
    from billing.exceptions import BillingError

    order = PaidOrderFactory()
    _, receipt = order_documents_issue(order_id=order.pk)
    with pytest.raises(BillingError):
        document_send_email(document_id=receipt.pk)


@pytest.mark.django_db(transaction=True)
def test_the_sweep_renders_outside_any_transaction(settings, monkeypatch):
    """Documents left without a PDF are rendered by the sweep with no
    transaction open (no row lock held while WeasyPrint works)."""
    from django.db import transaction

    from billing import services

    settings.BILLING_RENDER_SWEEP_AFTER_SECONDS = 0
    rendered_inside = []
    real_render = services.snapshot_to_pdf

    def render(*, snapshot):
        rendered_inside.append(transaction.get_connection().in_atomic_block)
        return real_render(snapshot=snapshot)

    monkeypatch.setattr(services, "snapshot_to_pdf", render)
    order = PaidOrderFactory()
    invoice, receipt = order_documents_issue(order_id=order.pk)  # as if the worker died here
    assert tasks.render_missing_pdfs.delay().get() == 1
    assert rendered_inside == [False]
    assert Document.objects.filter(pk__in=[invoice.pk, receipt.pk], pdf_rendered_at__isnull=False).count() == 1
    assert len(mail.outbox) == 1
