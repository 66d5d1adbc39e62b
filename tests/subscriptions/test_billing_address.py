"""A subscriber changes their billing address or VAT id on their subscription
page: they see the plan's price with the new VAT before confirming; the next
invoices are addressed there and charged that VAT from the next renewal; the
invoices already issued stay as they were. VAT ids are checked against a
local VIES."""

import pytest
from django.contrib.auth.models import Permission
from djstripe.models import Price

from billing.models import Document
from payments import gateway
from subscriptions.selectors import subscription_for_user
from tests.factories import UserFactory

from .conftest import REGISTERED, advance, billing_in, clock_of, period_end, subscribe, webhooks_held
from .test_vat import ART_196, FORM, NET, PLAN, messages_of

pytestmark = pytest.mark.django_db(transaction=True)


def billing_page(client, subscription):
    return f"/account/subscription/{subscription.id}/billing/"


def change_billing(client, emulator_url, wait, subscription, country, vat_id="", company=""):
    """Fill the form, see the new price, confirm it. Returns (the page that
    showed the price, the response to the confirmation)."""
    url = billing_page(client, subscription)
    data = {"billing_name": "Ada Lovelace", "billing_company": company, "billing_country": country,
            "vat_id": vat_id, **FORM[country]}
    page = client.post(url, data)
    assert page.status_code == 200 and page.context["quote"] is not None, page.content.decode()[:2000]
    with webhooks_held(emulator_url):
        response = client.post(url, {**data, "quote": page.context["quote"].key, "confirm": "1"})
    wait()
    return page, response


CASES = [
    # id, signed up in, moves to, VAT id, price shown and charged from the renewal, (rate, category), mention
    ("DE consumer moves to France", "DE", "FR", "", 2900, ("20.00", "S"), ""),
    ("FR consumer becomes a German business", "FR", "DE", REGISTERED, NET, ("0.00", "AE"), ART_196),
]


@pytest.mark.parametrize("case, before, after, vat_id, amount, row, mention", CASES, ids=[c[0] for c in CASES])
def test_a_new_billing_address_is_charged_its_vat_from_the_next_renewal(
    settings, client, stripe_emulator, stripe_webhooks, plans, subscriber, api, vies, case, before, after, vat_id,
    amount, row, mention,
):
    settings.SHOP_VAT_OSS = True
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans[PLAN], billing=billing_in(before))
    first = Document.objects.get(kind="invoice")
    first_snapshot, first_total = first.snapshot, first.total_gross
    subscription = subscription_for_user(subscriber)

    client.force_login(subscriber)
    account = client.get("/account/subscription/").content.decode()
    assert 'data-role="billing-link"' in account and FORM[before]["billing_city"] in account
    form = client.get(billing_page(client, subscription))
    assert form.status_code == 200 and form.context["form"].initial["billing_country"] == before

    page, response = change_billing(client, stripe_emulator.url, stripe_webhooks, subscription, after,
                                    vat_id=vat_id, company="Muster GmbH" if vat_id else "")
    # Before confirming, the page showed the new price, its VAT and why.
    html = page.content.decode()
    assert f"€{amount / 100:.2f}" in html and f"VAT {row[0].removesuffix('.00')}%" in html
    if mention:
        assert mention in html
    assert response.status_code == 302 and response["Location"] == "/account/subscription/"
    account = client.get("/account/subscription/")
    assert any(f"you pay €{amount / 100:.2f}" in m for m in messages_of(account)), messages_of(account)
    assert FORM[after]["billing_city"] in account.content.decode()

    # At Stripe: the customer's address, the buyer's price of the new VAT and
    # the subscription's metadata; nothing charged or prorated now.
    subscription = subscription_for_user(subscriber)
    assert subscription.customer.stripe_data["address"]["country"] == after
    charged = Price.objects.get(id=subscription.stripe_data["items"]["data"][0]["price"]["id"])
    assert charged.unit_amount == amount
    metadata = subscription.stripe_data["metadata"]
    assert metadata["vat_buyer_country"] == after and metadata.get("vat_id", "") == vat_id
    if vat_id:
        assert metadata["vat_id_status"] == "valid" and metadata["vat_id_checked_at"]
        assert metadata["vat_buyer_company"] == "Muster GmbH"
    assert Document.objects.filter(kind="invoice").count() == 1

    # Staff see the change in the subscription's audit trail.
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_shopsubscription"))
    client.force_login(staff)
    admin_page = client.get(f"/admin/subscriptions/shopsubscription/{subscription.djstripe_id}/change/")
    assert f"billing address changed to {FORM[after]['billing_city']}, {after}" in admin_page.content.decode()

    # The renewal: addressed to the new address, with its VAT.
    advance(api, clock_of(subscriber), period_end(subscription) + 3600, stripe_webhooks)
    renewal = Document.objects.filter(kind="invoice").exclude(pk=first.pk).get()
    assert renewal.total_gross == amount == gateway.invoice_retrieve(renewal.stripe_invoice_id).amount_paid
    assert renewal.snapshot["buyer"]["country"] == after
    assert renewal.snapshot["buyer"]["city"] == FORM[after]["billing_city"]
    assert {(r["rate"], r["category"]) for r in renewal.snapshot["vat_breakdown"]} == {row}
    assert renewal.snapshot["buyer"]["vat_id"] == vat_id
    if mention:
        assert any(mention in m for m in renewal.snapshot["legal_mentions"])
    # The invoice issued before the change is untouched.
    first.refresh_from_db()
    assert first.snapshot == first_snapshot and first.total_gross == first_total
    assert first.snapshot["buyer"]["country"] == before


