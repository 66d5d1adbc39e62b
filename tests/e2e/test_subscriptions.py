"""The subscription journey in a browser, against the whole stack: sign up with
4242, see it active with its first invoice, change plan with the proration
shown, cancel at period end and resume; then, on the customer's Stripe test
clock, a renewal; and with the 0341 card (saved through Checkout in setup
mode): past_due, the e-mails, the retries and the cancellation."""

import re
import time

import stripe

from .test_purchase import CUSTOMER, sign_in

KEY = "sk_test_emulatorOfflineShopKey000000000"
DAY = 86400


def card_form(page, card: str, button: str):
    page.get_by_label(re.compile("card number", re.I)).fill(card)
    page.get_by_label(re.compile("expir", re.I)).fill("12 / 34")
    page.get_by_label(re.compile("cvc", re.I)).fill("123")
    name = page.get_by_label(re.compile("name", re.I))
    if name.count():
        name.first.fill("Ada Lovelace")
    email = page.get_by_label(re.compile("^email", re.I))
    if email.count() and not email.first.input_value():
        email.first.fill(CUSTOMER[0])
    # A billing address, where Checkout asks for one.
    address = page.get_by_label("Address line 1")
    if address.count():
        address.fill("1 Analytical Street")
        page.get_by_label("Postal code").fill("75001")
        page.get_by_label("City").fill("Paris")
        page.get_by_label(re.compile("^Country")).fill("FR")
    page.snap(f"hosted-{button.lower().replace(' ', '-')}")
    page.get_by_role("button", name=re.compile(f"^{button}", re.I)).click()


def reload_until(page, locator_fn, timeout=60):
    """The subscription page refreshes itself while a change is pending; this
    also reloads it while waiting for something that comes later (a renewal)."""
    deadline = time.monotonic() + timeout
    while True:
        if locator_fn().count():
            return locator_fn()
        assert time.monotonic() < deadline, f"timed out on {page.url}"
        time.sleep(0.5)
        page.reload()


def clock_for(api, email):
    [customer] = [c for c in api.v1.customers.list({"email": email, "limit": 10}).data if c.test_clock]
    return customer.test_clock


def advance(api, clock_id, to):
    api.v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": int(to)})
    deadline = time.monotonic() + 120
    while api.v1.test_helpers.test_clocks.retrieve(clock_id).status != "ready":
        assert time.monotonic() < deadline
        time.sleep(0.2)


def invoice_rows(page):
    return page.locator("tr[data-role=document]", has_text="Invoice")


