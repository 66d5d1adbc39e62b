"""Staff in admin on the whole stack: a Support user refunds a paid order by
lines and then the rest (credit notes checked in their PDFs), an accountant
cannot refund, and a disputed payment is answered with evidence that reaches
Stripe (the emulator)."""

import io
import json
import re
import time
import urllib.request

from pypdf import PdfReader

from .test_purchase import add_to_cart, check_out, pay, sign_in

SUPPORT = ("support", "support-demo-pass")
ACCOUNTANT = ("accountant", "accountant-demo-pass")
STRIPE_KEY = "sk_test_emulatorOfflineShopKey000000000"
COFFEE = "Colombia Huila, whole beans 1 kg"  # 39.00, VAT 5.5 %
MUG = "Stoneware mug 350 ml"  # 16.00, VAT 20 %


def buy(page, stack, items, card="4242 4242 4242 4242") -> tuple[int, str]:
    """The customer's journey to a paid order; returns (order id, invoice number)."""
    sign_in(page, stack)
    for name, quantity in items:
        add_to_cart(page, stack, name, quantity)
    check_out(page)
    pay(page, card)
    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/"))
    page.locator("[data-role=status]", has_text="Paid").wait_for(timeout=60_000)
    invoice = page.get_by_role("link", name=re.compile(r"Invoice INV-"))
    invoice.wait_for(timeout=60_000)
    page.snap("customer-order-paid")
    number = re.search(r"ORD-(\d+)", page.locator("h1").inner_text()).group(1)
    return int(number), re.search(r"INV-\d{4}-\d{6}", invoice.inner_text()).group(0)


