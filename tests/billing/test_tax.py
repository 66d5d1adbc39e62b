from decimal import Decimal

import pytest

from billing.exceptions import TaxComputationError
from billing.tax import LineInput, normalize_rate, tax_compute, vat_from_gross


@pytest.mark.parametrize(
    ("gross", "rate", "vat"),
    [
        (1200, "20", 200),
        (3, "20", 1),  # 0.5 -> 1: half-up, not banker's rounding
        (15, "20", 3),  # 2.5 -> 3 (half-even would give 2)
        (9, "20", 2),  # 1.5 -> 2
        (1055, "5.5", 55),  # exactly 55.000
        (999, "5.5", 52),  # 52.07... -> 52
        (1000, "10", 91),  # 90.909... -> 91
        (1000, "0", 0),
        (0, "20", 0),
    ],
)
def test_vat_from_gross_rounds_half_up(gross, rate, vat):
    assert vat_from_gross(gross, Decimal(rate)) == vat


def test_breakdown_rounds_once_per_rate_not_per_line():
    # Three lines of 0.03 at 20%: each line alone has 0.005 VAT -> 0.01, but
    # the document declares 0.09 x 20/120 = 0.015 -> 0.02 once for the rate.
    lines = [LineInput(name=f"Sticker {i}", quantity=1, unit_amount=3, vat_rate=Decimal("20")) for i in range(3)]
    result = tax_compute(lines=lines)
    # The breakdown's net (7) is shared over the lines by largest remainder:
    # the lines add up to the breakdown exactly.
    assert [line.net for line in result.lines] == [3, 2, 2]
    assert [line.tax for line in result.lines] == [0, 1, 1]
    assert len(result.breakdown) == 1
    assert (result.breakdown[0].gross, result.breakdown[0].tax, result.breakdown[0].net) == (9, 2, 7)
    assert (result.total_gross, result.total_tax, result.total_net) == (9, 2, 7)


def test_several_rates_are_grouped_and_summed():
    lines = [
        LineInput(name="Mug", quantity=2, unit_amount=1250, vat_rate=Decimal("20.00")),
        LineInput(name="Book", quantity=1, unit_amount=2110, vat_rate=Decimal("5.50")),
        LineInput(name="Poster", quantity=3, unit_amount=999, vat_rate="20"),  # same rate, other spelling
        LineInput(name="Newspaper", quantity=1, unit_amount=250, vat_rate=Decimal("2.1")),
        LineInput(name="Gift card", quantity=1, unit_amount=5000, vat_rate=Decimal("0")),
    ]
    result = tax_compute(lines=lines)
    by_rate = {b.rate: b for b in result.breakdown}
    assert list(by_rate) == [Decimal("20.00"), Decimal("5.50"), Decimal("2.10"), Decimal("0.00")]
    # 20%: 2500 + 2997 = 5497 gross; 5497 / 6 = 916.17 -> 916
    assert (by_rate[Decimal("20.00")].gross, by_rate[Decimal("20.00")].tax) == (5497, 916)
    # 5.5%: 2110 x 5.5 / 105.5 = 110.0 -> 110
    assert (by_rate[Decimal("5.50")].gross, by_rate[Decimal("5.50")].tax) == (2110, 110)
    # 2.1%: 250 x 2.1 / 102.1 = 5.142 -> 5
    assert by_rate[Decimal("2.10")].tax == 5
    assert by_rate[Decimal("0.00")].tax == 0
    assert result.total_gross == 2500 + 2110 + 2997 + 250 + 5000
    assert result.total_tax == 916 + 110 + 5
    assert result.total_net == result.total_gross - result.total_tax
    for b in result.breakdown:
        assert b.net + b.tax == b.gross


def test_line_display_figures():
    result = tax_compute(lines=[LineInput(name="Mug", quantity=2, unit_amount=1250, vat_rate=Decimal("20"))])
    line = result.lines[0]
    assert (line.unit_gross, line.unit_net, line.gross, line.tax, line.net) == (1250, 1042, 2500, 417, 2083)


@pytest.mark.parametrize(
    "line",
    [
        LineInput(name="Float", quantity=1, unit_amount=12.5, vat_rate=Decimal("20")),
        LineInput(name="Float rate", quantity=1, unit_amount=1250, vat_rate=20.0),
        LineInput(name="Zero qty", quantity=0, unit_amount=1250, vat_rate=Decimal("20")),
        LineInput(name="Negative", quantity=1, unit_amount=-5, vat_rate=Decimal("20")),
        LineInput(name="Rate 100", quantity=1, unit_amount=5, vat_rate=Decimal("100")),
    ],
)
def test_bad_lines_are_refused(line):
    with pytest.raises(TaxComputationError):
        tax_compute(lines=[line])


def test_no_lines_refused():
    with pytest.raises(TaxComputationError):
        tax_compute(lines=[])


def test_normalize_rate():
    assert normalize_rate(20) == Decimal("20.00")
    assert normalize_rate("5.5") == Decimal("5.50")


# ---------------------------------------------------------------------------
# Place of supply (billing.tax.vat_treatment) and what the buyer pays
# ---------------------------------------------------------------------------
from billing.tax import GOODS, SERVICES, unit_amount_charged, vat_treatment  # noqa: E402
from billing.vat_rates import EU_VAT_RATES, RATES_AS_OF, member_state_rate  # noqa: E402


@pytest.mark.parametrize(
    "buyer, supply, verified, oss, category, kind, expected",
    [
        ("FR", GOODS, False, True, "S", "domestic", ("20.00", "S", 1600)),
        ("FR", SERVICES, True, True, "S", "domestic", ("20.00", "S", 1600)),  # a French business: French VAT
        ("DE", GOODS, False, True, "standard", "oss", ("19.00", "S", 1586)),
        ("DE", GOODS, False, False, "standard", "distance_sale", ("20.00", "S", 1600)),
        ("IE", GOODS, False, True, "books", "oss", ("0.00", "Z", 1333)),
        ("DE", GOODS, True, True, "standard", "intra_community", ("0.00", "K", 1333)),
        ("DE", SERVICES, True, True, "standard", "reverse_charge", ("0.00", "AE", 1333)),
        ("US", GOODS, False, True, "standard", "export", ("0.00", "G", 1333)),
        ("US", SERVICES, False, True, "standard", "out_of_scope", ("0.00", "O", 1333)),
        ("CH", GOODS, True, True, "standard", "export", ("0.00", "G", 1333)),
    ],
)
def test_vat_treatment_by_place_of_supply(buyer, supply, verified, oss, category, kind, expected):
    treatment = vat_treatment(seller_country="FR", buyer_country=buyer, supply=supply, seller_rate="20",
                              tax_category=category, business_vat_id_verified=verified, oss=oss)
    assert treatment.kind == kind
    unit = unit_amount_charged(price=1600, seller_rate="20", treatment=treatment)
    assert (str(treatment.rate), treatment.category, unit) == expected


def test_rates_table_has_every_member_state_and_its_date():
    from core.countries import EU_MEMBER_STATES

    assert set(EU_VAT_RATES) == set(EU_MEMBER_STATES)
    assert RATES_AS_OF.year >= 2026
    assert member_state_rate("DE", "food") == Decimal("7")
    assert member_state_rate("DE", "unknown") == Decimal("19")  # the standard rate


def test_categories_other_than_s_are_zero_rated():
    with pytest.raises(TaxComputationError):
        tax_compute(lines=[LineInput(name="Mug", quantity=1, unit_amount=1000, vat_rate=Decimal("20"),
                                     vat_category="K")])
