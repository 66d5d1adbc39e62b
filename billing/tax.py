"""VAT on VAT-inclusive prices.

Shop prices include VAT, so a document works the tax *out of* the gross:
for each VAT rate, the gross amounts of the lines at that rate are summed,
and VAT = gross x rate / (100 + rate), rounded half-up to the minor unit once
per document and rate; net = gross - VAT. The per-rate breakdown is the
authoritative figure (it is what the seller declares); each line also shows
its own net/VAT, rounded the same way, for reading only, so the lines' VAT may
differ from the breakdown by a minor unit or two.

Amounts are integer minor units (zero-decimal currencies need nothing special:
the minor unit is the unit). Rates are Decimal percentages. No float anywhere.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.countries import EU_MEMBER_STATES, vat_id_country, vat_id_is_valid

from .exceptions import TaxComputationError

RATE_QUANTUM = Decimal("0.01")
HUNDRED = Decimal(100)


def normalize_rate(rate) -> Decimal:
    """A VAT rate as a Decimal percentage with two places: 20 -> Decimal('20.00')."""
    if isinstance(rate, (float, bool)):
        raise TaxComputationError("a VAT rate must be a Decimal, an int or a string, never a float")
    try:
        value = Decimal(str(rate)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise TaxComputationError(f"invalid VAT rate: {rate!r}") from exc
    if value < 0 or value >= HUNDRED:
        raise TaxComputationError(f"VAT rate out of range: {rate!r}")
    return value


def vat_from_gross(gross: int, rate) -> int:
    """The VAT included in `gross` minor units at `rate` percent, rounded half-up."""
    rate = normalize_rate(rate)
    vat = (Decimal(int(gross)) * rate / (HUNDRED + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(vat)


@dataclass(frozen=True)
class LineInput:
    """One line to put on a document: a VAT-inclusive unit amount in minor units."""

    name: str
    quantity: int
    unit_amount: int
    vat_rate: Decimal
    sku: str = ""

    @property
    def gross(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class TaxedLine:
    name: str
    sku: str
    quantity: int
    vat_rate: Decimal
    unit_gross: int
    unit_net: int  # display only
    gross: int
    tax: int  # display only (the breakdown is authoritative)
    net: int  # display only
    vat_category: str = "S"  # EN 16931 VAT category (UNTDID 5305): S, Z or AE


@dataclass(frozen=True)
class RateBreakdown:
    rate: Decimal
    gross: int
    tax: int
    net: int
    category: str = "S"


@dataclass(frozen=True)
class TaxComputation:
    lines: tuple[TaxedLine, ...]
    breakdown: tuple[RateBreakdown, ...]  # highest rate first
    total_net: int
    total_tax: int
    total_gross: int


def _check_line(line: LineInput) -> None:
    for field in ("quantity", "unit_amount"):
        value = getattr(line, field)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TaxComputationError(f"line {line.name!r}: {field} must be an integer, got {value!r}")
    if line.quantity <= 0:
        raise TaxComputationError(f"line {line.name!r}: quantity must be positive")
    # A negative unit amount is a credit line (e.g. a subscription's proration
    # credit for unused time); the document as a whole may not be negative.


def tax_compute(*, lines: Iterable[LineInput], reverse_charge: bool = False) -> TaxComputation:
    """Per-line display figures, the per-rate breakdown and the document totals.

    With `reverse_charge` (see reverse_charge_applies) every line is taxed at
    0 % in category AE: the amount of each line is charged as it is, and all of
    it is net (the buyer accounts for the VAT).
    """
    lines = list(lines)
    if not lines:
        raise TaxComputationError("a document needs at least one line")
    taxed: list[TaxedLine] = []
    gross_by_rate: dict[Decimal, int] = {}
    for line in lines:
        _check_line(line)
        rate = normalize_rate(0 if reverse_charge else line.vat_rate)
        gross = line.gross
        tax = vat_from_gross(gross, rate)
        taxed.append(
            TaxedLine(
                name=line.name,
                sku=line.sku,
                quantity=line.quantity,
                vat_rate=rate,
                unit_gross=line.unit_amount,
                unit_net=line.unit_amount - vat_from_gross(line.unit_amount, rate),
                gross=gross,
                tax=tax,
                net=gross - tax,
                vat_category=vat_category(rate, reverse_charge=reverse_charge),
            )
        )
        gross_by_rate[rate] = gross_by_rate.get(rate, 0) + gross

    if sum(gross_by_rate.values()) < 0:
        raise TaxComputationError("a document's lines may not add up to a negative total")
    breakdown = []
    for rate in sorted(gross_by_rate, reverse=True):
        gross = gross_by_rate[rate]
        tax = vat_from_gross(gross, rate)
        breakdown.append(
            RateBreakdown(
                rate=rate, gross=gross, tax=tax, net=gross - tax,
                category=vat_category(rate, reverse_charge=reverse_charge),
            )
        )
    return TaxComputation(
        lines=tuple(taxed),
        breakdown=tuple(breakdown),
        total_net=sum(b.net for b in breakdown),
        total_tax=sum(b.tax for b in breakdown),
        total_gross=sum(b.gross for b in breakdown),
    )


def lines_from_snapshot(lines: Sequence[dict]) -> list[LineInput]:
    """Rebuild LineInputs from a document snapshot's lines (e.g. to credit an invoice)."""
    return [
        LineInput(
            name=line["name"],
            sku=line.get("sku", ""),
            quantity=int(line["quantity"]),
            unit_amount=int(line["unit_gross"]),
            vat_rate=Decimal(line["vat_rate"]),
        )
        for line in lines
    ]


# ---------------------------------------------------------------------------
# VAT categories and the intra-EU B2B reverse charge
# ---------------------------------------------------------------------------
REVERSE_CHARGE_MENTION = (
    "Reverse charge: VAT to be accounted for by the customer "
    "(Article 196 of Council Directive 2006/112/EC)."
)


def vat_category(rate, *, reverse_charge: bool = False) -> str:
    """EN 16931 VAT category code (UNTDID 5305) of a rate: AE (reverse charge),
    S (standard or reduced rate) or Z (zero rated)."""
    if reverse_charge:
        return "AE"
    return "S" if normalize_rate(rate) > 0 else "Z"


def reverse_charge_applies(*, seller_country: str, buyer_country: str, buyer_vat_id: str) -> bool:
    """True for a B2B sale from an EU seller to a business in another EU member
    state: the buyer gives a VAT id that is well formed (country prefix, check
    digits, python-stdnum) and whose prefix is the buyer's country.

    A malformed or foreign-prefixed VAT id gives the ordinary VAT-inclusive
    invoice (the VAT id is still printed): the shop cannot zero-rate a sale on
    an id it cannot trust. VIES (online) validation is out of scope.
    """
    seller_country = (seller_country or "").upper()
    buyer_country = (buyer_country or "").upper()
    if seller_country not in EU_MEMBER_STATES or buyer_country not in EU_MEMBER_STATES:
        return False
    if buyer_country == seller_country or not buyer_vat_id:
        return False
    if vat_id_country(buyer_vat_id) != buyer_country:
        return False
    return vat_id_is_valid(buyer_vat_id)
