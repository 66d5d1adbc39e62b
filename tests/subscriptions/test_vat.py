"""VAT by place of supply for subscriptions, through the paths production
takes: the subscribe page asks the billing address and VAT id and shows the
plan's price with the buyer's VAT before Checkout; Stripe charges exactly
that (a price per plan and VAT treatment); the invoice carries the rate,
category and mention of what was charged, and renewals and plan changes keep
the buyer's VAT. VAT ids are checked against a local VIES."""

import re

import pytest
from django.contrib.auth.models import Permission
from djstripe.models import Price
from facturx import xml_check_xsd
from lxml import etree

from billing.facturx import facturx_xml
from billing.models import Document
from payments import gateway
from subscriptions.selectors import subscription_for_user, subscription_plan_price_id
from tests.billing.test_facturx import FRENCH_RULES, assert_valid_facturx, schematron_errors, text
from tests.factories import UserFactory
from tests.payments.helpers import pay_session, session_id_of

from .conftest import REGISTERED, advance, billing_in, clock_of, period_end, subscribe, webhooks_held

pytestmark = pytest.mark.django_db(transaction=True)

ART_196 = "Article 196"
OUT_OF_SCOPE = "not subject to EU VAT"
PLAN = "coffee-club-plus-monthly"  # €29.00 a month with the seller's (French) 20 % VAT; no trial
# 2900 at 20 % is 2417 net; + 19 % (Germany) = 2876.
NET = 2417

FORM = {
    "FR": {"billing_line1": "3 place du Marché", "billing_postal_code": "69002", "billing_city": "Lyon"},
    "DE": {"billing_line1": "Hauptstrasse 1", "billing_postal_code": "10115", "billing_city": "Berlin"},
    "US": {"billing_line1": "1 Navy Way", "billing_postal_code": "10001", "billing_city": "New York"},
}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def subscribe_page(client, emulator_url, wait, price, country, vat_id="", company=""):
    """Open the subscribe page, submit the billing address; confirm the price
    when the page shows another for that address. Returns (the page that
    showed the price, the 303 to Stripe Checkout)."""
    page = client.get(f"/plans/subscribe/?price={price.id}")
    assert page.status_code == 200
    data = {"price": price.id, "billing_name": "Max Muster", "billing_company": company,
            "billing_country": country, "vat_id": vat_id, **FORM[country], "quote": page.context["quote"].key}
    with webhooks_held(emulator_url):
        response = client.post("/plans/subscribe/", data)
        if response.status_code == 200:
            page = response
            assert "check it, then confirm" in " ".join(messages_of(response))
            response = client.post("/plans/subscribe/", {**data, "quote": page.context["quote"].key})
    assert response.status_code == 303, messages_of(response) or response.content.decode()[:2000]
    wait()
    return page, response


CASES = [
    # id, country, VAT id, amount charged, (rate, category), mention
    ("FR consumer", "FR", "", 2900, ("20.00", "S"), ""),
    ("DE consumer, One-Stop-Shop", "DE", "", NET + 459, ("19.00", "S"), ""),
    ("DE business, verified VAT id", "DE", REGISTERED, NET, ("0.00", "AE"), ART_196),
    ("US consumer", "US", "", NET, ("0.00", "O"), OUT_OF_SCOPE),
]


