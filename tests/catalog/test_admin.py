import pytest
from django.urls import reverse

from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


def test_product_admin_list_search_and_filter(staff_client):
    mug = ProductFactory(name="Stoneware mug", sku="MUG-1", unit_amount=1600)
    ProductFactory(name="Kettle", sku="KET-1")
    response = staff_client.get(reverse("admin:catalog_product_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "€16.00" in html
    assert 'name="form-0-stock"' in html  # stock editable in the list
    response = staff_client.get(reverse("admin:catalog_product_changelist"), {"q": "MUG-1"})
    assert list(response.context["cl"].result_list) == [mug]
    response = staff_client.get(reverse("admin:catalog_product_changelist"), {"category__id__exact": mug.category_id})
    assert list(response.context["cl"].result_list) == [mug]
    assert staff_client.get(reverse("admin:catalog_product_change", args=[mug.pk])).status_code == 200
    assert staff_client.get(reverse("admin:catalog_category_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:catalog_taxrate_changelist")).status_code == 200


def test_stock_edited_from_the_list(staff_client):
    product = ProductFactory(stock=3)
    response = staff_client.post(
        reverse("admin:catalog_product_changelist"),
        {
            "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000",
            "form-0-id": str(product.pk), "form-0-stock": "12", "form-0-active": "on", "_save": "Save",
        },
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.stock == 12


def test_tax_rates_read_as_percentages(staff_client):
    from tests.factories import TaxRateFactory

    TaxRateFactory(name="Standard rate", rate="20.00")
    TaxRateFactory(name="Reduced rate", rate="5.50")
    page = staff_client.get(reverse("admin:catalog_product_add")).content.decode()
    assert "Standard rate (20%)" in page and "Reduced rate (5.5%)" in page
    assert "2E+1" not in page


def test_a_product_is_priced_in_a_currency_the_shop_sells_in(staff_client, settings):
    settings.SHOP_CURRENCIES = ["eur", "usd"]
    page = staff_client.get(reverse("admin:catalog_product_add")).content.decode()
    assert "EUR — Euro" in page and "USD — US Dollar" in page
    product = ProductFactory()
    data = {"name": product.name, "slug": product.slug, "sku": product.sku, "category": product.category_id,
            "unit_amount": 1200, "currency": "eu", "tax_rate": product.tax_rate_id, "stock": 3, "active": "on"}
    response = staff_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    product.refresh_from_db()
    assert product.currency == "eur"


def test_the_shop_refuses_to_start_with_an_unknown_currency(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.SHOP_CURRENCIES = ["eur", "xyz"]
    with pytest.raises(SystemCheckError, match="'xyz' is not an ISO 4217 currency code"):
        call_command("check")


def test_a_three_decimal_currency_is_refused_at_the_product_with_a_clear_message(staff_client, settings):
    settings.SHOP_CURRENCIES = ["eur", "kwd"]
    product = ProductFactory()
    data = {"name": product.name, "slug": product.slug, "sku": product.sku, "category": product.category_id,
            "unit_amount": 1200, "currency": "kwd", "tax_rate": product.tax_rate_id, "supply": "goods",
            "stock": 3, "active": "on"}
    response = staff_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)
    assert response.status_code == 200
    assert "KWD has three decimals" in response.content.decode()
    product.refresh_from_db()
    assert product.currency == "eur"


def test_the_shop_refuses_to_start_selling_in_a_three_decimal_currency(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.SHOP_CURRENCIES = ["eur", "bhd"]
    with pytest.raises(SystemCheckError, match="BHD has three decimals"):
        call_command("check")
