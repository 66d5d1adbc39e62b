"""VAT on VAT-inclusive prices.

Shop prices include VAT, so a document works the tax *out of* the gross:
for each VAT rate, the gross amounts of the lines at that rate are summed,
and VAT = gross x rate / (100 + rate), rounded half-up to the minor unit once
per document and rate; net = gross - VAT. The per-rate breakdown is the
authoritative figure (it is what the seller declares); the breakdown's net
is then split over its lines in proportion to their gross (core.money.allocate,
largest remainder), so that the lines' nets add up to the breakdown to the
minor unit, on the PDF and in the XML alike.

Which VAT applies where (place of supply) is decided by vat_treatment():
the seller's rates at home, the consumer's state's rates under the
One-Stop-Shop, 0 % with a category and mention for intra-Community supplies
(K), reverse charge (AE), exports (G) and supplies outside the scope (O).

Amounts are integer minor units (zero-decimal currencies need nothing special:
the minor unit is the unit). Rates are Decimal percentages. No float anywhere.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.countries import EU_MEMBER_STATES
from core.money import allocate

from .exceptions import TaxComputationError
from .vat_rates import member_state_rate

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
    # EN 16931 VAT category (UNTDID 5305); "" = S, or Z at 0 %.
    vat_category: str = ""
    # goods or services ("" = not said): the French billing mode (BT-23) needs it.
    supply: str = ""
    # A discount taken off the line (VAT included, minor units): the line is
    # charged, taxed and invoiced on what is left (EN 16931 BG-27).
    discount: int = 0

    @property
    def list_gross(self) -> int:
        return self.unit_amount * self.quantity

    @property
    def gross(self) -> int:
        return self.list_gross - self.discount


@dataclass(frozen=True)
class TaxedLine:
    name: str
    sku: str
    quantity: int
    vat_rate: Decimal
    unit_gross: int
    unit_net: int  # net / quantity, rounded half-up (what the PDF prints)
    gross: int
    tax: int  # gross - net
    net: int  # the line's share of its breakdown row's net (the lines add up to it)
    vat_category: str = "S"  # EN 16931 VAT category (UNTDID 5305): S, Z, K, AE, G or O
    supply: str = ""
    discount: int = 0  # taken off the line, VAT included (gross = unit_gross x quantity - discount)
    discount_net: int = 0  # the same, VAT excluded (the e-invoice's line allowance, BT-136)


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
    if isinstance(line.discount, bool) or not isinstance(line.discount, int) or line.discount < 0:
        raise TaxComputationError(f"line {line.name!r}: a discount is a positive integer, got {line.discount!r}")
    if line.discount and line.discount > line.list_gross:
        raise TaxComputationError(f"line {line.name!r}: a discount may not make a line negative")
    # A negative unit amount is a credit line (e.g. a subscription's proration
    # credit for unused time); the document as a whole may not be negative.


def _line_category(line: LineInput, rate: Decimal, reverse_charge: bool) -> str:
    if reverse_charge:
        return "AE"
    if line.vat_category:
        if line.vat_category not in VAT_CATEGORIES:
            raise TaxComputationError(f"line {line.name!r}: unknown VAT category {line.vat_category!r}")
        return line.vat_category
    return vat_category(rate)


def _split_net(net: int, grosses: list[int]) -> list[int]:
    """A breakdown row's net over its lines, in proportion to their gross."""
    if all(gross > 0 for gross in grosses):
        return allocate(net, grosses)
    # A credit line (negative) among them: each line's own figure, the
    # difference on the largest line.
    total = sum(grosses)
    parts = [(Decimal(net) * gross / total).quantize(Decimal(1), rounding=ROUND_HALF_UP) if total else 0
             for gross in grosses]
    parts = [int(part) for part in parts]
    largest = max(range(len(grosses)), key=lambda i: abs(grosses[i]))
    parts[largest] += net - sum(parts)
    return parts


