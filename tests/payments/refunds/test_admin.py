"""The Refund action in admin: who sees it, the form, the confirmation step,
double submission and the messages staff read."""

import re

import pytest

from audit.models import AuditEntry
from payments.models import Refund
from tests.factories import UserFactory

from .helpers import hold_webhooks, stripe_client, support_user, viewer_user, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def refund_url(order):
    return f"/admin/orders/order/{order.pk}/refund/"


def form_data(order, **values):
    data = {"amount": "71.00", "reason": "", "note": "", **{f"line_{line.pk}": "0" for line in order.lines.all()}}
    data.update(values)
    return data


def hidden_inputs(html: str) -> dict:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def test_support_sees_the_refund_action_accountant_like_staff_do_not(client, order):
    client.force_login(support_user())
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert refund_url(order) in page and "Refund" in page
    assert "Audit trail" in page and "order.paid" in page
    assert client.get(refund_url(order)).status_code == 200

    client.force_login(viewer_user())
    page = client.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200 and refund_url(order) not in page.content.decode()
    assert client.get(refund_url(order)).status_code == 403
    assert client.post(refund_url(order), form_data(order, _confirm="1")).status_code == 403
    changelist = client.get("/admin/orders/order/").content.decode()
    assert "refund_order" not in changelist

    # Not staff at all (the seed's accountant): sent to the admin login.
    accountant = UserFactory(username="accountant-x")
    client.force_login(accountant)
    response = client.get(refund_url(order))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Refund.objects.exists()


def test_seeded_groups_support_may_refund_accountants_may_not(db):
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    call_command("seed_shop", verbosity=0)
    support = Group.objects.get(name="Support").permissions.values_list("content_type__app_label", "codename")
    accountants = Group.objects.get(name="Accountants").permissions.values_list("content_type__app_label",
                                                                                 "codename")
    assert ("payments", "add_refund") in support and ("payments", "submit_dispute_evidence") in support
    assert ("payments", "add_refund") not in accountants
    assert ("audit", "view_auditentry") in support and ("audit", "view_auditentry") in accountants


def test_refund_by_lines_through_the_confirmation_step(client, stripe_emulator, stripe_webhooks, order):
    staff = support_user()
    client.force_login(staff)
    mug = order.lines.get(sku="GEAR-MUG")

    preview = client.post(refund_url(order), form_data(order, **{f"line_{mug.pk}": "2", "reason": "duplicate",
                                                                 "note": "Sent twice", "restock": "on",
                                                                 "_preview": "1"}))
    html = preview.content.decode()
    assert preview.status_code == 200 and 'data-role="refund-confirmation"' in html
    assert "€32.00" in html and "Partially refunded" in html and "go back to stock" in html
    assert "-€32.00" in html  # the credit note line
    assert not Refund.objects.exists()  # nothing before confirming

    confirm = {**hidden_inputs(html), "_confirm": "1"}
    hold_webhooks(stripe_emulator.url)
    response = client.post(refund_url(order), confirm, follow=True)
    text = response.content.decode()
    refund = Refund.objects.get()
    assert "sent to Stripe" in text and refund.amount == 3200 and refund.requested_by == staff
    # The same confirmation submitted again (double click, back + resubmit): nothing more.
    again = client.post(refund_url(order), confirm, follow=True).content.decode()
    assert "already recorded" in again
    assert Refund.objects.count() == 1
    wait_until(lambda: Refund.objects.get().credit_note_id, stripe_webhooks)
    assert len(stripe_client(stripe_emulator.url).v1.refunds.list(
        {"payment_intent": order.stripe_payment_intent_id}).data) == 1
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "Partially refunded" in page and "CN-" in page and "€39.00" in page  # still refundable


def test_refusals_are_shown_and_nothing_is_sent(client, stripe_emulator, order):
    client.force_login(support_user())
    for amount, message in (("0", "more than zero"), ("-5", "more than zero"), ("71.01", "At most €71.00"),
                            ("abc", "as a number")):
        html = client.post(refund_url(order), form_data(order, amount=amount, _preview="1")).content.decode()
        assert 'data-role="refund-error"' in html and message in html, amount
    # A confirmation forged past the preview is checked again.
    html = client.post(refund_url(order), form_data(order, amount="80.00", _confirm="1")).content.decode()
    assert "At most €71.00" in html
    assert not Refund.objects.exists()
    assert stripe_client(stripe_emulator.url).v1.refunds.list(
        {"payment_intent": order.stripe_payment_intent_id}).data == []


def test_stripe_unavailable_is_explained_to_staff(client, stripe_emulator, order):
    from tests.conftest import emulator_control

    client.force_login(support_user())
    emulator_control(stripe_emulator.url, "faults", {"path": "/v1/refunds", "method": "POST", "status": 503,
                                                     "count": 3})
    html = client.post(refund_url(order), form_data(order, amount="10.00", _preview="1")).content.decode()
    text = client.post(refund_url(order), {**hidden_inputs(html), "_confirm": "1"}, follow=True).content.decode()
    assert "could not be reached" in text and "sent automatically" in text
    refund = Refund.objects.get()
    assert refund.status == "pending" and refund.send_error
    assert AuditEntry.objects.filter(action="refund.requested", object_id=str(refund.pk)).exists()
