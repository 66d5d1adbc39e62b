"""Card brands as people read them."""

CARD_BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
    "cartes_bancaires": "Cartes Bancaires",
}


def card_brand_label(brand: str | None) -> str:
    """"visa" -> "Visa", "amex" -> "American Express"; unknown brands title-cased."""
    brand = brand or ""
    return CARD_BRANDS.get(brand.lower(), brand.title())


def card_label(brand: str | None, last4: str | None) -> str:
    """"Card Visa •••• 4242" (what a payment reference or a page shows)."""
    return " ".join(part for part in ("Card", card_brand_label(brand), "••••", last4 or "") if part)