@pytest.mark.parametrize("case, country, vat_id, amount, row, mention", CASES, ids=[c[0] for c in CASES])
def test_subscription_vat_by_place_of_supply_from_the_subscribe_page_to_the_renewal(
    settings, client, stripe_emulator, stripe_webhooks, plans, subscriber, api, vies, case, country, vat_id, amount,
    row, mention,
):
    settings.SHOP_VAT_OSS = True
    client.force_login(subscriber)
    page, response = subscribe_page(client, stripe_emulator.url, stripe_webhooks, plans[PLAN], country,
                                    vat_id=vat_id, company="Muster GmbH" if vat_id else "")

    # Before paying, the page showed the buyer's price, whose VAT and why.
    html = page.content.decode()
    quote = page.context["quote"]
    assert quote.amount == amount and f"€{amount / 100:.2f}" in html
    assert f"VAT {row[0].removesuffix('.00')}%" in html
    if mention:
        assert mention in html
    else:
        assert "Article" not in html and f"VAT of {country}" in html

    # Stripe charges that, with the address the VAT was worked out for (a
    # country typed on the Checkout page does not change it).
    session = gateway.checkout_session_retrieve(session_id_of(response["Location"]))
    assert session.amount_total == amount
    if country == "FR":
        pay_session_with_country(stripe_emulator.url, session.id, "US")
    else:
        pay_session(stripe_emulator.url, session.id)
    stripe_webhooks()

    invoice = Document.objects.get(kind="invoice", customer=subscriber)
    stripe_invoice = gateway.invoice_retrieve(invoice.stripe_invoice_id)
    assert stripe_invoice.amount_paid == invoice.total_gross == amount
    snap = invoice.snapshot
    assert {(r["rate"], r["category"]) for r in snap["vat_breakdown"]} == {row}
    assert [(line["vat_rate"], line["vat_category"]) for line in snap["lines"]] == [row]
    assert snap["buyer"]["country"] == country
    if mention:
        assert any(mention in m for m in snap["legal_mentions"])
    else:
        assert not any("Article 1" in m or OUT_OF_SCOPE in m for m in snap["legal_mentions"])
    tree = assert_valid_einvoice(facturx_xml(snap), rate=row[0])
    assert text(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode") == [row[1]]
    if vat_id:
        assert snap["buyer"]["vat_id"] == vat_id and snap["buyer"]["company"] == "Muster GmbH"
        assert text(tree, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == [vat_id]
        # The VIES check's result and date are kept with the subscription.
        metadata = subscription_for_user(subscriber).stripe_data["metadata"]
        assert metadata["vat_id"] == vat_id and metadata["vat_id_status"] == "valid"
        assert metadata["vat_id_checked_at"]

    # The customer's subscription page shows what they pay.
    page = client.get("/account/subscription/").content.decode()
    assert f"€{amount / 100:.2f}" in page

    # A renewal on the test clock keeps the buyer's VAT.
    advance(api, clock_of(subscriber), period_end(subscription_for_user(subscriber)) + 3600, stripe_webhooks)
    renewal = Document.objects.filter(kind="invoice").exclude(pk=invoice.pk).get()
    assert renewal.total_gross == amount == gateway.invoice_retrieve(renewal.stripe_invoice_id).amount_paid
    assert {(r["rate"], r["category"]) for r in renewal.snapshot["vat_breakdown"]} == {row}
    assert renewal.snapshot["buyer"]["vat_id"] == vat_id
    assert_valid_einvoice(facturx_xml(renewal.snapshot), rate=row[0])


def assert_valid_einvoice(xml: bytes, *, rate: str):
    """Valid EN 16931 (and XSD); France's BR-FR rules too, except that they
    accept French VAT rates only (BR-FR-16): an invoice at another member
    state's rate (a consumer there, One-Stop-Shop) is a B2C sale outside
    France's e-invoicing, which those rules are written for."""
    if rate in ("20.00", "0.00"):
        return assert_valid_facturx(xml)
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert schematron_errors(xml) == []
    assert {error.split(":")[0] for error in schematron_errors(xml, FRENCH_RULES)} == {"BR-FR-16_BT-152",
                                                                                      "BR-FR-16_BT-119"}
    return etree.fromstring(xml)


def pay_session_with_country(emulator_url, session_id, country):
    """Pay on the hosted page, typing another country in its address field."""
    from tests.conftest import emulator_control

    return emulator_control(emulator_url, f"checkout/sessions/{session_id}/pay",
                            {"card": "4242424242424242", "address": {"country": country}})


def test_a_plan_change_keeps_the_buyers_vat(settings, client, stripe_emulator, stripe_webhooks, plans, subscriber,
                                            vies):
    settings.SHOP_VAT_OSS = True
    settings.SUBSCRIPTION_PRORATION_BEHAVIOR = "always_invoice"
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans[PLAN], billing=billing_in("DE"))
    subscription = subscription_for_user(subscriber)
    assert subscription_plan_price_id(subscription) == plans[PLAN].id  # the plan, though charged a DE price

    client.force_login(subscriber)
    page = client.get("/account/subscription/").content.decode()
    # The other plans are offered at the buyer's price: €290.00 a year is 24167 net + 19 %.
    assert "€287.59" in page and "€290.00" not in page
    yearly = plans["coffee-club-plus-yearly"]
    preview = client.get(f"/account/subscription/{subscription.id}/change/?price={yearly.id}")
    assert preview.status_code == 200 and "€287.59" in preview.content.decode()
    with webhooks_held(stripe_emulator.url):
        response = client.post(f"/account/subscription/{subscription.id}/change/",
                               {"price": yearly.id, "proration_date": preview.context["preview"].proration_date})
    assert response.status_code == 302
    stripe_webhooks()

    subscription = subscription_for_user(subscriber)
    charged = Price.objects.get(id=subscription.stripe_data["items"]["data"][0]["price"]["id"])
    assert (charged.unit_amount, charged.metadata["vat_rate"], charged.metadata["vat_category"],
            charged.metadata["vat_country"]) == (28759, "19.00", "S", "DE")
    change = Document.objects.filter(kind="invoice").order_by("-sequence").first()
    assert "plan change" in " ".join(change.snapshot["legal_mentions"])
    assert {(r["rate"], r["category"]) for r in change.snapshot["vat_breakdown"]} == {("19.00", "S")}
    assert gateway.invoice_retrieve(change.stripe_invoice_id).amount_paid == change.total_gross
    # Back on the plans page, the plan is the customer's (not offered again).
    assert "Your plan" in client.get("/plans/").content.decode()


def test_an_invalid_vat_id_is_refused_on_the_form(client, plans, subscriber, vies):
    client.force_login(subscriber)
    price = plans[PLAN]
    page = client.get(f"/plans/subscribe/?price={price.id}")
    response = client.post("/plans/subscribe/", {
        "price": price.id, "billing_name": "Max Muster", "billing_country": "DE", "vat_id": "DE123",
        **FORM["DE"], "quote": page.context["quote"].key})
    assert response.status_code == 200
    assert "This VAT id is not valid" in response.content.decode()
    assert vies.requests == []  # refused before any VIES call, nothing asked of Stripe
    assert not Price.objects.filter(metadata__has_key="vat_category").exists()


def test_vies_down_charges_vat_and_says_so(settings, client, stripe_emulator, stripe_webhooks, plans, subscriber,
                                           vies):
    settings.SHOP_VAT_OSS = True
    vies.down = True
    client.force_login(subscriber)
    page, response = subscribe_page(client, stripe_emulator.url, stripe_webhooks, plans[PLAN], "DE",
                                    vat_id=REGISTERED, company="Muster GmbH")
    html = page.content.decode()
    assert "could not be reached" in html and "VAT is charged" in html
    assert page.context["quote"].amount == NET + 459
    session = gateway.checkout_session_retrieve(session_id_of(response["Location"]))
    assert session.amount_total == NET + 459
    assert vies.requests  # VIES was asked


def test_a_subscription_from_before_vat_by_place_of_supply_stays_domestic(stripe_emulator, stripe_webhooks, plans,
                                                                          subscriber, api, settings):
    # Signed up with the plan's own price and no VAT metadata (as before this
    # change): its invoices are issued with the seller's VAT, renewals too.
    from subscriptions.customers import customer_get_or_create

    settings.SHOP_VAT_OSS = True
    price = plans[PLAN]
    with webhooks_held(stripe_emulator.url):
        customer = customer_get_or_create(user=subscriber)
        gateway.customer_update_billing(customer.id, name="Ada Lovelace", idempotency_key="legacy-address",
                                        address={"line1": "Hauptstrasse 1", "postal_code": "10115",
                                                 "city": "Berlin", "country": "DE"})
        session = gateway.checkout_session_create_subscription(
            idempotency_key="legacy-subscribe", customer=customer.id, price_id=price.id, trial_period_days=None,
            metadata={"shop_purpose": "subscription", "user_id": str(subscriber.pk)},
            success_url="http://testserver/account/subscription/", cancel_url="http://testserver/plans/")
    stripe_webhooks()
    pay_session(stripe_emulator.url, session.id)
    stripe_webhooks()
    invoice = Document.objects.get(kind="invoice")
    assert invoice.total_gross == 2900 and invoice.total_tax == 483
    assert {(r["rate"], r["category"]) for r in invoice.snapshot["vat_breakdown"]} == {("20.00", "S")}
    advance(api, clock_of(subscriber), period_end(subscription_for_user(subscriber)) + 3600, stripe_webhooks)
    renewal = Document.objects.filter(kind="invoice").exclude(pk=invoice.pk).get()
    assert renewal.total_gross == 2900 and renewal.total_tax == 483


def test_an_invoice_addressed_to_another_country_than_the_vat_is_not_issued_and_staff_see_it(
    settings, client, stripe_emulator, stripe_webhooks, plans, subscriber, api,
):
    # Signed up from Germany (OSS 19 %); then the customer's address at Stripe
    # becomes French: the renewal was charged German VAT, so no invoice is
    # issued with the wrong VAT, and the reason says what staff must do.
    from billing.exceptions import DocumentNotIssuable
    from subscriptions.documents import paid_invoices_without_documents, subscription_invoice_documents_issue
    from subscriptions.selectors import customer_for_user
    from subscriptions.tasks import reconcile_subscription_invoices

    settings.SHOP_VAT_OSS = True
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans[PLAN], billing=billing_in("DE"))
    first = Document.objects.get(kind="invoice")
    assert first.snapshot["buyer"]["country"] == "DE" and first.total_gross == NET + 459
    with webhooks_held(stripe_emulator.url):
        gateway.customer_update_billing(customer_for_user(subscriber).id, name="Ada Lovelace",
                                        idempotency_key="moved-to-france",
                                        address={"line1": "3 place du Marché", "postal_code": "69002",
                                                 "city": "Lyon", "country": "FR"})
    stripe_webhooks()

    advance(api, clock_of(subscriber), period_end(subscription_for_user(subscriber)) + 3600, stripe_webhooks)

    assert Document.objects.filter(kind="invoice").count() == 1
    [unissued] = paid_invoices_without_documents()
    with pytest.raises(DocumentNotIssuable, match="addressed to FR, but the subscription's VAT was worked out "
                                                  "for a buyer in DE"):
        subscription_invoice_documents_issue(stripe_invoice_id=unissued)

    # Staff see it on the admin index, with the reason and where to act.
    reconcile_subscription_invoices()  # the sweeper meets it again: still one row
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_invoicerefusal", "view_shopsubscription", "change_shopsubscription", "view_customer"]))
    client.force_login(staff)
    index = client.get("/admin/").content.decode()
    url, count = re.search(r'data-item="subscription-invoices-refused">\s*<a href="([^"]+)"><span class="count" '
                           r'data-role="count">(\d+)<', index).groups()
    assert count == "1"
    row = re.search(rf'<tr data-invoice="{unissued}">(.*?)</tr>', index, re.S).group(1)
    assert "addressed to FR, but the subscription&#x27;s VAT was worked out for a buyer in DE" in row
    subscription = subscription_for_user(subscriber)
    assert f"/admin/subscriptions/shopsubscription/{subscription.djstripe_id}/change/" in row
    listing = client.get(url.replace("&amp;", "&"))
    assert unissued in listing.content.decode() and "addressed to FR" in listing.content.decode()

    # Issuing again refuses it again, with the same reason (Stripe keeps the
    # invoice addressed as it was finalized): staff refund it or invoice it
    # by hand, then mark it handled; the sweeper does not bring it back.
    refusal = listing.context["cl"].result_list[0]
    response = client.post(url.replace("&amp;", "&"), {"action": "issue_again", "_selected_action": [refusal.pk]})
    assert response.status_code == 302
    assert not Document.objects.filter(stripe_invoice_id=unissued).exists()
    refusal.refresh_from_db()
    assert refusal.attempts >= 3 and refusal.resolved_at is None and "addressed to FR" in refusal.reason
    response = client.post(url.replace("&amp;", "&"), {"action": "mark_handled", "_selected_action": [refusal.pk]})
    assert response.status_code == 302
    reconcile_subscription_invoices()
    index = client.get("/admin/").content.decode()
    assert re.search(r'data-item="subscription-invoices-refused">\s*<a href="[^"]+"><span class="count" '
                     r'data-role="count">0<', index)
    refusal.refresh_from_db()
    assert refusal.resolution == f"handled by {staff.get_username()}"
