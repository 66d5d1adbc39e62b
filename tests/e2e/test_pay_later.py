"""Closing the browser on Stripe's payment page is not a dead end: the customer
comes back, finds the unpaid order, presses "Pay now" and lands on the same
payment page; or cancels the order (with a confirmation) and finds the cart."""

import re

from .test_purchase import add_to_cart, check_out, pay, sign_in


def _fresh_page(browser, page):
    """A new browser window with no cookies: the first one was closed."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(20_000)
    fresh = context.new_page()
    fresh.snap = lambda name: fresh.screenshot(path=str(page.artifacts / f"later-{name}.png"), full_page=True)
    return fresh


def _open_newest_unpaid_order(page, stack) -> str:
    page.goto(stack.url + "/account/")
    row = page.locator("tr", has_text="Awaiting payment").first
    number = row.locator("a").first.inner_text()
    row.locator("a").first.click()
    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/$"))
    return number


def test_pay_now_after_closing_the_browser(stack, browser, page):
    sign_in(page, stack)
    add_to_cart(page, stack, "Stoneware mug 350 ml", 1)
    check_out(page)
    payment_page = page.url
    page.context.clear_cookies()  # the browser is closed on the payment page

    later = _fresh_page(browser, page)
    try:
        sign_in(later, stack)
        number = _open_newest_unpaid_order(later, stack)
        later.snap("unpaid-order")
        assert later.get_by_role("link", name="Cancel order").is_visible()
        later.get_by_role("button", name=re.compile("^Pay now")).click()
        later.wait_for_url(payment_page)  # the same Checkout Session, not a second one
        pay(later, "4242 4242 4242 4242")
        later.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/"))
        later.locator("[data-role=status]", has_text="Paid").wait_for(timeout=60_000)
        later.snap("paid")
        assert number in later.locator("h1").inner_text()
        assert later.locator("[data-role=pay-actions]").count() == 0
    finally:
        later.context.close()


def test_leave_the_payment_page_then_cancel_the_order(stack, page):
    sign_in(page, stack)
    add_to_cart(page, stack, "Stoneware mug 350 ml", 2)
    check_out(page)
    page.get_by_role("link", name=re.compile("back|cancel", re.I)).first.click()  # Stripe's way back
    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/$"))
    page.snap("back-from-stripe")
    assert "You left the payment page" in page.content()
    page.get_by_role("link", name="Cancel order").click()
    page.snap("cancel-confirmation")
    page.get_by_role("button", name="Yes, cancel the order").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    page.snap("cart-after-cancel")
    assert "Stoneware mug 350 ml" in page.content() and "is cancelled" in page.content()
