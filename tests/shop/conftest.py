import pytest

from tests.factories import ProductFactory, TaxRateFactory


@pytest.fixture
def standard_rate(db):
    return TaxRateFactory(name="Standard rate", rate="20.00")


@pytest.fixture
def reduced_rate(db):
    return TaxRateFactory(name="Reduced rate", rate="5.50")


@pytest.fixture
def mug(standard_rate):
    return ProductFactory(name="Stoneware mug", slug="mug", sku="MUG-1", unit_amount=1600, stock=5, tax_rate=standard_rate)


@pytest.fixture
def coffee(reduced_rate):
    return ProductFactory(name="Coffee beans", slug="coffee", sku="COF-1", unit_amount=1290, stock=40, tax_rate=reduced_rate)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
