"""Disputes from the emulator (the 0259 card and the control route), recorded
by webhook, answered with evidence from admin, won and lost."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEntry
from orders.models import Order
from payments import disputes, refunds, selectors
from payments.gateway import Dispute as StripeDispute
from payments.models import Dispute
from tests.conftest import emulator_control
from tests.payments.refunds.helpers import paid_order, stripe_client, support_user, viewer_user, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def disputed(stripe_emulator, stripe_webhooks, catalogue):
    """An order paid with the 0259 card: Stripe opens a dispute a moment later."""
    coffee, mug = catalogue
    order = paid_order(stripe_emulator.url, stripe_webhooks, [(coffee, 1), (mug, 2)], card="4000000000000259")
    dispute = wait_until(lambda: Dispute.objects.filter(order=order).first(), stripe_webhooks,
                         what="the dispute")
    return order, dispute


def test_the_0259_card_opens_a_dispute_recorded_on_the_order(stripe_emulator, stripe_webhooks, disputed):
    order, dispute = disputed
    assert dispute.status == "needs_response" and dispute.amount == 7100 and dispute.currency == "eur"
    assert dispute.reason == "fraudulent" and dispute.evidence_due_by is not None
    assert dispute.payment == order.payments.get()
    order.refresh_from_db()
    assert order.needs_attention.startswith("Dispute opened: €71.00 disputed (fraudulent); evidence due by")
    assert AuditEntry.objects.filter(order=order, action="dispute.opened", actor_type="stripe").exists()
    # A disputed payment cannot be refunded: refused before Stripe.
    with pytest.raises(refunds.RefundRefused, match="disputed"):
        refunds.refund_request(order_id=order.pk, staff=support_user(), amount=100)


def test_admin_shows_the_dispute_and_warns_on_the_index(client, disputed):
    order, dispute = disputed
    client.force_login(support_user())
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert dispute.stripe_dispute_id in page and "fraudulent" in page and "Needs response" in page
    index = client.get(reverse("admin:index")).content.decode()
    assert 'data-role="dispute-alerts"' in index and dispute.stripe_dispute_id in index and order.number in index


def test_evidence_with_the_invoice_pdf_reaches_stripe(client, stripe_emulator, stripe_webhooks, disputed):
    order, dispute = disputed
    staff = support_user()
    client.force_login(staff)
    url = reverse("admin:payments_dispute_evidence", args=[dispute.pk])
    form = client.get(url).content.decode()
    assert "Ada Lovelace" in form  # prefilled from the order
    delivery_note = SimpleUploadedFile("delivery-note.pdf", b"%PDF-1.4 signed delivery note\n%%EOF",
                                       content_type="application/pdf")
    response = client.post(url, {
        "customer_name": "Ada Lovelace", "customer_email_address": "ada@example.com",
        "product_description": "1 x coffee, 2 x mugs", "uncategorized_text": "Delivered and signed for.",
        "attach_invoice": "on", "shipping_documentation": delivery_note,
    }, follow=True)
    assert "Evidence submitted" in response.content.decode()
    stripe_webhooks()

    at_stripe = stripe_client(stripe_emulator.url).v1.disputes.retrieve(dispute.stripe_dispute_id)
    assert at_stripe.status == "under_review"
    assert at_stripe.evidence.uncategorized_text == "Delivered and signed for."
    assert at_stripe.evidence.customer_name == "Ada Lovelace"
    file_id = at_stripe.evidence.uncategorized_file
    uploaded = stripe_client(stripe_emulator.url).v1.files.retrieve(file_id)
    invoice = order.documents.get(kind="invoice")
    assert uploaded.purpose == "dispute_evidence" and uploaded.type == "pdf"
    assert uploaded.filename == f"{invoice.number}.pdf" and uploaded.size > 1000

    dispute.refresh_from_db()
    assert dispute.status == "under_review" and dispute.evidence_submitted_by == staff
    assert dispute.evidence["uncategorized_file"] == file_id and dispute.evidence["invoice"] == invoice.number
    # The document staff attached too, uploaded as its own file.
    shipping = stripe_client(stripe_emulator.url).v1.files.retrieve(at_stripe.evidence.shipping_documentation)
    assert shipping.filename == "delivery-note.pdf" and shipping.purpose == "dispute_evidence"
    # Staff read what was sent as fields, not as JSON.
    page = client.get(reverse("admin:payments_dispute_change", args=[dispute.pk])).content.decode()
    assert "<dt>Explanation</dt><dd>Delivered and signed for.</dd>" in page
    assert f"<dt>Invoice</dt><dd>{invoice.number}.pdf ({file_id})</dd>" in page
    assert "<dt>Proof of shipping or delivery</dt><dd>delivery-note.pdf (" in page
    assert '{"uncategorized' not in page
    assert AuditEntry.objects.filter(action="dispute.evidence_submitted", actor=staff, order=order).exists()
    # Submitted once: the form is refused now.
    again = client.post(url, {"uncategorized_text": "More"}).content.decode()
    assert "only be submitted while it needs a response" in again


def test_staff_without_the_permission_cannot_submit_evidence(client, disputed):
    order, dispute = disputed
    client.force_login(viewer_user())
    assert client.get(reverse("admin:payments_dispute_evidence", args=[dispute.pk])).status_code == 403
    page = client.get(reverse("admin:payments_dispute_change", args=[dispute.pk])).content.decode()
    assert "Submit evidence" not in page


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_won_and_lost_disputes_update_the_order(stripe_emulator, stripe_webhooks, catalogue, outcome):
    coffee, _ = catalogue
    order = paid_order(stripe_emulator.url, stripe_webhooks, [(coffee, 1)])
    charge = order.payments.get().stripe_charge_id
    opened = emulator_control(stripe_emulator.url, "disputes", {"charge": charge, "reason": "product_not_received"})
    dispute = wait_until(lambda: Dispute.objects.filter(stripe_dispute_id=opened["id"]).first(), stripe_webhooks)
    assert dispute.order == order and dispute.reason == "product_not_received"

    emulator_control(stripe_emulator.url, f"disputes/{opened['id']}/settle", {"status": outcome})
    dispute = wait_until(lambda: Dispute.objects.filter(pk=dispute.pk, outcome=outcome).first(), stripe_webhooks)
    order.refresh_from_db()
    assert dispute.status == outcome and dispute.closed_at is not None
    if outcome == "lost":
        assert dispute.amount_lost == 3900
        assert order.needs_attention.startswith("Dispute lost: €39.00")
    else:
        assert dispute.amount_lost == 0 and order.needs_attention == ""
    assert order.status == Order.Status.PAID
    assert AuditEntry.objects.filter(order=order, action=f"dispute.{outcome}").count() == 1
    assert not selectors.disputes_needing_response().exists()


def test_a_dispute_event_twice_or_late_changes_nothing(stripe_emulator, stripe_webhooks, catalogue):
    coffee, _ = catalogue
    order = paid_order(stripe_emulator.url, stripe_webhooks, [(coffee, 1)])
    emulator_control(stripe_emulator.url, "webhooks/faults", {"action": "duplicate", "count": 20})
    opened = emulator_control(stripe_emulator.url, "disputes", {"charge": order.payments.get().stripe_charge_id})
    emulator_control(stripe_emulator.url, f"disputes/{opened['id']}/settle", {"status": "lost"})
    wait_until(lambda: Dispute.objects.filter(outcome="lost").exists(), stripe_webhooks)
    # A stale "needs_response" report after the close does not reopen it.
    stale = dict(stripe_client(stripe_emulator.url).v1.disputes.retrieve(opened["id"]).to_dict(),
                 status="needs_response")
    disputes.dispute_sync(stripe_dispute=StripeDispute.from_stripe(stale))
    dispute = Dispute.objects.get()
    assert dispute.status == "lost" and dispute.amount_lost == 3900
    assert AuditEntry.objects.filter(action="dispute.opened").count() == 1
    assert AuditEntry.objects.filter(action="dispute.lost").count() == 1


def test_evidence_files_stripe_would_refuse_are_refused_first(client, stripe_emulator, stripe_webhooks, disputed):
    _order, dispute = disputed
    client.force_login(support_user())
    url = reverse("admin:payments_dispute_evidence", args=[dispute.pk])
    script = SimpleUploadedFile("evidence.exe", b"MZ", content_type="application/octet-stream")
    page = client.post(url, {"uncategorized_text": "See attached.", "receipt": script}).content.decode()
    assert "Stripe takes PDF, PNG or JPEG files only" in page
    huge = SimpleUploadedFile("scan.pdf", b"%PDF" + b"0" * (5 * 1024 * 1024), content_type="application/pdf")
    page = client.post(url, {"uncategorized_text": "See attached.", "receipt": huge}).content.decode()
    assert "more than 5 MB" in page
    dispute.refresh_from_db()
    assert dispute.evidence_submissions == 0 and dispute.status == "needs_response"
