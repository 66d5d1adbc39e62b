"""What a cart costs a given buyer: each line's price with the VAT of its
place of supply (billing.tax.vat_treatment), the VAT breakdown and the total.

The same quote is shown at checkout and written into the order, whose lines
are what Stripe charges and what the invoice says: one computation, so the
customer sees before paying exactly what is charged and invoiced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings

from billing.tax import (
    GOODS,
    LineInput,
    TaxComputation,
    VatTreatment,
    tax_compute,
    unit_amount_charged,
    vat_mentions,
    vat_treatment,
)
from billing.vies import VatIdCheck
from catalog.models import Product

from .discounts import DiscountCode
from .exceptions import OrderError


@dataclass(frozen=True)
class PricedLine:
    product: Product
    quantity: int
    unit_amount: int  # VAT included, before any discount
    treatment: VatTreatment
    discount: int = 0  # what the order's discount code takes off the line, VAT included

    @property
    def list_total(self) -> int:
        return self.unit_amount * self.quantity

    @property
    def total(self) -> int:
        """What the line costs, as charged (after its discount)."""
        return self.unit_amount * self.quantity - self.discount

    @property
    def vat_rate(self) -> Decimal:
        return self.treatment.rate

    @property
    def vat_category(self) -> str:
        return self.treatment.category


@dataclass(frozen=True)
class Quote:
    country: str
    currency: str
    lines: tuple[PricedLine, ...]
    tax: TaxComputation | None  # None for no lines
    vat_check: VatIdCheck | None = None
    discount: DiscountCode | None = None

    @property
    def total(self) -> int:
        return self.tax.total_gross if self.tax else 0

    @property
    def subtotal(self) -> int:
        """Before the discount (VAT included)."""
        return sum(line.list_total for line in self.lines)

    @property
    def discount_total(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def vat_total(self) -> int:
        return self.tax.total_tax if self.tax else 0

    @property
    def vat_breakdown(self):
        return self.tax.breakdown if self.tax else ()

    @property
    def mentions(self) -> list[str]:
        return vat_mentions(line.vat_category for line in self.lines)

    @property
    def notice(self) -> str:
        """Why a VAT id given did not exempt the sale ("" otherwise)."""
        return self.vat_check.customer_message if self.vat_check else ""

    @property
    def treatment_labels(self) -> list[str]:
        seller = settings.SHOP_SELLER.get("country", "")
        labels = []
        for line in self.lines:
            label = line.treatment.label(seller_country=seller)
            if label not in labels:
                labels.append(label)
        return labels

    @property
    def key(self) -> str:
        """A fingerprint of what the customer was shown: the checkout asks them
        to confirm again when the amounts for their address differ."""
        text = "|".join(f"{line.product.pk}:{line.quantity}:{line.unit_amount}:{line.vat_rate}:{line.vat_category}"
                        f":{line.discount}" for line in self.lines)
        if self.discount is not None:
            text += f"|{self.discount.promotion_code_id}"
        # The VAT id's check too: a customer whose id could not be verified
        # reads why before paying.
        check = f"{self.vat_check.vat_id}:{self.vat_check.status}" if self.vat_check else ""
        return hashlib.sha256(f"{self.currency}|{text}|{check}".encode()).hexdigest()[:16]


def order_quote(
    *, items: Sequence[tuple[Product, int]], country: str, vat_check: VatIdCheck | None = None,
    discount: DiscountCode | None = None,
) -> Quote:
    """Price `items` (products with their tax rate, and quantities) for a buyer
    in `country` whose VAT id was checked as `vat_check` (None: a consumer),
    with `discount` (a checked code, orders.discounts) taken off the lines as
    Stripe takes it off: the VAT is then computed on the discounted amounts."""
    seller_country = settings.SHOP_SELLER.get("country", "")
    country = (country or seller_country).upper()
    verified = bool(vat_check and vat_check.verified)
    lines = []
    for product, quantity in items:
        treatment = vat_treatment(
            seller_country=seller_country, buyer_country=country, supply=product.supply or GOODS,
            seller_rate=product.tax_rate.rate, tax_category=product.tax_rate.category,
            business_vat_id_verified=verified, oss=settings.SHOP_VAT_OSS,
        )
        unit_amount = unit_amount_charged(price=product.unit_amount, seller_rate=product.tax_rate.rate,
                                          treatment=treatment)
        lines.append(PricedLine(product=product, quantity=quantity, unit_amount=unit_amount, treatment=treatment))
    if discount is not None and lines:
        amounts_off = discount.amounts_off([line.list_total for line in lines])
        lines = [replace(line, discount=off) for line, off in zip(lines, amounts_off, strict=True)]
    categories = {line.vat_category for line in lines}
    if "O" in categories and len(categories) > 1:
        # EN 16931 (BR-O-11): a document outside the scope of VAT has no other category.
        raise OrderError("Services and goods delivered outside the EU are invoiced separately: "
                         "please check out the services in an order of their own.")
    tax = tax_compute(lines=[
        LineInput(name=line.product.name, sku=line.product.sku, quantity=line.quantity,
                  unit_amount=line.unit_amount, vat_rate=line.vat_rate, vat_category=line.vat_category,
                  discount=line.discount)
        for line in lines
    ]) if lines else None
    currency = lines[0].product.currency if lines else settings.SHOP_CURRENCY
    return Quote(country=country, currency=currency, lines=tuple(lines), tax=tax, vat_check=vat_check,
                 discount=discount if lines else None)
