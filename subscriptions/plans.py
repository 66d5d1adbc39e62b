"""The plan catalogue and its sync with Stripe.

Plans are Stripe Products with recurring Prices (VAT included), found by
their `lookup_key`; `manage.py stripe_sync_plans` creates whatever is missing
and mirrors them all into dj-stripe, where the pages read them.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from djstripe.models import Price, Product

from payments import gateway

INTERVAL_LABELS = {"month": "Monthly", "year": "Yearly", "week": "Weekly", "day": "Daily"}
# Metadata on a plan's Stripe product: which shop plan it is, and its VAT rate.
PLAN_METADATA_KEY = "shop_plan"
VAT_METADATA_KEY = "vat_rate"



@dataclass(frozen=True)
class PlanSpec:
    key: str
    name: str
    description: str
    amounts: dict[str, int]  # interval -> VAT-included amount in minor units
    trial_days: int | None = None
    currency: str = "eur"
    vat_rate: str = "20.00"

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
                metadata={PLAN_METADATA_KEY: spec.key, VAT_METADATA_KEY: spec.vat_rate},
            )
            products[spec.product_id] = product
            Product.sync_from_stripe_data(product.raw)
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
        mirrored.append(Price.sync_from_stripe_data(price.raw))
    return mirrored
