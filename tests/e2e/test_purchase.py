"""The first whole journey: from a product page to an invoice PDF in the account."""

import email
import io
import re
import time
import urllib.request

from pypdf import PdfReader

CUSTOMER = ("customer@example.com", "customer-demo-pass")


def sign_in(page, stack):
    page.goto(stack.url + "/accounts/login/")
    page.get_by_label(re.compile("e-?mail|username", re.I)).fill(CUSTOMER[0])
    page.get_by_label(re.compile("password", re.I)).fill(CUSTOMER[1])
    page.snap("login")
    page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()
    page.wait_for_url(re.compile(r"/account/"))


def add_to_cart(page, stack, name: str, quantity: int) -> str:
    """Browse the catalogue, open the product by its name, add it to the cart."""
    page.goto(stack.url + "/")
    page.locator(".product-card a.product-card-link", has_text=name).click()
    assert page.locator("h1").inner_text() == name
    page.get_by_label(re.compile("quantity", re.I)).fill(str(quantity))
    page.snap(f"product-{name[:20]}")
    page.get_by_role("button", name=re.compile("add to cart", re.I)).click()
    page.wait_for_url(re.compile(r"/cart/"))
    return name


def check_out(page):
    page.get_by_role("link", name=re.compile("check ?out", re.I)).click()
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address", exact=True).fill("1 Analytical Street")
    page.get_by_label(re.compile("postal code", re.I)).fill("75001")
    page.get_by_label(re.compile("city", re.I)).fill("Paris")
    page.snap("checkout-form")
    page.get_by_role("button", name=re.compile("pay|place order|continue to payment", re.I)).click()
    page.wait_for_url(re.compile(r"/c/pay/cs_"))


def pay(page, card: str):
    page.get_by_label(re.compile("card number", re.I)).fill(card)
    page.get_by_label(re.compile("expir", re.I)).fill("12 / 34")
    page.get_by_label(re.compile("cvc", re.I)).fill("123")
    name = page.get_by_label(re.compile("name", re.I))
    if name.count():
        name.first.fill("Ada Lovelace")
    page.snap("hosted-checkout")
    page.get_by_role("button", name=re.compile("^pay", re.I)).click()


def test_buy_two_products_pay_and_download_the_invoice(stack, page):
    # What the browser reports as errors on the way (a resource that fails
    # to load, a script error): none, on the shop's pages or the payment page.
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(
        f"{page.url}: {message.text} ({message.location.get('url')})"))
    sign_in(page, stack)
    # Two VAT rates: coffee at 5.5 %, a mug at 20 %.
    first = add_to_cart(page, stack, "Colombia Huila, whole beans 1 kg", 1)
    second = add_to_cart(page, stack, "Stoneware mug 350 ml", 2)
    page.snap("cart")
    assert first in page.content() and second in page.content()

    check_out(page)
    pay(page, "4242 4242 4242 4242")

    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/"))
    page.snap("status-after-return")
    # The page refreshes itself until the webhook has marked the order paid
    # and the worker has issued the invoice.
    page.locator("[data-role=status]", has_text="Paid").wait_for(timeout=60_000)
    invoice_link = page.get_by_role("link", name=re.compile(r"Invoice INV-"))
    invoice_link.wait_for(timeout=60_000)
    page.snap("status-paid")
    number = re.search(r"INV-\d{4}-\d{6}", invoice_link.inner_text()).group(0)
    assert console_errors == []

    # The account lists this order's invoice (among the customer's documents).
    page.goto(stack.url + "/account/")
    page.snap("account")
    invoice_row = page.locator("tr", has_text=number)
    total = re.search(r"€[\d,]+\.\d\d", invoice_row.inner_text()).group(0)
    with page.expect_download() as download_info:
        invoice_row.get_by_role("link", name=re.compile("download", re.I)).click()
    pdf = download_info.value
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(open(pdf.path(), "rb").read())).pages)
    text = " ".join(text.split())  # table cells wrap long names over lines
    pdf.save_as(page.artifacts / "invoice.pdf")

    assert number in text
    assert first in text and second in text
    assert "VAT 5.5%" in text and "VAT 20%" in text  # the breakdown per rate
    assert total in text  # the total the account shows is the invoice's
    # The worker e-mails the invoice once its PDF is rendered (the receipt is linked).
    deadline = time.monotonic() + 30
    while number not in "".join(stack.mails()) and time.monotonic() < deadline:
        time.sleep(0.2)
    mail = next((m for m in stack.mails() if number in m), "")
    assert "customer@example.com" in mail and f"{number}.pdf" in mail

    # The receipt is linked, not attached: its signed link, opened without a
    # session (as from a mail client), renders it on this first download.
    message = email.message_from_string(mail.split("-" * 79)[0].strip())
    body = next(part.get_payload(decode=True).decode() for part in message.walk()
                if part.get_content_type() == "text/plain")
    receipt_number, receipt_url = re.search(r"Your receipt (RCT-\d{4}-\d{6}), which acknowledges the payment: (\S+)",
                                            body).groups()
    with urllib.request.urlopen(receipt_url, timeout=60) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        receipt = " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.read())).pages).split())
    assert receipt_number in receipt and number in receipt and total in receipt


