"""Discounted documents: the VAT breakdown is on the discounted amounts, each
discounted line carries its discount (PDF) and its EN 16931 line allowance
(BG-27) in the Factur-X XML, which validates."""

from decimal import Decimal

import pytest

from billing.facturx import facturx_xml
from billing.services import credit_note_issue, document_render_pdf, invoice_issue
from billing.tax import LineInput, TaxComputationError, tax_compute
from core.types import Buyer
from tests.billing.test_facturx import assert_pdfa3_facturx, assert_valid_facturx, text

pytestmark = pytest.mark.django_db

BUYER = Buyer(name="Ada Lovelace", email="ada@example.com", address_line1="1 rue de Rivoli", postal_code="75001",
              city="Paris", country="FR")


def discounted_lines():
    # 2 mugs at 12.50 (20 %) and a book at 21.10 (5.5 %), 10 % off: Stripe's
    # per-line discount (half up) is 2.50 and 2.11.
    return [
        LineInput(name="Blue mug", sku="MUG", quantity=2, unit_amount=1250, vat_rate=Decimal("20"), discount=250),
        LineInput(name="Django book", sku="BOOK", quantity=1, unit_amount=2110, vat_rate=Decimal("5.5"),
                  discount=211),
    ]


def test_vat_is_computed_on_the_discounted_amounts():
    tax = tax_compute(lines=discounted_lines())
    assert [(row.rate, row.gross, row.tax, row.net) for row in tax.breakdown] == [
        (Decimal("20.00"), 2250, 375, 1875),  # 22.50 incl. VAT: 3.75 VAT
        (Decimal("5.50"), 1899, 99, 1800),  # 18.99 incl. VAT: 0.99 VAT
    ]
    assert tax.total_gross == 4149
    assert [(line.gross, line.discount) for line in tax.lines] == [(2250, 250), (1899, 211)]
    # The allowance excl. VAT: the undiscounted net (2083, 2000) less the net.
    assert [line.discount_net for line in tax.lines] == [208, 200]


def test_a_discount_cannot_make_a_line_negative():
    with pytest.raises(TaxComputationError, match="negative"):
        tax_compute(lines=[LineInput(name="Mug", quantity=1, unit_amount=1250, vat_rate=Decimal("20"),
                                     discount=1251)])
    with pytest.raises(TaxComputationError, match="positive integer"):
        tax_compute(lines=[LineInput(name="Mug", quantity=1, unit_amount=1250, vat_rate=Decimal("20"),
                                     discount=-1)])


def test_discounted_invoice_has_line_allowances_and_validates():
    invoice = invoice_issue(buyer=BUYER, lines=discounted_lines(), currency="eur")
    assert invoice.total_gross == 4149
    tree = assert_valid_facturx(facturx_xml(invoice.snapshot))
    allowance = "//ram:IncludedSupplyChainTradeLineItem//ram:SpecifiedTradeAllowanceCharge"
    assert text(tree, f"{allowance}/ram:ChargeIndicator/udt:Indicator") == ["false", "false"]
    assert text(tree, f"{allowance}/ram:ActualAmount") == ["2.08", "2.00"]
    assert text(tree, f"{allowance}/ram:ReasonCode") == ["95", "95"]
    # Undiscounted net prices; line nets and the breakdown on what was charged.
    assert text(tree, "//ram:NetPriceProductTradePrice/ram:ChargeAmount") == ["10.415", "20.00"]
    assert text(tree, "//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount") == [
        "18.75", "18.00"]
    assert text(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CalculatedAmount") == [
        "3.75", "0.99"]
    assert text(tree, "//ram:GrandTotalAmount") == ["41.49"]
    assert_pdfa3_facturx(document_render_pdf(document_id=invoice.pk))


def test_crediting_a_discounted_invoice_credits_what_was_paid():
    invoice = invoice_issue(buyer=BUYER, lines=discounted_lines(), currency="eur")
    note = credit_note_issue(invoice_id=invoice.pk, amount=invoice.total_gross, reason="Returned")
    assert note.total_gross == 4149
    assert [line["gross"] for line in note.snapshot["lines"]] == [2250, 1899]
    assert [line.get("discount") for line in note.snapshot["lines"]] == [250, 211]
    assert_valid_facturx(facturx_xml(note.snapshot))


def test_a_fully_discounted_invoice_totals_zero_and_validates():
    invoice = invoice_issue(buyer=BUYER, lines=[
        LineInput(name="Blue mug", quantity=2, unit_amount=1250, vat_rate=Decimal("20"), discount=2500)],
        currency="eur")
    assert (invoice.total_gross, invoice.snapshot["totals"]["tax"]) == (0, 0)
    tree = assert_valid_facturx(facturx_xml(invoice.snapshot))
    assert text(tree, "//ram:GrandTotalAmount") == ["0.00"]