def test_subscribe_change_cancel_resume_renew_and_dunning(stack, page):
    api = stripe.StripeClient(KEY, base_addresses={"api": stack.emulator_url})
    sign_in(page, stack)

    # Plans, and sign-up through Checkout in subscription mode.
    page.get_by_role("link", name="Plans", exact=True).click()
    page.snap("plans")
    assert "14-day free trial" in page.content()
    page.get_by_role("button", name="Subscribe to Coffee club Plus monthly").click()
    # The billing address (its country decides the VAT) and the price with that VAT, before Checkout.
    page.wait_for_url(re.compile(r"/plans/subscribe/"))
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address", exact=True).fill("1 Analytical Street")
    page.get_by_label("Postal code").fill("75001")
    page.get_by_label("City").fill("Paris")
    page.get_by_label("Country").select_option("FR")
    assert "€29.00" in page.get_by_test_id("plan-total").inner_text()
    page.snap("subscribe-billing")
    with page.expect_navigation():
        page.get_by_role("button", name="Continue to payment").click()
    if "/plans/subscribe/" in page.url:  # the price for this address was shown again: confirm it
        page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/c/pay/cs_"))
    card_form(page, "4242 4242 4242 4242", "Subscribe")
    page.wait_for_url(re.compile(r"/account/subscription/"))
    page.locator("[data-role=status]", has_text="Active").wait_for(timeout=60_000)
    reload_until(page, lambda: invoice_rows(page))
    page.snap("subscription-active")
    assert "Coffee club Plus · Monthly" in page.locator("[data-role=plan]").inner_text()
    assert "•••• 4242" in page.locator("[data-role=card]").inner_text()
    assert "€29.00" in page.locator("[data-role=renewal]").inner_text()
    assert invoice_rows(page).count() == 1

    # Change plan: the proration is shown first, then confirmed.
    page.get_by_label("Change plan").select_option(label="Coffee club Plus · Yearly · €290.00")
    page.get_by_role("button", name="Preview the change").click()
    page.locator("[data-role=proration-line]").first.wait_for()
    page.snap("change-preview")
    assert "Unused time on Coffee club Plus" in page.content()
    assert re.search(r"€\d", page.locator("[data-role=amount-due]").inner_text())
    page.get_by_role("button", name="Confirm the change").click()
    page.locator("[data-role=plan]", has_text="Yearly").wait_for(timeout=60_000)
    reload_until(page, lambda: invoice_rows(page).nth(1))
    page.snap("changed-to-yearly")
    assert page.locator("[data-role=pending]").count() == 0

    # Cancel at period end, then resume before the end.
    page.get_by_role("link", name="Cancel at period end…").click()
    page.snap("cancel-confirmation")
    assert "stays active until" in page.locator("[data-role=cancel-consequence]").inner_text()
    page.get_by_role("button", name="Yes, cancel at the end of the period").click()
    page.locator("[data-role=cancelling]").wait_for(timeout=60_000)
    page.snap("cancelling")
    page.get_by_role("button", name="Resume subscription").click()
    page.locator("[data-role=renewal]").wait_for(timeout=60_000)
    assert page.locator("[data-role=cancelling]").count() == 0
    page.snap("resumed")

    # A renewal on the customer's test clock.
    clock = clock_for(api, CUSTOMER[0])
    subscription = api.v1.subscriptions.list({"customer": api.v1.customers.list(
        {"email": CUSTOMER[0]}).data[0].id}).data[0]
    end = subscription["items"].data[0].current_period_end
    advance(api, clock, end + 3600)
    reload_until(page, lambda: invoice_rows(page).nth(2))
    page.snap("renewed")
    assert page.locator("[data-role=status]", has_text="Active").count()

    # Dunning: save the 0341 card (fails off-session) through setup mode.
    page.get_by_role("button", name="Replace card").click()
    page.wait_for_url(re.compile(r"/c/pay/cs_"))
    card_form(page, "4000 0000 0000 0341", "Save card")
    page.wait_for_url(re.compile(r"/account/subscription/"))
    page.locator("[data-role=card]", has_text="0341").wait_for(timeout=60_000)
    page.snap("card-0341")

    subscription = api.v1.subscriptions.retrieve(subscription.id)
    end = subscription["items"].data[0].current_period_end
    advance(api, clock, end + 60)
    reload_until(page, lambda: page.locator("[data-role=status]", has_text="Payment overdue"))
    page.snap("past-due")
    assert page.locator("[data-role=past-due]").count()
    deadline = time.monotonic() + 30
    while not any("could not collect" in m for m in stack.mails()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert any("could not collect" in m and "/account/subscription/" in m for m in stack.mails())

    # The retries (3, 5, 7 days apart) fail too; then Stripe cancels.
    for days in (3, 8, 15):
        advance(api, clock, end + days * DAY + 60)
    reload_until(page, lambda: page.locator("[data-role=status]", has_text="Cancelled"))
    page.snap("cancelled")
    deadline = time.monotonic() + 30
    while not any("has ended" in m for m in stack.mails()) and time.monotonic() < deadline:
        time.sleep(0.2)
    mails = stack.mails()
    assert sum("could not collect" in m for m in mails) >= 4
    assert any("has ended" in m for m in mails)
