"""The e-mail outbox: e-mails are written in the business transaction, sent
after commit outside any transaction, marked sent, and sent again by the sweep
when the mail server was down; once, never twice."""

import socket

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import transaction

from billing.emails import document_send_email
from billing.models import Document
from core import tasks
from core.models import OutgoingEmail
from core.selectors import emails_unsent
from orders.services import order_mark_paid
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


class NoTransactionBackend(LocmemBackend):
    """The test mail server: refuses a message sent from inside a
    transaction (where a row lock may be held)."""

    def send_messages(self, messages):
        if transaction.get_connection().in_atomic_block:
            raise RuntimeError("SMTP called inside a transaction")
        return super().send_messages(messages)


@pytest.fixture
def billing_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://shop.example.com"
    return settings.MEDIA_ROOT


@pytest.fixture
def smtp_down(settings):
    """A real SMTP backend pointed at a local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return port


def pay(order, capture):
    with capture(execute=True):
        order_mark_paid(order_id=order.pk, amount_paid=order.total, currency=order.currency,
                        payment_intent_id=f"pi_outbox_{order.pk}")


def test_smtp_down_the_documents_are_issued_and_the_email_is_sent_once_when_it_is_back(
    settings, smtp_down, billing_media_root, django_capture_on_commit_callbacks, client
):
    settings.EMAIL_OUTBOX_RETRY_SECONDS = 0  # the sweep may retry at once
    order = OrderFactory()
    pay(order, django_capture_on_commit_callbacks)  # no error for the payer

    invoice = Document.objects.get(order=order, kind=Document.Kind.INVOICE)
    receipt = Document.objects.get(order=order, kind=Document.Kind.RECEIPT)
    assert invoice.has_pdf and not receipt.has_pdf  # the receipt's is made on its first download
    assert invoice.emailed_at is None and mail.outbox == []
    [unsent] = emails_unsent()
    assert unsent.to == [order.email] and invoice.number in unsent.subject
    assert unsent.attempts == 1 and "refused" in unsent.last_error.lower()

    # Staff see it, with the error.
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_outgoingemail"))
    client.force_login(staff)
    page = client.get("/admin/core/outgoingemail/", {"sent": "no"}).content.decode()
    assert invoice.number in page and "ConnectionRefusedError" in page and "not sent" in page

    # Still down: the sweep tries again, records the failure, sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_unsent_emails.delay().get() == 1
    assert emails_unsent().get().attempts == 2 and mail.outbox == []

    # The mail server is back: the next sweep sends it, once.
    settings.EMAIL_BACKEND = LOCMEM
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_unsent_emails.delay().get() == 1
        assert tasks.send_unsent_emails.delay().get() == 0
        tasks.send_email.delay(unsent.pk)  # a duplicate message
        document_send_email(document_id=invoice.pk)  # the render task run again
    assert len(mail.outbox) == 1
    [message] = mail.outbox
    assert message.to == [order.email] and invoice.number in message.subject
    assert [name for name, _, _ in message.attachments] == [f"{invoice.number}.pdf"]
    assert receipt.number in message.body  # linked
    assert message.attachments[0][1] == invoice.pdf.open("rb").read()
    assert message.alternatives[0][1] == "text/html"
    invoice.refresh_from_db()
    receipt.refresh_from_db()
    assert invoice.emailed_at is not None and receipt.emailed_at is not None
    assert not emails_unsent().exists()
    sent = OutgoingEmail.objects.get()
    assert sent.last_error == "" and sent.attempts == 3
    # The PDFs are in storage: the sent row keeps the attachments' names only.
    assert sent.attachments == [{"filename": f"{invoice.number}.pdf", "mimetype": "application/pdf"}]


def test_staff_send_an_unsent_email_again_from_admin(settings, smtp_down, billing_media_root,
                                                    django_capture_on_commit_callbacks, client):
    order = OrderFactory()
    pay(order, django_capture_on_commit_callbacks)
    email = emails_unsent().get()

    settings.EMAIL_BACKEND = LOCMEM
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/core/outgoingemail/",
                               {"action": "send_again", "_selected_action": [email.pk]}, follow=True)
    assert response.status_code == 200
    assert "1 e-mail(s) sent again" in response.content.decode()
    assert len(mail.outbox) == 1 and not emails_unsent().exists()
    # Once sent, the action leaves it alone.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/core/outgoingemail/",
                               {"action": "send_again", "_selected_action": [email.pk]}, follow=True)
    assert "already sent" in response.content.decode() and len(mail.outbox) == 1


def test_outbox_emails_are_read_only_in_admin(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get("/admin/core/outgoingemail/add/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_mail_server_is_called_after_commit_outside_any_transaction(settings, billing_media_root):
    """Production's path with real commits: the e-mail leaves after the
    issuing transaction has committed, with no transaction (no lock) open."""
    settings.EMAIL_BACKEND = "tests.core.test_email_outbox.NoTransactionBackend"
    order = OrderFactory()
    order_mark_paid(order_id=order.pk, amount_paid=order.total, currency=order.currency,
                    payment_intent_id="pi_outbox_tx")
    email = OutgoingEmail.objects.get()
    assert (email.sent_at is not None, email.last_error, email.attempts) == (True, "", 1)
    assert len(mail.outbox) == 1
    assert Document.objects.get(order=order, kind=Document.Kind.INVOICE).emailed_at is not None


def test_a_subscription_notice_goes_through_the_outbox_once(settings, smtp_down, django_capture_on_commit_callbacks):
    from subscriptions.dunning import _notice_create
    from subscriptions.models import SubscriptionNotice

    settings.EMAIL_OUTBOX_RETRY_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        notice = _notice_create(key="ended:sub_outbox", kind=SubscriptionNotice.Kind.ENDED, email="ada@example.com",
                                context={"plan_name": "Pro", "reason_text": "it was cancelled as requested"})
        assert _notice_create(key="ended:sub_outbox", kind=SubscriptionNotice.Kind.ENDED,
                              email="ada@example.com") is None
    notice.refresh_from_db()
    assert notice.sent_at is None and emails_unsent().count() == 1

    settings.EMAIL_BACKEND = LOCMEM
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_unsent_emails.delay()
        tasks.send_unsent_emails.delay()
    notice.refresh_from_db()
    assert notice.sent_at is not None
    assert [m.to for m in mail.outbox] == [["ada@example.com"]] and "ended" in mail.outbox[0].subject