def staff_page(browser, page, who):
    """A second browser (its own cookies) signed in to admin; screenshots go
    next to the test's others."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1300, "height": 900})
    context.set_default_timeout(20_000)
    staff = context.new_page()
    counter = iter(range(50 if who == SUPPORT else 80, 1000))
    staff.snap = lambda name: staff.screenshot(path=str(page.artifacts / f"{next(counter):02d}-{who[0]}-{name}.png"),
                                               full_page=True)
    return staff


def admin_login(staff, stack, who, next_path="/admin/"):
    staff.goto(f"{stack.url}/admin/login/?next={next_path}")
    staff.fill("#id_username", who[0])
    staff.fill("#id_password", who[1])
    staff.get_by_role("button", name=re.compile("log in", re.I)).click()
    staff.wait_for_load_state()


def reload_until(staff, predicate, timeout=60, what="the page to change"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)
        staff.reload()


def pdf_text(path) -> str:
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(open(path, "rb").read())).pages)
    return " ".join(text.split())


def refund(staff, *, lines=None, reason="requested_by_customer", note="", restock=False) -> str:
    """Fill the refund form, review, confirm; returns the confirmed amount."""
    staff.locator("a.refund-link").first.click()
    staff.wait_for_url(re.compile(r"/refund/$"))
    for label, quantity in (lines or {}).items():
        staff.get_by_label(re.compile(re.escape(label))).fill(str(quantity))
    staff.select_option("#id_reason", reason)
    if note:
        staff.fill("#id_note", note)
    if restock:
        staff.check("#id_restock")
    staff.snap("refund-form")
    staff.get_by_role("button", name="Review refund").click()
    confirmation = staff.locator("[data-role=refund-confirmation]")
    confirmation.wait_for()
    amount = staff.locator("[data-role=refund-amount]").inner_text()
    staff.snap("refund-confirmation")
    staff.get_by_role("button", name=re.compile("Confirm refund")).click()
    staff.locator(".messagelist").wait_for()
    assert "sent to Stripe" in staff.locator(".messagelist").inner_text()
    staff.snap("refund-sent")
    return amount


def order_status(staff):
    return staff.locator("div.form-row.field-status div.readonly")


def credit_note_links(staff):
    return staff.locator("a.credit-note-pdf")


def test_support_refunds_by_lines_then_the_rest_accountant_cannot(stack, browser, page):
    order_id, invoice_number = buy(page, stack, [(COFFEE, 1), (MUG, 2)])
    order_path = f"/admin/orders/order/{order_id}/change/"

    staff = staff_page(browser, page, SUPPORT)
    admin_login(staff, stack, SUPPORT, order_path)
    staff.snap("order-paid")
    assert "Paid" in order_status(staff).inner_text()

    # 1. One of the two mugs, back to stock.
    amount = refund(staff, lines={MUG: 1}, note="Handle broken in transit", restock=True)
    assert amount == "€16.00"
    reload_until(staff, lambda: credit_note_links(staff).count() == 1, what="the first credit note")
    staff.snap("first-credit-note")
    assert "Partially refunded" in order_status(staff).inner_text()
    credit_note = credit_note_links(staff).first.inner_text().split()[0]
    assert re.fullmatch(r"CN-\d{4}-\d{6}", credit_note)
    with staff.expect_download() as download:
        credit_note_links(staff).first.click()
    download.value.save_as(page.artifacts / f"{credit_note}.pdf")
    text = pdf_text(download.value.path())
    assert credit_note in text and invoice_number in text
    assert "Credits invoice" in text and "-€16.00" in text  # negative amounts
    assert "VAT 20%" in text and "-€2.67" in text  # the VAT credited at 20 %
    assert "Handle broken in transit" in text

    # 2. The rest (the default amount: all still refundable).
    amount = refund(staff, reason="requested_by_customer")
    assert amount == "€55.00"
    reload_until(staff, lambda: "Refunded" == order_status(staff).inner_text().strip(),
                 what="the order to be refunded")
    reload_until(staff, lambda: credit_note_links(staff).count() == 2, what="the second credit note")
    staff.snap("order-refunded")
    assert staff.locator("a.refund-link").count() == 0  # nothing left to refund
    assert "€0.00" in staff.locator("div.form-row.field-money_refundable div.readonly").inner_text()
    second = credit_note_links(staff).nth(1)
    second_number = second.inner_text().split()[0]
    with staff.expect_download() as download:
        second.click()
    text = pdf_text(download.value.path())
    assert second_number in text and invoice_number in text and "-€55.00" in text
    assert "VAT 5.5%" in text and "VAT 20%" in text  # what remained at each rate
    # The audit trail on the order.
    trail = staff.locator("#audit_entries-group").inner_text()
    for action in ("order.placed", "order.paid", "refund.requested", "refund.succeeded", "credit_note.issued",
                   "order.refunded"):
        assert action in trail
    assert "support" in trail

    # The customer sees the credit notes in their account.
    page.goto(stack.url + "/account/")
    page.snap("customer-account-credit-notes")
    assert credit_note in page.content() and second_number in page.content()

    # 3. An accountant has no refund action (and no admin at all).
    accountant = staff_page(browser, page, ACCOUNTANT)
    admin_login(accountant, stack, ACCOUNTANT, order_path)
    accountant.snap("admin-refused")
    assert accountant.locator("a.refund-link").count() == 0
    accountant.goto(f"{stack.url}/admin/orders/order/{order_id}/refund/")
    accountant.snap("refund-url-refused")
    assert accountant.locator("[data-role=refund-confirmation]").count() == 0
    assert accountant.locator("#id_amount").count() == 0
    accountant.context.close()
    staff.context.close()


def emulator_get(stack, path: str) -> dict:
    request = urllib.request.Request(f"{stack.emulator_url}{path}",
                                     headers={"Authorization": f"Bearer {STRIPE_KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_a_disputed_payment_is_shown_and_answered_with_evidence(stack, browser, page):
    order_id, invoice_number = buy(page, stack, [("French press 1 L", 1)], card="4000 0000 0000 0259")
    staff = staff_page(browser, page, SUPPORT)
    admin_login(staff, stack, SUPPORT)
    # The admin index warns about disputes needing a response.
    reload_until(staff, lambda: staff.locator("[data-role=dispute-alerts]").count() == 1, what="the dispute alert")
    staff.snap("index-dispute-alert")
    assert f"ORD-{order_id:06d}" in staff.locator("[data-role=dispute-alerts]").inner_text()

    staff.goto(f"{stack.url}/admin/orders/order/{order_id}/change/")
    disputes = staff.locator("#disputes-group")
    staff.snap("order-disputed")
    text = disputes.inner_text()
    assert "€34.50" in text and "fraudulent" in text and "Needs response" in text
    dispute_id = re.search(r"dp_\w+", text).group(0)
    assert "Dispute opened" in staff.locator("div.form-row.field-needs_attention").inner_text()

    disputes.get_by_role("link", name=dispute_id).click()
    staff.locator("a.evidence-link").click()
    staff.fill("#id_uncategorized_text", "The customer received the press; signed delivery note on file.")
    staff.snap("evidence-form")
    staff.get_by_role("button", name="Submit evidence to Stripe").click()
    staff.locator(".messagelist").wait_for()
    assert "Evidence submitted" in staff.locator(".messagelist").inner_text()
    staff.snap("evidence-submitted")

    at_stripe = emulator_get(stack, f"/v1/disputes/{dispute_id}")
    assert at_stripe["status"] == "under_review"
    assert at_stripe["evidence"]["uncategorized_text"].startswith("The customer received the press")
    assert at_stripe["evidence"]["customer_name"] == "Ada Lovelace"
    uploaded = emulator_get(stack, f"/v1/files/{at_stripe['evidence']['uncategorized_file']}")
    assert uploaded["purpose"] == "dispute_evidence" and uploaded["filename"] == f"{invoice_number}.pdf"
    staff.context.close()