def test_an_invalid_vat_id_is_a_form_error(settings, client, stripe_emulator, stripe_webhooks, plans, subscriber,
                                           vies):
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans[PLAN], billing=billing_in("FR"))
    subscription = subscription_for_user(subscriber)
    client.force_login(subscriber)
    response = client.post(billing_page(client, subscription), {
        "billing_name": "Ada Lovelace", "billing_country": "DE", "vat_id": "DE123", **FORM["DE"]})
    assert response.status_code == 200
    page = response.content.decode()
    assert "This VAT id is not valid" in page and "Please check the fields marked below." in page
    assert response.context["quote"] is None and vies.requests == []
    assert subscription_for_user(subscriber).stripe_data["metadata"]["vat_buyer_country"] == "FR"


def test_vies_down_charges_vat_and_tells_the_customer(settings, client, stripe_emulator, stripe_webhooks, plans,
                                                     subscriber, vies):
    settings.SHOP_VAT_OSS = True
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans[PLAN], billing=billing_in("FR"))
    subscription = subscription_for_user(subscriber)
    vies.down = True
    client.force_login(subscriber)
    page, response = change_billing(client, stripe_emulator.url, stripe_webhooks, subscription, "DE",
                                    vat_id=REGISTERED, company="Muster GmbH")
    html = page.content.decode()
    assert "could not be reached" in html and "VAT is charged" in html
    assert page.context["quote"].amount == NET + 459
    assert response.status_code == 302
    told = " ".join(messages_of(client.get("/account/subscription/")))
    assert "could not be reached" in told and f"you pay €{(NET + 459) / 100:.2f}" in told
    subscription = subscription_for_user(subscriber)
    metadata = subscription.stripe_data["metadata"]
    assert (metadata["vat_id"], metadata["vat_id_status"]) == (REGISTERED, "unavailable")
    assert subscription.stripe_data["items"]["data"][0]["price"]["unit_amount"] == NET + 459


def test_a_changed_address_gives_a_new_price_to_confirm(settings, client, stripe_emulator, stripe_webhooks, plans,
                                                       subscriber, vies):
    # The price shown was for Germany; the form confirmed says France: the
    # French price is shown to confirm, nothing is changed yet.
    settings.SHOP_VAT_OSS = True
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans[PLAN], billing=billing_in("US"))
    subscription = subscription_for_user(subscriber)
    client.force_login(subscriber)
    url = billing_page(client, subscription)
    shown = client.post(url, {"billing_name": "Ada Lovelace", "billing_country": "DE", **FORM["DE"]})
    response = client.post(url, {"billing_name": "Ada Lovelace", "billing_country": "FR", **FORM["FR"],
                                 "quote": shown.context["quote"].key, "confirm": "1"})
    assert response.status_code == 200
    assert "check it, then confirm" in " ".join(messages_of(response))
    assert response.context["quote"].amount == 2900 and "€29.00" in response.content.decode()
    assert subscription_for_user(subscriber).stripe_data["metadata"]["vat_buyer_country"] == "US"


def test_a_canceled_subscription_has_no_billing_form(client, stripe_emulator, stripe_webhooks, plans, subscriber):
    from subscriptions.cancellation import subscription_cancel_now

    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans[PLAN])
    subscription = subscription_for_user(subscriber)
    with webhooks_held(stripe_emulator.url):
        subscription_cancel_now(subscription=subscription, actor=UserFactory(is_staff=True))
    stripe_webhooks()
    client.force_login(subscriber)
    assert subscription_for_user(subscriber).status == "canceled"
    assert 'data-role="billing-link"' not in client.get("/account/subscription/").content.decode()
    response = client.get(billing_page(client, subscription), follow=True)
    assert response.redirect_chain[-1][0] == "/account/subscription/"
    assert "has ended" in " ".join(messages_of(response))
    response = client.post(billing_page(client, subscription), {
        "billing_name": "Ada Lovelace", "billing_country": "DE", **FORM["DE"], "confirm": "1"}, follow=True)
    assert "has ended" in " ".join(messages_of(response))
