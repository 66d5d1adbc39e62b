"""The plan catalogue and its sync with Stripe.

Plans are Stripe Products with recurring Prices (VAT of the seller's country
included), found by their `lookup_key`; `manage.py stripe_sync_plans` creates
whatever is missing and mirrors them all into dj-stripe, where the pages read
them. These are the catalogue ("plan") prices the customer chooses from.

A buyer whose VAT is not the seller's (another member state's rate under the
One-Stop-Shop, reverse charge, outside the EU) is charged a price of its own:
one per plan price and VAT treatment, made on first need at Stripe (found by
its lookup key, so idempotently) with the same net amount plus the buyer's VAT.
Its metadata says the VAT rate, the EN 16931 category and the country of the
VAT, which is what the subscription's invoices are issued with
(subscriptions.documents). A plan price itself is domestic.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from djstripe.models import Price, Product

from billing.tax import SERVICES, VatTreatment, normalize_rate, unit_amount_charged, vat_category
from billing.vat_rates import STANDARD
from payments import gateway, mirror

INTERVAL_LABELS = {"month": "Monthly", "year": "Yearly", "week": "Weekly", "day": "Daily"}
# Metadata on a plan's Stripe product: which shop plan it is, the seller's VAT
# rate its plan prices include, its tax category and whether it is goods or
# services (place of supply; a product without it is services).
PLAN_METADATA_KEY = "shop_plan"
VAT_METADATA_KEY = "vat_rate"
TAX_CATEGORY_METADATA_KEY = "tax_category"
SUPPLY_METADATA_KEY = "supply"
# Metadata on a buyer's price: the plan price it is a variant of, and its VAT.
PLAN_PRICE_METADATA_KEY = "plan_price"
VAT_CATEGORY_METADATA_KEY = "vat_category"
VAT_COUNTRY_METADATA_KEY = "vat_country"
VAT_TREATMENT_METADATA_KEY = "vat_treatment"



@dataclass(frozen=True)
class PlanSpec:
    key: str
    name: str
    description: str
    amounts: dict[str, int]  # interval -> VAT-included amount in minor units
    trial_days: int | None = None
    currency: str = "eur"
    vat_rate: str = "20.00"
    supply: str = SERVICES

    @property
    def product_id(self) -> str:
        # A fixed product id makes creating it at Stripe idempotent across runs.
        return "shop_plan_" + self.key.replace("-", "_")

    def lookup_key(self, interval: str) -> str:
        return f"{self.key}-{INTERVAL_LABELS.get(interval, interval).lower()}"


PLAN_CATALOGUE = (
    PlanSpec(
        key="coffee-club",
        name="Coffee club",
        description="A fresh 250 g bag of our roaster's pick every month, with tasting notes.",
        amounts={"month": 1900, "year": 19000},
        trial_days=14,
    ),
    PlanSpec(
        key="coffee-club-plus",
        name="Coffee club Plus",
        description="Two 250 g bags a month, a single origin and a blend, plus early access to rare lots.",
        amounts={"month": 2900, "year": 29000},
    ),
)


def plans_sync(*, catalogue: Iterable[PlanSpec] = PLAN_CATALOGUE) -> list[Price]:
    """Create at Stripe whatever plan product or price is missing (prices are
    found by lookup key), then mirror them all into dj-stripe. Idempotent."""
    catalogue = list(catalogue)
    wanted = {spec.lookup_key(interval): (spec, interval) for spec in catalogue for interval in spec.amounts}
    found = {p.raw["lookup_key"]: p for p in gateway.price_list_by_lookup_keys(sorted(wanted))}
    mirrored = []
    products: dict[str, gateway.StripeObject] = {}
    for lookup_key, (spec, interval) in wanted.items():
        if spec.product_id not in products:
            product = gateway.product_retrieve(spec.product_id) or gateway.product_create(
                product_id=spec.product_id,
                name=spec.name,
                description=spec.description,
                metadata={PLAN_METADATA_KEY: spec.key, VAT_METADATA_KEY: spec.vat_rate,
                          SUPPLY_METADATA_KEY: spec.supply},
            )
            products[spec.product_id] = product
            mirror.object_sync(Product, product.raw)
        price = found.get(lookup_key)
        if price is None:
            price = gateway.price_create(
                product_id=spec.product_id,
                lookup_key=lookup_key,
                currency=spec.currency,
                unit_amount=spec.amounts[interval],
                interval=interval,
                trial_period_days=spec.trial_days,
                metadata={PLAN_METADATA_KEY: spec.key},
            )
        mirrored.append(mirror.object_sync(Price, price.raw))
    return mirrored


# ---------------------------------------------------------------------------
# A buyer's price: the plan's price with the VAT of the buyer's treatment
# ---------------------------------------------------------------------------


def plan_seller_rate(product: Product | None) -> Decimal:
    """The seller's VAT rate a plan's catalogue prices include."""
    metadata = (product.metadata or {}) if product is not None else {}
    return normalize_rate(metadata.get(VAT_METADATA_KEY) or settings.SUBSCRIPTION_VAT_RATE)


def plan_supply(product: Product | None) -> str:
    return ((product.metadata or {}) if product is not None else {}).get(SUPPLY_METADATA_KEY) or SERVICES


def plan_tax_category(product: Product | None) -> str:
    return ((product.metadata or {}) if product is not None else {}).get(TAX_CATEGORY_METADATA_KEY) or STANDARD


def is_plan_price(price: Price) -> bool:
    """A catalogue price (not a buyer's VAT variant of one)."""
    return not (price.metadata or {}).get(PLAN_PRICE_METADATA_KEY)


def plan_price_id_of(price_data: dict | Price | None) -> str:
    """The catalogue price a price is (or is a buyer's variant of)."""
    if isinstance(price_data, Price):
        price_data = {"id": price_data.id, "metadata": price_data.metadata}
    if not isinstance(price_data, dict):
        return str(price_data or "")
    return (price_data.get("metadata") or {}).get(PLAN_PRICE_METADATA_KEY) or price_data.get("id", "")


@dataclass(frozen=True)
class PriceVat:
    """The VAT a Stripe price's amount includes, as its invoices state it."""

    rate: Decimal
    category: str
    country: str


def price_vat(price_metadata: dict, *, product: Product | None) -> PriceVat:
    """The VAT of a price, from its metadata; a price without it (a plan
    price, or one made before VAT by place of supply) is the seller's own."""
    metadata = price_metadata or {}
    if metadata.get(VAT_CATEGORY_METADATA_KEY):
        rate = normalize_rate(metadata.get(VAT_METADATA_KEY) or 0)
        return PriceVat(rate=rate, category=metadata[VAT_CATEGORY_METADATA_KEY],
                        country=metadata.get(VAT_COUNTRY_METADATA_KEY, ""))
    rate = plan_seller_rate(product)
    return PriceVat(rate=rate, category=vat_category(rate), country=settings.SHOP_SELLER.get("country", ""))


def is_seller_vat(treatment: VatTreatment, *, seller_rate: Decimal) -> bool:
    """The plan price as it is: the seller's own rate and category."""
    return treatment.category == vat_category(seller_rate) and treatment.rate == seller_rate


def buyer_price_lookup_key(plan_price: Price, treatment: VatTreatment) -> str:
    return f"{plan_price.id}-vat-{treatment.category}-{treatment.country or 'none'}-{treatment.rate}".lower()


def buyer_price_get_or_create(*, plan_price: Price, treatment: VatTreatment) -> Price:
    """The Stripe price a buyer of `plan_price` with `treatment` is charged:
    the plan price itself at the seller's VAT, else its variant with the
    buyer's VAT (found by lookup key, created once, mirrored). Stripe calls:
    never inside a transaction."""
    product = plan_price.product
    seller_rate = plan_seller_rate(product)
    if is_seller_vat(treatment, seller_rate=seller_rate):
        return plan_price
    lookup_key = buyer_price_lookup_key(plan_price, treatment)
    mirrored = Price.objects.filter(lookup_key=lookup_key, active=True).first()
    if mirrored is not None:
        return mirrored
    found = gateway.price_list_by_lookup_keys([lookup_key])
    if found:
        return mirror.object_sync(Price, found[0].raw)
    recurring = plan_price.recurring or {}
    amount = unit_amount_charged(price=int(plan_price.unit_amount or 0), seller_rate=seller_rate,
                                 treatment=treatment)
    created = gateway.price_create(
        product_id=product.id,
        lookup_key=lookup_key,
        currency=plan_price.currency,
        unit_amount=amount,
        interval=recurring.get("interval", "month"),
        trial_period_days=recurring.get("trial_period_days") or None,
        metadata={
            PLAN_METADATA_KEY: (product.metadata or {}).get(PLAN_METADATA_KEY, ""),
            PLAN_PRICE_METADATA_KEY: plan_price.id,
            VAT_METADATA_KEY: str(treatment.rate),
            VAT_CATEGORY_METADATA_KEY: treatment.category,
            VAT_COUNTRY_METADATA_KEY: treatment.country,
            VAT_TREATMENT_METADATA_KEY: treatment.kind,
        },
    )
    return mirror.object_sync(Price, created.raw)