def _round_div(amount: int, quantity: int) -> int:
    return int((Decimal(amount) / Decimal(quantity)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_compute(*, lines: Iterable[LineInput], reverse_charge: bool = False) -> TaxComputation:
    """Per-line figures, the per-rate breakdown and the document totals.

    Lines are grouped by VAT category and rate; each line keeps the category
    it was given (vat_treatment decides it at checkout). With `reverse_charge`
    every line is taxed at 0 % in category AE (kept for documents that only
    know that flag).
    """
    lines = list(lines)
    if not lines:
        raise TaxComputationError("a document needs at least one line")
    keyed: list[tuple[LineInput, tuple[str, Decimal]]] = []
    gross_by_key: dict[tuple[str, Decimal], int] = {}
    for line in lines:
        _check_line(line)
        rate = normalize_rate(0 if reverse_charge else line.vat_rate)
        category = _line_category(line, rate, reverse_charge)
        if category != "S" and rate != 0:
            raise TaxComputationError(f"line {line.name!r}: VAT category {category} is charged at 0 %, not {rate}")
        key = (category, rate)
        keyed.append((line, key))
        gross_by_key[key] = gross_by_key.get(key, 0) + line.gross

    if sum(gross_by_key.values()) < 0:
        raise TaxComputationError("a document's lines may not add up to a negative total")
    breakdown = []
    nets: dict[int, int] = {}
    for key in sorted(gross_by_key, key=lambda k: (k[1], k[0]), reverse=True):
        category, rate = key
        gross = gross_by_key[key]
        tax = vat_from_gross(gross, rate)
        breakdown.append(RateBreakdown(rate=rate, gross=gross, tax=tax, net=gross - tax, category=category))
        members = [index for index, (_, line_key) in enumerate(keyed) if line_key == key]
        for index, net in zip(members, _split_net(gross - tax, [keyed[i][0].gross for i in members]), strict=True):
            nets[index] = net
    taxed = []
    for index, (line, (category, rate)) in enumerate(keyed):
        net = nets[index]
        discount_net = 0
        if line.discount:
            # The allowance excl. VAT: the undiscounted line's net less the line's net.
            list_net = line.list_gross - vat_from_gross(line.list_gross, rate)
            discount_net = max(0, list_net - net)
        taxed.append(
            TaxedLine(
                name=line.name,
                sku=line.sku,
                quantity=line.quantity,
                vat_rate=rate,
                unit_gross=line.unit_amount,
                unit_net=_round_div(net + discount_net, line.quantity),
                gross=line.gross,
                tax=line.gross - net,
                net=net,
                vat_category=category,
                supply=line.supply,
                discount=line.discount,
                discount_net=discount_net,
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
            vat_category=line.get("vat_category", ""),
            supply=line.get("supply", ""),
            discount=int(line.get("discount") or 0),
        )
        for line in lines
    ]


# ---------------------------------------------------------------------------
# Place of supply: which VAT, at which rate, with which category and mention
# ---------------------------------------------------------------------------
GOODS = "goods"
SERVICES = "services"
SUPPLY_KINDS = [(GOODS, "Goods"), (SERVICES, "Services")]

# EN 16931 VAT categories (UNTDID 5305) the shop uses.
VAT_CATEGORIES = frozenset({"S", "Z", "K", "AE", "G", "O"})

REVERSE_CHARGE_MENTION = (
    "Reverse charge: VAT to be accounted for by the customer "
    "(Article 196 of Council Directive 2006/112/EC)."
)
INTRA_COMMUNITY_MENTION = (
    "Exempt intra-Community supply of goods "
    "(Article 138 of Council Directive 2006/112/EC)."
)
EXPORT_MENTION = "Export outside the EU: exempt from VAT (Article 146 of Council Directive 2006/112/EC)."
OUT_OF_SCOPE_MENTION = (
    "Services supplied outside the EU: not subject to EU VAT "
    "(place of supply outside the EU, Articles 44 and 59 of Council Directive 2006/112/EC)."
)
# Per category: the mention printed on the document, and the exemption reason
# (text, VATEX code) of the e-invoice's VAT breakdown (BT-120, BT-121).
CATEGORY_MENTIONS = {
    "K": INTRA_COMMUNITY_MENTION,
    "AE": REVERSE_CHARGE_MENTION,
    "G": EXPORT_MENTION,
    "O": OUT_OF_SCOPE_MENTION,
}
EXEMPTION_REASONS = {
    "K": ("Intra-Community supply", "VATEX-EU-IC"),
    "AE": ("Reverse charge", "VATEX-EU-AE"),
    "G": ("Export outside the EU", "VATEX-EU-G"),
    "O": ("Not subject to VAT", "VATEX-EU-O"),
}


def vat_category(rate, *, reverse_charge: bool = False) -> str:
    """EN 16931 VAT category code (UNTDID 5305) of a rate with no other
    treatment: AE (reverse charge), S (standard or reduced rate) or Z (zero rated)."""
    if reverse_charge:
        return "AE"
    return "S" if normalize_rate(rate) > 0 else "Z"


def vat_mentions(categories: Iterable[str]) -> list[str]:
    """The legal mentions a document with lines in these categories carries."""
    present = set(categories)
    return [mention for category, mention in CATEGORY_MENTIONS.items() if category in present]


@dataclass(frozen=True)
class VatTreatment:
    """How one supply is taxed: where (`country`, "" when no EU VAT is
    charged), at which rate and in which EN 16931 category."""

    kind: str  # domestic, distance_sale, oss, intra_community, reverse_charge, export, out_of_scope
    category: str
    rate: Decimal
    country: str

    @property
    def mention(self) -> str:
        return CATEGORY_MENTIONS.get(self.category, "")

    def label(self, *, seller_country: str) -> str:
        """What the customer reads before paying: whose VAT, or why none."""
        return TREATMENT_LABELS[self.kind].format(seller=seller_country, country=self.country)


# What a customer is told of each treatment (the checkout and the subscribe pages).
TREATMENT_LABELS = {
    "domestic": "VAT of {seller}",
    "distance_sale": "VAT of {seller}",
    "oss": "VAT of {country}",
    "intra_community": "No VAT: intra-Community supply to a VAT-registered business",
    "reverse_charge": "No VAT: reverse charge, the business accounts for it",
    "export": "No VAT: export outside the EU",
    "out_of_scope": "No VAT: services supplied outside the EU",
}


def vat_treatment(
    *, seller_country: str, buyer_country: str, supply: str, seller_rate, tax_category: str,
    business_vat_id_verified: bool, oss: bool,
) -> VatTreatment:
    """The VAT of one supply by its place of supply (Council Directive 2006/112/EC).

    - a buyer in the seller's country: the seller's rate (the product's own);
    - a business of another member state whose VAT id was verified (VIES):
      goods are an exempt intra-Community supply (K, art. 138), services are
      reverse charged (AE, art. 196);
    - a consumer (or a business whose VAT id could not be verified) in another
      member state: their state's rate for the product's tax category when the
      seller is in the One-Stop-Shop (`oss`: over the EU distance-selling
      threshold, or opted in), else the seller's rate;
    - a buyer outside the EU: goods are exported (G, art. 146); services are
      outside the scope of EU VAT (O).

    A seller outside the EU (not what this shop is built for) charges its own rate.
    """
    seller_country = (seller_country or "").upper()
    buyer_country = (buyer_country or "").upper()
    seller_rate = normalize_rate(seller_rate)
    domestic = VatTreatment(kind="domestic", category=vat_category(seller_rate), rate=seller_rate,
                            country=seller_country)
    if supply not in (GOODS, SERVICES):
        raise TaxComputationError(f"a supply is goods or services, not {supply!r}")
    if seller_country not in EU_MEMBER_STATES or not buyer_country or buyer_country == seller_country:
        return domestic
    zero = Decimal("0.00")
    if buyer_country not in EU_MEMBER_STATES:
        if supply == GOODS:
            return VatTreatment(kind="export", category="G", rate=zero, country="")
        return VatTreatment(kind="out_of_scope", category="O", rate=zero, country="")
    if business_vat_id_verified:
        if supply == GOODS:
            return VatTreatment(kind="intra_community", category="K", rate=zero, country="")
        return VatTreatment(kind="reverse_charge", category="AE", rate=zero, country="")
    if oss:
        rate = normalize_rate(member_state_rate(buyer_country, tax_category))
        return VatTreatment(kind="oss", category=vat_category(rate), rate=rate, country=buyer_country)
    return VatTreatment(kind="distance_sale", category=domestic.category, rate=seller_rate, country=seller_country)


def unit_amount_charged(*, price: int, seller_rate, treatment: VatTreatment) -> int:
    """What one unit costs the buyer, VAT included, under `treatment`.

    Catalogue prices include the seller's own VAT. Its net (price less that
    VAT, half-up) is the price of the goods everywhere: the buyer pays it plus
    the VAT of their treatment, rounded half-up (nothing more for exempt or
    reverse-charged supplies). At the seller's own rate the price is unchanged.
    """
    seller_rate = normalize_rate(seller_rate)
    if treatment.rate == seller_rate:
        return int(price)
    net = int(price) - vat_from_gross(int(price), seller_rate)
    vat = (Decimal(net) * treatment.rate / HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return net + int(vat)


# French invoices' payment mentions (Code de commerce art. L441-9, L441-10 and
# D441-5), by the subject code France's e-invoicing rules give them (BR-FR-05).
FRENCH_PAYMENT_NOTES = {
    "PMD": "Late payment penalties: three times the French legal interest rate "
           "(art. L441-10 of the French Commercial Code).",
    "PMT": "Fixed compensation for recovery costs in case of late payment by a business: EUR 40 "
           "(art. L441-10 and D441-5 of the French Commercial Code).",
    "AAB": "No discount for early payment.",
}
