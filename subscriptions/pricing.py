"""What a plan costs a given buyer: the plan's price with the VAT of the
place of supply, worked out by the same rules as a shop order
(billing.tax.vat_treatment, billing.tax.unit_amount_charged): the catalogue
price includes the seller's VAT, its net is the price everywhere, the buyer
pays the net plus their own VAT (none for a verified EU business, reverse
charge, or outside the EU).

The subscribe page shows the quote before Checkout; the subscription is
charged the buyer's price (subscriptions.plans.buyer_price_get_or_create),
whose amount is the quote's, and its invoices are issued with the quote's
rate and category. The buyer's country and VAT id check are kept in the
subscription's metadata, so that a plan change keeps the buyer's VAT.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime
from djstripe.models import Price

from billing.tax import VatTreatment, unit_amount_charged, vat_from_gross, vat_treatment
from billing.vies import VatIdCheck

from .plans import plan_seller_rate, plan_supply, plan_tax_category

# Subscription metadata (set through Checkout's subscription_data): where the
# buyer is, and their VAT id's check, when and with which result (VIES).
BUYER_COUNTRY_KEY = "vat_buyer_country"
BUYER_COMPANY_KEY = "vat_buyer_company"
VAT_ID_KEY = "vat_id"
VAT_ID_STATUS_KEY = "vat_id_status"
VAT_ID_CHECKED_AT_KEY = "vat_id_checked_at"
VAT_ID_DETAIL_KEY = "vat_id_detail"


@dataclass(frozen=True)
class PlanQuote:
    """One plan price for one buyer, VAT included as it will be charged."""

    plan_price: Price
    country: str
    treatment: VatTreatment
    amount: int  # per interval, VAT included: what Stripe charges
    vat_check: VatIdCheck | None = None

    @property
    def currency(self) -> str:
        return self.plan_price.currency

    @property
    def interval(self) -> str:
        return (self.plan_price.recurring or {}).get("interval", "")

    @property
    def vat_amount(self) -> int:
        return vat_from_gross(self.amount, self.treatment.rate)

    @property
    def net_amount(self) -> int:
        return self.amount - self.vat_amount

    @property
    def label(self) -> str:
        return self.treatment.label(seller_country=settings.SHOP_SELLER.get("country", ""))

    @property
    def mention(self) -> str:
        return self.treatment.mention

    @property
    def notice(self) -> str:
        """Why a VAT id given did not exempt the supply ("" otherwise)."""
        return self.vat_check.customer_message if self.vat_check else ""

    @property
    def key(self) -> str:
        """A fingerprint of what the customer was shown: the subscribe page
        asks them to confirm again when their address gives other amounts."""
        check = f"{self.vat_check.vat_id}:{self.vat_check.status}" if self.vat_check else ""
        text = (f"{self.plan_price.id}|{self.currency}|{self.amount}|{self.treatment.rate}|"
                f"{self.treatment.category}|{self.treatment.country}|{check}")
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def subscription_metadata(self, *, company: str = "") -> dict[str, str]:
        """What the subscription keeps of the buyer's VAT (Stripe metadata: strings)."""
        check = self.vat_check
        return {
            BUYER_COUNTRY_KEY: self.country,
            BUYER_COMPANY_KEY: company[:200],
            VAT_ID_KEY: check.vat_id if check else "",
            VAT_ID_STATUS_KEY: check.status if check else "",
            VAT_ID_CHECKED_AT_KEY: check.checked_at.isoformat() if check else "",
            VAT_ID_DETAIL_KEY: (check.detail if check else "")[:300],
        }


def plan_quote(*, plan_price: Price, country: str, vat_check: VatIdCheck | None = None) -> PlanQuote:
    """Price a plan for a buyer in `country` whose VAT id was checked as
    `vat_check` (None: a consumer)."""
    seller_country = settings.SHOP_SELLER.get("country", "")
    country = (country or seller_country).upper()
    product = plan_price.product
    seller_rate = plan_seller_rate(product)
    treatment = vat_treatment(
        seller_country=seller_country, buyer_country=country, supply=plan_supply(product),
        seller_rate=seller_rate, tax_category=plan_tax_category(product),
        business_vat_id_verified=bool(vat_check and vat_check.verified), oss=settings.SHOP_VAT_OSS,
    )
    amount = unit_amount_charged(price=int(plan_price.unit_amount or 0), seller_rate=seller_rate,
                                 treatment=treatment)
    return PlanQuote(plan_price=plan_price, country=country, treatment=treatment, amount=amount,
                     vat_check=vat_check)


def vat_check_from_metadata(metadata: dict) -> VatIdCheck | None:
    """The VAT id check a subscription was signed up with (None: a consumer)."""
    vat_id = (metadata or {}).get(VAT_ID_KEY) or ""
    if not vat_id:
        return None
    checked_at = parse_datetime(metadata.get(VAT_ID_CHECKED_AT_KEY) or "") or datetime.min
    return VatIdCheck(vat_id=vat_id, status=metadata.get(VAT_ID_STATUS_KEY) or "", checked_at=checked_at,
                      detail=metadata.get(VAT_ID_DETAIL_KEY) or "")


def subscription_plan_quote(*, plan_price: Price, metadata: dict) -> PlanQuote | None:
    """`plan_price` for the buyer of a subscription with this metadata, as
    they were priced when they signed up (the same country and VAT id check:
    a plan change keeps the buyer's VAT). None for a subscription signed up
    before VAT by place of supply: it stays at the seller's VAT."""
    country = (metadata or {}).get(BUYER_COUNTRY_KEY) or ""
    if not country:
        return None
    return plan_quote(plan_price=plan_price, country=country, vat_check=vat_check_from_metadata(metadata))
