"""Discounts on the whole stack: staff create a code in admin; a customer
applies it in the cart (typed in lower case, with spaces), sees the discount
and the VAT on the discounted amounts, pays on the hosted page that shows the
discount, and the invoice PDF and its Factur-X XML say what was charged."""

import re

from facturx import get_facturx_xml_from_pdf
from lxml import etree

from .test_purchase import add_to_cart, check_out, pay, sign_in
from .test_staff_refunds import admin_login, pdf_text, staff_page

ADMIN = ("admin", "admin-demo-pass")
NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


def money(text: str) -> str:
    return re.search(r"€[\d,]+\.\d\d", text).group(0)


def test_a_promotion_code_from_admin_to_the_invoice(stack, browser, page):
    staff = staff_page(browser, page, ADMIN)
    admin_login(staff, stack, ADMIN, "/admin/payments/discountcode/add/")
    staff.fill("#id_code", "E2E-SPRING")
    staff.fill("#id_percent_off", "10")
    staff.fill("#id_max_redemptions", "50")
    staff.snap("discount-code-form")
    staff.get_by_role("button", name="Save", exact=True).click()
    staff.get_by_text("Code “E2E-SPRING” created at Stripe.").wait_for()
    staff.snap("discount-code-list")
    assert "10% off, once" in staff.content()

    sign_in(page, stack)
    add_to_cart(page, stack, "Colombia Huila, whole beans 1 kg", 1)
    add_to_cart(page, stack, "Stoneware mug 350 ml", 2)
    page.fill("#discount-code", "  e2e-spring ")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("Code E2E-SPRING (10% off) applied.").wait_for()
    page.snap("cart-with-discount")
    discount = page.get_by_test_id("discount").inner_text()
    cart_total = page.get_by_test_id("cart-total").inner_text()
    assert discount.startswith("−€")

    check_out(page)
    # The hosted page shows the code and charges the cart's total.
    page.locator("#discount").wait_for()
    hosted = page.content()
    assert "E2E-SPRING" in hosted and cart_total.replace("€", "") in hosted
    pay(page, "4242 4242 4242 4242")

    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/"))
    page.locator("[data-role=status]", has_text="Paid").wait_for(timeout=60_000)
    invoice_link = page.get_by_role("link", name=re.compile(r"Invoice INV-"))
    invoice_link.wait_for(timeout=60_000)
    page.snap("order-paid-with-discount")
    charged = money(page.locator("ul.payments").inner_text())
    assert charged == cart_total
    assert page.get_by_test_id("order-discount").inner_text() == discount

    with page.expect_download() as download_info:
        invoice_link.click()
    path = download_info.value.path()
    text = pdf_text(path)
    assert "Discount incl. VAT" in text and "Code E2E-SPRING (10% off)" in text
    assert "VAT 20%" in text and "VAT 5.5%" in text
    assert charged in text
    _name, xml = get_facturx_xml_from_pdf(open(path, "rb").read())
    tree = etree.fromstring(xml)
    grand = tree.xpath("//ram:GrandTotalAmount/text()", namespaces=NS)
    assert [f"€{value}" for value in grand] == [charged]
    # One line allowance (BG-27) per discounted line, reason "Discount".
    assert tree.xpath("//ram:IncludedSupplyChainTradeLineItem//ram:SpecifiedTradeAllowanceCharge/ram:ReasonCode/"
                      "text()", namespaces=NS) == ["95", "95"]
