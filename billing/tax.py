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


@dataclass(frozen=True)
class RateBreakdown:
    rate: Decimal
    gross: int
    tax: int
    net: int


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
    if line.unit_amount < 0:
        raise TaxComputationError(f"line {line.name!r}: unit amount must not be negative")


def tax_compute(*, lines: Iterable[LineInput]) -> TaxComputation:
    """Per-line display figures, the per-rate breakdown and the document totals."""
    lines = list(lines)
    if not lines:
        raise TaxComputationError("a document needs at least one line")
    taxed: list[TaxedLine] = []
    gross_by_rate: dict[Decimal, int] = {}
    for line in lines:
        _check_line(line)
        rate = normalize_rate(line.vat_rate)
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
            )
        )
        gross_by_rate[rate] = gross_by_rate.get(rate, 0) + gross

    breakdown = []
    for rate in sorted(gross_by_rate, reverse=True):
        gross = gross_by_rate[rate]
        tax = vat_from_gross(gross, rate)
        breakdown.append(RateBreakdown(rate=rate, gross=gross, tax=tax, net=gross - tax))
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