def test_declined_card_leaves_the_order_unpaid_with_a_clear_message(stack, page):
    sign_in(page, stack)
    add_to_cart(page, stack, "French press 1 L", 1)
    check_out(page)
    pay(page, "4000 0000 0000 0002")
    page.get_by_text(re.compile("declined", re.I)).first.wait_for()
    page.snap("declined-on-hosted-page")
    assert "/c/pay/cs_" in page.url  # still on the payment page, free to try again

    # The order, seen from the account, is still unpaid and says why.
    page.goto(stack.url + "/account/")
    page.get_by_role("link", name=re.compile(r"ORD-\d+")).first.click()
    page.locator("[data-role=payment-error]", has_text=re.compile("declined", re.I)).wait_for()
    assert "Awaiting payment" in page.locator("[data-role=status]").inner_text()
    assert "did not go through" in page.content()
    page.snap("order-unpaid-with-message")

    # The customer can go back to the payment page and pay with another card.
    page.get_by_role("button", name=re.compile("try again", re.I)).click()  # "Pay now", after a refusal
    page.wait_for_url(re.compile(r"/c/pay/cs_"))
    pay(page, "4242 4242 4242 4242")
    page.locator("[data-role=status]", has_text="Paid").wait_for(timeout=60_000)
    page.snap("paid-after-retry")


def test_the_order_page_learns_the_payment_from_its_stream_of_events(stack, page):
    """The order page open while the payment is made elsewhere: with its polls
    of the API's status blocked, only its server-sent events can tell it."""
    from tests.payments.helpers import pay_session

    sign_in(page, stack)
    add_to_cart(page, stack, "French press 1 L", 1)
    check_out(page)
    session_id = re.search(r"/c/pay/(cs_[A-Za-z0-9_]+)", page.url).group(1)
    polls = []

    def no_poll(route):
        polls.append(route.request.url)
        route.abort()

    page.route(re.compile(r"/api/v1/orders/[^/]+/status/"), no_poll)
    page.goto(stack.url + "/account/")
    with page.expect_response(lambda r: "/status/stream/" in r.url) as stream:
        page.get_by_role("link", name=re.compile(r"ORD-\d+")).first.click()
    assert stream.value.status == 200 and stream.value.headers["content-type"] == "text/event-stream"
    assert "Awaiting payment" in page.locator("[data-role=status]").inner_text()

    pay_session(stack.emulator_url, session_id)  # paid elsewhere (another tab, a phone)
    page.locator("[data-role=status]", has_text="Paid").wait_for(timeout=30_000)
    page.get_by_role("link", name=re.compile(r"Invoice INV-")).wait_for(timeout=30_000)
    page.snap("paid-told-by-the-stream")
