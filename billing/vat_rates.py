"""VAT rates of the EU member states per product tax category: data, with
the date they were read.

Used for consumers in another member state when the seller charges their
state's VAT (One-Stop-Shop: over the EU distance-selling threshold, or opted
in; see billing.tax). A product's tax category (catalog.TaxRate.category)
picks the rate in each state; the seller's own country uses the product's own
rate (the shop's TaxRate), so this table only matters for the other states.

Source: European Commission, "VAT rates applied in the Member States of the
European Union" and the TEDB database, as of RATES_AS_OF. Rates change (a
state changed its rates in 2025 almost every quarter): the seller's
accountant checks this table when rates change and updates it with its date.
A state missing a category falls back to its standard rate.
"""

from datetime import date
from decimal import Decimal

RATES_AS_OF = date(2026, 1, 1)

# Product tax categories: what a product is, for VAT, in every member state.
STANDARD = "standard"
FOOD = "food"
BOOKS = "books"
PRESS = "press"
TAX_CATEGORIES = [
    (STANDARD, "Standard rate"),
    (FOOD, "Foodstuffs"),
    (BOOKS, "Books (printed)"),
    (PRESS, "Newspapers and periodicals"),
]

# state: (standard, food, books, press), percent.
_TABLE = {
    "AT": ("20", "10", "10", "10"),
    "BE": ("21", "6", "6", "0"),
    "BG": ("20", "20", "9", "9"),
    "CY": ("19", "5", "5", "5"),
    "CZ": ("21", "12", "0", "12"),
    "DE": ("19", "7", "7", "7"),
    "DK": ("25", "25", "25", "0"),
    "EE": ("24", "24", "13", "9"),
    "ES": ("21", "10", "4", "4"),
    "FI": ("25.5", "14", "14", "14"),
    "FR": ("20", "5.5", "5.5", "2.1"),
    "GR": ("24", "13", "6", "6"),
    "HR": ("25", "5", "5", "5"),
    "HU": ("27", "18", "5", "5"),
    "IE": ("23", "0", "0", "9"),
    "IT": ("22", "10", "4", "4"),
    "LT": ("21", "21", "9", "9"),
    "LU": ("17", "3", "3", "3"),
    "LV": ("21", "21", "12", "5"),
    "MT": ("18", "0", "5", "5"),
    "NL": ("21", "9", "9", "9"),
    "PL": ("23", "5", "5", "8"),
    "PT": ("23", "6", "6", "6"),
    "RO": ("21", "11", "11", "11"),
    "SE": ("25", "12", "6", "6"),
    "SI": ("22", "9.5", "5", "5"),
    "SK": ("23", "19", "5", "5"),
}
_CATEGORY_INDEX = {STANDARD: 0, FOOD: 1, BOOKS: 2, PRESS: 3}

EU_VAT_RATES: dict[str, dict[str, Decimal]] = {
    state: {category: Decimal(rates[index]) for category, index in _CATEGORY_INDEX.items()}
    for state, rates in _TABLE.items()
}


def member_state_rate(country: str, category: str) -> Decimal:
    """The rate of `category` in the member state `country` (its standard rate
    for a category it has no special rate for). KeyError outside the EU."""
    rates = EU_VAT_RATES[(country or "").upper()]
    return rates.get(category or STANDARD, rates[STANDARD])
